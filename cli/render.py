"""How a parsed directive looks in the terminal and in JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from directives.model import (
    FREQUENCY_VI,
    Clause,
    Obligation,
    ParsedDirective,
    describe_deadline,
    vi_date,
)

# One colour per field: the same colour marks the value and its words in the clause.
STYLE = {
    "frequency": "bold cyan",
    "deadline": "bold yellow",
    "submitters": "bold blue",
    "recipient": "bold green",
    "via": "bold magenta",
}
FLAG_TEXT = {
    "no_timing": "no timing stated — needs a schedule",
    "no_recipient": "no recipient stated — set one before approval",
    "no_submitter": "no submitter stated — set who reports",
    "recital": "nhắc lại yêu cầu của văn bản trước (mọi thời hạn trước ngày ban hành)"
    " — không đề xuất",
    "ocr_low_confidence": "đọc bằng OCR từ trang kém rõ — đối chiếu với bản giấy",
}


def as_json(parsed: ParsedDirective) -> dict[str, Any]:
    data = asdict(parsed)
    data.pop("text")
    for clause, raw in zip(parsed.clauses, data["clauses"], strict=True):
        raw["label"] = clause.label()
    data["obligation_count"] = len(parsed.obligations)
    return data


def review(console: Console, parsed: ParsedDirective) -> None:
    console.print(_header(parsed))
    for note in parsed.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    found = parsed.obligations
    if not found:
        console.print("[dim]No reporting obligation found in this document.[/]\n")
        return
    for number, (clause, ob) in enumerate(found, start=1):
        console.print(_obligation(parsed.text, clause, ob, number, len(found)))
    console.print(
        f"[bold]{len(found)}[/] obligation(s) in "
        f"{len({id(c) for c, _ in found})} of {len(parsed.clauses)} clauses.\n",
        highlight=False,
    )


def _header(parsed: ParsedDirective) -> Panel:
    h = parsed.header
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    rows = [
        ("Issuer", h.issuer),
        ("Number", h.number),
        ("Type", h.doc_type),
        ("Issued", ", ".join(x for x in (h.place, vi_date(h.date)) if x)),
        ("Subject", h.subject),
        ("To", "; ".join(h.addressees)),
        ("Signed", " — ".join(x for x in (h.signer_role, h.signer) if x)),
        ("Cites", "; ".join(_cite(c.kind, c.number, c.date) for c in h.cited)),
    ]
    for label, value in rows:
        if value:
            grid.add_row(label, Text(value))
    title = f"[bold]{h.number or parsed.source}[/]"
    return Panel(grid, title=title, subtitle=parsed.source, title_align="left")


def _cite(kind: str | None, number: str, date: str | None) -> str:
    return " ".join(x for x in (kind, number, f"ngày {vi_date(date)}" if date else None) if x)


def _obligation(text: str, clause: Clause, ob: Obligation, number: int, total: int) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    who = ", ".join(ob.submitters)
    if not who and ob.inherited_submitters:
        who = f"{', '.join(ob.inherited_submitters)} (from the section heading)"
    table.add_row("How often", Text(FREQUENCY_VI[ob.frequency], style=STYLE["frequency"]))
    table.add_row("By when", Text(describe_deadline(ob.deadline), style=STYLE["deadline"]))
    table.add_row("Who", Text(who or "—", style=STYLE["submitters"]))
    table.add_row("To whom", Text(ob.recipient or "—", style=STYLE["recipient"]))
    table.add_row("Through", Text(ob.via or "—", style=STYLE["via"]))
    if ob.subject:
        table.add_row("What", Text(ob.subject))
    table.add_row("Confidence", f"{ob.confidence:.2f}")
    for flag in ob.flags:
        table.add_row("[yellow]Check[/]", Text(FLAG_TEXT.get(flag, flag), style="yellow"))
    body = Group(_highlighted(text, clause, ob), Text(""), table)
    return Panel(body, title=f"Obligation {number}/{total}", title_align="left")


def _highlighted(text: str, clause: Clause, ob: Obligation) -> Text:
    """The clause as written, with the words each fact was read from in its colour."""
    out = Text(" ".join(text[clause.start : clause.end].split()))
    # Offsets in ``out`` differ from the document's once whitespace is collapsed, so
    # locate each evidence phrase (already whitespace-collapsed) in the display text.
    for field, style in STYLE.items():
        for ev in ob.evidence.get(field, []):
            at = out.plain.find(ev.text)
            if at != -1 and ev.text:
                out.stylize(style, at, at + len(ev.text))
    return out
