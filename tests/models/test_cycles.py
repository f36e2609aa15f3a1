"""The cycle engine on stored rows (SQLite and PostgreSQL): 6966/UBND-KTN's 2026 cycle
opened, walked down its ladder, escalated and closed; idempotence, catch-up, and two
sweeps racing over the same rows."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from flows.demo import approve_seeds
from models.agency import Agency
from models.calendar import Audience
from models.cycles import (
    advance,
    closable,
    close,
    cycle_stages,
    mark_submitted,
    status,
    store_cycle,
)
from models.plan import PlanError, add_submitter, cycle_agencies
from models.registry import import_registry, load_registry, shipped_registry
from models.store import save_directive, set_status
from models.tables import (
    CycleState,
    Notification,
    Obligation,
    ReportCycle,
    Submission,
    SubmissionState,
)
from models.workdays import packaged_calendar
from notifications.notices import queue_steps
from tests.conftest import EXAMPLES

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "quang-ngai"
CAL = packaged_calendar()


def _at(y: int, m: int, d: int, h: int = 8, mi: int = 5) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=VN)


@pytest.fixture
def annual(session: Session) -> Obligation:
    """6966's annual report to UBND tỉnh through Sở Xây dựng, approved."""
    from directives.parse import parse_file

    import_registry(session, load_registry(shipped_registry()))
    save_directive(
        session,
        parse_file(EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"),
        actor="t",
        issuer_province=PROVINCE,
    )
    chosen = approve_seeds(session, province=PROVINCE)
    session.commit()
    ob = session.get(Obligation, chosen["6966-annual"])
    assert ob is not None
    return ob


def _count(session: Session, model: type, *where: object) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def test_open_cycle_creates_submissions_and_opening_notices_once(
    session: Session, annual: Obligation
) -> None:
    opened = store_cycle(session, annual, now=_at(2026, 11, 20), province=PROVINCE, calendar=CAL)
    cycle = opened.cycle
    assert (opened.created, cycle.period_key, cycle.state) == (True, "2026", CycleState.open)
    # Agencies' deadline 21/12/2026 (20/12 is a Sunday); the lead's three working days later.
    assert cycle.due_at.astimezone(VN).date() == dt.date(2026, 12, 21)
    assert cycle.lead_due_at is not None
    assert cycle.lead_due_at.astimezone(VN).date() == dt.date(2026, 12, 24)
    # 112 departments and communes, less Sở Xây dựng (the lead, which consolidates) and
    # Văn phòng UBND tỉnh (the recipient's office): neither reports to itself.
    assert opened.new_submissions == 110
    assert [(s.stage, s.audience, len(s.agency_ids)) for s in opened.steps] == [
        ("opened", Audience.AGENCY, 110)
    ]
    queued = queue_steps(session, opened.steps, now=_at(2026, 11, 20), calendar=CAL)
    session.commit()
    assert queued.rows[("opened", "email")] == 110

    again = store_cycle(session, annual, now=_at(2026, 11, 21), province=PROVINCE, calendar=CAL)
    requeued = queue_steps(session, again.steps, now=_at(2026, 11, 21), calendar=CAL)
    session.commit()
    assert (again.created, again.new_submissions, again.steps, requeued.total) == (
        False,
        0,
        [],
        0,
    )
    assert _count(session, ReportCycle) == 1
    assert _count(session, Submission) == 110
    assert _count(session, Notification, Notification.stage == "opened") == queued.total
    lead_id, office = annual.lead_agency_id, "qng-vp-ubnd-tinh"
    submitters = set(session.exec(select(Submission.agency_id)))
    assert lead_id not in submitters
    assert all(a.code != office for a in session.exec(select(Agency)) if a.id in submitters)


def test_an_administrator_adds_the_lead_back_to_the_submitters(
    session: Session, annual: Obligation
) -> None:
    lead = session.get(Agency, annual.lead_agency_id)
    assert lead is not None
    left = cycle_agencies(session, annual, on=dt.date(2026, 11, 20), province=PROVINCE)
    assert lead in left.left_out and lead not in left.agencies
    add_submitter(session, annual, lead, actor="admin")
    add_submitter(session, annual, lead, actor="admin")  # idempotent
    back = cycle_agencies(session, annual, on=dt.date(2026, 11, 20), province=PROVINCE)
    assert lead in back.agencies and lead not in back.left_out
    assert len(back.agencies) == 111


def test_open_cycle_refuses_an_unapproved_obligation(session: Session, annual: Obligation) -> None:
    set_status(session, annual.id or 0, status="rejected", actor="t")
    with pytest.raises(PlanError, match="duyệt nghĩa vụ trước"):
        store_cycle(session, annual, now=_at(2026, 11, 20), province=PROVINCE)


def test_open_cycle_before_its_opening_time_queues_for_that_time(
    session: Session, annual: Obligation
) -> None:
    early = _at(2026, 1, 2)  # the RRule fires on a nominal day; the cycle opens later
    opened = store_cycle(session, annual, now=early, province=PROVINCE, period_key="2026")
    stages = cycle_stages(annual, opened.cycle, CAL)
    assert opened.steps[0].at == stages[0].at > early


def test_the_ladder_walks_once_and_catches_up_with_the_latest_stage(
    session: Session, annual: Obligation
) -> None:
    opened = store_cycle(session, annual, now=_at(2026, 11, 20), province=PROVINCE, calendar=CAL)
    session.commit()
    stages = {s.name: s.at for s in cycle_stages(annual, opened.cycle, CAL)}
    assert list(stages) == [
        "opened",
        "reminder-7",
        "reminder-3",
        "reminder-1",
        "due-day",
        "lead-reminder-3",
        "overdue",
        "escalation-lead",
        "lead-reminder-1",
        "lead-due-day",
        "escalation-recipient",
    ]
    assert stages["reminder-7"].astimezone(VN) == dt.datetime(2026, 12, 10, 8, 0, tzinfo=VN)
    # The lead hears of the late agencies on Tuesday 22/12, the day after their deadline,
    # and is reminded of its own (Thursday 24/12) on 21/12, 23/12 and the day itself.
    assert stages["escalation-lead"].astimezone(VN).date() == dt.date(2026, 12, 22)
    assert stages["lead-due-day"].astimezone(VN).date() == dt.date(2026, 12, 24)

    assert advance(session, now=stages["reminder-7"] - dt.timedelta(minutes=1)).steps == []
    step = advance(session, now=stages["reminder-7"], calendar=CAL).steps
    assert [(s.stage, len(s.agency_ids)) for s in step] == [("reminder-7", 110)]
    assert advance(session, now=stages["reminder-7"], calendar=CAL).steps == []  # done

    # One agency hands in: it leaves the ladder.
    first = session.exec(select(Submission).order_by(col(Submission.id))).first()
    assert first is not None
    mark_submitted(session, first, at=stages["reminder-7"], cycle=opened.cycle)
    session.commit()

    # The sweep did not run for a week: one message per agency, the latest stage only.
    after_due = stages["due-day"] + dt.timedelta(hours=1)
    caught = advance(session, now=after_due, calendar=CAL)
    assert [(s.stage, len(s.agency_ids)) for s in caught.steps] == [
        ("due-day", 109),
        ("lead-reminder-3", 0),  # the lead's own deadline, whoever has handed in
    ]
    assert first.agency_id not in caught.steps[0].agency_ids
    assert caught.overdue_cycles == []
    queue_steps(session, caught.steps, now=after_due, calendar=CAL)
    session.commit()
    reminded = session.exec(
        select(Notification).where(Notification.stage == "lead-reminder-3")
    ).all()
    assert {r.agency_id for r in reminded} == {annual.lead_agency_id}
    assert "[Nhắc hạn tổng hợp]" in reminded[0].payload["subject"]
    assert "24/12/2026" in reminded[0].payload["subject"]
    # On the agencies' deadline day nobody is late yet, but 109 have not handed in.
    assert "109 cơ quan chưa nộp" in reminded[0].payload["text"]
    assert "đã gửi đủ" not in reminded[0].payload["text"]
    assert advance(session, now=after_due, calendar=CAL).steps == []  # queued once

    overdue = advance(session, now=stages["overdue"], calendar=CAL)
    assert overdue.overdue_cycles == [opened.cycle.id]
    assert [s.stage for s in overdue.steps] == ["escalation-lead", "overdue"]
    queue_steps(session, overdue.steps, now=stages["overdue"], calendar=CAL)
    session.commit()
    states = session.exec(select(Submission.state)).all()
    assert sorted(set(states)) == [SubmissionState.late, SubmissionState.submitted]
    # One escalation to Sở Xây dựng, the working day after the agencies' deadline.
    lead_rows = session.exec(
        select(Notification).where(Notification.stage == "escalation-lead")
    ).all()
    assert {r.agency_id for r in lead_rows} == {annual.lead_agency_id}
    assert "109 cơ quan chưa nộp" in lead_rows[0].payload["subject"]

    esc = advance(session, now=stages["escalation-recipient"], calendar=CAL)
    assert [(s.stage, s.audience) for s in esc.steps] == [
        ("escalation-recipient", Audience.RECIPIENT),
    ]
    queued = queue_steps(session, esc.steps, now=stages["escalation-recipient"], calendar=CAL)
    session.commit()
    assert queued.rows[("escalation-recipient", "email")] == 1
    assert all(s.next_action_at is None for s in session.exec(select(Submission)))


def test_status_counts_working_days_late(session: Session, annual: Obligation) -> None:
    opened = store_cycle(session, annual, now=_at(2026, 11, 20), province=PROVINCE, calendar=CAL)
    subs = session.exec(select(Submission).order_by(col(Submission.id))).all()
    cycle = opened.cycle
    mark_submitted(session, subs[0], at=_at(2026, 12, 18), cycle=cycle)  # on time
    mark_submitted(session, subs[1], at=_at(2026, 12, 23), cycle=cycle)  # Tue → 2 days late
    session.commit()
    rows = {r.agency_id: r for r in status(session, cycle, now=_at(2026, 12, 28), calendar=CAL)}
    assert rows[subs[0].agency_id].days_late == 0
    assert rows[subs[1].agency_id].days_late == 2
    # Still missing on Monday 28/12: 21/12 → 22, 23, 24, 25, 28 = 5 working days.
    assert rows[subs[2].agency_id].days_late == 5
    assert rows[subs[2].agency_id].submitted_at is None


def test_close_once_after_the_last_stage(session: Session, annual: Obligation) -> None:
    opened = store_cycle(session, annual, now=_at(2026, 11, 20), province=PROVINCE, calendar=CAL)
    session.commit()
    closes = opened.cycle.closes_at
    assert closes is not None
    assert closable(session, now=closes) == []
    ready = closable(session, now=closes + dt.timedelta(days=1))
    assert [c.id for c in ready] == [opened.cycle.id]
    assert close(session, ready[0], now=closes + dt.timedelta(days=1), actor="t") is True
    assert close(session, ready[0], now=closes + dt.timedelta(days=1), actor="t") is False
    session.commit()
    assert ready[0].state == CycleState.closed
    assert advance(session, now=closes + dt.timedelta(days=30)).examined == 0


def test_two_sweeps_at_once_decide_each_step_once(engine: Engine, annual: Obligation) -> None:
    with Session(engine) as s:
        ob = s.get(Obligation, annual.id)
        assert ob is not None
        opened = store_cycle(s, ob, now=_at(2026, 11, 20), province=PROVINCE, calendar=CAL)
        stages = {st.name: st.at for st in cycle_stages(ob, opened.cycle, CAL)}
        s.commit()
    now = stages["reminder-7"]
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with Session(engine) as s:
                barrier.wait()
                moved = advance(s, now=now, calendar=CAL)
                queue_steps(s, moved.steps, now=now, calendar=CAL)
                s.commit()
                results.append(sum(len(st.agency_ids) for st in moved.steps))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    # Every agency's reminder decided by exactly one of the two sweeps.
    assert sum(results) == 110
    with Session(engine) as s:
        rows = _count(s, Notification, Notification.stage == "reminder-7")
        emails = _count(
            s, Notification, Notification.stage == "reminder-7", Notification.channel == "email"
        )
    assert emails == 110 and rows >= emails


def test_nothing_goes_to_a_ministry(session: Session, annual: Obligation) -> None:
    """1503/UBND-KTTH reports to Bộ Tài chính: an administrator may schedule it, but no
    escalation nor closing status ever goes to the ministry."""
    from directives.parse import parse_file
    from notifications.notices import cycle_facts, queue_consolidated
    from tests.models.test_compliance import schedule_1503

    save_directive(
        session,
        parse_file(EXAMPLES / "seed-1503-ubnd-ktth-kon-tum-2022.txt"),
        actor="t",
        issuer_province="kon-tum",
    )
    ob = schedule_1503(session)  # as an administrator would: annual, by 15/12
    opened = store_cycle(session, ob, now=_at(2026, 11, 20), province=PROVINCE, period_key="2026")
    queue_steps(session, opened.steps, now=_at(2026, 11, 20), calendar=CAL)
    session.commit()
    stages = {s.name: s.at for s in cycle_stages(ob, opened.cycle, CAL)}
    steps = advance(session, now=stages["escalation-recipient"], calendar=CAL).steps
    assert "escalation-recipient" in [s.stage for s in steps]
    queued = queue_steps(session, steps, now=stages["escalation-recipient"], calendar=CAL)
    facts = cycle_facts(session, opened.cycle.id or 0)
    assert facts.recipient is not None and facts.recipient.name == "Bộ Tài chính"
    closing, _ = queue_consolidated(
        session, facts, now=stages["escalation-recipient"], calendar=CAL
    )
    session.commit()
    assert any("escalation-recipient not sent" in m and "outside" in m for m in queued.skipped)
    assert closing.total == 0 and "outside the province" in closing.skipped[0]
    ministry = _count(session, Notification, Notification.agency_id == facts.recipient.id)
    assert ministry == 0
    # The opening notice cites the former issuer as it was.
    text = session.exec(
        select(Notification).where(
            Notification.cycle_id == opened.cycle.id, Notification.stage == "opened"
        )
    ).first()
    assert text is not None
    assert "của UBND tỉnh Kon Tum (trước sắp xếp)" in text.payload["text"]


def test_the_sender_and_contact_officer_are_configurable(
    session: Session, annual: Obligation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notifications.notices import cycle_facts

    opened = store_cycle(session, annual, now=_at(2026, 11, 20), province=PROVINCE, calendar=CAL)
    facts = cycle_facts(session, opened.cycle.id or 0)
    # Out of the box: Văn phòng UBND tỉnh signs, its registry contact is the one to call.
    assert facts.sender == "Văn phòng Ủy ban nhân dân tỉnh Quảng Ngãi"
    assert facts.contact is not None and facts.contact.email == "vp-ubnd-tinh@example.invalid"
    assert facts.deadline.is_default and facts.deadline.words is None
    monkeypatch.setenv("HANBAOCAO_SENDER", "lead")
    monkeypatch.setenv("HANBAOCAO_CONTACT_NAME", "Trần Thị B")
    monkeypatch.setenv("HANBAOCAO_CONTACT_PHONE", "0255 3000 111")
    chased = cycle_facts(session, opened.cycle.id or 0)
    assert chased.sender == "Sở Xây dựng tỉnh Quảng Ngãi"
    assert chased.contact is not None and chased.contact.name == "Trần Thị B"
    assert chased.contact.phone == "0255 3000 111"


def test_a_partial_group_says_so_to_the_administrator(session: Session, annual: Obligation) -> None:
    from models.tables import ObligationParty

    groups = session.exec(
        select(ObligationParty).where(
            ObligationParty.obligation_id == annual.id,
            ObligationParty.group_key == "departments",
        )
    ).all()
    assert groups and all("chưa đầy đủ" in (p.note or "") for p in groups)


def test_advance_over_its_cap_takes_the_oldest_and_leaves_the_rest_due(
    session: Session, annual: Obligation
) -> None:
    """``advance``'s row cap (50,000 in the sweep; 40 here, the same code): the oldest due
    rows move now, the others keep their stage and due time and the next sweep moves them
    — none lost, none twice."""
    opened = store_cycle(session, annual, now=_at(2026, 11, 20), province=PROVINCE, calendar=CAL)
    session.commit()
    stages = {s.name: s.at for s in cycle_stages(annual, opened.cycle, CAL)}
    now = stages["reminder-7"]
    first = advance(session, now=now, limit=40, calendar=CAL)
    session.commit()
    assert first.examined == 40
    assert [(s.stage, len(s.agency_ids)) for s in first.steps] == [("reminder-7", 40)]
    still_due = _count(session, Submission, col(Submission.next_action_at) <= now)
    assert still_due == 110 - 40
    second = advance(session, now=now + dt.timedelta(minutes=5), limit=40, calendar=CAL)
    third = advance(session, now=now + dt.timedelta(minutes=10), limit=40, calendar=CAL)
    session.commit()
    moved = [a for r in (first, second, third) for s in r.steps for a in s.agency_ids]
    assert len(moved) == len(set(moved)) == 110
    assert advance(session, now=now + dt.timedelta(minutes=15), calendar=CAL).steps == []
