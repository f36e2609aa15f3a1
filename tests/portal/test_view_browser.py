"""The lead Sở consolidates in a real browser: 6966/UBND-KTN's 2026 cycle is opened on
SQLite, three departments hand in (one of them twice), the sweep's escalation to the
lead Sở goes out over real SMTP to a loopback aiosmtpd sink, the lead's email is read
from the sink, its "Xem tình hình nộp báo cáo" link opened in headless Chromium
(Playwright driving Debian's ``chromium``) and the zip downloaded with the page's
button: it holds each department's latest upload, named by department, byte for byte
(sha256) what was handed in.

The app serves on a loopback port chosen before anything is queued, so the links in the
emails (HANBAOCAO_PUBLIC_URL) point at it; its clock is the escalation's, plus an hour.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.agency import Agency, AgencyKind
from models.tables import AuditEvent, Obligation, ReportCycle, Submission
from notifications.mailsink import MailSink
from tests.portal.browser import VN, browsing, dispatch_email, portal_site, seed_6966
from tests.portal.conftest import docx_bytes, pdf_bytes

pytestmark = pytest.mark.slow

OPENED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=VN)
SECRET = "view-browser-secret-key-0123456789abcdef"
HANDED_IN = dt.datetime(2026, 12, 2, 10, 0, tzinfo=VN)


@dataclass
class Lead:
    engine: Engine
    sink: MailSink
    cycle_id: int
    lead: Agency
    latest: dict[str, bytes]  # the zip entry each department's latest file must be


def _hand_in(engine: Engine, data_dir: Path, cycle_id: int) -> dict[str, bytes]:
    """Three departments hand in; the first twice (its update replaces the first file
    in the zip). Returns the expected zip entries."""
    from models.submissions import Incoming, receive

    with Session(engine, expire_on_commit=False) as s:
        rows = s.exec(
            select(Submission, Agency)
            .join(Agency, col(Agency.id) == Submission.agency_id)
            .where(Submission.cycle_id == cycle_id, Agency.kind == AgencyKind.department)
            .order_by(col(Agency.code))
            .limit(3)
        ).all()
        expected = {}
        for i, (sub, agency) in enumerate(rows):
            uploads = [[("bao-cao.pdf", pdf_bytes(f"bản đầu {agency.name}"))]] if i == 0 else []
            uploads.append([(f"Báo cáo {i}.docx", docx_bytes(f"Báo cáo năm 2026 — {agency.name}"))])
            for n, files in enumerate(uploads):
                at = HANDED_IN + dt.timedelta(hours=i, minutes=n * 30)
                incoming = [Incoming(name, io.BytesIO(data)) for name, data in files]
                receive(s, sub.id or 0, incoming, at=at, data_dir=data_dir)
                s.commit()
            expected[f"{agency.code} - {agency.name}.docx"] = uploads[-1][0][1]
        return expected


def _escalate(engine: Engine, cycle_id: int) -> dt.datetime:
    """The sweep at the escalation to the lead Sở (five minutes after it is due)."""
    from models.cycles import advance, cycle_stages
    from models.workdays import packaged_calendar
    from notifications.notices import queue_steps

    cal = packaged_calendar()
    with Session(engine, expire_on_commit=False) as s:
        cycle = s.get(ReportCycle, cycle_id)
        ob = s.get(Obligation, cycle.obligation_id) if cycle else None
        assert cycle is not None and ob is not None
        at = {st.name: st.at for st in cycle_stages(ob, cycle, cal)}["escalation-lead"]
        at += dt.timedelta(minutes=5)
        queued = queue_steps(s, advance(s, now=at, calendar=cal).steps, now=at, calendar=cal)
        s.commit()
    assert ("escalation-lead", "email") in queued.rows, dict(queued.rows)
    return at


@pytest.fixture
def lead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Lead, str]]:
    with portal_site(tmp_path, monkeypatch, secret=SECRET) as site, MailSink() as sink:
        monkeypatch.setenv("HANBAOCAO_SMTP_URL", sink.smtp_url())
        engine = site.engine
        cycle_id = seed_6966(engine, OPENED, notices=True)
        latest = _hand_in(engine, site.data_dir, cycle_id)
        escalated = _escalate(engine, cycle_id)
        assert dispatch_email(engine, escalated) > 0
        with Session(engine) as s:
            cycle = s.get(ReportCycle, cycle_id)
            ob = s.get(Obligation, cycle.obligation_id) if cycle else None
            found = s.get(Agency, ob.lead_agency_id) if ob else None
            assert found is not None
        with site.serve(now=escalated + dt.timedelta(hours=1)) as base:
            yield Lead(engine, sink, cycle_id, found, latest), base


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text part"
    return str(part.get_content())


def _view_link(state: Lead, base: str) -> str:
    """The lead's escalation (alone, or in the day's digest with its own reminder: a long
    mail keeps its full content in the text part), and the /view/ link it carries."""
    address = f"{state.lead.code}@example.invalid"  # flows.demo.give_contacts
    mine = [m for m in state.sink.messages() if address in str(m["To"])]
    escalations = [m for m in mine if "[Đôn đốc báo cáo]" in _text(m)]
    assert len(escalations) == 1, [str(m["Subject"]) for m in mine]
    urls = re.findall(r"https?://\S+", _text(escalations[0]))
    views = [u for u in urls if u.startswith(f"{base}/view/")]
    assert views, "no /view/ link in the lead's escalation"
    # The lead's own page is in the message too.
    assert any(u.startswith(f"{base}/agency/") for u in urls)
    return views[-1]  # the escalation's (the digest's second item)


def test_lead_opens_view_from_its_escalation_and_downloads_the_zip(
    lead: tuple[Lead, str], tmp_path: Path
) -> None:
    state, base = lead
    url = _view_link(state, base)
    with browsing() as context:
        page = context.new_page()
        response = page.goto(url)
        assert response is not None and response.status == 200
        assert "Tình hình nộp báo cáo" in page.title()
        assert page.get_by_text("Đã nộp: 3/").count() == 1
        with page.expect_download() as info:
            page.click("#zip")
        download = info.value
        assert download.suggested_filename.endswith(".zip")
        saved = tmp_path / "bao-cao.zip"
        download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        got = {name: hashlib.sha256(archive.read(name)).hexdigest() for name in archive.namelist()}
    want = {name: hashlib.sha256(data).hexdigest() for name, data in state.latest.items()}
    assert got == want
    with Session(state.engine) as s:
        row = s.exec(select(AuditEvent).where(AuditEvent.action == "report_cycle.downloaded")).one()
    assert row.actor == f"view:{state.lead.code}" and row.entity_id == state.cycle_id
