"""The report cycle's flows: ``open_cycle`` (one deployment per approved obligation) and
``sweep`` (one deployment on a frequent cron). Thin: the decisions live in
``models.cycles``, the messages in ``notifications``; these add runs, artifacts and events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow


@flow(name="open-cycle")
def open_cycle(
    obligation_id: int, period_key: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Open the cycle of ``period_key`` (default: the period this firing is for)."""
    raise NotImplementedError  # written next


@flow(name="sweep")
def sweep(now: datetime | None = None, dispatch: bool = True, batch: int = 500) -> dict[str, Any]:
    """Reminders, escalations, closings and the outbox, as of ``now``."""
    raise NotImplementedError  # written next
