"""`hanbaocao outbox held|retry`: channels whose messages wait for a fix; `retry --failed`
re-queues the messages that failed (``models.actions.retry_failed``)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.data import require_current_schema

outbox_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Hàng đợi thông báo: kênh đang tạm giữ, gửi lại tin thất bại.",
    no_args_is_help=True,
)
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
    failed: Annotated[
        bool, typer.Option("--failed", help="Cả các tin đã thất bại: xếp gửi lại từ đầu.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Với --failed: chỉ tin thất bại từ ngày này (07/12/2026)."),
    ] = None,
) -> None:
    """Sau khi sửa cấu hình: gửi lại các tin đang tạm giữ (và với --failed, các tin đã
    thất bại) ở lượt quét kế tiếp."""
    from models import clock
    from models.actions import ActionError, retry_failed
    from models.db import session_scope
    from notifications.holds import release

    if since is not None and not failed:
        _fail("--since chỉ dùng cùng --failed.")
    try:
        start = _since(since) if since else None
        now = clock.now()
    except (ActionError, ValueError) as exc:
        _fail(str(exc))
    with session_scope(require_current_schema()) as session:
        released = release(session, now=now, actor="cli", channel=channel)
        requeued = (
            retry_failed(session, actor="cli", now=now, since=start, channel=channel).requeued
            if failed
            else 0
        )
    for name, count in sorted(released.items()):
        out.print(f"Kênh {name}: {count} tin sẽ được gửi ở lượt quét kế tiếp.")
    if failed:
        out.print(f"{requeued} tin đã thất bại được xếp gửi lại ở lượt quét kế tiếp.")
    elif not released:
        out.print("Không có tin nào đang tạm giữ" + (f" ở kênh {channel}." if channel else "."))


def _since(text: str) -> datetime:
    """A day (07/12/2026, 2026-12-07: from its start, local time) or an ISO moment."""
    from models import clock
    from models.actions import ActionError
    from models.db import TZ

    value = text.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        return datetime.combine(day, time(0, 0), tzinfo=TZ)
    try:
        return clock.parse_moment(value)
    except ValueError:
        raise ActionError(f"--since: “{value}” không phải một ngày (ví dụ 07/12/2026).") from None


def _fail(message: str) -> NoReturn:
    err = Console(stderr=True)
    err.print(f"[bold red]lỗi:[/] {escape(message)}", highlight=False)
    raise typer.Exit(1)
