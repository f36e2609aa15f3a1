"""An agency's deadlines as an iCalendar feed, for Outlook or Google Calendar."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from models.agency import Agency
from models.calendar import period_label
from models.ics import CalendarEntry, build_ics
from models.tables import Directive, Obligation, ReportCycle, Submission


def agency_entries(
    session: Session, agency: Agency, *, since: dt.date | None = None
) -> list[CalendarEntry]:
    """One entry per cycle the agency must report in (its own deadline, not the lead's)."""
    stmt = (
        select(ReportCycle, Obligation, Directive)
        .join(Submission, col(Submission.cycle_id) == col(ReportCycle.id))
        .join(Obligation, col(Obligation.id) == col(ReportCycle.obligation_id))
        .join(Directive, col(Directive.id) == col(Obligation.directive_id))
        .where(Submission.agency_id == agency.id)
        .order_by(col(ReportCycle.due_at))
    )
    if since is not None:
        start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
        stmt = stmt.where(col(ReportCycle.due_at) >= start)
    return [_entry(cycle, ob, directive, agency) for cycle, ob, directive in session.exec(stmt)]


def _entry(
    cycle: ReportCycle, ob: Obligation, directive: Directive, agency: Agency
) -> CalendarEntry:
    period = period_label(cycle.period_key)
    window = f"số liệu từ {cycle.window_start:%d/%m/%Y} đến {cycle.window_end:%d/%m/%Y}"
    what = ob.subject or "báo cáo"
    lines = [
        f"Văn bản: {directive.number} ngày {directive.date:%d/%m/%Y}"
        if directive.date
        else f"Văn bản: {directive.number}",
        f"Trích yếu: {directive.subject}" if directive.subject else "",
        f"Nội dung: {ob.clause_text}",
        f"Kỳ báo cáo: {period} ({window})",
        f"Gửi: {ob.recipient_phrase}" + (f" (thông qua {ob.via_phrase})" if ob.via_phrase else "")
        if ob.recipient_phrase
        else "",
    ]
    return CalendarEntry(
        uid=f"cycle-{cycle.id}-agency-{agency.id}@hanbaocao",
        summary=f"Hạn báo cáo {directive.number} · {period}: {what}",
        description="\n".join(line for line in lines if line),
        due=cycle.due_at,
        alarm_days_before=3,
    )


def agency_calendar(session: Session, agency: Agency, *, since: dt.date | None = None) -> bytes:
    return build_ics(
        agency_entries(session, agency, since=since), calendar_name=f"Hạn báo cáo — {agency.name}"
    )
