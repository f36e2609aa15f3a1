"""A cycle's outcome as the state of its own flow run, so the Prefect UI shows trouble.

Each cycle has one ``open-cycle`` run ("6966/UBND-KTN · Năm 2026"), tagged ``cycle:<id>``
when it opens the cycle. That run completes in seconds, long before anyone can be late;
once the deadline has passed with reports missing, the sweep sets it to a state of type
FAILED named "Quá hạn" whose message lists the agencies still missing; at the closing it
gets its final state: "Quá hạn" with who never handed in, or COMPLETED named "Đủ báo cáo"
(or "Đủ báo cáo, có nộp muộn"). The runs list, the failed-runs count, the dashboard's
run link and any "flow run failed" Automation then all see the cycle's trouble.

The state is forced (``force=True``): Prefect's orchestration rules refuse to move a
terminal run, and this is a report on a past run, not a new attempt. Best effort: a
Prefect API that cannot be reached leaves the run as it was and never fails the sweep.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, select

from models.actions import extended_dues
from models.agency import Agency
from models.db import TZ
from models.tables import CycleState, ReportCycle, Submission, SubmissionState

CYCLE_TAG = "cycle:"
OPEN_CYCLE_FLOW = "open-cycle"
OVERDUE = "Quá hạn"
COMPLETE = "Đủ báo cáo"
COMPLETE_LATE = "Đủ báo cáo, có nộp muộn"
NAMES_SHOWN = 20  # agencies named in a state's message; the rest are counted

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a cycle's run should say; ``kind`` is the Prefect state type."""

    kind: Literal["FAILED", "COMPLETED"]
    name: str
    message: str


def cycle_tag(cycle_id: int) -> str:
    return f"{CYCLE_TAG}{cycle_id}"


def cycle_outcome(session: Session, cycle_id: int, *, now: dt.datetime) -> Outcome | None:
    """The outcome of cycle ``cycle_id`` as of ``now``; None while there is nothing to say
    (not yet due, or due with every report in but not closed yet)."""
    cycle = session.get(ReportCycle, cycle_id)
    if cycle is None or now < cycle.due_at:
        return None
    rows = session.exec(
        select(Submission.state, Submission.submitted_at, Agency.name, Submission.agency_id)
        .join(Agency, col(Agency.id) == Submission.agency_id)
        .where(Submission.cycle_id == cycle_id)
        .order_by(col(Agency.name))
    ).all()
    # An excused agency owes nothing; "late" is also the state of one still missing; an
    # agency given more time (models.actions.extend) owes by its own deadline.
    extended = extended_dues(session, cycle_id)
    owing = [
        (at, name, extended.get(agency_id, cycle.due_at))
        for state, at, name, agency_id in rows
        if state != SubmissionState.excused
    ]
    missing = [name for at, name, own in owing if at is None and now >= own]
    waiting = any(at is None and now < own for at, _, own in owing)
    late = sum(1 for at, _, own in owing if at is not None and at > own)
    due = f"{cycle.due_at.astimezone(TZ):%d/%m/%Y}"
    if missing:
        return Outcome("FAILED", OVERDUE, overdue_message(missing, due=due, total=len(rows)))
    if cycle.state != CycleState.closed or waiting:
        return None
    if late:
        text = f"Đủ {len(rows)} báo cáo; {late} cơ quan nộp sau hạn {due}."
        return Outcome("COMPLETED", COMPLETE_LATE, text)
    return Outcome("COMPLETED", COMPLETE, f"Đủ {len(rows)} báo cáo, đúng hạn {due}.")


def overdue_message(missing: list[str], *, due: str, total: int) -> str:
    """ "68/109 cơ quan chưa nộp báo cáo (hạn 22/12/2026): A; B; … và 48 cơ quan khác." """
    shown = "; ".join(missing[:NAMES_SHOWN])
    more = len(missing) - NAMES_SHOWN
    tail = f" và {more} cơ quan khác" if more > 0 else ""
    return f"{len(missing)}/{total} cơ quan chưa nộp báo cáo (hạn {due}): {shown}{tail}."


def mark_cycle_runs(session: Session, cycle_ids: Iterable[int], *, now: dt.datetime) -> int:
    """Set each cycle's ``open-cycle`` runs to the cycle's outcome; how many runs moved."""
    moved = 0
    for cycle_id in sorted(set(cycle_ids)):
        outcome = cycle_outcome(session, cycle_id, now=now)
        cycle = session.get(ReportCycle, cycle_id)
        if outcome is not None and cycle is not None:
            try:
                moved += _set_states(cycle_id, cycle.obligation_id, outcome)
            except Exception as exc:  # the runs' colour must never fail the sweep
                log.warning(
                    "cycle %s: run state not set: %s: %s", cycle_id, type(exc).__name__, exc
                )
    return moved


def _set_states(cycle_id: int, obligation_id: int, outcome: Outcome) -> int:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import State, StateType

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[OPEN_CYCLE_FLOW])),
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[cycle_tag(cycle_id)])),
            limit=200,
        )
        moved = 0
        for run in runs:
            if run.parameters.get("obligation_id") != obligation_id:
                continue  # another database's cycle of that id on a shared server
            current = run.state
            if current is not None and (current.name, current.message) == (
                outcome.name,
                outcome.message,
            ):
                continue  # said already: no new state row for the same news
            state: State[None] = State(
                type=StateType(outcome.kind), name=outcome.name, message=outcome.message
            )
            client.set_flow_run_state(run.id, state, force=True)
            moved += 1
        return moved


def tag_current_run(cycle_id: int) -> None:
    """Tag the running ``open-cycle`` run with its cycle, so the sweep finds it later."""
    from prefect import get_client
    from prefect.runtime import flow_run

    run_id = flow_run.id
    if not run_id:
        return
    tags = sorted({*flow_run.tags, cycle_tag(cycle_id)})
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run_id, tags=tags)
    except Exception as exc:  # a missing tag costs only the run's colour later
        log.warning("run %s: tag %s not set: %s", run_id, cycle_tag(cycle_id), exc)
