"""Page helpers shared by every router: the Jinja2 environment (``portal/templates``,
``base.html`` the frame every page extends), autoescaped, every value NFC-normalised on
output, times in Asia/Ho_Chi_Minh; ``page`` and ``error_page`` as HTML responses."""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse

from models.formats import day_text, local_text
from notifications.messages import format_size

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def _nfc(value: Any) -> Any:
    # Every value a template prints: NFD text (macOS file names, copied text) would show
    # with detached marks in some browsers and fail to match in searches.
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


@cache
def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        finalize=_nfc,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_text
    env.filters["day"] = day_text
    env.filters["size"] = format_size
    return env


def page(name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered template as a UTF-8 HTML response."""
    html = templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, media_type="text/html; charset=utf-8")


def error_page(status: int, title: str, message: str, *, hint: str | None = None) -> HTMLResponse:
    return page("submit/error.html", status=status, title=title, message=message, hint=hint)
