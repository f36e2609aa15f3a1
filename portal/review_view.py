"""What the intake pages show: the directives with their status, the document text cut
into highlighted evidence spans, and one view per obligation for its form."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from directives.parsed import describe_deadline
from models.review import CYCLE_STATE_VI, STATUS_VI
from models.tables import CycleState, Directive, Obligation, ReportCycle

if TYPE_CHECKING:
    from models.review import Review
    from portal.intake import Outcome

# The CLI's colours (cli.render.STYLE), as CSS classes: the same field, the same colour.
FIELDS = ("frequency", "deadline", "submitters", "recipient", "via")
FIELD_VI = {
    "frequency": "tần suất",
    "deadline": "hạn",
    "submitters": "cơ quan báo cáo",
    "recipient": "nơi nhận",
    "via": "chủ trì",
}


# --- the list ----------------------------------------------------------------------------


def directive_rows(session: Session) -> list[dict[str, Any]]:
    """Every directive's latest version with its obligations counted by status and its
    status in a word: running (a cycle open), approved, partly approved, proposed."""
    superseded = select(Directive.previous_id).where(col(Directive.previous_id).is_not(None))
    directives = session.exec(
        select(Directive)
        .where(col(Directive.id).not_in(superseded))
        .order_by(col(Directive.id).desc())
    ).all()
    rows = []
    for d in directives:
        obs = session.exec(select(Obligation).where(Obligation.directive_id == d.id)).all()
        counts = Counter(str(ob.status) for ob in obs)
        running = session.exec(
            select(ReportCycle.id)
            .join(Obligation, col(Obligation.id) == ReportCycle.obligation_id)
            .where(Obligation.directive_id == d.id, ReportCycle.state == CycleState.open)
        ).first()
        rows.append(
            {
                "id": d.id,
                "number": d.number or d.source_name,
                "issuer": d.issuer or "—",
                "date": d.date,
                "subject": d.subject or "",
                "obligations": len(obs),
                "counts": counts,
                "status": _status(counts, running is not None),
            }
        )
    return rows


def _status(counts: Counter[str], running: bool) -> str:
    if running:
        return "đang chạy"
    live = counts["proposed"] + counts["approved"]
    if not live:
        return "không có nghĩa vụ cần duyệt"
    if counts["approved"] and not counts["proposed"]:
        return "đã duyệt"
    return "duyệt một phần" if counts["approved"] else "đề xuất"


# --- the text ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    field: str | None = None  # a FIELDS value: the span is that field's evidence
    obligation_id: int | None = None


def highlighted(text: str, obligations: list[Obligation]) -> list[Segment]:
    """The document cut into plain text and evidence spans (offsets into the stored
    text); where spans overlap, the first one read wins."""
    spans = sorted(
        (int(ev["start"]), int(ev["end"]), name, ob.id)
        for ob in obligations
        for name in FIELDS
        for ev in ob.evidence.get(name, [])
        if 0 <= int(ev.get("start", -1)) < int(ev.get("end", -1)) <= len(text)
    )
    out: list[Segment] = []
    at = 0
    for start, end, name, ob_id in spans:
        if start < at:
            continue  # overlaps a span already shown
        if start > at:
            out.append(Segment(text[at:start]))
        out.append(Segment(text[start:end], name, ob_id))
        at = end
    out.append(Segment(text[at:]))
    return out


# --- one obligation's form ---------------------------------------------------------------


@dataclass(slots=True)
class ObligationView:
    id: int
    status: str
    status_vi: str
    frequency: str
    deadline: str  # as the administrator types it: the override's words, else empty
    deadline_read: str  # what the clause says
    clause: str
    needs: list[str]
    submitters: list[dict[str, str]]
    lead_id: int | None
    lead: str
    recipient_id: int | None
    recipient: str
    ladder: str
    suggestion: str | None
    cycles: list[dict[str, str]]
    done: list[str] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    ask_late: bool = False
    late_next: bool = True


def obligation_views(
    rv: Review, obligations: list[Obligation], outcome: Outcome | None
) -> dict[str, Any]:
    """The views and what every form shares: the agencies active today, the groups."""
    views = [_view(rv, ob, outcome) for ob in obligations]
    return {"views": views, "agencies": _agencies(rv), "groups": _groups()}


def _view(rv: Review, ob: Obligation, outcome: Outcome | None) -> ObligationView:
    from models.edits import ladder_text
    from models.review import (
        agency_name,
        group_vi,
        needs,
        parties,
        party_flag_text,
    )

    assert ob.id is not None
    rows = parties(rv, ob)
    submitters = [
        {
            "value": p.group_key or _code(rv, p.agency_id) or "",
            "label": party_flag_text(p)
            if p.flag
            else (f"nhóm {group_vi(p.group_key)}" if p.group_key else agency_name(rv, p.agency_id)),
            "note": p.note or "",
        }
        for p in rows
        if str(p.role) == "submitter"
    ]
    override = ob.deadline_override or {}
    suggestion = next((p.suggested_group for p in rows if p.flag and p.suggested_group), None)
    view = ObligationView(
        id=ob.id,
        status=str(ob.status),
        status_vi=STATUS_VI.get(str(ob.status), str(ob.status)),
        frequency=ob.frequency,
        deadline=str(override.get("raw") or ("default" if override.get("kind") == "none" else "")),
        deadline_read=describe_deadline(_rule(ob.deadline)),
        clause=" ".join(ob.clause_text.split()),
        needs=needs(rv, ob, rows),
        submitters=submitters,
        lead_id=ob.lead_agency_id,
        lead=agency_name(rv, ob.lead_agency_id, ob.via_phrase),
        recipient_id=ob.recipient_agency_id,
        recipient=agency_name(rv, ob.recipient_agency_id, ob.recipient_phrase),
        ladder=ladder_text(ob),
        suggestion=group_vi(suggestion) if suggestion else None,
        cycles=_cycles(rv, ob.id),
    )
    if outcome is not None and outcome.obligation_id == ob.id:
        view.done = outcome.done
        view.problems = [{"field": p.field or "", "message": p.message} for p in outcome.problems]
        late = [p for p in outcome.problems if p.code == "deadline_passed"]
        view.ask_late = bool(late)
        view.late_next = bool(late and "next" in late[0].choices)
    return view


def _rule(data: dict[str, Any] | None) -> Any:
    from directives.parsed import Deadline

    return Deadline(**(data or {}))


def _code(rv: Review, agency_id: int | None) -> str | None:
    from models.agency import Agency

    agency = rv.session.get(Agency, agency_id) if agency_id else None
    return agency.code if agency else None


def _cycles(rv: Review, obligation_id: int) -> list[dict[str, str]]:
    from models.calendar import period_label
    from models.review import local

    stmt = select(ReportCycle).where(ReportCycle.obligation_id == obligation_id)
    return [
        {
            "period": period_label(c.period_key),
            "due": local(c.due_at),
            "lead_due": local(c.lead_due_at) if c.lead_due_at else "—",
            "state": CYCLE_STATE_VI.get(str(c.state), str(c.state)),
            "state_key": str(c.state),
        }
        for c in rv.session.exec(stmt.order_by(col(ReportCycle.due_at)))
    ]


def _agencies(rv: Review) -> list[dict[str, Any]]:
    """Agencies active today, by name: the ones a submitter, lead or recipient can be
    (what a dissolved one became shows in the submitters' notes)."""
    from models.registry import list_agencies

    return [
        {"id": a.id, "code": a.code, "name": a.name}
        for a in sorted(
            list_agencies(rv.session, on=rv.today, province=rv.province), key=lambda a: a.name
        )
    ]


def _groups() -> list[dict[str, str]]:
    from models.review import GROUP_VI

    return [
        {"code": key, "name": f"nhóm {name}"}
        for key, name in GROUP_VI.items()
        if key != "district_committees"  # dissolved on 1/7/2025
    ]
