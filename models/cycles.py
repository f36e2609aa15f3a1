"""A report cycle's life on the data: opened, walked down its reminder ladder, closed.

No messages are rendered and nothing is sent here: these functions decide, on the
stored rows, *what* must be said to *whom* (``Step``) and move each submission's
``next_action_at`` on; ``notifications.notices`` turns steps into outbox rows and the
flows commit both in one transaction, so a step is never decided without its messages
being queued, nor queued twice (the outbox's unique key).

Concurrency: two sweeps (two Prefect workers) may look at the same due rows. Each
group of rows is moved on with a conditional UPDATE (still at the time this sweep
read), so only one sweep wins a group and only the winner's steps are kept; the
loser's would be duplicates anyway, and the outbox's unique key would drop them.

Catch-up: a sweep that did not run for days sends, per agency, only the latest
agency stage that has passed (one message per agency, not a burst of stale
reminders); escalations to the lead and the recipient are per cycle and each goes
out once.

The lead Sở's reminders of its own deadline (stages anchored on ``lead_due``) do not
ride on the agencies' rows, since they are owed even when every agency has handed in:
``lead_steps`` decides them per open cycle, the latest one passed and not yet queued
(the outbox row is the record; two sweeps deciding it at once queue it once).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from directives.parsed import FREQUENCY_VI, Deadline
from models.agency import Agency
from models.calendar import (
    DEFAULT_LADDER,
    Audience,
    Ladder,
    OpeningPolicy,
    Period,
    ScheduledStage,
    StageAnchor,
    parse_period_key,
    period_for_opening,
    schedule,
)
from models.cycle_controls import CyclePause, SubmissionExtension
from models.db import TZ
from models.plan import (
    CyclePlan,
    PlanError,
    cycle_agencies,
    cycle_row,
    plan_cycles,
    plan_once,
)
from models.plan import opened_at as replan_opened_at
from models.store import audit, due_query
from models.tables import (
    CycleState,
    Notification,
    Obligation,
    ObligationStatus,
    ReportCycle,
    Submission,
    SubmissionState,
)
from models.vocabulary import STATUS_VI
from models.workdays import WorkCalendar, packaged_calendar

# After the last stage of the ladder, how long a cycle stays open before it closes.
DEFAULT_GRACE = dt.timedelta(days=1)
NOT_SUBMITTED = (SubmissionState.pending, SubmissionState.late)


@dataclass(frozen=True, slots=True)
class Step:
    """One ladder stage reached by a cycle: the agencies it concerns (for an agency
    stage, the addressees; for an escalation, the ones that moved it) and its time."""

    cycle_id: int
    stage: str
    audience: Audience
    at: dt.datetime
    agency_ids: tuple[int, ...]
    anchor: StageAnchor = StageAnchor.DUE  # LEAD_DUE: a reminder of the lead's own deadline


@dataclass(slots=True)
class Opened:
    cycle: ReportCycle
    created: bool
    new_submissions: int
    steps: list[Step]
    flags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Advanced:
    steps: list[Step] = field(default_factory=list)
    examined: int = 0  # due rows read
    lost: int = 0  # rows another sweep moved first
    overdue_cycles: list[int] = field(default_factory=list)  # cycles whose deadline just passed


def ladder_of(obligation: Obligation) -> Ladder:
    return Ladder.from_data(obligation.ladder) if obligation.ladder else DEFAULT_LADDER


def cycle_stages(
    obligation: Obligation, cycle: ReportCycle, calendar: WorkCalendar | None = None
) -> list[ScheduledStage]:
    """The cycle's ladder on working days, from its stored opening and deadlines."""
    return schedule(
        ladder_of(obligation),
        cycle.opens_at,
        cycle.due_at,
        calendar or _cal(),
        lead_due=cycle.lead_due_at,
    )


def row_stages(
    obligation: Obligation,
    cycle: ReportCycle,
    calendar: WorkCalendar | None = None,
    due: dt.datetime | None = None,
) -> list[ScheduledStage]:
    """The stages the agencies' rows walk: all but the lead's own reminders; ``due``: an
    agency's own deadline (``models.actions.extend``)."""
    if due is not None:
        from models.actions import agency_stages

        return agency_stages(obligation, cycle, due, calendar or _cal())
    stages = cycle_stages(obligation, cycle, calendar)
    return [s for s in stages if s.stage.anchor is not StageAnchor.LEAD_DUE]


def _cal() -> WorkCalendar:
    return packaged_calendar()


# --- opening ---------------------------------------------------------------------------


def period_to_open(obligation: Obligation, *, now: dt.datetime, province: str) -> Period:
    """The period a firing of the obligation's opening schedule at ``now`` is for."""
    rule = Deadline(**(obligation.deadline_override or obligation.deadline or {}))
    policy = OpeningPolicy(province=province)
    return period_for_opening(obligation.frequency, rule, now.astimezone(TZ).date(), policy=policy)


def store_cycle(
    session: Session,
    obligation: Obligation,
    *,
    now: dt.datetime,
    province: str,
    period_key: str | None = None,
    calendar: WorkCalendar | None = None,
    actor: str = "open-cycle",
    opened_at: dt.datetime | None = None,
) -> Opened:
    """Store the cycle of ``period_key`` (default: the period this opening is for) with
    one pending submission per agency that must report, and decide its opening notices
    (sent at the cycle's opening time, or at once when that has passed). Idempotent:
    an existing cycle, submission or decided stage is left as it is; agencies that
    joined since (a new commune) get their submission and their opening notice.
    ``opened_at``: a cycle opened after its own day (approved while its period runs, or a
    one-off) opens then, its ladder fitted to the time left."""
    if obligation.status != ObligationStatus.approved:
        raise PlanError(
            f"nghĩa vụ số {obligation.id} đang ở trạng thái “{STATUS_VI[obligation.status]}”: "
            "duyệt nghĩa vụ trước"
        )
    cal = calendar or _cal()
    plan = _plan_to_open(obligation, now=now, province=province, period_key=period_key, cal=cal)
    if opened_at is not None and obligation.frequency != "once":
        plan = replan_opened_at(plan, opened_at, ladder_of(obligation), cal)
    cycle, created = cycle_row(session, obligation, plan, state=CycleState.open)
    if cycle.state == CycleState.scheduled:
        cycle.state = CycleState.open
        session.add(cycle)
    who = cycle_agencies(session, obligation, on=plan.opens_at.date(), province=province)
    have = set(session.exec(select(Submission.agency_id).where(Submission.cycle_id == cycle.id)))
    stages = row_stages(obligation, cycle, cal)
    new = [a for a in who.agencies if a.id not in have]
    assert cycle.id is not None
    for agency in new:
        assert agency.id is not None
        session.add(
            Submission(
                cycle_id=cycle.id,
                agency_id=agency.id,
                next_action_at=stages[0].at,
                next_action_stage=stages[0].name,
            )
        )
    session.flush()
    if created or new:
        audit(
            session,
            actor=actor,
            action="cycle.opened" if created else "cycle.joined",
            entity="report_cycle",
            entity_id=cycle.id,
            data={"period": cycle.period_key, "agencies": [a.id for a in new]},
        )
    # The opening notices: the cycle's own rows walked to its opening time (or now).
    at = max(now, stages[0].at)
    rows = (
        session.connection().execute(_due_rows(cycle.id, at).with_only_columns(*_DUE_COLUMNS)).all()
    )
    steps = _advance_rows(session, rows, now=at, calendar=cal).steps
    return Opened(cycle, created, len(new), steps, who.flags + list(plan.warnings))


def _plan_to_open(
    obligation: Obligation,
    *,
    now: dt.datetime,
    province: str,
    period_key: str | None,
    cal: WorkCalendar,
) -> CyclePlan:
    if obligation.frequency == "once":  # no periods: its only cycle, opening now
        return plan_once(obligation, opens_at=now, calendar=cal)
    period = (
        parse_period_key(period_key)
        if period_key
        else period_to_open(obligation, now=now, province=province)
    )
    if period.frequency != obligation.frequency:
        raise PlanError(
            f"kỳ {period.key} là kỳ {FREQUENCY_VI.get(period.frequency, period.frequency)}, còn "
            f"nghĩa vụ số {obligation.id} báo cáo "
            f"{FREQUENCY_VI.get(obligation.frequency, obligation.frequency)}"
        )
    (plan,) = plan_cycles(
        obligation, start=period.start, end=period.start, province=province, calendar=cal
    )
    return plan


def _due_rows(cycle_id: int | None, now: dt.datetime) -> SelectOfScalar[Submission]:
    return select(Submission).where(
        Submission.cycle_id == cycle_id,
        col(Submission.state).in_(NOT_SUBMITTED),
        col(Submission.next_action_at) <= now,
    )


# --- the sweep's decisions ------------------------------------------------------------


def advance(
    session: Session,
    *,
    now: dt.datetime,
    limit: int = 50_000,
    calendar: WorkCalendar | None = None,
) -> Advanced:
    """Every submission whose next action is due at ``now`` moves down its cycle's
    ladder; returns the stages reached. One indexed query (``store.due_query``), then
    one conditional UPDATE per (cycle, stage) group. At most ``limit`` rows, the oldest
    due first: the others keep their stage and due time, and the next sweep moves them."""
    stmt = due_query(now=now, limit=limit).with_only_columns(*_DUE_COLUMNS)
    rows = session.connection().execute(stmt).all()
    cal = calendar or _cal()
    out = _advance_rows(session, rows, now=now, calendar=cal)
    out.steps = _merge([*out.steps, *lead_steps(session, now=now, calendar=cal)])
    return out


def lead_steps(session: Session, *, now: dt.datetime, calendar: WorkCalendar) -> list[Step]:
    """Per open cycle with a lead Sở and a lead deadline still ahead: the latest reminder
    of that deadline that has passed, unless it is already queued."""
    stmt = (
        select(ReportCycle, Obligation)
        .join(Obligation, col(Obligation.id) == ReportCycle.obligation_id)
        .where(
            ReportCycle.state == CycleState.open,
            col(ReportCycle.opens_at) <= now,
            col(ReportCycle.lead_due_at) >= now,
            col(Obligation.lead_agency_id).is_not(None),
            col(ReportCycle.id).not_in(select(CyclePause.cycle_id)),  # paused: silent
        )
    )
    steps = []
    for cycle, obligation in session.exec(stmt):
        passed = [
            s
            for s in cycle_stages(obligation, cycle, calendar)
            if s.stage.anchor is StageAnchor.LEAD_DUE and s.at <= now
        ]
        if not passed or cycle.id is None:
            continue
        latest = passed[-1]
        if _queued(session, cycle.id, latest.name):
            continue
        steps.append(
            Step(cycle.id, latest.name, Audience.LEAD, latest.at, (), StageAnchor.LEAD_DUE)
        )
    return steps


def _queued(session: Session, cycle_id: int, stage: str) -> bool:
    found = session.exec(
        select(Notification.id).where(
            Notification.cycle_id == cycle_id, Notification.stage == stage
        )
    ).first()
    return found is not None


_DUE_COLUMNS = (
    col(Submission.id),
    col(Submission.cycle_id),
    col(Submission.next_action_at),
    col(Submission.next_action_stage),
)


@dataclass(frozen=True, slots=True)
class _Group:
    cycle_id: int
    at: dt.datetime  # the rows' stored next_action_at
    stage: str | None
    due: dt.datetime | None = None  # the rows' own deadline when extended


def _advance_rows(
    session: Session, rows: Sequence[Any], *, now: dt.datetime, calendar: WorkCalendar
) -> Advanced:
    out = Advanced(examined=len(rows))
    groups: dict[_Group, list[int]] = defaultdict(list)
    dues = _extended(session, [r[0] for r in rows])
    for sid, cycle_id, at, stage in rows:
        if sid is not None and at is not None:
            groups[_Group(cycle_id, at, stage, dues.get(sid))].append(sid)
    cycles = _cycles(session, {g.cycle_id for g in groups})
    for group, members in sorted(groups.items(), key=lambda kv: (kv[0].cycle_id, kv[0].at)):
        cycle, obligation = cycles[group.cycle_id]
        stages = row_stages(obligation, cycle, calendar, due=group.due)
        passed = [s for s in stages if group.at <= s.at <= now]
        coming = next((s for s in stages if s.at > now), None)
        due = group.due or cycle.due_at
        won, newly_late = _move(session, group, members, now=now, coming=coming, late=now >= due)
        out.lost += len(members) - len(won)
        if newly_late:
            out.overdue_cycles.append(group.cycle_id)
        if not won:
            continue
        out.steps.extend(_steps(group.cycle_id, passed, tuple(sorted(won))))
    out.overdue_cycles = sorted(set(out.overdue_cycles))
    out.steps = _merge(out.steps)
    return out


def _steps(cycle_id: int, passed: list[ScheduledStage], agency_rows: tuple[int, ...]) -> list[Step]:
    """The stages to act on: the latest agency stage (catch-up sends one message), every
    escalation once. ``agency_rows``: the agencies whose rows reached them."""
    steps = []
    agency = [s for s in passed if s.stage.audience is Audience.AGENCY]
    if agency:
        last = agency[-1]
        steps.append(Step(cycle_id, last.name, Audience.AGENCY, last.at, agency_rows))
    for s in passed:
        if s.stage.audience is not Audience.AGENCY:
            steps.append(Step(cycle_id, s.name, s.stage.audience, s.at, agency_rows))
    return steps


def _merge(steps: Iterable[Step]) -> list[Step]:
    """One step per (cycle, stage): rows of one cycle met at different times merge."""
    merged: dict[tuple[int, str], Step] = {}
    for s in steps:
        key = (s.cycle_id, s.stage)
        if key in merged:
            prev = merged[key]
            ids = tuple(sorted(set(prev.agency_ids) | set(s.agency_ids)))
            merged[key] = Step(s.cycle_id, s.stage, s.audience, max(prev.at, s.at), ids, s.anchor)
        else:
            merged[key] = s
    return sorted(merged.values(), key=lambda s: (s.cycle_id, s.at, s.stage))


def _move(
    session: Session,
    group: _Group,
    members: list[int],
    *,
    now: dt.datetime,
    coming: ScheduledStage | None,
    late: bool,
) -> tuple[list[int], int]:
    """Move the group's rows to their next stage if they are still where this sweep read
    them; the agency ids of the rows this sweep moved, and how many it found late first."""
    won: list[int] = []
    newly_late = 0
    for chunk in _chunks(members, 900):
        values: dict[str, object] = {
            "next_action_at": coming.at if coming else None,
            "next_action_stage": coming.name if coming else None,
        }
        stmt = (
            update(Submission)
            .where(
                col(Submission.id).in_(chunk),
                col(Submission.next_action_at) == group.at,
                col(Submission.state).in_(NOT_SUBMITTED),
            )
            .values(**values)
            .returning(col(Submission.agency_id))
        )
        won.extend(session.connection().execute(stmt).scalars())
        if late:
            marked = session.connection().execute(
                update(Submission)
                .where(
                    col(Submission.id).in_(chunk),
                    col(Submission.state) == SubmissionState.pending,
                )
                .values(state=SubmissionState.late)
                .returning(col(Submission.id))
            )
            newly_late += len(marked.all())
    return won, newly_late


def _extended(session: Session, submission_ids: list[int]) -> dict[int, dt.datetime]:
    """The rows' own deadlines, for those an administrator extended (few: one query on
    a small table, skipped when there is none at all)."""
    if not submission_ids or session.exec(select(SubmissionExtension).limit(1)).first() is None:
        return {}
    found: dict[int, dt.datetime] = {}
    for chunk in _chunks(submission_ids, 900):
        stmt = select(SubmissionExtension.submission_id, SubmissionExtension.due_at).where(
            col(SubmissionExtension.submission_id).in_(chunk)
        )
        found.update({int(i): due for i, due in session.exec(stmt)})
    return found


def _cycles(session: Session, ids: set[int]) -> dict[int, tuple[ReportCycle, Obligation]]:
    stmt = (
        select(ReportCycle, Obligation)
        .join(Obligation, col(Obligation.id) == ReportCycle.obligation_id)
        .where(col(ReportCycle.id).in_(ids))
    )
    return {c.id: (c, o) for c, o in session.exec(stmt) if c.id is not None}


def _chunks(items: Sequence[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


# --- submissions -------------------------------------------------------------------------


def mark_submitted(
    session: Session, submission: Submission, *, at: dt.datetime, cycle: ReportCycle
) -> bool:
    """The agency handed its report in at ``at``: no more reminders to it; late when
    after the deadline. True when it was the first version."""
    first = submission.submitted_at is None
    submission.submitted_at = submission.submitted_at or at
    submission.current_version += 1
    submission.state = SubmissionState.submitted
    submission.next_action_at = None
    submission.next_action_stage = None
    session.add(submission)
    return first


# --- closing and status ------------------------------------------------------------------


def closable(
    session: Session, *, now: dt.datetime, grace: dt.timedelta = DEFAULT_GRACE
) -> list[ReportCycle]:
    """Open cycles past their last stage plus ``grace``."""
    stmt = select(ReportCycle).where(
        ReportCycle.state == CycleState.open,
        col(ReportCycle.closes_at).is_not(None),
        col(ReportCycle.closes_at) <= now - grace,
        col(ReportCycle.id).not_in(select(CyclePause.cycle_id)),  # paused: stays open
    )
    return list(session.exec(stmt.order_by(col(ReportCycle.id))))


def close(session: Session, cycle: ReportCycle, *, now: dt.datetime, actor: str) -> bool:
    """Mark the cycle closed if it is still open (conditional: one sweep wins)."""
    won = (
        session.connection()
        .execute(
            update(ReportCycle)
            .where(col(ReportCycle.id) == cycle.id, col(ReportCycle.state) == CycleState.open)
            .values(state=CycleState.closed)
            .returning(col(ReportCycle.id))
        )
        .first()
    )
    if won is None:
        return False
    session.connection().execute(
        update(Submission)
        .where(col(Submission.cycle_id) == cycle.id)
        .values(next_action_at=None, next_action_stage=None)
    )
    audit(
        session,
        actor=actor,
        action="cycle.closed",
        entity="report_cycle",
        entity_id=cycle.id,
        data={"at": now.isoformat()},
    )
    session.refresh(cycle)
    return True


@dataclass(frozen=True, slots=True)
class AgencyStatus:
    agency_id: int
    agency: str
    state: str  # a SubmissionState value
    submitted_at: dt.datetime | None
    days_late: int  # working days past the deadline (at submission, or until now)


def status(
    session: Session,
    cycle: ReportCycle,
    *,
    now: dt.datetime,
    calendar: WorkCalendar | None = None,
) -> list[AgencyStatus]:
    """Each agency of the cycle: its state, when it submitted, how many working days late."""
    cal = calendar or _cal()
    stmt = (
        select(Submission, Agency, SubmissionExtension.due_at)
        .join(Agency, col(Agency.id) == Submission.agency_id)
        .outerjoin(SubmissionExtension, col(SubmissionExtension.submission_id) == Submission.id)
        .where(Submission.cycle_id == cycle.id)
        .order_by(col(Agency.name))
    )
    out = []
    for sub, agency, extended in session.exec(stmt):
        due = extended or cycle.due_at  # an agency's own deadline when extended
        until = sub.submitted_at or now
        late = until > due
        due_day = due.astimezone(TZ).date()
        days = cal.working_days_between(due_day, until.astimezone(TZ).date()) if late else 0
        out.append(
            AgencyStatus(
                agency.id or 0, agency.name, str(sub.state), sub.submitted_at, max(days, 0)
            )
        )
    return out


def open_cycles(session: Session, *, now: dt.datetime) -> list[ReportCycle]:
    stmt = select(ReportCycle).where(
        ReportCycle.state == CycleState.open, col(ReportCycle.opens_at) <= now
    )
    return list(session.exec(stmt.order_by(col(ReportCycle.id))))
