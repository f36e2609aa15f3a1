"""What every response carries, the CSRF token of the agencies' form, and the link tokens
kept out of logs.

**Headers.** On every response (pages, files, errors, the dashboard's too): a
Content-Security-Policy with no inline script or style at all, ``nosniff``,
``Referrer-Policy: no-referrer`` (a page's URL *is* its credential: following a link
from it must not hand the token to another site), ``X-Frame-Options: DENY`` plus
``frame-ancestors 'none'``, and ``Cache-Control: no-store`` on everything but the static
files, so no shared cache or back button keeps a token page.

**CSRF.** The submission form carries ``<slot>.<mac>``: an HMAC-SHA256, with the server's
secret under a salt of its own, of the link token and the hour it was issued. A form
from another site cannot produce it without the link token; a token is good for
``CSRF_HOURS`` after the page was shown, so a page left open over lunch still works
and one from last week does not. No cookie is involved: agencies open their links in
whatever browser their mail client starts. (``Origin`` cannot be checked instead:
with ``no-referrer`` browsers send ``Origin: null`` on form posts.)

**Logs.** Uvicorn's access log would print the path, token included; ``RedactTokens``
rewrites it to ``/submit/…``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import re
from datetime import datetime

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.settings import parse_networks

CSRF_FIELD = "csrf"
CSRF_HOURS = 12
_CSRF_SALT = "hanbaocao.submit-csrf"
# base64url payload "." base64url signature (models.links); far longer is not ours.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,1024}\.[A-Za-z0-9_-]{43}")
_TOKEN_IN_PATH = re.compile(r"/(submit|agency|view)/[^/?#\s]+")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """Pure ASGI middleware (not ``BaseHTTPMiddleware``: that one would sit between the
    upload handler and the request body it streams)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if static:
                    headers.setdefault("Cache-Control", "public, max-age=3600")
                else:
                    headers["Cache-Control"] = "no-store"
                    headers["X-Robots-Tag"] = "noindex, nofollow"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def looks_like_token(token: str) -> bool:
    """Shape only (``models.links.read_token`` checks the signature): anything else is
    refused before it reaches ``hmac.compare_digest``, which raises on non-ASCII text."""
    return _TOKEN.fullmatch(token) is not None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _slot(now: datetime) -> int:
    return int(now.timestamp()) // 3600


def _csrf_mac(key: bytes, link_token: str, slot: int) -> str:
    message = f"{_CSRF_SALT}|{slot}|{link_token}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def csrf_token(key: bytes, link_token: str, *, now: datetime) -> str:
    slot = _slot(now)
    return f"{slot}.{_csrf_mac(key, link_token, slot)}"


def csrf_ok(key: bytes, link_token: str, value: str | None, *, now: datetime) -> bool:
    """True for a token this server issued for this link in the last ``CSRF_HOURS``."""
    slot_text, _, mac = (value or "").partition(".")
    if not slot_text.isascii() or not slot_text.isdigit() or not mac.isascii():
        return False
    slot = int(slot_text)
    if not 0 <= _slot(now) - slot < CSRF_HOURS:
        return False
    return hmac.compare_digest(mac, _csrf_mac(key, link_token, slot))


def redact(path: str) -> str:
    """``/submit/<token>/…`` → ``/submit/…/…``: paths as logs may show them."""
    return _TOKEN_IN_PATH.sub(lambda m: f"/{m.group(1)}/…", path)


class RedactTokens(logging.Filter):
    """For ``uvicorn.access``: its record's args are (client, method, path, version,
    status); the path loses its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


# --- the client's address ---------------------------------------------------------------------


def trusted_networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``HANBAOCAO_TRUSTED_PROXIES``: addresses or networks, comma- or space-separated."""
    return parse_networks(spec)


def _trusted(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request, trusted_proxies: str = "") -> str:
    """Who is asking: the peer's address, unless the peer is a trusted proxy; then the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy (entries
    further left are whatever the client chose to send). Without trusted proxies the
    header is ignored: anyone can write it."""
    peer = request.client.host if request.client else "unknown"
    networks = trusted_networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer
    chain = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
    for hop in reversed([h.strip() for h in chain if h.strip()]):
        if not _trusted(hop, networks):
            return hop[:64]
    return peer
