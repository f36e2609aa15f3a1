"""The administrators' login: hashed credentials, signed session cookies, CSRF tokens and
a throttle on failed attempts. No FastAPI here (the CLI imports this to set passwords);
``portal.dashboard`` puts it on the web.

**Credentials.** Passwords are stored as scrypt hashes (stdlib ``hashlib.scrypt``, a
random 16-byte salt each) in the form ``scrypt$N$r$p$salt$key`` (salt and key base64url).
They come from two places, both read on every login so a changed password takes effect
without a restart:

- ``HANBAOCAO_ADMIN_USER`` + ``HANBAOCAO_ADMIN_PASSWORD_HASH`` (a hash printed by
  ``hanbaocao admin set-password USER --print-hash``), for deployments configured
  through the environment;
- ``<data dir>/admin-users.json`` (mode 0600), written by ``hanbaocao admin
  set-password USER``.

With neither there is no login at all, and the dashboard says how to create one. The
exception is ``HANBAOCAO_ENV=development``: a random one-time password for ``admin`` is
generated when the dashboard starts, printed on stderr and held in memory only (never
written anywhere), valid until the process ends.

**Sessions.** A cookie ``payload.signature``: the payload names the user, the expiry,
a fingerprint of the user's stored hash (changing a password, or removing the user,
ends every session of that user) and a random session id whose row in the database
(``models.guards.AdminSession``) must be live: logging out ends the row, so a cookie
replayed after logout is refused. The signature is an HMAC-SHA256 with the server's
secret (``models.links.secret_key``) under a salt of its own, so no agency link can ever
pass for a session or the other way round. ``verify_…`` returns ``None`` on any failure.

**CSRF.** There is no personal link to bind a login form to, so the dashboard binds its
forms to a random nonce in an HttpOnly, SameSite=Strict cookie (``new_nonce``), signed
into the form with ``portal.security.csrf_token``: a cross-site form can neither read
the cookie nor compute the field.

**Throttle.** Per (user name, client address), in the database so every portal
process counts the same attempts (``models.guards``): five free tries, each claimed
atomically before the password is checked, then a delay that doubles with each lockout
(30 s up to the fifteen-minute window). A stranger guessing the administrator's name
locks out only himself. Each client also has a budget across all user names
(``HANBAOCAO_ADMIN_LOGIN_CLIENT_ATTEMPTS`` failures, then the same doubling delay), so
trying a few passwords for each of many names is slowed as well; it too is keyed by
the client, so it never locks out the administrator logging in from elsewhere. The
client address is the peer's, or ``X-Forwarded-For``'s when the peer is a configured
trusted proxy (``portal.security.client_address``). Comparisons are constant-time, and an
unknown user costs one scrypt like a known one, so timing tells nothing about which
names exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import guards
from models.db import private_dir
from models.settings import Settings, settings
from notifications.exports import atomic_write

CREDENTIALS_FILE = "admin-users.json"
DEV_USER = "admin"
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 10
# scrypt cost: 2**14 x 8 x 1 is 16 MiB and ~50 ms here — cheap for a login, dear for a
# guesser. Stored with each hash, so it can be raised later without breaking old hashes.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SESSION_SALT = "hanbaocao.admin-session"
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, datetime's last second


# HANBAOCAO_ENV (``development`` allows the printed one-time password),
# HANBAOCAO_ADMIN_USER / HANBAOCAO_ADMIN_PASSWORD_HASH, HANBAOCAO_ADMIN_SESSION_HOURS,
# HANBAOCAO_ADMIN_LOGIN_ATTEMPTS / _CLIENT_ATTEMPTS / _WINDOW_MINUTES (the throttle),
# HANBAOCAO_PUBLIC_URL (an https URL makes the cookies Secure),
# HANBAOCAO_TRUSTED_PROXIES (see ``portal.security.client_address``).
AdminSettings = Settings


class CredentialsError(ValueError):
    """Credentials that are configured but unusable; the message says what to fix."""


# == Password hashes ==========================================================================


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$key`` for ``password`` (a fresh random salt unless given)."""
    salt = salt or secrets.token_bytes(16)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int = 32) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20), dklen=dklen
    )


def check_hash(encoded: str) -> str:
    """``encoded`` if it is a hash this module wrote; ``CredentialsError`` otherwise."""
    parts = encoded.strip().split("$")
    try:
        scheme, n, r, p, salt, key = parts
        ok = scheme == "scrypt" and int(n) >= 2**10 and int(r) > 0 and int(p) > 0
        ok = ok and int(n) & (int(n) - 1) == 0 and int(n) <= 2**20
        ok = ok and len(_unb64(salt)) >= 8 and 16 <= len(_unb64(key)) <= 64
    except (ValueError, binascii.Error):
        ok = False
    if not ok:
        raise CredentialsError(
            "not a password hash of this program: create one with "
            "`hanbaocao admin set-password USER --print-hash`"
        )
    return encoded.strip()


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; False for a malformed hash. The final
    comparison is constant-time."""
    try:
        _, n, r, p, salt, key = check_hash(encoded).split("$")
        expected = _unb64(key)
        got = _scrypt(password, _unb64(salt), int(n), int(r), int(p), len(expected))
    except (CredentialsError, ValueError, MemoryError):
        return False
    return hmac.compare_digest(got, expected)


# One hash to check unknown users against, so a wrong name costs what a wrong password does.
_DECOY = hash_password(secrets.token_urlsafe(16))


def fingerprint(encoded: str) -> str:
    """A short digest of a stored hash: in the session, so a new password ends old sessions."""
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


def check_user_name(user: str) -> str:
    if not USER_NAME.fullmatch(user):
        raise CredentialsError(
            f"user name {user!r}: 1-64 letters, digits and . _ @ - (starting with a letter/digit)"
        )
    return user


# == The credentials file ======================================================================


def credentials_path(data_dir: Path) -> Path:
    return data_dir / CREDENTIALS_FILE


def load_credentials(path: Path) -> dict[str, str]:
    """user → hash from the file; {} when there is none. A file that is not ours raises."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw)
        users = data["users"]
        if not isinstance(users, dict):
            raise TypeError
        return {check_user_name(str(u)): check_hash(str(h)) for u, h in users.items()}
    except (ValueError, KeyError, TypeError):
        # The file's name only: this text reaches the login page, the data directory's path
        # has no business there.
        raise CredentialsError(
            f"{path.name} (in the data directory) is not a credentials file of this program: "
            "move it away and set the passwords again with `hanbaocao admin set-password USER`"
        ) from None


def save_credentials(path: Path, user: str, encoded: str) -> None:
    """Set ``user``'s hash in the file (others kept), written atomically with mode 0600."""
    users = load_credentials(path)
    users[check_user_name(user)] = check_hash(encoded)
    body = json.dumps({"users": dict(sorted(users.items()))}, indent=2) + "\n"
    private_dir(path.parent)
    atomic_write(path, body.encode("utf-8"))  # mode 0600 from mkstemp, before a byte is written


# == Who may log in =============================================================================


@dataclass(frozen=True, slots=True)
class Login:
    """The outcome of a login attempt: the user on success, else why not."""

    user: str | None
    locked_for: timedelta | None = None  # throttled: try again after this


class AdminAuth:
    """The administrators' credentials and sessions for one process.

    ``users()`` is read on every call (environment, then the file); in development
    with nothing configured, ``admin`` gets a one-time password generated on the first
    call and printed through ``announce``."""

    def __init__(
        self,
        config: AdminSettings | None = None,
        *,
        data_dir: Path | None = None,
        key: bytes | None = None,
        announce: Callable[[str], None] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.settings = config or settings()
        self._data_dir = data_dir
        self._key = key
        self._announce = announce or _print_stderr
        self._dev_hash: str | None = None
        self._lock = threading.Lock()
        self._engine = engine
        self.window = timedelta(minutes=self.settings.admin_login_window_minutes)

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            self._data_dir = settings().data_dir
        return self._data_dir

    def engine(self, engine: Engine | None = None) -> Engine:
        """``engine`` (the caller's: the dashboard's), else the one given, else the app's."""
        if engine is not None:
            return engine
        if self._engine is None:
            from models.db import get_engine

            self._engine = get_engine()
        return self._engine

    @property
    def key(self) -> bytes:
        if self._key is None:
            from models.links import secret_key

            self._key = secret_key()
        return self._key

    def users(self) -> dict[str, str]:
        """user → stored hash. ``CredentialsError`` for a half or broken configuration."""
        users = load_credentials(credentials_path(self.data_dir))
        cfg = self.settings
        if cfg.admin_user or cfg.admin_password_hash:
            if not (cfg.admin_user and cfg.admin_password_hash):
                raise CredentialsError(
                    "set both HANBAOCAO_ADMIN_USER and HANBAOCAO_ADMIN_PASSWORD_HASH, or neither"
                )
            users[check_user_name(cfg.admin_user)] = check_hash(cfg.admin_password_hash)
        if not users and cfg.development:
            users[DEV_USER] = self._development_hash()
        return users

    def problem(self) -> str | None:
        """Why nobody can log in, in Vietnamese for the login page; None when someone can."""
        try:
            if self.users():
                return None
        except CredentialsError as exc:
            return f"Cấu hình tài khoản quản trị không hợp lệ: {exc}"
        return (
            "Chưa có tài khoản quản trị nào. Trên máy chủ, chạy "
            "`hanbaocao admin set-password TÊN` (hoặc đặt HANBAOCAO_ADMIN_USER và "
            "HANBAOCAO_ADMIN_PASSWORD_HASH), rồi tải lại trang này."
        )

    def _development_hash(self) -> str:
        with self._lock:
            if self._dev_hash is None:
                password = secrets.token_urlsafe(12)
                self._dev_hash = hash_password(password)
                self._announce(
                    f"HANBAOCAO_ENV=development and no administrator configured: log in to the "
                    f"dashboard as {DEV_USER!r} with the one-time password {password} "
                    f"(valid until this process stops; never use this outside development)"
                )
            return self._dev_hash

    def login(
        self,
        user: str,
        password: str,
        *,
        client: str,
        now: datetime,
        engine: Engine | None = None,
    ) -> Login:
        """Check a login, throttled per client address and per (user name, client
        address): an attempt is claimed from both before the password is checked (see
        ``models.guards``)."""
        pair, who = guards.throttle_key(user, client), guards.client_key(client)
        free, budget = self.settings.admin_login_attempts, self.settings.admin_login_client_attempts
        with Session(self.engine(engine)) as session:
            locked = guards.claim_attempt(session, who, now=now, free=budget, window=self.window)
            if locked is not None:
                return Login(None, locked)
            locked = guards.claim_attempt(session, pair, now=now, free=free, window=self.window)
            if locked is not None:
                guards.release_attempt(session, who)  # no password checked: nothing spent
                return Login(None, locked)
            try:
                stored = self.users().get(user)
            except CredentialsError:
                stored = None
            ok = verify_password(password, stored or _DECOY) and stored is not None
            if ok:
                guards.attempt_succeeded(session, pair)
                guards.release_attempt(session, who)
                return Login(user)
            guards.attempt_failed(session, pair, now=now, free=free, window=self.window)
            guards.attempt_failed(session, who, now=now, free=budget, window=self.window)
            return Login(None)

    # -- sessions ---------------------------------------------------------------------------

    def session_token(self, user: str, *, now: datetime, engine: Engine | None = None) -> str:
        """A new server-side session for ``user`` and its cookie value."""
        expires = now + timedelta(hours=self.settings.admin_session_hours)
        print_ = fingerprint(self.users()[user])
        with Session(self.engine(engine)) as session:
            session_id = guards.start_session(session, user, now=now, expires=expires)
            session.commit()
        return make_session_token(user, print_, expires, key=self.key, session_id=session_id)

    def session_user(
        self, token: str | None, *, now: datetime, engine: Engine | None = None
    ) -> str | None:
        """The logged-in user of a cookie value, or None (bad, expired, logged out, or a
        user whose password has changed since, or who no longer exists)."""
        claims = verify_session_token(token, now=now, key=self.key)
        if claims is None:
            return None
        try:
            stored = self.users().get(claims.user)
        except CredentialsError:
            return None
        if stored is None or not hmac.compare_digest(
            fingerprint(stored).encode(), claims.fingerprint.encode()
        ):
            return None
        with Session(self.engine(engine)) as session:
            if not guards.session_live(session, claims.session_id, claims.user, now=now):
                return None
        return claims.user

    def logout(self, token: str | None, *, now: datetime, engine: Engine | None = None) -> None:
        """End the cookie's session on the server: the cookie is worthless from now on."""
        claims = verify_session_token(token, now=now, key=self.key)
        if claims is None:
            return
        with Session(self.engine(engine)) as session:
            guards.end_session(session, claims.session_id, now=now)
            session.commit()


def _print_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# == Signed tokens ================================================================================


@dataclass(frozen=True, slots=True)
class SessionClaims:
    user: str
    fingerprint: str
    expires: datetime
    session_id: str  # the server-side row (models.guards.AdminSession) that must be live


def _sign(key: bytes, salt: str, body: str) -> str:
    return _b64(hmac.new(key, f"{salt}|{body}".encode(), hashlib.sha256).digest())


def make_session_token(
    user: str, print_: str, expires: datetime, *, key: bytes, session_id: str
) -> str:
    claims = {"u": user, "f": print_, "e": int(expires.timestamp()), "s": session_id}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_sign(key, _SESSION_SALT, body)}"


def verify_session_token(token: str | None, *, now: datetime, key: bytes) -> SessionClaims | None:
    """The claims of a valid, unexpired session token; None on any failure."""
    if not token:
        return None
    body, _, signature = token.partition(".")
    if not body or not signature.isascii():  # compare_digest refuses non-ASCII text
        return None
    if not hmac.compare_digest(signature, _sign(key, _SESSION_SALT, body)):
        return None
    try:
        data = json.loads(_unb64(body))
    except (ValueError, binascii.Error):
        return None
    claims = _session_claims(data)
    if claims is None:
        return None
    return claims if now < claims.expires else None


def _session_claims(data: object) -> SessionClaims | None:
    """Claims of the shape ``make_session_token`` writes; None for anything else (a
    signed payload with lists, objects or numbers beyond datetime's range)."""
    if not isinstance(data, dict):
        return None
    user, print_, expires, sid = data.get("u"), data.get("f"), data.get("e"), data.get("s")
    if not (isinstance(user, str) and isinstance(print_, str) and isinstance(sid, str)):
        return None
    if type(expires) is not int or not 0 <= expires <= _MAX_EPOCH:
        return None
    return SessionClaims(user, print_, datetime.fromtimestamp(expires, UTC), sid)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)
