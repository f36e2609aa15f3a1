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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models import clock as clocks
from models.db import engine_for, private_dir
from models.links import LinkSettings, secret_key
from models.settings import Settings
from models.settings import settings as current_settings
from models.submissions import clean_incoming
from portal.contents import ContentLimits
from portal.deps import Emitter, Portal, log, prefect_configured
from portal.pages import STATIC, error_page
from portal.security import RedactTokens, SecurityHeaders, redact, trusted_networks
from portal.slow import BodyTimeout, Pace, UploadGate, guarded_protocol
from portal.storage import MB, Limits

if TYPE_CHECKING:
    import uvicorn

# The portal reads HANBAOCAO_UPLOAD_MAX_MB (all the files of one upload together),
# HANBAOCAO_UPLOAD_MAX_FILES, HANBAOCAO_UPLOAD_ZIP_MAX_MEMBERS / _ZIP_MAX_TOTAL_MB,
# HANBAOCAO_UPLOAD_CONCURRENCY / _PER_AGENCY, and the slow-client limits
# HANBAOCAO_HEADER_TIMEOUT_SECONDS, _BODY_IDLE_SECONDS, _BODY_GRACE_SECONDS, _BODY_MIN_RATE
# (``portal.slow``) of the one settings object.
PortalSettings = Settings


def pace(cfg: Settings) -> Pace:
    """The slow-client limits of ``cfg``."""
    return Pace(
        header_timeout=cfg.header_timeout_seconds,
        idle=cfg.body_idle_seconds,
        grace=cfg.body_grace_seconds,
        min_rate=cfg.body_min_rate,
    )


def upload_limits(cfg: Settings) -> Limits:
    """The upload limits of ``cfg``."""
    contents = ContentLimits(
        zip_members=cfg.upload_zip_max_members,
        zip_total=int(cfg.upload_zip_max_total_mb * MB),
    )
    return Limits(
        max_bytes=int(cfg.upload_max_mb * MB),
        max_files=cfg.upload_max_files,
        contents=contents,
    )


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
    from portal import cycle_page, dashboard, requests, submit, upload, views

    settings = settings or current_settings()
    db = db or settings
    links = links or settings
    private_dir(db.data_dir)
    stale = clean_incoming(db.data_dir)  # what uploads cut off by a crash left behind
    if stale:
        log.warning("removed %d stale partial upload(s) from files/.incoming", stale)
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
        limits=upload_limits(settings),
        clock=clock,
        emit=emit or prefect_event,
        gate=UploadGate(settings.upload_concurrency, settings.upload_concurrency_per_agency),
    )
    upload.prepare()  # what every upload needs, built now rather than by the first ones
    app.add_middleware(BodyTimeout, pace=pace(settings))  # inside LastResort: its 408 is no 500
    app.add_middleware(LastResort)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so it sees every response
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(submit.router)
    app.include_router(views.router)
    app.include_router(requests.agency_router)
    admin = dashboard.dashboard_router(data_dir=db.data_dir, key=app.state.portal.key)
    admin.include_router(cycle_page.router)  # behind the dashboard's login, like its own
    admin.include_router(requests.admin_router)
    app.include_router(admin)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _http_error)
    app.add_exception_handler(submit.LinkRefused, submit.link_refused)
    return app


def prefect_event(event: str, *, resource_id: str, name: str, payload: dict[str, Any]) -> None:
    """``flows.events.emit`` when a Prefect API is configured, else nothing; never raises:
    a report that was received stays received when Prefect is down."""
    try:
        if not prefect_configured():
            return
        from flows.events import emit

        emit(event, resource_id=resource_id, name=name, payload=payload)
    except Exception as exc:  # best effort by design: log and go on
        log.warning("event %s not emitted: %s: %s", event, type(exc).__name__, exc)


def server_config(app: ASGIApp, settings: PortalSettings, **options: Any) -> uvicorn.Config:
    """How the portal is served wherever it runs (``hanbaocao portal``, ``hanbaocao up``,
    ``bench/bench_portal.py``, the tests); ``options``: uvicorn's others (host, port, log
    level…), or one of these changed (a test's shorter keep-alive).
    Request headers have a deadline (``portal.slow.guarded_protocol``); X-Forwarded-For
    is believed only from the proxies the administrator named (none by default; uvicorn
    on its own believes 127.0.0.1); no Server header; idle connections kept 30 s, since
    agencies fill the form for a while and the default 5 s dropped connections just as a
    client reused them for the POST (seen in ``bench/bench_portal.py``). The access log
    gets each personal link's token redacted."""
    import uvicorn

    logging.getLogger("uvicorn.access").addFilter(_REDACT)
    trusted = [str(n) for n in trusted_networks(settings.trusted_proxies)]
    product: dict[str, Any] = {
        "http": guarded_protocol(settings.header_timeout_seconds),
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "server_header": False,
        "timeout_keep_alive": 30,
    }
    return uvicorn.Config(app, **{**product, **options})


_REDACT = RedactTokens()  # one filter, however many servers are configured


@contextmanager
def serving(host: str = "127.0.0.1", port: int = 8000, timeout: float = 30.0) -> Iterator[str]:
    """The portal in a background thread (``hanbaocao up``), yielding its URL once it
    listens; stopped (open requests finished) on exit."""
    import threading
    import time

    import uvicorn

    settings = current_settings()
    app = create_app(settings)
    server = uvicorn.Server(server_config(app, settings, host=host, port=port, log_level="warning"))
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
