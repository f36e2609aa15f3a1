"""What an upload holds, checked without extracting: ZIP member names, count, unpacked
size and types; macro-enabled Office files; PDFs with active content or HTML inside.
Issue 16."""

from __future__ import annotations

import io
import random
import zipfile
import zlib
from collections.abc import Callable

import pytest
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

from portal.contents import MB, ContentLimits
from portal.storage import SpooledFile, UploadRejected, sniff
from tests.portal.conftest import Harness, docx_bytes, exe_bytes, pdf_bytes, xlsx_bytes


def _spooled(data: bytes, name: str = "ho-so.zip") -> SpooledFile:
    f = SpooledFile("files", name)
    f.write(data)
    return f


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _with_part(package: bytes, name: str, data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            z.writestr(item, source.read(item))
        z.writestr(name, data)
    return out.getvalue()


def _pdf(extra: bytes) -> bytes:
    return b"%PDF-1.7\n1 0 obj\n" + extra + b"\nendobj\ntrailer\n<< >>\n%%EOF\n"


def _compressed_js_pdf() -> bytes:
    hidden = zlib.compress(b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>")
    return _pdf(b"<< /Type /ObjStm /Filter /FlateDecode >>\nstream\n" + hidden + b"\nendstream")


def _refused(data: bytes, limits: ContentLimits | None = None) -> str:
    with pytest.raises(UploadRejected) as refused:
        sniff(_spooled(data), limits)
    assert refused.value.status == 415
    assert "ho-so.zip" in refused.value.message
    return refused.value.code


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ([("chay-thu.exe", exe_bytes())], "zip-type"),
        ([("bao-cao.pdf", pdf_bytes()), ("mo-trang.js", b"alert(1)")], "zip-type"),
        ([("trang.html", b"<script>x</script>")], "zip-type"),
        ([("long-nhau.zip", b"PK\x05\x06" + bytes(18))], "zip-type"),
        ([("khong-duoi", b"x")], "zip-type"),
        ([("../../etc/cron.d/x.pdf", pdf_bytes())], "zip-name"),
        ([("/etc/passwd.txt", b"x")], "zip-name"),
        ([("C:/Windows/x.pdf", pdf_bytes())], "zip-name"),
        ([("thu-muc\\..\\x.pdf", pdf_bytes())], "zip-name"),
        ([("a/./b.pdf", pdf_bytes())], "zip-name"),
        ([("ten\x07.pdf", pdf_bytes())], "zip-name"),
        ([("bom.txt", bytes(3 * MB))], "zip-size"),  # 3 MB of zeros in a few KB
    ],
)
def test_archives_holding_what_is_not_a_document_are_refused(
    members: list[tuple[str, bytes]], code: str
) -> None:
    assert _refused(_zip(members)) == code


def test_an_archive_of_documents_and_folders_is_taken() -> None:
    data = _zip(
        [
            ("phu-luc/", b""),
            ("phu-luc/Bảng số liệu.xlsx", xlsx_bytes()),
            ("phu-luc/bao-cao.PDF", pdf_bytes()),
            ("scan-01.jpg", b"\xff\xd8\xff" + bytes(100)),
            ("ghi-chu.txt", "bản quét".encode()),
        ]
    )
    assert sniff(_spooled(data)) == "zip"


def test_150000_entries_are_refused_by_default() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for n in range(150_000):
            z.writestr(f"{n}.txt", b"")
    assert _refused(out.getvalue()) == "zip-members"


def test_the_limits_are_configurable() -> None:
    eleven = _zip([(f"{n}.pdf", pdf_bytes()) for n in range(11)])
    assert _refused(eleven, ContentLimits(zip_members=10)) == "zip-members"
    assert sniff(_spooled(eleven), ContentLimits(zip_members=11)) == "zip"
    big = _zip([("a.txt", random.Random(16).randbytes(1_200_000))])  # incompressible
    assert _refused(big, ContentLimits(zip_total=MB)) == "zip-size"
    assert sniff(_spooled(big), ContentLimits(zip_total=2 * MB)) == "zip"


@pytest.mark.parametrize("office", [xlsx_bytes, docx_bytes], ids=["xlsx", "docx"])
@pytest.mark.parametrize("part", ["xl/vbaProject.bin", "word/vbaProject.bin", "VBAPROJECT.BIN"])
def test_macro_enabled_office_files_are_refused_whatever_their_name(
    office: Callable[[], bytes], part: str
) -> None:
    assert _refused(_with_part(office(), part, b"\xcc\x61" + bytes(500))) == "macro"


@pytest.mark.parametrize(
    "data",
    [
        _pdf(b"<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"),
        _pdf(b"<< /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> >>"),
        _pdf(b"<< /OpenAction << /S /Launch /F (cmd.exe) >> >>"),
        _pdf(b"<< /AA << /O << /S /SubmitForm /F (http://x.invalid) >> >> >>"),
        _compressed_js_pdf(),
    ],
    ids=["javascript", "hex-escaped", "launch", "submitform", "compressed"],
)
def test_pdfs_with_active_content_are_refused(data: bytes) -> None:
    # These have no catalog pypdf can find: the byte patterns decide, and without a
    # structure to tell a form from a script even a submit button is refused.
    assert _refused(data) == "pdf-active"


# --- PDFs pypdf can parse: the structure decides -------------------------------------------


def _name(text: str) -> NameObject:
    return NameObject(text)


def _action(kind: str, **entries: PdfObject) -> DictionaryObject:
    action = DictionaryObject({_name("/Type"): _name("/Action"), _name("/S"): _name(kind)})
    for key, value in entries.items():
        action[_name(f"/{key}")] = value
    return action


def _built(edit: Callable[[PdfWriter], object] | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if edit is not None:
        edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _annotation(writer: PdfWriter, entries: dict[str, PdfObject]) -> None:
    annot = DictionaryObject(
        {_name("/Type"): _name("/Annot"), _name("/Rect"): ArrayObject([NumberObject(0)] * 4)}
    )
    for key, value in entries.items():
        annot[_name(key)] = value
    page = writer.pages[0]
    page[_name("/Annots")] = ArrayObject([*page.get("/Annots", []), writer._add_object(annot)])


def _script() -> DictionaryObject:
    return _action("/JavaScript", JS=TextStringObject("app.launchURL('http://x.invalid')"))


def _open_action(writer: PdfWriter) -> None:
    writer._root_object[_name("/OpenAction")] = writer._add_object(_script())


def _catalog_aa(writer: PdfWriter) -> None:
    writer._root_object[_name("/AA")] = DictionaryObject({_name("/WC"): _script()})


def _page_aa(writer: PdfWriter) -> None:
    writer.pages[0][_name("/AA")] = DictionaryObject({_name("/O"): _script()})


def _link_launch(writer: PdfWriter) -> None:
    launch = _action("/Launch", F=TextStringObject("cmd.exe"))
    _annotation(writer, {"/Subtype": _name("/Link"), "/A": launch})


def _chained(writer: PdfWriter) -> None:
    go = _action("/URI", URI=TextStringObject("https://example.org"), Next=_script())
    _annotation(writer, {"/Subtype": _name("/Link"), "/A": go})


def _orphan(writer: PdfWriter) -> None:
    writer._add_object(_script())  # listed in the xref table, referenced by nothing


def _hex_escaped() -> bytes:
    return _built(_open_action).replace(b"/JavaScript", b"/J#61vaScript")


def _form(writer: PdfWriter, button: DictionaryObject | None) -> None:
    """A fillable form: one text field, and a push button with ``button`` as its action."""
    field = DictionaryObject(
        {
            _name("/FT"): _name("/Tx"),
            _name("/T"): TextStringObject("so_lieu"),
            _name("/Subtype"): _name("/Widget"),
            _name("/Type"): _name("/Annot"),
            _name("/Rect"): ArrayObject([NumberObject(50), NumberObject(700)] * 2),
        }
    )
    fields = [writer._add_object(field)]
    _annotation(writer, {})  # an empty annotation beside them, as real files have
    if button is not None:
        push = DictionaryObject(
            {
                _name("/FT"): _name("/Btn"),
                _name("/Ff"): NumberObject(1 << 16),  # a push button
                _name("/T"): TextStringObject("gui"),
                _name("/Subtype"): _name("/Widget"),
                _name("/Type"): _name("/Annot"),
                _name("/Rect"): ArrayObject([NumberObject(50), NumberObject(600)] * 2),
                _name("/A"): button,
            }
        )
        fields.append(writer._add_object(push))
    page = writer.pages[0]
    page[_name("/Annots")] = ArrayObject([*page.get("/Annots", []), *fields])
    writer._root_object[_name("/AcroForm")] = DictionaryObject(
        {_name("/Fields"): ArrayObject(fields)}
    )


def _submit_form(writer: PdfWriter) -> None:
    target = TextStringObject("https://so-tai-chinh.example.gov.vn/nhan")
    _form(writer, _action("/SubmitForm", F=target))


@pytest.mark.parametrize(
    "data",
    [
        _built(lambda w: w.add_open_action(JavaScript("app.alert(1)"))),  # /Names /JavaScript
        _built(_open_action),
        _built(_catalog_aa),
        _built(_page_aa),
        _built(_link_launch),
        _built(_chained),
        _built(_orphan),
        _hex_escaped(),
        _built(lambda w: _form(w, _script())),  # a form whose button runs a script
    ],
    ids=["names-tree", "open-action", "catalog-aa", "page-aa", "launch", "next-chain", "orphan",
         "hex-escaped", "form-script"],
)  # fmt: skip
def test_parsed_pdfs_with_javascript_or_launch_are_refused(data: bytes) -> None:
    assert _refused(data) == "pdf-active"


def test_a_fillable_form_that_submits_is_taken_and_noted(caplog: pytest.LogCaptureFixture) -> None:
    assert sniff(_spooled(_built(lambda w: _form(w, None)))) == "pdf"
    assert "SubmitForm" not in caplog.text
    assert sniff(_spooled(_built(_submit_form), "to-khai.pdf")) == "pdf"
    assert "SubmitForm" in caplog.text


def test_the_portal_stores_a_fillable_form(portal: Harness) -> None:
    response = portal.upload(portal.url(), [("Biểu mẫu điền được.pdf", _built(_submit_form))])
    assert response.status_code == 200, response.text
    versions, _, files = portal.written()
    assert versions == 1 and len(files) == 1


def test_a_parsable_pdf_with_html_is_still_a_polyglot() -> None:
    html = b"\n<html><body><script>fetch('/admin')</script></body></html>\n"
    assert _refused(_built() + html) == "pdf-html"
    assert _refused(_built(_submit_form) + html) == "pdf-html"


def test_a_pdf_html_polyglot_is_refused() -> None:
    data = _pdf(b"<< >>\n<html><body><script>fetch('/admin')</script></body></html>")
    assert _refused(data) == "pdf-html"


def test_plain_documents_still_pass() -> None:
    assert sniff(_spooled(pdf_bytes())) == "pdf"
    assert sniff(_spooled(xlsx_bytes())) == "xlsx"
    assert sniff(_spooled(docx_bytes())) == "docx"


def test_the_portal_refuses_a_macro_workbook_and_records_nothing(portal: Harness) -> None:
    macro = _with_part(xlsx_bytes(), "xl/vbaProject.bin", bytes(500))
    response = portal.upload(
        portal.url(), [("bao-cao.pdf", pdf_bytes()), ("Biểu số liệu.xlsx", macro)]
    )
    assert response.status_code == 415
    assert "macro" in response.text and "Biểu số liệu.xlsx" in response.text
    assert portal.written() == (0, 0, [])
