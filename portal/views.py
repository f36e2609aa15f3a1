"""The pages behind the agencies' and the lead's own links (``models.links``):

- ``GET /agency/{token}``: the agency's open cycles, each with its own submission link;
- ``GET /agency/{token}/calendar.ics``: its deadlines as an iCalendar feed;
- ``GET /view/{token}``: the lead Sở's and the recipient's read-only view of one cycle.

A link that is forged, expired or for another purpose is refused with 403 and a page
saying so (``portal.submit.LinkRefused``), before anything is read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from models.agency import Agency
from models.calendar import period_label
from models.db import TZ
from models.feeds import agency_calendar
from models.links import DEFAULT_GRACE, LinkClaims, make_token
from models.tables import CycleState, Directive, Obligation, ReportCycle, Submission
from notifications.notices import CycleFacts, cycle_facts
from portal.deps import Portal, portal_of
from portal.pages import page
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
    session: Session, portal: Portal, agency_id: int | None, now: dt.datetime
) -> tuple[Agency, list[OpenCycle]]:
    agency = session.get(Agency, agency_id)
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
                issued=now,
            ),
        )
        for sub, cycle, ob, d in session.exec(stmt)
    ]
    return agency, rows


@router.get("/agency/{token}", response_class=HTMLResponse)
def agency_page(request: Request, token: str) -> HTMLResponse:
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "agency", now)
    agency, rows = _in_session(portal, _open_cycles, portal, claims.agency_id, now)
    calendar = f"/agency/{token}/calendar.ics"
    return page(
        "submit/agency.html",
        agency=agency,
        rows=rows,
        calendar=calendar,
        subscribe=portal.links.public_url.rstrip("/") + calendar,
    )


@router.get("/agency/{token}/calendar.ics")
def agency_feed(request: Request, token: str) -> Response:
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "agency", now)

    def build(session: Session) -> bytes:
        agency = session.get(Agency, claims.agency_id)
        if agency is None:
            raise LinkRefused("invalid")
        since = (now - dt.timedelta(days=400)).astimezone(TZ).date()  # a year back is enough
        return agency_calendar(session, agency, since=since)

    body: bytes = _in_session(portal, build)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="han-bao-cao.ics"'},
    )


# --- the lead's and the recipient's view of a cycle -----------------------------------------


@dataclass(frozen=True, slots=True)
class CycleView:
    facts: CycleFacts
    viewer: Agency
    period: str
    rows: list[tuple[str, str, str, str, int]]  # agency, label, css, submitted at, days late
    submitted: int


_VIEW_CSS = {"submitted": "ok", "late": "missing", "pending": "due", "excused": "excused"}


def _cycle_view(session: Session, claims: LinkClaims, now: dt.datetime) -> CycleView:
    from models.cycles import status
    from notifications.messages import StatusRow, format_moment, status_label

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
    rows = []
    for r in status(session, facts.cycle, now=now):
        css = "late" if r.state == "submitted" and r.days_late else _VIEW_CSS.get(r.state, "due")
        label = status_label(StatusRow(r.agency, r.state, r.submitted_at, r.days_late))
        when = format_moment(r.submitted_at) if r.submitted_at else "—"
        rows.append((r.agency, label, css, when, r.days_late))
    rows.sort(key=lambda row: (-row[4], row[0]))
    submitted = sum(1 for r in rows if r[3] != "—")
    return CycleView(facts, viewer, period_label(facts.cycle.period_key), rows, submitted)


@router.get("/view/{token}", response_class=HTMLResponse)
def cycle_view_page(request: Request, token: str) -> HTMLResponse:
    """Read-only: who has handed in, for the lead Sở and the recipient (their messages'
    "Xem tình hình nộp báo cáo" link)."""
    portal = portal_of(request)
    now = portal.clock()
    claims = _claims(portal, token, "view", now)
    view = _in_session(portal, _cycle_view, claims, now)
    return page("submit/view.html", view=view)
