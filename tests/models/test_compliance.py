"""The compliance matrix on stored rows (SQLite and PostgreSQL): the seeds' four annual
cycles (6966/UBND-KTN and 1503/UBND-KTTH, 2025 and 2026) with 110 agencies, each cell's
state and the on-time rates exact, the filters, and the query count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from flows.demo import approve_seeds
from models.agency import Agency
from models.compliance import (
    Cell,
    MatrixFilter,
    Tally,
    cell_state,
    check_period,
    compliance_matrix,
    filter_choices,
)
from models.cycles import mark_submitted, store_cycle
from models.registry import import_registry, load_registry, shipped_registry
from models.store import save_directive
from models.tables import CycleState, Obligation, ReportCycle, Submission, SubmissionState
from models.workdays import packaged_calendar
from tests.conftest import EXAMPLES

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = packaged_calendar()
NOW = dt.datetime(2026, 12, 18, 12, 0, tzinfo=VN)  # 1503's 2026 deadline passed, 6966's not


def at(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=VN)


@dataclass(frozen=True, slots=True)
class Scenario:
    """Cycle ids (``c`` = 6966 annual, ``b`` = 1503), obligation and directive ids, and
    the agencies whose cells are set by hand (every other one never submitted)."""

    c25: int
    c26: int
    b25: int
    b26: int
    ob_6966: int
    ob_1503: int
    directive_6966: int
    directive_1503: int
    lead: int  # Sở Xây dựng
    a: int  # on time in both 6966 cycles
    b: int  # 2 working days late in 2025
    c: int  # excused in 2025
    d: int  # marked late by a sweep, never submitted
    e: int  # 30 minutes after a 24:00 deadline: late, by zero working days
    x: int  # 1503's only submitter: on time in 2025, nothing in 2026
    agencies: int  # how many agencies must report in the 6966 cycles


def schedule_1503(session: Session) -> Obligation:
    """1503/UBND-KTTH states no schedule: the demo leaves it proposed; here an
    administrator gives it one (annual, by 15/12) and approves it."""
    from directives.parsed import Deadline
    from models.plan import resolve_parties, set_schedule
    from models.store import set_status
    from models.tables import Directive

    (ob,) = session.exec(
        select(Obligation)
        .join(Directive, col(Directive.id) == Obligation.directive_id)
        .where(Directive.number == "1503/UBND-KTTH")
    ).all()
    set_schedule(
        session,
        ob,
        frequency="annual",
        deadline=Deadline(kind="day_of_period", day=15, month=12),
        actor="admin",
    )
    resolve_parties(session, ob, on=dt.date(2026, 1, 10), province="quang-ngai")
    set_status(session, ob.id or 0, status="approved", actor="admin")
    return ob


def build_scenario(session: Session) -> Scenario:
    """The registry and both seeds, approved as the demo does, four cycles opened and a
    few reports handed in (``mark_submitted``, as the portal does)."""
    from directives.parse import parse_file

    import_registry(session, load_registry(shipped_registry()))
    for name, province in (
        ("seed-6966-ubnd-ktn-quang-ngai-2024.txt", "quang-ngai"),
        ("seed-1503-ubnd-ktth-kon-tum-2022.txt", "kon-tum"),
    ):
        save_directive(session, parse_file(EXAMPLES / name), actor="t", issuer_province=province)
    chosen = approve_seeds(session, province="quang-ngai")
    ob_6966 = session.get(Obligation, chosen["6966-annual"])
    ob_1503 = schedule_1503(session)
    assert ob_6966 is not None and ob_1503 is not None and ob_6966.lead_agency_id is not None
    cycles = {}
    for key, ob in (("c", ob_6966), ("b", ob_1503)):
        for year in (2025, 2026):
            opened = store_cycle(
                session,
                ob,
                now=at(year, 11, 20),
                province="quang-ngai",
                period_key=str(year),
                calendar=CAL,
            )
            cycles[f"{key}{year % 100}"] = opened.cycle
    session.commit()

    def agencies_of(cycle: ReportCycle) -> list[int]:
        stmt = select(Submission.agency_id).where(Submission.cycle_id == cycle.id)
        return sorted(session.exec(stmt))

    (x,) = agencies_of(cycles["b25"])
    in_6966 = agencies_of(cycles["c25"])
    a, b, c, d, e = [i for i in in_6966 if i != x][:5]

    def sub(cycle: str, agency: int) -> Submission:
        row = session.exec(
            select(Submission).where(
                Submission.cycle_id == cycles[cycle].id, Submission.agency_id == agency
            )
        ).one()
        return row

    def hand_in(cycle: str, agency: int, moment: dt.datetime) -> None:
        mark_submitted(session, sub(cycle, agency), at=moment, cycle=cycles[cycle])

    hand_in("c25", a, at(2025, 12, 19))
    hand_in("c25", b, at(2025, 12, 24, 10))  # deadline Fri 19/12/2025 24:00: 3 days late
    hand_in("c25", e, at(2025, 12, 20, 0, 30))  # half an hour past it: late by 0 days
    hand_in("c26", a, at(2026, 12, 10))
    hand_in("b25", x, at(2025, 12, 15, 16))
    for cycle, agency, state in (("c25", c, SubmissionState.excused), ("c25", d, "late")):
        row = sub(cycle, agency)
        row.state = SubmissionState(state)
        session.add(row)
    session.commit()
    return Scenario(
        c25=_id(cycles["c25"]),
        c26=_id(cycles["c26"]),
        b25=_id(cycles["b25"]),
        b26=_id(cycles["b26"]),
        ob_6966=ob_6966.id or 0,
        ob_1503=ob_1503.id or 0,
        directive_6966=ob_6966.directive_id,
        directive_1503=ob_1503.directive_id,
        lead=ob_6966.lead_agency_id,
        a=a,
        b=b,
        c=c,
        d=d,
        e=e,
        x=x,
        agencies=len(in_6966),
    )


def _id(cycle: ReportCycle) -> int:
    assert cycle.id is not None
    return cycle.id


@pytest.fixture
def scenario(session: Session) -> Scenario:
    return build_scenario(session)


# == cells ====================================================================================

DUE = at(2026, 12, 21, 17)


@pytest.mark.parametrize(
    ("state", "submitted_at", "now", "expected"),
    [
        ("submitted", DUE - dt.timedelta(days=3), DUE - dt.timedelta(days=5), Cell.on_time),
        ("submitted", DUE, DUE + dt.timedelta(days=1), Cell.on_time),  # at the minute: on time
        ("submitted", DUE + dt.timedelta(minutes=1), DUE, Cell.late),
        ("pending", None, DUE - dt.timedelta(seconds=1), Cell.not_yet_due),
        ("pending", None, DUE, Cell.missing),  # the sweep has not run: still missing
        ("late", None, DUE + dt.timedelta(days=9), Cell.missing),
        ("excused", None, DUE + dt.timedelta(days=9), Cell.excused),
        ("excused", None, DUE - dt.timedelta(days=9), Cell.excused),
    ],
)
def test_cell_state(
    state: str, submitted_at: dt.datetime | None, now: dt.datetime, expected: Cell
) -> None:
    assert cell_state(state, submitted_at, DUE, now) is expected


def test_a_rate_counts_only_decided_cells() -> None:
    tally = Tally.of([Cell.on_time, Cell.late, Cell.missing, Cell.missing, Cell.not_yet_due])
    assert (tally.decided, tally.rate, tally.percent) == (4, 0.25, 25.0)
    assert Tally.of([Cell.not_yet_due, Cell.excused]).rate is None
    assert Tally.of([]).percent is None


def test_period_filters_are_checked() -> None:
    assert check_period("2026") == "2026"
    assert check_period("2026-Q3") == "2026-Q3"
    for bad in ("2026%", "26", "2026-Q5", "2026-Q3' OR 1=1", "2026-"):
        with pytest.raises(ValueError):
            MatrixFilter(period=bad)


# == the matrix ================================================================================


def test_every_cell_and_rate_of_the_seeds(session: Session, scenario: Scenario) -> None:
    s = scenario
    m = compliance_matrix(session, now=NOW, calendar=CAL)
    # Columns in deadline order; rows: every agency of any cycle, once.
    assert [c.cycle_id for c in m.columns] == [s.b25, s.c25, s.b26, s.c26]
    assert [c.run_name for c in m.columns] == [
        "1503/UBND-KTTH · Năm 2025",
        "6966/UBND-KTN · Năm 2025",
        "1503/UBND-KTTH · Năm 2026",
        "6966/UBND-KTN · Năm 2026",
    ]
    lead = session.get(Agency, s.lead)
    assert lead is not None and "Xây dựng" in lead.name
    assert [c.lead for c in m.columns] == [None, lead.name, None, lead.name]
    # 112 less the lead (Sở Xây dựng) and the recipient's office: 110, and 1503's submitter
    # (Sở Tài chính) is among them.
    assert s.agencies == 110
    assert len(m.rows) == 110 and len({r.agency_id for r in m.rows}) == 110

    def cells(agency: int) -> list[tuple[Cell, int] | None]:
        out = []
        for cycle in (s.b25, s.c25, s.b26, s.c26):
            entry = m.entry(agency, cycle)
            out.append((entry.cell, entry.days_late) if entry else None)
        return out

    overdue_2025 = CAL.working_days_between(dt.date(2025, 12, 19), dt.date(2026, 12, 18))
    assert overdue_2025 > 200
    assert cells(s.a) == [None, (Cell.on_time, 0), None, (Cell.on_time, 0)]
    assert cells(s.b) == [None, (Cell.late, 3), None, (Cell.not_yet_due, 0)]
    assert cells(s.c) == [None, (Cell.excused, 0), None, (Cell.not_yet_due, 0)]
    assert cells(s.d) == [None, (Cell.missing, overdue_2025), None, (Cell.not_yet_due, 0)]
    assert cells(s.e) == [None, (Cell.late, 0), None, (Cell.not_yet_due, 0)]
    # 1503's 2026 deadline (Tue 15/12/2026 24:00) passed three working days ago.
    assert cells(s.x) == [
        (Cell.on_time, 0),
        (Cell.missing, overdue_2025),
        (Cell.missing, 3),
        (Cell.not_yet_due, 0),
    ]
    a_entry = m.entry(s.a, s.c25)
    assert a_entry is not None and a_entry.submitted_at == at(2025, 12, 19)

    rates = {r.agency_id: r.tally.rate for r in m.rows}
    assert rates[s.a] == 1.0
    assert rates[s.b] == 0.0
    assert rates[s.c] is None  # excused, then not yet due: nothing to rate
    assert rates[s.e] == 0.0
    assert rates[s.x] == pytest.approx(1 / 3)

    assert m.column_tally(s.c25) == Tally(on_time=1, late=2, missing=106, excused=1)
    assert m.column_tally(s.c26) == Tally(on_time=1, not_yet_due=109)
    assert m.column_tally(s.b25) == Tally(on_time=1)
    assert m.column_tally(s.b26) == Tally(missing=1)

    by_ob = {o.obligation_id: o for o in m.by_obligation}
    assert list(by_ob) == [s.ob_1503, s.ob_6966]  # in the order their first cycle appears
    assert by_ob[s.ob_6966].tally == Tally(
        on_time=2, late=2, missing=106, not_yet_due=109, excused=1
    )
    assert by_ob[s.ob_6966].tally.rate == pytest.approx(2 / 110)
    assert (by_ob[s.ob_6966].cycles, by_ob[s.ob_6966].lead) == (2, lead.name)
    assert by_ob[s.ob_1503].tally == Tally(on_time=1, missing=1)
    assert by_ob[s.ob_1503].tally.rate == 0.5
    assert m.tally == Tally(on_time=3, late=2, missing=107, not_yet_due=109, excused=1)


def test_rows_are_grouped_by_kind_then_named_in_order(session: Session, scenario: Scenario) -> None:
    m = compliance_matrix(session, now=NOW, calendar=CAL)
    kinds = [r.kind for r in m.rows]
    assert kinds.index("department") < kinds.index("commune_committee")
    order = ["committee_office", "department", "board", "other", "district_committee"]
    order.append("commune_committee")
    assert kinds == sorted(kinds, key=order.index)
    assert "Công an tỉnh Quảng Ngãi" in [r.agency for r in m.rows if r.kind == "other"]
    communes = [r.agency for r in m.rows if r.kind == "commune_committee"]
    assert communes[0].startswith("Ủy ban nhân dân") or communes[0].startswith("UBND")
    departments = [r.agency for r in m.rows if r.kind == "department"]
    assert departments[0].startswith("Sở") and departments[-1].startswith("Thanh tra")


def test_time_moves_cells_from_not_yet_due_to_missing(session: Session, scenario: Scenario) -> None:
    s = scenario
    # Due Monday 21/12/2026 at 24:00: still not due at 17:00, missing the next morning.
    still = compliance_matrix(session, now=at(2026, 12, 21, 17, 0), calendar=CAL)
    assert still.column_tally(s.c26) == Tally(on_time=1, not_yet_due=109)
    after = compliance_matrix(session, now=at(2026, 12, 22, 0, 1), calendar=CAL)
    assert after.column_tally(s.c26) == Tally(on_time=1, missing=109)
    before = compliance_matrix(session, now=at(2025, 12, 1), calendar=CAL)
    assert before.column_tally(s.c25) == Tally(on_time=1, late=2, not_yet_due=106, excused=1)


def test_filters_narrow_columns_and_rows(session: Session, scenario: Scenario) -> None:
    s = scenario

    def view(**kw: object) -> tuple[list[int], int]:
        m = compliance_matrix(session, now=NOW, filters=MatrixFilter(**kw), calendar=CAL)  # type: ignore[arg-type]
        return [c.cycle_id for c in m.columns], len(m.rows)

    assert view(directive_id=s.directive_1503) == ([s.b25, s.b26], 1)
    assert view(directive_id=s.directive_6966) == ([s.c25, s.c26], 110)
    assert view(lead_agency_id=s.lead) == ([s.c25, s.c26], 110)
    assert view(lead_agency_id=s.x) == ([], 0)
    assert view(period="2026") == ([s.b26, s.c26], 110)
    assert view(period="2025", directive_id=s.directive_1503) == ([s.b25], 1)
    assert view(period="2026-Q3") == ([], 0)  # no quarterly report among the seeds

    only = compliance_matrix(
        session, now=NOW, filters=MatrixFilter(directive_id=s.directive_1503), calendar=CAL
    )
    assert [(r.agency_id, r.tally.rate) for r in only.rows] == [(s.x, 0.5)]


def test_scheduled_cycles_are_left_out(session: Session, scenario: Scenario) -> None:
    c26 = session.get(ReportCycle, scenario.c26)
    assert c26 is not None
    session.add(
        ReportCycle(
            obligation_id=scenario.ob_6966,
            period_key="2027",
            window_start=dt.date(2026, 12, 15),
            window_end=dt.date(2027, 12, 14),
            opens_at=c26.opens_at + dt.timedelta(days=365),
            due_at=c26.due_at + dt.timedelta(days=365),
            state=CycleState.scheduled,
        )
    )
    session.commit()
    m = compliance_matrix(session, now=NOW, calendar=CAL)
    assert "2027" not in {c.period_key for c in m.columns}
    assert "2027" not in {c.value for c in filter_choices(session).periods}


def test_filter_choices(session: Session, scenario: Scenario) -> None:
    s = scenario
    choices = filter_choices(session)
    assert [(c.value, c.label) for c in choices.directives] == [
        (str(s.directive_1503), "1503/UBND-KTTH"),
        (str(s.directive_6966), "6966/UBND-KTN"),
    ]
    assert [c.value for c in choices.leads] == [str(s.lead)]
    assert [c.value for c in choices.periods] == ["2026", "2025"]


def test_the_matrix_costs_three_queries_whatever_its_size(
    engine: Engine, session: Session, scenario: Scenario
) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        m = compliance_matrix(session, now=NOW, calendar=CAL)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert sum(len(r.entries) for r in m.rows) == 110 * 2 + 2
    assert len(statements) == 3, statements


def test_an_empty_database_gives_an_empty_matrix(session: Session) -> None:
    m = compliance_matrix(session, now=NOW)
    assert (m.columns, m.rows, m.tally.rate) == ([], [], None)
    assert filter_choices(session).directives == []
    assert session.exec(select(Submission).where(col(Submission.id) > 0)).first() is None


def test_a_directive_without_a_number(session: Session, scenario: Scenario) -> None:
    """Headers fall back to the file name; the run name to what flows.cycles calls it."""
    from models.tables import Directive

    directive = session.get(Directive, scenario.directive_1503)
    assert directive is not None
    directive.number = None
    session.add(directive)
    session.commit()
    m = compliance_matrix(
        session, now=NOW, filters=MatrixFilter(directive_id=scenario.directive_1503)
    )
    first = m.columns[0]
    assert first.title == directive.source_name
    assert first.run_name == f"nghĩa vụ #{scenario.ob_1503} · Năm 2025"
