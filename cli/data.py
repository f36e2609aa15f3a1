"""`hanbaocao db …` and `hanbaocao agencies …`: the database and the agency registry."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.output import err as err
from cli.output import fail as fail
from cli.output import out as out

if TYPE_CHECKING:  # SQLAlchemy costs ~0.2 s to import; `parse` never needs it
    from sqlalchemy.engine import Engine

db_app = typer.Typer(
    rich_markup_mode="markdown", help="Cơ sở dữ liệu (mặc định SQLite; HANBAOCAO_DATABASE_URL)."
)
agencies_app = typer.Typer(rich_markup_mode="markdown", help="Danh mục cơ quan: nhập, liệt kê.")
calendar_app = typer.Typer(
    rich_markup_mode="markdown", help="Lịch hạn báo cáo của một cơ quan (tệp iCalendar)."
)


def _engine() -> Engine:
    from models.db import get_engine, settings

    url = settings().url
    try:
        engine = get_engine()
        with engine.connect():
            pass
    except Exception as exc:  # connection refused, bad URL, unwritable data dir …
        fail(f"không mở được cơ sở dữ liệu {_safe(url)}: {exc.__class__.__name__}: {exc}")
    return engine


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def require_current_schema() -> Engine:
    """The engine, after checking the schema is migrated (else: say what to run)."""
    from models import migrate

    engine = _engine()
    if migrate.current(engine) != migrate.head():
        fail("cấu trúc cơ sở dữ liệu chưa được cập nhật: hãy chạy `hanbaocao db upgrade` trước")
    return engine


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Tạo hoặc nâng cấu trúc cơ sở dữ liệu lên phiên bản mới nhất."""
    from models import migrate

    engine = _engine()
    before = migrate.current(engine)
    migrate.upgrade(engine)
    after = migrate.current(engine)
    where = _safe(str(engine.url))
    if before == after:
        out.print(f"{where}: đã ở phiên bản mới nhất {after}", highlight=False)
    else:
        out.print(f"{where}: {before or 'trống'} → {after}", highlight=False)


@db_app.command("current")
def db_current() -> None:
    """Cho biết phiên bản cấu trúc hiện tại của cơ sở dữ liệu."""
    from models import migrate

    engine = _engine()
    out.print(
        f"{_safe(str(engine.url))}: {migrate.current(engine) or 'trống'} "
        f"(mới nhất: {migrate.head()})"
    )


@agencies_app.command("import")
def agencies_import(
    file: Annotated[
        Path | None,
        typer.Argument(help="Danh mục dạng YAML hoặc CSV; mặc định: danh mục kèm theo"),
    ] = None,
    province: Annotated[str, typer.Option(help="Tỉnh của các dòng trong tệp CSV")] = "",
) -> None:
    """Nhập (hoặc cập nhật) cơ quan; tệp có lỗi được báo đủ mọi lỗi và không nhập gì."""
    from sqlmodel import Session

    from models.registry import RegistryError, import_registry, load_registry, shipped_registry

    path = file or shipped_registry()
    try:
        registry = load_registry(path, province=province)
    except RegistryError as exc:
        err.print(
            f"[bold red]{escape(str(path))}: {len(exc.problems)} lỗi, chưa nhập gì[/]",
            highlight=False,
        )
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False)
        raise typer.Exit(2) from None
    except OSError as exc:
        fail(f"không đọc được {path}: {exc}")
    engine = require_current_schema()
    with Session(engine) as session:
        summary = import_registry(session, registry)
    out.print(
        f"{path.name}: thêm mới {summary.created} cơ quan, cập nhật {summary.updated}, "
        f"thay đổi {summary.rows_changed} tên gọi khác/nhóm/liên hệ/kế thừa",
        highlight=False,
    )


@agencies_app.command("list")
def agencies_list(
    on: Annotated[
        str | None, typer.Option(help="Chỉ cơ quan còn hoạt động vào ngày này (YYYY-MM-DD)")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            help="Thành viên của một nhóm, ví dụ departments (các sở, ban, ngành) hoặc "
            "specialised (các cơ quan chuyên môn thuộc UBND tỉnh)"
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="Loại cơ quan: department, commune_committee, …")
    ] = None,
) -> None:
    """Liệt kê các cơ quan trong danh mục."""
    from sqlmodel import Session

    from models.agency import AgencyKind
    from models.registry import list_agencies

    day = _day(on) if on else None
    try:
        kind_value = AgencyKind(kind) if kind else None
    except ValueError:
        fail(f"không có loại {kind!r}; chọn một trong: {', '.join(k.value for k in AgencyKind)}")
    engine = require_current_schema()
    with Session(engine) as session:
        rows = list_agencies(session, on=day, kind=kind_value, group=group)
    table = Table(title=f"{len(rows)} cơ quan")
    table.add_column("mã", no_wrap=True, style="dim")
    table.add_column("tên", ratio=3)
    table.add_column("loại", no_wrap=True)
    table.add_column("hoạt động", no_wrap=True)
    for agency in rows:
        span = f"{agency.active_from or '…'} → {agency.active_to or 'nay'}"
        table.add_row(agency.code, agency.name, agency.kind, span)
    out.print(table)


@calendar_app.callback(invoke_without_command=True)
def calendar(
    agency: Annotated[
        str, typer.Option("--agency", help="Mã cơ quan (xem `hanbaocao agencies list`)")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Ghi tệp .ics vào đây")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Chỉ các hạn từ ngày này (YYYY-MM-DD)")] = None,
) -> None:
    """Lịch hạn báo cáo của một cơ quan, dạng iCalendar (.ics)."""
    from sqlmodel import Session, select

    from models.agency import Agency
    from models.feeds import agency_calendar

    day = _day(since) if since else None
    engine = require_current_schema()
    with Session(engine) as session:
        row = session.exec(select(Agency).where(Agency.code == agency)).first()
        if row is None:
            fail(f"không có cơ quan mã {agency!r}: xem `hanbaocao agencies list`")
        data = agency_calendar(session, row, since=day)
    if output is None:
        sys.stdout.buffer.write(data)
        return
    tmp = output.with_name(output.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(output)
    err.print(
        f"{output}: {data.count(b'BEGIN:VEVENT')} hạn báo cáo của {row.name}", highlight=False
    )


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} không phải một ngày (cần dạng YYYY-MM-DD, ví dụ 2026-12-15)")
