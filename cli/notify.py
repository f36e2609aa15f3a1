"""`hanbaocao notify test`: does each of an agency's channels actually deliver?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.data import fail, require_current_schema
from models.formats import TZ

if TYPE_CHECKING:  # SQLModel tables cost ~0.25 s to import; `parse` never needs them
    from models.agency import AgencyContact
    from notifications.vocabulary import Message

notify_app = typer.Typer(
    rich_markup_mode="markdown", help="Thông báo: kiểm tra các kênh liên lạc của một cơ quan."
)
out = Console()


@notify_app.command("test")
def notify_test(
    agency: Annotated[
        str, typer.Option("--agency", help="Mã cơ quan (xem `hanbaocao agencies list`)")
    ],
) -> None:
    """Gửi một tin thử qua từng kênh liên lạc của cơ quan và cho biết kết quả."""
    from sqlmodel import Session, select

    from models.agency import Agency, AgencyContact

    engine = require_current_schema()
    with Session(engine) as session:
        row = session.exec(select(Agency).where(Agency.code == agency)).first()
        if row is None:
            fail(f"không có cơ quan mã {agency!r}: xem `hanbaocao agencies list`")
        contacts = list(
            session.exec(select(AgencyContact).where(AgencyContact.agency_id == row.id))
        )
    if not contacts:
        fail(
            f"{row.name} chưa có liên hệ nào trong danh mục: hãy thêm email hoặc Zalo rồi "
            "nhập lại danh mục"
        )
    table = Table(title=f"Tin thử gửi {row.name}")
    for column in ("kênh", "liên hệ", "kết quả"):
        table.add_column(column)
    failures = sum(_try(contact, row.name, table) for contact in contacts)
    out.print(table)
    if failures:
        raise typer.Exit(1)


def _try(contact: AgencyContact, agency_name: str, table: Table) -> int:
    """Send one test message; add its row; 1 when it failed."""
    from notifications.contacts import NoChannel, contact_url
    from notifications.transports import UnknownChannel, build_transports
    from notifications.vocabulary import DeliveryError

    channel = str(contact.channel)
    try:
        url = contact_url(contact)
        transport = build_transports([channel])[channel]
    except (NoChannel, UnknownChannel) as exc:
        table.add_row(channel, contact.address, f"[yellow]chưa cấu hình:[/] {exc}")
        return 1
    shown = transport.mask(url)
    try:
        transport.send(url, test_message(agency_name))
    except DeliveryError as exc:
        kind = "lỗi vĩnh viễn" if exc.permanent else "lỗi tạm thời, sẽ thử lại"
        table.add_row(channel, shown, f"[red]không gửi được ({kind}):[/] {exc}")
        return 1
    finally:
        transport.close()
    table.add_row(channel, shown, "[green]đã gửi tới[/]")
    return 0


def test_message(agency_name: str) -> Message:
    """A test message; its Zalo fields fill the ZNS template's parameters (a test
    period, today as the deadline, the portal's address as the link)."""
    from models import clock
    from models.settings import settings
    from notifications.vocabulary import Message
    from notifications.zalo_params import STAGE_KEY

    subject = f"[Thử nghiệm] Kênh nhận thông báo hạn báo cáo — {agency_name}"
    text = (
        f"Kính gửi: {agency_name}\n\n"
        "Đây là tin nhắn thử của hệ thống theo dõi hạn báo cáo. Quý cơ quan nhận được tin "
        "này nghĩa là kênh liên lạc đã được cấu hình đúng; không cần trả lời.\n\nTrân trọng."
    )
    html = "<p>" + text.replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"
    today = clock.now().astimezone(TZ).date()
    fields = {
        "agency": agency_name,
        "report": "Tin nhắn thử của hệ thống",
        "period": "Thử nghiệm",
        "deadline": f"{today.day:02d}/{today.month:02d}/{today.year}",
        "days": "Không cần trả lời",
        "stage": "Thử nghiệm",
        "link": settings().public_url.rstrip("/") + "/",
        STAGE_KEY: "test",
    }
    return Message(subject=subject, text=text, html=html, short=text, fields=tuple(fields.items()))
