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
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.agency import Agency, AgencyKind
from models.db import Settings, make_engine
from models.links import LinkSettings
from models.tables import Obligation, ReportCycle, Submission, SubmissionVersion
from notifications.mailsink import MailSink
from notifications.messages import format_size
from tests.conftest import EXAMPLES
from tests.portal.browser import (
    TIMEOUT_MS,
    artifacts_dir,
    launch,
    loopback_socket,
    require_browser,
    serve,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "quang-ngai"
OPENED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=VN)  # a Friday, in office hours
SECRET = "e2e-browser-secret-key-0123456789abcdef"
ADMIN, PASSWORD = "vanphong", "mat-khau-thu-nghiem-2026"
GREEN = "rgb(46, 125, 50)"  # .c-on-time in portal/static/dashboard.css (#2e7d32)


@dataclass
class Loop:
    engine: Engine
    data_dir: Path
    sink: MailSink
    cycle_id: int
    agency: Agency  # the department whose reminder the test follows
    reminded_at: dt.datetime  # when the 7-day reminder went out


def _seed(engine: Engine) -> tuple[int, Agency]:
    """The registry with a demo email contact per agency, 6966 approved, its 2026 cycle
    opened on 20/11/2026 and the opening notices queued; the first department."""
    from directives.parse import parse_file
    from flows.demo import approve_seeds, give_contacts
    from models.cycles import store_cycle
    from models.registry import import_registry, load_registry, shipped_registry
    from models.store import save_directive
    from models.workdays import packaged_calendar
    from notifications.notices import queue_steps

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
        opened = store_cycle(s, ob, now=OPENED, province=PROVINCE)
        queue_steps(s, opened.steps, now=OPENED, calendar=packaged_calendar())
        s.commit()
        agency = s.exec(
            select(Agency)
            .join(Submission, col(Submission.agency_id) == Agency.id)
            .where(Submission.cycle_id == opened.cycle.id, Agency.kind == AgencyKind.department)
            .order_by(col(Agency.name))
        ).first()
        assert agency is not None and opened.cycle.id is not None
        return opened.cycle.id, agency


def _dispatch(engine: Engine, now: dt.datetime) -> int:
    """The outbox's due emails, as ``flows.cycles.send`` sends them; how many went."""
    from models.workdays import packaged_calendar
    from notifications.contacts import contact_resolver
    from notifications.outbox import dispatch
    from notifications.transports import build_transports

    def factory() -> Session:
        return Session(engine, expire_on_commit=False)

    transports = build_transports(["email"])  # the Zalo contact of Sở Xây dựng waits
    try:
        report = dispatch(
            factory,
            now=now,
            worker="e2e",
            transports=transports,
            calendar=packaged_calendar(),
            resolve_url=contact_resolver(factory),
        )
    finally:
        for transport in transports.values():
            transport.close()
    return int(report.as_dict()["sent"])


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
    from portal.app import PortalSettings, create_app
    from portal.auth import hash_password

    require_browser()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    sock = loopback_socket()
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("HANBAOCAO_DATA_DIR", str(data_dir))
    monkeypatch.delenv("HANBAOCAO_DATABASE_URL", raising=False)
    monkeypatch.setenv("HANBAOCAO_PUBLIC_URL", public)
    monkeypatch.setenv("HANBAOCAO_SECRET_KEY", SECRET)
    monkeypatch.setenv("HANBAOCAO_ADMIN_USER", ADMIN)
    monkeypatch.setenv("HANBAOCAO_ADMIN_PASSWORD_HASH", hash_password(PASSWORD))
    monkeypatch.delenv("HANBAOCAO_ENV", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from models.schema import create_schema

    engine = make_engine(f"sqlite:///{data_dir / 'app.db'}")
    sink = MailSink()
    try:
        create_schema(engine)
        sink.start()
        monkeypatch.setenv("HANBAOCAO_SMTP_URL", sink.smtp_url())
        cycle_id, agency = _seed(engine)
        assert _dispatch(engine, OPENED) >= 109  # the opening notices
        sink.clear()
        reminded_at = _remind(engine, cycle_id)
        assert _dispatch(engine, reminded_at) >= 109
        app = create_app(
            PortalSettings(upload_max_mb=5, upload_max_files=3),
            db=Settings(data_dir=data_dir),
            links=LinkSettings(),
            engine=engine,
            # Two hours after the reminder: the deadline is still ahead.
            clock=lambda: (reminded_at + dt.timedelta(hours=2)).astimezone(dt.UTC),
            emit=lambda event, **_: None,
        )
        with serve(app, sock) as base:
            assert base == public
            yield Loop(engine, data_dir, sink, cycle_id, agency, reminded_at), base
    finally:
        sink.stop()
        sock.close()
        engine.dispose()


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

    with launch() as browser:
        context = browser.new_context(
            locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
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
        page.goto(f"{base}/admin/")
        assert "/admin/login" in page.url
        page.locator("#user").fill(ADMIN)
        page.locator("#password").fill(PASSWORD)
        with page.expect_navigation(url=f"{base}/admin/"):
            page.get_by_role("button", name="Đăng nhập").click()
        cell = page.evaluate(
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
                return {
                    cls: td.className,
                    title: td.title,
                    mark: td.textContent.trim(),
                    background: getComputedStyle(td).backgroundColor,
                };
            }""",
            [state.cycle_id, state.agency.name],
        )
        assert cell is not None, "the department's row or the cycle's column is missing"
        assert "c-on-time" in cell["cls"].split(), cell
        assert cell["mark"] == "✓", cell
        assert "Đúng hạn" in cell["title"] or "đúng hạn" in cell["title"], cell
        assert cell["background"] == GREEN, cell
        _shot(page, shots, "3-dashboard.png")
        context.close()

    with Session(state.engine) as s:
        versions = s.exec(select(SubmissionVersion)).all()
    assert [(v.file_name, v.sha256, v.late) for v in versions] == [
        (pdf.name, hashlib.sha256(data).hexdigest(), False)
    ]
    print(f"e2e browser loop: {time.monotonic() - started:.1f} s after the reminder was sent")
