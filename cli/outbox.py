"""`hanbaocao outbox held|retry`: channels whose messages wait for a fix."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.data import require_current_schema

outbox_app = typer.Typer(help="Hàng đợi thông báo: kênh đang tạm giữ.", no_args_is_help=True)
out = Console()


@outbox_app.command("held")
def held() -> None:
    """Các kênh đang tạm giữ thông báo (đăng nhập SMTP bị từ chối, hết số dư ZNS…)."""
    from sqlmodel import Session

    from notifications.holds import holds

    with Session(require_current_schema()) as session:
        found = holds(session)
    if not found:
        out.print("Không có kênh nào đang tạm giữ.")
        return
    table = Table(title="Kênh đang tạm giữ")
    for column in ("kênh", "số tin chờ", "lý do"):
        table.add_column(column)
    for hold in found:
        table.add_row(hold.channel, str(hold.rows), hold.reason)
    out.print(table)
    out.print("Sửa cấu hình rồi chạy `hanbaocao outbox retry`.")


@outbox_app.command("retry")
def retry(
    channel: Annotated[
        str | None, typer.Option("--channel", help="Chỉ kênh này (email, zalo, zns).")
    ] = None,
) -> None:
    """Sau khi sửa cấu hình: gửi lại các tin đang tạm giữ ở lượt quét kế tiếp."""
    from models import clock
    from models.db import session_scope
    from notifications.holds import release

    with session_scope(require_current_schema()) as session:
        released = release(session, now=clock.now(), actor="cli", channel=channel)
    if not released:
        out.print("Không có tin nào đang tạm giữ" + (f" ở kênh {channel}." if channel else "."))
        return
    for name, count in sorted(released.items()):
        out.print(f"Kênh {name}: {count} tin sẽ được gửi ở lượt quét kế tiếp.")
