"""What the portal's routers share, as plain functions of the request: the portal's parts
(``Portal`` on ``app.state.portal``), the administrators' side (``Dashboard``: its
database, clock, login and Prefect links), the current administrator, a session.

Routers are module-level ``APIRouter``s that import from here, never from the app that
includes them (``portal.app``), so there is no import cycle between app and routers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import clock
from models.compliance import FilterChoices, Matrix, MatrixFilter, compliance_matrix, filter_choices
from models.db import get_engine
from models.links import LinkSettings
from portal.auth import AdminAuth
from portal.security import CSRF_FIELD, csrf_ok, csrf_token
from portal.slow import UploadGate
from portal.storage import Limits

if TYPE_CHECKING:
    from portal.dashboard import PrefectRuns

log = logging.getLogger("hanbaocao.portal")
ADMIN_PREFIX = "/admin"
SESSION_COOKIE = "hbc_admin"
CSRF_COOKIE = "hbc_admin_csrf"


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
    gate: UploadGate = field(default_factory=UploadGate)  # uploads at once (portal.slow)


def portal_of(request: Request) -> Portal:
    found: Portal = request.app.state.portal
    return found


class Dashboard:
    """The router's state: where the data is, who may log in, how to reach Prefect."""

    def __init__(
        self,
        *,
        engine: Engine | None = None,
        auth: AdminAuth | None = None,
        prefect: PrefectRuns,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.auth = auth or AdminAuth()
        self.prefect = prefect

    # The portal app (portal.app.create_app) carries its engine and clock on
    # app.state.portal: the dashboard follows them, so one app has one database and one
    # "now". On its own (tests, another app) it falls back to the defaults.

    def engine(self, request: Request) -> Engine:
        portal = getattr(request.app.state, "portal", None)
        return self._engine or getattr(portal, "engine", None) or get_engine()

    def now(self, request: Request) -> dt.datetime:
        portal = getattr(request.app.state, "portal", None)
        tick = self._clock or getattr(portal, "clock", None) or clock.now
        moment: dt.datetime = tick()
        return moment

    def user(self, request: Request) -> str | None:
        token = request.cookies.get(SESSION_COOKIE)
        return self.auth.session_user(token, now=self.now(request), engine=self.engine(request))

    def csrf(self, request: Request, nonce: str) -> str:
        return csrf_token(self.auth.key, nonce, now=self.now(request))

    def csrf_ok(self, request: Request, form: Mapping[str, str]) -> bool:
        nonce = request.cookies.get(CSRF_COOKIE)
        if not nonce:
            return False
        return csrf_ok(self.auth.key, nonce, form.get(CSRF_FIELD), now=self.now(request))

    def load(self, request: Request, selection: MatrixFilter) -> tuple[Matrix, FilterChoices]:
        with Session(self.engine(request)) as session:
            matrix = compliance_matrix(session, now=self.now(request), filters=selection)
            return matrix, filter_choices(session)

    def cookie(self, response: Response, name: str, value: str, *, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=ADMIN_PREFIX,
            secure=self.auth.settings.secure_cookies,
            httponly=True,
            samesite="strict",
        )


def prefect_configured() -> bool:
    """A Prefect API is configured (environment or profile): flows and events go there."""
    import os

    if os.environ.get("PREFECT_API_URL"):
        return True
    from prefect.settings import PREFECT_API_URL  # a profile may set it

    return bool(PREFECT_API_URL.value())


def admin_of(request: Request) -> Dashboard:
    """The administrators' side this request is served by (set by the dashboard's
    router: ``portal.dashboard.dashboard_router``)."""
    found: Dashboard = request.state.admin
    return found


def current_admin(request: Request) -> str | None:
    """The logged-in administrator's name, or None."""
    return admin_of(request).user(request)


@contextmanager
def admin_session(request: Request) -> Iterator[Session]:
    """A session on the administrators' database; the caller commits."""
    with Session(admin_of(request).engine(request)) as session:
        yield session
