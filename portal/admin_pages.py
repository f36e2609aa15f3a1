"""Page helpers of the administrators' routers (``portal.dashboard``, ``portal.intake``):
pages never cached, error pages, forms read with a size cap, POSTs from another site
refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.deps import ADMIN_PREFIX, Dashboard
from portal.pages import error_page, page

MAX_FORM = 8 * 1024  # a login form is a few hundred bytes


def no_store(response: Response) -> Response:
    # Compliance data and forms with tokens: never kept by a browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def admin_page(name: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """A page of the portal's frame (``base.html``, rendered by ``portal.pages.page``:
    autoescaped, NFC, strict about undefined names)."""
    response = page(name, status=status, **context)
    no_store(response)
    return response


def error_response(status: int, title: str, message: str, hint: str | None = None) -> Response:
    return no_store(error_page(status, title, message, hint=hint))


def origin_ok(request: Request, dash: Dashboard) -> bool:
    """A POST from another site is refused even before the CSRF token is looked at (when
    the browser says where it comes from)."""
    origin = request.headers.get("origin")
    # Absent, or "null" (browsers send that on form posts under Referrer-Policy:
    # no-referrer, which portal.security sets): the CSRF token alone decides.
    if origin is None or origin == "null":
        return True
    allowed = {_origin(str(request.base_url)), _origin(dash.auth.settings.public_url)}
    return origin.rstrip("/") in allowed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def read_form(
    request: Request, *, max_bytes: int = MAX_FORM, max_fields: int = 20
) -> dict[str, str] | None:
    """An urlencoded form of at most ``max_bytes``; None for anything else. A field
    given several times keeps its values joined by commas (multi-selects)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return None
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: ",".join(v) if len(v) > 1 else v[0] for k, v in parsed.items()}


def to_login(request: Request) -> Response:
    """The login page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{ADMIN_PREFIX}/login?{urlencode({'next': target})}", status_code=303)
