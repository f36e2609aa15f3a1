"""Custom Prefect events, so operators can hang their own Automations on them:

- ``hanbaocao.submission.received`` — an agency handed in a report (resource: the submission)
- ``hanbaocao.cycle.overdue`` — a cycle's deadline passed with reports missing
- ``hanbaocao.escalation.sent`` — an escalation went to the lead Sở or the recipient
- ``hanbaocao.channel.held`` — a channel cannot send (SMTP login refused, certificate,
  Zalo balance, the OA's tokens refused): its messages wait until it is fixed
- ``hanbaocao.zalo.refresh-failed`` — the weekly refresh of an OA's tokens failed

Payloads carry ids, names and counts: never a contact address or a link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from models.agency import Agency
    from notifications.notices import CycleFacts

SUBMISSION_RECEIVED = "hanbaocao.submission.received"
CYCLE_OVERDUE = "hanbaocao.cycle.overdue"
ESCALATION_SENT = "hanbaocao.escalation.sent"
CHANNEL_HELD = "hanbaocao.channel.held"
ZALO_REFRESH_FAILED = "hanbaocao.zalo.refresh-failed"


def emit(
    event: str,
    *,
    resource_id: str,
    name: str,
    payload: dict[str, Any],
    related: list[dict[str, str]] | None = None,
) -> None:
    """Emit ``event`` about ``resource_id``; ``name`` is what the UI's event feed shows,
    so it names things as people do ("Sở Tài chính · 6966/UBND-KTN · Năm 2026")."""
    from prefect.events import emit_event

    emit_event(
        event=event,
        resource={"prefect.resource.id": resource_id, "prefect.resource.name": name},
        related=related or None,
        payload=payload,
    )


def cycle_resource(cycle_id: int) -> str:
    return f"hanbaocao.cycle.{cycle_id}"


def cycle_related(cycle_id: int, name: str) -> dict[str, str]:
    """The cycle as a related resource ("6966/UBND-KTN · Năm 2026")."""
    return {
        "prefect.resource.id": cycle_resource(cycle_id),
        "prefect.resource.role": "cycle",
        "prefect.resource.name": name,
    }


def agency_related(agency: Agency) -> dict[str, str]:
    return {
        "prefect.resource.id": f"hanbaocao.agency.{agency.code}",
        "prefect.resource.role": "agency",
        "prefect.resource.name": agency.name,
    }


def submission_name(agency: str, cycle: str) -> str:
    """A submission event's name: "Sở Tài chính tỉnh Quảng Ngãi · 6966/UBND-KTN · Năm 2026"."""
    return f"{agency} · {cycle}"


def facts_event_name(agency: str, facts: CycleFacts) -> str:
    """``submission_name`` from what a receipt already read (no query)."""
    from models.calendar import period_label

    return submission_name(agency, f"{facts.title} · {period_label(facts.cycle.period_key)}")


def submission_event_name(engine: Engine, submission_id: int) -> str:
    """``submission_name`` of a submission row, read from the database (when no receipt
    read its facts: the demo, a receipt that failed)."""
    from sqlmodel import Session

    from models.agency import Agency
    from models.tables import Submission
    from notifications.notices import cycle_facts

    with Session(engine) as session:
        sub = session.get(Submission, submission_id)
        agency = session.get(Agency, sub.agency_id) if sub else None
        if sub is None or agency is None:
            return f"báo cáo #{submission_id}"
        return facts_event_name(agency.name, cycle_facts(session, sub.cycle_id))
