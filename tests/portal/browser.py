"""The one harness of the portal's browser tests: real headless Chromium driven by
Playwright, the portal under a real uvicorn on loopback, an administrator's login.

- ``portal_site``: a fresh data directory, SQLite database and environment (secret key,
  administrator, the public URL the links in messages carry), and the loopback socket
  the portal will serve on — bound first, so its address is known before anything is
  queued; ``Site.serve`` then serves the app there on a fixed clock.
- ``seed_6966``: the story most of them share, 6966/UBND-KTN's 2026 cycle opened.
- ``browsing``: Chromium and one Vietnamese-locale context, every wait bounded;
  ``log_in``: the administrator's login form; ``matrix_cell``: one cell of the dashboard.

The browser is Debian's ``chromium`` (the one on PATH), never one Playwright downloads:
``playwright install`` is not run anywhere. Without it (or without the ``playwright``
package) the tests are skipped, unless HANBAOCAO_REQUIRE_BROWSER is set (CI sets it):
then they fail, so a CI image that lost its browser cannot pass by skipping.

Screenshots go to HANBAOCAO_TEST_ARTIFACTS, else ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.agency import Agency, AgencyKind
from models.db import Settings, make_engine
from models.links import LinkSettings
from models.tables import Obligation, Submission
from tests.conftest import EXAMPLES

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

TESTS = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-gpu"]
TIMEOUT_MS = 15_000  # every Playwright wait: a hung page fails the test, never the run
LAUNCH_TIMEOUT_MS = 60_000
SERVER_START_TIMEOUT = 60.0  # uvicorn in a thread starts in well under a second; caps a hang

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "quang-ngai"
ADMIN, PASSWORD = "vanphong", "mat-khau-thu-nghiem-2026"


def _unavailable(why: str) -> None:
    if os.environ.get("HANBAOCAO_REQUIRE_BROWSER"):
        pytest.fail(f"HANBAOCAO_REQUIRE_BROWSER is set but {why}")
    pytest.skip(why)


def chromium_path() -> str:
    """The system's Chromium; skips (or fails, see the module) when there is none."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    _unavailable("no chromium on PATH (apt-get install chromium)")
    raise AssertionError("unreachable")


def artifacts_dir(name: str) -> Path:
    base = os.environ.get("HANBAOCAO_TEST_ARTIFACTS")
    folder = (Path(base) if base else TESTS / "artifacts") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def require_browser() -> str:
    """The Chromium to launch, once Playwright is known to be importable; call it before
    any costly set-up so a machine without a browser skips at once."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")
    return chromium_path()


@contextmanager
def launch() -> Iterator[Browser]:
    """Headless Chromium, closed whatever happens inside."""
    executable = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=executable, args=ARGS, headless=True, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield launched
        finally:
            launched.close()


def loopback_socket() -> socket.socket:
    """A bound loopback socket: its port is known before the server (and the links in
    the messages queued before it starts) exist."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(
    app: FastAPI, sock: socket.socket, *, timeout: float = SERVER_START_TIMEOUT
) -> Iterator[str]:
    """``app`` under a real uvicorn on ``sock`` in a thread; its base URL. Stopped (and
    the socket closed) on the way out, whatever happened inside."""
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        host, port = sock.getsockname()[:2]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


# --- the portal, its data and its environment ------------------------------------------------


@dataclass
class Site:
    """A portal about to be served: its database, data directory, and the socket (and so
    the base URL) it will serve on."""

    engine: Engine
    data_dir: Path
    sock: socket.socket
    public: str  # HANBAOCAO_PUBLIC_URL: the links in messages point here

    @contextmanager
    def serve(self, *, now: dt.datetime, **portal_settings: Any) -> Iterator[str]:
        """The portal on ``self.sock``, its clock fixed at ``now``; its base URL."""
        from portal.app import PortalSettings, create_app

        app = create_app(
            PortalSettings(**portal_settings),
            db=Settings(data_dir=self.data_dir),
            links=LinkSettings(),
            engine=self.engine,
            clock=lambda: now.astimezone(dt.UTC),
            emit=lambda event, **_: None,
        )
        with serve(app, self.sock) as base:
            assert base == self.public
            yield base


@contextmanager
def portal_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, secret: str) -> Iterator[Site]:
    """A fresh portal's data, database (SQLite, schema created) and environment, with the
    administrator ``ADMIN``/``PASSWORD``. Skips (see the module) before any of it when
    there is no browser."""
    from models.schema import create_schema
    from portal.auth import hash_password

    require_browser()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    sock = loopback_socket()
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("HANBAOCAO_DATA_DIR", str(data_dir))
    monkeypatch.delenv("HANBAOCAO_DATABASE_URL", raising=False)
    monkeypatch.setenv("HANBAOCAO_PUBLIC_URL", public)
    monkeypatch.setenv("HANBAOCAO_SECRET_KEY", secret)
    monkeypatch.setenv("HANBAOCAO_ADMIN_USER", ADMIN)
    monkeypatch.setenv("HANBAOCAO_ADMIN_PASSWORD_HASH", hash_password(PASSWORD))
    monkeypatch.delenv("HANBAOCAO_ENV", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    engine = make_engine(f"sqlite:///{data_dir / 'app.db'}")
    try:
        create_schema(engine)
        yield Site(engine, data_dir, sock, public)
    finally:
        sock.close()
        engine.dispose()


def import_shipped_registry(session: Session) -> None:
    from models.registry import import_registry, load_registry, shipped_registry

    import_registry(session, load_registry(shipped_registry()))


def seed_6966(engine: Engine, opened: dt.datetime, *, notices: bool = False) -> int:
    """The shipped registry with a demo email contact per agency, 6966/UBND-KTN approved
    as the demo approves it and its 2026 cycle opened at ``opened`` (with ``notices``, its
    opening notices queued); the cycle's id."""
    from directives.parse import parse_file
    from flows.demo import approve_seeds, give_contacts
    from models.cycles import store_cycle
    from models.store import save_directive
    from models.workdays import packaged_calendar
    from notifications.notices import queue_steps

    with Session(engine, expire_on_commit=False) as s:
        import_shipped_registry(s)
        give_contacts(s, zalo_ids=0)
        save_directive(
            s,
            parse_file(EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"),
            actor="t",
            issuer_province=PROVINCE,
        )
        ob = s.get(Obligation, approve_seeds(s, province=PROVINCE)["6966-annual"])
        assert ob is not None
        stored = store_cycle(s, ob, now=opened, province=PROVINCE)
        if notices:
            queue_steps(s, stored.steps, now=opened, calendar=packaged_calendar())
        s.commit()
        assert stored.cycle.id is not None
        return stored.cycle.id


def dispatch_email(engine: Engine, now: dt.datetime) -> int:
    """The outbox's due emails, as ``flows.cycles.send`` sends them (to
    HANBAOCAO_SMTP_URL); how many went."""
    from models.workdays import packaged_calendar
    from notifications.contacts import contact_resolver
    from notifications.outbox import dispatch
    from notifications.transports import build_transports

    def factory() -> Session:
        return Session(engine, expire_on_commit=False)

    transports = build_transports(["email"])  # the Zalo contacts wait
    try:
        report = dispatch(
            factory,
            now=now,
            worker="browser-test",
            transports=transports,
            calendar=packaged_calendar(),
            resolve_url=contact_resolver(factory),
        )
    finally:
        for transport in transports.values():
            transport.close()
    return int(report.as_dict()["sent"])


def departments(engine: Engine, cycle_id: int, count: int) -> list[Agency]:
    """The first ``count`` departments (by name) that report in the cycle."""
    with Session(engine, expire_on_commit=False) as s:
        found = s.exec(
            select(Agency)
            .join(Submission, col(Submission.agency_id) == Agency.id)
            .where(Submission.cycle_id == cycle_id, Agency.kind == AgencyKind.department)
            .order_by(col(Agency.name))
            .limit(count)
        ).all()
    assert len(found) == count, f"{len(found)} departments report in cycle {cycle_id}"
    return list(found)


# --- the browser side --------------------------------------------------------------------------


@contextmanager
def browsing(*, viewport: dict[str, int] | None = None) -> Iterator[BrowserContext]:
    """Headless Chromium and one context as an official here has it (vi-VN, Asia/Ho_Chi_Minh),
    every wait bounded by ``TIMEOUT_MS``; both closed whatever happens inside."""
    with launch() as browser:
        options: dict[str, Any] = {"locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh"}
        if viewport is not None:
            options["viewport"] = viewport
        context = browser.new_context(**options)
        try:
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            yield context
        finally:
            context.close()


def log_in(page: Page, base: str, path: str = "/admin/") -> None:
    """Open ``path`` (an administrator's page), be sent to the login form, log in as
    ``ADMIN`` and land back on ``path``."""
    page.goto(f"{base}{path}")
    assert "/admin/login" in page.url, page.url
    page.locator("#user").fill(ADMIN)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation(url=f"{base}{path}"):
        page.get_by_role("button", name="Đăng nhập").click()


def matrix_cell(page: Page, cycle_id: int, agency: str) -> dict[str, Any]:
    """The dashboard matrix's cell of ``agency`` for ``cycle_id`` (scrolled into view): its
    classes, title, mark, background colour and link."""
    found: dict[str, Any] | None = page.evaluate(
        """([cycle, agency]) => {
            const table = document.querySelector("table.dash-matrix");
            const heads = [...table.querySelectorAll("thead th")];
            const column = heads.findIndex(th => th.dataset.cycle === String(cycle));
            const row = [...table.querySelectorAll("tbody tr")].find(tr => {
                const th = tr.querySelector("th.agency");
                return th && th.textContent.trim() === agency;
            });
            if (column < 0 || !row) return null;
            const td = row.children[column];
            td.scrollIntoView({block: "center"});
            const a = td.querySelector("a");
            return {
                cls: td.className,
                title: td.title,
                mark: td.textContent.trim(),
                background: getComputedStyle(td).backgroundColor,
                href: a && a.href,
            };
        }""",
        [cycle_id, agency],
    )
    assert found is not None, f"no cell for {agency} in cycle {cycle_id}"
    return found
