"""The ingest review artifact says when OCR read the directive, and which pages are doubtful."""

from __future__ import annotations

from directives.ocr import FLAG, OcrPage, review_note
from flows.ingest import review_markdown


def test_the_review_says_the_text_came_from_ocr_and_how_surely() -> None:
    note = review_note((OcrPage(1, 0, 100, 96.0), OcrPage(2, 101, 200, 70.0)))
    assert note is not None
    markdown = review_markdown("6966/UBND-KTN", "V/v triển khai", [], note=note)
    assert "> Văn bản được đọc bằng OCR (Tesseract, tiếng Việt) từ trang 1-2" in markdown
    assert "độ tin cậy trung bình 83%" in markdown
    assert f"Trang 2 đọc kém (dưới 90%): các nghĩa vụ ở đó mang cờ `{FLAG}`" in markdown


def test_a_text_directive_has_no_ocr_note() -> None:
    assert review_note(()) is None
    assert "OCR" not in review_markdown("6966/UBND-KTN", None, [])
