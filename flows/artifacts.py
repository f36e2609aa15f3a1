"""What operators see in the Prefect UI: per-cycle tables and progress, under stable keys.

Artifact keys allow only lowercase letters, digits and dashes, so Vietnamese names are
folded (``slug``); a key is stable for a cycle, so each refresh is a new version of the
same artifact rather than a new one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from models.calendar import period_label
from models.cycles import AgencyStatus
from models.db import TZ

_STATE_VI = {
    "pending": "Chưa nộp",
    "late": "Quá hạn, chưa nộp",
    "excused": "Không phải nộp",
}


def slug(text: str) -> str:
    """ "6966/UBND-KTN" → "6966-ubnd-ktn"; "Sở Xây dựng" → "so-xay-dung"."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = folded.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "x"


def cycle_key(title: str, obligation_id: int, period_key: str) -> str:
    return f"cycle-{slug(title)}-o{obligation_id}-{slug(period_key)}"


def progress_key(title: str, obligation_id: int, period_key: str) -> str:
    return f"progress-{slug(title)}-o{obligation_id}-{slug(period_key)}"


def state_label(row: AgencyStatus) -> str:
    if row.state == "submitted":
        return "Đã nộp sau hạn" if row.days_late > 0 else "Đã nộp đúng hạn"
    return _STATE_VI.get(row.state, row.state)


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
