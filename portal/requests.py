"""Agencies ask, administrators answer (Vietnamese pages):

==========================================  ===========================================
GET  /submit/{token}/requests               the agency's requests for this cycle with
                                            their answers; the forms: gia hạn (proposed
                                            date and reason) and giải trình (reason)
POST /submit/{token}/requests               file one (CSRF bound to the link, like the
                                            upload); back to the page
GET  /admin/requests                        the open requests, each with approve / refuse
POST /admin/requests/{id}                   a confirmation page, then the decision
                                            (``confirm=1``): approving an extension
                                            extends (``models.actions.extend``); the
                                            agency is told by its channels either way
==========================================  ===========================================

``agency_router`` serves the agencies (a signed submission link is their key);
``admin_router`` sits behind the dashboard's login.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from models.actions import ActionError, agency_due, parse_day, past_lead_due
from models.agency import Agency
from models.calendar import period_label
from models.cycle_controls import AgencyRequest, RequestKind, RequestState
from models.requests import KIND_VI, STATE_VI, file_request, open_requests, requests_of
from models.tables import ReportCycle, Submission
from portal.admin_pages import admin_page, error_response, origin_ok, read_form, to_login
from portal.auth import new_nonce
from portal.cycle_page import page_url
from portal.deps import ADMIN_PREFIX, CSRF_COOKIE, admin_of, admin_session, portal_of
from portal.pages import page
from portal.security import CSRF_FIELD, csrf_ok, csrf_token

agency_router = APIRouter(include_in_schema=False)
admin_router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)
FORM_BYTES = 16 * 1024
SENT_VI = "Đề nghị đã được gửi. Kết quả sẽ được báo qua thư điện tử hoặc Zalo và hiện ở trang này."


# --- the agency's side ---------------------------------------------------------------------


def _agency_view(session: Session, cycle_id: int, agency_id: int) -> dict[str, Any]:
    from notifications.notices import cycle_facts

    facts = cycle_facts(session, cycle_id)
    agency = session.get(Agency, agency_id)
    sub = session.exec(
        select(Submission).where(Submission.cycle_id == cycle_id, Submission.agency_id == agency_id)
    ).first()
    if agency is None or sub is None:
        from portal.submit import LinkRefused

        raise LinkRefused("invalid")
    return {
        "title": facts.title,
        "period": period_label(facts.cycle.period_key),
        "agency": agency,
        "due": agency_due(session, facts.cycle, agency_id),
        "cycle_due": facts.cycle.due_at,
        "excused": str(sub.state) == "excused",
        "requests": requests_of(session, cycle_id, agency_id),
        "kind_vi": KIND_VI,
        "state_vi": STATE_VI,
    }


def _agency_page(
    request: Request, token: str, *, error: str | None = None, status: int = 200
) -> Response:
    from portal.submit import _claims

    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "submit", now)
    with Session(portal.engine) as session:
        view = _agency_view(session, claims.cycle_id or 0, claims.agency_id or 0)
    sent = SENT_VI if request.query_params.get("sent") == "1" else None
    return page(
        "submit/requests.html",
        status=status,
        v=view,
        back=f"/submit/{token}",
        action=f"/submit/{token}/requests",
        csrf_field=CSRF_FIELD,
        csrf=csrf_token(portal.key, token, now=now),
        error=error,
        sent=sent,
        today=now.astimezone(dt.UTC).date().isoformat(),
    )


@agency_router.get("/submit/{token}/requests")
def agency_requests(request: Request, token: str) -> Response:
    return _agency_page(request, token)


@agency_router.post("/submit/{token}/requests")
async def agency_ask(request: Request, token: str) -> Response:
    from portal.submit import _claims

    portal = portal_of(request)
    now = portal.clock()
    claims = await run_in_threadpool(_claims, portal, token, "submit", now)
    form = await read_form(request, max_bytes=FORM_BYTES, max_fields=8)
    if form is None or not csrf_ok(portal.key, token, form.get(CSRF_FIELD), now=now):
        return error_response(403, "Yêu cầu không hợp lệ", "Biểu mẫu đã hết hạn: tải lại trang.")
    try:
        await run_in_threadpool(_file, portal.engine, claims.cycle_id, claims.agency_id, form, now)
    except ActionError as exc:
        return _agency_page(request, token, error=str(exc), status=400)
    return RedirectResponse(f"/submit/{token}/requests?sent=1", status_code=303)


def _file(
    engine: Any, cycle_id: int | None, agency_id: int | None, form: dict[str, str], now: Any
) -> None:
    kind_text = form.get("kind", "")
    if kind_text not in RequestKind.__members__:
        raise ActionError("Chọn loại đề nghị: xin gia hạn hoặc giải trình.")
    kind = RequestKind(kind_text)
    day = parse_day(form["until"]) if kind is RequestKind.extension and form.get("until") else None
    with Session(engine) as session:
        cycle = session.get(ReportCycle, cycle_id)
        agency = session.get(Agency, agency_id)
        assert cycle is not None and agency is not None  # the link was checked
        file_request(
            session,
            cycle=cycle,
            agency=agency,
            kind=kind,
            reason=form.get("reason", ""),
            proposed_due=day,
            now=now,
        )
        session.commit()


# --- the administrators' side --------------------------------------------------------------


def _open_rows(session: Session) -> list[dict[str, Any]]:
    from notifications.notices import cycle_facts

    rows = []
    for req, agency in open_requests(session):
        facts = cycle_facts(session, req.cycle_id)
        rows.append(
            {
                "r": req,
                "agency": agency,
                "cycle": f"{facts.title} · {period_label(facts.cycle.period_key)}",
                "due": agency_due(session, facts.cycle, req.agency_id),
                "page": page_url(req.cycle_id, agency.code),
            }
        )
    return rows


def _admin_page(
    request: Request, user: str, *, error: str | None = None, status: int = 200
) -> Response:
    dash = admin_of(request)
    nonce = request.cookies.get(CSRF_COOKIE) or new_nonce()
    with admin_session(request) as session:
        rows = _open_rows(session)
    done = {
        "approved": "Đã chấp thuận; cơ quan sẽ được báo.",
        "refused": "Đã trả lời không chấp thuận; cơ quan sẽ được báo.",
    }
    context = {
        "user": user,
        "csrf": dash.csrf(request, nonce),
        "rows": rows,
        "kind_vi": KIND_VI,
        "error": error,
        "done": done.get(request.query_params.get("done", "")),
    }
    response = admin_page("admin/requests.html", context, status=status)
    dash.cookie(response, CSRF_COOKIE, nonce, max_age=None)
    return response


@admin_router.get("/requests")
def requests_page(request: Request) -> Response:
    user = admin_of(request).user(request)
    if user is None:
        return to_login(request)
    return _admin_page(request, user)


@admin_router.post("/requests/{request_id}")
async def answer(request: Request, request_id: int) -> Response:
    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)
    form = await read_form(request, max_bytes=FORM_BYTES)
    if form is None or not origin_ok(request, dash) or not dash.csrf_ok(request, form):
        return error_response(403, "Yêu cầu không hợp lệ", "Biểu mẫu đã hết hạn: tải lại trang.")
    return await run_in_threadpool(_answer, request, user, request_id, form)


def _answer(request: Request, user: str, request_id: int, form: dict[str, str]) -> Response:
    from notifications.answers import answer_and_tell

    decision = form.get("decision", "")
    if decision not in ("approve", "refuse"):
        return error_response(400, "Yêu cầu không hợp lệ", "Chọn chấp thuận hoặc không.")
    approve = decision == "approve"
    now = admin_of(request).now(request)
    with admin_session(request) as session:
        req = session.get(AgencyRequest, request_id)
        if req is None or req.state != RequestState.open:
            return _admin_page(
                request, user, error=f"Đề nghị #{request_id} không còn chờ trả lời.", status=400
            )
        try:
            until = parse_day(form["until"]) if approve and form.get("until") else None
            if not approve and not form.get("answer", "").strip():
                raise ActionError("Cần ghi lý do không chấp thuận.")
            if form.get("confirm") != "1":
                return _confirm(request, session, req, approve, form, until)
            answer_and_tell(
                session, request_id, approve=approve, answer=form.get("answer"), actor=user,
                now=now, until=until,
            )  # fmt: skip
            session.commit()
        except ActionError as exc:
            session.rollback()
            return _admin_page(request, user, error=str(exc), status=400)
    done = "approved" if approve else "refused"
    return RedirectResponse(f"{ADMIN_PREFIX}/requests?done={done}", status_code=303)


def _confirm(
    request: Request,
    session: Session,
    req: AgencyRequest,
    approve: bool,
    form: dict[str, str],
    until: dt.date | None,
) -> Response:
    dash = admin_of(request)
    nonce = request.cookies.get(CSRF_COOKIE) or new_nonce()
    agency = session.get(Agency, req.agency_id)
    assert agency is not None
    kind = KIND_VI[req.kind].lower()
    verdict = "Chấp thuận" if approve else "Không chấp thuận"
    said = f"{verdict} đề nghị {kind} của {agency.name}"
    day = until or (req.proposed_due if approve else None)
    warning = None
    if approve and req.kind is RequestKind.extension and day is not None:
        said += f": hạn mới {day:%d/%m/%Y}; tin nhắc và đôn đốc của cơ quan dời theo"
        cycle = session.get(ReportCycle, req.cycle_id)
        warning = past_lead_due(session, cycle, agency, day) if cycle else None
    said += ". Cơ quan được báo qua các kênh liên lạc."
    context = {
        "user": dash.user(request) or "",
        "csrf": dash.csrf(request, nonce),
        "title": verdict,
        "said": said,
        "action": f"{ADMIN_PREFIX}/requests/{req.id}",
        "back": f"{ADMIN_PREFIX}/requests",
        "fields": {
            "decision": "approve" if approve else "refuse",
            "answer": form.get("answer", ""),
            "until": until.isoformat() if until else "",
        },
        "reason": form.get("answer", ""),
        "warning": warning,  # an extension past the lead Sở's own deadline
    }
    response = admin_page("admin/confirm.html", context)
    dash.cookie(response, CSRF_COOKIE, nonce, max_age=None)
    return response
