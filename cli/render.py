"""How a parsed directive looks in the terminal and in JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from directives.parsed import (
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
    "no_timing": "văn bản không nêu thời hạn — cần đặt lịch báo cáo",
    "no_recipient": "văn bản không nêu cơ quan nhận báo cáo — cần chọn trước khi phê duyệt",
    "no_submitter": "văn bản không nêu cơ quan báo cáo — cần chọn cơ quan báo cáo",
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
        console.print(f"[yellow]lưu ý:[/] {note}", highlight=False)
    found = parsed.obligations
    if not found:
        console.print("[dim]Không tìm thấy nghĩa vụ báo cáo nào trong văn bản này.[/]\n")
        return
    for number, (clause, ob) in enumerate(found, start=1):
        console.print(_obligation(parsed.text, clause, ob, number, len(found)))
    console.print(
        f"[bold]{len(found)}[/] nghĩa vụ báo cáo trong "
        f"{len({id(c) for c, _ in found})}/{len(parsed.clauses)} đoạn.\n",
        highlight=False,
    )


def _header(parsed: ParsedDirective) -> Panel:
    h = parsed.header
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    rows = [
        ("Cơ quan ban hành", h.issuer),
        ("Số, ký hiệu", h.number),
        ("Loại văn bản", h.doc_type),
        ("Địa danh, ngày", ", ".join(x for x in (h.place, vi_date(h.date)) if x)),
        ("Trích yếu", h.subject),
        ("Kính gửi", "; ".join(h.addressees)),
        ("Người ký", " — ".join(x for x in (h.signer_role, h.signer) if x)),
        ("Văn bản dẫn", "; ".join(_cite(c.kind, c.number, c.date) for c in h.cited)),
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
        who = f"{', '.join(ob.inherited_submitters)} (theo tiêu đề mục)"
    table.add_row("Tần suất", Text(FREQUENCY_VI[ob.frequency], style=STYLE["frequency"]))
    table.add_row("Thời hạn", Text(describe_deadline(ob.deadline), style=STYLE["deadline"]))
    table.add_row("Cơ quan báo cáo", Text(who or "—", style=STYLE["submitters"]))
    table.add_row("Cơ quan nhận", Text(ob.recipient or "—", style=STYLE["recipient"]))
    table.add_row("Thông qua", Text(ob.via or "—", style=STYLE["via"]))
    if ob.subject:
        table.add_row("Nội dung", Text(ob.subject))
    table.add_row("Độ tin cậy", f"{ob.confidence:.2f}")
    for flag in ob.flags:
        table.add_row("[yellow]Cần xem[/]", Text(FLAG_TEXT.get(flag, flag), style="yellow"))
    body = Group(_highlighted(text, clause, ob), Text(""), table)
    return Panel(body, title=f"Nghĩa vụ {number}/{total}", title_align="left")


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
