"""Uploads as they stream in: the multipart body read chunk by chunk, each file spooled to
a temporary file and hashed on the way, the size limit enforced while reading, the type
told from the bytes.

Why not ``await request.form()``: it reads the whole body before the handler sees any of
it, so a limit could only be checked afterwards, and the CSRF token (a form field) only
after the upload had been taken. Here the body is fed to python-multipart's streaming
parser one chunk at a time; the ``guard`` sees the fields that precede the first file
(the page puts its CSRF token first, and browsers send fields in document order) and
can refuse before a byte of the file is kept; the first chunk past the limit stops the
reading, and the rest of the body is never read.

Types come from the content: ``%PDF-`` for PDF; a ZIP's local header ``PK\\x03\\x04``
for ZIP, DOCX and XLSX, the latter two told apart by the main part that their
``[Content_Types].xml`` declares. The client's file name and content type are ignored
for that; the name is only ever a display name (``display_name``), never a path.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from xml.etree import ElementTree

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from portal.contents import ContentLimits, Refused, check_archive, check_pdf

MB = 1024 * 1024
SPOOL_IN_MEMORY = 1 * MB  # past this a spooled file rolls over to disk
FIELD_LIMIT = 16 * 1024  # bytes of one plain form field
BODY_OVERHEAD = 64 * 1024  # part headers, boundaries and fields beside the files
NAME_LIMIT = 120  # characters of a display name
KINDS = {"pdf": "PDF", "docx": "DOCX", "xlsx": "XLSX", "zip": "ZIP"}

_WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_SHEET_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_CONTENT_TYPES_LIMIT = 256 * 1024  # [Content_Types].xml is a few KB; a bomb is not read


class UploadRejected(Exception):
    """The upload cannot be taken. ``status``: the HTTP status; ``message``: what the
    page tells the agency (Vietnamese); ``code``: a short key for logs and tests."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int  # all files of one upload together
    max_files: int = 10
    max_fields: int = 8
    # What a ZIP may hold (portal.contents); frozen, so one shared default is safe.
    contents: ContentLimits = ContentLimits()  # noqa: RUF009

    @property
    def max_body(self) -> int:
        return self.max_bytes + BODY_OVERHEAD


def _spool() -> IO[bytes]:
    # Closed by SpooledFile.close(), which every path out of read_upload reaches.
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)


@dataclass(slots=True)
class SpooledFile:
    """One uploaded file: kept in memory up to ``SPOOL_IN_MEMORY``, on disk beyond,
    deleted when closed. ``kind`` is set by ``sniff``."""

    form_field: str  # the form field it came in
    name: str
    file: IO[bytes] = field(default_factory=_spool)
    size: int = 0
    kind: str | None = None
    _hash: Any = field(default_factory=hashlib.sha256)

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self.size += len(data)
        self.file.write(data)

    @property
    def sha256(self) -> str:
        return str(self._hash.hexdigest())

    def close(self) -> None:
        self.file.close()


@dataclass(slots=True)
class UploadForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[SpooledFile] = field(default_factory=list)

    def close(self) -> None:
        for f in self.files:
            f.close()


# --- display names --------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[/\\]")
_SPACES = re.compile(r"\s+")


def display_name(raw: str, *, fallback: str = "tệp không tên") -> str:
    """What a client called its file, fit to show and nothing else: the last path segment
    only (``../../etc/passwd`` → ``passwd``; ``C:\\x\\y.pdf`` → ``y.pdf``), NFC (macOS
    sends NFD), no control or format characters (a right-to-left override could make
    ``gpj.exe`` read as ``exe.jpg``), spaces collapsed, no leading dots, at most
    ``NAME_LIMIT`` characters with the extension kept."""
    name = _SEPARATORS.split(unicodedata.normalize("NFC", raw))[-1]
    name = "".join(" " if unicodedata.category(c).startswith("C") else c for c in name)
    name = _SPACES.sub(" ", name).strip().lstrip(". ")
    if not name:
        return fallback
    if len(name) > NAME_LIMIT:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and stem and len(ext) <= 10 else ""
        keep = NAME_LIMIT - len(ext) - (2 if ext else 1)
        name = (stem if ext else name)[:keep].rstrip() + "…" + (f".{ext}" if ext else "")
    return name


# --- reading the body ----------------------------------------------------------------------


Guard = Callable[[Mapping[str, str]], None]


class _Reader:
    """python-multipart callbacks collecting one form; every limit checked as data
    arrives. Exceptions raised in a callback stop the parser at once."""

    def __init__(self, boundary: bytes, limits: Limits, guard: Guard) -> None:
        self.limits = limits
        self.guard = guard
        self.form = UploadForm()
        self.file_bytes = 0
        self.guarded = False
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._value = bytearray()
        self._name = ""
        self._file: SpooledFile | None = None
        self._unnamed = False
        self.parts = 0
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_files + self.limits.max_fields:
            raise UploadRejected(400, "too-many-parts", "Biểu mẫu có quá nhiều trường.")
        self._headers = {}
        self._value = bytearray()
        self._file = None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get("content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise UploadRejected(400, "bad-part", "Biểu mẫu gửi lên không đúng định dạng.")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" not in options:
            return
        if not self.guarded:
            # The fields before the first file are all the guard will get: it rules
            # before any file byte is kept.
            self.guard(self.form.fields)
            self.guarded = True
        raw = options[b"filename"].decode("utf-8", "replace")
        self._unnamed = not raw
        self._file = SpooledFile(self._name, display_name(raw))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is None:
            if len(self._value) + len(chunk) > FIELD_LIMIT:
                raise UploadRejected(413, "field-too-large", "Một trường của biểu mẫu quá dài.")
            self._value += chunk
            return
        self.file_bytes += len(chunk)
        if self.file_bytes > self.limits.max_bytes:
            raise UploadRejected(413, "too-large", _too_large(self.limits))
        self._file.write(chunk)

    def _part_end(self) -> None:
        if self._file is None:
            if len(self.form.fields) >= self.limits.max_fields:
                raise UploadRejected(400, "too-many-parts", "Biểu mẫu có quá nhiều trường.")
            self.form.fields[self._name] = self._value.decode("utf-8", "replace")
            return
        if self._file.size == 0 and self._unnamed:
            self._file.close()  # an empty file input: the browser sends an empty part
            return
        if len(self.form.files) >= self.limits.max_files:
            self._file.close()
            raise UploadRejected(
                400, "too-many-files", f"Mỗi lần nộp tối đa {self.limits.max_files} tệp."
            )
        self.form.files.append(self._file)
        self._file = None

    def close_open_part(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _too_large(limits: Limits) -> str:
    return (
        f"Tệp tải lên vượt quá dung lượng cho phép ({limits.max_bytes // MB} MB cho mỗi lần "
        "nộp). Đề nghị nén tệp hoặc chia thành nhiều lần nộp."
    )


def boundary_of(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary", b"")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadRejected(400, "not-a-form", "Yêu cầu không phải biểu mẫu tải tệp.")
    return boundary


async def read_upload(
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    limits: Limits,
    guard: Guard,
) -> UploadForm:
    """Read a multipart body from ``chunks``; the form with its spooled files. Stops at
    the first chunk past a limit (``UploadRejected``, the rest unread) and closes every
    spooled file it made when it fails. ``guard`` runs once, on the fields before the
    first file (or on all fields when there is no file), and raises to refuse."""
    boundary = boundary_of(content_type)
    if content_length is not None and content_length > limits.max_body:
        raise UploadRejected(413, "too-large", _too_large(limits))
    reader = _Reader(boundary, limits, guard)
    body = 0
    try:
        async for chunk in chunks:
            body += len(chunk)
            if body > limits.max_body:
                raise UploadRejected(413, "too-large", _too_large(limits))
            reader.parser.write(chunk)
        reader.parser.finalize()
        if reader.parser.state != MultipartState.END:
            # python-multipart's finalize() does not check this: a body cut short (in a
            # file, or before its closing boundary) would pass for a form of fewer parts.
            raise MultipartParseError("the body ends before its closing boundary")
        if not reader.guarded:
            guard(reader.form.fields)
    except MultipartParseError:
        reader.close_open_part()
        reader.form.close()
        raise UploadRejected(400, "bad-form", "Biểu mẫu gửi lên không đúng định dạng.") from None
    except BaseException:
        reader.close_open_part()
        reader.form.close()
        raise
    return reader.form


# --- types from the content ------------------------------------------------------------------


def sniff(f: SpooledFile, limits: ContentLimits | None = None) -> str:
    """The file's kind ("pdf", "docx", "xlsx", "zip") from its bytes, once its content
    passed ``portal.contents``' checks; ``UploadRejected`` (415) for anything else."""
    f.file.seek(0)
    head = f.file.read(8)
    try:
        if head.startswith(b"%PDF-"):
            check_pdf(f.file)
            return "pdf"
        if head.startswith(b"PK\x03\x04"):
            return _zip_kind(f, limits or ContentLimits())
    except Refused as refused:
        raise UploadRejected(
            415,
            refused.code,
            f"Tệp “{f.name}” {refused.reason}. Không tệp nào của lần nộp này được lưu.",
        ) from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadRejected(
            415,
            "legacy-office",
            f"Tệp “{f.name}” là định dạng Word/Excel cũ (.doc, .xls). Đề nghị lưu lại thành "
            ".docx, .xlsx hoặc .pdf rồi nộp lại.",
        )
    raise UploadRejected(415, "wrong-type", _wrong_type(f.name))


def _wrong_type(name: str) -> str:
    return (
        f"Tệp “{name}” không phải PDF, DOCX, XLSX hay ZIP (kiểm tra theo nội dung tệp, "
        "không theo tên). Không tệp nào của lần nộp này được lưu."
    )


def _zip_kind(f: SpooledFile, limits: ContentLimits) -> str:
    try:
        with zipfile.ZipFile(f.file) as archive:
            names = set(archive.namelist())
            package = "[Content_Types].xml" in names
            check_archive(archive, limits, package=package)
            if not package:
                return "zip"
            with archive.open("[Content_Types].xml") as ct:
                declared = ct.read(_CONTENT_TYPES_LIMIT)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError):
        raise UploadRejected(
            415, "broken-zip", f"Tệp “{f.name}” bị hỏng hoặc không đọc được (ZIP/Office)."
        ) from None
    return _office_kind(declared, names)


def _office_kind(declared: bytes, names: set[str]) -> str:
    """DOCX or XLSX when [Content_Types].xml declares that main part and the part is
    there; any other ZIP (a .pptx, an archive of scans) is a ZIP."""
    try:
        root = ElementTree.fromstring(declared)  # expat: no external entities, size-capped
    except ElementTree.ParseError:
        return "zip"
    for override in root.iter(f"{_CT_NS}Override"):
        part = override.get("PartName", "").lstrip("/")
        kind = {_WORD_MAIN: "docx", _SHEET_MAIN: "xlsx"}.get(override.get("ContentType", ""))
        if kind and part in names:
            return kind
    return "zip"
