"""The compliance matrix: agencies × report cycles, each cell on time, late, missing or
not yet due, with on-time rates per agency, per cycle and per obligation.

A cell is decided at a given ``now`` from the stored submission alone:

- ``on_time``: handed in no later than the cycle's deadline (``due_at``, to the minute);
- ``late``: handed in after it (a report at 17:30 on a 17:00 deadline is late, although
  it is zero *working days* late);
- ``missing``: not handed in and the deadline has passed — whether or not a sweep has
  marked the row ``late`` yet, so the matrix never waits for the sweep;
- ``not_yet_due``: not handed in, deadline still ahead;
- ``excused``: the agency was let off this cycle.

The on-time rate counts only decided cells: on time / (on time + late + missing). Cells
not yet due and excused ones are neither good nor bad, so they are left out; a rate with
nothing decided is ``None`` (shown as "—"), not 0 %.

Cost: three queries whatever the size (the cycles with their obligation, directive and
lead; the cells; the agencies), each filtered in the database by the same cycle
subquery, so there is no query per cell, per agency or per cycle and no IN list that
grows with the data. Working days late come from the in-memory calendar.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import Select, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.agency import Agency, AgencyKind
from models.calendar import parse_period_key, period_label
from models.cycle_controls import SubmissionExtension
from models.db import TZ
from models.tables import CycleState, Directive, Obligation, ReportCycle, Submission
from models.tables import SubmissionState as S
from models.workdays import WorkCalendar, packaged_calendar


class Cell(StrEnum):
    on_time = "on_time"
    late = "late"
    missing = "missing"
    not_yet_due = "not_yet_due"
    excused = "excused"


# Rows are grouped as the province reads them: departments, boards and the sector bodies
# (Công an tỉnh: kind "other"), then the committees.
_KIND_ORDER: dict[str, int] = {
    AgencyKind.committee_office.value: 0,
    AgencyKind.department.value: 1,
    AgencyKind.board.value: 2,
    AgencyKind.other.value: 3,
    AgencyKind.district_committee.value: 4,
    AgencyKind.commune_committee.value: 5,
}
_PERIOD = re.compile(r"\d{4}(-[A-Z0-9]{2,3}|-\d{2}-\d{2})?")  # a one-off: its date


def cell_state(
    state: str, submitted_at: dt.datetime | None, due_at: dt.datetime, now: dt.datetime
) -> Cell:
    """One submission's cell at ``now`` (see the module's docstring)."""
    if state == S.excused:
        return Cell.excused
    if state == S.submitted:
        return Cell.late if submitted_at is not None and submitted_at > due_at else Cell.on_time
    return Cell.missing if now >= due_at else Cell.not_yet_due


@dataclass(frozen=True, slots=True)
class MatrixFilter:
    """``period``: a period key ("2026-Q3") or a year ("2026": every period of 2026,
    the annual one included). ``None`` everywhere: every cycle that has opened."""

    directive_id: int | None = None
    lead_agency_id: int | None = None
    period: str | None = None

    def __post_init__(self) -> None:
        if self.period is not None:
            check_period(self.period)


def check_period(period: str) -> str:
    """``period`` if it is a year or a period key; ``ValueError`` saying what is accepted."""
    if not _PERIOD.fullmatch(period):
        raise ValueError(
            f"kỳ {period!r} không hợp lệ: ghi một năm (2026) hoặc mã kỳ (2026-Q3, 2026-11)"
        )
    parse_period_key(period)
    return period


@dataclass(frozen=True, slots=True)
class Tally:
    """How many cells of each kind; the on-time rate over the decided ones."""

    on_time: int = 0
    late: int = 0
    missing: int = 0
    not_yet_due: int = 0
    excused: int = 0

    @property
    def decided(self) -> int:
        return self.on_time + self.late + self.missing

    @property
    def rate(self) -> float | None:
        """On time / decided, in [0, 1]; ``None`` when nothing is decided yet."""
        return self.on_time / self.decided if self.decided else None

    @property
    def percent(self) -> float | None:
        return None if self.rate is None else round(100 * self.rate, 1)

    @classmethod
    def of(cls, cells: Iterable[Cell]) -> Tally:
        counts = dict.fromkeys(Cell, 0)
        for cell in cells:
            counts[cell] += 1
        return cls(**{cell.value: n for cell, n in counts.items()})


@dataclass(frozen=True, slots=True)
class Column:
    """One report cycle of the matrix, with what its header and links need."""

    cycle_id: int
    obligation_id: int
    directive_id: int
    title: str  # the directive's number ("6966/UBND-KTN"), else its file name
    directive_number: str | None
    directive_subject: str | None
    obligation_subject: str | None
    frequency: str
    period_key: str
    due_at: dt.datetime
    state: str  # a CycleState value
    lead_agency_id: int | None
    lead: str | None

    @property
    def period(self) -> str:
        return period_label(self.period_key)

    @property
    def run_name(self) -> str:
        """The name ``flows.cycles`` gives this cycle's ``open-cycle`` flow runs."""
        title = self.directive_number or f"nghĩa vụ #{self.obligation_id}"
        return f"{title} · {self.period}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One agency's cell in one cycle."""

    cell: Cell
    submitted_at: dt.datetime | None
    days_late: int  # working days past the deadline (at submission, or until now)


@dataclass(slots=True)
class Row:
    agency_id: int
    agency: str
    kind: str
    entries: dict[int, Entry] = field(default_factory=dict)  # cycle id → entry

    @property
    def tally(self) -> Tally:
        return Tally.of(e.cell for e in self.entries.values())


@dataclass(frozen=True, slots=True)
class ObligationTally:
    obligation_id: int
    title: str
    subject: str | None
    lead: str | None
    cycles: int
    tally: Tally


@dataclass(slots=True)
class Matrix:
    now: dt.datetime
    filter: MatrixFilter
    columns: list[Column]
    rows: list[Row]

    def entry(self, agency_id: int, cycle_id: int) -> Entry | None:
        row = next((r for r in self.rows if r.agency_id == agency_id), None)
        return row.entries.get(cycle_id) if row else None

    def column_tally(self, cycle_id: int) -> Tally:
        return Tally.of(r.entries[cycle_id].cell for r in self.rows if cycle_id in r.entries)

    @property
    def tally(self) -> Tally:
        return Tally.of(e.cell for r in self.rows for e in r.entries.values())

    @property
    def by_obligation(self) -> list[ObligationTally]:
        """One line per obligation in the matrix, in the order its first cycle appears."""
        columns: dict[int, list[Column]] = defaultdict(list)
        for c in self.columns:
            columns[c.obligation_id].append(c)
        out = []
        for obligation_id, cols in columns.items():
            ids = {c.cycle_id for c in cols}
            cells = (e.cell for r in self.rows for cid, e in r.entries.items() if cid in ids)
            first = cols[0]
            out.append(
                ObligationTally(
                    obligation_id,
                    first.title,
                    first.obligation_subject,
                    first.lead,
                    len(cols),
                    Tally.of(cells),
                )
            )
        return out


# == Queries ==================================================================================


_Stmt = TypeVar("_Stmt", bound=Select[Any])


def _filtered(stmt: _Stmt, selection: MatrixFilter) -> _Stmt:
    """``stmt`` (which selects from report_cycle joined to obligation) narrowed to the
    cycles ``selection`` selects: the one filter every query here shares."""
    stmt = stmt.where(col(ReportCycle.state) != CycleState.scheduled)
    if selection.directive_id is not None:
        stmt = stmt.where(col(Obligation.directive_id) == selection.directive_id)
    if selection.lead_agency_id is not None:
        stmt = stmt.where(col(Obligation.lead_agency_id) == selection.lead_agency_id)
    if selection.period is not None:
        # check_period allows digits, capitals and one dash: nothing LIKE would read.
        stmt = stmt.where(
            or_(
                col(ReportCycle.period_key) == selection.period,
                col(ReportCycle.period_key).like(f"{selection.period}-%"),
            )
        )
    return stmt


def _cycle_ids(selection: MatrixFilter) -> Select[Any]:
    stmt = sa.select(col(ReportCycle.id)).join(
        Obligation, col(Obligation.id) == ReportCycle.obligation_id
    )
    return _filtered(stmt, selection)


def compliance_matrix(
    session: Session,
    *,
    now: dt.datetime,
    filters: MatrixFilter | None = None,
    calendar: WorkCalendar | None = None,
) -> Matrix:
    """The matrix of the cycles that ``filters`` selects, decided at ``now``; rows are
    the agencies that must report in at least one of them."""
    selection = filters or MatrixFilter()
    cal = calendar or packaged_calendar()
    columns = _columns(session, selection)
    cycle_ids = _cycle_ids(selection)
    rows = {
        a.id: Row(a.id, a.name, str(a.kind))
        for a in session.exec(
            select(Agency).where(
                col(Agency.id).in_(
                    select(Submission.agency_id).where(col(Submission.cycle_id).in_(cycle_ids))
                )
            )
        )
        if a.id is not None
    }
    due = {c.cycle_id: c.due_at for c in columns}
    cells = (
        sa.select(
            col(Submission.cycle_id),
            col(Submission.agency_id),
            col(Submission.state),
            col(Submission.submitted_at),
            col(SubmissionExtension.due_at),  # an agency's own deadline, when extended
        )
        .outerjoin(SubmissionExtension, col(SubmissionExtension.submission_id) == Submission.id)
        .where(col(Submission.cycle_id).in_(cycle_ids))
    )
    for cycle_id, agency_id, state, submitted_at, own in session.connection().execute(cells):
        if cycle_id in due and agency_id in rows:
            rows[agency_id].entries[cycle_id] = _entry(
                str(state), submitted_at, own or due[cycle_id], now, cal
            )
    ordered = sorted(rows.values(), key=lambda r: (_KIND_ORDER.get(r.kind, 9), sort_key(r.agency)))
    return Matrix(now, selection, columns, ordered)


def _columns(session: Session, selection: MatrixFilter) -> list[Column]:
    lead = aliased(Agency)
    stmt = (
        select(ReportCycle, Obligation, Directive, lead)
        .join(Obligation, col(Obligation.id) == ReportCycle.obligation_id)
        .join(Directive, col(Directive.id) == Obligation.directive_id)
        .outerjoin(lead, col(lead.id) == Obligation.lead_agency_id)
        .order_by(col(ReportCycle.due_at), col(Directive.number), col(ReportCycle.obligation_id))
    )
    out = []
    for cycle, ob, directive, lead_agency in session.exec(_filtered(stmt, selection)).all():
        assert cycle.id is not None and ob.id is not None and directive.id is not None
        out.append(
            Column(
                cycle_id=cycle.id,
                obligation_id=ob.id,
                directive_id=directive.id,
                title=directive.number or directive.source_name,
                directive_number=directive.number,
                directive_subject=directive.subject,
                obligation_subject=ob.subject,
                frequency=ob.frequency,
                period_key=cycle.period_key,
                due_at=cycle.due_at,
                state=str(cycle.state),
                lead_agency_id=ob.lead_agency_id,
                lead=lead_agency.name if lead_agency else None,
            )
        )
    return out


def _entry(
    state: str,
    submitted_at: dt.datetime | None,
    due_at: dt.datetime,
    now: dt.datetime,
    cal: WorkCalendar,
) -> Entry:
    cell = cell_state(state, submitted_at, due_at, now)
    days = 0
    if cell in (Cell.late, Cell.missing):
        until = submitted_at if cell is Cell.late and submitted_at else now
        days = cal.working_days_between(_day(due_at), _day(until))
    return Entry(cell, submitted_at, max(days, 0))


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(TZ).date()


def sort_key(name: str) -> tuple[str, str]:
    """Vietnamese names in roughly alphabetical order: letters without their marks first
    (so "Ủy" sits among the U's, not after "Z"), the marked spelling as the tie-break."""
    bare = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    base = "".join(ch for ch in bare if not unicodedata.combining(ch)).casefold()
    return base, unicodedata.normalize("NFC", name).casefold()


# == What the filters can choose from ======================================================


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FilterChoices:
    directives: list[Choice]
    leads: list[Choice]
    periods: list[Choice]  # years first ("Cả năm 2026"), then each period key


def filter_choices(session: Session) -> FilterChoices:
    """What the filters offer: the directives, leads and periods that have cycles (one
    query, over cycles only: far fewer rows than cells)."""
    lead = aliased(Agency)
    stmt = (
        sa.select(
            col(ReportCycle.period_key),
            col(Directive.id),
            col(Directive.number),
            col(Directive.source_name),
            col(lead.id),
            col(lead.name),
        )
        .join(Obligation, col(Obligation.id) == ReportCycle.obligation_id)
        .join(Directive, col(Directive.id) == Obligation.directive_id)
        .outerjoin(lead, col(lead.id) == Obligation.lead_agency_id)
        .distinct()
    )
    directives: dict[int, str] = {}
    leads: dict[int, str] = {}
    keys: set[str] = set()
    rows = session.connection().execute(_filtered(stmt, MatrixFilter())).all()
    for key, directive_id, number, source, lead_id, lead_name in rows:
        directives[directive_id] = number or source
        keys.add(key)
        if lead_id is not None:
            leads[lead_id] = lead_name
    return FilterChoices(
        [Choice(str(i), t) for i, t in sorted(directives.items(), key=lambda kv: kv[1])],
        [Choice(str(i), n) for i, n in sorted(leads.items(), key=lambda kv: sort_key(kv[1]))],
        _period_choices(keys),
    )


def _period_choices(keys: Sequence[str] | set[str]) -> list[Choice]:
    years = sorted({k[:4] for k in keys}, reverse=True)
    out = [Choice(y, f"Cả năm {y} (mọi kỳ)") for y in years]
    sub = sorted((k for k in keys if len(k) > 4), reverse=True)
    return out + [Choice(k, period_label(k)) for k in sub]
