"""How obligations and their cycles read in the terminal (Vietnamese, names instead of
codes, readable at 80 columns) and in JSON (ids, ISO dates, codes beside names)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from cli.render import STYLE
from directives.parsed import Deadline, describe_deadline

if TYPE_CHECKING:
    from models.plan import CyclePlan
    from models.review import Review
    from models.tables import Directive, Obligation, ObligationParty

STATUS_STYLE = {"approved": "green", "rejected": "red", "withdrawn": "dim"}


def title(directive: Directive) -> str:
    return directive.number or directive.source_name


def listed(rv: Review, status: str | None, number: str | None) -> list[tuple[Obligation, Any]]:
    from sqlmodel import col, select

    from models.tables import Directive, Obligation

    stmt = select(Obligation, Directive).join(
        Directive, col(Directive.id) == Obligation.directive_id
    )
    if status is not None:
        stmt = stmt.where(Obligation.status == status)
    else:
        stmt = stmt.where(Obligation.status != "withdrawn")
    if number:
        if "/" in number:
            stmt = stmt.where(Directive.number == number)
        else:
            stmt = stmt.where(col(Directive.number).startswith(f"{number}/"))
    return [(ob, d) for ob, d in rv.session.exec(stmt.order_by(col(Obligation.id)))]


def status_text(status: str) -> Text:
    from models.review import STATUS_VI

    return Text(STATUS_VI.get(status, status), style=STATUS_STYLE.get(status, ""))


def deadline_text(ob: Obligation) -> str:
    from models.review import rule_of

    rule = rule_of(ob)
    return "hạn mặc định của tỉnh" if rule.kind == "none" else describe_deadline(rule)


def submitters_text(rv: Review, ob: Obligation, rows: list[ObligationParty]) -> str:
    from models.edits import submitter_labels

    mine = [p for p in rows if str(p.role) == "submitter"]
    if not mine:
        return "; ".join(ob.submitter_phrases or ob.inherited_submitters) or "—"
    named = [p for p in mine if p.agency_id and not p.flag]
    if len(named) > 3:  # a long list of agencies: count them
        others = submitter_labels(rv, [p for p in mine if p not in named])
        return "; ".join([*others, f"{len(named)} cơ quan"])
    return "; ".join(submitter_labels(rv, mine))


def block(rv: Review, ob: Obligation, directive: Directive) -> Group:
    """One obligation in a few wrapped lines: fits 80 columns."""
    from models.review import agency_name, frequency_vi, needs, parties

    rows = parties(rv, ob)
    head = Text.assemble(
        (f"#{ob.id} ", "bold"),
        (title(directive), ""),
        " · ",
        (frequency_vi(ob.frequency), STYLE["frequency"]),
        " · ",
        (deadline_text(ob), STYLE["deadline"]),
        " · ",
        status_text(str(ob.status)),
    )
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=2)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    grid.add_row("", "Cơ quan báo cáo", _styled(submitters_text(rv, ob, rows), "submitters"))
    lead = agency_name(rv, ob.lead_agency_id, ob.via_phrase)
    if lead != "—":
        grid.add_row("", "Chủ trì", _styled(lead, "via"))
    recipient = agency_name(rv, ob.recipient_agency_id, ob.recipient_phrase)
    grid.add_row("", "Nơi nhận", _styled(recipient, "recipient"))
    for need in needs(rv, ob, rows):
        grid.add_row("", Text("Cần", style="yellow"), Text(need, style="yellow"))
    return Group(head, grid, Text(""))


def _styled(value: str, field: str) -> Text:
    return Text(value, style=STYLE.get(field, ""))


# --- show --------------------------------------------------------------------------------


def print_show(console: Console, rv: Review, ob: Obligation, directive: Directive) -> None:
    from models.review import needs, parties

    rows = parties(rv, ob)
    console.print(_heading(rv, ob, directive))
    console.print(_clause(ob))
    console.print(_fields(ob))
    console.print(_party_table(rv, rows))
    for flag in needs(rv, ob, rows):
        console.print(Text(f"Cần: {flag}", style="yellow"))
    _print_cycles(console, rv, ob)
    console.print(_history(rv, ob, rows))


def _heading(rv: Review, ob: Obligation, directive: Directive) -> Table:
    from models.formats import short_day
    from models.review import local

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    issued = f", {short_day(directive.date)}" if directive.date else ""
    grid.add_row("Nghĩa vụ", Text(f"{ob.id} của {title(directive)}"))
    grid.add_row("Cơ quan ban hành", Text(f"{directive.issuer or '—'}{issued}"))
    if directive.subject:
        grid.add_row("Trích yếu", Text(directive.subject))
    decided = ""
    if ob.approved_by and ob.approved_at:
        decided = f" — {ob.approved_by}, {local(ob.approved_at)}"
    grid.add_row("Trạng thái", Text.assemble(status_text(str(ob.status)), decided))
    return grid


def _clause(ob: Obligation) -> Table:
    """The clause as written, the words of each fact in the field's colour."""
    text = Text(" ".join(ob.clause_text.split()))
    for field, style in STYLE.items():
        for ev in ob.evidence.get(field, []):
            at = text.plain.find(ev.get("text", ""))
            if at != -1 and ev.get("text"):
                text.stylize(style, at, at + len(ev["text"]))
    box = Table(title="Đoạn văn", title_justify="left", show_header=False, expand=True)
    box.add_column()
    box.add_row(text)
    return box


def _fields(ob: Obligation) -> Table:
    from models.edits import ladder_text
    from models.review import frequency_vi

    table = Table(title="Đọc được từ đoạn văn", title_justify="left")
    for name in ("mục", "giá trị", "từ các chữ"):
        table.add_column(name)
    who = "; ".join(ob.submitter_phrases)
    if not who and ob.inherited_submitters:
        who = f"{'; '.join(ob.inherited_submitters)} (từ đề mục)"
    rows = [
        ("Tần suất", "frequency", frequency_vi(ob.frequency)),
        ("Hạn", "deadline", describe_deadline(Deadline(**(ob.deadline or {})))),
        ("Ai báo cáo", "submitters", who or "—"),
        ("Gửi ai", "recipient", ob.recipient_phrase or "—"),
        ("Thông qua", "via", ob.via_phrase or "—"),
        ("Nội dung", "subject", ob.subject or "—"),
    ]
    for label, field, value in rows:
        words = " … ".join(ev.get("text", "") for ev in ob.evidence.get(field, []))
        table.add_row(label, Text(value, style=STYLE.get(field, "")), Text(words or "—"))
    if ob.deadline_override is not None:
        table.add_row("Hạn (đã đặt)", Text(deadline_text(ob), style=STYLE["deadline"]), "quản trị")
    table.add_row("Nhắc hạn", ladder_text(ob), "quản trị" if ob.ladder else "mặc định")
    table.add_row("Độ tin cậy", f"{ob.confidence:.2f}", "")
    return table


def _party_table(rv: Review, rows: list[ObligationParty]) -> Table:
    from models.formats import short_day
    from models.review import ROLE_VI

    table = Table(
        title=f"Các cơ quan trong danh mục ngày {short_day(rv.today)}", title_justify="left"
    )
    for name in ("vai trò", "như văn bản ghi", "hôm nay là", "ghi chú"):
        table.add_column(name)
    for party in rows:
        table.add_row(
            ROLE_VI[str(party.role)],
            Text(party.phrase),
            Text(_resolved(rv, party), style="yellow" if party.flag else ""),
            Text(party.note or ""),
        )
    return table


def _resolved(rv: Review, party: ObligationParty) -> str:
    from models.registry import list_agencies
    from models.review import agency_name, group_vi, party_flag_text

    if party.flag:
        return party_flag_text(party)
    if party.group_key:
        members = list_agencies(
            rv.session, on=rv.today, group=party.group_key, province=rv.province
        )
        return f"nhóm {group_vi(party.group_key)}: {len(members)} cơ quan"
    return agency_name(rv, party.agency_id, party.phrase)


def _print_cycles(console: Console, rv: Review, ob: Obligation) -> None:
    from models.calendar import period_label
    from models.plan import cycle_agencies
    from models.review import local, schedule_problem, upcoming

    problem = schedule_problem(rv, ob)
    if problem is not None:
        console.print(Text(f"Chưa tính được kỳ báo cáo: {problem.message}", style="yellow"))
        return
    plans = upcoming(rv, ob)
    table = Table(title="Các kỳ sắp tới", title_justify="left")
    for name in ("kỳ", "mở", "hạn cơ quan", "hạn chủ trì", "số cơ quan"):
        table.add_column(name)
    for plan in plans:
        who = cycle_agencies(rv.session, ob, on=plan.opens_at.date(), province=rv.province)
        unresolved = f" (+{len(who.flags)} chưa rõ)" if who.flags else ""
        mark = " (dự kiến)" if plan.provisional else ""
        table.add_row(
            period_label(plan.period.key),
            local(plan.opens_at),
            local(plan.due.at) + mark,
            (local(plan.lead_due.at) + mark) if plan.lead_due else "—",
            f"{len(who.agencies)}{unresolved}",
        )
    console.print(table)
    if plans:
        due = plans[0].lead_due or plans[0].due
        source = due.source
        if ob.deadline_override and ob.deadline_override.get("kind") != "none":
            source = "do quản trị đặt"
        elif due.is_default:
            source = (
                "hạn mặc định do quản trị đặt, không phải của văn bản — "
                + source.split(":", 1)[-1].strip()
            )
        console.print(Text(f"Nguồn của hạn: {source}"))
    days = sorted({d.day for plan in plans for d in plan.provisional})
    if days:
        shown = ", ".join(f"{d:%d/%m/%Y}" for d in days[:6]) + (" …" if len(days) > 6 else "")
        console.print(
            Text(
                "Dự kiến: các hạn đánh dấu dựa vào ngày nghỉ chưa có văn bản chính thức "
                f"({shown}); xem `hanbaocao holidays list`, xác nhận bằng "
                "`hanbaocao holidays confirm`.",
                style="yellow",
            )
        )
    for warning in dict.fromkeys(w for plan in plans for w in plan.warnings):
        console.print(Text(f"Lưu ý: {warning}", style="yellow"))


def _history(rv: Review, ob: Obligation, rows: list[ObligationParty]) -> Table:
    from sqlmodel import and_, col, or_, select

    from models.review import audit_text, local
    from models.tables import AuditEvent

    party_ids = [p.id for p in rows if p.id is not None]
    stmt = select(AuditEvent).where(
        or_(
            and_(col(AuditEvent.entity) == "obligation", col(AuditEvent.entity_id) == ob.id),
            and_(
                col(AuditEvent.entity) == "obligation_party",
                col(AuditEvent.entity_id).in_(party_ids),
            ),
        )
    )
    table = Table(title="Lịch sử", title_justify="left")
    for name in ("lúc", "ai", "việc"):
        table.add_column(name)
    for event in rv.session.exec(stmt.order_by(col(AuditEvent.at), col(AuditEvent.id))):
        table.add_row(
            local(event.at), Text(event.actor), Text(audit_text(event.action, event.data))
        )
    return table


# --- JSON --------------------------------------------------------------------------------


def iso(moment: dt.datetime | None) -> str | None:
    from models.db import TZ

    return moment.astimezone(TZ).isoformat() if moment else None


def _agency_data(rv: Review, agency_id: int | None) -> dict[str, Any] | None:
    from models.agency import Agency

    agency = rv.session.get(Agency, agency_id) if agency_id else None
    return {"id": agency.id, "code": agency.code, "name": agency.name} if agency else None


def plan_data(plan: CyclePlan) -> dict[str, Any]:
    from models.calendar import period_label

    return {
        "period": plan.period.key,
        "label": period_label(plan.period.key),
        "opens_at": iso(plan.opens_at),
        "due_at": iso(plan.due.at),
        "lead_due_at": iso(plan.lead_due.at) if plan.lead_due else None,
        "provisional_days_off": [d.day.isoformat() for d in plan.provisional],
        "default_deadline": (plan.lead_due or plan.due).is_default,
    }


def as_data(
    rv: Review, ob: Obligation, directive: Directive, *, cycles: bool = False
) -> dict[str, Any]:
    from models.review import (
        frequency_vi,
        needs,
        parties,
        party_flag_text,
        schedule_problem,
        upcoming,
    )

    rows = parties(rv, ob)
    submitters = [
        {
            "phrase": p.phrase,
            "agency": _agency_data(rv, p.agency_id),
            "group": p.group_key,
            "flag": p.flag,
            "flag_text": party_flag_text(p) if p.flag else None,
        }
        for p in rows
        if str(p.role) == "submitter"
    ]
    data: dict[str, Any] = {
        "id": ob.id,
        "directive": {"id": directive.id, "number": directive.number},
        "status": str(ob.status),
        "frequency": ob.frequency,
        "frequency_label": frequency_vi(ob.frequency),
        "deadline": _rule_data(ob),
        "deadline_text": deadline_text(ob),
        "submitters": submitters,
        "lead": _agency_data(rv, ob.lead_agency_id),
        "recipient": _agency_data(rv, ob.recipient_agency_id),
        "flags": list(ob.flags),
        "needs": needs(rv, ob, rows),
    }
    if cycles:
        ok = schedule_problem(rv, ob) is None
        data["next_cycles"] = [plan_data(p) for p in upcoming(rv, ob)] if ok else []
        data["clause"] = " ".join(ob.clause_text.split())
    return data


def _rule_data(ob: Obligation) -> dict[str, Any]:
    from dataclasses import asdict

    from models.review import rule_of

    return asdict(rule_of(ob))
