"""What operators see in the Prefect UI: per-cycle tables and progress, under stable keys.

Artifact keys allow only lowercase letters, digits and dashes, so Vietnamese names are
folded (``slug``); a key is stable for a cycle, so each refresh is a new version of
the same artifact rather than a new one.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.calendar import period_label
from models.cycles import AgencyStatus
from models.db import TZ
from notifications.exports import slug as slug  # the one slug: artifact keys, tags, files
from notifications.messages import StatusRow, status_label


def cycle_key(title: str, obligation_id: int, period_key: str) -> str:
    return f"cycle-{slug(title)}-o{obligation_id}-{slug(period_key)}"


def progress_key(title: str, obligation_id: int, period_key: str) -> str:
    return f"progress-{slug(title)}-o{obligation_id}-{slug(period_key)}"


def state_label(row: AgencyStatus) -> str:
    """The state as the messages and the exported files say it."""
    return status_label(StatusRow(row.agency, row.state, row.submitted_at, row.days_late))


def table_rows(rows: Sequence[AgencyStatus]) -> list[dict[str, str | int]]:
    return [
        {
            "Cơ quan": r.agency,
            "Trạng thái": state_label(r),
            "Nộp lúc": r.submitted_at.astimezone(TZ).strftime("%d/%m/%Y %H:%M")
            if r.submitted_at
            else "—",
            "Số ngày làm việc trễ": r.days_late,
        }
        for r in sorted(rows, key=lambda r: (-r.days_late, r.agency))
    ]


def share_submitted(rows: Sequence[AgencyStatus]) -> float:
    if not rows:
        return 100.0
    return round(100.0 * sum(1 for r in rows if r.state == "submitted") / len(rows), 1)


def publish_cycle(
    title: str, obligation_id: int, period_key: str, rows: Sequence[AgencyStatus]
) -> None:
    """The cycle's table and its share submitted, each under its stable key."""
    from prefect.artifacts import create_progress_artifact, create_table_artifact

    label = f"{title} · {period_label(period_key)}"
    create_table_artifact(
        table=table_rows(rows),
        key=cycle_key(title, obligation_id, period_key),
        description=f"Tình hình nộp báo cáo — {label}",
    )
    create_progress_artifact(
        progress=share_submitted(rows),
        key=progress_key(title, obligation_id, period_key),
        description=f"Tỷ lệ cơ quan đã nộp — {label}",
    )
