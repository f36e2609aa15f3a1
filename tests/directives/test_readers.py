"""Tests of the input readers and the legacy-encoding converter.

Every fixture is generated in ``tmp_path``: DOCX with python-docx, PDF with the tiny
hand-made writer below (standard Helvetica, WinAnsi text), legacy bytes with
``encode_legacy``.
"""

from __future__ import annotations

import io
import os
import random
import unicodedata
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from directives import legacy, ocr
from directives.legacy import convert, detect_legacy, encode_legacy
from directives.readers import DEFAULT_MAX_BYTES, ReadError, SourceText, decode_text, read_document

SENTENCE = (
    "Ủy ban nhân dân tỉnh Kon Tum yêu cầu các sở, ban, ngành định kỳ hằng năm báo cáo "
    "kết quả thực hiện trước ngày 15 tháng 12."
)
CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "documents"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def cp1258(text: str) -> bytes:
    """Windows-1258 bytes as Vietnamese Windows writes them: a base letter (which may
    be â ê ô ơ ư ă đ) then a combining tone mark. Python's encoder has no precomposed
    toned letters and no combining circumflex, so split only the tone off."""
    out = b""
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            tone = [c for c in nfd(ch) if c in "\u0300\u0301\u0303\u0309\u0323"]
            base = unicodedata.normalize("NFC", "".join(c for c in nfd(ch) if c not in tone))
            out += base.encode("cp1258") + "".join(tone).encode("cp1258")
    return out


# --- a minimal PDF writer -----------------------------------------------------------------


def pdf(*pages: bytes) -> bytes:
    """A valid PDF whose pages have the given content streams (font /F1 = Helvetica)."""
    kids = [4 + 2 * i for i in range(len(pages))]
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % k for k in kids), len(pages)),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for kid, stream in zip(kids, pages, strict=True):
        objects[kid] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (kid + 1)
        )
        objects[kid + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n" % (size, xref) + b"%%EOF\n"
    return bytes(out)


def text_page(*lines: str) -> bytes:
    shown = b" T* ".join(b"(%s) Tj" % line.encode("cp1252") for line in lines)
    return b"BT /F1 12 Tf 14 TL 72 770 Td " + shown + b" ET"


RECTANGLE = b"0 0 1 rg 100 100 200 300 re f"  # a drawing, no text: what a scan looks like


def test_the_pdf_writer_makes_pdfs_pypdf_reads() -> None:
    reader = PdfReader(io.BytesIO(pdf(text_page("Hello"), RECTANGLE)))
    assert len(reader.pages) == 2
    assert "Hello" in reader.pages[0].extract_text()


# --- plain text ---------------------------------------------------------------------------


def test_utf8(tmp_path: Path) -> None:
    result = read_document(write(tmp_path, "cv.txt", SENTENCE.encode("utf-8")))
    assert result == SourceText(SENTENCE, "text", ())


def test_utf8_with_bom(tmp_path: Path) -> None:
    result = read_document(write(tmp_path, "cv.txt", b"\xef\xbb\xbf" + SENTENCE.encode()))
    assert result.text == SENTENCE


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom(tmp_path: Path, codec: str) -> None:
    data = SENTENCE.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    assert read_document(write(tmp_path, "cv.txt", data)).text == SENTENCE


def test_utf16_without_bom() -> None:
    result = decode_text(SENTENCE.encode("utf-16-le"))
    assert result.text == SENTENCE
    assert any("UTF-16" in note for note in result.notes)


def test_cp1258_helper_round_trips() -> None:
    data = cp1258(SENTENCE)
    assert unicodedata.normalize("NFC", data.decode("cp1258")) == SENTENCE
    assert b"\xd2" in data  # the hook of "Ủy" as a combining mark, as Windows writes it


def test_cp1258(tmp_path: Path) -> None:
    result = read_document(write(tmp_path, "cv.txt", cp1258(SENTENCE)))
    assert result.text == SENTENCE  # composed back to NFC
    assert any("Windows-1258" in note for note in result.notes)


def test_windows_1252_french() -> None:
    result = decode_text("Hôtel à côté, déjà vu".encode("cp1252"))
    assert result.text == "Hôtel à côté, déjà vu"
    assert not any("bảng mã cũ" in note for note in result.notes)


def test_nfd_input_comes_back_nfc(tmp_path: Path) -> None:
    result = read_document(write(tmp_path, "cv.txt", nfd(SENTENCE).encode()))
    assert nfd(SENTENCE) != SENTENCE
    assert result.text == SENTENCE


def test_newlines_normalised() -> None:
    assert decode_text(b"a\r\nb\rc\nd\x0ce").text == "a\nb\nc\nd\ne"


def test_markdown_by_extension(tmp_path: Path) -> None:
    result = read_document(write(tmp_path, "cv.md", b"# Ti\xc3\xaau \xc4\x91\xe1\xbb\x81\n"))
    assert result.format == "markdown"
    assert result.text == "# Tiêu đề\n"


def test_text_by_content_not_extension(tmp_path: Path) -> None:
    result = read_document(write(tmp_path, "cv.pdf", SENTENCE.encode()))
    assert (result.format, result.text) == ("text", SENTENCE)
    assert "tệp có đuôi .pdf nhưng nội dung là văn bản thuần; đã đọc như tệp văn bản thuần" in (
        result.notes
    )


# --- DOCX ---------------------------------------------------------------------------------

HEADER = [
    (
        "ỦY BAN NHÂN DÂN\nTỈNH KON TUM",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc",
    ),
    ("Số: 1503/UBND-KTTH\nV/v báo cáo kết quả", "Kon Tum, ngày 25 tháng 4 năm 2022"),
]
BODY = [
    "Kính gửi: Các sở, ban, ngành thuộc tỉnh.",
    SENTENCE,
    "1. Sở Tài chính tổng hợp, báo cáo Ủy ban nhân dân tỉnh trước ngày 20 hằng tháng.",
]


def make_docx(path: Path) -> Path:
    document = docx.Document()
    table = document.add_table(rows=len(HEADER), cols=2)
    for r, row in enumerate(HEADER):
        for c, cell_text in enumerate(row):
            first, *rest = cell_text.split("\n")
            cell = table.cell(r, c)
            cell.paragraphs[0].text = first
            for line in rest:  # each line its own paragraph, as in real headers
                cell.add_paragraph(line)
    for line in BODY:
        document.add_paragraph(line)
    document.save(str(path))
    return path


def test_docx_header_table_then_paragraphs(tmp_path: Path) -> None:
    result = read_document(make_docx(tmp_path / "cv.docx"))
    expected = [line for row in HEADER for cell in row for line in cell.split("\n")] + BODY
    assert result.format == "docx"
    assert result.text.split("\n") == expected
    assert result.notes == ()


def test_docx_automatic_numbering(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Các sở báo cáo hằng quý.", style="List Number")
    document.add_paragraph("Ủy ban nhân dân huyện báo cáo hằng năm.", style="List Number")
    document.add_paragraph("Gửi qua hệ thống.", style="List Bullet")
    document.save(str(tmp_path / "list.docx"))
    lines = read_document(tmp_path / "list.docx").text.split("\n")
    assert lines == [
        "1. Các sở báo cáo hằng quý.",
        "2. Ủy ban nhân dân huyện báo cáo hằng năm.",
        "- Gửi qua hệ thống.",
    ]


def test_docx_by_content_whatever_its_name(tmp_path: Path) -> None:
    result = read_document(make_docx(tmp_path / "cv.txt"))
    assert result.format == "docx"
    assert any("tệp có đuôi .txt nhưng nội dung là Word (.docx)" in n for n in result.notes)


def test_docx_without_text(tmp_path: Path) -> None:
    docx.Document().save(str(tmp_path / "blank.docx"))
    with pytest.raises(ReadError, match="tệp rỗng"):
        read_document(tmp_path / "blank.docx")


def test_corrupt_docx_zip_garbage(tmp_path: Path) -> None:
    path = write(tmp_path, "cv.docx", b"PK\x03\x04" + random.Random(1).randbytes(500))
    with pytest.raises(ReadError, match="là tài liệu Word bị hỏng"):
        read_document(path)


def test_corrupt_docx_bad_xml(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("word/document.xml", "<w:document><w:body><w:p>")
    path = write(tmp_path, "cv.docx", buffer.getvalue())
    with pytest.raises(ReadError, match="là tài liệu Word bị hỏng"):
        read_document(path)


def test_zip_that_is_not_docx(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ReadError, match="là tệp nén ZIP, không phải tài liệu Word"):
        read_document(write(tmp_path, "cv.zip", buffer.getvalue()))


def test_legacy_doc(tmp_path: Path) -> None:
    path = write(tmp_path, "cv.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(ReadError, match=r"lưu lại dưới dạng \.docx"):
        read_document(path)


def test_encrypted_docx_is_ole2_too(tmp_path: Path) -> None:
    path = write(tmp_path, "cv.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(ReadError, match="có đặt mật khẩu"):
        read_document(path)


# --- PDF ----------------------------------------------------------------------------------


def test_pdf_text_layer(tmp_path: Path) -> None:
    data = pdf(
        text_page("CONG VAN 1503/UBND-KTTH", "Report every quarter."),
        text_page("Page two: send by 15 December."),
    )
    result = read_document(write(tmp_path, "cv.pdf", data))
    assert result.format == "pdf"
    assert result.text.split("\n") == [
        "CONG VAN 1503/UBND-KTTH",
        "Report every quarter.",
        "Page two: send by 15 December.",
    ]
    assert result.notes == ()


def test_pdf_by_content_whatever_its_name(tmp_path: Path) -> None:
    result = read_document(write(tmp_path, "cv.txt", pdf(text_page("Hello"))))
    assert (result.format, result.text) == ("pdf", "Hello")


def test_scanned_pdf_without_tesseract_names_the_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on it
    path = write(tmp_path, "scan.pdf", pdf(RECTANGLE, RECTANGLE))
    with pytest.raises(ReadError, match="không có lớp chữ") as info:
        read_document(path)
    assert "cần OCR để đọc" in str(info.value)
    assert "apt-get install tesseract-ocr tesseract-ocr-vie" in str(info.value)


def test_a_pdf_of_pictures_without_words_says_so(tmp_path: Path) -> None:
    if not ocr.tesseract_status().found:
        pytest.skip(ocr.tesseract_status().detail)
    path = write(tmp_path, "scan.pdf", pdf(RECTANGLE, RECTANGLE))
    with pytest.raises(ReadError, match="OCR không tìm thấy chữ nào"):
        read_document(path)


def test_partly_scanned_pdf_says_which_pages(tmp_path: Path) -> None:
    result = read_document(write(tmp_path, "cv.pdf", pdf(text_page("Hello"), RECTANGLE)))
    assert result.text.strip() == "Hello"
    # "trang 2 không có lớp chữ …" without Tesseract, "… không có chữ, kể cả khi đọc bằng OCR" with it
    assert any(note.startswith("trang 2 không có") for note in result.notes), result.notes


def encrypted(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_password_protected_pdf(tmp_path: Path) -> None:
    path = write(tmp_path, "cv.pdf", encrypted(pdf(text_page("Secret")), "s3cret"))
    with pytest.raises(ReadError, match="là tệp PDF có mật khẩu"):
        read_document(path)


def test_pdf_restricted_but_openable(tmp_path: Path) -> None:
    # Encrypted with an empty user password: anyone may open it, only edits are barred.
    path = write(tmp_path, "cv.pdf", encrypted(pdf(text_page("Open")), ""))
    assert read_document(path).text == "Open"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n" + random.Random(2).randbytes(400),
        pdf(text_page("Hello"))[:200],  # truncated
    ],
)
def test_corrupt_pdf(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(ReadError, match="PDF"):
        read_document(write(tmp_path, "cv.pdf", data))


# --- files we refuse ----------------------------------------------------------------------


def test_random_binary(tmp_path: Path) -> None:
    path = write(tmp_path, "blob.txt", random.Random(3).randbytes(4096))
    with pytest.raises(ReadError, match="là tệp nhị phân, không phải văn bản"):
        read_document(path)


def test_damaged_png_image(tmp_path: Path) -> None:
    if not ocr.tesseract_status().found:
        pytest.skip(ocr.tesseract_status().detail)
    path = write(tmp_path, "scan.png", b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ReadError, match="là ảnh bị hỏng hoặc không hỗ trợ"):
        read_document(path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"là tệp rỗng \(0 byte\)"):
        read_document(write(tmp_path, "cv.txt", b""))


def test_whitespace_only_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="chỉ có khoảng trắng"):
        read_document(write(tmp_path, "cv.txt", b" \r\n\t \n"))
    with pytest.raises(ReadError, match="chỉ có khoảng trắng"):
        decode_text("  \n".encode("utf-16"))


def test_size_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "big.txt", b"x" * 3000)

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened before its size was checked")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(ReadError) as info:
        read_document(path, max_bytes=1000)
    message = str(info.value)
    assert "MB" in message
    assert "3000 byte" in message
    assert "1000 byte" in message
    assert "--max-mb" in message


def test_size_message_in_megabytes(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", b"x" * (3 * 1024 * 1024))
    with pytest.raises(ReadError, match=r"3,0 MB, vượt giới hạn 2,0 MB.*--max-mb 4"):
        read_document(path, max_bytes=2 * 1024 * 1024)
    assert DEFAULT_MAX_BYTES == 32 * 1024 * 1024


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="là một thư mục, không phải tệp"):
        read_document(tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="không có tệp này"):
        read_document(tmp_path / "nope.txt")


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "cv.txt", SENTENCE.encode())

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(ReadError, match="không có quyền đọc tệp"):
        read_document(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_not_a_regular_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ReadError, match="không phải tệp thông thường"):
        read_document(tmp_path / "pipe")


# --- legacy encodings ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_legacy_file_converted(tmp_path: Path, encoding: str) -> None:
    data = encode_legacy(SENTENCE, encoding)
    assert data.isascii() is False and b"\xc3" not in data[:2]  # really 8-bit, not UTF-8
    result = read_document(write(tmp_path, "cv.txt", data))
    assert result.text == SENTENCE
    label = legacy.NAMES[encoding]
    assert result.notes == (
        f"đã chuyển từ bảng mã cũ {label} sang Unicode; hãy kiểm tra lại kết quả",
    )


def test_legacy_byte_forms_match_the_published_tables() -> None:
    # TCVN3: one byte a letter (UniKey vnconv, HRM ConvertVNI); capitals with a tone
    # share the lowercase byte.
    assert encode_legacy("ủy ban nhân dân", "tcvn3") == b"\xf1y ban nh\xa9n d\xa9n"
    assert encode_legacy("Ủđươ", "tcvn3") == b"\xf1\xae\xad\xac"
    assert encode_legacy("ĂÂÊÔƠƯĐ", "tcvn3") == bytes(range(0xA1, 0xA8))
    # VNI: base letter then mark, capitals take the capital marks (UniKey, xvnkb).
    assert encode_legacy("Ủy ban nhân dân", "vni") == b"U\xdby ban nha\xe2n da\xe2n"
    assert encode_legacy("Việt Nam", "vni") == b"Vie\xe4t Nam"
    assert encode_legacy("đỉnh ỵ ướt", "vni") == b"\xf1\xe6nh \xee \xf6\xf4\xf9t"


def test_every_tcvn3_byte() -> None:
    # The byte of each letter, in the order of the TCVN3 -> Unicode table of
    # backupvietsoft/HRM (ConvertVNI), which agrees with UniKey's.
    letters = "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĂÂĐÊÔƠƯ"
    codes = (
        "b5 b8 b6 b7 b9 a8 bb be bc bd c6 a9 c7 ca c8 c9 cb ae cc d0 ce cf d1 aa d2 d5 d3 d4 "
        "d6 d7 dd d8 dc de df e3 e1 e2 e4 ab e5 e8 e6 e7 e9 ac ea ed eb ec ee ef f3 f1 f2 f4 "
        "ad f5 f8 f6 f7 f9 fa fd fb fc fe a1 a2 a7 a3 a4 a5 a6"
    )
    assert encode_legacy(letters, "tcvn3") == bytes.fromhex(codes)
    assert convert(bytes.fromhex(codes), "tcvn3", restore_case=False) == letters


def test_every_vni_mark() -> None:
    # VNI-Windows as in UniKey's DoubleByteTables: marks after the base letter.
    small = "a á à ả ã ạ â ấ ầ ẩ ẫ ậ ă ắ ằ ẳ ẵ ặ"
    small_bytes = (
        "61 61f9 61f8 61fb 61f5 61ef 61e2 61e1 61e0 61e5 61e3 61e4 61ea 61e9 61e8 61fa 61fc 61eb"
    )
    capital_bytes = (
        "41 41d9 41d8 41db 41d5 41cf 41c2 41c1 41c0 41c5 41c3 41c4 41ca 41c9 41c8 41da 41dc 41cb"
    )
    for letters, codes in ((small, small_bytes), (small.upper(), capital_bytes)):
        for letter, code in zip(letters.split(), codes.split(), strict=True):
            assert encode_legacy(letter, "vni") == bytes.fromhex(code), letter
            assert convert(bytes.fromhex(code), "vni") == letter
    singles = {"í": "ed", "ì": "ec", "ỉ": "e6", "ĩ": "f3", "ị": "f2", "ỵ": "ee", "đ": "f1"}
    for letter, code in (singles | {"ơ": "f4", "ư": "f6", "Ị": "d2", "Đ": "d1", "Ư": "d6"}).items():
        assert encode_legacy(letter, "vni") == bytes.fromhex(code), letter


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        # Samples published with converters (duydev/vietnamese-conversion, HRM, a JS one).
        ("Xin chaøo caùc baïn", "vni", "Xin chào các bạn"),
        ("Vieät Nam", "vni", "Việt Nam"),
        ("Uûy ban nhaân daân", "vni", "Ủy ban nhân dân"),  # capital base, small mark
        ("B¶o Th¾ng", "tcvn3", "Bảo Thắng"),
        ("M\xadêng Kh\xad\xacng", "tcvn3", "Mường Khương"),  # ư is the soft hyphen byte
        ("B¸t X¸t", "tcvn3", "Bát Xát"),
        ("Ninh B×nh", "tcvn3", "Ninh Bình"),
        ("Dïng \x93ngoÆc\x94 k\xd8p", "tcvn3", "Dùng “ngoặc” kỉp"),  # free bytes stay cp1252
    ],
)
def test_convert_known_samples(data: str, encoding: str, expected: str) -> None:
    assert convert(data, encoding) == expected
    assert convert(data.encode("latin-1"), encoding) == expected  # as raw bytes


def test_tcvn3_capitals_restored_from_context() -> None:
    text = "\n".join(
        [
            "ỦY BAN NHÂN DÂN",
            "TỈNH KON TUM",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Số: 1503/UBND-KTTH",
            "CỔNG THÔNG TIN ĐIỆN TỬ CHÍNH PHỦ",
            "Ủy ban nhân dân tỉnh giao Bộ LĐTBXH. Ở mỗi huyện, giao Ủy ban nhân dân huyện.",
        ]
    )
    assert convert(encode_legacy(text, "tcvn3"), "tcvn3") == text
    assert convert(encode_legacy(text, "tcvn3"), "tcvn3", restore_case=False) != text


def test_legacy_mojibake_saved_as_utf8(tmp_path: Path) -> None:
    # A TCVN3 file once opened as Windows-1252 and saved as UTF-8.
    mojibake = encode_legacy(SENTENCE, "tcvn3").decode("cp1252").encode("utf-8")
    result = read_document(write(tmp_path, "cv.txt", mojibake))
    assert result.text == SENTENCE
    assert any("TCVN3" in note for note in result.notes)


def test_legacy_text_inside_a_docx(tmp_path: Path) -> None:
    # A document typed in the .VnTime font: the characters are the TCVN3 bytes.
    document = docx.Document()
    document.add_paragraph(encode_legacy(SENTENCE, "tcvn3").decode("cp1252"))
    document.save(str(tmp_path / "old.docx"))
    result = read_document(tmp_path / "old.docx")
    assert result.text == SENTENCE
    assert any("TCVN3" in note for note in result.notes)


def test_legacy_text_layer_of_a_pdf(tmp_path: Path) -> None:
    # A PDF printed from a .VnTime document extracts as TCVN3 bytes in WinAnsi.
    page = text_page(encode_legacy(SENTENCE, "tcvn3").decode("cp1252"))
    result = read_document(write(tmp_path, "old.pdf", pdf(page)))
    assert result.text == SENTENCE
    assert any("TCVN3" in note for note in result.notes)


def test_utf8_with_a_broken_byte_stays_utf8() -> None:
    result = decode_text(SENTENCE.encode() + b" \xff")
    assert result.text == SENTENCE + " \ufffd"
    assert any("1 chỗ có byte không hợp lệ trong UTF-8" in note for note in result.notes)


def test_legacy_but_poor_conversion_is_refused(tmp_path: Path) -> None:
    # Dense TCVN3 sign bytes, but the words they make are not Vietnamese.
    data = b"Gr\xa9x qu\xb8b zy\xb5t kr\xa8m \xaebr pl\xbbw. " * 10
    with pytest.raises(ReadError, match=r"TCVN3 \(ABC\).*UniKey") as info:
        read_document(write(tmp_path, "old.txt", data))
    assert "old.txt" in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        SENTENCE,
        SENTENCE.encode("utf-8"),
        nfd(SENTENCE),
        "Each department reports the results every year before 15 December.",
        "Hôtel à côté, déjà vu".encode("cp1252"),
        "Hôtel à côté, déjà vu. Le garçon était très fâché; où est la clé? " * 5,
        ("Hôtel à côté, déjà vu. Le garçon était très fâché; où est la clé? " * 5).encode("cp1252"),
        "Straße, Größe, Übung, schön, für, Mädchen, Ärger. " * 5,
        cp1258(SENTENCE),
        cp1258(SENTENCE * 5),
    ],
)
def test_not_legacy(data: str | bytes) -> None:
    assert detect_legacy(data) is None


def test_detects_both_encodings() -> None:
    assert detect_legacy(encode_legacy(SENTENCE, "tcvn3")) == "tcvn3"
    assert detect_legacy(encode_legacy(SENTENCE, "vni")) == "vni"
    assert detect_legacy(encode_legacy(SENTENCE, "vni").decode("cp1252")) == "vni"


def test_encode_legacy_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="cannot represent"):
        encode_legacy("báo cáo ▪", "vni")
    with pytest.raises(ValueError, match="unknown legacy encoding"):
        encode_legacy("a", "viscii")


_TONED = [
    unicodedata.normalize("NFC", base + tone)
    for base in "aăâeêioôơuưy"
    for tone in ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
]
LOWER = "".join(_TONED) + "đbcdghklmnpqrstvx"
# TCVN3 has no capitals with a tone mark; everything else both encodings write.
TCVN3_ALPHABET = LOWER + "ĂÂĐÊÔƠƯ" + "ABCDEGHIKLMNOPQRSTUVXY" + " ,.0123456789"
VNI_ALPHABET = LOWER + LOWER.upper() + " ,.0123456789"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=TCVN3_ALPHABET, max_size=60), st.text(alphabet=VNI_ALPHABET, max_size=60))
def test_encode_then_convert_round_trips(tcvn3_text: str, vni_text: str) -> None:
    assert convert(encode_legacy(tcvn3_text, "tcvn3"), "tcvn3", restore_case=False) == tcvn3_text
    assert convert(encode_legacy(vni_text, "vni"), "vni") == vni_text


def corpus_documents() -> list[Path]:
    return sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not corpus_documents(), reason="no corpus documents")
def test_corpus_never_mistaken_and_legacy_copies_recovered() -> None:
    for path in corpus_documents():
        text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))[:20_000]
        assert detect_legacy(text) is None, path.name
        assert detect_legacy(text.encode("utf-8")) is None, path.name
        try:
            vni, tcvn3 = encode_legacy(text, "vni"), encode_legacy(text, "tcvn3")
        except ValueError:
            continue  # a symbol the legacy fonts lack
        assert detect_legacy(vni) == "vni", path.name
        assert convert(vni, "vni") == text.replace("\x85", "…"), path.name
        assert detect_legacy(tcvn3) == "tcvn3", path.name
        assert convert(tcvn3, "tcvn3").lower() == text.replace("\x85", "…").lower(), path.name


def test_unforeseen_failures_become_read_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from directives import readers

    def boom(*args: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(readers, "_sniff", boom)
    with pytest.raises(ReadError, match="RuntimeError: boom"):
        read_document(write(tmp_path, "cv.txt", SENTENCE.encode()))
    monkeypatch.setattr(readers, "_decode", boom)
    with pytest.raises(ReadError, match="RuntimeError: boom"):
        decode_text(SENTENCE.encode())
