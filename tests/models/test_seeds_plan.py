"""The two seed directives, ingested and approved against the shipped registry,
produce the expected cycles for 2025–2027 (issue 3's acceptance test)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from directives.parse import parse_file
from models.agency import Agency
from models.plan import PlanError, accept_suggestion, ensure_cycles, resolve_parties, set_schedule
from models.registry import import_registry, load_registry, shipped_registry
from models.store import save_directive, set_status
from models.tables import Obligation, ObligationParty, ReportCycle, Submission
from tests.conftest import EXAMPLES

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "quang-ngai"
APPROVED_ON = dt.date(2026, 1, 10)


def _ingest(session: Session, name: str, issuer_province: str) -> list[Obligation]:
    result = save_directive(
        session, parse_file(EXAMPLES / name), actor="admin", issuer_province=issuer_province
    )
    for ob in result.obligations:
        resolve_parties(session, ob, on=APPROVED_ON, province=PROVINCE)
    return list(result.obligations)


@pytest.fixture
def seeded(session: Session) -> Session:
    import_registry(session, load_registry(shipped_registry()))
    return session


def _local(value: dt.datetime | None) -> tuple[dt.date, dt.time] | None:
    if value is None:
        return None
    at = value.astimezone(VN)
    return at.date(), at.time()


def _cycles(session: Session, ob: Obligation) -> list[ReportCycle]:
    stmt = (
        select(ReportCycle)
        .where(ReportCycle.obligation_id == ob.id)
        .order_by(ReportCycle.period_key)
    )
    return list(session.exec(stmt))


def test_6966_annual_report_cycles(seeded: Session) -> None:
    obligations = _ingest(seeded, "seed-6966-ubnd-ktn-quang-ngai-2024.txt", "quang-ngai")
    report = next(ob for ob in obligations if ob.via_phrase == "Sở Xây dựng")
    parties = seeded.exec(
        select(ObligationParty).where(ObligationParty.obligation_id == report.id)
    ).all()
    dissolved = [p for p in parties if p.flag == "group_dissolved"]
    # "UBND các huyện, thị xã, thành phố" no longer exists: flagged, not dropped, not guessed.
    assert [(p.phrase, p.suggested_group) for p in dissolved] == [
        ("Chủ tịch UBND các huyện, thị xã, thành phố", "commune_committees")
    ]
    with pytest.raises(PlanError, match="duyệt nghĩa vụ trước"):
        ensure_cycles(
            seeded, report, start=dt.date(2025, 1, 1), end=dt.date(2027, 12, 31), province=PROVINCE
        )

    accept_suggestion(seeded, dissolved[0], actor="admin")
    set_status(seeded, report.id, status="approved", actor="admin")  # type: ignore[arg-type]
    ensure_cycles(
        seeded, report, start=dt.date(2025, 1, 1), end=dt.date(2027, 12, 31), province=PROVINCE
    )
    cycles = _cycles(seeded, report)

    # Default annual deadline (no date in the clause): the chain ends before 25/12 (Sở Xây
    # dựng to UBND tỉnh by 24/12), the agencies 3 working days earlier; both at 24:00.
    end = dt.time(23, 59, 59)
    assert [(c.period_key, _local(c.due_at), _local(c.lead_due_at)) for c in cycles] == [
        ("2025", (dt.date(2025, 12, 19), end), (dt.date(2025, 12, 24), end)),
        ("2026", (dt.date(2026, 12, 21), end), (dt.date(2026, 12, 24), end)),
        ("2027", (dt.date(2027, 12, 21), end), (dt.date(2027, 12, 24), end)),
    ]
    assert [(c.window_start, c.window_end) for c in cycles][1] == (
        dt.date(2025, 12, 15),
        dt.date(2026, 12, 14),
    )
    for cycle in cycles:
        assert _local(cycle.opens_at)[0] < _local(cycle.due_at)[0]  # type: ignore[index]
        names = set(
            seeded.exec(
                select(Agency.kind)
                .join(Submission, Submission.agency_id == Agency.id)
                .where(Submission.cycle_id == cycle.id)
            )
        )
        # Văn phòng UBND tỉnh, the recipient's office, does not report to UBND tỉnh;
        # Công an tỉnh ("other", a ngành) does.
        assert names == {"department", "board", "other", "commune_committee"}
    lead = seeded.get(Agency, report.lead_agency_id)
    assert lead is not None and lead.name == "Sở Xây dựng tỉnh Quảng Ngãi"

    # Idempotent: planning again adds nothing.
    count = len(seeded.exec(select(Submission)).all())
    ensure_cycles(
        seeded, report, start=dt.date(2025, 1, 1), end=dt.date(2027, 12, 31), province=PROVINCE
    )
    assert len(seeded.exec(select(Submission)).all()) == count


def test_1503_kon_tum_obligation_lands_on_quang_ngai_finance(seeded: Session) -> None:
    (ob,) = _ingest(seeded, "seed-1503-ubnd-ktth-kon-tum-2022.txt", "kon-tum")
    assert ob.frequency == "none"
    with pytest.raises(PlanError, match="đặt tần suất và hạn nộp trước"):
        set_status(seeded, ob.id, status="approved", actor="admin")  # type: ignore[arg-type]
        ensure_cycles(
            seeded, ob, start=dt.date(2025, 1, 1), end=dt.date(2027, 12, 31), province=PROVINCE
        )
    set_schedule(seeded, ob, frequency="annual", actor="admin")
    ensure_cycles(
        seeded, ob, start=dt.date(2025, 1, 1), end=dt.date(2027, 12, 31), province=PROVINCE
    )

    cycles = _cycles(seeded, ob)
    assert [c.period_key for c in cycles] == ["2025", "2026", "2027"]
    assert [_local(c.due_at)[0] for c in cycles] == [  # type: ignore[index]
        dt.date(2025, 12, 24),  # no lead: the chain's end, before the 25th
        dt.date(2026, 12, 24),
        dt.date(2027, 12, 24),
    ]
    submitters = set(
        seeded.exec(
            select(Agency.name)
            .join(Submission, Submission.agency_id == Agency.id)
            .join(ReportCycle, ReportCycle.id == Submission.cycle_id)
            .where(ReportCycle.obligation_id == ob.id)
        )
    )
    assert submitters == {"Sở Tài chính tỉnh Quảng Ngãi"}
    party = seeded.exec(
        select(ObligationParty).where(
            ObligationParty.obligation_id == ob.id, ObligationParty.role == "submitter"
        )
    ).one()
    assert (
        party.note
        and "Sở Kế hoạch và Đầu tư tỉnh Kon Tum" in party.note
        and "Sở Tài chính tỉnh Quảng Ngãi" in party.note
    )
    recipient = seeded.get(Agency, ob.recipient_agency_id)
    assert recipient is not None and recipient.name == "Bộ Tài chính"  # Bộ KH&ĐT merged into it


def test_agency_calendar_feed_parses_back(seeded: Session) -> None:
    from icalendar import Calendar

    from models.feeds import agency_calendar

    (ob,) = _ingest(seeded, "seed-1503-ubnd-ktth-kon-tum-2022.txt", "kon-tum")
    set_schedule(seeded, ob, frequency="annual", actor="admin")
    set_status(seeded, ob.id, status="approved", actor="admin")  # type: ignore[arg-type]
    ensure_cycles(
        seeded, ob, start=dt.date(2025, 1, 1), end=dt.date(2027, 12, 31), province=PROVINCE
    )
    finance = seeded.exec(select(Agency).where(Agency.name == "Sở Tài chính tỉnh Quảng Ngãi")).one()

    feed = Calendar.from_ical(agency_calendar(seeded, finance, today=dt.date(2025, 1, 1)))
    events = list(feed.walk("VEVENT"))
    # The three cycles created, then the next deadline computed from the calendar.
    assert len(events) == 4 and "Năm 2028" in str(events[3]["SUMMARY"])
    assert feed["X-WR-CALNAME"] == "Hạn báo cáo — Sở Tài chính tỉnh Quảng Ngãi"
    first = events[0]
    assert str(first["SUMMARY"]).startswith("Hạn báo cáo 1503/UBND-KTTH · Năm 2025")
    start = first.decoded("DTSTART")
    assert start.astimezone(VN) == dt.datetime(2025, 12, 24, 23, 59, 59, tzinfo=VN)
    assert "Bộ Kế hoạch và Đầu tư" in str(first["DESCRIPTION"])
    # Another agency has nothing to report under this obligation.
    other = seeded.exec(select(Agency).where(Agency.name == "Sở Xây dựng tỉnh Quảng Ngãi")).one()
    other_feed = agency_calendar(seeded, other, today=dt.date(2025, 1, 1))
    assert list(Calendar.from_ical(other_feed).walk("VEVENT")) == []
