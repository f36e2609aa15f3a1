"""What an operator must act on, shown above the dashboard: a channel whose messages are
held (an SMTP login refused, a certificate, a Zalo balance or tokens refused) and a Zalo
token refresh that failed in the last days. The same facts reach Prefect as events
(``hanbaocao.channel.held``, ``hanbaocao.zalo.refresh-failed``); this is where someone
who only opens the dashboard sees them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from models.tables import AuditEvent
from notifications.holds import HELD_MARK, holds

# A failed refresh stays in view for a week: the weekly refresh runs again by then.
REFRESH_WINDOW = dt.timedelta(days=8)
CHANNEL_VI = {"email": "thư điện tử", "zalo": "Zalo OA", "zns": "Zalo ZNS"}


@dataclass(frozen=True, slots=True)
class Alert:
    title: str
    detail: str
    fix: str


def operator_alerts(session: Session, *, now: dt.datetime) -> list[Alert]:
    alerts = [
        Alert(
            title=f"Kênh {CHANNEL_VI.get(h.channel, h.channel)} đang tạm giữ {h.rows} tin nhắn",
            detail=h.reason.removeprefix(HELD_MARK),
            fix="Sửa cấu hình kênh rồi chạy `hanbaocao outbox retry`; "
            "hệ thống cũng tự thử lại mỗi 15 phút.",
        )
        for h in holds(session)
    ]
    failed = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action) == "zalo.refresh_failed")
        .where(col(AuditEvent.at) >= now - REFRESH_WINDOW)
        .order_by(col(AuditEvent.at).desc())
    ).all()
    seen: set[str] = set()
    for event in failed:
        oa = str(event.data.get("oa_id", "?"))
        if oa in seen:
            continue
        seen.add(oa)
        alerts.append(
            Alert(
                title=f"Không làm mới được token của Zalo OA {oa}",
                detail=str(event.data.get("error", "")),
                fix="Cấp lại quyền cho OA: `hanbaocao zalo authorize --oa "
                f"{oa} --refresh-token -`, rồi kiểm tra bằng `hanbaocao zalo status`.",
            )
        )
    return alerts
