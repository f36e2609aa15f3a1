"""The consolidated status as .xlsx and .csv: read back with openpyxl and the csv module."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from notifications.exports import (
    STATUS_HEADERS,
    TableFiles,
    slug,
    status_attachments,
    status_files,
    table_files,
)
from notifications.messages import StatusRow, render, status_label
from notifications.vocabulary import CSV_TYPE, XLSX_TYPE
from tests.notifications.test_messages import ICT, make_ctx

NFD_AGENCY = unicodedata.normalize("NFD", "Sở Tài nguyên và Môi trường")
STATUS = (
    StatusRow("Sở Tài chính", "submitted", datetime(2025, 12, 19, 8, 0, tzinfo=ICT)),
    # 02:30 UTC on 24/12 is 09:30 in Quảng Ngãi.
    StatusRow("Sở Y tế", "submitted", datetime(2025, 12, 24, 2, 30, tzinfo=UTC), 2),
    StatusRow("UBND xã Tịnh Khê", "late", None, 5),
    StatusRow(NFD_AGENCY, "pending"),
    StatusRow("Ban Quản lý KKT Dung Quất", "excused"),
)
# Longest overdue first, then by name: the order of the email's table.
EXPECTED_ROWS = [
    (1, "UBND xã Tịnh Khê", "Quá hạn, chưa nộp", None, 5),
    (2, "Sở Y tế", "Đã nộp sau hạn", datetime(2025, 12, 24, 9, 30), 2),
    (3, "Ban Quản lý KKT Dung Quất", "Không phải nộp", None, 0),
    (4, "Sở Tài chính", "Đã nộp đúng hạn", datetime(2025, 12, 19, 8, 0), 0),
    (5, "Sở Tài nguyên và Môi trường", "Chưa nộp", None, 0),
]


@pytest.fixture
def files(tmp_path: Path) -> TableFiles:
    return status_files(make_ctx(status=STATUS), tmp_path / "exports")


def sheet_rows(path: Path) -> list[tuple[Any, ...]]:
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    return [tuple(row) for row in ws.iter_rows(values_only=True)]


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


# == xlsx ====================================================================================


def test_status_files_are_named_after_directive_and_period(files: TableFiles) -> None:
    assert files.xlsx.name == "6966-ubnd-ktn-2026.xlsx"
    assert files.csv.name == "6966-ubnd-ktn-2026.csv"
    quarter = status_files(make_ctx(period_key="2026-Q3"), files.xlsx.parent)
    assert quarter.xlsx.name == "6966-ubnd-ktn-2026-q3.xlsx"


def test_xlsx_heading_block_then_table(files: TableFiles) -> None:
    rows = sheet_rows(files.xlsx)
    assert [r[0] for r in rows[:7]] == [
        "TÌNH HÌNH NỘP BÁO CÁO NĂM 2026",
        "Văn bản: 6966/UBND-KTN ngày 24/12/2024",
        "Trích yếu: V/v triển khai thực hiện Nghị định số 175/2024/NĐ-CP",
        "Kỳ báo cáo: Năm 2026",
        "Hạn nộp: 22/12/2025 17:00",
        "Cơ quan tổng hợp: Sở Xây dựng",
        "Số liệu tính đến: 29/12/2025 08:00",
    ]
    assert rows[7] == (None,) * 5
    assert rows[8] == STATUS_HEADERS
    assert rows[9:] == EXPECTED_ROWS


def test_xlsx_text_is_nfc(files: TableFiles) -> None:
    for row in sheet_rows(files.xlsx):
        for value in row:
            if isinstance(value, str):
                assert unicodedata.is_normalized("NFC", value), value


def test_xlsx_formatting(files: TableFiles) -> None:
    ws = openpyxl.load_workbook(files.xlsx).active
    assert ws is not None
    assert ws.title == "Tình hình nộp báo cáo"
    assert ws["A1"].font.b and ws["A1"].font.sz == 14
    header = ws[9]
    assert all(c.font.b for c in header) and all(
        c.fill.fgColor.rgb.endswith("F1F3F5") for c in header
    )
    assert not ws["B10"].font.b
    assert ws.freeze_panes == "A10"  # rows above the first data row stay in view
    assert ws.auto_filter.ref == "A9:E14"
    assert ws["D11"].number_format == "dd/mm/yyyy hh:mm"
    assert ws["D11"].is_date
    widths = {c: ws.column_dimensions[c].width for c in "ABCDE"}
    assert widths["A"] < widths["B"]  # STT narrow, names wide
    assert widths["B"] >= len("Sở Tài nguyên và Môi trường")
    assert all(w <= 62 for w in widths.values())
    assert ws.print_title_rows == "$9:$9"


def test_strings_never_become_formulas(tmp_path: Path) -> None:
    evil = '=HYPERLINK("http://x.invalid","Sở")'
    made = table_files("T", ["Tên", "Ghi chú"], [[evil, "-1"]], tmp_path, "evil")
    ws = openpyxl.load_workbook(made.xlsx).active
    assert ws is not None
    assert ws["A4"].value == evil and ws["A4"].data_type == "s"
    assert csv_rows(made.csv)[1] == ["'" + evil, "'-1"]


def test_header_cells_never_become_formulas_either(tmp_path: Path) -> None:
    # Dashboard headers carry directive numbers and periods: text from documents.
    evil = "=cmd|' /C calc'!A0"
    made = table_files("T", ["STT", evil, "+1", "@SUM(A1)", "-x"], [[1, 2, 3, 4, 5]], tmp_path, "h")
    assert csv_rows(made.csv)[0] == ["STT", "'" + evil, "'+1", "'@SUM(A1)", "'-x"]
    ws = openpyxl.load_workbook(made.xlsx).active
    assert ws is not None
    assert ws["B3"].value == evil and ws["B3"].data_type == "s"


# == csv =====================================================================================


def test_csv_is_utf8_with_bom_and_decodes(files: TableFiles) -> None:
    raw = files.csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = csv_rows(files.csv)
    assert rows[0] == list(STATUS_HEADERS)
    assert rows[1:] == [
        ["1", "UBND xã Tịnh Khê", "Quá hạn, chưa nộp", "", "5"],
        ["2", "Sở Y tế", "Đã nộp sau hạn", "24/12/2025 09:30", "2"],
        ["3", "Ban Quản lý KKT Dung Quất", "Không phải nộp", "", "0"],
        ["4", "Sở Tài chính", "Đã nộp đúng hạn", "19/12/2025 08:00", "0"],
        ["5", "Sở Tài nguyên và Môi trường", "Chưa nộp", "", "0"],
    ]
    assert all(unicodedata.is_normalized("NFC", v) for row in rows for v in row)


def test_state_labels_are_the_emails(files: TableFiles) -> None:
    email = render("consolidated-status", make_ctx(status=STATUS)).text
    expected = {unicodedata.normalize("NFC", r.agency): status_label(r) for r in STATUS}
    for _, agency, label, *_ in csv_rows(files.csv)[1:]:
        assert label == expected[agency]
        assert f"{agency} — Tình trạng: {label};" in email


# == atomic writes ===========================================================================


def test_rewrite_replaces_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    first = status_files(make_ctx(status=STATUS[:1]), tmp_path)
    second = status_files(make_ctx(status=STATUS), tmp_path)
    assert second == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.csv.name, first.xlsx.name]
    assert len(csv_rows(second.csv)) == len(STATUS) + 1


def test_failed_write_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = status_files(make_ctx(status=STATUS[:1]), tmp_path)
    before = old.xlsx.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("notifications.exports.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        status_files(make_ctx(status=STATUS), tmp_path)
    assert old.xlsx.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [old.csv.name, old.xlsx.name]


# == the generic table =======================================================================


def test_table_files_cells(tmp_path: Path) -> None:
    made = table_files(
        "Ma trận tuân thủ",
        ["Cơ quan", "Ngày", "Tỷ lệ", "Lúc", "Trống"],
        [["Sở Nội vụ", date(2026, 1, 5), 0.75, datetime(2026, 1, 5, 17, 0, tzinfo=UTC), None]],
        tmp_path,
        "ma-tran-2026",
        heading=[("Tỉnh", "Quảng Ngãi")],
    )
    assert sheet_rows(made.xlsx)[-1] == (
        "Sở Nội vụ",
        datetime(2026, 1, 5),
        0.75,
        datetime(2026, 1, 6, 0, 0),
        None,
    )
    assert csv_rows(made.csv)[1] == ["Sở Nội vụ", "05/01/2026", "0.75", "06/01/2026 00:00", ""]
    # No heading lines: title, empty row, header.
    assert sheet_rows(table_files("T", ["A"], [], tmp_path, "empty").xlsx)[2] == ("A",)


@pytest.mark.parametrize(
    ("stem", "rows", "message"),
    [
        ("../escape", [["x"]], "file stem"),
        ("Tình-hình", [["x"]], "file stem"),
        ("ok", [["x", "y"]], "row 1 has 2 cells for 1 columns"),
        ("ok", [[datetime(2026, 1, 5, 17, 0)]], "naive datetime"),
    ],
)
def test_table_files_refuses(
    tmp_path: Path, stem: str, rows: list[list[Any]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        table_files("T", ["A"], rows, tmp_path, stem)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6966/UBND-KTN", "6966-ubnd-ktn"),
        ("Sở Xây dựng", "so-xay-dung"),
        ("ĐỀ ÁN 06", "de-an-06"),
        (unicodedata.normalize("NFD", "Quảng Ngãi"), "quang-ngai"),
        ("2026-Q3", "2026-q3"),
    ],
)
def test_slug(value: str, expected: str) -> None:
    assert slug(value) == expected


# == as attachments ==========================================================================


def test_status_attachments_are_named_in_vietnamese(tmp_path: Path) -> None:
    xlsx, csv_file = status_attachments(make_ctx(period_key="2026-Q3"), tmp_path)
    assert xlsx.name == "Tình hình nộp báo cáo quý III-2026 - 6966-UBND-KTN.xlsx"
    assert csv_file.name == "Tình hình nộp báo cáo quý III-2026 - 6966-UBND-KTN.csv"
    assert (xlsx.content_type, csv_file.content_type) == (XLSX_TYPE, CSV_TYPE)
    assert xlsx.path.is_file() and csv_file.path.is_file()
    assert io.BytesIO(xlsx.path.read_bytes()).read(2) == b"PK"  # a zip: an .xlsx
