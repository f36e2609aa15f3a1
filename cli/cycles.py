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
from cli.obligations import JsonOption, opened, print_json
from cli.output import fail, out

if TYPE_CHECKING:
    from models.compliance import Tally
    from models.tables import Directive, Obligation, ReportCycle

cycles_app = typer.Typer(rich_markup_mode="markdown", help="Các kỳ báo cáo.", no_args_is_help=True)

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


# --- one cycle: show and act -------------------------------------------------------------

ReasonOption = Annotated[str | None, typer.Option("--reason", help="Lý do (ghi vào nhật ký)")]
AgencyArg = Annotated[str, typer.Argument(help="Mã cơ quan, ví dụ qng-so-tai-chinh")]
CycleArg = Annotated[int, typer.Argument(help="Số kỳ báo cáo (xem `cycles list`)")]


@cycles_app.command("show")
def show(cycle_id: CycleArg, as_json: JsonOption = False) -> None:
    """Một kỳ: trạng thái (mở, tạm dừng, đóng) và từng cơ quan với hạn, trạng thái,
    số phiên bản đã nộp."""
    with opened() as rv:
        data = _acting(lambda: _show_data(rv.session, cycle_id, rv.now))
    if as_json:
        print_json(data)
        return
    out.print(_show_block(data))


def _show_data(session: Any, cycle_id: int, now: Any) -> dict[str, Any]:
    from sqlmodel import col, select

    from models.actions import extended_dues, get_cycle, paused
    from models.agency import Agency
    from models.calendar import period_label
    from models.compliance import cell_state
    from models.db import TZ
    from models.tables import Submission

    cycle = get_cycle(session, cycle_id)
    hold = paused(session, cycle_id)
    dues = extended_dues(session, cycle_id)
    stmt = (
        select(Submission, Agency)
        .join(Agency, col(Agency.id) == Submission.agency_id)
        .where(Submission.cycle_id == cycle_id)
        .order_by(col(Agency.code))
    )
    agencies = []
    for sub, agency in session.exec(stmt):
        due = dues.get(agency.id, cycle.due_at)
        agencies.append(
            {
                "code": agency.code,
                "name": agency.name,
                "state": str(sub.state),
                "cell": str(cell_state(str(sub.state), sub.submitted_at, due, now)),
                "deadline": due.astimezone(TZ).date().isoformat(),
                "extended": agency.id in dues,
                "versions": sub.current_version,
                "submitted_at": iso(sub.submitted_at),
                "next_action": sub.next_action_stage,
                "next_action_at": iso(sub.next_action_at),
            }
        )
    return {
        "id": cycle.id,
        "period": cycle.period_key,
        "label": period_label(cycle.period_key),
        "state": "paused" if hold is not None else str(cycle.state),
        "paused_at": iso(hold.paused_at) if hold else None,
        "due_at": iso(cycle.due_at),
        "lead_due_at": iso(cycle.lead_due_at),
        "closes_at": iso(cycle.closes_at),
        "agencies": agencies,
    }


_CELL_VI = {
    "on_time": "đúng hạn",
    "late": "nộp muộn",
    "missing": "chưa nộp (quá hạn)",
    "not_yet_due": "chưa đến hạn",
    "excused": "được miễn",
}
_STATE_VI = {"open": "đang mở", "closed": "đã đóng", "scheduled": "chưa mở", "paused": "tạm dừng"}


def _show_block(data: dict[str, Any]) -> Group:
    head = Text.assemble(
        (f"#{data['id']} ", "bold"),
        data["label"],
        " · ",
        (
            _STATE_VI.get(data["state"], data["state"]),
            "yellow" if data["state"] == "paused" else "",
        ),
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("mã", "cơ quan", "hạn", "trạng thái", "bản"):
        table.add_column(column)
    for a in data["agencies"]:
        day = _vn_date(a["deadline"]) + (" (gia hạn)" if a["extended"] else "")
        table.add_row(a["code"], a["name"], day, _CELL_VI[a["cell"]], str(a["versions"]))
    return Group(head, table)


def _vn_date(iso_day: str) -> str:
    y, m, d = iso_day.split("-")
    return f"{d}/{m}/{y}"


def _acting(run: Any) -> Any:
    """Run an action; an ``ActionError`` is the operator's one-line Vietnamese error."""
    from models.actions import ActionError

    try:
        return run()
    except ActionError as exc:
        fail(str(exc), code=1)


@cycles_app.command("pause")
def pause_(cycle_id: CycleArg, reason: ReasonOption = None) -> None:
    """Tạm dừng kỳ: không gửi tin nào của kỳ này (nhắc, đôn đốc) cho đến khi tiếp tục."""
    from models.actions import pause

    with opened() as rv:
        _acting(lambda: pause(rv.session, cycle_id, actor=rv.actor, now=rv.now, reason=reason))
        rv.session.commit()
    out.print(f"Đã tạm dừng kỳ #{cycle_id}: không tin nào của kỳ được gửi.")


@cycles_app.command("resume")
def resume_(cycle_id: CycleArg, reason: ReasonOption = None) -> None:
    """Tiếp tục kỳ đã tạm dừng, ở mốc nhắc kế tiếp; tin nhắc đã lỡ khi tạm dừng bị bỏ."""
    from models.actions import resume

    with opened() as rv:
        done = _acting(
            lambda: resume(
                rv.session,
                cycle_id,
                actor=rv.actor,
                now=rv.now,
                reason=reason,
                calendar=rv.calendar,
            )
        )
        rv.session.commit()
    out.print(
        f"Đã tiếp tục kỳ #{cycle_id}: {done.rows} cơ quan chờ mốc nhắc kế tiếp; "
        f"bỏ {done.cancelled} tin nhắc đã lỡ khi tạm dừng."
    )


@cycles_app.command("excuse")
def excuse_(cycle_id: CycleArg, agency: AgencyArg, reason: ReasonOption = None) -> None:
    """Miễn nộp báo cáo kỳ này cho một cơ quan (cần --reason)."""
    from models.actions import excuse

    with opened() as rv:
        done = _acting(
            lambda: excuse(rv.session, cycle_id, agency, actor=rv.actor, now=rv.now, reason=reason)
        )
        rv.session.commit()
    out.print(f"Đã miễn nộp cho {agency} ở kỳ #{cycle_id}; huỷ {done.cancelled} tin đang chờ.")


@cycles_app.command("extend")
def extend_(
    cycle_id: CycleArg,
    agency: AgencyArg,
    until: Annotated[str, typer.Option("--until", help="Hạn mới: 28/12/2026 hoặc 2026-12-28")],
    reason: ReasonOption = None,
) -> None:
    """Gia hạn cho một cơ quan: hạn, tin nhắc và đôn đốc của cơ quan đó dời theo hạn mới."""
    from models.actions import parse_day
    from notifications.answers import extend_and_tell

    day = _acting(lambda: parse_day(until))
    with opened() as rv:
        done = _acting(
            lambda: extend_and_tell(
                rv.session, cycle_id, agency, until=day, actor=rv.actor, now=rv.now, reason=reason
            )
        )
        rv.session.commit()
    out.print(f"Đã gia hạn cho {agency} ở kỳ #{cycle_id} đến {day:%d/%m/%Y}; cơ quan sẽ được báo.")
    if done.warning:  # allowed, but the lead Sở will consolidate without this report
        out.print(Text(done.warning, style="yellow"))


@cycles_app.command("resend")
def resend_(cycle_id: CycleArg, agency: AgencyArg) -> None:
    """Gửi lại ngay tin mở kỳ hoặc tin nhắc gần nhất cho một cơ quan."""
    from models.actions import resend
    from notifications.notices import fresh_agency_payload

    with opened() as rv:
        done = _acting(
            lambda: resend(
                rv.session,
                cycle_id,
                agency,
                actor=rv.actor,
                now=rv.now,
                rerender=fresh_agency_payload,
            )
        )
        rv.session.commit()
    out.print(f"Đã xếp {done.requeued} tin gửi lại cho {agency}, đi ở lượt quét kế tiếp.")
