"""The report cycle's flows: ``open_cycle`` (one deployment per approved obligation) and
``sweep`` (one deployment on a frequent cron). Thin: the decisions live in
``models.cycles``, the messages in ``notifications``; these add runs, artifacts and events.

Every flow takes "now" from ``models.clock`` (or its ``now`` parameter), so the demo and
the tests can walk a whole year in seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from sqlmodel import Session, col, func, select

from flows import artifacts, events, outcome
from models import clock
from models.agency import Agency
from models.calendar import period_label
from models.db import TZ, get_engine, session_scope, settings
from models.tables import (
    Directive,
    Notification,
    NotificationState,
    Obligation,
    Submission,
)
from models.workdays import packaged_calendar


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- run names ---------------------------------------------------------------------------


def _open_run_name() -> str:
    """ "6966/UBND-KTN · Năm 2026" (falls back to the obligation id)."""
    params = flow_run.parameters
    obligation_id = params.get("obligation_id")
    try:
        from models.cycles import period_to_open

        with session_scope() as session:
            ob = session.get(Obligation, obligation_id)
            if ob is None:
                return f"nghĩa vụ #{obligation_id}"
            directive = session.get(Directive, ob.directive_id)
            title = (directive.number if directive else None) or f"nghĩa vụ #{obligation_id}"
            key = params.get("period_key")
            if not key:
                now = clock.resolve(_moment(params.get("now")))
                key = period_to_open(ob, now=now, province=settings().province).key
            return f"{title} · {period_label(key)}"
    except Exception:  # a name must never fail a run
        return f"nghĩa vụ #{obligation_id}"


def _sweep_run_name() -> str:
    now = clock.resolve(_moment(flow_run.parameters.get("now")))
    return f"sweep · {now.astimezone(TZ):%d/%m/%Y %H:%M}"


def _moment(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return clock.parse_moment(str(value))


# --- open_cycle --------------------------------------------------------------------------


@flow(name="open-cycle", flow_run_name=_open_run_name)
def open_cycle(
    obligation_id: int, period_key: str | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Open the cycle of ``period_key`` (default: the period this firing is for): the
    cycle, one pending submission per agency, the opening notices queued. Running it
    twice for the same period changes nothing."""
    from models.cycles import status, store_cycle
    from models.tables import ObligationStatus
    from notifications.notices import cycle_facts, queue_steps

    log = get_run_logger()
    at = clock.resolve(now)
    cal = packaged_calendar()
    with session_scope() as session:
        ob = session.get(Obligation, obligation_id)
        if ob is None or ob.status != ObligationStatus.approved:
            state = "missing" if ob is None else str(ob.status)
            log.warning("nghĩa vụ %s đang ở trạng thái %s: không mở kỳ nào", obligation_id, state)
            return {"opened": False, "reason": f"obligation {obligation_id} is {state}"}
        opened = store_cycle(
            session, ob, now=at, province=settings().province, period_key=period_key, calendar=cal
        )
        queued = queue_steps(session, opened.steps, now=at, calendar=cal)
        assert opened.cycle.id is not None
        facts = cycle_facts(session, opened.cycle.id)
        rows = status(session, opened.cycle, now=at, calendar=cal)
    for flag in opened.flags:
        log.warning("%s", flag)
    outcome.tag_current_run(opened.cycle.id)
    artifacts.publish_cycle(facts.title, obligation_id, facts.cycle.period_key, rows)
    log.info(
        "%s · %s: %s, %d cơ quan mới phải nộp, xếp %d thông báo mở kỳ",
        facts.title,
        period_label(facts.cycle.period_key),
        "đã mở kỳ" if opened.created else "kỳ đã mở từ trước",
        opened.new_submissions,
        queued.total,
    )
    return {
        "cycle_id": opened.cycle.id,
        "period": facts.cycle.period_key,
        "created": opened.created,
        "new_submissions": opened.new_submissions,
        "queued": queued.total,
        "flags": opened.flags,
    }


# --- sweep -------------------------------------------------------------------------------


@dataclass(slots=True)
class SweepReport:
    now: str
    examined: int = 0
    steps: int = 0
    lost_to_others: int = 0
    decide_seconds: float = 0.0
    queued: dict[str, int] = field(default_factory=dict)
    closed: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)
    dispatch: dict[str, Any] = field(default_factory=dict)
    reclaimed: int = 0
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@flow(name="sweep", flow_run_name=_sweep_run_name)
def sweep(
    now: dt.datetime | None = None, dispatch: bool = True, batch: int = 500
) -> dict[str, Any]:
    """Reminders and escalations that are due, cycles that are over, the outbox, and
    each touched cycle's artifacts, as of ``now``. Safe to run twice at once."""
    log = get_run_logger()
    at = clock.resolve(now)
    report = decide(at)
    touched = set(report.overdue) | set(report.closed)
    if dispatch:
        report.reclaimed, report.dispatch = send(at, batch=batch)
    touched |= _cycles_with_news(at)
    publish(touched, at)
    _emit_sweep_events(report, at)
    with session_scope() as session:
        # The cycle's own run takes its outcome: "Quá hạn" (failed) with who is missing,
        # kept current as late reports come in (a run already saying it is not rewritten).
        outcome.mark_cycle_runs(session, touched, now=at)
    for line in report.skipped:
        log.warning("%s", line)
    log.info(
        "lượt quét lúc %s: %d dòng đến hạn, %d bước (%.3f giây), xếp %d tin, đóng %d kỳ, "
        "kết quả gửi %s",
        f"{at.astimezone(TZ):%d/%m/%Y %H:%M}",
        report.examined,
        report.steps,
        report.decide_seconds,
        sum(report.queued.values()),
        len(report.closed),
        report.dispatch,
    )
    return report.as_dict()


def decide(at: dt.datetime) -> SweepReport:
    """The sweep's decisions in one transaction: stages reached and their messages, then
    closings with their consolidated status. ``advance`` moves at most 50,000 due rows,
    the oldest first; when more are due, the rest keep their stage and due time and the
    next sweep moves them (none skipped, none twice: tests/models/test_cycles.py)."""
    from models.cycles import advance, closable, close
    from notifications.notices import Queued, cycle_facts, queue_consolidated, queue_steps

    cal = packaged_calendar()
    report = SweepReport(now=at.isoformat())
    queued = Queued()
    with session_scope() as session:
        started = time.perf_counter()
        moved = advance(session, now=at, calendar=cal)
        report.decide_seconds = round(time.perf_counter() - started, 4)
        report.examined, report.lost_to_others = moved.examined, moved.lost
        report.steps, report.overdue = len(moved.steps), moved.overdue_cycles
        queued.add(queue_steps(session, moved.steps, now=at, calendar=cal))
        for cycle in closable(session, now=at):
            assert cycle.id is not None
            if not close(session, cycle, now=at, actor="sweep"):
                continue  # another sweep closed it
            facts = cycle_facts(session, cycle.id)
            done, _ = queue_consolidated(
                session, facts, now=at, calendar=cal, exports_dir=settings().data_dir / "exports"
            )
            queued.add(done)
            report.closed.append(cycle.id)
    report.queued = {f"{stage}/{channel}": n for (stage, channel), n in sorted(queued.rows.items())}
    report.skipped = queued.skipped
    return report


def send(at: dt.datetime, *, batch: int = 500) -> tuple[int, dict[str, Any]]:
    """Reclaim rows stuck in ``sending`` by a dead worker, then dispatch the due ones."""
    from notifications.contacts import contact_resolver
    from notifications.outbox import dispatch, reclaim_stale
    from notifications.transports import available_channels, build_transports

    engine = get_engine()

    def factory() -> Session:
        return Session(engine, expire_on_commit=False)

    with factory() as session:
        reclaimed = reclaim_stale(session, now=at)
        session.commit()
    transports = build_transports(available_channels())
    try:
        result = dispatch(
            factory,
            now=at,
            worker=_worker(),
            transports=transports,
            calendar=packaged_calendar(),
            batch=batch,
            resolve_url=contact_resolver(factory),
        )
    finally:
        for t in {id(t): t for t in transports.values()}.values():
            t.close()
    return reclaimed, result.as_dict()


def _cycles_with_news(at: dt.datetime, window: dt.timedelta = dt.timedelta(days=1)) -> set[int]:
    """Open cycles whose submissions or outbox changed lately (their tables are stale)."""
    since = at - window
    with session_scope() as session:
        subs = select(Submission.cycle_id).where(col(Submission.submitted_at) >= since)
        sent = select(Notification.cycle_id).where(col(Notification.sent_at) >= since)
        return {int(c) for c in session.exec(subs)} | {int(c) for c in session.exec(sent)}


def publish(cycle_ids: set[int], at: dt.datetime) -> None:
    from models.cycles import status
    from notifications.notices import cycle_facts

    cal = packaged_calendar()
    with session_scope() as session:
        for cycle_id in sorted(cycle_ids):
            facts = cycle_facts(session, cycle_id)
            rows = status(session, facts.cycle, now=at, calendar=cal)
            artifacts.publish_cycle(
                facts.title, facts.obligation.id or 0, facts.cycle.period_key, rows
            )


def _emit_sweep_events(report: SweepReport, at: dt.datetime) -> None:
    from notifications.notices import cycle_facts

    for channel, reason in (report.dispatch.get("channels_held") or {}).items():
        events.emit(
            events.CHANNEL_HELD,
            resource_id=f"hanbaocao.channel.{channel}",
            name=f"Kênh {channel} tạm giữ",
            payload={"channel": channel, "reason": reason, "at": at.isoformat()},
        )

    with session_scope() as session:
        for cycle_id in report.overdue:
            facts = cycle_facts(session, cycle_id)
            late = session.exec(
                select(func.count())
                .select_from(Submission)
                .where(Submission.cycle_id == cycle_id, col(Submission.submitted_at).is_(None))
            ).one()
            events.emit(
                events.CYCLE_OVERDUE,
                resource_id=events.cycle_resource(cycle_id),
                name=f"{facts.title} · {period_label(facts.cycle.period_key)}",
                payload={
                    "cycle_id": cycle_id,
                    "missing": int(late),
                    "at": at.isoformat(),
                    "lead": facts.lead.name if facts.lead else None,
                },
            )
        sent = session.exec(
            select(Notification).where(
                col(Notification.stage).startswith("escalation-"),
                Notification.state == NotificationState.sent,
                Notification.sent_at == at,
            )
        ).all()
        for row in sent:
            facts = cycle_facts(session, row.cycle_id)
            agency = session.get(Agency, row.agency_id)
            cycle_name = f"{facts.title} · {period_label(facts.cycle.period_key)}"
            who = agency.name if agency else f"cơ quan #{row.agency_id}"
            events.emit(
                events.ESCALATION_SENT,
                resource_id=events.cycle_resource(row.cycle_id),
                name=f"Đôn đốc {who} · {cycle_name}",
                related=[
                    events.cycle_related(row.cycle_id, cycle_name),
                    *([events.agency_related(agency)] if agency else []),
                ],
                payload={
                    "cycle_id": row.cycle_id,
                    "stage": row.stage,
                    "agency_id": row.agency_id,
                    "channel": row.channel,
                },
            )
