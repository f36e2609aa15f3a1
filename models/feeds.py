"""An agency's deadlines, for its own page and as an iCalendar feed (Outlook, Google
Calendar).

Two sources, one list: the cycles already created (their stored deadlines, which an
administrator may have moved), and the periods ahead computed from each approved
obligation's calendar (``models.plan.plan_cycles``), so an annual report shows next
year's deadline long before its cycle opens. An agency sees the deadlines it reports
by and, where it is an obligation's lead Sở, its own consolidated report's deadline to
the recipient. One event per (obligation, period, role): the UID does not change when
a computed deadline becomes a created cycle, so subscribed calendars update in place.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, or_, select

from models import clock
from models.agency import Agency
from models.calendar import TZ, period_label
from models.db import settings
from models.ics import CalendarEntry, build_ics
from models.plan import PlanError, cycle_agencies, plan_cycles
from models.tables import (
    Directive,
    Obligation,
    ObligationParty,
    ObligationStatus,
    PartyRole,
    ReportCycle,
    Submission,
)

log = logging.getLogger("hanbaocao.feeds")
HORIZON = dt.timedelta(days=365)  # how far ahead the page and the feed look
LOOK_BACK = dt.timedelta(days=400)  # periods whose deadline may still be ahead start this early


class Role(StrEnum):
    submit = "submit"  # the agency's own report (to the lead, else to the recipient)
    lead = "lead"  # the lead Sở's consolidated report to the recipient


@dataclass(frozen=True, slots=True)
class Upcoming:
    """One deadline of the agency: of a created cycle (``cycle``) or computed."""

    obligation: Obligation
    directive: Directive
    period_key: str
    window: tuple[dt.date, dt.date]
    due: dt.datetime  # aware
    role: Role
    cycle: ReportCycle | None = None

    @property
    def period(self) -> str:
        return period_label(self.period_key)

    @property
    def computed(self) -> bool:
        """Not a cycle yet: the date follows from the obligation's calendar."""
        return self.cycle is None

    @property
    def title(self) -> str:
        return self.directive.number or self.directive.source_name


def agency_deadlines(
    session: Session,
    agency: Agency,
    *,
    since: dt.date | None = None,
    today: dt.date | None = None,
    province: str | None = None,
) -> list[Upcoming]:
    """The agency's deadlines, soonest first: every created cycle it reports in or leads
    (from ``since``; None: all), and the computed ones of the year from ``today``
    (default: the project's clock) whose cycle is not created yet."""
    today = today or clock.now().astimezone(TZ).date()
    province = province or settings().province
    found: dict[tuple[int, str, Role], Upcoming] = {}
    for item in _created(session, agency):
        if since is None or item.due.astimezone(TZ).date() >= since:
            found[(item.obligation.id or 0, item.period_key, item.role)] = item
    until = today + HORIZON
    # Far enough to find the period after the last one created.
    last = max([until, *(u.due.astimezone(TZ).date() for u in found.values())])
    computed = _computed(session, agency, today=today, until=last + HORIZON, province=province)
    nexts: set[tuple[int, Role]] = set()
    for item in sorted(computed, key=lambda u: u.due):
        key = (item.obligation.id or 0, item.period_key, item.role)
        day = item.due.astimezone(TZ).date()
        if day < today or key in found:  # a past period nobody opened is not news
            continue
        # A year ahead, and always the next deadline not created yet, even past the year:
        # an annual report due on 21/12 seen on 01/12 still shows next year's.
        first = (key[0], item.role) not in nexts
        nexts.add((key[0], item.role))
        if day <= until or first:
            found[key] = item
    return sorted(found.values(), key=lambda u: (u.due, u.title, u.role))


def _created(session: Session, agency: Agency) -> list[Upcoming]:
    mine = select(Submission.cycle_id).where(Submission.agency_id == agency.id)
    stmt = (
        select(ReportCycle, Obligation, Directive)
        .join(Obligation, col(Obligation.id) == col(ReportCycle.obligation_id))
        .join(Directive, col(Directive.id) == col(Obligation.directive_id))
        .where(or_(col(ReportCycle.id).in_(mine), col(Obligation.lead_agency_id) == agency.id))
    )
    out = []
    for cycle, ob, d in session.exec(stmt):
        window = (cycle.window_start, cycle.window_end)
        if _submits_in(session, cycle, agency):
            out.append(Upcoming(ob, d, cycle.period_key, window, cycle.due_at, Role.submit, cycle))
        if ob.lead_agency_id == agency.id and cycle.lead_due_at is not None:
            due = cycle.lead_due_at
            out.append(Upcoming(ob, d, cycle.period_key, window, due, Role.lead, cycle))
    return out


def _submits_in(session: Session, cycle: ReportCycle, agency: Agency) -> bool:
    stmt = select(Submission.id).where(
        Submission.cycle_id == cycle.id, Submission.agency_id == agency.id
    )
    return session.exec(stmt).first() is not None


def _computed(
    session: Session, agency: Agency, *, today: dt.date, until: dt.date, province: str
) -> list[Upcoming]:
    out = []
    for ob, d in _obligations(session, agency):
        try:
            plans = plan_cycles(ob, start=today - LOOK_BACK, end=until, province=province)
        except (PlanError, ValueError) as exc:  # not schedulable as it stands: nothing to show
            log.info("no computed deadlines for obligation %s: %s", ob.id, exc)
            continue
        submits = _Membership(session, ob, agency, province)
        for plan in plans:
            p = plan.period
            window = (p.cutoff_start, p.cutoff_end)
            # Who submits is read on the day the cycle would open: groups and mergers change.
            if submits.on(max(plan.opens_at.astimezone(TZ).date(), today)):
                out.append(Upcoming(ob, d, p.key, window, plan.due.at_utc, Role.submit))
            if ob.lead_agency_id == agency.id and plan.lead_due is not None:
                out.append(Upcoming(ob, d, p.key, window, plan.lead_due.at_utc, Role.lead))
    return out


class _Membership:
    """Whether the agency submits in the obligation on a day (one registry read per day)."""

    def __init__(self, session: Session, ob: Obligation, agency: Agency, province: str) -> None:
        self.session, self.ob, self.agency, self.province = session, ob, agency, province
        self._days: dict[dt.date, bool] = {}

    def on(self, day: dt.date) -> bool:
        if day not in self._days:
            found = cycle_agencies(self.session, self.ob, on=day, province=self.province)
            self._days[day] = any(a.id == self.agency.id for a in found.agencies)
        return self._days[day]


def _obligations(session: Session, agency: Agency) -> list[tuple[Obligation, Directive]]:
    """The approved obligations the agency may submit in (named, or a group's) or leads."""
    named = select(ObligationParty.obligation_id).where(
        ObligationParty.role == PartyRole.submitter,
        or_(ObligationParty.agency_id == agency.id, col(ObligationParty.group_key).is_not(None)),
    )
    stmt = (
        select(Obligation, Directive)
        .join(Directive, col(Directive.id) == col(Obligation.directive_id))
        .where(
            Obligation.status == ObligationStatus.approved,
            or_(col(Obligation.id).in_(named), col(Obligation.lead_agency_id) == agency.id),
        )
        .order_by(col(Obligation.id))
    )
    return [(ob, d) for ob, d in session.exec(stmt)]


# --- the feed ------------------------------------------------------------------------------


def calendar_entry(item: Upcoming, agency: Agency, *, url: str | None = None) -> CalendarEntry:
    ob, directive = item.obligation, item.directive
    start, end = item.window
    window = f"số liệu từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}"
    what = ob.subject or "báo cáo"
    lines = [
        f"Văn bản: {directive.number} ngày {directive.date:%d/%m/%Y}"
        if directive.date
        else f"Văn bản: {item.title}",
        f"Trích yếu: {directive.subject}" if directive.subject else "",
        f"Nội dung: {ob.clause_text}",
        f"Kỳ báo cáo: {item.period} ({window})",
        _destination(item),
        "Hạn dự kiến theo lịch của văn bản; kỳ báo cáo chưa mở." if item.computed else "",
        f"Nộp báo cáo: {url}" if url else "",
    ]
    kind = "Hạn tổng hợp, báo cáo" if item.role is Role.lead else "Hạn báo cáo"
    return CalendarEntry(
        uid=f"ob-{ob.id}-{item.period_key}-{item.role}-agency-{agency.id}@hanbaocao",
        summary=f"{kind} {item.title} · {item.period}: {what}",
        description="\n".join(line for line in lines if line),
        due=item.due,
        url=url,
        alarm_days_before=3,
    )


def _destination(item: Upcoming) -> str:
    ob = item.obligation
    if item.role is Role.lead:
        to = ob.recipient_phrase or "cơ quan nhận báo cáo"
        return f"Tổng hợp báo cáo của các cơ quan, gửi {to}"
    if not ob.recipient_phrase:
        return ""
    return f"Gửi: {ob.recipient_phrase}" + (
        f" (thông qua {ob.via_phrase})" if ob.via_phrase else ""
    )


def agency_calendar(
    session: Session,
    agency: Agency,
    *,
    since: dt.date | None = None,
    today: dt.date | None = None,
    province: str | None = None,
    links: dict[int, str] | None = None,
    stamp: dt.datetime | None = None,
) -> bytes:
    """The feed (``agency_deadlines``' arguments); ``links``: the submission link of each
    open cycle, by cycle id, shown in its event."""
    links = links or {}
    items = agency_deadlines(session, agency, since=since, today=today, province=province)
    entries = [
        calendar_entry(
            u,
            agency,
            url=links.get(u.cycle.id or 0) if u.cycle and u.role is Role.submit else None,
        )
        for u in items
    ]
    return build_ics(entries, calendar_name=f"Hạn báo cáo — {agency.name}", stamp=stamp)
