"""One agency's history in one cycle, and the operator's levers, behind the dashboard's
login (Vietnamese):

=====================================================  ====================================
GET  /admin/cycles/{cycle_id}/agencies/{code}          its deadline (its own when extended),
                                                       state, versions (each a download
                                                       link), notes, every message with
                                                       channel and status, its requests,
                                                       the actions taken; the buttons
POST /admin/cycles/{cycle_id}/agencies/{code}          excuse / extend / resend for the
                                                       agency, pause / resume for the cycle:
                                                       first a confirmation page, then the
                                                       action (``confirm=1``) and back here
=====================================================  ====================================

Every POST is checked like the dashboard's own (origin, CSRF token bound to the session's
nonce cookie); the rules and the audit row are ``models.actions`` — the CLI's code path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from models.actions import (
    ActionError,
    actions_of,
    agency_due,
    excuse,
    find_agency,
    get_cycle,
    parse_day,
    past_lead_due,
    pause,
    paused,
    resend,
    resume,
)
from models.agency import Agency
from models.calendar import period_label
from models.compliance import Cell, cell_state
from models.cycle_controls import AgencyRequest, CycleAction
from models.requests import KIND_VI, STATE_VI, requests_of
from models.submissions import versions_of
from models.tables import Notification, ReportCycle, Submission, SubmissionVersion
from notifications.notices import fresh_agency_payload
from portal.admin_pages import admin_page, error_response, origin_ok, read_form, to_login
from portal.auth import new_nonce
from portal.deps import ADMIN_PREFIX, CSRF_COOKIE, admin_of, admin_session

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)

CELL_VI = {
    Cell.on_time: "Đã nộp đúng hạn",
    Cell.late: "Đã nộp, sau hạn",
    Cell.missing: "Quá hạn, chưa nộp",
    Cell.not_yet_due: "Chưa đến hạn",
    Cell.excused: "Được miễn nộp",
}
NOTE_VI = {"pending": "Chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "failed": "Thất bại"}
ACTION_VI = {
    "pause": "Tạm dừng kỳ",
    "resume": "Tiếp tục kỳ",
    "excuse": "Miễn nộp",
    "extend": "Gia hạn",
    "resend": "Gửi lại tin nhắc",
    "retry": "Gửi lại tin thất bại",
    "request.extension": "Cơ quan xin gia hạn",
    "request.explanation": "Cơ quan giải trình",
    "request.approved": "Chấp thuận đề nghị",
    "request.refused": "Không chấp thuận đề nghị",
}
# What each button does, said on the confirmation page.
CONFIRM_VI = {
    "excuse": "Miễn nộp báo cáo kỳ này cho {agency}: cơ quan không còn nhận tin nhắc, ô của "
    "cơ quan hiện “được miễn” ở mọi nơi.",
    "extend": "Gia hạn cho {agency} đến {until}: hạn, tin nhắc và đôn đốc của cơ quan dời "
    "theo hạn mới; cơ quan được báo qua các kênh liên lạc.",
    "resend": "Gửi lại ngay tin mở kỳ hoặc tin nhắc gần nhất cho {agency}.",
    "pause": "Tạm dừng cả kỳ {cycle}: không tin nào của kỳ được gửi cho đến khi tiếp tục.",
    "resume": "Tiếp tục kỳ {cycle} ở mốc nhắc kế tiếp; tin nhắc đã lỡ khi tạm dừng bị bỏ.",
}
DONE_VI = {
    "excuse": "Đã miễn nộp.",
    "extend": "Đã gia hạn; cơ quan sẽ được báo.",
    "resend": "Đã xếp tin gửi lại ở lượt quét kế tiếp.",
    "pause": "Đã tạm dừng kỳ.",
    "resume": "Đã tiếp tục kỳ.",
}
NEEDS_REASON = ("excuse", "extend")


def page_url(cycle_id: int, code: str) -> str:
    return f"{ADMIN_PREFIX}/cycles/{cycle_id}/agencies/{quote(code, safe='')}"


@dataclass(frozen=True, slots=True)
class MessageRow:
    stage: str
    channel: str
    state: str
    attempts: int
    at: dt.datetime | None  # sent, else due
    error: str | None


@dataclass(slots=True)
class History:
    cycle: ReportCycle
    title: str
    period: str
    agency: Agency
    submission: Submission
    due: dt.datetime
    extended: bool
    cell: Cell
    paused_at: dt.datetime | None
    versions: list[SubmissionVersion]
    messages: list[MessageRow]
    requests: list[AgencyRequest]
    actions: list[CycleAction]


def history(session: Session, cycle_id: int, code: str, now: dt.datetime) -> History:
    from notifications.notices import cycle_facts

    cycle = get_cycle(session, cycle_id)
    agency = find_agency(session, code)
    sub = session.exec(
        select(Submission).where(Submission.cycle_id == cycle_id, Submission.agency_id == agency.id)
    ).first()
    if sub is None or agency.id is None:
        raise ActionError(f"{agency.name} không phải nộp báo cáo ở kỳ #{cycle_id}.")
    due = agency_due(session, cycle, agency.id)
    hold = paused(session, cycle_id)
    notes = session.exec(
        select(Notification)
        .where(Notification.cycle_id == cycle_id, Notification.agency_id == agency.id)
        .order_by(col(Notification.id))
    ).all()
    return History(
        cycle=cycle,
        title=cycle_facts(session, cycle_id).title,
        period=period_label(cycle.period_key),
        agency=agency,
        submission=sub,
        due=due,
        extended=due != cycle.due_at,
        cell=cell_state(str(sub.state), sub.submitted_at, due, now),
        paused_at=hold.paused_at if hold else None,
        versions=versions_of(session, sub.id or 0),
        messages=[
            MessageRow(
                n.stage,
                n.channel,
                str(n.state),
                n.attempts,
                n.sent_at or n.next_attempt_at,
                n.last_error,
            )
            for n in notes
        ],
        requests=requests_of(session, cycle_id, agency.id),
        actions=actions_of(session, cycle_id, agency.id),
    )


def _render(
    request: Request,
    user: str,
    found: History,
    *,
    error: str | None = None,
    done: str | None = None,
    status: int = 200,
) -> Response:
    dash = admin_of(request)
    nonce = request.cookies.get(CSRF_COOKIE) or new_nonce()
    context: dict[str, Any] = {
        "user": user,
        "csrf": dash.csrf(request, nonce),
        "h": found,
        "action": page_url(found.cycle.id or 0, found.agency.code),
        "files": f"{ADMIN_PREFIX}/files",
        "cell_vi": CELL_VI,
        "note_vi": NOTE_VI,
        "action_vi": ACTION_VI,
        "kind_vi": KIND_VI,
        "state_vi": STATE_VI,
        "error": error,
        "done": done,
        "today": dash.now(request).date().isoformat(),
    }
    response = admin_page("admin/cycle_agency.html", context, status=status)
    dash.cookie(response, CSRF_COOKIE, nonce, max_age=None)
    return response


@router.get("/cycles/{cycle_id}/agencies/{code}")
def agency_history(request: Request, cycle_id: int, code: str) -> Response:
    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)
    with admin_session(request) as session:
        try:
            found = history(session, cycle_id, code, dash.now(request))
        except ActionError as exc:
            return error_response(404, "Không tìm thấy", str(exc))
        done = DONE_VI.get(request.query_params.get("done", ""))
        return _render(request, user, found, done=done)


@router.post("/cycles/{cycle_id}/agencies/{code}")
async def act(request: Request, cycle_id: int, code: str) -> Response:
    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)
    form = await read_form(request)
    if form is None or not origin_ok(request, dash) or not dash.csrf_ok(request, form):
        return error_response(403, "Yêu cầu không hợp lệ", "Biểu mẫu đã hết hạn: tải lại trang.")
    action = form.get("action", "")
    if action not in CONFIRM_VI:
        return error_response(400, "Yêu cầu không hợp lệ", "Thao tác không có.")
    return await run_in_threadpool(_act, request, user, cycle_id, code, action, form)


def _act(
    request: Request, user: str, cycle_id: int, code: str, action: str, form: dict[str, str]
) -> Response:
    dash = admin_of(request)
    now = dash.now(request)
    with admin_session(request) as session:
        try:
            found = history(session, cycle_id, code, now)
        except ActionError as exc:
            return error_response(404, "Không tìm thấy", str(exc))
        try:
            until = _check(action, form)
            if form.get("confirm") != "1":
                return _confirm(request, session, found, action, form, until)
            _run(session, action, cycle_id, code, user, now, form, until)
            session.commit()
        except ActionError as exc:
            session.rollback()
            return _render(request, user, found, error=str(exc), status=400)
    moved = RedirectResponse(f"{page_url(cycle_id, code)}?done={action}", status_code=303)
    moved.headers["Cache-Control"] = "no-store"
    return moved


def _check(action: str, form: dict[str, str]) -> dt.date | None:
    """The form's own mistakes, before anything is asked or done."""
    if action in NEEDS_REASON and not form.get("reason", "").strip():
        raise ActionError("Cần ghi lý do.")
    if action == "extend":
        return parse_day(form.get("until", ""))
    return None


def _run(
    session: Session,
    action: str,
    cycle_id: int,
    code: str,
    user: str,
    now: dt.datetime,
    form: dict[str, str],
    until: dt.date | None,
) -> None:
    from notifications.answers import extend_and_tell

    reason = form.get("reason") or None
    if action == "excuse":
        excuse(session, cycle_id, code, actor=user, now=now, reason=reason)
    elif action == "extend":
        assert until is not None
        extend_and_tell(session, cycle_id, code, until=until, actor=user, now=now, reason=reason)
    elif action == "resend":
        resend(session, cycle_id, code, actor=user, now=now, rerender=fresh_agency_payload)
    elif action == "pause":
        pause(session, cycle_id, actor=user, now=now, reason=reason)
    else:
        resume(session, cycle_id, actor=user, now=now, reason=reason)


def _confirm(
    request: Request,
    session: Session,
    found: History,
    action: str,
    form: dict[str, str],
    until: dt.date | None,
) -> Response:
    dash = admin_of(request)
    nonce = request.cookies.get(CSRF_COOKIE) or new_nonce()
    said = CONFIRM_VI[action].format(
        agency=found.agency.name,
        until=f"{until:%d/%m/%Y}" if until else "",
        cycle=f"{found.title} · {found.period}",
    )
    context: dict[str, Any] = {
        "user": dash.user(request) or "",
        "csrf": dash.csrf(request, nonce),
        "title": ACTION_VI[action],
        "said": said,
        "action": page_url(found.cycle.id or 0, found.agency.code),
        "back": page_url(found.cycle.id or 0, found.agency.code),
        "fields": {
            "action": action,
            "reason": form.get("reason", ""),
            "until": until.isoformat() if until else "",
        },
        "reason": form.get("reason", ""),
        # An extension past the lead Sở's own deadline is allowed, but said first.
        "warning": past_lead_due(session, found.cycle, found.agency, until)
        if action == "extend" and until is not None
        else None,
    }
    response = admin_page("admin/confirm.html", context)
    dash.cookie(response, CSRF_COOKIE, nonce, max_age=None)
    return response
