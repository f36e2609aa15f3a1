"""Agencies ask, administrators answer: a request for more time (gia hạn, with the date
the agency proposes) or an explanation of lateness (giải trình), filed from the
agency's submission link; approved or refused from the dashboard. Approving an
extension is ``models.actions.extend`` — the same code path as the operator's own lever.

Like the actions, every function here takes a session, writes a ``CycleAction`` row and
never commits.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from models.actions import ActionError, Done, _record, extend
from models.agency import Agency
from models.cycle_controls import AgencyRequest, RequestKind, RequestState
from models.db import TZ
from models.tables import ReportCycle, Submission, SubmissionState
from models.workdays import WorkCalendar

KIND_VI = {RequestKind.extension: "Xin gia hạn", RequestKind.explanation: "Giải trình"}
STATE_VI = {
    RequestState.open: "Chờ trả lời",
    RequestState.approved: "Đã chấp thuận",
    RequestState.refused: "Không chấp thuận",
}
MAX_REASON = 2000


def file_request(
    session: Session,
    *,
    cycle: ReportCycle,
    agency: Agency,
    kind: RequestKind,
    reason: str,
    proposed_due: dt.date | None,
    now: dt.datetime,
) -> AgencyRequest:
    """A new open request; one open request of each kind per agency and cycle."""
    text = " ".join(reason.split())
    if not text:
        raise ActionError("Cần ghi lý do.")
    if len(text) > MAX_REASON:
        raise ActionError(f"Lý do quá dài (tối đa {MAX_REASON} ký tự).")
    if kind is RequestKind.extension:
        if proposed_due is None:
            raise ActionError("Cần chọn ngày đề nghị gia hạn đến.")
        current = cycle.due_at.astimezone(TZ).date()
        if proposed_due <= now.astimezone(TZ).date() or proposed_due <= current:
            raise ActionError("Ngày đề nghị phải sau hạn hiện tại.")
    else:
        proposed_due = None
    if _open_of(session, cycle.id, agency.id, kind) is not None:
        raise ActionError("Quý cơ quan đã gửi một đề nghị cùng loại đang chờ trả lời.")
    sub = session.exec(
        select(Submission).where(Submission.cycle_id == cycle.id, Submission.agency_id == agency.id)
    ).first()
    if sub is not None and sub.state == SubmissionState.excused:
        raise ActionError("Quý cơ quan đã được miễn nộp báo cáo kỳ này.")
    assert cycle.id is not None and agency.id is not None
    request = AgencyRequest(
        cycle_id=cycle.id,
        agency_id=agency.id,
        kind=kind,
        proposed_due=proposed_due,
        reason=text,
        created_at=now,
    )
    session.add(request)
    session.flush()
    _record(
        session,
        f"request.{kind}",
        actor=agency.code,
        now=now,
        cycle_id=cycle.id,
        agency_id=agency.id,
        reason=text,
        request=request.id,
    )
    return request


def _open_of(
    session: Session, cycle_id: int | None, agency_id: int | None, kind: RequestKind
) -> AgencyRequest | None:
    return session.exec(
        select(AgencyRequest).where(
            AgencyRequest.cycle_id == cycle_id,
            AgencyRequest.agency_id == agency_id,
            AgencyRequest.kind == kind,
            AgencyRequest.state == RequestState.open,
        )
    ).first()


def requests_of(
    session: Session, cycle_id: int, agency_id: int | None = None
) -> list[AgencyRequest]:
    stmt = select(AgencyRequest).where(AgencyRequest.cycle_id == cycle_id)
    if agency_id is not None:
        stmt = stmt.where(AgencyRequest.agency_id == agency_id)
    return list(session.exec(stmt.order_by(col(AgencyRequest.created_at))))


def open_requests(session: Session) -> list[tuple[AgencyRequest, Agency]]:
    stmt = (
        select(AgencyRequest, Agency)
        .join(Agency, col(Agency.id) == AgencyRequest.agency_id)
        .where(AgencyRequest.state == RequestState.open)
        .order_by(col(AgencyRequest.created_at), col(AgencyRequest.id))
    )
    return [(r, a) for r, a in session.exec(stmt)]


def decide(
    session: Session,
    request_id: int,
    *,
    approve: bool,
    answer: str | None,
    actor: str,
    now: dt.datetime,
    until: dt.date | None = None,
    calendar: WorkCalendar | None = None,
) -> tuple[AgencyRequest, Done | None]:
    """Approve or refuse an open request; approving an extension extends the agency's
    deadline to ``until`` (default: the date it proposed). A refusal needs a reason."""
    request = session.get(AgencyRequest, request_id, with_for_update=True)
    if request is None:
        raise ActionError(f"Không có đề nghị #{request_id}.")
    if request.state != RequestState.open:
        raise ActionError(f"Đề nghị #{request_id} đã được trả lời.")
    text = " ".join((answer or "").split()) or None
    if not approve and text is None:
        raise ActionError("Cần ghi lý do không chấp thuận.")
    done = None
    if approve and request.kind is RequestKind.extension:
        day = until or request.proposed_due
        assert day is not None
        done = extend(
            session,
            request.cycle_id,
            request.agency_id,
            until=day,
            actor=actor,
            now=now,
            reason=text or f"chấp thuận đề nghị gia hạn #{request_id}: {request.reason}",
            calendar=calendar,
        )
        request.proposed_due = day
    request.state = RequestState.approved if approve else RequestState.refused
    request.decided_at, request.decided_by, request.answer = now, actor, text
    session.add(request)
    _record(
        session,
        "request.approved" if approve else "request.refused",
        actor=actor,
        now=now,
        cycle_id=request.cycle_id,
        agency_id=request.agency_id,
        reason=text,
        request=request_id,
    )
    session.flush()
    return request, done
