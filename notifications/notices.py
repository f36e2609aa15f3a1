"""From the cycle engine's decisions (``models.cycles.Step``) to outbox rows.

Each step is rendered once per addressee (``messages.render``) and queued once per
channel the addressee has a contact on (``outbox.enqueue``, idempotent on cycle +
agency + stage + channel). An addressee without any contact still gets an ``email``
row: the dispatcher fails it permanently with "no email contact", so the gap shows up
in ``failed_notifications`` and the cycle's artifact instead of vanishing.

Rows carry the rendered message, never a contact URL: the dispatcher resolves
addresses from the registry and the server's settings at send time
(``contacts.contact_resolver``), which keeps secrets out of the database.

Who signs: the recipient's office (Văn phòng UBND tỉnh) by default, or the lead Sở for
the agencies' messages when the directive gives it the chasing (``HANBAOCAO_SENDER=lead``);
escalations and the closing status always come from the office. Every message names a
contact officer (``HANBAOCAO_CONTACT_NAME`` / ``_PHONE`` / ``_EMAIL``, else the sender's
registry contact). Escalations and the closing status never go to a body outside the
province's hierarchy (a ministry, a central body): the province reports upward by its
own letters, not by this system's reminders.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models import clock
from models.actions import extended_dues
from models.agency import Agency, AgencyContact, AgencyKind, ContactChannel
from models.calendar import Audience, StageAnchor, parse_period_key
from models.cycles import AgencyStatus, Step, status
from models.db import TZ
from models.links import DEFAULT_GRACE, link, linker
from models.plan import PlanError, plan_cycles
from models.settings import Settings, settings
from models.tables import Directive, Obligation, ReportCycle
from models.workdays import WorkCalendar, packaged_calendar
from notifications.exports import status_attachments
from notifications.messages import (
    DEFAULT_RECIPIENT,
    DEFAULT_SENDER,
    Contact,
    LateAgency,
    NoticeContext,
    ProvisionalDay,
    StatusRow,
    render,
)
from notifications.outbox import enqueue, enqueue_many, payload_of
from notifications.vocabulary import Message
from notifications.zalo_params import with_fields

CONSOLIDATED = "consolidated-status"
# Bodies outside the province's hierarchy: never escalated to, never sent the status.
OUTSIDE = (AgencyKind.ministry, AgencyKind.central)
AGENCY_PAGE_LIFE = dt.timedelta(days=365)


# Who signs the messages and whom to call: HANBAOCAO_SENDER ("office": Văn phòng UBND
# tỉnh; "lead": the lead Sở), HANBAOCAO_CONTACT_NAME / _PHONE / _EMAIL.
SenderSettings = Settings


@dataclass(frozen=True, slots=True)
class DeadlineFacts:
    """What the messages say beside the dates (from the cycle's plan)."""

    words: str | None = None
    is_default: bool = False
    provisional: tuple[ProvisionalDay, ...] = ()


@dataclass(slots=True)
class Queued:
    """What queueing did: rows inserted per stage and channel, and what could not be said."""

    rows: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def add(self, other: Queued) -> None:
        for key, n in other.rows.items():
            self.rows[key] += n
        self.skipped.extend(other.skipped)


@dataclass(frozen=True, slots=True)
class CycleFacts:
    """A cycle with everything its messages name."""

    cycle: ReportCycle
    obligation: Obligation
    directive: Directive
    lead: Agency | None
    recipient: Agency | None
    office: Agency | None = None  # the recipient's office, which signs by default
    deadline: DeadlineFacts = DeadlineFacts()
    sender: str = DEFAULT_SENDER  # who signs the agencies' messages
    contact: Contact | None = None
    province: str = ""  # this server's province (settings), read once per sweep

    @property
    def title(self) -> str:
        """ "6966/UBND-KTN" (or the file name of a directive without a number)."""
        return self.directive.number or self.directive.source_name

    @property
    def link_expiry(self) -> dt.datetime:
        return (self.cycle.closes_at or self.cycle.due_at) + DEFAULT_GRACE

    @property
    def agency_page_expiry(self) -> dt.datetime:
        """An agency's own page (and the calendar feed under it) outlives the cycle."""
        return self.link_expiry + AGENCY_PAGE_LIFE


def cycle_facts(
    session: Session,
    cycle_id: int,
    *,
    province: str | None = None,
    config: SenderSettings | None = None,
) -> CycleFacts:
    """The cycle's facts; ``province`` and ``config`` (read from the environment when
    not given) are passed by a sweep that reads them once for all its cycles: reading
    settings costs about a millisecond, a sweep meets hundreds of cycles."""
    province = province or settings().province
    cycle = session.get(ReportCycle, cycle_id)
    if cycle is None:
        raise LookupError(f"no report cycle {cycle_id}")
    obligation = session.get(Obligation, cycle.obligation_id)
    assert obligation is not None  # RESTRICT foreign key
    directive = session.get(Directive, obligation.directive_id)
    assert directive is not None
    lead = session.get(Agency, obligation.lead_agency_id) if obligation.lead_agency_id else None
    recipient = (
        session.get(Agency, obligation.recipient_agency_id)
        if obligation.recipient_agency_id
        else None
    )
    office = _office(session, recipient, province)
    config = config or settings()
    signer = signer_of(config, lead, office)
    contacts: Sequence[AgencyContact] = ()
    if signer is not None and signer.id is not None:
        contacts = session.exec(
            select(AgencyContact)
            .where(AgencyContact.agency_id == signer.id)
            .order_by(col(AgencyContact.id))
        ).all()
    row = (cycle, obligation, directive, lead, recipient, office)
    return facts_from(*row, province=province, config=config, contacts=contacts)


def signer_of(config: SenderSettings, lead: Agency | None, office: Agency | None) -> Agency | None:
    """Who signs the agencies' messages: the lead when so configured and there is one,
    else the recipient's office."""
    return lead if config.sender == "lead" and lead is not None else office


def facts_from(
    cycle: ReportCycle,
    obligation: Obligation,
    directive: Directive,
    lead: Agency | None,
    recipient: Agency | None,
    office: Agency | None,
    *,
    province: str,
    config: SenderSettings,
    contacts: Sequence[AgencyContact],
) -> CycleFacts:
    """``CycleFacts`` from rows already read; ``contacts`` holds the signer's contact rows
    in the order of their ids (other agencies' rows may be among them)."""
    signer = signer_of(config, lead, office)
    return CycleFacts(
        cycle,
        obligation,
        directive,
        lead,
        recipient,
        office,
        _deadline_facts(obligation, cycle, province),
        signer.name if signer else DEFAULT_SENDER,
        contact_of(config, signer, contacts),
        province,
    )


def _office(session: Session, recipient: Agency | None, own: str) -> Agency | None:
    """Văn phòng UBND tỉnh of the recipient's province (of ``own``, without one)."""
    province = recipient.province if recipient is not None else own
    stmt = select(Agency).where(
        Agency.kind == AgencyKind.committee_office, Agency.province == province
    )
    return session.exec(stmt.order_by(col(Agency.id))).first()


def contact_of(
    config: SenderSettings, signer: Agency | None, rows: Sequence[AgencyContact]
) -> Contact | None:
    """The configured contact officer, else the signer's registry contacts (from its
    rows among ``rows``, in the order of their ids)."""
    email = config.contact_email
    phone = config.contact_phone
    name = config.contact_name
    if signer is not None and signer.id is not None:
        rows = [r for r in rows if r.agency_id == signer.id]
        email = email or next((r.address for r in rows if r.channel == "email"), None)
        phone = phone or next(
            (r.address for r in rows if r.channel != "email" and r.address.isdigit()), None
        )
        label = next((r.label for r in rows if r.label), "")
        name = name or (f"{label}, {signer.name}" if label else signer.name)
    if not (name or email or phone):
        return None
    return Contact(name or DEFAULT_SENDER, phone, email)


def _deadline_facts(obligation: Obligation, cycle: ReportCycle, province: str) -> DeadlineFacts:
    """The plan of the cycle's period, for what the dates rest on."""
    try:
        period = parse_period_key(cycle.period_key)
        (plan,) = plan_cycles(obligation, start=period.start, end=period.start, province=province)
    except (PlanError, ValueError):
        return DeadlineFacts()
    final = plan.lead_due or plan.due
    return DeadlineFacts(
        words=final.words if not final.is_default else None,
        is_default=final.is_default,
        provisional=tuple(ProvisionalDay(p.day, p.name) for p in plan.provisional),
    )


def issuer_name(directive: Directive) -> str | None:
    """ "UBND tỉnh Quảng Ngãi", as a citation names the issuer."""
    if not directive.issuer:
        return None
    name = " ".join(directive.issuer.split())
    for long in ("Ủy ban nhân dân", "Uỷ ban nhân dân", "ỦY BAN NHÂN DÂN"):
        if name.startswith(long):
            return "UBND" + name[len(long) :]
    return name


def outside_province(agency: Agency) -> bool:
    """A ministry or central body: outside the province's hierarchy."""
    return agency.kind in OUTSIDE or agency.province == "vn"


def context(facts: CycleFacts, agency: str, **extra: Any) -> NoticeContext:
    """The facts every message of the cycle states, addressed to ``agency``."""
    d, ob, cycle = facts.directive, facts.obligation, facts.cycle
    extra.setdefault("sender", facts.sender)
    return NoticeContext(
        agency=agency,
        directive_number=facts.title,
        directive_date=d.date or d.created_at.astimezone(TZ).date(),
        directive_subject=d.subject or ob.subject or "",
        directive_kind=d.doc_type,
        clause=ob.clause_text,
        period_key=cycle.period_key,
        deadline=cycle.due_at,
        recipient=facts.recipient.name if facts.recipient else DEFAULT_RECIPIENT,
        via=facts.lead.name if facts.lead else None,
        frequency=ob.frequency,
        cutoff=(cycle.window_start, cycle.window_end),
        issuer=issuer_name(d),
        issuer_former=bool(
            d.issuer_province and d.issuer_province != (facts.province or settings().province)
        ),
        contact=facts.contact,
        deadline_words=facts.deadline.words,
        deadline_is_default=facts.deadline.is_default,
        provisional=facts.deadline.provisional,
        lead_deadline=cycle.lead_due_at,
        **extra,
    )


def _office_sender(facts: CycleFacts) -> str:
    return facts.office.name if facts.office is not None else DEFAULT_SENDER


def queue_steps(
    session: Session,
    steps: Iterable[Step],
    *,
    now: dt.datetime,
    calendar: WorkCalendar,
) -> Queued:
    """Render and queue the messages of ``steps``; the caller commits with the steps."""
    out = Queued()
    facts: dict[int, CycleFacts] = {}
    province, config = settings().province, SenderSettings()
    for step in steps:
        if step.cycle_id not in facts:
            facts[step.cycle_id] = cycle_facts(
                session, step.cycle_id, province=province, config=config
            )
        f = facts[step.cycle_id]
        if step.audience is Audience.AGENCY:
            out.add(_queue_agency_step(session, f, step, now=now, calendar=calendar))
        else:
            out.add(_queue_escalation(session, f, step, now=now, calendar=calendar))
    return out


def _queue_agency_step(
    session: Session, f: CycleFacts, step: Step, *, now: dt.datetime, calendar: WorkCalendar
) -> Queued:
    out = Queued()
    today = step.at.astimezone(TZ).date()
    agencies = _agencies(session, step.agency_ids)
    channels = channels_of(session, [a.id for a in agencies if a.id is not None])
    # The step's links are issued at one moment: the clock is read once per step, not
    # twice per agency (reading it reads the settings, which cost more than signing).
    submit_link = partial(linker(), issued=clock.now())
    extended = extended_dues(session, f.cycle.id)
    rows: list[dict[str, Any]] = []  # the step's outbox rows, inserted in one statement
    for agency in agencies:
        assert agency.id is not None
        stage, payload = _agency_payload(
            f, agency, step.stage, extended, today=today, now=now, calendar=calendar,
            link=submit_link,
        )  # fmt: skip
        rows.extend(
            _row(f, agency.id, stage, channel, payload, step.at) for channel in channels[agency.id]
        )
    for key in enqueue_many(session, rows):
        out.rows[key] += 1
    return out


def _agency_payload(
    f: CycleFacts,
    agency: Agency,
    stage: str,
    extended: dict[int, dt.datetime],
    *,
    today: dt.date,
    now: dt.datetime,
    calendar: WorkCalendar,
    link: Any,
) -> tuple[str, dict[str, Any]]:
    """The outbox stage name and payload of ladder stage ``stage`` for one agency. An
    extended agency's messages state its own deadline, under their own stage names: its
    new ladder is not the one it may already have heard."""
    assert agency.id is not None
    fa, named = f, stage
    if agency.id in extended:
        own = extended[agency.id]
        fa = replace(f, cycle=ReportCycle(**{**f.cycle.model_dump(), "due_at": own}))
        named = f"{stage}~{own.astimezone(TZ):%Y%m%d}"
    left = calendar.working_days_between(today, fa.cycle.due_at.astimezone(TZ).date())
    url = link("submit", cycle_id=f.cycle.id, agency_id=agency.id, expires=f.link_expiry)
    page = link("agency", cycle_id=None, agency_id=agency.id, expires=f.agency_page_expiry)
    ctx = context(
        fa,
        agency.name,
        link=url,
        agency_page=page,
        working_days_left=max(left, 0),
        days_late=max(-left, 0) or None,
        as_of=now,
    )
    message = with_fields(render(stage, ctx), stage, ctx)
    return named, payload_of(message, agency=agency.name, sender=f.sender)


def fresh_agency_payload(
    session: Session, cycle_id: int, agency: Agency, stage: str, *, now: dt.datetime
) -> dict[str, Any]:
    """The message of an agency's ladder stage (``stage`` may carry an extension's
    "~YYYYMMDD"), rendered again as of ``now``: what a resend sends when the row was
    sent before and keeps no body (``outbox.sent_payload``)."""
    f = cycle_facts(session, cycle_id)
    calendar = packaged_calendar()
    _, payload = _agency_payload(
        f, agency, stage.split("~", 1)[0], extended_dues(session, cycle_id),
        today=now.astimezone(TZ).date(), now=now, calendar=calendar, link=linker(),
    )  # fmt: skip
    return payload


def _row(
    f: CycleFacts, agency_id: int, stage: str, channel: str, payload: Any, at: dt.datetime
) -> dict[str, Any]:
    return {
        "cycle_id": f.cycle.id,
        "agency_id": agency_id,
        "stage": stage,
        "channel": channel,
        "next_attempt_at": at,
        "payload": payload,
    }


def _queue_escalation(
    session: Session, f: CycleFacts, step: Step, *, now: dt.datetime, calendar: WorkCalendar
) -> Queued:
    out = Queued()
    to = f.lead if step.audience is Audience.LEAD else f.recipient
    if to is None:
        who = "lead Sở" if step.audience is Audience.LEAD else "recipient"
        out.skipped.append(
            f"{f.title} {f.cycle.period_key}: {step.stage} skipped — the obligation has no {who}"
        )
        return out
    if outside_province(to):
        out.skipped.append(
            f"{f.title} {f.cycle.period_key}: {step.stage} not sent — {to.name} is outside "
            "the province's hierarchy"
        )
        return out
    rows = status(session, f.cycle, now=now, calendar=calendar)
    reminder = step.anchor is StageAnchor.LEAD_DUE
    # A reminder of the lead's own deadline lists who has not handed in yet, late or not.
    late = _missing(rows) if reminder else _late(rows, f.cycle.due_at)
    if not late and not reminder:
        return out  # everyone handed in between the decision and now
    url = link("view", cycle_id=f.cycle.id, agency_id=to.id, expires=f.link_expiry)
    sender = _office_sender(f)
    page = link("agency", cycle_id=None, agency_id=to.id, expires=f.agency_page_expiry)
    ctx = context(
        f, to.name, link=url, late_agencies=late, as_of=now, sender=sender, agency_page=page
    )
    message = with_fields(render(step.stage, ctx), step.stage, ctx)
    queue_message(session, out, f, to, step.stage, message, at=step.at, sender=sender)
    return out


def _late(rows: list[AgencyStatus], due_at: dt.datetime) -> tuple[LateAgency, ...]:
    return tuple(
        LateAgency(r.agency, r.days_late, r.submitted_at)
        for r in rows
        if r.days_late > 0 and r.state != "excused"
    )


def _missing(rows: list[AgencyStatus]) -> tuple[LateAgency, ...]:
    return tuple(
        LateAgency(r.agency, r.days_late, None)
        for r in rows
        if r.submitted_at is None and r.state != "excused"
    )


def queue_consolidated(
    session: Session,
    f: CycleFacts,
    *,
    now: dt.datetime,
    calendar: WorkCalendar,
    exports_dir: Path | None = None,
) -> tuple[Queued, list[AgencyStatus]]:
    """The closing message: every agency's status, to the lead Sở (to the recipient
    when the obligation has no lead), with the same table as .xlsx and .csv files
    written under ``exports_dir`` (one folder per cycle) when given."""
    out = Queued()
    rows = status(session, f.cycle, now=now, calendar=calendar)
    to = f.lead or f.recipient
    if to is None:
        out.skipped.append(f"{f.title} {f.cycle.period_key}: no lead and no recipient to close to")
        return out, rows
    if outside_province(to):
        out.skipped.append(
            f"{f.title} {f.cycle.period_key}: closing status not sent — {to.name} is outside "
            "the province's hierarchy"
        )
        return out, rows
    table = tuple(StatusRow(r.agency, r.state, r.submitted_at, r.days_late) for r in rows)
    url = link("view", cycle_id=f.cycle.id, agency_id=to.id, expires=f.link_expiry)
    via = {} if f.lead else {"via": to.name}  # the message is addressed to the via
    sender = _office_sender(f)
    page = link("agency", cycle_id=None, agency_id=to.id, expires=f.agency_page_expiry)
    ctx = context(
        f, to.name, link=url, status=table, as_of=now, sender=sender, agency_page=page, **via
    )
    message = with_fields(render(CONSOLIDATED, ctx), CONSOLIDATED, ctx)
    if exports_dir is not None:
        files = status_attachments(ctx, exports_dir / f"cycle-{f.cycle.id}")
        message = replace(message, attachments=files)
    queue_message(session, out, f, to, CONSOLIDATED, message, at=now, sender=sender)
    return out, rows


def queue_message(
    session: Session,
    out: Queued,
    f: CycleFacts,
    agency: Agency,
    stage: str,
    message: Message,
    *,
    at: dt.datetime,
    channels: list[str] | None = None,
    sender: str | None = None,
) -> None:
    """Queue ``message`` to ``agency`` once per channel it has a contact on (``channels``
    when the caller looked them up for many agencies at once)."""
    assert agency.id is not None
    if channels is None:
        channels = channels_of(session, [agency.id])[agency.id]
    for row in message_rows(f, agency, stage, message, at=at, channels=channels, sender=sender):
        inserted = enqueue(
            session,
            cycle_id=row["cycle_id"],
            agency_id=row["agency_id"],
            stage=stage,
            channel=row["channel"],
            payload=row["payload"],
            at=at,
        )
        if inserted:
            out.rows[(stage, row["channel"])] += 1


def message_rows(
    f: CycleFacts,
    agency: Agency,
    stage: str,
    message: Message,
    *,
    at: dt.datetime,
    channels: list[str],
    sender: str | None = None,
) -> list[dict[str, Any]]:
    """The outbox rows of ``message`` to ``agency``, one per channel, for ``enqueue_many``
    (many messages queued in one statement)."""
    assert f.cycle.id is not None and agency.id is not None
    payload = payload_of(message, agency=agency.name, sender=sender or f.sender)
    return [_row(f, agency.id, stage, channel, payload, at) for channel in channels]


def channels_of(session: Session, agency_ids: list[int]) -> dict[int, list[str]]:
    """Each agency's contact channels, in one query; ``email`` for one with none (it fails
    at dispatch with the reason, rather than silently)."""
    rows: Iterable[tuple[int, str]] = ()
    if agency_ids:
        stmt = select(AgencyContact.agency_id, AgencyContact.channel).where(
            col(AgencyContact.agency_id).in_(agency_ids)
        )
        rows = session.exec(stmt)
    return channels_from(agency_ids, rows)


def channels_from(
    agency_ids: Iterable[int], rows: Iterable[tuple[int, str]]
) -> dict[int, list[str]]:
    """``channels_of`` from (agency id, channel) rows already read."""
    found: dict[int, set[str]] = {i: set() for i in agency_ids}
    for agency_id, channel in rows:
        if agency_id in found:
            found[agency_id].add(str(channel))
    return {i: sorted(c) or [str(ContactChannel.email)] for i, c in found.items()}


def _agencies(session: Session, ids: Iterable[int]) -> list[Agency]:
    wanted = list(ids)
    if not wanted:
        return []
    stmt = select(Agency).where(col(Agency.id).in_(wanted)).order_by(col(Agency.name))
    return list(session.exec(stmt))


def stage_counts(rows: Mapping[tuple[str, str], int]) -> list[tuple[str, str, int]]:
    return sorted((stage, channel, n) for (stage, channel), n in rows.items())
