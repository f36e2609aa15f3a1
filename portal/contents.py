"""What is inside an upload, read without extracting or running anything.

**ZIP archives and Office packages.** Only the central directory is read (names, sizes
as declared): an archive with more than ``ContentLimits.zip_members`` entries, or whose
members would unpack to more than ``ContentLimits.zip_total`` bytes (the declared sizes
and any single member's compression ratio past ``_MAX_RATIO``: a bomb), is refused. In a
plain archive every name must be a relative path without ``..``, drive letters,
backslashes or control characters, and every file a document type (``DOCUMENT_TYPES``:
no programs, scripts, web pages or nested archives). An Office package (it has a
``[Content_Types].xml``) is refused when it holds a ``vbaProject.bin`` part: a macro
workbook or document renamed ``.xlsx``/``.docx`` still carries one.

**PDF.** The raw bytes, and every Flate-compressed stream inflated up to a bound, are
searched for the name tokens of active content — ``/JavaScript``, ``/JS``,
``/Launch``, ``/SubmitForm``, ``/ImportData``, ``/RichMedia`` — after undoing the
``#xx`` escapes that hide them (``/J#61vaScript``); and the raw bytes for HTML markup
(``<script``, ``<html``, ``<iframe``…), which makes a PDF/HTML polyglot. Such a file
is refused: a report has no business running code in the reader's viewer.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

MB = 1024 * 1024
DOCUMENT_TYPES = frozenset(
    {
        *("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf"),
        *("txt", "csv"),
        *("jpg", "jpeg", "png", "tif", "tiff", "gif", "bmp", "webp"),  # scans
    }
)
_MAX_RATIO = 200  # a deflated document rarely shrinks 20x; 200x is a bomb's mark
_INFLATE_LIMIT = 64 * MB  # inflated bytes searched per PDF, all streams together
_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|SubmitForm|ImportData|RichMedia)(?![A-Za-z0-9])")
_HTML = re.compile(rb"<\s*(script|html|iframe|object|embed|svg|body|meta)[\s>/]", re.IGNORECASE)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n")


@dataclass(frozen=True, slots=True)
class ContentLimits:
    zip_members: int = 1000
    zip_total: int = 200 * MB  # declared uncompressed bytes of all members together


class Refused(ValueError):
    """The content is not acceptable; ``code`` a short key, ``args[0]`` the reason
    (Vietnamese, completed with the file's name by the caller)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# --- ZIP ------------------------------------------------------------------------------------


def check_archive(archive: zipfile.ZipFile, limits: ContentLimits, *, package: bool) -> None:
    """``Refused`` for an archive (``package``: an Office package) we will not keep."""
    members = archive.infolist()
    if len(members) > limits.zip_members:
        raise Refused(
            "zip-members",
            f"có {len(members)} mục, quá giới hạn {limits.zip_members} mục cho một tệp nén",
        )
    total = 0
    for info in members:
        total += info.file_size
        ratio_bomb = info.compress_size and info.file_size > _MAX_RATIO * info.compress_size
        if total > limits.zip_total or (ratio_bomb and info.file_size > MB):
            raise Refused(
                "zip-size",
                f"khi giải nén vượt quá {limits.zip_total // MB} MB (hoặc là tệp nén bất thường)",
            )
        if package:
            if PurePosixPath(info.filename).name.lower() == "vbaproject.bin":
                raise Refused(
                    "macro",
                    "có chứa macro (VBA). Đề nghị lưu lại thành tệp không có macro "
                    "(.docx, .xlsx) hoặc .pdf",
                )
            continue
        _check_member(info)


def _check_member(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = name.rstrip("/").split("/")
    unsafe = (
        not name
        or name.startswith("/")
        or "\\" in name
        or ":" in parts[0]
        or any(p in ("", ".", "..") for p in parts)
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    )
    if unsafe:
        raise Refused("zip-name", f"có mục mang tên không hợp lệ ({_shown(name)})")
    if info.is_dir():
        return
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    if suffix not in DOCUMENT_TYPES:
        raise Refused(
            "zip-type",
            f"có tệp không phải tài liệu ({_shown(name)}); tệp nén chỉ được chứa tài liệu "
            "(PDF, Word, Excel, ảnh quét, CSV, văn bản)",
        )


def _shown(name: str) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in name)
    return clean if len(clean) <= 60 else clean[:57] + "…"


# --- PDF ------------------------------------------------------------------------------------


def check_pdf(content: IO[bytes]) -> None:
    """``Refused`` for a PDF with active content or HTML markup (see the module). The
    file is read whole: the upload limit bounds it, and a stream may be anywhere."""
    content.seek(0)
    data = content.read()
    _scan(data, html=True)
    _scan_streams(data)


def _scan(data: bytes, *, html: bool) -> None:
    if _ACTIVE.search(_NAME_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), data)):
        raise Refused("pdf-active", "có mã lệnh tự chạy (JavaScript hoặc lệnh mở chương trình)")
    if html and _HTML.search(data):
        raise Refused("pdf-html", "có chứa mã trang web (HTML) bên trong")


def _scan_streams(data: bytes) -> None:
    """Inflate what follows each ``stream`` keyword (Flate or not: zlib gives up at once
    on anything else) and scan it, up to ``_INFLATE_LIMIT`` inflated bytes in all."""
    view = memoryview(data)  # slices without copying
    inflated = 0
    for found in _STREAM.finditer(data):
        if inflated >= _INFLATE_LIMIT:
            return
        try:
            out = zlib.decompressobj().decompress(view[found.end() :], _INFLATE_LIMIT - inflated)
        except zlib.error:
            continue
        inflated += len(out)
        _scan(out, html=False)
