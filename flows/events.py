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

from typing import Any

SUBMISSION_RECEIVED = "hanbaocao.submission.received"
CYCLE_OVERDUE = "hanbaocao.cycle.overdue"
ESCALATION_SENT = "hanbaocao.escalation.sent"
CHANNEL_HELD = "hanbaocao.channel.held"
ZALO_REFRESH_FAILED = "hanbaocao.zalo.refresh-failed"


def emit(event: str, *, resource_id: str, name: str, payload: dict[str, Any]) -> None:
    from prefect.events import emit_event

    emit_event(
        event=event,
        resource={"prefect.resource.id": resource_id, "prefect.resource.name": name},
        payload=payload,
    )


def cycle_resource(cycle_id: int) -> str:
    return f"hanbaocao.cycle.{cycle_id}"
