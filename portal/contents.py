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

**PDF.** The raw bytes are searched for HTML markup (``<script``, ``<html``,
``<iframe``…), which makes a PDF/HTML polyglot: refused whatever else the file is. Then
the file is parsed (pypdf) and every object its cross-reference tables list — reachable
from the catalog or not, in object streams too — is walked for action dictionaries:
the catalog's ``/OpenAction`` and ``/AA``, the ``/Names /JavaScript`` tree, pages' and
fields' ``/AA``, annotations' ``/A``, ``/Next`` chains are all dictionaries found this
way. JavaScript (an action ``/S /JavaScript``, any ``/JS`` key, an XFA form's
``<script>``), ``/Launch``, ``/ImportData`` and ``/RichMedia`` are refused: a report has
no business running code in the reader's viewer. A fillable form, even one whose
button sends it somewhere (``/SubmitForm``), is a document: it is accepted and noted
in the log. A file pypdf cannot parse falls back on the byte patterns: the raw bytes,
and every Flate-compressed stream inflated up to a bound, searched for the name tokens
of active content (``/JavaScript``, ``/JS``, ``/Launch``, ``/SubmitForm``,
``/ImportData``, ``/RichMedia``) after undoing the ``#xx`` escapes that hide them
(``/J#61vaScript``); without a structure to tell a form from a script, a submit button
is refused there too.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject, StreamObject

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
# Action types (``/S``) and annotation or object types (``/Subtype``) that run something.
_REFUSED_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/RichMedia"})
_REFUSED_SUBTYPES = frozenset({"/RichMedia"})
_MAX_NODES = 2_000_000  # objects and their entries walked per PDF; past it, the bytes decide
_XFA_SCRIPT = re.compile(rb"<\s*script|javascript", re.IGNORECASE)

log = logging.getLogger("hanbaocao.portal")


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


def check_pdf(content: IO[bytes]) -> tuple[str, ...]:
    """``Refused`` for a PDF with active content or HTML markup (see the module); else
    what is worth a note (``"submit-form"``: a form that sends its data somewhere),
    also logged. The file is read whole: the upload limit bounds it."""
    content.seek(0)
    data = content.read()
    if _HTML.search(data):
        raise Refused("pdf-html", "có chứa mã trang web (HTML) bên trong")
    try:
        found = _pdf_actions(data)
    except _Unparsed:
        _scan(data, html=False)
        _scan_streams(data)
        return ()
    if found & _REFUSED_ACTIONS:
        raise Refused("pdf-active", "có mã lệnh tự chạy (JavaScript hoặc lệnh mở chương trình)")
    if "/SubmitForm" in found:
        log.warning("a PDF form that sends its data elsewhere (SubmitForm) was accepted")
        return ("submit-form",)
    return ()


class _Unparsed(Exception):
    """pypdf could not read the file's structure (or it is too big to walk)."""


def _pdf_actions(data: bytes) -> set[str]:
    """The action kinds found in any object of the PDF (``/JavaScript`` also for a
    ``/JS`` key or an XFA script); ``_Unparsed`` when there is no structure to walk."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Unparsed  # only names are readable without the password: the bytes decide
        found: set[str] = set()
        nodes = 0
        for obj in _listed_objects(reader):
            for node in _nodes(obj):
                nodes += 1
                if nodes > _MAX_NODES:
                    raise _Unparsed
                found |= _kinds(node)
        return found
    except _Unparsed:
        raise
    except Exception:  # pypdf meets broken files with any exception type
        raise _Unparsed from None


def _listed_objects(reader: PdfReader) -> Iterator[PdfObject]:
    """The trailer and every object a cross-reference table lists: a viewer may reach
    an object that no reference of ours leads to, so reachability is not asked."""
    yield reader.trailer
    ids = {(gen, num) for gen, table in reader.xref.items() for num in table}
    ids |= {(0, num) for num in reader.xref_objStm}
    for gen, num in sorted(ids):
        obj = reader.get_object(IndirectObject(num, gen, reader))
        if obj is not None:
            yield obj


def _nodes(root: PdfObject) -> Iterator[DictionaryObject]:
    """The dictionaries inside one object (itself included), without following
    references: each referenced object is listed on its own."""
    stack: list[PdfObject] = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, DictionaryObject):  # a stream's dictionary too
            yield obj
            stack.extend(v for v in obj.values() if not isinstance(v, IndirectObject))
        elif isinstance(obj, ArrayObject):
            stack.extend(v for v in obj if not isinstance(v, IndirectObject))


def _kinds(node: DictionaryObject) -> set[str]:
    found: set[str] = set()
    action, subtype = node.get("/S"), node.get("/Subtype")
    if isinstance(action, str) and action in (*_REFUSED_ACTIONS, "/SubmitForm"):
        found.add(action)
    if isinstance(subtype, str) and subtype in _REFUSED_SUBTYPES:
        found.add(subtype)
    if "/JS" in node:
        found.add("/JavaScript")
    if "/XFA" in node and _xfa_scripted(node["/XFA"]):
        found.add("/JavaScript")
    return found


def _xfa_scripted(xfa: PdfObject) -> bool:
    """Whether an XFA form (one stream, or an array of names and streams) has scripts."""
    parts = xfa.get_object()
    items = list(parts) if isinstance(parts, ArrayObject) else [parts]
    for item in items:
        stream = item.get_object() if item is not None else None
        if isinstance(stream, StreamObject) and _XFA_SCRIPT.search(stream.get_data()):
            return True
    return False


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
