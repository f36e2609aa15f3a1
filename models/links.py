"""Personal links: a signed token for one (cycle, agency) and one purpose.

``token = payload "." signature``, both base64url; the payload is compact JSON
(``{"p": purpose, "c": cycle, "a": agency, "e": expiry, "i": issued}``) and the signature an
HMAC-SHA256 over the purpose's salt and the payload with the server's secret. A token
signed for one purpose (``submit``) is useless for another (``agency``, ``view``), for
another cycle or agency (they are inside what is signed), and after its expiry. The
issue time lets links be revoked (``models.guards.revoke_links``: links for an agency or
a cycle issued before a moment stop working; a link without it counts as issued at
the epoch, so a revocation catches every old link).

The secret comes from ``HANBAOCAO_SECRET_KEY``; without it, one is generated once into
``<data dir>/secret.key`` (mode 0600) so links survive a restart. It never reaches
flow parameters, logs or artifacts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from models import clock
from models.db import private_dir
from models.settings import Settings, settings

PURPOSES = ("submit", "agency", "view")
# A link stays valid this long after its cycle closes (late reports are still taken).
DEFAULT_GRACE = timedelta(days=30)
EPOCH = datetime.fromtimestamp(0, UTC)  # the issue time of a link that carries none


# The links read ``public_url`` and ``secret_key`` of the one settings object.
LinkSettings = Settings


class BadLink(ValueError):
    """A token that is forged, expired, for another purpose, or malformed."""


@dataclass(frozen=True, slots=True)
class LinkClaims:
    purpose: str
    cycle_id: int | None
    agency_id: int | None
    expires: datetime
    issued: datetime = EPOCH


def secret_key(cfg: LinkSettings | None = None) -> bytes:
    cfg = cfg or settings()
    if cfg.secret_key:
        return cfg.secret_key.encode()
    path = cfg.data_dir / "secret.key"
    if not path.exists():
        _create_key(path)
    return path.read_bytes().strip()


def _create_key(path: Path) -> None:
    private_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)  # first writer wins; a concurrent one reads the winner's key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, purpose: str, body: str) -> str:
    mac = hmac.new(key, f"hanbaocao.{purpose}|{body}".encode(), hashlib.sha256)
    return _b64(mac.digest())


def make_token(
    purpose: str,
    *,
    cycle_id: int | None,
    agency_id: int | None,
    expires: datetime,
    key: bytes | None = None,
    issued: datetime | None = None,
) -> str:
    """A token; ``issued`` defaults to the project's clock (``models.clock``)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r} (known: {', '.join(PURPOSES)})")
    at = issued or clock.now()
    claims = {
        "p": purpose,
        "c": cycle_id,
        "a": agency_id,
        "e": int(expires.timestamp()),
        "i": int(at.timestamp()),
    }
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_sign(key or secret_key(), purpose, body)}"


def read_token(token: str, *, purpose: str, now: datetime, key: bytes | None = None) -> LinkClaims:
    """The claims of a valid token for ``purpose``; ``BadLink`` otherwise."""
    body, _, signature = token.partition(".")
    if not body or not signature or not token.isascii():
        raise BadLink("malformed link")
    if not hmac.compare_digest(signature, _sign(key or secret_key(), purpose, body)):
        raise BadLink("this link is not valid")
    try:
        claims = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        raise BadLink("malformed link") from None
    # Signed, but possibly not by this program's make_token (a leaked key, an old format):
    # every claim must have the type and range we write, or the link is refused.
    if not isinstance(claims, dict) or claims.get("p") not in PURPOSES:
        raise BadLink("malformed link")
    cycle_id, agency_id, expires = (
        _row_id(claims.get("c")),
        _row_id(claims.get("a")),
        _epoch(claims.get("e")),
    )
    issued = _epoch(claims.get("i", 0))
    if now >= expires:
        raise BadLink("this link has expired")
    return LinkClaims(claims["p"], cycle_id, agency_id, expires, issued)


# Ids are INTEGER columns: PostgreSQL refuses a larger parameter (an error, not "no row").
_MAX_ID = 2**31 - 1
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, datetime's last second


def _row_id(value: object) -> int | None:
    """A claim naming a row: None or a positive int within a database id's range."""
    if value is None or (type(value) is int and 0 < value <= _MAX_ID):
        return value
    raise BadLink("malformed link")


def _epoch(value: object) -> datetime:
    """An expiry claim: whole seconds within datetime's range."""
    if type(value) is not int or not 0 <= value <= _MAX_EPOCH:
        raise BadLink("malformed link")
    return datetime.fromtimestamp(value, UTC)


def link(
    purpose: str,
    *,
    cycle_id: int | None,
    agency_id: int | None,
    expires: datetime,
    cfg: LinkSettings | None = None,
    issued: datetime | None = None,
) -> str:
    """The full URL: ``<public url>/<purpose>/<token>``."""
    return linker(cfg)(
        purpose, cycle_id=cycle_id, agency_id=agency_id, expires=expires, issued=issued
    )


def linker(cfg: LinkSettings | None = None) -> Callable[..., str]:
    """``link`` with the settings and the key read once: a sweep makes one link per
    reminder, and reading them per link cost more than the rest of a reminder."""
    cfg = cfg or settings()
    key = secret_key(cfg)
    base = cfg.public_url.rstrip("/")

    def make(
        purpose: str,
        *,
        cycle_id: int | None,
        agency_id: int | None,
        expires: datetime,
        issued: datetime | None = None,
    ) -> str:
        token = make_token(
            purpose,
            cycle_id=cycle_id,
            agency_id=agency_id,
            expires=expires,
            key=key,
            issued=issued,
        )
        return f"{base}/{purpose}/{token}"

    return make
