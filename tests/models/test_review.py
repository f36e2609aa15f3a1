"""The review gate on the data (SQLite and PostgreSQL): one-off obligations end to end,
approval while a period runs, the late choice, submitter edits with their audit rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from directives.parse import parse_file
from models import edits
from models.calendar import period_label
from models.deadline_rule import parse_deadline
from models.review import (
    Review,
    ReviewError,
    approve,
    audit_text,
    parties,
    schedule_problem,
)
from models.store import save_directive
from models.tables import (
    AuditEvent,
    CycleState,
    Notification,
    Obligation,
    ReportCycle,
    Submission,
)
from tests.conftest import EXAMPLES

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ONE_OFF = (
    Path(__file__).parents[1] / "data" / "directives" / "oneoff-2411-ubnd-kt-quang-ngai-2026.txt"
)
# 7/12/2026: inside the annual period 2026, whose cycle opened 19/11 (default deadline
# 21/12 for the agencies, 24/12 for Sở Xây dựng); the one-off is due 19/12 (a Saturday).
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=VN)


@pytest.fixture
def seeded(session: Session) -> Session:
    from models.registry import import_registry, load_registry, shipped_registry

    import_registry(session, load_registry(shipped_registry()))
    return session


def _store(session: Session, path: Path) -> list[Obligation]:
    saved = save_directive(session, parse_file(path), actor="ingest", issuer_province="quang-ngai")
    return list(saved.obligations)


def _review(session: Session, now: dt.datetime = NOW) -> Review:
    return Review(session, now, "quang-ngai", "Nguyễn Văn A")


def _annual(session: Session) -> Obligation:
    found = _store(session, EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt")
    return next(ob for ob in found if ob.via_phrase == "Sở Xây dựng")


def _cycles(session: Session, ob: Obligation) -> list[ReportCycle]:
    return list(session.exec(select(ReportCycle).where(ReportCycle.obligation_id == ob.id)))


def _local(moment: dt.datetime | None) -> str:
    from models.calendar import local_text

    assert moment is not None
    return local_text(moment)  # a day's end reads 24:00


def test_one_off_gives_exactly_one_cycle_opened_now(seeded: Session) -> None:
    (ob,) = _store(seeded, ONE_OFF)
    assert ob.frequency == "once"
    result = approve(_review(seeded), ob)
    assert result.started.plan is not None and not result.started.late
    assert result.next_plan is None  # nothing recurs
    (cycle,) = _cycles(seeded, ob)
    # 19/12/2026 is a Saturday: the lead's deadline rolls to Monday 21/12, at the
    # clause's 15:00; the departments report three working days earlier.
    assert cycle.period_key == "2026-12-21"
    assert period_label(cycle.period_key) == "Một lần (hạn 21/12/2026)"
    assert _local(cycle.lead_due_at) == "21/12/2026 15:00"
    assert _local(cycle.due_at) == "16/12/2026 15:00"
    assert _local(cycle.opens_at) == "07/12/2026 09:00"
    assert cycle.state == CycleState.open
    # Approving again, or a second look, never makes a second cycle.
    assert approve(_review(seeded), ob).already
    assert len(_cycles(seeded, ob)) == 1


def test_one_off_ladder_fits_the_time_left(seeded: Session) -> None:
    (ob,) = _store(seeded, ONE_OFF)
    # Monday 14/12; the departments' deadline is Wednesday 16/12.
    late_start = dt.datetime(2026, 12, 14, 10, 0, tzinfo=VN)
    approve(_review(seeded, late_start), ob)
    (cycle,) = _cycles(seeded, ob)
    from models.cycles import cycle_stages

    names = [s.name for s in cycle_stages(ob, cycle)]
    # The opening notice now; reminder-7 and reminder-3 fell before it, so they are
    # skipped; reminder-1 (Tuesday) and the deadline day still lie ahead.
    assert names[:3] == ["opened", "reminder-1", "due-day"]
    assert "reminder-7" not in names and "reminder-3" not in names
    rows = list(seeded.exec(select(Submission).where(Submission.cycle_id == cycle.id)))
    assert rows and all(r.next_action_stage != "opened" for r in rows)  # notice decided
    queued = seeded.exec(select(Notification).where(Notification.cycle_id == cycle.id)).all()
    assert {n.stage for n in queued} == {"opened"}
    assert len(queued) >= len(rows)


def test_undated_one_off_asks_for_a_date(seeded: Session) -> None:
    (ob,) = _store(seeded, ONE_OFF)
    ob.deadline = {"kind": "none"}
    rv = _review(seeded)
    problem = schedule_problem(rv, ob)
    assert problem is not None and problem.code == "once_undated"
    assert problem.field == "deadline" and "ngày cụ thể" in problem.message
    with pytest.raises(ReviewError) as refused:
        approve(rv, ob)
    assert [p.code for p in refused.value.problems] == ["once_undated"]
    assert _cycles(seeded, ob) == []


def test_approval_while_the_period_runs_opens_its_cycle(seeded: Session) -> None:
    ob = _annual(seeded)
    result = approve(_review(seeded), ob, accept=True)
    started = result.started
    assert started.plan is not None and started.plan.period.key == "2026"
    (cycle,) = _cycles(seeded, ob)
    assert (cycle.period_key, cycle.state) == ("2026", CycleState.open)
    assert _local(cycle.opens_at) == "07/12/2026 09:00"  # now, not 19/11
    assert _local(cycle.due_at) == "21/12/2026 24:00"
    assert _local(cycle.lead_due_at) == "24/12/2026 24:00"
    assert started.queued > 100  # the opening notices of the 112 agencies' channels
    assert result.next_plan is not None and result.next_plan.period.key == "2027"


def test_passed_deadline_asks_then_does_what_it_says(seeded: Session) -> None:
    ob = _annual(seeded)
    seeded.commit()  # the refusal below is rolled back, as the CLI and the page do
    after = dt.datetime(2026, 12, 23, 9, 0, tzinfo=VN)  # agencies' deadline 21/12 passed
    with pytest.raises(ReviewError) as refused:
        approve(_review(seeded, after), ob, accept=True)
    (problem,) = refused.value.problems
    assert problem.code == "deadline_passed" and problem.choices == ("open", "next")
    assert "21/12/2026 24:00" in problem.message
    seeded.rollback()

    ob = seeded.get(Obligation, ob.id)
    assert ob is not None
    skipped = approve(_review(seeded, after), ob, accept=True, late="next")
    assert skipped.started.skipped is not None and skipped.started.plan is None
    assert _cycles(seeded, ob) == []  # what it said: nothing opened for 2026
    assert skipped.next_plan is not None and skipped.next_plan.period.key == "2027"


def test_late_open_opens_the_passed_period(seeded: Session) -> None:
    ob = _annual(seeded)
    after = dt.datetime(2026, 12, 23, 9, 0, tzinfo=VN)
    result = approve(_review(seeded, after), ob, accept=True, late="open")
    assert result.started.late and result.started.plan is not None
    (cycle,) = _cycles(seeded, ob)
    assert cycle.period_key == "2026" and _local(cycle.opens_at) == "23/12/2026 09:00"


def test_submitters_edited_with_old_and_new_in_the_audit(seeded: Session) -> None:
    ob = _annual(seeded)
    rv = _review(seeded)
    before = [p.group_key for p in parties(rv, ob) if str(p.role) == "submitter"]
    assert "departments" in before
    said = edits.edit_submitters(
        rv, ob, replace_with=[edits.pick(rv, "qng-so-tai-chinh"), edits.pick(rv, "departments")]
    )
    assert "Sở Tài chính tỉnh Quảng Ngãi" in said and "nhóm các sở, ban, ngành" in said
    # Removing one department from the group: the group becomes its other members.
    said = edits.edit_submitters(rv, ob, remove=[edits.pick(rv, "qng-so-xay-dung")])
    assert "được thay bằng" in said
    names = edits.submitter_labels(rv, parties(rv, ob))
    assert "Sở Xây dựng tỉnh Quảng Ngãi" not in names and "Sở Tài chính tỉnh Quảng Ngãi" in names
    with pytest.raises(ReviewError) as refused:
        edits.edit_submitters(rv, ob, remove=[edits.pick(rv, "qng-so-xay-dung")])
    assert refused.value.problems[0].code == "not_a_submitter"
    events = seeded.exec(
        select(AuditEvent)
        .where(AuditEvent.action == "obligation.set_submitters")
        .order_by(col(AuditEvent.id))
    ).all()
    assert len(events) == 2
    first = events[0].data
    assert "nhóm các sở, ban, ngành" in first["before"]
    assert first["after"] == ["Sở Tài chính tỉnh Quảng Ngãi", "nhóm các sở, ban, ngành"]
    said = audit_text(events[0].action, first)
    assert said.startswith("sửa cơ quan báo cáo: nhóm các sở, ban, ngành")
    assert said.endswith("→ Sở Tài chính tỉnh Quảng Ngãi; nhóm các sở, ban, ngành")


def test_unknown_code_offers_the_closest(seeded: Session) -> None:
    rv = _review(seeded)
    with pytest.raises(ReviewError) as refused:
        edits.pick(rv, "qng-so-tai-chnh")
    (problem,) = refused.value.problems
    assert problem.code == "unknown_agency" and "qng-so-tai-chinh" in problem.choices


def test_an_edit_opens_the_period_it_finds_running(seeded: Session) -> None:
    ob = _annual(seeded)
    january = dt.datetime(2026, 1, 10, 9, 0, tzinfo=VN)
    assert approve(_review(seeded, january), ob, accept=True).started.plan is None
    assert _cycles(seeded, ob) == []  # 2025's cycle is over; 2026's opens in November
    rv = _review(seeded)  # 7/12/2026: the 2026 cycle should be open, and is not stored
    edits.edit_schedule(rv, ob, None, parse_deadline("18/12"))
    started = edits.after_edit(rv, ob, None)
    assert started.plan is not None and started.plan.period.key == "2026"
    (cycle,) = _cycles(seeded, ob)
    assert _local(cycle.lead_due_at) == "18/12/2026 24:00"
    assert edits.after_edit(rv, ob, None).plan is None  # once is enough


def test_a_one_off_past_its_date_opens_only_when_told(seeded: Session) -> None:
    (ob,) = _store(seeded, ONE_OFF)
    seeded.commit()
    after = dt.datetime(2026, 12, 22, 9, 0, tzinfo=VN)
    with pytest.raises(ReviewError) as refused:
        approve(_review(seeded, after), ob)
    (problem,) = refused.value.problems
    assert problem.code == "deadline_passed" and problem.choices == ("open",)
    seeded.rollback()
    ob = seeded.get(Obligation, ob.id)
    assert ob is not None
    result = approve(_review(seeded, after), ob, late="open")
    assert result.started.late
    (cycle,) = _cycles(seeded, ob)
    assert cycle.state == CycleState.open and _local(cycle.opens_at) == "22/12/2026 09:00"
