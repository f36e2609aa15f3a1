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
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.agency import Agency
from models.links import link
from models.tables import Notification
from tests.portal.browser import (
    VN,
    browsing,
    departments,
    log_in,
    matrix_cell,
    portal_site,
    seed_6966,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

OPENED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=VN)
NOW = dt.datetime(2026, 12, 23, 10, 15, tzinfo=VN)  # two working days after 21/12 24:00
SECRET = "actions-browser-secret-key-0123456789abcdef"


@dataclass
class World:
    engine: Engine
    base: str
    cycle_id: int
    agencies: list[Agency]  # three departments that have not handed in


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with portal_site(tmp_path, monkeypatch, secret=SECRET) as site:
        cycle_id = seed_6966(site.engine, OPENED)
        agencies = departments(site.engine, cycle_id, 3)
        with site.serve(now=NOW) as base:
            yield World(site.engine, base, cycle_id, agencies)


def _confirmed(
    page: Page, form: str, fields: dict[str, str], expect: str, warned: str | None = None
) -> None:
    """Fill one action form, submit it, read the confirmation (and its warning, when one
    is ``warned``; none otherwise), confirm."""
    box = page.locator(f'[data-testid="{form}"]')
    for name, value in fields.items():
        box.locator(f'[name="{name}"]').fill(value)
    box.locator("button").click()
    page.wait_for_load_state()
    assert expect in page.locator('[data-testid="confirm-text"]').inner_text()
    warning = page.locator('[data-testid="confirm-warning"]')
    if warned is None:
        assert warning.count() == 0, warning.all_inner_texts()
    else:
        assert warned in warning.inner_text()
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_url(re.compile(r"\?done="))


def test_excuse_extend_and_an_agencys_request(world: World) -> None:
    excused, extended, asking = world.agencies
    with browsing() as context:
        page = context.new_page()
        log_in(page, world.base)
        before = {a.name: matrix_cell(page, world.cycle_id, a.name) for a in (excused, extended)}
        assert all("c-missing" in c["cls"].split() for c in before.values()), before

        # Excuse the first from its cell's page.
        page.goto(before[excused.name]["href"])
        assert page.locator("h1").inner_text() == excused.name
        _confirmed(page, "form-excuse", {"reason": "Đơn vị đã sáp nhập"}, excused.name)
        assert "Được miễn nộp" in page.locator('[data-testid="agency-state"]').inner_text()

        # Extend the second to Wednesday 30/12/2026: past Sở Xây dựng's own deadline to
        # UBND tỉnh (24/12), which the confirmation says before it is done.
        page.goto(before[extended.name]["href"])
        _confirmed(
            page,
            "form-extend",
            {"until": "2026-12-30", "reason": "Chờ số liệu quý IV"},
            "đến 30/12/2026",
            warned="muộn hơn hạn Sở Xây dựng tỉnh Quảng Ngãi phải báo cáo",
        )
        assert "30/12/2026" in page.locator('[data-testid="agency-due"]').inner_text()
        assert "Chưa đến hạn" in page.locator('[data-testid="agency-state"]').inner_text()

        page.goto(f"{world.base}/admin/")
        assert "c-excused" in matrix_cell(page, world.cycle_id, excused.name)["cls"].split()
        assert "c-not-yet-due" in matrix_cell(page, world.cycle_id, extended.name)["cls"].split()

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

    with Session(world.engine) as s:
        told = s.exec(
            select(Notification.stage).where(
                Notification.agency_id.in_([extended.id, asking.id])  # type: ignore[union-attr]
            )
        ).all()
    assert any(t.startswith("extended-") for t in told)
    assert any(t.startswith("request-") for t in told)
