"""Scanned and legacy directives: OCR of image-only PDFs and photos, .doc by LibreOffice.

The scans are made here from the seed texts (``tests/tools/scan.py``: Pillow draws the
pages, tilts, blurs, speckles and stamps them) and read back; what the parser finds in
them is checked against what it finds in the text file of the same document. Each scan
is made and read once per session (module fixtures); those tests are marked slow.

Tesseract (``tesseract-ocr``, ``tesseract-ocr-vie``) and LibreOffice
(``libreoffice-writer-nogui``) are Debian packages: a test that needs one skips where
it is missing, except under ``HANBAOCAO_REQUIRE_OCR=1`` (set by ``.ci/run``), where
that is a failure.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader, PdfWriter

from directives import ocr
from directives.parse import parse_file, parse_source, parse_text
from directives.parsed import ParsedDirective
from directives.readers import ReadError, SourceText, read_document
from tests.tools.scan import facts, font_path, photo_pages, save_jpeg, save_pdf, scan_pages

ROOT = Path(__file__).resolve().parents[2]
SEED_6966 = ROOT / "examples" / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
SEED_1503 = ROOT / "examples" / "seed-1503-ubnd-ktth-kon-tum-2022.txt"
ONE_PAGE = ROOT / "tests" / "data" / "ocr" / "6966-one-page.txt"
REQUIRED = os.environ.get("HANBAOCAO_REQUIRE_OCR") == "1"


def need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        if REQUIRED:
            pytest.fail(f"{tool} is missing (apt-get install {package})")
        pytest.skip(f"{tool} is missing (apt-get install {package})")


def need_ocr() -> None:
    need("tesseract", ocr.PACKAGES)
    if not ocr.tesseract_status().found:
        pytest.fail(ocr.tesseract_status().detail)
    if font_path() is None:
        message = "DejaVu Serif is missing (apt-get install fonts-dejavu-core)"
        pytest.fail(message) if REQUIRED else pytest.skip(message)


# --- scans made once per session ------------------------------------------------------------


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_ocr()
    folder = tmp_path_factory.mktemp("scans")
    save_pdf(scan_pages(SEED_6966.read_text(encoding="utf-8"), seed=3), folder / "6966.pdf")
    save_pdf(scan_pages(SEED_1503.read_text(encoding="utf-8"), seed=2), folder / "1503.pdf")
    photo = photo_pages(ONE_PAGE.read_text(encoding="utf-8"), seed=1, per_page=50)
    assert len(photo) == 1
    save_jpeg(photo[0], folder / "6966-photo.jpg")
    return folder


@pytest.fixture(scope="module")
def read(scans: Path) -> Any:
    """Each scan read (OCR) and parsed once for all the tests of this module."""
    done: dict[Path, tuple[SourceText, ParsedDirective]] = {}

    def reader(path: Path) -> tuple[SourceText, ParsedDirective]:
        if path not in done:
            source = read_document(path)
            done[path] = (source, parse_source(source, name=str(path)))
        return done[path]

    return reader


def soffice_convert(source: Path, fmt: str, out: Path) -> Path:
    """``source`` converted by LibreOffice to ``fmt`` (pdf, doc) in ``out``."""
    need("soffice", "libreoffice-writer-nogui")
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(out / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return out / f"{source.stem}.{fmt}"


@pytest.fixture(scope="module")
def mixed_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6966 with its first part as a text PDF (LibreOffice) and the rest scanned."""
    need_ocr()
    folder = tmp_path_factory.mktemp("mixed")
    text = SEED_6966.read_text(encoding="utf-8")
    cut = text.index("2. UBND các huyện")
    first = folder / "first.txt"
    first.write_text(text[:cut].replace("**", ""), encoding="utf-8")
    typed = soffice_convert(first, "pdf", folder)
    # Seed 3, as for the 6966 scan: the one of seeds 1-8 whose signer's tone mark, under
    # the stamp, needs the doubtful words re-read (bench/bench_ocr.py --kinds mixed).
    scanned = save_pdf(scan_pages(text[cut:], seed=3), folder / "scanned.pdf")
    writer = PdfWriter()
    for part in (typed, scanned):
        for page in PdfReader(part).pages:
            writer.add_page(page)
    with (folder / "mixed.pdf").open("wb") as handle:
        writer.write(handle)
    return folder / "mixed.pdf"


# --- the acceptance: a scan reads as its text ----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("scan", "seed"), [("6966.pdf", SEED_6966), ("1503.pdf", SEED_1503)])
def test_a_scan_of_each_seed_gives_what_its_text_gives(
    scans: Path, read: Any, scan: str, seed: Path
) -> None:
    _, parsed = read(scans / scan)
    assert facts(parsed) == facts(parse_file(seed))
    assert parsed.obligations, "a seed states at least one obligation"
    assert any(note.startswith("đọc bằng OCR") for note in parsed.notes)


@pytest.mark.slow
def test_a_multi_page_scan_reads_every_page_in_order(scans: Path, read: Any) -> None:
    source, _ = read(scans / "6966.pdf")
    assert [p.number for p in source.ocr_pages] == [1, 2, 3]
    assert source.format == "pdf"
    first, *_, last = source.ocr_pages
    assert "Kính gửi" in source.text[first.start : first.end]
    assert "Nơi nhận" in source.text[last.start : last.end]
    assert all(p.confidence > ocr.LOW_CONFIDENCE for p in source.ocr_pages)


@pytest.mark.slow
def test_evidence_points_into_the_ocr_text(scans: Path, read: Any) -> None:
    _, parsed = read(scans / "6966.pdf")
    spans = [ev for _, ob in parsed.obligations for evs in ob.evidence.values() for ev in evs]
    assert spans
    for ev in spans:
        assert " ".join(parsed.text[ev.start : ev.end].split()) == ev.text


@pytest.mark.slow
def test_a_phone_photo_gives_what_its_text_gives(scans: Path, read: Any) -> None:
    _, parsed = read(scans / "6966-photo.jpg")
    assert facts(parsed) == facts(parse_file(ONE_PAGE))
    assert parsed.header.signer_role == "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH"
    assert "đọc bằng OCR (Tesseract, tiếng Việt): cả văn bản" in parsed.notes[0]


@pytest.mark.slow
def test_a_mixed_pdf_reads_its_text_pages_and_its_scanned_pages(mixed_pdf: Path, read: Any) -> None:
    source, parsed = read(mixed_pdf)
    typed = len(PdfReader(mixed_pdf).pages) - 2  # the scanned part is two pages
    assert [p.number for p in source.ocr_pages] == [typed + 1, typed + 2]
    assert source.ocr_pages[0].start > 0  # the text pages come first, as in the file
    assert facts(parsed) == facts(parse_file(SEED_6966))
    assert parsed.header.signer == "Trần Phước Hiền"  # under the stamp, its tone mark right
    assert f"trang {typed + 1}-{typed + 2} trong {typed + 2} trang" in parsed.notes[0]


@pytest.mark.slow
def test_a_typed_pdf_reads_as_printed(mixed_pdf: Path) -> None:
    """LibreOffice 7.4 writes Vietnamese with a font map pypdf misreads ('Số(' for 'Số',
    'QỦANG' for 'QUẢNG'); where pypdf and pdfium disagree on a page's letters, pdfium's
    text is taken."""
    source = read_document(mixed_pdf.parent / "first.pdf")
    assert source.ocr_pages == ()
    assert "TỈNH QUẢNG NGÃI" in source.text
    assert "Số: 6966 /UBND-KTN" in source.text
    assert "(" not in source.text.split("Kính gửi")[0]


# --- a legacy .doc --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_doc_is_read_through_libreoffice(tmp_path: Path) -> None:
    doc = soffice_convert(SEED_1503, "doc", tmp_path)
    assert doc.read_bytes().startswith(b"\xd0\xcf\x11\xe0")  # really Word 97-2003 (OLE2)
    parsed = parse_file(doc)
    assert facts(parsed) == facts(parse_file(SEED_1503))
    assert parsed.notes == ["đã chuyển từ tệp Word 97-2003 (.doc) sang .docx bằng LibreOffice"]


# --- without the tools ------------------------------------------------------------------------


@pytest.fixture
def no_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH without tesseract and LibreOffice, as on a machine without the packages."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def image_only_pdf(path: Path) -> Path:
    page = Image.new("RGB", (600, 800), "white")
    ImageDraw.Draw(page).rectangle((100, 100, 300, 140), fill="black")
    return save_pdf([page], path, dpi=72)


def test_a_scan_without_tesseract_names_the_packages(tmp_path: Path, no_tools: None) -> None:
    with pytest.raises(ReadError) as info:
        read_document(image_only_pdf(tmp_path / "scan.pdf"))
    assert "là bản scan" in str(info.value)
    assert "apt-get install tesseract-ocr tesseract-ocr-vie" in str(info.value)


def test_a_photo_without_tesseract_names_the_packages(tmp_path: Path, no_tools: None) -> None:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (300, 400), "white").save(path)
    with pytest.raises(ReadError, match="apt-get install tesseract-ocr tesseract-ocr-vie"):
        read_document(path)


def test_tesseract_without_vietnamese_names_the_language_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("tesseract", ocr.PACKAGES)
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # a tessdata folder without vie
    with pytest.raises(
        ReadError, match=r"thiếu dữ liệu tiếng Việt \(apt-get install tesseract-ocr-vie\)"
    ):
        read_document(image_only_pdf(tmp_path / "scan.pdf"))


def test_a_doc_without_libreoffice_says_how_to_get_it(tmp_path: Path, no_tools: None) -> None:
    path = tmp_path / "old.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(ReadError) as info:
        read_document(path)
    message = str(info.value)
    assert "là tệp Word 97-2003 (.doc)" in message
    assert "apt-get install libreoffice-writer-nogui" in message
    assert "lưu lại dưới dạng .docx" in message


def test_a_damaged_doc_is_one_clear_line(tmp_path: Path) -> None:
    need("soffice", "libreoffice-writer-nogui")
    path = tmp_path / "broken.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(ReadError, match="LibreOffice không chuyển được tệp"):
        read_document(path)


# --- the pieces -----------------------------------------------------------------------------


def lines_image(angle: float) -> Image.Image:
    """Lines of black bars (text-like rows), rotated by ``angle`` degrees."""
    page = Image.new("L", (1200, 1600), 255)
    draw = ImageDraw.Draw(page)
    for row in range(20):
        y = 150 + row * 60
        for x in range(100, 1050, 90):
            draw.rectangle((x, y, x + 70, y + 20), fill=0)
    return page.rotate(angle, Image.Resampling.BICUBIC, fillcolor=255)


@pytest.mark.parametrize("angle", [-3.0, -0.6, 0.0, 1.5, 4.0])
def test_skew_is_measured_and_undone(angle: float) -> None:
    assert ocr.skew_angle(lines_image(angle)) == pytest.approx(-angle, abs=0.15)
    assert abs(ocr.skew_angle(ocr.deskew(lines_image(angle)))) <= 0.15


def test_the_red_stamp_is_removed_and_the_print_under_it_kept() -> None:
    page = Image.new("RGB", (200, 100), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((20, 40, 180, 60), fill=(15, 15, 15))  # print
    draw.ellipse((60, 10, 140, 90), outline=(205, 40, 45), width=6)  # stamp ring
    grey = ocr._without_red(page)
    assert grey.getpixel((100, 13)) == 255  # the ring, away from the print: paper
    assert grey.getpixel((30, 50)) < 60  # print
    red_over_print = Image.new("RGB", (10, 10), (13, 2, 2))  # print seen through red ink
    assert ocr._without_red(red_over_print).getpixel((5, 5)) < 60


@pytest.mark.parametrize(
    ("raw", "repaired"),
    [
        ("KT CHỦ TỊCH", "KT. CHỦ TỊCH"),
        ("KT, CHỦ TỊCH", "KT. CHỦ TỊCH"),
        ("TM: ỦY BAN NHÂN DÂN", "TM. ỦY BAN NHÂN DÂN"),
        ("Số 6966 /UBND-KTN", "Số: 6966 /UBND-KTN"),
        ("Sô: 1503 /UBND-KTTH", "Số: 1503 /UBND-KTTH"),
        ("S6: 1503/UBND", "Số: 1503/UBND"),
        ("V/W triển khai thực hiện", "V/v triển khai thực hiện"),
        ("V/ triển khai", "V/v triển khai"),
        ("VW triển khai", "V/v triển khai"),
        ("V|v. triển khai", "V/v triển khai"),
        ("V. TỔ CHỨC THỰC HIỆN", "V. TỔ CHỨC THỰC HIỆN"),
        ("~- TT HĐND tỉnh;", "- TT HĐND tỉnh;"),
        ("~ Hàng năm, các cơ quan", "- Hàng năm, các cơ quan"),
        ("— Tăng cường phổ biến", "- Tăng cường phổ biến"),
        (".PHÓ CHỦ TỊCH", "PHÓ CHỦ TỊCH"),
        ("- Lưu: VT, KTN. -", "- Lưu: VT, KTN."),
        ("Nơi nhận:\n' ,\n- Như trên;", "Nơi nhận:\n\n- Như trên;"),
        # a fixed phrase read with a wrong tone mark, in any case
        ("gửi Bộ Kể hoạch và Đầu tư", "gửi Bộ Kế hoạch và Đầu tư"),
        ("SỞ KỂ HOẠCH VÀ ĐẦU TƯ", "SỞ KẾ HOẠCH VÀ ĐẦU TƯ"),
        ("định kỷ hằng năm bảo cáo", "định kỳ hằng năm báo cáo"),
        # words that merely look alike stay as written, and names are never touched
        ("Trần Phước Hiển", "Trần Phước Hiển"),
        ("kế hoạchx", "kế hoạchx"),
        ("Số lượng 5 đơn vị", "Số lượng 5 đơn vị"),
        ("Kế hoạch số 151/KH-", "Kế hoạch số 151/KH-"),
        ("TMĐT tỉnh", "TMĐT tỉnh"),
        # a comma read as a semicolon in a list of named bodies ("các Sở: A, B")
        (
            "gửi các Sở: Kế hoạch và Đầu tư; Tài chính để tổng hợp",
            "gửi các Sở: Kế hoạch và Đầu tư, Tài chính để tổng hợp",
        ),
        (
            "các Sở: Tài chính; Nội vụ; Xây dựng thực hiện",
            "các Sở: Tài chính, Nội vụ, Xây dựng thực hiện",
        ),
        # the author's semicolons stay, whatever case follows
        (
            "đơn vị trực thuộc tỉnh; Chủ tịch UBND các huyện",
            "đơn vị trực thuộc tỉnh; Chủ tịch UBND các huyện",
        ),
        (
            "triển khai thực hiện; định kỳ hàng năm báo cáo",
            "triển khai thực hiện; định kỳ hàng năm báo cáo",
        ),
        (
            "các Sở: Tài chính, Nội vụ; định kỳ hằng năm",
            "các Sở: Tài chính, Nội vụ; định kỳ hằng năm",
        ),
        ("Kính gửi: Sở Xây dựng; Sở Tài chính", "Kính gửi: Sở Xây dựng; Sở Tài chính"),
        # letters read for digits in a date, and a digit split by a speck
        ("Quảng Ngãi, ngày 24 tháng l2 năm 2O24", "Quảng Ngãi, ngày 24 tháng 12 năm 2024"),
        ("Kon Tum, ngày 1 8 tháng 5 năm 2022", "Kon Tum, ngày 18 tháng 5 năm 2022"),
        ("trước ngày 3O/4", "trước ngày 30/4"),
        ("năm nay, ngày lễ, tháng l", "năm nay, ngày lễ, tháng l"),
        ("trong năm 2O2", "trong năm 2O2"),
    ],
)
def test_ocr_damage_is_repaired(raw: str, repaired: str) -> None:
    assert ocr.repair(raw) == repaired


@pytest.mark.parametrize(
    ("line", "more", "joined"),
    [
        (
            "và Kế hoạch số 151/KH-",
            "UBND ngày 22/9/2022",
            "và Kế hoạch số 151/KH-UBND ngày 22/9/2022",
        ),
        ("tham mưu UBND.", "tỉnh xem xét", "tham mưu UBND tỉnh xem xét"),
        ("kết quả thực hiện.", "Yêu cầu", "kết quả thực hiện. Yêu cầu"),
        ("Độc lập - Tự do -", "Hạnh phúc", "Độc lập - Tự do - Hạnh phúc"),
    ],
)
def test_a_printed_line_and_its_continuation_join(line: str, more: str, joined: str) -> None:
    assert ocr._joined(line, more) == joined


def test_notes_say_ocr_read_the_text_and_which_pages_are_doubtful() -> None:
    pages = [ocr.OcrPage(1, 0, 10, 95.0), ocr.OcrPage(2, 11, 20, 61.4), ocr.OcrPage(4, 21, 30, 90)]
    notes = ocr.notes(pages, total=5)
    assert notes[0].startswith("đọc bằng OCR (Tesseract, tiếng Việt): trang 1-2, 4 trong 5 trang")
    assert "độ tin cậy trung bình 82%" in notes[0]
    assert notes[1:] == [
        "trang 2 đọc kém (độ tin cậy 61%, dưới 90%): các nghĩa vụ ở trang này được gắn cờ "
        "cần rà soát"
    ]
    assert ocr.notes([ocr.OcrPage(1, 0, 10, 94.6)], total=1) == [
        "đọc bằng OCR (Tesseract, tiếng Việt): cả văn bản, độ tin cậy trung bình 95%; "
        "đối chiếu tên, số và ngày với bản giấy"
    ]
    assert ocr.notes([], total=3) == []


def test_obligations_on_a_low_confidence_page_are_flagged() -> None:
    text = SEED_6966.read_text(encoding="utf-8")
    parsed = parse_text(text)
    middle = text.index("3. Sở Xây dựng")
    pages = (ocr.OcrPage(1, 0, middle, 95.0), ocr.OcrPage(2, middle, len(text), 55.0))
    ocr.flag_low_confidence(parsed, pages)
    flagged = [c.start >= middle for c, ob in parsed.obligations if ocr.FLAG in ob.flags]
    kept = [c.start < middle for c, ob in parsed.obligations if ocr.FLAG not in ob.flags]
    assert flagged and all(flagged)
    assert kept and all(kept)


def test_a_page_of_tesseract_words_becomes_lines_and_paragraphs() -> None:
    words = [  # (text, left, top, width, height, block, par, line)
        ("ỦY", 100, 100, 40, 20, 1, 1, 1),
        ("BAN", 150, 100, 50, 20, 1, 1, 1),
        ("CỘNG", 700, 100, 60, 20, 1, 1, 1),  # a column gap
        ("Một", 100, 200, 40, 20, 2, 1, 1),  # after a paragraph gap
        ("dòng", 150, 200, 900, 20, 2, 1, 1),  # reaches the right margin
        ("tiếp.", 100, 225, 50, 20, 2, 1, 2),  # so this continues it
        ("-", 100, 250, 10, 20, 2, 1, 3),
        ("gạch", 120, 250, 50, 20, 2, 1, 3),
    ]
    keys = ("text", "left", "top", "width", "height", "block_num", "par_num", "line_num")
    data: dict[str, list[Any]] = {k: [w[i] for w in words] for i, k in enumerate(keys)}
    data["page_num"] = [1] * len(words)
    data["conf"] = [90, 80, 70, 95, 95, 95, 60, 95]
    page = ocr._page_text(data)
    assert page.text == "ỦY BAN    CỘNG\n\nMột dòng tiếp.\n- gạch"
    assert page.words == 8
    assert page.confidence == pytest.approx(85.0)


def test_image_frames_of_a_tiff_are_pages(tmp_path: Path) -> None:
    need_ocr()
    font = ImageFont.truetype(str(font_path()), 40)
    frames = []
    for words in ("Trang một: báo cáo", "Trang hai: hằng năm"):
        frame = Image.new("L", (1400, 400), 255)
        ImageDraw.Draw(frame).text((60, 150), words, font=font, fill=0)
        frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    path = tmp_path / "two.tif"
    path.write_bytes(buffer.getvalue())
    source = read_document(path)
    assert source.format == "image"
    assert [p.number for p in source.ocr_pages] == [1, 2]
    assert "Trang một" in source.text and "hằng năm" in source.text
