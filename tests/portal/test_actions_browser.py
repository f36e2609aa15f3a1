"""Issue 13's levers in a real browser (headless Chromium through Playwright, the app under
uvicorn on loopback, SQLite): two days after 6966/UBND-KTN's 2026 deadline an
administrator opens two red cells of the dashboard, excuses one agency and extends the
other's deadline, each through its confirmation page, and both cells change; a third
agency asks for more time from its submission link, the administrator approves it in
the requests list, and the agency sees the answer and its new deadline."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.agency import Agency, AgencyKind
from models.db import Settings, make_engine
from models.links import LinkSettings, link
from models.tables import Notification, Obligation, Submission
from tests.conftest import EXAMPLES
from tests.portal.browser import TIMEOUT_MS, launch, loopback_socket, require_browser, serve

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "quang-ngai"
OPENED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=VN)
NOW = dt.datetime(2026, 12, 23, 10, 15, tzinfo=VN)  # two working days after 21/12 24:00
SECRET = "actions-browser-secret-key-0123456789abcdef"
ADMIN, PASSWORD = "vanphong", "mat-khau-thu-nghiem-2026"


@dataclass
class World:
    engine: Engine
    base: str
    cycle_id: int
    agencies: list[Agency]  # three departments that have not handed in


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from portal.app import PortalSettings, create_app
    from portal.auth import hash_password

    require_browser()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    sock = loopback_socket()
    monkeypatch.setenv("HANBAOCAO_DATA_DIR", str(data_dir))
    monkeypatch.delenv("HANBAOCAO_DATABASE_URL", raising=False)
    monkeypatch.setenv("HANBAOCAO_PUBLIC_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
    monkeypatch.setenv("HANBAOCAO_SECRET_KEY", SECRET)
    monkeypatch.setenv("HANBAOCAO_ADMIN_USER", ADMIN)
    monkeypatch.setenv("HANBAOCAO_ADMIN_PASSWORD_HASH", hash_password(PASSWORD))
    monkeypatch.delenv("HANBAOCAO_ENV", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from models.schema import create_schema

    engine = make_engine(f"sqlite:///{data_dir / 'app.db'}")
    try:
        create_schema(engine)
        cycle_id, agencies = _seed(engine)
        app = create_app(
            PortalSettings(),
            db=Settings(data_dir=data_dir),
            links=LinkSettings(),
            engine=engine,
            clock=lambda: NOW.astimezone(dt.UTC),
            emit=lambda event, **_: None,
        )
        with serve(app, sock) as base:
            yield World(engine, base, cycle_id, agencies)
    finally:
        sock.close()
        engine.dispose()


def _seed(engine: Engine) -> tuple[int, list[Agency]]:
    from directives.parse import parse_file
    from flows.demo import approve_seeds, give_contacts
    from models.cycles import store_cycle
    from models.registry import import_registry, load_registry, shipped_registry
    from models.store import save_directive

    with Session(engine, expire_on_commit=False) as s:
        import_registry(s, load_registry(shipped_registry()))
        give_contacts(s, zalo_ids=0)
        save_directive(
            s,
            parse_file(EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"),
            actor="t",
            issuer_province=PROVINCE,
        )
        ob = s.get(Obligation, approve_seeds(s, province=PROVINCE)["6966-annual"])
        assert ob is not None
        cycle = store_cycle(s, ob, now=OPENED, province=PROVINCE).cycle
        s.commit()
        agencies = s.exec(
            select(Agency)
            .join(Submission, col(Submission.agency_id) == Agency.id)
            .where(Submission.cycle_id == cycle.id, Agency.kind == AgencyKind.department)
            .order_by(col(Agency.name))
            .limit(3)
        ).all()
        assert cycle.id is not None and len(agencies) == 3
        return cycle.id, list(agencies)


def _cell(page: Page, cycle_id: int, agency: str) -> dict[str, Any]:
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
            const a = td.querySelector("a");
            return {cls: td.className, mark: td.textContent.trim(), href: a && a.href};
        }""",
        [cycle_id, agency],
    )
    assert found is not None, f"no cell for {agency}"
    return found


def _confirmed(page: Page, form: str, fields: dict[str, str], expect: str) -> None:
    """Fill one action form, submit it, read the confirmation, confirm."""
    box = page.locator(f'[data-testid="{form}"]')
    for name, value in fields.items():
        box.locator(f'[name="{name}"]').fill(value)
    box.locator("button").click()
    page.wait_for_load_state()
    assert expect in page.locator('[data-testid="confirm-text"]').inner_text()
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_url(re.compile(r"\?done="))


def test_excuse_extend_and_an_agencys_request(world: World) -> None:
    excused, extended, asking = world.agencies
    with launch() as browser:
        context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{world.base}/admin/")
        page.locator("#user").fill(ADMIN)
        page.locator("#password").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{world.base}/admin/")
        before = {a.name: _cell(page, world.cycle_id, a.name) for a in (excused, extended)}
        assert all("c-missing" in c["cls"].split() for c in before.values()), before

        # Excuse the first from its cell's page.
        page.goto(before[excused.name]["href"])
        assert page.locator("h1").inner_text() == excused.name
        _confirmed(page, "form-excuse", {"reason": "Đơn vị đã sáp nhập"}, excused.name)
        assert "Được miễn nộp" in page.locator('[data-testid="agency-state"]').inner_text()

        # Extend the second to Wednesday 30/12/2026.
        page.goto(before[extended.name]["href"])
        _confirmed(
            page,
            "form-extend",
            {"until": "2026-12-30", "reason": "Chờ số liệu quý IV"},
            "đến 30/12/2026",
        )
        assert "30/12/2026" in page.locator('[data-testid="agency-due"]').inner_text()
        assert "Chưa đến hạn" in page.locator('[data-testid="agency-state"]').inner_text()

        page.goto(f"{world.base}/admin/")
        assert "c-excused" in _cell(page, world.cycle_id, excused.name)["cls"].split()
        assert "c-not-yet-due" in _cell(page, world.cycle_id, extended.name)["cls"].split()

        # The third agency asks for more time from its own submission link.
        agency_page = context.new_page()
        url = link(
            "submit",
            cycle_id=world.cycle_id,
            agency_id=asking.id,
            expires=NOW + dt.timedelta(days=60),
        )
        agency_page.goto(url)
        agency_page.get_by_role("link", name="Xin gia hạn hoặc giải trình việc chậm nộp").click()
        agency_page.locator("#until").fill("2026-12-29")
        agency_page.locator("#reason-ext").fill("Thiếu số liệu của hai xã")
        agency_page.get_by_role("button", name="Gửi đề nghị gia hạn").click()
        agency_page.wait_for_url(re.compile(r"\?sent=1$"))
        assert "Chờ trả lời" in agency_page.locator('[data-testid="answer"]').inner_text()

        page.goto(f"{world.base}/admin/requests")
        row = page.locator("tr[data-request]")
        assert row.count() == 1 and asking.name in row.inner_text()
        row.locator('[name="answer"]').fill("Đồng ý, đề nghị nộp đúng hạn mới")
        row.get_by_role("button", name="Chấp thuận…", exact=True).click()
        page.wait_for_load_state()
        assert "hạn mới 29/12/2026" in page.locator('[data-testid="confirm-text"]').inner_text()
        page.get_by_role("button", name="Xác nhận").click()
        page.wait_for_url(re.compile(r"\?done=approved$"))
        assert page.locator("tr[data-request]").count() == 0

        agency_page.reload()
        answer = agency_page.locator('[data-testid="answer"]').inner_text()
        assert "Đã chấp thuận" in answer and "Đồng ý" in answer
        assert "29/12/2026" in agency_page.locator('[data-testid="own-due"]').inner_text()
        context.close()

    with Session(world.engine) as s:
        told = s.exec(
            select(Notification.stage).where(
                Notification.agency_id.in_([extended.id, asking.id])  # type: ignore[union-attr]
            )
        ).all()
    assert any(t.startswith("extended-") for t in told)
    assert any(t.startswith("request-") for t in told)
