"""The pieces without a server: display names, types from bytes, the content store,
the CSRF token, and tokens kept out of logs."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import zipfile
from pathlib import Path

import pytest

from models.submissions import StoreError, relative_path, store_file, stored_file
from models.tables import SubmissionVersion
from portal.security import RedactTokens, csrf_ok, csrf_token, looks_like_token, redact
from portal.storage import SpooledFile, UploadRejected, display_name, sniff
from tests.portal.conftest import docx_bytes, exe_bytes, pdf_bytes, xlsx_bytes, zip_bytes


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("bao-cao.pdf", "bao-cao.pdf"),
        ("../../etc/passwd", "passwd"),
        ("a/b\\c.docx", "c.docx"),
        ("  .hidden.xlsx ", "hidden.xlsx"),
        ("", "tệp không tên"),
        ("../", "tệp không tên"),
        ("x\u202egpj.exe", "x gpj.exe"),
        ("new\r\nline.pdf", "new line.pdf"),
        ("Ba\u0309o ca\u0301o quy\u0301 III.pdf", "Bảo cáo quý III.pdf"),
    ],
)
def test_display_names(raw: str, shown: str) -> None:
    assert display_name(raw) == shown


def test_long_display_names_keep_their_extension() -> None:
    name = display_name("a" * 300 + ".xlsx")
    assert len(name) == 120 and name.endswith("….xlsx")
    assert len(display_name("b" * 300)) == 120


def _spooled(data: bytes, name: str = "x") -> SpooledFile:
    f = SpooledFile("files", name)
    f.write(data)
    return f


def _pptx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/ppt/presentation.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/></Types>',
        )
        z.writestr("ppt/presentation.xml", "<p/>")
    return out.getvalue()


def _docx_without_its_main_part() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                z.writestr(item, source.read(item))
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (pdf_bytes(), "pdf"),
        (docx_bytes(), "docx"),
        (xlsx_bytes(), "xlsx"),
        (zip_bytes(), "zip"),
        (_pptx(), "zip"),  # another Office package: a ZIP
        (_docx_without_its_main_part(), "zip"),  # declares a document it does not hold
    ],
)
def test_types_come_from_the_bytes(data: bytes, kind: str) -> None:
    assert sniff(_spooled(data, "misnamed.exe")) == kind


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (exe_bytes(), "wrong-type"),
        (b"", "wrong-type"),
        (b"<html><script>alert(1)</script>", "wrong-type"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "legacy-office"),
        (zip_bytes()[:40], "broken-zip"),
    ],
)
def test_other_types_are_refused_with_415(data: bytes, code: str) -> None:
    with pytest.raises(UploadRejected) as refused:
        sniff(_spooled(data, "bao-cao.pdf"))
    assert (refused.value.status, refused.value.code) == (415, code)


def test_the_store_keeps_bytes_under_their_hash_once(tmp_path: Path) -> None:
    data = pdf_bytes()
    digest = hashlib.sha256(data).hexdigest()
    first = store_file(tmp_path, io.BytesIO(data), sha256=digest)
    again = store_file(tmp_path, io.BytesIO(data))  # read to learn its digest
    known = store_file(tmp_path, io.BytesIO(data), sha256=digest)  # not even read
    assert (first.added, again.added, known.added) == (True, False, False)
    assert {(s.sha256, s.size, s.path) for s in (first, again, known)} == {
        (digest, len(data), f"files/{digest[:2]}/{digest}")
    }
    assert first.path == relative_path(digest)
    assert (tmp_path / first.path).read_bytes() == data
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [digest]


def test_a_stored_file_of_the_wrong_size_is_written_again(tmp_path: Path) -> None:
    data = pdf_bytes()
    digest = hashlib.sha256(data).hexdigest()
    stored = store_file(tmp_path, io.BytesIO(data), sha256=digest)
    (tmp_path / stored.path).write_bytes(data[:10])  # cut short (a disk that failed)
    again = store_file(tmp_path, io.BytesIO(data), sha256=digest)
    assert again.added
    assert (tmp_path / stored.path).read_bytes() == data


def test_the_store_refuses_bytes_that_changed(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        store_file(tmp_path, io.BytesIO(b"abc"), sha256="0" * 64)
    assert not [p for p in (tmp_path / "files").rglob("*") if p.is_file()]


def test_a_stored_path_must_match_its_digest(tmp_path: Path) -> None:
    stored = store_file(tmp_path, io.BytesIO(b"data"))
    good = SubmissionVersion(
        submission_id=1,
        version=1,
        file_name="a",
        file_size=4,
        sha256=stored.sha256,
        stored_path=stored.path,
    )
    assert stored_file(tmp_path, good).read_bytes() == b"data"
    evil = good.model_copy(update={"stored_path": "../../etc/passwd"})
    with pytest.raises(StoreError):
        stored_file(tmp_path, evil)
    with pytest.raises(ValueError):
        relative_path("../" + "a" * 61)


def test_csrf_tokens() -> None:
    key, now = b"k" * 32, dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)
    token = csrf_token(key, "link.token", now=now)
    assert csrf_ok(key, "link.token", token, now=now)
    assert csrf_ok(key, "link.token", token, now=now + dt.timedelta(hours=11))
    assert not csrf_ok(key, "link.token", token, now=now + dt.timedelta(hours=12))
    assert not csrf_ok(key, "link.token", token, now=now - dt.timedelta(hours=1))  # future
    assert not csrf_ok(key, "other.token", token, now=now)
    assert not csrf_ok(b"x" * 32, "link.token", token, now=now)
    for bad in (None, "", ".", "abc", "1.é", "١٢.abc"):
        assert not csrf_ok(key, "link.token", bad, now=now)


def test_token_shapes() -> None:
    assert looks_like_token("eyJwIjoic3VibWl0In0." + "A" * 43)
    for bad in ("", "abc", "a.b", "é." + "A" * 43, "a/b." + "A" * 43, "a." + "A" * 44):
        assert not looks_like_token(bad)


def test_tokens_never_reach_the_access_log() -> None:
    token = "eyJwIjoic3VibWl0In0." + "A" * 43
    assert redact(f"/submit/{token}/receipt/1-1") == "/submit/…/receipt/1-1"
    assert redact(f"/agency/{token}/calendar.ics?x=1") == "/agency/…/calendar.ics?x=1"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/submit/{token}", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record)
    assert token not in record.getMessage() and "/submit/…" in record.getMessage()
