"""The administrators' intake pages, behind the dashboard's login (Vietnamese):

========================================  =================================================
GET  /admin/directives                    the directives with their status (proposed,
                                          partly approved, approved, running), the upload
POST /admin/directives                    upload one directive (content read, stored by
                                          hash), ingest it, go to its review page
GET  /admin/directives/{id}               the review page: the text with each obligation's
                                          evidence highlighted by field, one form each
POST /admin/obligations/{id}              save the form's edits, approve or reject — one
                                          transaction, every refusal in words beside it
GET  /admin/obligations/{id}/preview      the next cycles' dates for a frequency and a
                                          deadline rule, as JSON (the form's live preview)
========================================  =================================================

The rules are ``models.review`` / ``models.edits`` — the same gate the CLI calls; this
module turns form fields into their arguments and their ``Problem``s into messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from directives.parsed import FREQUENCY_VI
from models.db import settings
from models.review import Problem, Review, ReviewError
from models.tables import Directive, Obligation
from portal.admin_pages import (
    admin_page,
    error_response,
    no_store,
    origin_ok,
    read_form,
    to_login,
)
from portal.auth import new_nonce
from portal.deps import ADMIN_PREFIX, CSRF_COOKIE, admin_of, admin_session, prefect_configured
from portal.review_view import (
    directive_rows,
    highlighted,
    obligation_views,
)
from portal.storage import MB, Limits, UploadForm, UploadRejected, read_upload

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)
UPLOAD_LIMITS = Limits(max_bytes=32 * MB, max_files=1, max_fields=4)
FORM_BYTES = 64 * 1024  # an obligation's form: a ladder in YAML at most
FREQUENCIES = (*FREQUENCY_VI, "nine_months")


def _review(request: Request, session: Session, user: str) -> Review:
    return Review(session, admin_of(request).now(request), settings().province, user)


def _data_dir(request: Request) -> Path:
    portal = getattr(request.app.state, "portal", None)
    return portal.data_dir if portal is not None else settings().data_dir


def _context(request: Request, user: str, nonce: str) -> dict[str, Any]:
    return {"user": user, "csrf": admin_of(request).csrf(request, nonce)}


def _with_nonce(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or new_nonce()


# --- the list and the upload -------------------------------------------------------------


@router.get("/directives")
def directives_page(request: Request) -> Response:
    return _directives(request)


def _directives(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)
    nonce = _with_nonce(request)
    with admin_session(request) as session:
        rows = directive_rows(session)
    context = {**_context(request, user, nonce), "rows": rows, "error": error}
    response = admin_page("admin/directives.html", context, status=status)
    dash.cookie(response, CSRF_COOKIE, nonce, max_age=None)
    return response


@router.post("/directives")
async def upload(request: Request) -> Response:
    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)

    def guard(fields: Mapping[str, str]) -> None:
        if not origin_ok(request, dash) or not dash.csrf_ok(request, fields):
            raise UploadRejected(403, "csrf", "Biểu mẫu đã hết hạn: tải lại trang rồi gửi lại.")

    try:
        form = await read_upload(
            request.stream(),
            content_type=request.headers.get("content-type"),
            content_length=_length(request),
            limits=UPLOAD_LIMITS,
            guard=guard,
        )
    except UploadRejected as exc:
        return _directives(request, error=exc.message, status=exc.status)
    try:
        outcome = await run_in_threadpool(_ingest_upload, request, form, user)
    finally:
        form.close()
    if isinstance(outcome, str):
        return _directives(request, error=outcome, status=400)
    return no_store(RedirectResponse(f"{ADMIN_PREFIX}/directives/{outcome}", status_code=303))


def _length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value and value.isdigit() else None


def _ingest_upload(request: Request, form: UploadForm, user: str) -> int | str:
    """Store the file by its hash and ingest it — through the ingest flow when Prefect
    is configured (the run shows there), else the same work here: the directive's id,
    or what to tell the administrator."""
    from directives.readers import ReadError
    from flows.ingest import ingest, ingest_file
    from models.submissions import store_file
    from portal.storage import display_name

    if not form.files or form.files[0].size == 0:
        return "Chưa chọn tệp văn bản, hoặc tệp rỗng: chọn tệp .docx, .pdf, .txt hoặc .md."
    upload = form.files[0]
    data_dir = _data_dir(request)
    path = str(data_dir / store_file(data_dir, upload.file, sha256=upload.sha256).path)
    name = display_name(upload.name)
    engine = admin_of(request).engine(request)
    # The flow writes to the settings' database: only when it is this portal's.
    in_prefect = prefect_configured() and engine.url == make_url(settings().url)
    try:
        if in_prefect:
            summary = ingest(path, actor=user, name=name)
        else:
            summary, _ = ingest_file(path, actor=user, name=name, engine=engine)
    except ReadError as exc:
        detail = str(exc).replace(path, f"“{name}”")
        return (
            "Không đọc được tệp này như một văn bản (.docx, .pdf có lớp chữ, .txt, .md): "
            f"đề nghị lưu lại thành .docx hoặc .pdf rồi tải lên lại. Chi tiết: {detail}"
        )
    return int(summary["directive_id"])


# --- the review page ---------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What one POST did or refused, for the obligation it concerns."""

    obligation_id: int
    done: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@router.get("/directives/{directive_id}")
def review_page(request: Request, directive_id: int) -> Response:
    return _review_page(request, directive_id)


def _review_page(
    request: Request, directive_id: int, *, outcome: Outcome | None = None, status: int = 200
) -> Response:
    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)
    nonce = _with_nonce(request)
    with admin_session(request) as session:
        directive = session.get(Directive, directive_id)
        if directive is None:
            return error_response(404, "Không tìm thấy văn bản", "Văn bản này không có.")
        rv = _review(request, session, user)
        obligations = _obligations_of(session, directive_id)
        context = {
            **_context(request, user, nonce),
            "directive": directive,
            "text": highlighted(directive.source_text, obligations),
            "obligations": obligation_views(rv, obligations, outcome),
            "frequencies": [(f, FREQUENCY_VI.get(f, "9 tháng")) for f in FREQUENCIES],
        }
        response = admin_page("admin/review.html", context, status=status)
        session.rollback()  # resolving parties to show is not deciding
    dash.cookie(response, CSRF_COOKIE, nonce, max_age=None)
    return response


def _obligations_of(session: Session, directive_id: int) -> list[Obligation]:
    stmt = select(Obligation).where(Obligation.directive_id == directive_id)
    return list(session.exec(stmt.order_by(col(Obligation.id))))


@router.post("/obligations/{obligation_id}")
async def decide(request: Request, obligation_id: int) -> Response:
    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)
    form = await read_form(request, max_bytes=FORM_BYTES, max_fields=200)
    if form is None or not origin_ok(request, dash) or not dash.csrf_ok(request, form):
        return error_response(403, "Yêu cầu không hợp lệ", "Biểu mẫu đã hết hạn: tải lại trang.")
    directive_id, outcome = await run_in_threadpool(_decide, request, obligation_id, form, user)
    if directive_id is None:
        return error_response(404, "Không tìm thấy nghĩa vụ", "Nghĩa vụ này không có.")
    return _review_page(
        request, directive_id, outcome=outcome, status=400 if outcome.problems else 200
    )


def _decide(
    request: Request, obligation_id: int, form: dict[str, str], user: str
) -> tuple[int | None, Outcome]:
    from portal.review_form import apply_form

    outcome = Outcome(obligation_id)
    with admin_session(request) as session:
        ob = session.get(Obligation, obligation_id)
        if ob is None:
            return None, outcome
        directive_id = ob.directive_id
        rv = _review(request, session, user)
        try:
            outcome.done = apply_form(rv, ob, form)
            session.commit()
        except ReviewError as exc:
            session.rollback()
            outcome.problems = exc.problems
    return directive_id, outcome


@router.get("/obligations/{obligation_id}/preview")
def preview(request: Request, obligation_id: int) -> Response:
    """The next cycles for the form's frequency and deadline, computed and rolled back."""
    from portal.review_form import preview_data

    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return JSONResponse({"ok": False, "message": "Phiên đăng nhập đã hết."}, status_code=401)
    with admin_session(request) as session:
        ob = session.get(Obligation, obligation_id)
        if ob is None:
            return JSONResponse({"ok": False, "message": "Không có nghĩa vụ này."}, 404)
        rv = _review(request, session, user)
        data = preview_data(
            rv,
            ob,
            request.query_params.get("frequency", ""),
            request.query_params.get("deadline", ""),
        )
        session.rollback()
    return no_store(JSONResponse(data))
