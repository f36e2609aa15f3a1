"""The administrators' dashboard: the compliance matrix behind a login.

Routes (``dashboard_router()``, mounted under ``/admin``):

========================  ===========================================================
GET  /admin/login         the login form (503 with what to do when no administrator
                          is configured)
POST /admin/login         check the form (CSRF, throttle), set the session cookie
POST /admin/logout        end the session
GET  /admin/              the matrix; query ``directive``, ``lead``, ``period``
GET  /admin/export.xlsx   the filtered matrix as a workbook (same query)
GET  /admin/export.csv    … as CSV (UTF-8 with BOM)
GET  /admin/dashboard.css the page's style sheet (no inline styles: CSP-friendly)
========================  ===========================================================

Every page and file is built from ``models.compliance`` (three queries, whatever the
size); labels are the consolidated status's (``notifications.messages.status_label``)
and the files are ``notifications.exports.table_files``'s, so the dashboard, the lead
Sở's email and its attachment say the same thing the same way.

Each cycle links to its ``open-cycle`` flow runs in the Prefect UI: the run ids are
asked of the Prefect API in one request per page, with a short timeout; when Prefect
cannot be reached the link is the UI's runs list searched by the run's name, and the
API is left alone for a minute, so a Prefect outage never fails or slows the page.

Why ~700 lines: the matrix page, its filters, ranking and the two exports render one
and the same table; the per-cell history and requests live in cycle_page.py and
requests.py, the Prefect client in prefect_api.py.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from models.compliance import (
    Cell,
    Column,
    Entry,
    FilterChoices,
    Matrix,
    MatrixFilter,
    Row,
    Tally,
    compliance_matrix,
    sort_key,
)
from models.formats import TZ, local_day
from notifications.exports import Cell as TableCell
from notifications.exports import Colour, content_disposition, format_time, table_files, text
from notifications.messages import StatusRow, status_label
from notifications.vocabulary import CSV_TYPE, XLSX_TYPE
from portal.admin_pages import admin_page as _page
from portal.admin_pages import error_response, no_store, origin_ok, read_form, to_login
from portal.alerts import operator_alerts
from portal.auth import AdminAuth, new_nonce
from portal.deps import ADMIN_PREFIX, CSRF_COOKIE, SESSION_COOKIE, Dashboard, admin_of
from portal.prefect_api import PrefectRuns, PrefectSettings
from portal.security import client_address

PREFIX = ADMIN_PREFIX
HERE = Path(__file__).parent
STYLE_SHEET = HERE / "static" / "dashboard.css"


# == What a cell says ===========================================================================

CELL_CLASS = {
    Cell.on_time: "c-on-time",
    Cell.late: "c-late",
    Cell.missing: "c-missing",
    Cell.not_yet_due: "c-not-yet-due",
    Cell.excused: "c-excused",
}
CELL_MARK = {
    Cell.on_time: "✓",
    Cell.late: "!",
    Cell.missing: "✗",
    Cell.not_yet_due: "·",
    Cell.excused: "–",
}
NOT_YET_DUE = "Chưa đến hạn"  # the consolidated status has no such state: it is written at closing
KIND_VI = {
    "committee_office": "Văn phòng UBND tỉnh",
    "department": "Sở, ban, ngành",
    "board": "Ban quản lý",
    "district_committee": "UBND cấp huyện",
    "commune_committee": "UBND cấp xã, phường, đặc khu",
}
CYCLE_STATE_VI = {"open": "đang mở", "closed": "đã đóng"}


def cell_label(entry: Entry) -> str:
    """The consolidated status's words for a cell ("Đã nộp sau hạn", "Quá hạn, chưa
    nộp"…), and "Chưa đến hạn" for a pending report whose deadline is still ahead.

    ``status_label`` tells on time from late by working days; the matrix decides it to
    the minute (a report at 17:30 on a 17:00 deadline is late by zero working days), so
    a late cell is given at least one day to choose its words — its real count is shown
    beside them."""
    if entry.cell is Cell.not_yet_due:
        return NOT_YET_DUE
    state = {
        Cell.on_time: "submitted",
        Cell.late: "submitted",
        Cell.missing: "late",
        Cell.excused: "excused",
    }[entry.cell]
    days = max(entry.days_late, 1) if entry.cell is Cell.late else entry.days_late
    return status_label(StatusRow("", state, entry.submitted_at, days))


LEGEND = (
    (Cell.on_time, cell_label(Entry(Cell.on_time, None, 0))),
    (Cell.late, cell_label(Entry(Cell.late, None, 1))),
    (Cell.missing, cell_label(Entry(Cell.missing, None, 1))),
    (Cell.not_yet_due, NOT_YET_DUE),
    (Cell.excused, cell_label(Entry(Cell.excused, None, 0))),
)


# The page's colours (static/dashboard.css), for the workbook.
CELL_COLOUR = {
    Cell.on_time: Colour("2E7D32", "FFFFFF"),
    Cell.late: Colour("EF6C00", "FFFFFF"),
    Cell.missing: Colour("C62828", "FFFFFF"),
    Cell.not_yet_due: Colour("BDBDBD", "212121"),
    Cell.excused: Colour("E3F2FD", "455A64"),
}
COLOUR_KEY = (
    "xanh lá: đúng hạn; cam: sau hạn; đỏ: quá hạn, chưa nộp; xám: chưa đến hạn; "
    "xanh nhạt: không phải nộp"
)


def export_label(entry: Entry) -> str:
    """The cell's words and, for a late or missing report, its working days late, as the
    page's mark shows them ("Quá hạn, chưa nộp — trễ 5 ngày làm việc")."""
    label = cell_label(entry)
    if entry.cell in (Cell.late, Cell.missing) and entry.days_late:
        return f"{label} — trễ {entry.days_late} ngày làm việc"
    return label


def percent(value: float | None) -> str:
    """ "66,7 %" (Vietnamese decimal comma); "—" when there is nothing to rate yet."""
    return "—" if value is None else f"{value:.1f}".replace(".", ",") + " %"


# == The matrix as a table (page and files) =======================================================


def column_headers(columns: Sequence[Column]) -> dict[int, str]:
    """ "6966/UBND-KTN · Năm 2026"; "(nghĩa vụ #4)" added where two obligations of one
    directive have the same period, so no two columns read the same."""
    names = {c.cycle_id: f"{c.title} · {c.period}" for c in columns}
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    return {
        c.cycle_id: names[c.cycle_id]
        + (f" (nghĩa vụ #{c.obligation_id})" if seen[names[c.cycle_id]] > 1 else "")
        for c in columns
    }


EXPORT_TOTALS = ("Đúng hạn", "Sau hạn", "Quá hạn, chưa nộp", "Tỉ lệ đúng hạn (%)")


def export_table(matrix: Matrix) -> tuple[list[str], list[tuple[TableCell, ...]]]:
    """Headers and rows: STT, agency, one column per cycle (the cell's words; empty when
    the agency does not report in that cycle), then its counts and on-time rate."""
    names = column_headers(matrix.columns)
    headers = ["STT", "Cơ quan", *(names[c.cycle_id] for c in matrix.columns), *EXPORT_TOTALS]
    rows: list[tuple[TableCell, ...]] = []
    for number, row in enumerate(matrix.rows, 1):
        cells: list[TableCell] = []
        for c in matrix.columns:
            entry = row.entries.get(c.cycle_id)
            cells.append(export_label(entry) if entry else None)
        tally = row.tally
        rows.append(
            (number, row.agency, *cells, tally.on_time, tally.late, tally.missing, tally.percent)
        )
    return headers, rows


def export_colours(matrix: Matrix) -> dict[tuple[int, int], Colour]:
    """The colour of each cycle cell of ``export_table``'s rows (STT and name come first)."""
    return {
        (number, 2 + i): CELL_COLOUR[entry.cell]
        for number, row in enumerate(matrix.rows)
        for i, c in enumerate(matrix.columns)
        if (entry := row.entries.get(c.cycle_id)) is not None
    }


def export_heading(
    matrix: Matrix, choices: FilterChoices
) -> tuple[str, list[tuple[str, str]], str]:
    """The title, the "Label: value" lines above the table, and the file's base name."""
    chosen = _chosen_labels(matrix.filter, choices)
    lines = [
        ("Văn bản", chosen["directive"] or "Tất cả"),
        ("Cơ quan tổng hợp", chosen["lead"] or "Tất cả"),
        ("Kỳ báo cáo", chosen["period"] or "Tất cả"),
        ("Số liệu tính đến", format_time(matrix.now)),
        ("Tỉ lệ đúng hạn chung", percent(matrix.tally.percent)),
        ("Màu ô", COLOUR_KEY),
    ]
    parts = [v for v in (chosen["directive"], chosen["lead"], chosen["period"]) if v]
    base = " - ".join(["Tình hình thực hiện chế độ báo cáo", *parts])
    base = text(base).replace("/", "-").replace("\\", "-")
    return "TÌNH HÌNH THỰC HIỆN CHẾ ĐỘ BÁO CÁO", lines, base


def _chosen_labels(selection: MatrixFilter, choices: FilterChoices) -> dict[str, str | None]:
    def pick(options: Sequence[Any], value: object) -> str | None:
        if value is None:
            return None
        return next((o.label for o in options if o.value == str(value)), str(value))

    return {
        "directive": pick(choices.directives, selection.directive_id),
        "lead": pick(choices.leads, selection.lead_agency_id),
        "period": pick(choices.periods, selection.period),
    }


# == Requests ====================================================================================


class BadFilter(ValueError):
    pass


def read_filter(query: Mapping[str, str]) -> MatrixFilter:
    """The filters of a query string; empty values mean "all". ``BadFilter`` otherwise."""

    def number(name: str) -> int | None:
        raw = (query.get(name) or "").strip()
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 12:
            raise BadFilter(f"{name}: cần là một số hiệu (số nguyên), không phải {raw!r}")
        return int(raw)

    period = (query.get("period") or "").strip() or None
    try:
        return MatrixFilter(number("directive"), number("lead"), period)
    except ValueError as exc:
        raise BadFilter(str(exc)) from None


def filter_query(selection: MatrixFilter) -> str:
    pairs = {
        "directive": selection.directive_id,
        "lead": selection.lead_agency_id,
        "period": selection.period,
    }
    return urlencode({k: v for k, v in pairs.items() if v is not None})


# -- what the page shows of the matrix: only overdue, one agency -----------------------------


@dataclass(frozen=True, slots=True)
class ViewFilter:
    """Narrows the loaded matrix (the cycles stay ``MatrixFilter``'s): ``overdue`` keeps
    the agencies with a report past its deadline and not handed in, and the cycles
    where that happens; ``agency_id`` keeps one agency's row."""

    overdue: bool = False
    agency_id: int | None = None


def read_view(query: Mapping[str, str]) -> ViewFilter:
    """``overdue=1``, ``agency=<id>``; ``BadFilter`` for anything else."""
    flag = (query.get("overdue") or "").strip()
    if flag not in ("", "0", "1"):
        raise BadFilter(f"overdue: chỉ nhận 0 hoặc 1, không phải {flag!r}")
    raw = (query.get("agency") or "").strip()
    if raw and (not raw.isdigit() or len(raw) > 12):
        raise BadFilter(f"agency: cần là một số hiệu (số nguyên), không phải {raw!r}")
    return ViewFilter(flag == "1", int(raw) if raw else None)


def view_query(selection: MatrixFilter, view: ViewFilter) -> str:
    pairs = {"overdue": "1" if view.overdue else None, "agency": view.agency_id}
    extra = urlencode({k: v for k, v in pairs.items() if v is not None})
    return "&".join(q for q in (filter_query(selection), extra) if q)


def narrowed(matrix: Matrix, view: ViewFilter) -> Matrix:
    rows = matrix.rows
    if view.agency_id is not None:
        rows = [r for r in rows if r.agency_id == view.agency_id]
    columns = matrix.columns
    if view.overdue:
        rows = [r for r in rows if any(e.cell is Cell.missing for e in r.entries.values())]
        late = {cid for r in rows for cid, e in r.entries.items() if e.cell is Cell.missing}
        columns = [c for c in columns if c.cycle_id in late]
    return Matrix(matrix.now, matrix.filter, columns, rows)


# -- the yearly ranking ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ranked:
    rank: int | None  # None: nothing decided that year (not ranked)
    agency_id: int
    agency: str
    tally: Tally


def yearly_ranking(session: Session, *, now: dt.datetime, year: str) -> list[Ranked]:
    """Every agency of the year's cycles by on-time rate (``models.compliance``), best
    first; equal rates share a rank ("1, 2, 2, 4"), more reports decided first among
    them; agencies with nothing decided yet come last, unranked."""
    rows = compliance_matrix(session, now=now, filters=MatrixFilter(period=year)).rows

    def order(r: Row) -> tuple[float, int, tuple[str, str]]:
        rate = r.tally.rate
        return (-(rate if rate is not None else -1.0), -r.tally.decided, sort_key(r.agency))

    out: list[Ranked] = []
    for position, r in enumerate(sorted(rows, key=order), 1):
        rate = r.tally.rate
        if rate is None:
            out.append(Ranked(None, r.agency_id, r.agency, r.tally))
            continue
        same = out and out[-1].rank is not None and out[-1].tally.rate == rate
        out.append(Ranked(out[-1].rank if same else position, r.agency_id, r.agency, r.tally))
    return out


def ranking_year(selection: MatrixFilter, now: dt.datetime) -> str:
    """The filter's year, else the current one."""
    return selection.period[:4] if selection.period else str(now.astimezone(TZ).year)


def _safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of the dashboard only (no open redirect)."""
    if value and value.startswith(PREFIX + "/") and "//" not in value and "\\" not in value:
        return value
    return PREFIX + "/"


@dataclass(frozen=True, slots=True)
class CellView:
    css: str
    mark: str
    title: str
    href: str = ""  # the agency's history in that cycle


@dataclass(frozen=True, slots=True)
class RowView:
    group: str | None  # the kind's heading, on the first row of each kind
    agency: str
    cells: list[CellView | None]
    tally: Tally


def _row_views(matrix: Matrix) -> list[RowView]:
    names = column_headers(matrix.columns)
    out: list[RowView] = []
    previous = None
    for row in matrix.rows:
        cells: list[CellView | None] = []
        for c in matrix.columns:
            entry = row.entries.get(c.cycle_id)
            href = f"{PREFIX}/cycles/{c.cycle_id}/agencies/{row.agency_id}"  # portal.cycle_page
            cells.append(_cell_view(row.agency, names[c.cycle_id], entry, href) if entry else None)
        group = KIND_VI.get(row.kind, "Cơ quan khác")
        out.append(RowView(group if group != previous else None, row.agency, cells, row.tally))
        previous = group
    return out


def _cell_view(agency: str, column: str, entry: Entry, href: str = "") -> CellView:
    label = cell_label(entry)
    detail = [label]
    if entry.submitted_at is not None:
        detail.append(f"nộp lúc {format_time(entry.submitted_at)}")
    if entry.days_late:
        detail.append(f"trễ {entry.days_late} ngày làm việc")
    mark = CELL_MARK[entry.cell]
    if entry.cell in (Cell.late, Cell.missing) and entry.days_late:
        mark = f"{mark}{entry.days_late}"
    return CellView(CELL_CLASS[entry.cell], mark, f"{agency} — {column}: {', '.join(detail)}", href)


def _bad_filter(exc: Exception) -> Response:
    hint = "Chọn lại văn bản, cơ quan tổng hợp và kỳ báo cáo trong danh sách."
    return error_response(400, "Bộ lọc không hợp lệ", str(exc), hint)


router = APIRouter(prefix=PREFIX, include_in_schema=False)


def dashboard_router(
    *,
    engine: Engine | None = None,
    auth: AdminAuth | None = None,
    prefect: PrefectRuns | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    data_dir: Path | None = None,
    key: bytes | None = None,
) -> APIRouter:
    """The administrators' routes under ``/admin`` (this module's and the intake's,
    ``portal.intake``), bound to one ``Dashboard``. In ``portal.app.create_app``::

        app.include_router(dashboard.dashboard_router(data_dir=db.data_dir, key=key))

    The engine and the clock default to the portal app's (``app.state.portal``), else
    the process's (``models.db.get_engine``, ``models.clock``); ``data_dir`` (where
    ``admin-users.json`` lives) and ``key`` (the server secret that signs sessions)
    to the settings' (``models.links.secret_key``). ``auth`` replaces both."""
    from portal.intake import router as intake_router

    auth = auth or AdminAuth(data_dir=data_dir, key=key)
    dash = Dashboard(engine=engine, auth=auth, prefect=prefect or PrefectRuns(), clock=clock)
    problem = dash.auth.problem()  # in development this prints the one-time password now
    if problem:
        _print_problem(problem)

    def bind(request: Request) -> None:
        request.state.admin = dash

    bound = APIRouter(dependencies=[Depends(bind)])
    bound.include_router(router)
    bound.include_router(intake_router)
    return bound


def login_page(
    request: Request, *, status: int = 200, error: str | None = None, user: str = ""
) -> HTMLResponse:
    dash = admin_of(request)
    nonce = request.cookies.get(CSRF_COOKIE) or new_nonce()
    problem = dash.auth.problem()
    context = {
        "problem": problem,
        "error": error,
        "user_name": user,
        "csrf": dash.csrf(request, nonce),
        "next": _safe_next(request.query_params.get("next")),
        "development": dash.auth.settings.development,
    }
    response = _page("dashboard/login.html", context, status=503 if problem else status)
    dash.cookie(response, CSRF_COOKIE, nonce, max_age=None)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    if admin_of(request).user(request):
        return RedirectResponse(PREFIX + "/", status_code=303)
    return login_page(request)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request) -> Response:
    dash = admin_of(request)
    form = await read_form(request)
    if form is None or not origin_ok(request, dash):
        return login_page(request, status=400, error="Yêu cầu không hợp lệ.")
    if not dash.csrf_ok(request, form):
        return login_page(
            request, status=403, error="Phiên biểu mẫu đã hết hạn: vui lòng đăng nhập lại."
        )
    user, password = form.get("user", "").strip(), form.get("password", "")
    client = client_address(request, dash.auth.settings.trusted_proxies)
    if dash.auth.problem():
        return login_page(request)
    outcome = await run_in_threadpool(
        dash.auth.login,
        user,
        password,
        client=client,
        now=dash.now(request),
        engine=dash.engine(request),
    )
    if outcome.locked_for is not None:
        minutes = max(1, round(outcome.locked_for.total_seconds() / 60))
        response = login_page(
            request,
            status=429,
            error=f"Đăng nhập sai quá nhiều lần: vui lòng thử lại sau {minutes} phút.",
            user=user,
        )
        response.headers["Retry-After"] = str(int(outcome.locked_for.total_seconds()) + 1)
        return response
    if outcome.user is None:
        return login_page(request, status=401, error="Sai tên đăng nhập hoặc mật khẩu.", user=user)
    target = _safe_next(form.get("next"))
    moved = RedirectResponse(target, status_code=303)
    hours = dash.auth.settings.admin_session_hours
    token = await run_in_threadpool(
        dash.auth.session_token, outcome.user, now=dash.now(request), engine=dash.engine(request)
    )
    dash.cookie(moved, SESSION_COOKIE, token, max_age=int(hours * 3600))
    dash.cookie(moved, CSRF_COOKIE, new_nonce(), max_age=None)  # a new one per session
    return no_store(moved)


@router.post("/logout")
async def logout(request: Request) -> Response:
    dash = admin_of(request)
    form = await read_form(request)
    if form is None or not origin_ok(request, dash) or not dash.csrf_ok(request, form):
        return error_response(403, "Yêu cầu không hợp lệ", "Biểu mẫu đã hết hạn: tải lại trang.")
    await run_in_threadpool(
        dash.auth.logout,
        request.cookies.get(SESSION_COOKIE),
        now=dash.now(request),
        engine=dash.engine(request),
    )
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return no_store(response)


@router.get("", include_in_schema=False)
def bare() -> Response:
    return RedirectResponse(PREFIX + "/", status_code=307)


@router.get("/", response_class=HTMLResponse)
def matrix_page(request: Request) -> Response:
    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)
    try:
        selection = read_filter(request.query_params)
        view = read_view(request.query_params)
    except BadFilter as exc:
        return _bad_filter(exc)
    loaded, choices = dash.load(request, selection)
    matrix = narrowed(loaded, view)
    year = ranking_year(selection, loaded.now)
    with Session(dash.engine(request)) as session:
        alerts = operator_alerts(session, now=dash.now(request))
        ranking = yearly_ranking(session, now=loaded.now, year=year)
    nonce = request.cookies.get(CSRF_COOKIE) or new_nonce()
    query = view_query(selection, view)
    names = column_headers(matrix.columns)
    context = {
        "user": user,
        "csrf": dash.csrf(request, nonce),
        "alerts": alerts,
        "matrix": matrix,
        "choices": choices,
        "selection": selection,
        "ambiguous": {
            c.cycle_id for c in matrix.columns if names[c.cycle_id] != f"{c.title} · {c.period}"
        },
        "rows": _row_views(matrix),
        "links": dash.prefect.links(matrix.columns),
        "legend": [(CELL_CLASS[c], CELL_MARK[c], label) for c, label in LEGEND],
        "export_xlsx": f"{PREFIX}/export.xlsx" + (f"?{query}" if query else ""),
        "export_csv": f"{PREFIX}/export.csv" + (f"?{query}" if query else ""),
        "generated": format_time(matrix.now),
        "percent": percent,
        "local_date": local_day,
        "cycle_state": CYCLE_STATE_VI,
        "sweep_runs": f"{dash.prefect.settings.ui}/runs?" + urlencode({"flow-run-search": "sweep"}),
        "view": view,
        "agencies": sorted(
            ((r.agency_id, r.agency) for r in loaded.rows), key=lambda a: sort_key(a[1])
        ),
        "ranking": ranking,
        "ranking_year": year,
    }
    response = _page("dashboard/matrix.html", context)
    dash.cookie(response, CSRF_COOKIE, nonce, max_age=None)
    return response


@router.get("/export.{fmt}")
def export(request: Request, fmt: str) -> Response:
    dash = admin_of(request)
    if fmt not in ("xlsx", "csv"):
        return error_response(404, "Không tìm thấy trang", "Chỉ tải được tệp .xlsx hoặc .csv.")
    if dash.user(request) is None:
        return to_login(request)
    try:
        selection = read_filter(request.query_params)
        view = read_view(request.query_params)
    except BadFilter as exc:
        return _bad_filter(exc)
    matrix, choices = dash.load(request, selection)
    return no_store(export_response(narrowed(matrix, view), choices, fmt, view=view))


# -- the reports handed in (``portal.views`` builds the responses) --------------------------


@router.get("/files/{version_id}")
def download_file(request: Request, version_id: str) -> Response:
    """One handed-in version, for a logged-in administrator; audited with the user."""
    from portal.views import Taker, id_of

    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)
    taker = Taker.admin(user, dash.now(request))
    data_dir = request.app.state.portal.data_dir
    with Session(dash.engine(request), expire_on_commit=False) as session:
        return taker.version(session, data_dir, id_of(version_id), cycle_id=None)


@router.get("/cycles/{cycle_id}/zip")
def download_zip(request: Request, cycle_id: str) -> Response:
    """Every agency's latest upload for one cycle as one zip; audited with the user."""
    from notifications.notices import cycle_facts
    from portal.views import Taker, id_of

    dash = admin_of(request)
    user = dash.user(request)
    if user is None:
        return to_login(request)
    wanted = id_of(cycle_id)
    taker = Taker.admin(user, dash.now(request))
    data_dir = request.app.state.portal.data_dir
    with Session(dash.engine(request), expire_on_commit=False) as session:
        try:
            facts = cycle_facts(session, wanted) if wanted is not None else None
        except LookupError:
            facts = None
        if facts is None:
            return error_response(404, "Không tìm thấy kỳ báo cáo", "Kỳ báo cáo này không tồn tại.")
        return taker.cycle_zip(session, data_dir, facts)


@router.get("/dashboard.css")
def style_sheet() -> Response:
    return FileResponse(STYLE_SHEET, media_type="text/css; charset=utf-8")


def export_response(
    matrix: Matrix, choices: FilterChoices, fmt: str, *, view: ViewFilter | None = None
) -> Response:
    """The matrix as a download, written by ``table_files`` in a temporary directory;
    the heading says which view of it the file holds."""
    title, heading, base = export_heading(matrix, choices)
    if view is not None and view.overdue:
        heading.insert(3, ("Chỉ gồm", "cơ quan quá hạn, chưa nộp"))
    if view is not None and view.agency_id is not None:
        heading.insert(3, ("Cơ quan", ", ".join(r.agency for r in matrix.rows) or "—"))
    headers, rows = export_table(matrix)
    with tempfile.TemporaryDirectory(prefix="hanbaocao-export-") as tmp:
        files = table_files(
            title,
            headers,
            rows,
            Path(tmp),
            "ma-tran-tuan-thu",
            heading=heading,
            sheet="Tình hình nộp báo cáo",
            colours=export_colours(matrix),
        )
        data = (files.xlsx if fmt == "xlsx" else files.csv).read_bytes()
    return Response(
        data,
        media_type=XLSX_TYPE if fmt == "xlsx" else CSV_TYPE,
        headers={"Content-Disposition": content_disposition(f"{base}.{fmt}")},
    )


def _print_problem(problem: str) -> None:
    print(
        "hanbaocao dashboard: nobody can log in until an administrator is configured: run "
        "`hanbaocao admin set-password USER` (or set HANBAOCAO_ADMIN_USER and "
        f"HANBAOCAO_ADMIN_PASSWORD_HASH). {problem}",
        file=sys.stderr,
        flush=True,
    )


__all__ = [
    "CELL_CLASS",
    "LEGEND",
    "Dashboard",
    "PrefectRuns",
    "PrefectSettings",
    "cell_label",
    "content_disposition",
    "dashboard_router",
    "export_table",
]
