"""`hanbaocao cycles list`: each report cycle with its period, deadlines, the agencies'
hand-ins counted (on time / late / missing / not yet due, as the dashboard counts them)
and its state; `--json` for scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from cli.obligation_view import iso, title
from cli.obligations import JsonOption, opened, out, print_json

if TYPE_CHECKING:
    from models.compliance import Tally
    from models.tables import Directive, Obligation, ReportCycle

cycles_app = typer.Typer(help="Các kỳ báo cáo.", no_args_is_help=True)

STATE_STYLE = {"open": "green", "closed": "dim"}


@cycles_app.command("list")
def list_(
    only_open: Annotated[bool, typer.Option("--open", help="Chỉ các kỳ đang mở")] = False,
    directive: Annotated[
        str | None, typer.Option(help="Chỉ văn bản này: 6966/UBND-KTN, hoặc 6966")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Các kỳ báo cáo: kỳ, hạn, số cơ quan nộp đúng hạn / muộn / chưa nộp / chưa đến hạn,
    trạng thái."""
    from models.compliance import compliance_matrix

    with opened() as rv:
        rows = _cycles(rv.session, only_open, directive)
        matrix = compliance_matrix(rv.session, now=rv.now, calendar=rv.calendar)
        tallies = {c.id: matrix.column_tally(c.id) for c, _, _ in rows if c.id is not None}
        if as_json:
            data = [_data(c, ob, d, tallies.get(c.id or 0)) for c, ob, d in rows]
        else:
            out.print(Text(f"{len(rows)} kỳ báo cáo", style="bold"))
            for c, ob, d in rows:
                out.print(_block(c, ob, d, tallies.get(c.id or 0)))
    if as_json:
        print_json(data)


def _cycles(
    session: Any, only_open: bool, number: str | None
) -> list[tuple[ReportCycle, Obligation, Directive]]:
    from sqlmodel import col, select

    from models.tables import CycleState, Directive, Obligation, ReportCycle

    stmt = (
        select(ReportCycle, Obligation, Directive)
        .join(Obligation, col(Obligation.id) == ReportCycle.obligation_id)
        .join(Directive, col(Directive.id) == Obligation.directive_id)
    )
    if only_open:
        stmt = stmt.where(ReportCycle.state == CycleState.open)
    if number:
        if "/" in number:
            stmt = stmt.where(Directive.number == number)
        else:
            stmt = stmt.where(col(Directive.number).startswith(f"{number}/"))
    stmt = stmt.order_by(col(ReportCycle.due_at), col(ReportCycle.id))
    return [(c, ob, d) for c, ob, d in session.exec(stmt)]


def _block(cycle: ReportCycle, ob: Obligation, directive: Directive, tally: Tally | None) -> Group:
    from models.calendar import period_label
    from models.review import CYCLE_STATE_VI, frequency_vi, local

    state = str(cycle.state)
    head = Text.assemble(
        (f"#{cycle.id} ", "bold"),
        title(directive),
        " · ",
        period_label(cycle.period_key),
        " · ",
        (CYCLE_STATE_VI.get(state, state), STATE_STYLE.get(state, "")),
    )
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=2)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    grid.add_row("", "Nghĩa vụ", f"{ob.id} ({frequency_vi(ob.frequency)})")
    grid.add_row("", "Mở", local(cycle.opens_at))
    grid.add_row("", "Hạn cơ quan", local(cycle.due_at))
    if cycle.lead_due_at is not None:
        grid.add_row("", "Hạn chủ trì", local(cycle.lead_due_at))
    if tally is not None:
        grid.add_row("", "Đã nộp", _counts(tally))
    return Group(head, grid, Text(""))


def _counts(t: Tally) -> str:
    return (
        f"đúng hạn {t.on_time} · muộn {t.late} · chưa nộp (quá hạn) {t.missing} · "
        f"chưa đến hạn {t.not_yet_due}" + (f" · miễn {t.excused}" if t.excused else "")
    )


def _data(
    cycle: ReportCycle, ob: Obligation, directive: Directive, tally: Tally | None
) -> dict[str, Any]:
    from models.calendar import period_label

    counts = tally or _empty()
    return {
        "id": cycle.id,
        "obligation_id": ob.id,
        "directive": {"id": directive.id, "number": directive.number},
        "frequency": ob.frequency,
        "period": cycle.period_key,
        "label": period_label(cycle.period_key),
        "opens_at": iso(cycle.opens_at),
        "due_at": iso(cycle.due_at),
        "lead_due_at": iso(cycle.lead_due_at),
        "closes_at": iso(cycle.closes_at),
        "state": str(cycle.state),
        "counts": {
            "on_time": counts.on_time,
            "late": counts.late,
            "missing": counts.missing,
            "not_yet_due": counts.not_yet_due,
            "excused": counts.excused,
        },
    }


def _empty() -> Tally:
    from models.compliance import Tally

    return Tally()
