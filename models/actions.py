"""An operator's levers on one cycle: pause, resume, excuse, extend, resend, and
re-queueing failed messages. Each writes a ``CycleAction`` row (who, what, why, when
— the one clock's ``now``) in the caller's transaction; none commits.

How each reaches the sweep and the dispatcher, without a new state anywhere:

- **pause**: a ``CyclePause`` row; the cycle's rows lose their ``next_action_at`` (the
  sweep's indexed query no longer meets them), ``lead_steps`` and ``closable`` skip the
  cycle, and the dispatcher's due query leaves its queued messages where they are.
- **resume**: each row still owing its report gets the first stage of its ladder that is
  still ahead; messages whose moment passed while paused (reminders, not the opening
  notice, receipts or escalations) are cancelled, so the agencies get no burst of
  stale reminders.
- **excuse**: the submission becomes ``excused`` (the matrix and every page already
  show it), loses its next action, and its queued messages are cancelled.
- **extend**: a ``SubmissionExtension`` is that agency's own deadline; the sweep walks
  the agency's row down a ladder built on it, the matrix decides its cell by it, and the
  cycle stays open until that ladder's end. A deadline past the lead Sở's own deadline
  to the recipient is allowed, with a warning (``past_lead_due``, in ``Done.warning``).
- **resend**: the agency's latest agency-facing message is due again now.

A cancelled message stays ``pending`` with no ``next_attempt_at`` (the dispatcher's due
query never matches NULL) and a ``last_error`` beginning with ``CANCELLED_MARK``: the
row is the record that it was not sent, and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from models.agency import Agency
from models.calendar import ScheduledStage, StageAnchor, schedule
from models.cycle_controls import CycleAction, CyclePause, SubmissionExtension
from models.db import TZ
from models.formats import local_text
from models.tables import (
    CycleState,
    Notification,
    NotificationState,
    Obligation,
    ReportCycle,
    Submission,
    SubmissionState,
)
from models.workdays import WorkCalendar, packaged_calendar

CANCELLED_MARK = "[đã huỷ] "
NOT_SUBMITTED = (SubmissionState.pending, SubmissionState.late)
# Stages that speak for the cycle or the agency's own act: never stale on resume.
_KEEP_ON_RESUME = (
    "opened",
    "receipt",
    "escalation-",
    "lead-",
    "consolidated",
    "extended",
    "request-",
)


class ActionError(ValueError):
    """An action that cannot be taken; the message is for the operator (Vietnamese)."""


@dataclass(frozen=True, slots=True)
class Done:
    """What an action changed, for the CLI and the dashboard to say."""

    action: str
    rows: int = 0  # submissions moved
    cancelled: int = 0  # queued messages cancelled
    requeued: int = 0  # messages due again
    ref: int | None = None  # the CycleAction row's id
    warning: str | None = None  # done, but the administrator should know (Vietnamese)


# --- look-ups --------------------------------------------------------------------------


def get_cycle(session: Session, cycle_id: int) -> ReportCycle:
    cycle = session.get(ReportCycle, cycle_id)
    if cycle is None:
        raise ActionError(f"Không có kỳ báo cáo #{cycle_id}.")
    return cycle


def find_agency(session: Session, key: str | int) -> Agency:
    """An agency by its code ("qng-so-tai-chinh") or id."""
    text = str(key).strip()
    agency = session.get(Agency, int(text)) if text.isdigit() else None
    agency = agency or session.exec(select(Agency).where(Agency.code == text)).first()
    if agency is None:
        raise ActionError(f"Không có cơ quan “{text}” (dùng mã, ví dụ qng-so-tai-chinh).")
    return agency


def submission_of(session: Session, cycle_id: int, agency: Agency) -> Submission:
    sub = session.exec(
        select(Submission).where(Submission.cycle_id == cycle_id, Submission.agency_id == agency.id)
    ).first()
    if sub is None:
        raise ActionError(f"{agency.name} không phải nộp báo cáo ở kỳ #{cycle_id}.")
    return sub


def paused(session: Session, cycle_id: int | None) -> CyclePause | None:
    # A query, not session.get: the identity map may still hold a row resume deleted.
    return session.exec(select(CyclePause).where(CyclePause.cycle_id == cycle_id)).first()


def extended_dues(session: Session, cycle_id: int | None) -> dict[int, dt.datetime]:
    """The cycle's extended agencies: agency id → its own deadline."""
    stmt = (
        select(Submission.agency_id, SubmissionExtension.due_at)
        .join(SubmissionExtension, col(SubmissionExtension.submission_id) == Submission.id)
        .where(Submission.cycle_id == cycle_id)
    )
    return {int(a): due for a, due in session.exec(stmt)}


def agency_due(session: Session, cycle: ReportCycle, agency_id: int) -> dt.datetime:
    """The agency's deadline for the cycle: its extension, else the cycle's."""
    return extended_dues(session, cycle.id).get(agency_id, cycle.due_at)


def agency_stages(
    obligation: Obligation,
    cycle: ReportCycle,
    due: dt.datetime | None,
    calendar: WorkCalendar,
) -> list[ScheduledStage]:
    """The stages an agency's row walks, on its own deadline when extended."""
    from models.cycles import ladder_of

    stages = schedule(
        ladder_of(obligation),
        cycle.opens_at,
        due or cycle.due_at,
        calendar,
        lead_due=cycle.lead_due_at,
    )
    return [s for s in stages if s.stage.anchor is not StageAnchor.LEAD_DUE]


def _record(
    session: Session,
    action: str,
    *,
    actor: str,
    now: dt.datetime,
    cycle_id: int | None,
    agency_id: int | None = None,
    reason: str | None = None,
    **data: object,
) -> CycleAction:
    row = CycleAction(
        at=now,
        actor=actor,
        action=action,
        cycle_id=cycle_id,
        agency_id=agency_id,
        reason=reason,
        data=dict(data),
    )
    session.add(row)
    return row


def _need_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ActionError("Cần ghi lý do.")
    if len(text) > 2000:
        raise ActionError("Lý do quá dài (tối đa 2000 ký tự).")
    return text


def _need_open(cycle: ReportCycle) -> None:
    if cycle.state != CycleState.open:
        state = "đã đóng" if cycle.state == CycleState.closed else "chưa mở"
        raise ActionError(f"Kỳ #{cycle.id} {state}: không thể thao tác.")


def _cancel(session: Session, where: Iterable[Any], why: str, now: dt.datetime) -> int:
    """Cancel queued messages (see the module's docstring)."""
    stmt = (
        update(Notification)
        .where(col(Notification.state) == NotificationState.pending, *where)
        .values(next_attempt_at=None, last_error=CANCELLED_MARK + why, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(session.connection().execute(stmt).rowcount)


# --- pause and resume ------------------------------------------------------------------


def pause(
    session: Session, cycle_id: int, *, actor: str, now: dt.datetime, reason: str | None = None
) -> Done:
    cycle = get_cycle(session, cycle_id)
    _need_open(cycle)
    if paused(session, cycle_id) is not None:
        raise ActionError(f"Kỳ #{cycle_id} đang tạm dừng rồi.")
    session.add(CyclePause(cycle_id=cycle_id, paused_at=now, actor=actor, reason=reason))
    moved = session.connection().execute(
        update(Submission)
        .where(col(Submission.cycle_id) == cycle_id, col(Submission.next_action_at).is_not(None))
        .values(next_action_at=None, next_action_stage=None)
        .execution_options(synchronize_session=False)
    )
    _record(session, "pause", actor=actor, now=now, cycle_id=cycle_id, reason=reason)
    session.flush()
    return Done("pause", rows=int(moved.rowcount))


def resume(
    session: Session,
    cycle_id: int,
    *,
    actor: str,
    now: dt.datetime,
    reason: str | None = None,
    calendar: WorkCalendar | None = None,
) -> Done:
    cycle = get_cycle(session, cycle_id)
    hold = paused(session, cycle_id)
    if hold is None:
        raise ActionError(f"Kỳ #{cycle_id} không tạm dừng.")
    session.execute(delete(CyclePause).where(col(CyclePause.cycle_id) == cycle_id))
    obligation = session.get(Obligation, cycle.obligation_id)
    assert obligation is not None
    cal = calendar or packaged_calendar()
    moved = _replan_rows(session, cycle, obligation, now=now, calendar=cal)
    stale = [
        col(Notification.cycle_id) == cycle_id,
        col(Notification.next_attempt_at) < now,
        *[~col(Notification.stage).startswith(k) for k in _KEEP_ON_RESUME],
    ]
    cancelled = _cancel(session, stale, "quá thời điểm gửi khi kỳ tạm dừng", now)
    _record(
        session,
        "resume",
        actor=actor,
        now=now,
        cycle_id=cycle_id,
        reason=reason,
        paused_at=hold.paused_at.isoformat(),
        cancelled=cancelled,
    )
    session.flush()
    return Done("resume", rows=moved, cancelled=cancelled)


def _replan_rows(
    session: Session,
    cycle: ReportCycle,
    obligation: Obligation,
    *,
    now: dt.datetime,
    calendar: WorkCalendar,
    only: int | None = None,
) -> int:
    """Each row still owing its report (or only submission ``only``) at the first stage
    of its ladder still ahead (none while the cycle is paused: resume sets it); pending
    ones whose deadline passed become late."""
    dues = extended_dues(session, cycle.id)
    silent = paused(session, cycle.id) is not None
    stmt = select(Submission).where(
        Submission.cycle_id == cycle.id, col(Submission.state).in_(NOT_SUBMITTED)
    )
    if only is not None:
        stmt = stmt.where(Submission.id == only)
    moved = 0
    for sub in session.exec(stmt).all():
        due = dues.get(sub.agency_id, cycle.due_at)
        coming = next(
            (s for s in agency_stages(obligation, cycle, due, calendar) if s.at > now), None
        )
        if silent:
            coming = None
        sub.next_action_at = coming.at if coming else None
        sub.next_action_stage = coming.name if coming else None
        sub.state = SubmissionState.late if now >= due else SubmissionState.pending
        session.add(sub)
        moved += 1
    return moved


# --- one agency -----------------------------------------------------------------------


def excuse(
    session: Session,
    cycle_id: int,
    agency_key: str | int,
    *,
    actor: str,
    now: dt.datetime,
    reason: str | None,
) -> Done:
    why = _need_reason(reason)
    cycle = get_cycle(session, cycle_id)
    agency = find_agency(session, agency_key)
    sub = submission_of(session, cycle_id, agency)
    if sub.state == SubmissionState.excused:
        raise ActionError(f"{agency.name} đã được miễn nộp ở kỳ #{cycle_id}.")
    if sub.state == SubmissionState.submitted:
        raise ActionError(f"{agency.name} đã nộp báo cáo kỳ #{cycle_id}: không cần miễn.")
    _ = cycle
    sub.state = SubmissionState.excused
    sub.next_action_at = None
    sub.next_action_stage = None
    session.add(sub)
    cancelled = _cancel(
        session,
        [col(Notification.cycle_id) == cycle_id, col(Notification.agency_id) == agency.id],
        "cơ quan được miễn nộp",
        now,
    )
    _record(
        session, "excuse", actor=actor, now=now, cycle_id=cycle_id, agency_id=agency.id, reason=why
    )
    session.flush()
    return Done("excuse", rows=1, cancelled=cancelled)


def parse_day(text: str) -> dt.date:
    """A date as 28/12/2026 or 2026-12-28 (a browser's date field); ``ActionError``
    in Vietnamese otherwise."""
    value = text.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ActionError(f"Ngày không hợp lệ: “{value}” (ví dụ 28/12/2026).")


def due_on(cycle: ReportCycle, day: dt.date) -> dt.datetime:
    """A deadline on ``day`` at the cycle's own time of day (23:59:59, "24 giờ 00", for a
    deadline without a stated time)."""
    local = cycle.due_at.astimezone(TZ)
    return dt.datetime.combine(day, local.time(), tzinfo=TZ).astimezone(dt.UTC)


def past_lead_due(
    session: Session, cycle: ReportCycle, agency: Agency, until: dt.date
) -> str | None:
    """The warning, in Vietnamese, when extending ``agency`` to ``until`` puts its
    deadline after the lead Sở's own deadline to the recipient (Điều 8: the agencies'
    deadline comes first, so the lead can consolidate); None otherwise. Allowed all the
    same: the administrator may know that the lead will send this report later."""
    new_due = due_on(cycle, until)
    if cycle.lead_due_at is None or new_due <= cycle.lead_due_at:
        return None
    obligation = session.get(Obligation, cycle.obligation_id)
    lead = session.get(Agency, obligation.lead_agency_id) if obligation else None
    to = session.get(Agency, obligation.recipient_agency_id) if obligation else None
    lead_name = lead.name if lead else "cơ quan chủ trì"
    to_name = to.name if to else "cơ quan nhận báo cáo"
    return (
        f"Lưu ý: hạn mới của {agency.name} ({local_text(new_due)}) muộn hơn hạn {lead_name} "
        f"phải báo cáo {to_name} ({local_text(cycle.lead_due_at)}): {lead_name} sẽ phải "
        "tổng hợp khi chưa có báo cáo của cơ quan này."
    )


def extend(
    session: Session,
    cycle_id: int,
    agency_key: str | int,
    *,
    until: dt.date,
    actor: str,
    now: dt.datetime,
    reason: str | None,
    calendar: WorkCalendar | None = None,
) -> Done:
    """That agency's own deadline becomes ``until`` (at the cycle's time of day); its
    ladder is rebuilt on it from ``now`` on, and it is told (queued messages about the
    old deadline are cancelled, one notice of the new one is queued)."""
    why = _need_reason(reason)
    cal = calendar or packaged_calendar()
    cycle = get_cycle(session, cycle_id)
    _need_open(cycle)
    agency = find_agency(session, agency_key)
    sub = submission_of(session, cycle_id, agency)
    if sub.state in (SubmissionState.submitted, SubmissionState.excused):
        said = "đã nộp" if sub.state == SubmissionState.submitted else "đã được miễn nộp"
        raise ActionError(f"{agency.name} {said} ở kỳ #{cycle_id}: không cần gia hạn.")
    if not cal.is_working_day(until):
        raise ActionError(f"Ngày {until:%d/%m/%Y} là ngày nghỉ: chọn một ngày làm việc.")
    new_due = due_on(cycle, until)
    before = agency_due(session, cycle, agency.id or 0)
    if new_due <= before:
        raise ActionError(
            f"Hạn mới phải sau hạn hiện tại ({before.astimezone(TZ):%d/%m/%Y %H:%M})."
        )
    if new_due <= now:
        raise ActionError("Hạn mới đã qua.")
    _grant(session, sub, new_due, actor=actor, now=now, reason=why)
    obligation = session.get(Obligation, cycle.obligation_id)
    assert obligation is not None and sub.id is not None
    _replan_rows(session, cycle, obligation, now=now, calendar=cal, only=sub.id)
    stages = agency_stages(obligation, cycle, new_due, cal)
    last = max([s.at for s in stages] + [new_due])
    if cycle.closes_at is None or cycle.closes_at < last:
        cycle.closes_at = last  # the cycle stays open to the end of this agency's ladder
        session.add(cycle)
    cancelled = _cancel(
        session,
        [
            col(Notification.cycle_id) == cycle_id,
            col(Notification.agency_id) == agency.id,
            ~col(Notification.stage).startswith("receipt"),
            ~col(Notification.stage).startswith("opened"),
        ],
        "hạn đã được gia hạn",
        now,
    )
    row = _record(
        session,
        "extend",
        actor=actor,
        now=now,
        cycle_id=cycle_id,
        agency_id=agency.id,
        reason=why,
        before=before.isoformat(),
        until=new_due.isoformat(),
    )
    session.flush()
    warning = past_lead_due(session, cycle, agency, until)
    return Done("extend", rows=1, cancelled=cancelled, ref=row.id, warning=warning)


def _grant(
    session: Session,
    sub: Submission,
    due: dt.datetime,
    *,
    actor: str,
    now: dt.datetime,
    reason: str,
) -> None:
    assert sub.id is not None
    row = session.get(SubmissionExtension, sub.id)
    if row is None:
        row = SubmissionExtension(
            submission_id=sub.id, due_at=due, granted_at=now, actor=actor, reason=reason
        )
    else:
        row.due_at, row.granted_at, row.actor, row.reason = due, now, actor, reason
    session.add(row)


# Renders an agency's ladder stage again (``notifications.notices.fresh_agency_payload``):
# the notifications layer, handed in so that models stay below it.
Rerender = Callable[..., dict[str, Any]]


def resend(
    session: Session,
    cycle_id: int,
    agency_key: str | int,
    *,
    actor: str,
    now: dt.datetime,
    rerender: Rerender,
) -> Done:
    """The agency's latest opening notice or reminder (each channel) is due again now. A
    row sent before keeps no body (``outbox.sent_payload``): it is rendered again as of
    ``now`` (days left counted afresh), an extension's notice aside (its stage is no
    ladder stage: the latest ladder message goes instead)."""
    get_cycle(session, cycle_id)
    if paused(session, cycle_id) is not None:
        raise ActionError(f"Kỳ #{cycle_id} đang tạm dừng: tiếp tục kỳ trước khi gửi lại.")
    agency = find_agency(session, agency_key)
    sub = submission_of(session, cycle_id, agency)
    if sub.state == SubmissionState.excused:
        raise ActionError(f"{agency.name} đã được miễn nộp ở kỳ #{cycle_id}.")
    rows = session.exec(
        select(Notification)
        .where(
            Notification.cycle_id == cycle_id,
            Notification.agency_id == agency.id,
            col(Notification.state) != NotificationState.sending,
            or_(*[col(Notification.stage).startswith(s) for s in _AGENCY_STAGES]),
        )
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    ).all()
    if not rows:
        raise ActionError(f"Chưa có tin nhắc nào cho {agency.name} ở kỳ #{cycle_id} để gửi lại.")
    kept = [r for r in rows if "text" in r.payload or not r.stage.startswith("extended")]
    if not kept:
        raise ActionError(f"Chưa có tin nhắc nào cho {agency.name} ở kỳ #{cycle_id} để gửi lại.")
    latest = kept[0].stage
    again = [r for r in kept if r.stage == latest and r.id is not None]
    for row in again:
        if "text" not in row.payload:
            row.payload = rerender(session, cycle_id, agency, latest, now=now)
    session.flush()
    ids = [r.id for r in again]
    session.connection().execute(
        update(Notification)
        .where(col(Notification.id).in_(ids))
        .values(
            state=NotificationState.pending,
            next_attempt_at=now,
            attempts=0,
            last_error=None,
            claimed_by=None,
            sent_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    _record(
        session,
        "resend",
        actor=actor,
        now=now,
        cycle_id=cycle_id,
        agency_id=agency.id,
        stage=latest,
        notifications=ids,
    )
    session.flush()
    return Done("resend", requeued=len(ids))


# The stages an agency hears about its own report: the ladder's agency stages (whatever
# a custom ladder calls its reminders, they start so) and a notice of its extension.
_AGENCY_STAGES = ("opened", "reminder-", "due-day", "overdue", "extended")


# --- the outbox ------------------------------------------------------------------------


def retry_failed(
    session: Session,
    *,
    actor: str,
    now: dt.datetime,
    since: dt.datetime | None = None,
    cycle_id: int | None = None,
    channel: str | None = None,
) -> Done:
    """Failed messages (since ``since``, of ``cycle_id``) are due again now, with a fresh
    retry budget; those to an excused agency stay as they are."""
    excused = select(Submission.id).where(
        Submission.cycle_id == Notification.cycle_id,
        Submission.agency_id == Notification.agency_id,
        Submission.state == SubmissionState.excused,
    )
    where = [col(Notification.state) == NotificationState.failed, ~excused.exists()]
    if since is not None:
        # The last try's time (the dispatcher's clock); created_at is the wall clock's.
        where.append(col(Notification.claimed_at) >= since)
    if cycle_id is not None:
        where.append(col(Notification.cycle_id) == cycle_id)
    if channel is not None:
        where.append(col(Notification.channel) == channel)
    result = session.connection().execute(
        update(Notification)
        .where(*where)
        .values(
            state=NotificationState.pending,
            next_attempt_at=now,
            attempts=0,
            claimed_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount)
    _record(
        session,
        "retry",
        actor=actor,
        now=now,
        cycle_id=cycle_id,
        requeued=count,
        since=since.isoformat() if since else None,
    )
    session.flush()
    return Done("retry", requeued=count)


def actions_of(session: Session, cycle_id: int, agency_id: int | None = None) -> list[CycleAction]:
    """The cycle's actions (and the agency's own, when given), oldest first."""
    stmt = select(CycleAction).where(CycleAction.cycle_id == cycle_id)
    if agency_id is not None:
        stmt = stmt.where(
            or_(col(CycleAction.agency_id) == agency_id, col(CycleAction.agency_id).is_(None))
        )
    return list(session.exec(stmt.order_by(col(CycleAction.at), col(CycleAction.id))))
