"""The portal's FastAPI application: settings, the shared page renderer, error pages.

``create_app`` builds one app from explicit parts (engine, clock, settings, the event
emitter), so tests run it on their own database with their own clock; ``hanbaocao
portal`` runs it with the defaults. Routers: ``portal.submit`` (agencies' links and
calendars). Everything the routes share sits on ``app.state.portal`` (``Portal``).

Pages are Jinja2 templates under ``portal/templates`` (``base.html`` is the frame every
page extends), autoescaped, with every value NFC-normalised on output; times are shown
in Asia/Ho_Chi_Minh (``dd/mm/yyyy HH:MM``). The interface speaks Vietnamese.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models import clock as clocks
from models.db import Settings, engine_for
from models.links import LinkSettings, secret_key
from notifications.messages import format_size
from portal.security import SecurityHeaders, redact
from portal.storage import MB, Limits

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
log = logging.getLogger("hanbaocao.portal")


class PortalSettings(BaseSettings):
    """HANBAOCAO_UPLOAD_MAX_MB: the most one upload may weigh, all its files together
    (default 20); HANBAOCAO_UPLOAD_MAX_FILES: files per upload (default 10)."""

    model_config = SettingsConfigDict(env_prefix="HANBAOCAO_", extra="ignore")

    upload_max_mb: float = 20
    upload_max_files: int = 10

    @property
    def limits(self) -> Limits:
        return Limits(max_bytes=int(self.upload_max_mb * MB), max_files=self.upload_max_files)


class Emitter(Protocol):
    """``flows.events.emit``'s shape."""

    def __call__(
        self, event: str, *, resource_id: str, name: str, payload: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Portal:
    """What every route needs; ``app.state.portal``."""

    engine: Engine
    data_dir: Path
    key: bytes  # the links' secret (models.links.secret_key)
    links: LinkSettings
    limits: Limits
    clock: Callable[[], datetime]
    emit: Emitter


def portal_of(request: Request) -> Portal:
    found: Portal = request.app.state.portal
    return found


# --- pages -----------------------------------------------------------------------------------


def _nfc(value: Any) -> Any:
    # Every value a template prints: NFD text (macOS file names, copied text) would show
    # with detached marks in some browsers and fail to match in searches.
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def local_time(moment: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    from models.calendar import local_text

    return local_text(moment, fmt) if moment is not None else ""


def local_date(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day is not None else ""


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
    env.filters["local"] = local_time
    env.filters["day"] = local_date
    env.filters["size"] = format_size
    return env


def page(name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered template as a UTF-8 HTML response."""
    html = templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, media_type="text/html; charset=utf-8")


def error_page(status: int, title: str, message: str, *, hint: str | None = None) -> HTMLResponse:
    return page("submit/error.html", status=status, title=title, message=message, hint=hint)


_ERRORS = {
    404: ("Không tìm thấy trang", "Địa chỉ này không có trên hệ thống."),
    405: ("Thao tác không được hỗ trợ", "Trang này không nhận yêu cầu theo cách vừa gửi."),
    413: ("Dữ liệu gửi lên quá lớn", "Yêu cầu vượt quá dung lượng cho phép."),
}


async def _http_error(request: Request, exc: Exception) -> HTMLResponse:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 400
    title, message = _ERRORS.get(status, ("Yêu cầu không hợp lệ", "Yêu cầu không xử lý được."))
    return error_page(status, title, message)


class LastResort:
    """Any unhandled error becomes the Vietnamese 500 page. A middleware rather than an
    ``Exception`` handler: Starlette runs those in its outermost layer, outside
    ``SecurityHeaders``, and every response must carry the headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("portal error on %s", redact(str(scope.get("path", ""))))
            if started:
                raise
            response = error_page(
                500,
                "Hệ thống gặp sự cố",
                "Yêu cầu chưa được xử lý; không có dữ liệu nào được ghi nhận từ yêu cầu này.",
                hint="Đề nghị thử lại sau ít phút. Nếu lỗi vẫn còn, liên hệ Văn phòng UBND tỉnh.",
            )
            await response(scope, receive, send)


# --- the application ------------------------------------------------------------------------


def create_app(
    settings: PortalSettings | None = None,
    *,
    db: Settings | None = None,
    links: LinkSettings | None = None,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = clocks.now,
    emit: Emitter | None = None,
) -> FastAPI:
    """The portal. Defaults: settings from HANBAOCAO_* variables, the app database,
    the real clock (``models.clock.now``), Prefect events when an API is configured."""
    from portal import dashboard, submit

    settings = settings or PortalSettings()
    db = db or Settings()
    links = links or LinkSettings()
    app = FastAPI(
        title="Hạn báo cáo — cổng nộp báo cáo",
        docs_url=None,  # no API explorer: these pages are for people, behind signed links
        redoc_url=None,
        openapi_url=None,
    )
    app.state.portal = Portal(
        engine=engine or engine_for(db.url),
        data_dir=db.data_dir,
        key=secret_key(links),
        links=links,
        limits=settings.limits,
        clock=clock,
        emit=emit or prefect_event,
    )
    app.add_middleware(LastResort)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so it sees every response
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(submit.router)
    app.include_router(dashboard.dashboard_router(data_dir=db.data_dir, key=app.state.portal.key))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _http_error)
    app.add_exception_handler(submit.LinkRefused, submit.link_refused)
    return app


def prefect_event(event: str, *, resource_id: str, name: str, payload: dict[str, Any]) -> None:
    """``flows.events.emit`` when a Prefect API is configured, else nothing; never raises:
    a report that was received stays received when Prefect is down."""
    try:
        if not _prefect_configured():
            return
        from flows.events import emit

        emit(event, resource_id=resource_id, name=name, payload=payload)
    except Exception as exc:  # best effort by design: log and go on
        log.warning("event %s not emitted: %s: %s", event, type(exc).__name__, exc)


def _prefect_configured() -> bool:
    if os.environ.get("PREFECT_API_URL"):
        return True
    from prefect.settings import PREFECT_API_URL  # a profile may set it

    return bool(PREFECT_API_URL.value())


@contextmanager
def serving(host: str = "127.0.0.1", port: int = 8000, timeout: float = 30.0) -> Iterator[str]:
    """The portal in a background thread (``hanbaocao up``), yielding its URL once it
    listens; stopped (open requests finished) on exit."""
    import threading
    import time

    import uvicorn

    from portal.security import RedactTokens

    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    config = uvicorn.Config(
        create_app(),
        host=host,
        port=port,
        server_header=False,
        timeout_keep_alive=30,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="portal", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the portal did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
