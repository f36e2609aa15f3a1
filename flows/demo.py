"""The main job on embedded defaults: one annual cycle of 6966/UBND-KTN, in simulated time.

``run_demo`` ingests both seed directives (the ``ingest`` flow), loads the shipped
registry with a contact for every agency (email to the local mail sink; Zalo to the
local fake for a few), approves the seeds' obligations as an administrator would,
syncs their deployments, then walks the 2026 cycle of the 6966 annual report through
the real flows with the clock set to each moment that matters: opening, the
reminders, a third of the agencies handing in on time and a few late, the deadline,
the escalations to Sở Xây dựng and UBND tỉnh, the closing. Every step is a flow run
recorded by the Prefect server the caller points at (``PREFECT_API_URL``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from sqlmodel import Session, col, select

from directives.parsed import PERIODIC
from models.agency import Agency, AgencyContact, ContactChannel
from models.db import TZ, get_engine, settings
from models.review import PARTY_FLAG_VI, frequency_vi
from models.submissions import Incoming, receive
from models.tables import (
    Notification,
    Obligation,
    ObligationParty,
    ObligationStatus,
    ReportCycle,
    Submission,
)

if TYPE_CHECKING:
    from prefect.flows import Flow

R = TypeVar("R")
SEEDS = ("seed-6966-ubnd-ktn-quang-ngai-2024.txt", "seed-1503-ubnd-ktth-kon-tum-2022.txt")
APPROVED_ON = dt.date(2026, 1, 10)
ACTOR = "demo-admin"
ZALO_AGENCIES = 5  # agencies that also get a Zalo OA contact (the local fake)
DEMO_ZALO_ID_BASE = 7_000_000_000_000


@dataclass(slots=True)
class DemoResult:
    obligations: dict[str, int] = field(default_factory=dict)  # what → obligation id
    cycle_id: int | None = None
    runs: list[str] = field(default_factory=list)
    story_end: dt.datetime | None = None  # the last moment of the story (the closing sweep)
    on_time: int = 0
    late: int = 0
    missing: int = 0
    messages: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    left_out: list[str] = field(default_factory=list)  # not submitters: they receive
    for_review: list[str] = field(default_factory=list)  # obligations left for a human
    outside: int = 0  # messages to bodies outside the province (must stay 0)
    lead_submits: bool = False  # the lead among the submitters (must stay False)
    opening_text: str = ""  # one opening notice, as an agency reads it

    @property
    def on_time_rate(self) -> float:
        total = self.on_time + self.late + self.missing
        return self.on_time / total if total else 0.0


def give_contacts(session: Session, *, zalo_ids: int = ZALO_AGENCIES) -> int:
    """A demo email contact for every agency (their registry contacts are replaced), a
    Zalo OA contact for the first few: the local sink and fake receive them all."""
    agencies = list(session.exec(select(Agency).order_by(col(Agency.id))))
    for old in session.exec(select(AgencyContact)):
        session.delete(old)
    session.flush()
    for n, agency in enumerate(agencies):
        assert agency.id is not None
        address = f"{agency.code}@example.invalid"
        session.add(
            AgencyContact(agency_id=agency.id, channel=ContactChannel.email, address=address)
        )
        if n < zalo_ids or agency.code.endswith("so-xay-dung"):
            session.add(
                # Zalo user ids are digits (scoped to the OA): a made-up one per agency.
                AgencyContact(
                    agency_id=agency.id,
                    channel=ContactChannel.zalo,
                    address=str(DEMO_ZALO_ID_BASE + agency.id),
                )
            )
    session.flush()
    return len(agencies)


def approve_seeds(session: Session, *, province: str) -> dict[str, int]:
    """The administrator's decisions on the seeds, approving only what the seeds say: the
    6966 annual report (accepting the communes for the dissolved district committees).
    Nothing is invented: an obligation whose text gives no schedule (1503/UBND-KTTH's
    report to the ministry, 6966's event-driven reports) stays proposed for a human."""
    from models.plan import accept_suggestion, resolve_parties
    from models.store import set_status

    chosen: dict[str, int] = {}
    for ob in session.exec(select(Obligation).order_by(col(Obligation.id))):
        if ob.status != ObligationStatus.proposed:
            continue
        if ob.frequency not in PERIODIC:
            continue  # no schedule in the text: left for an administrator to decide
        resolve_parties(session, ob, on=APPROVED_ON, province=province)
        parties = session.exec(
            select(ObligationParty).where(ObligationParty.obligation_id == ob.id)
        ).all()
        for party in parties:
            if party.flag == "group_dissolved" and party.suggested_group:
                accept_suggestion(session, party, actor=ACTOR)
        if any(p.flag and not p.group_key for p in parties if p.role == "submitter"):
            continue  # a party nobody could resolve: left for a human
        assert ob.id is not None
        set_status(session, ob.id, status=ObligationStatus.approved, actor=ACTOR)
        key = "6966-annual" if ob.via_phrase == "Sở Xây dựng" else f"obligation-{ob.id}"
        chosen[key] = ob.id
    return chosen


def run_demo(examples: Path, *, say: Any = print) -> DemoResult:
    """The whole story; ``say`` receives one line per step (the CLI prints them)."""
    from flows.cycles import open_cycle, sweep
    from flows.deployments import INGEST_NAME, SWEEP_NAME, sync
    from flows.ingest import ingest
    from models.cycles import cycle_stages
    from models.registry import import_registry, load_registry, shipped_registry

    cfg = settings()
    result = DemoResult()
    engine = get_engine()
    # The sweep's and the ingest's deployments first: every run of the story is one of
    # a deployment's runs, as on a real service.
    sync(engine, start=APPROVED_ON, province=cfg.province)
    for name in SEEDS:
        summary = run_deployed(ingest, INGEST_NAME, path=str(examples / name))
        say(f"đã nạp {summary['number']}: {len(summary['obligations'])} nghĩa vụ báo cáo")
    with Session(engine, expire_on_commit=False) as session:
        import_registry(session, load_registry(shipped_registry()))
        count = give_contacts(session)
        result.obligations = approve_seeds(session, province=cfg.province)
        session.commit()
    say(f"đã nạp danh mục: {count} cơ quan, liên hệ là hộp thư cục bộ và Zalo giả lập")
    say(f"đã duyệt: {', '.join(f'{k} (#{v})' for k, v in result.obligations.items())}")
    result.for_review = _for_review(engine)
    for line in result.for_review:
        say(f"để quản trị viên xem xét: {line}")
    report = sync(engine, start=APPROVED_ON, province=cfg.province)
    say(f"deployment: {report}")

    obligation_id = result.obligations["6966-annual"]
    with Session(engine, expire_on_commit=False) as session:
        ob = session.get(Obligation, obligation_id)
        assert ob is not None
    opened = run_deployed(
        open_cycle,
        obligation_deployment(obligation_id),
        obligation_id=obligation_id,
        period_key="2026",
        now=_opening(obligation_id),
    )
    result.cycle_id = opened["cycle_id"]
    result.opening_text = _opening_text(engine, result.cycle_id)
    say(f"đã mở kỳ 6966/UBND-KTN · Năm 2026: {opened['new_submissions']} cơ quan phải báo cáo")
    result.left_out = _left_out(engine, obligation_id, cfg.province)
    say(f"không phải nộp (cơ quan tổng hợp hoặc nhận báo cáo): {'; '.join(result.left_out)}")
    with Session(engine, expire_on_commit=False) as session:
        cycle = session.get(ReportCycle, result.cycle_id)
        assert cycle is not None
        # A sweep five minutes after each stage of the ladder.
        named = {s.name: s.at + dt.timedelta(minutes=5) for s in cycle_stages(ob, cycle)}
        moments = sorted(set(named.values()))
        closing = (cycle.closes_at or cycle.due_at) + dt.timedelta(days=1, hours=1)
    for moment in [*moments, closing]:
        done = run_deployed(sweep, SWEEP_NAME, now=moment)
        local = moment.astimezone(TZ)
        say(
            f"lượt quét {local:%d/%m/%Y %H:%M}: {done['steps']} bước, "
            f"xếp {sum(done['queued'].values())} tin, đã gửi {done['dispatch'].get('sent', 0)}"
            + (", đã đóng kỳ" if done["closed"] else "")
        )
        if moment == named["reminder-1"]:  # the day before the deadline: a third hand in
            _hand_in(
                engine,
                result.cycle_id,
                at=moment + dt.timedelta(hours=6),
                data_dir=cfg.data_dir,
                share=3,
                say=say,
            )
        if moment == named["overdue"]:  # the day after: a few more, late
            _hand_in(
                engine,
                result.cycle_id,
                at=moment + dt.timedelta(hours=2),
                data_dir=cfg.data_dir,
                share=20,
                say=say,
            )
    result.story_end = closing
    _tally(engine, result)
    return result


def run_deployed(flow: Flow[..., R], deployment: str | UUID, **parameters: Any) -> R:
    """Run ``flow`` here, now, as a run of ``deployment`` (its name or id): created on the
    server from the deployment, then executed in this process (no worker needed), so the
    UI lists it under the deployment, as a scheduled run would be."""
    from prefect import get_client
    from prefect.flow_engine import run_flow

    sent = {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in parameters.items()}
    with get_client(sync_client=True) as client:
        if isinstance(deployment, str):
            deployment = client.read_deployment_by_name(f"{flow.name}/{deployment}").id
        run = client.create_flow_run_from_deployment(deployment, parameters=sent)
    result: R = run_flow(flow, flow_run=run, parameters=parameters)  # type: ignore[assignment]
    return result


def obligation_deployment(obligation_id: int) -> UUID:
    """The id of the deployment that opens the cycles of obligation ``obligation_id``."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags

    from flows.specs import OBLIGATION_TAG

    tag = DeploymentFilterTags(all_=[f"{OBLIGATION_TAG}{obligation_id}"])
    with get_client(sync_client=True) as client:
        (found,) = client.read_deployments(deployment_filter=DeploymentFilter(tags=tag))
    return found.id


def _for_review(engine: Any) -> list[str]:
    """The seeds' obligations the demo does not approve, and why."""
    from models.tables import Directive

    out = []
    with Session(engine) as session:
        rows = session.exec(
            select(Obligation, Directive)
            .join(Directive, col(Directive.id) == Obligation.directive_id)
            .where(Obligation.status == ObligationStatus.proposed)
            .order_by(col(Obligation.id))
        )
        for ob, directive in rows:
            to = f", gửi {ob.recipient_phrase}" if ob.recipient_phrase else ""
            often = frequency_vi(str(ob.frequency))
            out.append(f"{directive.number} #{ob.id} ({often}{to}): {_why(session, ob)}")
    return out


def _why(session: Session, ob: Obligation) -> str:
    if ob.frequency not in PERIODIC:
        return "văn bản không nêu lịch báo cáo"
    flagged = session.exec(
        select(ObligationParty).where(
            ObligationParty.obligation_id == ob.id, col(ObligationParty.flag).is_not(None)
        )
    ).all()
    named = "; ".join(
        f"“{p.phrase}” ({PARTY_FLAG_VI.get(str(p.flag), str(p.flag))})" for p in flagged
    )
    return f"chưa xác định được cơ quan phải báo cáo: {named}" if named else "chưa xác định"


def _left_out(engine: Any, obligation_id: int, province: str) -> list[str]:
    from models.plan import cycle_agencies

    with Session(engine) as session:
        ob = session.get(Obligation, obligation_id)
        assert ob is not None
        who = cycle_agencies(session, ob, on=APPROVED_ON, province=province)
        return [a.name for a in who.left_out]


def _opening(obligation_id: int) -> dt.datetime:
    from models.calendar import parse_period_key
    from models.plan import plan_cycles

    with Session(get_engine()) as session:
        ob = session.get(Obligation, obligation_id)
        assert ob is not None
        period = parse_period_key("2026")
        (plan,) = plan_cycles(
            ob, start=period.start, end=period.start, province=settings().province
        )
    return plan.opens_at


def _hand_in(
    engine: Any,
    cycle_id: int | None,
    *,
    at: dt.datetime,
    data_dir: Path,
    share: int,
    say: Any,
) -> None:
    """One in ``share`` of the agencies still pending hands its report in at ``at``."""
    with Session(engine, expire_on_commit=False) as session:
        pending = session.exec(
            select(Submission)
            .where(
                Submission.cycle_id == cycle_id,
                col(Submission.submitted_at).is_(None),
            )
            .order_by(col(Submission.id))
        ).all()
        chosen = pending[::share]
        handed: list[tuple[Submission, Agency]] = []
        for sub in chosen:
            agency = session.get(Agency, sub.agency_id)
            assert agency is not None
            body = f"Báo cáo năm 2026 của {agency.name}\n".encode()
            upload = Incoming("bao-cao-nam-2026.pdf", io.BytesIO(b"%PDF-1.4\n" + body))
            receive(session, sub.id or 0, [upload], at=at, data_dir=data_dir)
            handed.append((sub, agency))
        session.commit()
        cycle_name = _cycle_name(session, cycle_id)
    from flows import events

    for sub, agency in handed:
        events.emit(
            events.SUBMISSION_RECEIVED,
            resource_id=f"hanbaocao.submission.{sub.id}",
            name=events.submission_event_name(engine, sub.id or 0),  # as the portal names it
            related=[
                events.cycle_related(cycle_id or 0, cycle_name),
                events.agency_related(agency),
            ],
            payload={"cycle_id": cycle_id, "agency_id": sub.agency_id, "at": at.isoformat()},
        )
    say(f"{len(chosen)} cơ quan nộp báo cáo lúc {at.astimezone(TZ):%H:%M ngày %d/%m/%Y}")


def _cycle_name(session: Session, cycle_id: int | None) -> str:
    from models.calendar import period_label
    from notifications.notices import cycle_facts

    facts = cycle_facts(session, cycle_id or 0)
    return f"{facts.title} · {period_label(facts.cycle.period_key)}"


def _tally(engine: Any, result: DemoResult) -> None:
    with Session(engine) as session:
        cycle = session.get(ReportCycle, result.cycle_id)
        assert cycle is not None
        for sub in session.exec(select(Submission).where(Submission.cycle_id == cycle.id)):
            if sub.submitted_at is None:
                result.missing += 1
            elif sub.submitted_at <= cycle.due_at:
                result.on_time += 1
            else:
                result.late += 1
        rows = session.exec(
            select(Notification.stage, Notification.channel, Notification.state, Agency).join(
                Agency, col(Agency.id) == Notification.agency_id
            )
        )
        for stage, channel, state, agency in rows:
            result.messages[(stage, channel, str(state))] += 1
            if agency.kind in ("ministry", "central") or agency.province == "vn":
                result.outside += 1
        lead_row = session.exec(
            select(Submission).where(
                Submission.cycle_id == cycle.id,
                Submission.agency_id == _lead_id(session, result),
            )
        ).first()
        result.lead_submits = lead_row is not None


def _opening_text(engine: Any, cycle_id: int) -> str:
    """One opening notice's text, read while it is queued (a sent row keeps no body)."""
    with Session(engine) as session:
        opening = session.exec(
            select(Notification)
            .where(
                Notification.cycle_id == cycle_id,
                Notification.stage == "opened",
                Notification.channel == "email",
            )
            .order_by(col(Notification.id))
        ).first()
        return str(opening.payload.get("text", "")) if opening else ""


def _lead_id(session: Session, result: DemoResult) -> int | None:
    ob = session.get(Obligation, result.obligations["6966-annual"])
    return ob.lead_agency_id if ob else None
