"""The whole loop in a real browser: 6966/UBND-KTN's 2026 cycle is opened on SQLite, its
opening notices and 7-day reminders go out over real SMTP to a loopback aiosmtpd sink,
one department's reminder is opened, its link followed in headless Chromium (Playwright
driving Debian's ``chromium``), a real PDF uploaded through the form, the receipt read,
and the administrators' dashboard shows that department's cell for the cycle on time,
in green. Screenshots of the three pages are kept (see ``tests.portal.browser``).

The app runs under uvicorn on a loopback port chosen before anything is queued, so the
links inside the emails (HANBAOCAO_PUBLIC_URL) point at it; its clock is fixed two hours
after the reminder went out (the deadline, 21/12/2026 24:00, is still ahead).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.agency import Agency
from models.tables import Obligation, ReportCycle, SubmissionVersion
from notifications.mailsink import MailSink
from notifications.messages import format_size
from tests.portal.browser import (
    VN,
    artifacts_dir,
    browsing,
    departments,
    dispatch_email,
    log_in,
    matrix_cell,
    portal_site,
    seed_6966,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

OPENED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=VN)  # a Friday, in office hours
SECRET = "e2e-browser-secret-key-0123456789abcdef"
GREEN = "rgb(46, 125, 50)"  # .c-on-time in portal/static/dashboard.css (#2e7d32)


@dataclass
class Loop:
    engine: Engine
    data_dir: Path
    sink: MailSink
    cycle_id: int
    agency: Agency  # the department whose reminder the test follows
    reminded_at: dt.datetime  # when the 7-day reminder went out


def _remind(engine: Engine, cycle_id: int) -> dt.datetime:
    """The sweep's decision at the 7-day reminder (five minutes after it is due)."""
    from models.cycles import advance, cycle_stages
    from models.workdays import packaged_calendar
    from notifications.notices import queue_steps

    cal = packaged_calendar()
    with Session(engine, expire_on_commit=False) as s:
        cycle = s.get(ReportCycle, cycle_id)
        assert cycle is not None
        ob = s.get(Obligation, cycle.obligation_id)
        assert ob is not None
        at = {st.name: st.at for st in cycle_stages(ob, cycle, cal)}["reminder-7"]
        at += dt.timedelta(minutes=5)
        moved = advance(s, now=at, calendar=cal)
        queued = queue_steps(s, moved.steps, now=at, calendar=cal)
        s.commit()
    assert queued.total > 0, "the 7-day reminder queued nothing"
    return at


@pytest.fixture
def loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Loop, str]]:
    """Everything up to the reminder in the sink, and the portal serving on loopback."""
    with portal_site(tmp_path, monkeypatch, secret=SECRET) as site, MailSink() as sink:
        monkeypatch.setenv("HANBAOCAO_SMTP_URL", sink.smtp_url())
        cycle_id = seed_6966(site.engine, OPENED, notices=True)
        (agency,) = departments(site.engine, cycle_id, 1)
        assert dispatch_email(site.engine, OPENED) >= 110  # the opening notices
        sink.clear()
        reminded_at = _remind(site.engine, cycle_id)
        assert dispatch_email(site.engine, reminded_at) >= 110
        # Two hours after the reminder: the deadline is still ahead.
        clock = reminded_at + dt.timedelta(hours=2)
        with site.serve(now=clock, upload_max_mb=5, upload_max_files=3) as base:
            yield Loop(site.engine, site.data_dir, sink, cycle_id, agency, reminded_at), base


# --- helpers ----------------------------------------------------------------------------------


def _reminder_to(sink: MailSink, agency: Agency) -> EmailMessage:
    address = f"{agency.code}@example.invalid"  # flows.demo.give_contacts
    mine = [m for m in sink.messages() if address in str(m["To"])]
    assert len(mine) == 1, f"{len(mine)} reminders to {address}"
    assert str(mine[0]["Subject"]).startswith("[Nhắc hạn]"), mine[0]["Subject"]
    return mine[0]


def _submit_link(message: EmailMessage, base: str) -> str:
    html = message.get_body(preferencelist=("html",))
    assert html is not None, "the reminder has no HTML part"
    content = html.get_content()
    found = re.findall(r'href="([^"]+)"', content)
    links = [u.replace("&amp;", "&") for u in found if u.startswith(f"{base}/submit/")]
    assert links, f"no link to {base}/submit/ in the reminder's HTML"
    return str(links[0])


def _report_pdf(page: Page, folder: Path, agency: str) -> Path:
    """A real PDF, printed by Chromium itself from a small Vietnamese report."""
    page.set_content(
        "<meta charset='utf-8'><h1>Báo cáo kết quả thực hiện năm 2026</h1>"
        f"<p>{agency} báo cáo UBND tỉnh (thông qua Sở Xây dựng) theo Công văn "
        "số 6966/UBND-KTN ngày 24/12/2024.</p>"
    )
    path = folder / "bao-cao-nam-2026.pdf"
    path.write_bytes(page.pdf(format="A4"))
    return path


def _shot(page: Page, folder: Path, name: str) -> Path:
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


# --- the test ---------------------------------------------------------------------------------


def test_reminder_link_upload_receipt_and_green_cell(
    loop: tuple[Loop, str], tmp_path: Path
) -> None:
    state, base = loop
    started = time.monotonic()
    reminder = _reminder_to(state.sink, state.agency)
    url = _submit_link(reminder, base)
    shots = artifacts_dir("e2e-browser")

    with browsing(viewport={"width": 1280, "height": 900}) as context:
        page = context.new_page()
        pdf = _report_pdf(page, tmp_path, state.agency.name)
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-")

        # The link from the email: the agency's own page for the cycle.
        response = page.goto(url)
        assert response is not None and response.status == 200
        assert page.locator("h1").inner_text().startswith("Nộp báo cáo")
        assert "6966/UBND-KTN" in page.content()
        assert state.agency.name in page.content()
        page.locator("#files").set_input_files(str(pdf))
        page.locator("#note").fill("Báo cáo gửi qua đường dẫn trong thư nhắc hạn.")
        _shot(page, shots, "1-submit.png")

        # Submit: 303 to the receipt.
        with page.expect_navigation(url=re.compile(r"/receipt/\d+-\d+$")):
            page.get_by_role("button", name="Nộp báo cáo").click()
        assert page.locator("h1").inner_text() == "Đã nhận báo cáo"
        row = page.locator("table.receipt tbody tr")
        assert row.count() == 1
        assert row.locator(".file-name").inner_text() == pdf.name
        size_text = row.locator("td").nth(2).inner_text()
        assert format_size(len(data)) in size_text
        if len(data) >= 1024:
            assert f"({len(data)} byte)" in size_text
        assert row.locator(".sha256").inner_text() == hashlib.sha256(data).hexdigest()
        assert "nộp đúng hạn" in page.locator("section.notice").inner_text()
        _shot(page, shots, "2-receipt.png")

        # The administrators' dashboard: log in, find the department's cell.
        log_in(page, base)
        cell = matrix_cell(page, state.cycle_id, state.agency.name)
        assert "c-on-time" in cell["cls"].split(), cell
        assert cell["mark"] == "✓", cell
        assert "Đúng hạn" in cell["title"] or "đúng hạn" in cell["title"], cell
        assert cell["background"] == GREEN, cell
        _shot(page, shots, "3-dashboard.png")

    with Session(state.engine) as s:
        versions = s.exec(select(SubmissionVersion)).all()
    assert [(v.file_name, v.sha256, v.late) for v in versions] == [
        (pdf.name, hashlib.sha256(data).hexdigest(), False)
    ]
    print(f"e2e browser loop: {time.monotonic() - started:.1f} s after the reminder was sent")
