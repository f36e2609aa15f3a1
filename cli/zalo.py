"""`hanbaocao zalo authorize|status`: the tokens of the Zalo Official Accounts."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.data import fail
from models.formats import TZ, local_text

zalo_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Zalo OA: cấp quyền và xem tình trạng token.",
    no_args_is_help=True,
)
out = Console()


@zalo_app.command("authorize")
def authorize(
    oa: Annotated[str, typer.Option("--oa", help="Mã Official Account (OA_ID) đã cấu hình.")],
    refresh_token: Annotated[
        str,
        typer.Option(
            "--refresh-token",
            help="Refresh token lấy từ màn hình cấp quyền của Zalo; '-' để đọc từ stdin "
            "(không để lộ trong lịch sử lệnh). Bỏ trống: hỏi, không hiện khi gõ.",
            prompt="Refresh token",
            hide_input=True,
        ),
    ],
) -> None:
    """Lưu cặp token đầu tiên của OA: dùng refresh token để lấy cặp mới và lưu lại."""
    from notifications.vocabulary import DeliveryError
    from notifications.zalo_admin import NotConfigured, plugin_for_oa
    from notifications.zalo_admin import authorize as store_first_pair
    from notifications.zalo_tokens import fingerprint

    token = sys.stdin.readline() if refresh_token == "-" else refresh_token
    if not token.strip():
        fail("refresh token trống")
    try:
        plugin = plugin_for_oa(oa)
        pair = store_first_pair(plugin, token)
    except (NotConfigured, ValueError) as exc:
        fail(str(exc))
    except DeliveryError as exc:
        fail(f"Zalo không cấp token cho OA {oa}: {exc}", code=1)
    expires = datetime.fromtimestamp(pair.expires_at, TZ)
    out.print(
        f"Đã lưu token của OA {oa} ({fingerprint(pair.access_token)}); "
        f"access token hết hạn lúc {expires:%H:%M %d/%m/%Y}, tự làm mới khi gửi "
        "và hằng tuần (deployment zalo-token-refresh).",
        highlight=False,
    )


@zalo_app.command("status")
def status() -> None:
    """Tuổi và hạn của token từng OA đã cấu hình."""
    from models import clock
    from notifications.zalo_admin import statuses

    try:
        found = statuses(None, clock.now())
    except ValueError as exc:
        fail(str(exc))
    if not found:
        fail("chưa cấu hình kênh Zalo: đặt HANBAOCAO_ZALO_OA_URL hoặc HANBAOCAO_ZNS_URL")
    table = Table(title="Token Zalo OA")
    for column in ("OA", "tuổi cặp token", "access token hết hạn", "refresh token hết hạn", ""):
        table.add_column(column)
    for row in found:
        table.add_row(
            row.oa_id,
            _age(row.age),
            _moment(row.access_expires),
            _moment(row.refresh_expires),
            row.verdict,
        )
    out.print(table)
    if any(row.pair is None for row in found):
        raise typer.Exit(1)


def _age(age: timedelta | None) -> str:
    if age is None:
        return "không rõ"
    days, hours = age.days, age.seconds // 3600
    return f"{days} ngày {hours} giờ" if days else f"{hours} giờ {age.seconds % 3600 // 60} phút"


def _moment(moment: datetime | None) -> str:
    return "—" if moment is None else local_text(moment, "%H:%M %d/%m/%Y", day_end=False)
