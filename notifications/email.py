"""The email transport: Apprise ``mailto://`` / ``mailtos://`` contacts, sent with
``smtplib`` over connections kept open between messages.

Why not Apprise's own ``notify()``: it opens, authenticates and quits one SMTP
connection per message and builds a fresh SSL context each time (about 0.05 of a bare
smtplib loop in bench/bench_notify.py), and every plugin instance throttles itself to
one send per 5.5 s (``NotifyBase.request_rate_per_sec``): 5,000 reminders would take
hours and invite the provider's rate limits on logins. The contact is still an
Apprise URL, and Apprise's own email plugin reads it, so every URL an operator tests
with ``apprise -vv`` means the same thing here (host, port, secure mode, login,
from, to, ``cto=``/``rto=``).

Timeouts: ``cto=`` bounds connecting and the server's greeting, ``rto=`` every later
reply; both default to 10 s (Apprise's own defaults are 15 s and 4 s). In a mailto
URL ``to=`` is the recipient, so it cannot also name a timeout.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from datetime import datetime

from notifications.email_contact import (
    DEFAULT_TIMEOUT,
    NotifyEmail,
    PoolKey,
    SecureMailMode,
    SmtpContact,
    contact_capacity,
    mask,
    parse_contact,
)
from notifications.email_render import (
    LOCAL_TZ,
    MAX_ATTACHMENT_BYTES,
    MAX_HTML_BYTES,
    MAX_WORD,
    build_message,
    encoded_words,
    fit_html,
    message_id,
    read_attachments,
    render,
    rendered,
    rfc2231,
)
from notifications.vocabulary import ChannelFault, DeliveryError, Message

# The transport's names, and those of its two halves (contact, rendering) it re-exports.
__all__ = [
    "CONFIG_REPLIES",
    "DEFAULT_COOLDOWN",
    "DEFAULT_TIMEOUT",
    "FIX_THEN_RETRY",
    "LOCAL_TZ",
    "MAX_ATTACHMENT_BYTES",
    "MAX_HTML_BYTES",
    "MAX_WORD",
    "EmailTransport",
    "NotifyEmail",
    "PoolKey",
    "SecureMailMode",
    "SmtpContact",
    "build_message",
    "classify",
    "contact_capacity",
    "encoded_words",
    "fit_html",
    "mask",
    "message_id",
    "parse_contact",
    "read_attachments",
    "render",
    "rendered",
    "rfc2231",
]

log = logging.getLogger(__name__)

# After a connection-level failure the server is considered down for this long: the
# rest of a dispatch's rows to it fail fast (transient) instead of each waiting out a
# timeout against a hung server.
DEFAULT_COOLDOWN = 30.0


class EmailTransport:
    """``Transport`` for the ``email`` channel. One instance per worker thread is the
    intended use; a lock makes a shared instance safe (sends are then serialised)."""

    channel = "email"

    def __init__(self, *, cooldown: float = DEFAULT_COOLDOWN) -> None:
        self._pool: dict[PoolKey, smtplib.SMTP] = {}
        self._down: dict[PoolKey, tuple[float, str]] = {}
        self._cooldown = cooldown
        self._lock = threading.Lock()

    def send(self, url: str, message: Message) -> str:
        """Send ``message``; its Message-ID (the outbox keeps it for the audit)."""
        contact = parse_contact(url)
        mid, data = rendered(contact, message, now=datetime.now(LOCAL_TZ))
        with self._lock:
            self._check_up(contact.pool_key)
            try:
                self._deliver(contact, data)
            except DeliveryError:
                self._discard(contact.pool_key)
                raise
        return mid

    def mask(self, url: str) -> str:
        return mask(url)

    def close(self) -> None:
        with self._lock:
            for key in list(self._pool):
                self._discard(key)

    # --- connections ---------------------------------------------------------------

    def _deliver(self, contact: SmtpContact, data: bytes) -> None:
        rcpts = [a.addr_spec for a in contact.recipients]
        conn = self._pool.get(contact.pool_key)
        if conn is not None:
            try:
                _transaction(conn, contact.sender.addr_spec, rcpts, data, reused=True)
                return
            except _Stale:
                # The server dropped an idle connection: nothing of this message was
                # accepted yet (it failed at MAIL FROM), so sending again is safe.
                self._discard(contact.pool_key)
        conn = self._open(contact)
        _transaction(conn, contact.sender.addr_spec, rcpts, data, reused=False)

    def _open(self, contact: SmtpContact) -> smtplib.SMTP:
        try:
            conn = _connect(contact)
        except DeliveryError as exc:
            if not (exc.permanent or isinstance(exc, ChannelFault)):
                self._down[contact.pool_key] = (time.monotonic() + self._cooldown, str(exc))
            raise
        self._down.pop(contact.pool_key, None)
        self._pool[contact.pool_key] = conn
        return conn

    def _check_up(self, key: PoolKey) -> None:
        down = self._down.get(key)
        if down is not None and time.monotonic() < down[0]:
            raise DeliveryError(f"server down (recently: {down[1]})", permanent=False)

    def _discard(self, key: PoolKey) -> None:
        conn = self._pool.pop(key, None)
        if conn is None:
            return
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()


class _Stale(Exception):
    """A kept-open connection turned out to be closed by the server."""


def _connect(contact: SmtpContact) -> smtplib.SMTP:
    """Connect, greet, secure and log in; every failure as a classified DeliveryError."""
    conn: smtplib.SMTP | None = None
    try:
        conn = _socket(contact)
        # The greeting was read under the connect timeout; the rest uses the read one.
        if conn.sock is not None:
            conn.sock.settimeout(contact.read_timeout)
        conn.ehlo()
        # mailtos:// demands STARTTLS; a plain mailto:// still upgrades when the server
        # offers it, so that passwords and reports do not cross the network in clear.
        if contact.mode == SecureMailMode.STARTTLS or (
            contact.mode == SecureMailMode.INSECURE and conn.has_extn("starttls")
        ):
            conn.starttls(context=_tls_context(contact))
            conn.ehlo()
        if contact.user and contact.password:
            _login(conn, contact.user, contact.password)
        return conn
    except (OSError, smtplib.SMTPException) as exc:
        if conn is not None:
            conn.close()
        raise classify(exc) from exc


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib encodes credentials as ASCII; a Vietnamese password ("mật-khẩu") goes
    through AUTH PLAIN by hand, which RFC 4616 defines over UTF-8."""
    if (user + password).isascii():
        conn.login(user, password)
        return
    if "plain" not in conn.esmtp_features.get("auth", "").lower().split():
        raise ChannelFault("máy chủ thư không hỗ trợ AUTH PLAIN cho tên/mật khẩu có dấu")
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    code, reply = conn.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _socket(contact: SmtpContact) -> smtplib.SMTP:
    if contact.mode == SecureMailMode.SSL:
        return smtplib.SMTP_SSL(
            contact.host,
            contact.port,
            timeout=contact.connect_timeout,
            context=_tls_context(contact),
        )
    return smtplib.SMTP(contact.host, contact.port, timeout=contact.connect_timeout)


def _tls_context(contact: SmtpContact) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not contact.verify_certificate:  # ?verify=no in the URL, as in Apprise
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _transaction(
    conn: smtplib.SMTP, sender: str, rcpts: Iterable[str], data: bytes, *, reused: bool
) -> None:
    """MAIL, RCPT, DATA — ``smtplib.sendmail`` in steps, so that a dead kept-open
    connection is told apart (at MAIL, before anything was accepted) from a failure
    later in the transaction, which must not be blindly repeated."""
    try:
        code, reply = conn.mail(sender)
    except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
        if reused:
            raise _Stale from exc
        raise classify(exc) from exc
    if code == 421 and reused:  # "closing transmission channel" on an idle connection
        raise _Stale
    try:
        _check(code, reply, "MAIL FROM")
        _recipients(conn, rcpts)
        code, reply = conn.data(data)
        _check(code, reply, "DATA")
    except (OSError, smtplib.SMTPException) as exc:
        raise classify(exc) from exc


def _recipients(conn: smtplib.SMTP, rcpts: Iterable[str]) -> None:
    refused: dict[str, tuple[int, bytes]] = {}
    accepted = 0
    for rcpt in rcpts:
        code, reply = conn.rcpt(rcpt)
        if code in (250, 251):
            accepted += 1
        else:
            refused[rcpt] = (code, reply)
    if not accepted:
        conn.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    if refused:
        # Some addresses of the contact took it: the agency is reached, the rest logged.
        log.warning("email: some recipients refused: %s", _codes(refused))


def _check(code: int, reply: bytes, step: str) -> None:
    if code != 250:
        raise smtplib.SMTPResponseException(code, f"{step}: {reply.decode(errors='replace')}")


def _codes(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{r}: {c} {m.decode(errors='replace')}" for r, (c, m) in refused.items())


# Replies that mean the channel's own configuration is wrong, not the message: 530
# authentication required, 534 mechanism too weak, 535 credentials refused, 538
# encryption required.
CONFIG_REPLIES = frozenset({530, 534, 535, 538})
FIX_THEN_RETRY = "sửa HANBAOCAO_SMTP_URL rồi chạy `hanbaocao outbox retry`"


def classify(exc: BaseException) -> DeliveryError:
    """``ChannelFault`` (hold the channel): the login is refused or the server's
    certificate does not verify — every message would fail alike until an operator
    fixes the configuration. Permanent: other 5xx answers (recipient or sender
    rejected, message refused) — retrying the same message changes nothing.
    Transient: refused or timed-out connections, disconnects, 4xx ("try later")."""
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code in CONFIG_REPLIES:
        text = _reply_text(exc)
        return ChannelFault(
            f"máy chủ thư từ chối đăng nhập ({exc.smtp_code} {text}): {FIX_THEN_RETRY}"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ChannelFault(
            f"chứng chỉ TLS của máy chủ thư không hợp lệ ({exc.verify_message}): {FIX_THEN_RETRY}"
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
        return DeliveryError(f"recipients refused: {_codes(exc.recipients)}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = _reply_text(exc)
        return DeliveryError(f"{exc.smtp_code} {text}", permanent=500 <= exc.smtp_code < 600)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"server lacks a required extension: {exc}", permanent=True)
    if isinstance(exc, TimeoutError | socket.timeout):
        return DeliveryError(f"timed out: {exc}", permanent=False)
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)


def _reply_text(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    return error.decode(errors="replace") if isinstance(error, bytes) else str(error)
