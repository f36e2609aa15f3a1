"""The agencies' pages, each behind a signed personal link (``models.links``):

- ``GET /submit/{token}``: one cycle for one agency — the directive, the clause, the
  period, the deadline, the lead Sở, the status and the versions handed in so far, and
  the form to hand in the report;
- ``POST /submit/{token}``: the upload (``portal.storage`` streams it, ``portal.upload``
  stores and records it and queues the receipt message, then 303 to the receipt);
- ``GET /submit/{token}/receipt/{first}-{last}``: what one upload recorded.

The agency's own page, its calendar and the lead's view live in ``portal.views``.

A link that is forged, expired, for another purpose, or names a submission that does
not exist is refused with 403 and a page saying so, before anything is read or written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Concatenate, ParamSpec, TypeVar

from anyio import to_thread
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select
from starlette.requests import ClientDisconnect

from flows.events import SUBMISSION_RECEIVED, submission_event_name
from models.actions import agency_due
from models.agency import Agency
from models.calendar import period_label
from models.guards import link_revoked, unrevoked_submission
from models.links import BadLink, LinkClaims, read_token
from models.submissions import (
    Received,
    versions_between,
    versions_of,
)
from models.tables import (
    CycleState,
    ReportCycle,
    Submission,
    SubmissionState,
    SubmissionVersion,
)
from notifications.notices import CycleFacts, cycle_facts
from portal.deps import Portal, log, portal_of
from portal.pages import error_page, page
from portal.security import CSRF_FIELD, csrf_ok, csrf_token, looks_like_token
from portal.storage import KINDS, UploadRejected, read_upload
from portal.upload import NOTE_LIMIT, accept, after_upload

P = ParamSpec("P")
T = TypeVar("T")
router = APIRouter()
ACCEPT = ".pdf,.docx,.xlsx,.zip"
BUSY_RETRY_SECONDS = 30
TOO_MANY = (
    "Đang có quá nhiều lượt nộp báo cáo cùng lúc (hoặc cơ quan đang có lượt nộp khác chưa "
    "xong); chưa có tệp nào được ghi nhận. Đề nghị thử nộp lại sau ít phút."
)


class LinkRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


async def link_refused(request: Request, exc: Exception) -> HTMLResponse:
    expired = isinstance(exc, LinkRefused) and exc.reason == "expired"
    if expired:
        title = "Đường dẫn đã hết hạn"
        message = "Đường dẫn nộp báo cáo này đã hết thời hạn sử dụng."
    else:
        title = "Đường dẫn không hợp lệ"
        message = (
            "Đường dẫn này không đúng hoặc không dùng được cho trang này. Đề nghị mở lại "
            "đường dẫn trong thư hoặc tin nhắn Zalo mới nhất, không sửa hay cắt bớt."
        )
    hint = "Cần hỗ trợ, liên hệ Văn phòng UBND tỉnh hoặc Sở chủ trì tổng hợp báo cáo."
    return _unread(request, error_page(403, title, message, hint=hint))


def _unread(request: Request, response: HTMLResponse) -> HTMLResponse:
    """A refused POST whose body was left unread: the connection closes after the answer,
    so the server does not go on receiving (and discarding) the rest of the upload."""
    if request.method == "POST":
        response.headers["Connection"] = "close"
    return response


def _claims(portal: Portal, token: str, purpose: str, now: dt.datetime) -> LinkClaims:
    claims = _signed(portal, token, purpose, now)
    if _in_session(portal, _revoked, claims):
        raise LinkRefused("invalid")
    return claims


def _signed(portal: Portal, token: str, purpose: str, now: dt.datetime) -> LinkClaims:
    """The claims of a well-signed, unexpired link for ``purpose`` (revocations are
    ``_claims``' to check)."""
    if not looks_like_token(token):
        raise LinkRefused("invalid")
    try:
        claims = read_token(token, purpose=purpose, now=now, key=portal.key)
    except BadLink as exc:
        raise LinkRefused("expired" if "expired" in str(exc) else "invalid") from None
    except (KeyError, TypeError, ValueError):  # a signed payload we never wrote
        raise LinkRefused("invalid") from None
    if claims.purpose != purpose or claims.agency_id is None:
        raise LinkRefused("invalid")
    if purpose == "submit" and claims.cycle_id is None:
        raise LinkRefused("invalid")
    return claims


def _revoked(session: Session, claims: LinkClaims) -> bool:
    return link_revoked(
        session, agency_id=claims.agency_id, cycle_id=claims.cycle_id, issued=claims.issued
    )


# --- what the pages show ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    label: str
    css: str  # "ok", "late", "missing", "due", "excused"


def status_of(sub: Submission, cycle: ReportCycle, now: dt.datetime) -> Status:
    if sub.state == SubmissionState.excused:
        return Status("Được miễn nộp", "excused")
    if sub.submitted_at is not None:
        if sub.submitted_at > cycle.due_at:
            return Status("Đã nộp, sau hạn", "late")
        return Status("Đã nộp đúng hạn", "ok")
    if now > cycle.due_at or sub.state == SubmissionState.late:
        return Status("Quá hạn, chưa nộp", "missing")
    return Status("Chưa nộp", "due")


@dataclass(frozen=True, slots=True)
class SubmitView:
    facts: CycleFacts
    agency: Agency
    submission: Submission
    versions: list[SubmissionVersion]
    status: Status
    period: str
    lead: str | None
    overdue: bool  # a new version now would be late
    closed: bool


def _submission(session: Session, claims: LinkClaims) -> Submission:
    stmt = select(Submission).where(
        Submission.cycle_id == claims.cycle_id, Submission.agency_id == claims.agency_id
    )
    found = session.exec(stmt).first()
    if found is None:  # a genuine link to a pairing that is not (or no longer) a duty
        raise LinkRefused("invalid")
    return found


def _submit_view(session: Session, claims: LinkClaims, now: dt.datetime) -> SubmitView:
    sub = _submission(session, claims)
    facts = cycle_facts(session, sub.cycle_id)
    agency = session.get(Agency, sub.agency_id)
    assert agency is not None  # RESTRICT foreign key
    lead = facts.lead.name if facts.lead else facts.obligation.via_phrase
    due = agency_due(session, facts.cycle, sub.agency_id)  # its own, when extended
    own = ReportCycle(**{**facts.cycle.model_dump(), "due_at": due})
    return SubmitView(
        facts=replace(facts, cycle=own),  # every date on the page is the agency's own
        agency=agency,
        submission=sub,
        versions=versions_of(session, sub.id or 0),
        status=status_of(sub, own, now),
        period=period_label(facts.cycle.period_key),
        lead=lead,
        overdue=now > due,
        closed=facts.cycle.state == CycleState.closed,
    )


def _submit_page(
    portal: Portal,
    token: str,
    view: SubmitView,
    now: dt.datetime,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        "submit/page.html",
        status=status,
        view=view,
        action=f"/submit/{token}",
        csrf_field=CSRF_FIELD,
        csrf=csrf_token(portal.key, token, now=now),
        accept=ACCEPT,
        kinds=", ".join(KINDS.values()),
        max_mb=f"{portal.limits.max_bytes / (1024 * 1024):g}",
        max_files=portal.limits.max_files,
        note_limit=NOTE_LIMIT,
        error=error,
    )


def _in_session(
    portal: Portal, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``fn`` with a session of its own that only reads (nothing is committed)."""
    with Session(portal.engine, expire_on_commit=False) as session:
        return fn(session, *args, **kwargs)


@router.get("/submit/{token}", response_class=HTMLResponse)
def submit_page(request: Request, token: str) -> HTMLResponse:
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "submit", now)
    view: SubmitView = _in_session(portal, _submit_view, claims, now)
    return _submit_page(portal, token, view, now)


# --- the upload -------------------------------------------------------------------------------


@router.post("/submit/{token}")
async def submit_upload(request: Request, token: str, background: BackgroundTasks) -> Response:
    portal = portal_of(request)
    now = portal.clock()
    claims, sub_id, agency_id = await to_thread.run_sync(_upload_target, portal, token, now)
    with portal.gate.admit(agency_id) as admitted:
        if not admitted:  # refused before a byte of the body is read
            busy = UploadRejected(503, "too-many-uploads", TOO_MANY)
            refused = _unread(request, await _rejected(portal, token, claims, busy))
            refused.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
            return refused
        return await _upload(request, portal, token, claims, sub_id, background)


def _upload_target(portal: Portal, token: str, now: dt.datetime) -> tuple[LinkClaims, int, int]:
    """The link's claims, its submission's id and agency: one trip to a worker thread,
    one query on a connection (no session)."""
    claims = _signed(portal, token, "submit", now)
    assert claims.agency_id is not None and claims.cycle_id is not None  # _signed: "submit"
    with portal.engine.connect() as conn:
        found = unrevoked_submission(
            conn, agency_id=claims.agency_id, cycle_id=claims.cycle_id, issued=claims.issued
        )
    if found is None:  # not (or no longer) a duty, or its links were revoked since
        raise LinkRefused("invalid")
    return claims, found, claims.agency_id


async def _upload(
    request: Request,
    portal: Portal,
    token: str,
    claims: LinkClaims,
    submission_id: int,
    background: BackgroundTasks,
) -> Response:
    now = portal.clock()

    def guard(fields: Mapping[str, str]) -> None:
        if not csrf_ok(portal.key, token, fields.get(CSRF_FIELD), now=now):
            raise UploadRejected(
                403,
                "csrf",
                "Phiên làm việc của trang đã hết hạn hoặc biểu mẫu không hợp lệ. Đề nghị tải "
                "lại trang rồi chọn tệp và nộp lại.",
            )

    try:
        form = await read_upload(
            request.stream(),
            content_type=request.headers.get("content-type"),
            content_length=_content_length(request),
            limits=portal.limits,
            guard=guard,
        )
    except UploadRejected as exc:
        return _unread(request, await _rejected(portal, token, claims, exc))
    except ClientDisconnect:  # the agency closed the page mid-upload: nothing was kept
        return Response(status_code=400)
    try:
        got = await to_thread.run_sync(partial(accept, portal, submission_id, form))
    except UploadRejected as exc:
        refused = await _rejected(portal, token, claims, exc)
        if exc.status == 503:
            refused.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return refused
    finally:
        form.close()
    background.add_task(_after_upload, portal, got)
    receipt = f"/submit/{token}/receipt/{got.first_version}-{got.last_version}"
    return RedirectResponse(receipt, status_code=303)


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() else None


async def _rejected(
    portal: Portal, token: str, claims: LinkClaims, exc: UploadRejected
) -> HTMLResponse:
    """The form again, saying why nothing was taken (nothing was written)."""
    now = portal.clock()
    view: SubmitView = await to_thread.run_sync(
        partial(_in_session, portal, _submit_view, claims, now)
    )
    return _submit_page(portal, token, view, now, error=exc.message, status=exc.status)


async def _after_upload(portal: Portal, got: Received) -> None:
    """After the answer, in the same request: the receipt message, then the event named
    from what the receipt read (both in a worker thread, ``portal.upload.after_upload``)."""
    await after_upload(portal, got, partial(_announce, portal, got))


def _announce(portal: Portal, got: Received, name: str | None) -> None:
    """After the response: the custom Prefect event, named as the receipt read it (read
    again only when the receipt failed). Best effort whatever the emitter: the report is
    recorded and confirmed; an event lost is only an automation not run."""
    try:
        portal.emit(
            SUBMISSION_RECEIVED,
            resource_id=f"hanbaocao.submission.{got.submission_id}",
            name=name or submission_event_name(portal.engine, got.submission_id),
            payload={
                "cycle_id": got.cycle_id,
                "agency_id": got.agency_id,
                "versions": [v.version for v in got.versions],
                "late": got.late,
                "at": got.at.isoformat(),
            },
        )
    except Exception as exc:
        log.warning("event %s not emitted: %s: %s", SUBMISSION_RECEIVED, type(exc).__name__, exc)


# --- the receipt ------------------------------------------------------------------------------

_RANGE = re.compile(r"([1-9][0-9]{0,8})-([1-9][0-9]{0,8})")


@router.get("/submit/{token}/receipt/{versions}", response_class=HTMLResponse)
def receipt_page(request: Request, token: str, versions: str) -> HTMLResponse:
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "submit", now)
    found = _RANGE.fullmatch(versions)
    if found is None or int(found[1]) > int(found[2]):
        return error_page(404, "Không tìm thấy biên nhận", "Biên nhận này không tồn tại.")

    def load(session: Session) -> tuple[SubmitView, list[SubmissionVersion]]:
        view = _submit_view(session, claims, now)
        rows = versions_between(session, view.submission.id or 0, int(found[1]), int(found[2]))
        return view, rows

    view, rows = _in_session(portal, load)
    if not rows:
        return error_page(404, "Không tìm thấy biên nhận", "Biên nhận này không tồn tại.")
    return page(
        "submit/receipt.html",
        view=view,
        rows=rows,
        received_at=rows[-1].received_at,
        late=any(r.late for r in rows),
        back=f"/submit/{token}",
    )
