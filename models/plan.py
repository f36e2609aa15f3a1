"""From a stored obligation to who reports and when: parties resolved against the
registry, and the report cycles of a span of years.

The administrator's decisions (a schedule for an untimed clause, accepting the
suggested successor of a dissolved group) are recorded here with an audit row; the
dates come from ``models.calendar`` and the agencies from ``models.registry`` — this
module only joins them to the stored rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlmodel import Session, col, select

from directives.parsed import FREQUENCY_VI, PERIODIC, Deadline
from models.agency import Agency, AgencyKind
from models.calendar import (
    DEFAULT_LADDER,
    Due,
    Ladder,
    Period,
    ScheduledStage,
    cycle_open_date,
    evaluate,
    levels,
    once_period,
    packaged_defaults,
    periods,
    schedule,
)
from models.db import TZ, utcnow
from models.registry import Resolution, list_agencies, partial_groups, resolve
from models.store import audit
from models.tables import (
    CycleState,
    Directive,
    Obligation,
    ObligationParty,
    ObligationStatus,
    PartyRole,
    ReportCycle,
    Submission,
)
from models.vocabulary import STATUS_VI
from models.workdays import OverrideDay, WorkCalendar, packaged_calendar

OPENING_TIME = dt.time(8, 0)


class PlanError(ValueError):
    """An obligation that cannot be scheduled as it stands; the message says what to set."""


# --- parties ---------------------------------------------------------------------------


def resolve_parties(
    session: Session, obligation: Obligation, *, on: dt.date, province: str
) -> list[ObligationParty]:
    """(Re)write the obligation's parties as the registry reads them on ``on``: the
    submitters (the clause's own, else its heading's), the recipient and the lead (via).
    The lead and recipient agencies are also set on the obligation."""
    for old in session.exec(
        select(ObligationParty).where(ObligationParty.obligation_id == obligation.id)
    ):
        session.delete(old)
    issuer = _issuer_province(session, obligation)
    parties: list[ObligationParty] = []
    for role, phrase in _phrases(obligation):
        res = resolve(session, phrase, on=on, province=province, issuer_province=issuer)
        parties.extend(_party_rows(obligation, role, phrase, res, partial_groups(province)))
    obligation.lead_agency_id = _first_agency(parties, PartyRole.via)
    obligation.recipient_agency_id = _first_agency(parties, PartyRole.recipient)
    session.add_all(parties)
    session.add(obligation)
    session.flush()
    return parties


def _phrases(ob: Obligation) -> list[tuple[PartyRole, str]]:
    submitters = list(ob.submitter_phrases or ob.inherited_submitters or [])
    out = [(PartyRole.submitter, p) for p in submitters]
    if ob.recipient_phrase:
        out.append((PartyRole.recipient, ob.recipient_phrase))
    if ob.via_phrase:
        out.append((PartyRole.via, ob.via_phrase))
    return out


def _issuer_province(session: Session, ob: Obligation) -> str | None:
    directive = session.get(Directive, ob.directive_id)
    return directive.issuer_province if directive else None


def _party_rows(
    ob: Obligation,
    role: PartyRole,
    phrase: str,
    res: Resolution,
    partial: Mapping[str, str] | None = None,
) -> list[ObligationParty]:
    """The rows of one phrase; a group the registry lists only in part says so in its note
    (the administrator adds the missing agencies with ``add_submitter``)."""
    assert ob.id is not None
    group = _resolved_group(res)
    caveat = (partial or {}).get(group or "")
    note = "; ".join([*res.notes, *([caveat] if caveat else [])]) or None
    if res.flag or not res.agencies:
        return [
            ObligationParty(
                obligation_id=ob.id,
                role=role,
                phrase=phrase,
                flag=str(res.flag or "unknown"),
                suggested_group=res.suggested_group,
                note=note,
            )
        ]
    if group is not None:
        return [
            ObligationParty(
                obligation_id=ob.id, role=role, phrase=phrase, group_key=group, note=note
            )
        ]
    return [
        ObligationParty(obligation_id=ob.id, role=role, phrase=phrase, agency_id=a.id, note=note)
        for a in res.agencies
    ]


def _resolved_group(res: Resolution) -> str | None:
    """The group a phrase names, when it names one ("các sở, ban, ngành")."""
    from directives.agencies import describe

    refs = describe(res.phrase)
    return refs[0].group if len(refs) == 1 and refs[0].kind == "group" else None


def _first_agency(parties: list[ObligationParty], role: PartyRole) -> int | None:
    return next((p.agency_id for p in parties if p.role == role and p.agency_id), None)


def accept_suggestion(session: Session, party: ObligationParty, *, actor: str) -> None:
    """The administrator takes the suggested successor group of a dissolved one."""
    if not party.suggested_group:
        raise PlanError(
            f"cơ quan ghi “{party.phrase}” (mục {party.id}) không có đề xuất nào để nhận"
        )
    before = {"flag": party.flag, "group_key": party.group_key}
    party.group_key, party.flag = party.suggested_group, None
    session.add(party)
    audit(
        session,
        actor=actor,
        action="party.accept_suggestion",
        entity="obligation_party",
        entity_id=party.id,
        data={"before": before, "group_key": party.group_key},
    )


def set_schedule(
    session: Session,
    obligation: Obligation,
    *,
    frequency: str,
    deadline: Deadline | None = None,
    actor: str,
) -> None:
    """What the text left open: how often (and optionally by when) the report is due."""
    if frequency not in (*PERIODIC, "once"):
        raise PlanError(
            f"không lập lịch được cho tần suất {frequency!r}: chọn một trong "
            f"{', '.join((*PERIODIC, 'once'))}"
        )
    before = {"frequency": obligation.frequency, "deadline_override": obligation.deadline_override}
    obligation.frequency = frequency
    if deadline is not None:
        obligation.deadline_override = _deadline_dict(deadline)
    obligation.updated_at = utcnow()
    session.add(obligation)
    audit(
        session,
        actor=actor,
        action="obligation.set_schedule",
        entity="obligation",
        entity_id=obligation.id,
        data={"before": before, "frequency": frequency, "deadline": obligation.deadline_override},
    )


def _deadline_dict(deadline: Deadline) -> dict[str, Any]:
    return {k: getattr(deadline, k) for k in Deadline.__dataclass_fields__}


# --- cycles ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CyclePlan:
    """One period's cycle: when it opens, the agencies' deadline, the lead's deadline,
    and the provisional days off ("dự kiến") that those deadlines depend on."""

    period: Period
    opens_at: dt.datetime
    due: Due  # the submitting agencies' deadline (to the lead when there is one)
    lead_due: Due | None  # the lead's consolidated report to the recipient
    stages: list[ScheduledStage]
    warnings: tuple[str, ...] = ()
    provisional: tuple[OverrideDay, ...] = ()

    @property
    def closes_at(self) -> dt.datetime:
        """After the last stage of the ladder (the last escalation)."""
        return max([s.at for s in self.stages] + [self.due.at])


def plan_cycles(
    obligation: Obligation,
    *,
    start: dt.date,
    end: dt.date,
    province: str,
    calendar: WorkCalendar | None = None,
) -> list[CyclePlan]:
    """The cycles of the periods overlapping [start, end], computed, not stored."""
    frequency = obligation.frequency
    if frequency not in PERIODIC:
        raise PlanError(
            f"nghĩa vụ số {obligation.id} ({FREQUENCY_VI.get(frequency, frequency)}) không có kỳ "
            "báo cáo: đặt tần suất và hạn nộp trước"
        )
    cal = calendar or packaged_calendar()
    rule = Deadline(**(obligation.deadline_override or obligation.deadline or {}))
    ladder = Ladder.from_data(obligation.ladder) if obligation.ladder else DEFAULT_LADDER
    defaults = packaged_defaults()
    has_lead = obligation.via_phrase is not None or obligation.lead_agency_id is not None
    lead_days = defaults.lookup(province, frequency).lead_days if rule.kind == "none" else 3
    plans = []
    for period in periods(frequency, start, end):

        def one(c: WorkCalendar, period: Period = period) -> CyclePlan:
            final = evaluate(
                rule, frequency, period, calendar=c, defaults=defaults, province=province
            )
            return _plan_one(
                period, final, has_lead=has_lead, lead_days=lead_days, ladder=ladder, cal=c
            )

        plan = one(cal)
        plans.append(_with_provisional(plan, one(cal.confirmed_only()), cal))
    return plans


def plan_once(
    obligation: Obligation, *, opens_at: dt.datetime, calendar: WorkCalendar | None = None
) -> CyclePlan:
    """A one-off report's only cycle, opened at ``opens_at`` (approval): the clause's
    date (rolled to a working day), the lead's split as for any period, and the ladder
    fitted to the time left: the opening notice now, then whichever stages lie ahead."""
    rule = Deadline(**(obligation.deadline_override or obligation.deadline or {}))
    if obligation.frequency != "once" or rule.kind != "date":
        raise PlanError(
            f"nghĩa vụ số {obligation.id}: báo cáo một lần cần hạn là một ngày cụ thể "
            f"(tần suất {obligation.frequency}, hạn loại {rule.kind})"
        )
    cal = calendar or packaged_calendar()
    final = evaluate(rule, "once", None, calendar=cal)
    due, lead_due, warnings = final, None, []
    if obligation.via_phrase is not None or obligation.lead_agency_id is not None:
        levelled = levels(final, calendar=cal)
        due, lead_due = levelled.agencies, levelled.lead
        warnings += [w for w in (levelled.warning,) if w]
    period = once_period(final.day.isoformat())
    ladder = Ladder.from_data(obligation.ladder) if obligation.ladder else DEFAULT_LADDER
    stages = schedule(ladder, opens_at, due, cal, lead_due=lead_due)
    return CyclePlan(period, opens_at, due, lead_due, stages, tuple(warnings))


def opened_at(plan: CyclePlan, at: dt.datetime, ladder: Ladder, cal: WorkCalendar) -> CyclePlan:
    """``plan`` as a cycle opened at ``at`` instead of its own day (approved while its
    period runs): the opening notice now, then the stages still ahead."""
    stages = schedule(ladder, at, plan.due, cal, lead_due=plan.lead_due)
    return replace(plan, opens_at=at, stages=stages)


def _plan_one(
    period: Period,
    final: Due,
    *,
    has_lead: bool,
    lead_days: int,
    ladder: Ladder,
    cal: WorkCalendar,
) -> CyclePlan:
    warnings = [w for w in (final.warning,) if w]
    due, lead_due = final, None
    if has_lead:
        levelled = levels(final, lead_days=lead_days, calendar=cal)
        due, lead_due = levelled.agencies, levelled.lead
        warnings += [w for w in (levelled.warning,) if w]
    open_day = cycle_open_date(period, due, calendar=cal)
    opens_at = dt.datetime.combine(open_day, OPENING_TIME, tzinfo=TZ)
    stages = schedule(ladder, opens_at, due, cal, lead_due=lead_due)
    return CyclePlan(period, opens_at, due, lead_due, stages, tuple(warnings))


def _with_provisional(plan: CyclePlan, strict: CyclePlan, cal: WorkCalendar) -> CyclePlan:
    """``plan`` naming the provisional days its deadlines depend on: those that would
    move if the provisional days were working days (``strict``)."""
    pairs = [(plan.due.day, strict.due.day)]
    if plan.lead_due is not None and strict.lead_due is not None:
        pairs.append((plan.lead_due.day, strict.lead_due.day))
    moved = [(a, b) for a, b in pairs if a != b]
    if not moved:
        return plan
    lo = min(min(pair) for pair in moved)
    hi = max(max(pair) for pair in moved)
    found = cal.provisional_between(lo, hi) or cal.provisional_between(plan.period.cutoff_end, hi)
    return replace(plan, provisional=tuple(found))


@dataclass(slots=True)
class CycleAgencies:
    agencies: list[Agency] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # parties that name nobody on the day
    left_out: list[Agency] = field(default_factory=list)  # the lead / recipient's office


def receiving_agencies(session: Session, obligation: Obligation) -> set[int]:
    """Who receives or consolidates the report, hence does not submit it to itself: the
    lead Sở, the recipient, and the recipient's own office (Văn phòng UBND tỉnh for
    UBND tỉnh), which prepares what the recipient receives."""
    out = {i for i in (obligation.lead_agency_id, obligation.recipient_agency_id) if i}
    recipient = (
        session.get(Agency, obligation.recipient_agency_id)
        if obligation.recipient_agency_id
        else None
    )
    if recipient is not None and recipient.kind == AgencyKind.provincial_committee:
        offices = select(Agency.id).where(
            Agency.kind == AgencyKind.committee_office, Agency.province == recipient.province
        )
        out.update(i for i in session.exec(offices) if i is not None)
    return out


def cycle_agencies(
    session: Session, obligation: Obligation, *, on: dt.date, province: str
) -> CycleAgencies:
    """Who submits in a cycle opening on ``on``: a group's members that day, a named
    agency's successor that day. A flagged party names nobody and is reported, never
    silently dropped. A group leaves out the agencies that receive or consolidate the
    report (``receiving_agencies``: the lead does not report to itself); an agency named
    on its own, or added back by an administrator (``add_submitter``), stays."""
    out = CycleAgencies()
    issuer = _issuer_province(session, obligation)
    receiving = receiving_agencies(session, obligation)
    seen: set[int] = set()
    stmt = select(ObligationParty).where(
        ObligationParty.obligation_id == obligation.id, ObligationParty.role == PartyRole.submitter
    )
    for party in session.exec(stmt.order_by(col(ObligationParty.id))):
        if party.flag:
            out.flags.append(f"{party.phrase}: {party.flag}")
            continue
        if party.group_key:
            found = list_agencies(session, on=on, group=party.group_key, province=province)
            kept = [a for a in found if a.id not in receiving]
            out.left_out.extend(a for a in found if a.id in receiving and a not in out.left_out)
            found = kept
        else:
            found = resolve(
                session, party.phrase, on=on, province=province, issuer_province=issuer
            ).agencies
        for agency in found:
            if agency.id is not None and agency.id not in seen:
                seen.add(agency.id)
                out.agencies.append(agency)
    out.left_out = [a for a in out.left_out if a.id not in seen]
    return out


def add_submitter(session: Session, obligation: Obligation, agency: Agency, *, actor: str) -> None:
    """An administrator adds an agency to the submitters by name (the lead Sở, say, that
    a group left out because it consolidates the report); idempotent."""
    assert obligation.id is not None and agency.id is not None
    existing = session.exec(
        select(ObligationParty).where(
            ObligationParty.obligation_id == obligation.id,
            ObligationParty.role == PartyRole.submitter,
            ObligationParty.agency_id == agency.id,
        )
    ).first()
    if existing is not None:
        return
    party = ObligationParty(
        obligation_id=obligation.id,
        role=PartyRole.submitter,
        phrase=agency.name,
        agency_id=agency.id,
        note="added by an administrator",
    )
    session.add(party)
    session.flush()
    audit(
        session,
        actor=actor,
        action="party.add_submitter",
        entity="obligation_party",
        entity_id=party.id,
        data={"obligation": obligation.id, "agency": agency.id},
    )


def ensure_cycles(
    session: Session, obligation: Obligation, *, start: dt.date, end: dt.date, province: str
) -> list[ReportCycle]:
    """Store the cycles of [start, end] with one pending submission per agency;
    idempotent (an existing cycle or submission is left as it is)."""
    if obligation.status != ObligationStatus.approved:
        raise PlanError(
            f"nghĩa vụ số {obligation.id} đang ở trạng thái “{STATUS_VI[obligation.status]}”: "
            "duyệt nghĩa vụ trước"
        )
    cycles = []
    for plan in plan_cycles(obligation, start=start, end=end, province=province):
        cycle, _ = cycle_row(session, obligation, plan)
        who = cycle_agencies(session, obligation, on=plan.opens_at.date(), province=province)
        _submission_rows(session, cycle, who.agencies, first=plan.stages[0])
        cycles.append(cycle)
    session.flush()
    return cycles


def cycle_row(
    session: Session, ob: Obligation, plan: CyclePlan, *, state: CycleState = CycleState.scheduled
) -> tuple[ReportCycle, bool]:
    """The stored cycle of ``plan``'s period, created (in ``state``) if missing; True when
    it was created."""
    existing = session.exec(
        select(ReportCycle).where(
            ReportCycle.obligation_id == ob.id, ReportCycle.period_key == plan.period.key
        )
    ).first()
    if existing:
        return existing, False
    assert ob.id is not None
    cycle = ReportCycle(
        obligation_id=ob.id,
        period_key=plan.period.key,
        window_start=plan.period.cutoff_start,
        window_end=plan.period.cutoff_end,
        opens_at=plan.opens_at,
        due_at=plan.due.at,
        lead_due_at=plan.lead_due.at if plan.lead_due else None,
        closes_at=plan.closes_at,
        state=state,
    )
    session.add(cycle)
    session.flush()
    return cycle, True


def _submission_rows(
    session: Session, cycle: ReportCycle, agencies: list[Agency], *, first: ScheduledStage
) -> None:
    have = set(session.exec(select(Submission.agency_id).where(Submission.cycle_id == cycle.id)))
    for agency in agencies:
        if agency.id in have:
            continue
        assert cycle.id is not None and agency.id is not None
        session.add(
            Submission(
                cycle_id=cycle.id,
                agency_id=agency.id,
                next_action_at=first.at,
                next_action_stage=first.name,
            )
        )
