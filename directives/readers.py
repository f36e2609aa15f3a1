"""Input readers: a directive file (plain text, Markdown, DOCX, PDF, a scan or photo,
a legacy .doc) to NFC text.

No network. The format is told by the file's content (magic bytes), not only by its
name: archives hold misnamed files. Scanned pages (a PDF page without a text layer, a
JPEG/PNG/TIFF photo) are read by OCR (``directives.ocr``); a Word 97-2003 .doc is
converted by LibreOffice (``directives.office``). Every failure the user can act on
(a missing file, a missing tool, a password, a binary) becomes a ``ReadError`` whose
message says, in Vietnamese, what happened and what to do; no other exception escapes
``read_document``. The notes, too, are Vietnamese: ``parse`` and the ingest review show
them to the administrator as they are.

Why over 600 lines: each input format's refusals are its own short paragraph of
clear messages; the formats share the size checks, the decoding and the notes.
"""

from __future__ import annotations

import io
import logging
import re
import stat
import warnings
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from directives import legacy, ocr, office, wordml
from directives.text import nfc


class ReadError(Exception):
    """A file we cannot read, with a message for the administrator that says what
    happened and what to do: one Vietnamese line that keeps file names and technical
    tokens (.docx, UTF-8, apt-get …) as they are."""


@dataclass(frozen=True, slots=True)
class SourceText:
    text: str  # NFC-normalised Unicode text; newlines normalised to \n
    format: str  # "text" | "markdown" | "docx" | "pdf" | "image" | "doc"
    notes: tuple[str, ...] = ()  # Vietnamese, e.g. "đã chuyển từ bảng mã cũ TCVN3 (ABC) …"
    ocr_pages: tuple[ocr.OcrPage, ...] = ()  # the pages OCR read, with their confidence


DEFAULT_MAX_BYTES = 32 * 1024 * 1024
_MB = 1024 * 1024
_FORMATS = "tệp .txt, .md, .docx, .doc, .pdf hoặc bản scan (.jpg, .png, .tif)"
_GIVE = f"hãy dùng {_FORMATS}"
_KIND_VI = {
    "pdf": "PDF",
    "docx": "Word (.docx)",
    "doc": "Word 97-2003 (.doc)",
    "image": "ảnh",
    "text": "văn bản thuần",
}
_MARKDOWN = (".md", ".markdown")

# --- the file ------------------------------------------------------------------------


def read_document(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceText:
    """Read the directive at ``path``; raise ``ReadError`` if it cannot be read."""
    try:
        return _read_document(Path(path), max_bytes)
    except ReadError:
        raise
    except Exception as exc:  # a failure nobody foresaw: still a message, not a traceback
        raise ReadError(_unexpected(str(path), exc)) from exc


def _unexpected(name: str, exc: Exception) -> str:
    return (
        f"{name}: không đọc được do lỗi ngoài dự kiến ({type(exc).__name__}: {exc}); "
        "hãy gửi tệp này kèm thông báo lỗi cho bộ phận kỹ thuật"
    )


def _read_document(path: Path, max_bytes: int) -> SourceText:
    data = _read_bytes(path, max_bytes)
    name = str(path)
    kind = _sniff(data, path)
    if kind in ("pdf", "image"):
        pages, notes = _pdf_pages(data, name) if kind == "pdf" else _image_pages(data, name)
        return _paged(pages, kind, [*_misnamed(path, kind), *notes], name)
    if kind == "docx":
        text, notes = _docx_text(data, name, max_bytes), []
    elif kind == "doc":
        text, notes = _doc_text(data, name, max_bytes)
    else:
        source = _decode_text(data, name)
        fmt = "markdown" if path.suffix.lower() in _MARKDOWN else "text"
        return replace(source, format=fmt, notes=(*_misnamed(path, "text"), *source.notes))
    return _finish(text, kind, [*_misnamed(path, kind), *notes], name)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; its size is checked with stat() before anything is read."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ReadError(f"{path}: không có tệp này; hãy kiểm tra lại đường dẫn") from None
    except OSError as exc:
        raise ReadError(f"{path}: không mở được tệp ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ReadError(f"{path} là một thư mục, không phải tệp: {_GIVE}")
    if not stat.S_ISREG(info.st_mode):
        raise ReadError(f"{path} không phải tệp thông thường: {_GIVE}")
    _check_size(path, info.st_size, max_bytes)
    if info.st_size == 0:
        raise ReadError(f"{path} là tệp rỗng (0 byte): hãy kiểm tra đã chọn đúng tệp chưa")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except PermissionError:
        raise ReadError(
            f"{path}: không có quyền đọc tệp; hãy kiểm tra quyền truy cập của tệp"
        ) from None
    except OSError as exc:
        raise ReadError(f"{path}: không đọc được tệp ({exc.strerror or exc})") from None
    _check_size(path, len(data), max_bytes)  # it may have grown since stat()
    return data


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        need = -(-size // _MB) + 1
        raise ReadError(
            f"{path} có dung lượng {_mb(size)}, vượt giới hạn {_mb(max_bytes)} cho một văn "
            f"bản. Nếu đúng là một văn bản, hãy nâng giới hạn (ví dụ --max-mb {need})."
        )


def _mb(size: int) -> str:
    shown = f"{size / _MB:.1f} MB".replace(".", ",")  # the Vietnamese decimal comma
    return shown if size >= _MB // 10 else f"{shown} ({size} byte)"


# --- what the bytes are --------------------------------------------------------------
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_IMAGES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM")
# Other binaries need no list: their NUL and control bytes give them away.
_BINARIES = (b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"\x7fELF")


def _sniff(data: bytes, path: Path) -> str:
    """ "pdf", "docx", "doc", "image" or "text"; raises for formats we do not read."""
    name = str(path)
    # Readers accept a PDF header after up to 1 KB of junk; only trust that in a .pdf.
    if data.startswith(b"%PDF-") or (path.suffix.lower() == ".pdf" and b"%PDF-" in data[:1024]):
        return "pdf"
    if data.startswith(_OLE2):
        if path.suffix.lower() in (".docx", ".xlsx", ".pptx", ".xls", ".ppt"):
            raise ReadError(_ole2_message(name, path.suffix.lower()))
        return "doc"
    if data.startswith(_ZIP):
        _check_docx_zip(data, name)
        return "docx"
    if data.startswith(b"{\\rtf"):
        raise ReadError(f"{name} là tài liệu RTF: hãy mở bằng Word và lưu lại dưới dạng .docx")
    if data.startswith(_IMAGES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "image"
    if data.startswith(_BINARIES):
        raise ReadError(_binary_message(name))
    return "text"


def _ole2_message(name: str, suffix: str) -> str:
    if suffix in (".docx", ".xlsx", ".pptx"):  # Office wraps encrypted OOXML in OLE2
        return (
            f"{name} có đặt mật khẩu (đã mã hoá): hãy mở bằng Word, gỡ mật khẩu (File > "
            "Info > Protect Document) rồi lưu lại dưới dạng .docx"
        )
    return f"{name} là tệp Excel hoặc PowerPoint, không phải văn bản: {_GIVE}"


def _binary_message(name: str) -> str:
    return f"{name} là tệp nhị phân, không phải văn bản: {_GIVE}"


def _misnamed(path: Path, kind: str) -> list[str]:
    """A note when the extension says one format and the content another."""
    expected = {
        ".pdf": "pdf", ".docx": "docx", ".doc": "doc", ".txt": "text", ".md": "text",
        ".jpg": "image", ".jpeg": "image", ".png": "image", ".tif": "image", ".tiff": "image",
    }  # fmt: skip
    named = expected.get(path.suffix.lower())
    if named is None or named == kind:
        return []
    said = _KIND_VI[kind]
    return [f"tệp có đuôi {path.suffix} nhưng nội dung là {said}; đã đọc như tệp {said}"]


# --- plain text ------------------------------------------------------------------------


def decode_text(data: bytes) -> SourceText:
    """Decode the raw bytes of a .txt/.md file (format "text")."""
    try:
        return _decode_text(data, "nội dung")
    except ReadError:
        raise
    except Exception as exc:  # as in read_document
        raise ReadError(_unexpected("nội dung", exc)) from exc


def _decode_text(data: bytes, name: str) -> SourceText:
    text, notes = _decode(data, name)
    return _finish(text, "text", notes, name)


def _decode(data: bytes, name: str) -> tuple[str, list[str]]:
    """Bytes to text: BOM, then UTF-8, then the 8-bit encodings Vietnamese files use."""
    bom = _bom_decode(data)
    if bom is not None:
        return bom
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise ReadError(_binary_message(name))
        return utf16, ["đã đọc theo bảng mã UTF-16 (tệp không có dấu BOM)"]
    notes: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text, notes = _mostly_utf8(data)
    if _controls(text) > 0.01 * len(text):
        raise ReadError(_binary_message(name))
    return (text, notes) if text else _decode_8bit(data, name)


def _mostly_utf8(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 with a few broken bytes (a cut-off end, one pasted character) stays UTF-8;
    ("", []) when most non-ASCII bytes are not UTF-8 at all."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad  # non-ASCII characters
    if good < 2 * bad:  # mostly broken: some 8-bit encoding, not UTF-8
        return "", []
    return text, [
        f"đã đọc theo UTF-8; {bad} chỗ có byte không hợp lệ trong UTF-8 đã được thay bằng "
        "ký tự \ufffd: hãy đối chiếu những chỗ đó với bản gốc"
    ]


_BOMS = (  # UTF-32 first: its little-endian BOM starts like UTF-16's
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)


def _bom_decode(data: bytes) -> tuple[str, list[str]] | None:
    """Text that starts with a byte-order mark, which names its encoding."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), []
            except UnicodeDecodeError:
                note = f"một số byte không hợp lệ trong {label} đã được thay bằng ký tự \ufffd"
                return data.decode(codec, errors="replace"), [note]
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM: mostly-ASCII text puts NUL in every other byte."""
    if len(data) % 2:
        return None
    for codec, zeros, other in (
        ("utf-16-le", data[1::2], data[::2]),
        ("utf-16-be", data[::2], data[1::2]),
    ):
        if zeros.count(0) >= 0.5 * len(zeros) and other.count(0) <= 0.01 * len(other):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                return None
            return text if _controls(text) <= 0.01 * len(text) else None
    return None


_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")


def _controls(text: str) -> int:
    """Control characters that never occur in text files (tab, newlines, form feed
    and the DOS end-of-file mark 0x1A do)."""
    return len(_CONTROL.findall(text))


def _decode_8bit(data: bytes, name: str) -> tuple[str, list[str]]:
    """Not UTF-8: a legacy Vietnamese font encoding, Windows-1258, or another code page."""
    guess = legacy.guess_legacy(data)
    if guess is not None:
        return _legacy_text(data, guess, name)
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError:
        text = ""
    if text and legacy.looks_vietnamese(text):
        return text, ["đã đọc theo bảng mã Windows-1258 (bảng mã tiếng Việt của Windows)"]
    if _latin(data):
        # charset-normalizer cannot tell the Latin code pages apart on short text (it
        # reads French as Baltic cp1257): take Windows-1252, the Western code page of
        # Windows machines, when it decodes the bytes.
        try:
            return data.decode("cp1252"), [
                "đã đọc theo bảng mã Windows-1252 (tệp không phải UTF-8)"
            ]
        except UnicodeDecodeError:
            pass
    best = from_bytes(data).best()
    if best is None:
        raise ReadError(_binary_message(name))
    return str(best), [f"đã đọc theo bảng mã {best.encoding} (phỏng đoán: tệp không phải UTF-8)"]


_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HIGH_BYTES = bytes(range(0x80, 0x100))


def _latin(data: bytes) -> bool:
    """Latin-script text: mostly ASCII letters, with a few accented (high) bytes."""
    letters = len(data) - len(data.translate(None, _ASCII_LETTERS))
    return letters >= 1.5 * (len(data) - len(data.translate(None, _HIGH_BYTES)))


def _legacy_text(data: bytes | str, guess: legacy.Guess, name: str) -> tuple[str, list[str]]:
    label = legacy.NAMES[guess.encoding]
    if not guess.convincing:
        raise ReadError(
            f"{name} có vẻ dùng bảng mã cũ {label}, nhưng chuyển sang Unicode thì chữ tiếng "
            "Việt bị sai nhiều. Hãy chuyển mã bằng UniKey (UniKey Toolkit, Ctrl+Shift+F6: "
            f"nguồn {label}, đích Unicode) rồi lưu thành văn bản UTF-8 hoặc .docx"
        )
    return legacy.convert(data, guess.encoding), [
        f"đã chuyển từ bảng mã cũ {label} sang Unicode; hãy kiểm tra lại kết quả"
    ]


# --- the common ending -------------------------------------------------------------------
_NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\u2028\u2029]")
# C1 controls never occur in real text: they are Windows-1252 punctuation ("…", curly
# quotes) that went through a Latin-1 decoder somewhere upstream. Put it back.
_C1 = {b: bytes([b]).decode("cp1252", errors="ignore") for b in range(0x80, 0xA0)}


def _finish(text: str, fmt: str, notes: list[str], name: str) -> SourceText:
    """Normalise newlines, convert text that still holds legacy bytes, NFC, check empty."""
    text = _normalised(text)
    guess = legacy.guess_legacy(text)  # e.g. a PDF printed from a .VnTime document
    if guess is not None:
        text, extra = _legacy_text(text, guess, name)
        notes = [*notes, *extra]
    text = nfc(text)
    if not text.strip():
        raise ReadError(f"{name} là tệp rỗng: chỉ có khoảng trắng, không có chữ")
    return SourceText(text, fmt, tuple(notes))


def _normalised(text: str) -> str:
    """Newlines, control characters and Latin-1-decoded punctuation put right."""
    text = _NEWLINES.sub("\n", text.removeprefix("\ufeff"))
    return _CONTROL.sub("", text).replace("\x1a", "").translate(_C1)


# --- DOCX ---------------------------------------------------------------------------------


def _check_docx_zip(data: bytes, name: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ReadError(_docx_damaged(name, exc)) from None
    if "word/document.xml" in names:
        return
    if "content.xml" in names:
        raise ReadError(
            f"{name} là tệp OpenDocument (.odt): hãy mở bằng LibreOffice và lưu lại dưới dạng .docx"
        )
    raise ReadError(
        f"{name} là tệp nén ZIP, không phải tài liệu Word: hãy giải nén rồi dùng {_FORMATS}"
    )


def _docx_damaged(name: str, exc: BaseException) -> str:
    return (
        f"{name} là tài liệu Word bị hỏng ({_docx_fault(exc)}): hãy mở bằng Word và lưu "
        "lại dưới dạng .docx, hoặc dùng bản PDF"
    )


def _docx_fault(exc: BaseException) -> str:
    """What is wrong, in the user's words: no library class names."""
    if isinstance(exc, zipfile.BadZipFile):
        return f"vỏ nén ZIP bị hỏng: {exc}"
    position = getattr(exc, "position", None)  # lxml's XMLSyntaxError: (line, column)
    if isinstance(position, tuple) and len(position) == 2:
        return f"phần nội dung có lỗi XML ở dòng {position[0]}, cột {position[1]}"
    return "phần nội dung không phải thân tài liệu Word"


def _docx_text(data: bytes, name: str, max_bytes: int) -> str:
    """Paragraphs and table cells in document order, one paragraph a line."""
    import docx  # python-docx, imported here: only DOCX input pays for it

    _check_unpacked_size(data, name, max_bytes)
    try:
        return "\n".join(wordml.paragraph_lines(docx.Document(io.BytesIO(data))))
    except Exception as exc:  # python-docx and lxml raise many types on damaged files
        raise ReadError(_docx_damaged(name, exc)) from None


def _check_unpacked_size(data: bytes, name: str, max_bytes: int) -> None:
    """Refuse ZIP bombs: a real directive unpacks to a few times its size."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > 20 * max_bytes:
        raise ReadError(f"{name} khi giải nén chiếm {_mb(unpacked)}, quá lớn đối với một văn bản")


# --- legacy .doc ---------------------------------------------------------------------------


def _doc_text(data: bytes, name: str, max_bytes: int) -> tuple[str, list[str]]:
    """A Word 97-2003 document, converted to .docx by LibreOffice, then read as one."""
    try:
        converted = office.doc_to_docx(data)
    except office.OfficeError as exc:
        raise ReadError(f"{name} là tệp Word 97-2003 (.doc): {exc}") from None
    return _docx_text(converted, name, max_bytes), [
        "đã chuyển từ tệp Word 97-2003 (.doc) sang .docx bằng LibreOffice"
    ]


# --- PDF and scans ----------------------------------------------------------------------------

# A page is a text layer (confidence None) or what OCR read (its mean word confidence).
_Page = tuple[str, float | None]


def _pdf_pages(data: bytes, name: str) -> tuple[list[_Page], list[str]]:
    """Each page's text layer; pages without one (scanned) are read by OCR."""
    texts, warnings = _pdf_layers(data, name)
    if not texts:
        raise ReadError(
            f"{name} là tệp PDF không có trang nào: hãy dùng bản DOCX hoặc một tệp PDF đầy đủ"
        )
    blank = [n for n, text in enumerate(texts) if not text.strip()]
    if blank and not ocr.tesseract_status().found:
        return [(t, None) for t in texts], [*warnings, _no_ocr(name, blank, len(texts))]
    pages: list[_Page] = [(text, None) for text in texts]
    empty: list[str] = []
    for index in blank:
        try:
            image = ocr.render_pdf_page(data, index)
        except Exception as exc:  # pdfium refuses what pypdf half-read: say which page
            raise ReadError(
                f"{name}: trang {index + 1} không có lớp chữ và không dựng được thành ảnh để "
                f"đọc OCR ({type(exc).__name__}: {exc}); hãy lưu lại tệp PDF hoặc dùng bản DOCX"
            ) from None
        page = _ocr(image, name)
        if page.words:
            pages[index] = (page.text, page.confidence)
        else:
            empty.append(str(index + 1))
    if empty and len(empty) < len(texts):
        warnings.append(f"trang {', '.join(empty)} không có chữ, kể cả khi đọc bằng OCR")
    return pages, warnings


def _pdf_layers(data: bytes, name: str) -> tuple[list[str], list[str]]:
    """The text layer of each page, and what pypdf warned about (a damaged file), as
    notes: pypdf's warnings would otherwise print on the terminal before our output."""
    from pypdf import PdfReader  # imported here: only PDF input pays for it

    with _captured("pypdf") as warnings:
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                _unlock(reader, name)
            texts = _checked([page.extract_text() or "" for page in reader.pages], data)
        except ReadError:
            raise
        except Exception as exc:  # pypdf raises many types on damaged files
            detail = "; ".join(dict.fromkeys([*warnings[:2], str(exc) or type(exc).__name__]))
            raise ReadError(
                f"{name} là tệp PDF bị hỏng hoặc không trọn vẹn ({detail}): hãy dùng bản DOCX, "
                "hoặc lưu lại tệp PDF (ví dụ in lại ra PDF)"
            ) from None
    notes = [f"tệp PDF bị hỏng ({w}); nội dung đọc được có thể thiếu" for w in warnings[:1]]
    return texts, notes


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _captured:
    """Within the block, a library logger's warnings are collected, not printed."""

    def __init__(self, logger: str) -> None:
        self._logger = logging.getLogger(logger)
        self._handler = _Collect()

    def __enter__(self) -> list[str]:
        self._propagate = self._logger.propagate
        self._logger.addHandler(self._handler)
        self._logger.propagate = False
        return self._handler.messages

    def __exit__(self, *_: object) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.propagate = self._propagate


def _checked(texts: list[str], data: bytes) -> list[str]:
    """pypdf's text of each page, or pdfium's where the two disagree on which letters the
    page holds. pypdf keeps the layout the header grammar reads, but misreads some fonts'
    ToUnicode maps (LibreOffice 7.4's Vietnamese: 'Số' as 'Số(', 'QUẢNG' as 'QỦANG');
    pdfium, which draws the page, reads what is printed."""
    import pypdfium2 as pdfium  # imported here: only PDF input pays for it

    try:
        document = pdfium.PdfDocument(data)
    except Exception:  # encrypted, or damaged past what pypdf read: keep pypdf's
        return texts
    try:
        for index, text in enumerate(texts[: len(document)]):
            drawn = _PDFIUM_MARKS.sub("-", document[index].get_textpage().get_text_range())
            drawn = drawn.replace("\r\n", "\n")
            if _letters(drawn) != _letters(text):
                texts[index] = drawn
    finally:
        document.close()
    return texts


_PDFIUM_MARKS = re.compile("[\ufffe\x02]")  # pdfium's mark for a hyphen at a line end


def _letters(text: str) -> list[str]:
    return sorted(c for c in nfc(text) if c.isalnum())


def _no_ocr(name: str, blank: list[int], total: int) -> str:
    """What to do when scanned pages cannot be read here."""
    if len(blank) == total:
        raise ReadError(_needs_ocr(name))
    listed = ", ".join(str(n + 1) for n in blank[:10]) + (" …" if len(blank) > 10 else "")
    return (
        f"trang {listed} không có lớp chữ (bản scan) nên chưa được đọc: "
        f"{ocr.tesseract_status().detail}"
    )


def _needs_ocr(name: str) -> str:
    return (
        f"{name} là bản scan hoặc ảnh chụp (không có lớp chữ): cần OCR để đọc, nhưng "
        f"{ocr.tesseract_status().detail}; hoặc hãy dùng bản DOCX"
    )


def _image_pages(data: bytes, name: str) -> tuple[list[_Page], list[str]]:
    """A photo or scan (JPEG, PNG, TIFF with one or more pages …) read by OCR."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    if not ocr.tesseract_status().found:
        raise ReadError(_needs_ocr(name))
    try:
        with warnings.catch_warnings():  # a big photo warns on stderr; the limit still holds
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ReadError(f"{name} là ảnh bị hỏng hoặc không hỗ trợ ({exc}): {_GIVE}") from None
    except Image.DecompressionBombError:
        raise ReadError(f"{name} là ảnh quá lớn so với một trang văn bản") from None
    return [_ocr_page(frame, name) for frame in frames], []


def _ocr_page(image: Any, name: str) -> _Page:
    page = _ocr(image, name)
    return page.text, page.confidence


def _ocr(image: Any, name: str) -> ocr.PageText:
    try:
        return ocr.read_image(image)
    except ocr.OcrUnavailable as exc:
        raise ReadError(str(exc)) from None
    except RuntimeError as exc:  # pytesseract: Tesseract timed out on the page
        raise ReadError(f"{name}: OCR bỏ dở một trang ({exc}); hãy thử bản scan rõ hơn") from None


def _paged(pages: list[_Page], fmt: str, notes: list[str], name: str) -> SourceText:
    """Pages joined with a newline; the OCR'd ones keep their span and confidence."""
    texts = [nfc(_normalised(text)) for text, _ in pages]
    spans: list[ocr.OcrPage] = []
    at = 0
    for number, (text, (_, confidence)) in enumerate(zip(texts, pages, strict=True), 1):
        if confidence is not None:
            spans.append(ocr.OcrPage(number, at, at + len(text), confidence))
        at += len(text) + 1
    if all(not text.strip() for text in texts):  # OCR ran (_no_ocr raises when it cannot)
        raise ReadError(
            f"{name} không có lớp chữ và OCR không tìm thấy chữ nào: có phải trang trắng "
            "hoặc hình ảnh? Hãy dùng bản DOCX hoặc bản scan rõ hơn"
        )
    joined = "\n".join(texts)
    source = _finish(joined, fmt, [*notes, *ocr.notes(spans, len(pages))], name)
    if source.text != joined:  # a legacy conversion moved the offsets: no page spans
        return source
    return replace(source, ocr_pages=tuple(spans))


def _unlock(reader: Any, name: str) -> None:
    """Open a PDF encrypted with an empty user password (only edits are restricted)."""
    try:
        opened = reader.decrypt("")
    except Exception:  # an unsupported algorithm, or a damaged encryption dictionary
        opened = 0
    if not opened:
        raise ReadError(
            f"{name} là tệp PDF có mật khẩu (đã mã hoá): hãy mở bằng mật khẩu và lưu một bản "
            "không đặt mật khẩu (ví dụ `qpdf --decrypt --password=... in.pdf out.pdf`), "
            "hoặc dùng bản DOCX"
        )
