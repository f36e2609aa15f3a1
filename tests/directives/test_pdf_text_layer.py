"""A text PDF made by LibreOffice from Vietnamese text: pypdf maps some of its glyphs to
control characters ("cu\\x1ba" for "của"), so those pages are read through pdfium."""

from __future__ import annotations

from pathlib import Path

from directives.readers import read_document
from tests.directives.test_readers_ocr import soffice_convert

TEXT = (
    "Số: 6966/UBND-KTN\nNghị quyết số 06 của Chính phủ và Kế hoạch số 151/KH-UBND của UBND tỉnh "
    "Quảng Ngãi về triển khai thực hiện Đề án phát triển ứng dụng dữ liệu dân cư, số 151/KH-UBND\n"
)


def test_a_libreoffice_pdf_reads_its_vietnamese_text(tmp_path: Path) -> None:
    source = tmp_path / "letter.txt"
    source.write_text(TEXT, encoding="utf-8")
    pdf = soffice_convert(source, "pdf", tmp_path)
    read = read_document(pdf)
    assert "của Chính phủ" in read.text
    assert "Số: 6966/UBND-KTN" in read.text
    assert "\ufffe" not in read.text and "151/KH-UBND" in read.text.replace("\n", "")
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in read.text)
