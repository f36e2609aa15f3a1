"""Tables as files: a closed cycle's consolidated status (and, later, the dashboard's
compliance matrix) as an .xlsx for people and a .csv for other programs, to attach to
the lead Sở's email.

The .xlsx has a heading block (title, then "Label: value" lines: directive, period,
deadline…), then the table: bold filled header, frozen under it, with an autofilter,
column widths from the content, printed landscape one page wide. Times are real
date-time cells in Asia/Ho_Chi_Minh shown as dd/mm/yyyy hh:mm, so they sort and filter
as times. The .csv is the table alone (header + rows, RFC 4180: comma, CRLF), UTF-8
with a BOM — without it Excel reads the file as the machine's legacy code page and
"Sở Tài chính" turns into "Sá»Ÿ TÃ i chÃ­nh" — and times as "dd/mm/yyyy HH:MM" text.

Every string is NFC (the registry and parsed directives may hold NFD text) on one line.
No string becomes a formula: .xlsx string cells are typed as strings, and a .csv value
starting with = + - @ (header cells too) gets a leading apostrophe (CSV injection).

Each file is written whole to a temporary file in the same directory and renamed over
the target, so a reader (the mail transport, a download) sees the old file or the new
one, never half of one, and a crash leaves no partial file under the real name.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from models.calendar import TZ, period_label
from models.formats import local_text
from notifications.messages import NoticeContext, StatusRow, format_date, status_label
from notifications.vocabulary import CSV_TYPE, XLSX_TYPE, Attachment

Cell = str | int | float | datetime | date | None

STATUS_HEADERS = ("STT", "Cơ quan", "Trạng thái", "Thời điểm nộp", "Số ngày làm việc trễ")
STATUS_SHEET = "Tình hình nộp báo cáo"
XLSX_TIME = "dd/mm/yyyy hh:mm"  # Excel's format codes: "mm" after "hh" is minutes
XLSX_DATE = "dd/mm/yyyy"
_STEM = re.compile(r"[a-z0-9][a-z0-9._-]{0,150}", re.ASCII)
_FORMULA_START = ("=", "+", "-", "@")
_MAX_WIDTH = 60  # characters; longer values wrap in the cell instead
_THIN = Side(style="thin", color="D9DDE3")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", start_color="F1F3F5", end_color="F1F3F5")


class Colour(NamedTuple):
    """A cell's colours as RGB hex without "#" ("2E7D32"), as openpyxl takes them."""

    fill: str
    text: str


class TableFiles(NamedTuple):
    xlsx: Path
    csv: Path


# == The generic table ======================================================================


def table_files(
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    directory: Path,
    stem: str,
    *,
    heading: Sequence[tuple[str, str]] = (),
    sheet: str = "Bảng",
    colours: Mapping[tuple[int, int], Colour] | None = None,
) -> TableFiles:
    """Write ``<stem>.xlsx`` and ``<stem>.csv`` into ``directory`` (created if need be),
    each atomically, replacing earlier ones. ``stem`` is an ASCII slug (``slug``); an
    aware datetime cell is shown in local time; a naive one is refused. ``colours``:
    the fill and text colour of some cells in the workbook, by (row, column) of
    ``rows``, counted from 0 (CSV has no colours)."""
    if not _STEM.fullmatch(stem) or stem.endswith("."):
        raise ValueError(f"file stem {stem!r}: lowercase ASCII letters, digits, . _ - only")
    head = tuple(text(h) for h in headers)
    table = [tuple(row) for row in rows]
    for number, row in enumerate(table, 1):
        if len(row) != len(head):
            raise ValueError(f"row {number} has {len(row)} cells for {len(head)} columns")
    directory.mkdir(parents=True, exist_ok=True)
    xlsx = directory / f"{stem}.xlsx"
    csv_path = directory / f"{stem}.csv"
    heading_lines = tuple((text(label), text(value)) for label, value in heading)
    workbook = _xlsx_bytes(text(title), head, table, heading_lines, sheet, colours or {})
    atomic_write(xlsx, workbook)
    atomic_write(csv_path, _csv_bytes(head, table))
    return TableFiles(xlsx, csv_path)


def text(value: str) -> str:
    """NFC, one line, no control characters (openpyxl refuses most of them)."""
    value = unicodedata.normalize("NFC", value)
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())


def slug(value: str) -> str:
    """ "6966/UBND-KTN" -> "6966-ubnd-ktn", "Sở Xây dựng" -> "so-xay-dung"."""
    bare = unicodedata.normalize("NFKD", value.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in bare if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")


def content_disposition(filename: str, *, fallback: str = "bang") -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the real name as
    RFC 5987 ``filename*`` (UTF-8, percent-encoded): "Báo cáo.pdf" stays readable."""
    stem, dot, ext = filename.rpartition(".")
    ascii_name = f"{slug(stem) or fallback}{dot}{slug(ext)}" if dot else slug(filename) or fallback
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def atomic_write(path: Path, data: bytes) -> None:
    """``data`` at ``path``, all or nothing: a temporary file beside it, synced, then
    renamed over it (a rename within one directory is atomic on POSIX and Windows)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened so on Windows.
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _local(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r} in a table: give it a time zone")
    return moment.astimezone(TZ)


def format_time(moment: datetime) -> str:
    """ "19/12/2025 08:00", in Asia/Ho_Chi_Minh; a deadline at its day's end reads 24:00."""
    return local_text(_local(moment))


# -- xlsx ---------------------------------------------------------------------------------


def _xlsx_bytes(
    title: str,
    head: tuple[str, ...],
    table: list[tuple[Cell, ...]],
    heading: tuple[tuple[str, str], ...],
    sheet: str,
    colours: Mapping[tuple[int, int], Colour],
) -> bytes:
    book = Workbook()
    ws: Any = book.active
    ws.title = _sheet_title(sheet)
    book.properties.title = title
    book.properties.creator = "hanbaocao"
    book.properties.language = "vi-VN"
    _put(ws.cell(1, 1), title).font = Font(bold=True, size=14)
    for row, (label, fact) in enumerate(heading, 2):
        _put(ws.cell(row, 1), f"{label}: {fact}")
    top = len(heading) + 3  # the header, after one empty row
    for column, name in enumerate(head, 1):
        cell = _put(ws.cell(top, column), name)
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.border = _BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row, values in enumerate(table, top + 1):
        for column, value in enumerate(values, 1):
            cell = _put(ws.cell(row, column), value)
            cell.border = _BOX
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            colour = colours.get((row - top - 1, column - 1))
            if colour is not None:
                cell.fill = PatternFill("solid", start_color=colour.fill, end_color=colour.fill)
                cell.font = Font(color=colour.text)
    _layout(ws, head, table, top)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _put(cell: Any, value: Cell) -> Any:
    if isinstance(value, datetime):
        cell.value = _local(value).replace(tzinfo=None)  # Excel has no time zones
        cell.number_format = XLSX_TIME
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = XLSX_DATE
    elif isinstance(value, str):
        cell.value = text(value)
        cell.data_type = "s"  # openpyxl would make "=…" a formula
    else:
        cell.value = value
    return cell


def _layout(ws: Any, head: tuple[str, ...], table: list[tuple[Cell, ...]], top: int) -> None:
    last_column = get_column_letter(len(head))
    for column, name in enumerate(head, 1):
        longest = max((_shown_length(r[column - 1]) for r in table), default=0)
        # A header may wrap onto two lines; a value should not have to.
        width = max(longest, min(len(name), 14), 4) + 2
        ws.column_dimensions[get_column_letter(column)].width = min(width, _MAX_WIDTH)
    ws.freeze_panes = ws.cell(top + 1, 1)
    ws.auto_filter.ref = f"A{top}:{last_column}{top + max(len(table), 1)}"
    ws.print_title_rows = f"{top}:{top}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _shown_length(value: Cell) -> int:
    if isinstance(value, datetime):
        return len("dd/mm/yyyy hh:mm")
    if isinstance(value, date):
        return len("dd/mm/yyyy")
    return len(_csv_value(value))


def _sheet_title(name: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\
    return re.sub(r"[\[\]:*?/\\]", "-", text(name))[:31] or "Bảng"


# -- csv ----------------------------------------------------------------------------------


def _csv_bytes(head: tuple[str, ...], table: list[tuple[Cell, ...]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)  # the "excel" dialect: comma, CRLF, quotes when needed
    writer.writerow([_csv_value(h) for h in head])  # a header is a cell like any other
    writer.writerows([_csv_value(v) for v in row] for row in table)
    return buffer.getvalue().encode("utf-8-sig")


def _csv_value(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, str):
        cleaned = text(value)
        return "'" + cleaned if cleaned.startswith(_FORMULA_START) else cleaned
    return str(value)


# == The consolidated status ================================================================


def status_rows(status: Iterable[StatusRow]) -> list[tuple[Cell, ...]]:
    """STT, agency, state label, submission time, working days late: longest overdue
    first, as in the email's table, so the STT numbers agree."""
    ordered = sorted(status, key=lambda r: (-r.days_late, text(r.agency)))
    return [
        (number, text(r.agency), status_label(r), r.submitted_at, r.days_late)
        for number, r in enumerate(ordered, 1)
    ]


def status_heading(ctx: NoticeContext) -> tuple[str, list[tuple[str, str]]]:
    """The title and the "Label: value" lines above the table."""
    period = period_label(ctx.period_key)
    lines = [
        ("Văn bản", f"{text(ctx.directive_number)} ngày {format_date(ctx.directive_date)}"),
        ("Trích yếu", text(ctx.directive_subject)),
        ("Kỳ báo cáo", period),
        ("Hạn nộp", format_time(ctx.deadline)),
    ]
    if ctx.via:
        lines.append(("Cơ quan tổng hợp", text(ctx.via)))
    if ctx.as_of is not None:
        lines.append(("Số liệu tính đến", format_time(ctx.as_of)))
    return f"TÌNH HÌNH NỘP BÁO CÁO {period.upper()}", lines


def status_stem(ctx: NoticeContext) -> str:
    """ "6966-ubnd-ktn-2026-q3": directive and period. Two obligations of one directive
    share it for the same period: give each cycle its own directory."""
    return f"{slug(ctx.directive_number)}-{slug(ctx.period_key)}"


def status_files(ctx: NoticeContext, directory: Path, *, stem: str | None = None) -> TableFiles:
    """``ctx.status`` as ``<stem>.xlsx`` and ``<stem>.csv`` in ``directory``."""
    title, heading = status_heading(ctx)
    return table_files(
        title,
        STATUS_HEADERS,
        status_rows(ctx.status),
        directory,
        stem or status_stem(ctx),
        heading=heading,
        sheet=STATUS_SHEET,
    )


def status_attachments(
    ctx: NoticeContext, directory: Path, *, stem: str | None = None
) -> tuple[Attachment, Attachment]:
    """``status_files``, as the attachments of the consolidated-status email, named in
    Vietnamese for the reader: "Tình hình nộp báo cáo năm 2026 - 6966-UBND-KTN.xlsx"."""
    files = status_files(ctx, directory, stem=stem)
    period = period_label(ctx.period_key)
    base = f"Tình hình nộp báo cáo {period[:1].lower()}{period[1:]} - {text(ctx.directive_number)}"
    base = base.replace("/", "-").replace("\\", "-")
    return (
        Attachment(f"{base}.xlsx", XLSX_TYPE, files.xlsx),
        Attachment(f"{base}.csv", CSV_TYPE, files.csv),
    )
