"""`hanbaocao db …` and `hanbaocao agencies …`: the database and the agency registry."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.output import err as err
from cli.output import fail as fail
from cli.output import out as out

if TYPE_CHECKING:  # SQLAlchemy costs ~0.2 s to import; `parse` never needs it
    from sqlalchemy.engine import Engine

db_app = typer.Typer(help="Cơ sở dữ liệu (mặc định SQLite; HANBAOCAO_DATABASE_URL).")
agencies_app = typer.Typer(help="Danh mục cơ quan: nhập, liệt kê.")
calendar_app = typer.Typer(help="Lịch hạn báo cáo của một cơ quan (tệp iCalendar).")


def _engine() -> Engine:
    from models.db import get_engine, settings

    url = settings().url
    try:
        engine = get_engine()
        with engine.connect():
            pass
    except Exception as exc:  # connection refused, bad URL, unwritable data dir …
        fail(f"cannot open the database {_safe(url)}: {exc.__class__.__name__}: {exc}")
    return engine


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def require_current_schema() -> Engine:
    """The engine, after checking the schema is migrated (else: say what to run)."""
    from models import migrate

    engine = _engine()
    if migrate.current(engine) != migrate.head():
        fail("the database schema is not up to date: run `hanbaocao db upgrade` first")
    return engine


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the latest migration."""
    from models import migrate

    engine = _engine()
    before = migrate.current(engine)
    migrate.upgrade(engine)
    after = migrate.current(engine)
    where = _safe(str(engine.url))
    if before == after:
        out.print(f"{where}: already at {after}", highlight=False)
    else:
        out.print(f"{where}: {before or 'empty'} → {after}", highlight=False)


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    from models import migrate

    engine = _engine()
    out.print(
        f"{_safe(str(engine.url))}: {migrate.current(engine) or 'empty'} (head {migrate.head()})"
    )


@agencies_app.command("import")
def agencies_import(
    file: Annotated[
        Path | None, typer.Argument(help="YAML or CSV registry; default: the shipped one")
    ] = None,
    province: Annotated[str, typer.Option(help="Province of a CSV file's rows")] = "",
) -> None:
    """Import (or update) agencies; a file with problems is reported whole and not imported."""
    from sqlmodel import Session

    from models.registry import RegistryError, import_registry, load_registry, shipped_registry

    path = file or shipped_registry()
    try:
        registry = load_registry(path, province=province)
    except RegistryError as exc:
        err.print(f"[bold red]{path}: {len(exc.problems)} problem(s), nothing imported[/]")
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False)
        raise typer.Exit(2) from None
    except OSError as exc:
        fail(f"cannot read {path}: {exc}")
    engine = require_current_schema()
    with Session(engine) as session:
        summary = import_registry(session, registry)
    out.print(
        f"{path.name}: {summary.created} agencies created, {summary.updated} updated, "
        f"{summary.rows_changed} aliases/groups/contacts/successions changed",
        highlight=False,
    )


@agencies_app.command("list")
def agencies_list(
    on: Annotated[
        str | None, typer.Option(help="Only those active on this day (YYYY-MM-DD)")
    ] = None,
    group: Annotated[str | None, typer.Option(help="Members of a group, e.g. departments")] = None,
    kind: Annotated[str | None, typer.Option(help="department, commune_committee, …")] = None,
) -> None:
    """List agencies of the registry."""
    from sqlmodel import Session

    from models.agency import AgencyKind
    from models.registry import list_agencies

    day = _day(on) if on else None
    try:
        kind_value = AgencyKind(kind) if kind else None
    except ValueError:
        fail(f"unknown kind {kind!r}; one of: {', '.join(k.value for k in AgencyKind)}")
    engine = require_current_schema()
    with Session(engine) as session:
        rows = list_agencies(session, on=day, kind=kind_value, group=group)
    table = Table(title=f"{len(rows)} agencies")
    table.add_column("code", no_wrap=True, style="dim")
    table.add_column("name", ratio=3)
    table.add_column("kind", no_wrap=True)
    table.add_column("active", no_wrap=True)
    for agency in rows:
        span = f"{agency.active_from or '…'} → {agency.active_to or 'now'}"
        table.add_row(agency.code, agency.name, agency.kind, span)
    out.print(table)


@calendar_app.callback(invoke_without_command=True)
def calendar(
    agency: Annotated[
        str, typer.Option("--agency", help="The agency's code (see `agencies list`)")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the .ics here")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only deadlines from this day (YYYY-MM-DD)")
    ] = None,
) -> None:
    """An agency's reporting deadlines as an iCalendar (.ics) feed."""
    from sqlmodel import Session, select

    from models.agency import Agency
    from models.feeds import agency_calendar

    day = _day(since) if since else None
    engine = require_current_schema()
    with Session(engine) as session:
        row = session.exec(select(Agency).where(Agency.code == agency)).first()
        if row is None:
            fail(f"no agency with code {agency!r}: see `hanbaocao agencies list`")
        data = agency_calendar(session, row, since=day)
    if output is None:
        sys.stdout.buffer.write(data)
        return
    tmp = output.with_name(output.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(output)
    err.print(f"{output}: {data.count(b'BEGIN:VEVENT')} deadlines of {row.name}", highlight=False)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"not a date: {text!r} (expected YYYY-MM-DD)")
