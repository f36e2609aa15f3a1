"""The pages behind the agencies' and the lead's own links (``models.links``):

- ``GET /agency/{token}``: the agency's open cycles, each with its own submission link;
- ``GET /agency/{token}/calendar.ics``: its deadlines as an iCalendar feed;
- ``GET /view/{token}``: the lead Sở's and the recipient's read-only view of one cycle,
  each agency's versions listed with a download;
- ``GET /view/{token}/files/{version_id}``: one version of that cycle, as an attachment;
- ``GET /view/{token}/zip``: every agency's latest upload for the cycle as one zip, named
  by agency, streamed.

Downloads are attachments of the type their bytes are (never the name's), with
``nosniff``, and each leaves an audit row naming who took what (``audit_download``);
the dashboard's own downloads (``portal.dashboard``) go through the same ``Taker``.

A link that is forged, expired or for another purpose is refused with 403 and a page
saying so (``portal.submit.LinkRefused``), before anything is read.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from sqlmodel import Session, col, select

from models.agency import Agency
from models.calendar import period_label
from models.db import TZ
from models.feeds import Role, Upcoming, agency_calendar, agency_deadlines
from models.links import DEFAULT_GRACE, LinkClaims, make_token
from models.store import audit
from models.submissions import stored_file
from models.tables import (
    CycleState,
    Directive,
    Obligation,
    ReportCycle,
    Submission,
    SubmissionVersion,
)
from notifications.exports import content_disposition
from notifications.notices import CycleFacts, cycle_facts
from notifications.vocabulary import XLSX_TYPE
from portal.deps import Portal, log, portal_of
from portal.pages import error_page, page
from portal.storage import _office_kind as office_kind
from portal.submit import LinkRefused, Status, _claims, _in_session, status_of

router = APIRouter()


def _link_expiry(cycle: ReportCycle) -> dt.datetime:
    return (cycle.closes_at or cycle.due_at) + DEFAULT_GRACE


@dataclass(frozen=True, slots=True)
class OpenCycle:
    directive: Directive
    obligation: Obligation
    cycle: ReportCycle
    period: str
    status: Status
    submit_url: str


def _open_cycles(
    session: Session, portal: Portal, claims: LinkClaims, now: dt.datetime
) -> tuple[Agency, list[OpenCycle]]:
    agency = session.get(Agency, claims.agency_id)
    if agency is None:
        raise LinkRefused("invalid")
    stmt = (
        select(Submission, ReportCycle, Obligation, Directive)
        .join(ReportCycle, col(ReportCycle.id) == Submission.cycle_id)
        .join(Obligation, col(Obligation.id) == ReportCycle.obligation_id)
        .join(Directive, col(Directive.id) == Obligation.directive_id)
        .where(Submission.agency_id == agency.id, ReportCycle.state == CycleState.open)
        .order_by(col(ReportCycle.due_at), col(ReportCycle.id))
    )
    rows = [
        OpenCycle(
            directive=d,
            obligation=ob,
            cycle=cycle,
            period=period_label(cycle.period_key),
            status=status_of(sub, cycle, now),
            submit_url="/submit/"
            + make_token(
                "submit",
                cycle_id=cycle.id,
                agency_id=agency.id,
                expires=_link_expiry(cycle),
                key=portal.key,
                issued=claims.issued,  # the agency link's: a later revocation covers it too
            ),
        )
        for sub, cycle, ob, d in session.exec(stmt)
    ]
    return agency, rows


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    """One deadline of the year ahead on the agency's page."""

    item: Upcoming
    what: str  # "Nộp báo cáo" / "Tổng hợp, báo cáo UBND tỉnh"
    state: str  # "Kỳ đang mở", "Dự kiến (kỳ chưa mở)", …
    url: str | None  # the submission link (or the lead's view) of an open cycle


def _token(
    portal: Portal, purpose: str, cycle: ReportCycle, agency: Agency, issued: dt.datetime
) -> str:
    """A link minted from the agency page carries the agency link's issue time, so
    revoking a cycle's links also refuses the ones an older agency link would mint."""
    expires = _link_expiry(cycle)
    return make_token(
        purpose,
        cycle_id=cycle.id,
        agency_id=agency.id,
        expires=expires,
        key=portal.key,
        issued=issued,
    )


def _deadline_rows(
    session: Session, portal: Portal, agency: Agency, now: dt.datetime, issued: dt.datetime
) -> list[DeadlineRow]:
    today = now.astimezone(TZ).date()
    out = []
    for item in agency_deadlines(session, agency, since=today, today=today):
        cycle, lead = item.cycle, item.role is Role.lead
        what = (
            f"Tổng hợp, báo cáo {item.obligation.recipient_phrase or 'cơ quan nhận báo cáo'}"
            if lead
            else "Nộp báo cáo"
        )
        url = None
        if cycle is None:
            state = "Dự kiến theo lịch (kỳ chưa mở)"
        elif cycle.state == CycleState.open:
            state = "Kỳ đang mở"
            purpose = "view" if lead else "submit"
            url = f"/{purpose}/{_token(portal, purpose, cycle, agency, issued)}"
        else:
            state = CYCLE_STATE_VI.get(str(cycle.state), str(cycle.state))
        out.append(DeadlineRow(item, what, state, url))
    return out


CYCLE_STATE_VI = {"scheduled": "Kỳ đã lên lịch", "open": "Kỳ đang mở", "closed": "Kỳ đã đóng"}


@router.get("/agency/{token}", response_class=HTMLResponse)
def agency_page(request: Request, token: str) -> HTMLResponse:
    """The agency's open cycles and its deadlines of the next twelve months (computed
    from the calendar where no cycle exists yet, its own deadline as lead Sở too)."""
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "agency", now)

    def load(session: Session) -> tuple[Agency, list[OpenCycle], list[DeadlineRow]]:
        agency, rows = _open_cycles(session, portal, claims, now)
        return agency, rows, _deadline_rows(session, portal, agency, now, claims.issued)

    agency, rows, deadlines = _in_session(portal, load)
    calendar = f"/agency/{token}/calendar.ics"
    return page(
        "submit/agency.html",
        agency=agency,
        rows=rows,
        deadlines=deadlines,
        calendar=calendar,
        subscribe=portal.links.public_url.rstrip("/") + calendar,
    )


@router.get("/agency/{token}/calendar.ics")
def agency_feed(request: Request, token: str) -> Response:
    """The same deadlines as an iCalendar feed, with a year of past cycles kept, and each
    open cycle's submission link in its event."""
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "agency", now)
    base = portal.links.public_url.rstrip("/")

    def build(session: Session) -> bytes:
        agency, rows = _open_cycles(session, portal, claims, now)
        links = {r.cycle.id or 0: base + r.submit_url for r in rows}
        today = now.astimezone(TZ).date()
        since = (now - dt.timedelta(days=400)).astimezone(TZ).date()  # a year back is enough
        return agency_calendar(session, agency, since=since, today=today, links=links, stamp=now)

    body: bytes = _in_session(portal, build)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="han-bao-cao.ics"'},
    )


# --- the lead's and the recipient's view of a cycle -----------------------------------------


@dataclass(frozen=True, slots=True)
class ViewRow:
    agency: str
    label: str
    css: str
    when: str  # submitted at, or "—"
    days_late: int
    versions: list[SubmissionVersion]  # oldest first


@dataclass(frozen=True, slots=True)
class CycleView:
    facts: CycleFacts
    viewer: Agency
    period: str
    rows: list[ViewRow]
    submitted: int


_VIEW_CSS = {"submitted": "ok", "late": "missing", "pending": "due", "excused": "excused"}


def _viewer(session: Session, claims: LinkClaims) -> tuple[CycleFacts, Agency]:
    """The cycle and who looks at it: its lead or its recipient, nobody else."""
    if claims.cycle_id is None:
        raise LinkRefused("invalid")
    try:
        facts = cycle_facts(session, claims.cycle_id)
    except LookupError:
        raise LinkRefused("invalid") from None
    ob = facts.obligation
    viewer = session.get(Agency, claims.agency_id)
    if viewer is None or viewer.id not in (ob.lead_agency_id, ob.recipient_agency_id):
        raise LinkRefused("invalid")  # a view link is for the cycle's lead or recipient only
    return facts, viewer


def _cycle_view(session: Session, claims: LinkClaims, now: dt.datetime) -> CycleView:
    from models.cycles import status
    from notifications.messages import StatusRow, format_moment, status_label

    facts, viewer = _viewer(session, claims)
    files = handed_in(session, facts.cycle.id or 0)
    rows = []
    for r in status(session, facts.cycle, now=now):
        css = "late" if r.state == "submitted" and r.days_late else _VIEW_CSS.get(r.state, "due")
        label = status_label(StatusRow(r.agency, r.state, r.submitted_at, r.days_late))
        when = format_moment(r.submitted_at) if r.submitted_at else "—"
        rows.append(ViewRow(r.agency, label, css, when, r.days_late, files.get(r.agency_id, [])))
    rows.sort(key=lambda row: (-row.days_late, row.agency))
    submitted = sum(1 for r in rows if r.when != "—")
    return CycleView(facts, viewer, period_label(facts.cycle.period_key), rows, submitted)


@router.get("/view/{token}", response_class=HTMLResponse)
def cycle_view_page(request: Request, token: str) -> HTMLResponse:
    """Read-only: who has handed in, for the lead Sở and the recipient (their messages'
    "Xem tình hình nộp báo cáo" link), with every version to download."""
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "view", now)
    view = _in_session(portal, _cycle_view, claims, now)
    return page("submit/view.html", view=view, base=f"/view/{token}")


@router.get("/view/{token}/files/{version_id}")
def view_file(request: Request, token: str, version_id: str) -> Response:
    """One version handed in for the link's cycle, to its lead or recipient; audited."""
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "view", now)

    def take(session: Session) -> Response:
        facts, viewer = _viewer(session, claims)
        taker = Taker.viewer(viewer, now)
        return taker.version(session, portal.data_dir, id_of(version_id), facts.cycle.id)

    return _in_session(portal, take)


@router.get("/view/{token}/zip")
def view_zip(request: Request, token: str) -> Response:
    """Every agency's latest upload for the link's cycle as one zip, named by agency."""
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "view", now)

    def take(session: Session) -> Response:
        facts, viewer = _viewer(session, claims)
        return Taker.viewer(viewer, now).cycle_zip(session, portal.data_dir, facts)

    return _in_session(portal, take)


# --- who takes a report: the one path of the four download routes ----------------------------


def id_of(raw: str) -> int | None:
    """A row id from a URL segment; None for anything but a short run of ASCII digits."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


@dataclass(frozen=True, slots=True)
class Taker:
    """Who downloads, already checked by the route (a logged-in administrator, or the
    cycle's lead or recipient through its view link): what the audit row says of them."""

    actor: str
    about: dict[str, Any]  # the audit row's data common to every download of theirs
    at: dt.datetime

    @classmethod
    def admin(cls, user: str, at: dt.datetime) -> Taker:
        return cls(f"admin:{user}", {"via": "dashboard"}, at)

    @classmethod
    def viewer(cls, viewer: Agency, at: dt.datetime) -> Taker:
        return cls(f"view:{viewer.code}", {"via": "view", "viewer": viewer.code}, at)

    def version(
        self, session: Session, data_dir: Path, version_id: int | None, cycle_id: int | None
    ) -> Response:
        """The version (only of ``cycle_id`` when given) as an attachment, audited; 404
        when there is no such version."""
        found = version_of_cycle(session, version_id, cycle_id) if version_id is not None else None
        if found is None:
            return error_page(404, *NOT_FOUND)
        version, sub, agency = found
        data = {**self.about, "agency": agency.code, "cycle_id": sub.cycle_id}
        self._audit(session, "file", version.id or 0, data)
        return file_response(data_dir, version)

    def cycle_zip(self, session: Session, data_dir: Path, facts: CycleFacts) -> Response:
        """The cycle's latest upload per agency as one zip, audited (an attempt on a cycle
        with nothing handed in too); 404 when there is nothing."""
        cycle_id = facts.cycle.id or 0
        entries = zip_entries(session, data_dir, cycle_id)
        self._audit(
            session, "zip", cycle_id, {**self.about, "versions": [e[2].id for e in entries]}
        )
        if not entries:
            return error_page(404, "Chưa có báo cáo", "Chưa cơ quan nào nộp báo cáo cho kỳ này.")
        return zip_response([(name, path) for name, path, _ in entries], zip_filename(facts))

    def _audit(self, session: Session, what: str, entity_id: int, data: dict[str, Any]) -> None:
        audit_download(
            session, actor=self.actor, what=what, entity_id=entity_id, data=data, at=self.at
        )


# --- the reports handed in: one file, or the cycle's latest files as one zip ------------------

WORD_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TYPES = {"pdf": "application/pdf", "docx": WORD_TYPE, "xlsx": XLSX_TYPE, "zip": "application/zip"}
ZIP_CHUNK = 64 * 1024
NAME_LIMIT = 150  # characters of an entry's name: unzip tools and file systems cap at 255 bytes
NOT_FOUND = (
    "Không tìm thấy tệp",
    "Tệp này không tồn tại hoặc không thuộc kỳ báo cáo của đường dẫn.",
)


def stored_type(path: Path) -> str:
    """The file's type from its stored bytes, as the upload sniffed it (``portal.storage``):
    the name an agency gave it proves nothing."""
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"%PDF-"):
        return TYPES["pdf"]
    if not head.startswith(b"PK\x03\x04"):
        return "application/octet-stream"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names:
                return TYPES["zip"]
            with archive.open("[Content_Types].xml") as ct:
                declared = ct.read(256 * 1024)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
        return "application/octet-stream"
    return TYPES[office_kind(declared, names)]


def handed_in(session: Session, cycle_id: int) -> dict[int, list[SubmissionVersion]]:
    """Every version of the cycle, per agency id, oldest first."""
    stmt = (
        select(SubmissionVersion, Submission)
        .join(Submission, col(Submission.id) == SubmissionVersion.submission_id)
        .where(Submission.cycle_id == cycle_id)
        .order_by(col(SubmissionVersion.version))
    )
    out: dict[int, list[SubmissionVersion]] = {}
    for version, sub in session.exec(stmt):
        out.setdefault(sub.agency_id, []).append(version)
    return out


def latest_upload(versions: list[SubmissionVersion]) -> list[SubmissionVersion]:
    """The files of the agency's last upload (one upload of a report and its appendix is
    several versions received at one moment): what the lead consolidates."""
    if not versions:
        return []
    last = max(v.received_at for v in versions)
    return [v for v in versions if v.received_at == last]


def safe_name(value: str) -> str:
    """A file name that keeps its Vietnamese but nothing a file system or unzip refuses."""
    value = unicodedata.normalize("NFC", value)
    value = "".join(" " if c in '/\\:*?"<>|' or not c.isprintable() else c for c in value)
    value = " ".join(value.split()).strip(" .")
    return value[:NAME_LIMIT].rstrip(" .") or "tep"


def zip_entry_name(agency: Agency, version: SubmissionVersion, index: int, count: int) -> str:
    """ "qng-so-xay-dung - Sở Xây dựng tỉnh Quảng Ngãi.pdf"; "… (2).docx" for the second
    file of an upload of several."""
    ext = Path(version.file_name).suffix.lower()
    ext = ext if ext[1:].isalnum() and len(ext) <= 6 else ""
    stem = safe_name(f"{agency.code} - {agency.name}")
    return f"{stem} ({index}){ext}" if count > 1 else f"{stem}{ext}"


def zip_entries(
    session: Session, data_dir: Path, cycle_id: int
) -> list[tuple[str, Path, SubmissionVersion]]:
    """Each agency's latest upload: (name in the zip, stored file, version), by agency code."""
    agencies = {
        a.id: a
        for a in session.exec(
            select(Agency)
            .join(Submission, col(Submission.agency_id) == Agency.id)
            .where(Submission.cycle_id == cycle_id)
        )
    }
    out = []
    taken: set[str] = set()
    for agency_id, versions in handed_in(session, cycle_id).items():
        agency = agencies[agency_id]
        files = latest_upload(versions)
        for i, version in enumerate(files, 1):
            path = stored_file(data_dir, version)
            if not path.is_file():  # a store restored without it: the rest still goes out
                log.warning("version %s: stored file missing, left out of the zip", version.id)
                continue
            name = zip_entry_name(agency, version, i, len(files))
            while name in taken:  # two agencies whose code and name read the same
                stem, dot, ext = name.rpartition(".")
                name = f"{stem} ({version.id}).{ext}" if dot else f"{name} ({version.id})"
            taken.add(name)
            out.append((name, path, version))
    return sorted(out, key=lambda e: e[0])


class _Sink(io.RawIOBase):
    """Where ``zipfile`` writes: the bytes are taken away as they come (not seekable, so
    ``zipfile`` writes data descriptors and never goes back)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def zip_chunks(entries: list[tuple[str, Path]]) -> Iterator[bytes]:
    """A zip of ``entries`` made while it is sent: memory stays one chunk, whatever the size."""
    sink = _Sink()
    # Stored, not deflated: PDF, DOCX and XLSX are compressed already, and deflating them
    # again costs the server's CPU for a few per cent at best.
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=_zip_time(path))
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                while chunk := source.read(ZIP_CHUNK):
                    target.write(chunk)
                    if data := sink.take():
                        yield data
    if data := sink.take():
        yield data


def _zip_time(path: Path) -> tuple[int, int, int, int, int, int]:
    moment = dt.datetime.fromtimestamp(path.stat().st_mtime, TZ)
    return (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, 0)


def file_response(data_dir: Path, version: SubmissionVersion) -> Response:
    """One handed-in file as a download: its own name, the type of its bytes, no sniffing."""
    path = stored_file(data_dir, version)
    if not path.is_file():
        log.warning("version %s: stored file missing", version.id)
        return error_page(
            404, "Không tìm thấy tệp", "Tệp này không còn trong kho lưu trữ của hệ thống."
        )
    return FileResponse(
        path,
        media_type=stored_type(path),
        headers={
            "Content-Disposition": content_disposition(version.file_name, fallback="bao-cao"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def zip_response(entries: list[tuple[str, Path]], filename: str) -> Response:
    return StreamingResponse(
        zip_chunks(entries),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(filename, fallback="bao-cao"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def zip_filename(facts: CycleFacts) -> str:
    """ "Báo cáo 6966-UBND-KTN - Năm 2026.zip"."""
    return safe_name(f"Báo cáo {facts.title} - {period_label(facts.cycle.period_key)}") + ".zip"


def audit_download(
    session: Session,
    *,
    actor: str,
    what: str,
    entity_id: int,
    data: dict[str, Any],
    at: dt.datetime,
) -> None:
    """Who took which report, as an audit row (committed here) and a log line."""
    entity = "submission_version" if what == "file" else "report_cycle"
    audit(
        session,
        actor=actor,
        action=f"{entity}.downloaded",
        entity=entity,
        entity_id=entity_id,
        data=data,
        at=at,
    )
    session.commit()
    log.info("download %s %s by %s", entity, entity_id, actor)


def version_of_cycle(
    session: Session, version_id: int, cycle_id: int | None = None
) -> tuple[SubmissionVersion, Submission, Agency] | None:
    """The version with its submission and agency; None when there is none, or when it is
    not of ``cycle_id`` (a link sees only its own cycle)."""
    version = session.get(SubmissionVersion, version_id)
    if version is None:
        return None
    sub = session.get(Submission, version.submission_id)
    if sub is None or (cycle_id is not None and sub.cycle_id != cycle_id):
        return None
    agency = session.get(Agency, sub.agency_id)
    assert agency is not None  # RESTRICT foreign key
    return version, sub, agency
