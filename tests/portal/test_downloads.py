"""The reports handed in, read back: the lead's /view lists every version with a download,
one zip holds every agency's latest upload named by agency, the dashboard has the same
behind its login; each download is an attachment of the stored type, never sniffed, and
leaves an audit row naming who took it. On both backends."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from urllib.parse import unquote

from sqlmodel import Session, col, select

from models.agency import Agency
from models.tables import AuditEvent, Obligation, ReportCycle, SubmissionVersion
from portal.auth import credentials_path, hash_password, save_credentials
from tests.portal.conftest import AFTER_DUE, Harness, docx_bytes, pdf_bytes, sha256

USER, PASSWORD = "vanphong", "mật khẩu đủ dài 2026"


def lead_id(portal: Harness) -> int:
    with Session(portal.engine) as s:
        cycle = s.get(ReportCycle, portal.seed.cycle_id)
        assert cycle is not None
        ob = s.get(Obligation, cycle.obligation_id)
        assert ob is not None and ob.lead_agency_id is not None
        return ob.lead_agency_id


def agency(portal: Harness, agency_id: int) -> Agency:
    with Session(portal.engine) as s:
        found = s.get(Agency, agency_id)
        assert found is not None
        return found


def audits(portal: Harness, action: str) -> list[AuditEvent]:
    with Session(portal.engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


def hand_in(portal: Harness) -> dict[str, bytes]:
    """The seed agency hands in twice (a PDF, then a DOCX with a PDF appendix), the other
    agency once, late; returns the bytes of each agency's latest upload by file name."""
    me = portal.url()
    other = portal.url(agency_id=portal.seed.other_agency_id)
    first = pdf_bytes("bản đầu")
    assert portal.upload(me, [("Báo cáo lần 1.pdf", first)]).status_code == 200
    portal.clock.at += dt.timedelta(hours=2)  # the update, later that day
    report, appendix = docx_bytes("Báo cáo năm 2026"), pdf_bytes("Phụ lục")
    files = [("Báo cáo năm 2026 (sửa).docx", report), ("Phụ lục số liệu.pdf", appendix)]
    assert portal.upload(me, files).status_code == 200
    portal.clock.at = AFTER_DUE
    late = pdf_bytes("nộp muộn")
    assert portal.upload(other, [("bao-cao.pdf", late)]).status_code == 200
    return {"report": report, "appendix": appendix, "late": late, "first": first}


def test_view_lists_versions_and_each_downloads_as_an_attachment(portal: Harness) -> None:
    hand_in(portal)
    view = portal.url("view", agency_id=lead_id(portal))
    page = portal.client.get(view)
    assert page.status_code == 200
    html = page.text
    for name in ("Báo cáo lần 1.pdf", "Báo cáo năm 2026 (sửa).docx", "Phụ lục số liệu.pdf"):
        assert name in html
    links = re.findall(r'href="(/view/[^"]+/files/(\d+))"', html)
    assert len(links) == 4
    with Session(portal.engine) as s:
        by_id = {v.id: v for v in s.exec(select(SubmissionVersion))}
    got = {}
    for href, vid in links:
        r = portal.client.get(href)
        assert r.status_code == 200
        assert r.headers["x-content-type-options"] == "nosniff"
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("attachment; ")
        name = unquote(disposition.split("filename*=UTF-8''", 1)[1])
        assert name == by_id[int(vid)].file_name
        assert sha256(r.content) == by_id[int(vid)].sha256
        got[name] = r.headers["content-type"]
    assert got["Báo cáo lần 1.pdf"] == "application/pdf"
    assert got["Báo cáo năm 2026 (sửa).docx"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    taken = audits(portal, "submission_version.downloaded")
    lead = agency(portal, lead_id(portal))
    assert len(taken) == 4 and {a.actor for a in taken} == {f"view:{lead.code}"}
    assert {a.entity_id for a in taken} == {int(v) for _, v in links}
    cycle_id = portal.seed.cycle_id
    assert {(a.data["via"], a.data["viewer"], a.data["cycle_id"]) for a in taken} == {
        ("view", lead.code, cycle_id)
    }


def test_view_zip_holds_each_agencys_latest_upload_named_by_agency(portal: Harness) -> None:
    sent = hand_in(portal)
    view = portal.url("view", agency_id=lead_id(portal))
    r = portal.client.get(view + "/zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "6966" in unquote(r.headers["content-disposition"])
    me, other = agency(portal, portal.seed.agency_id), agency(portal, portal.seed.other_agency_id)
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.testzip() is None
        names = {n: z.read(n) for n in z.namelist()}
    assert names == {
        f"{me.code} - {me.name} (1).docx": sent["report"],
        f"{me.code} - {me.name} (2).pdf": sent["appendix"],
        f"{other.code} - {other.name}.pdf": sent["late"],
    }
    (row,) = audits(portal, "report_cycle.downloaded")
    assert row.entity_id == portal.seed.cycle_id and len(row.data["versions"]) == 3


def test_view_link_sees_only_its_own_cycle_and_only_for_lead_or_recipient(
    portal: Harness,
) -> None:
    hand_in(portal)
    with Session(portal.engine) as s:
        vid = s.exec(select(SubmissionVersion.id).order_by(col(SubmissionVersion.id))).first()
    lead = lead_id(portal)
    # A submitting agency's view link, a link for another cycle: refused, nothing read.
    assert portal.client.get(portal.url("view") + f"/files/{vid}").status_code == 403
    assert portal.client.get(portal.url("view") + "/zip").status_code == 403
    elsewhere = portal.url("view", agency_id=lead, cycle_id=portal.seed.cycle_id + 1000)
    assert portal.client.get(elsewhere + f"/files/{vid}").status_code == 403
    view = portal.url("view", agency_id=lead)
    for bad in ("999999", "abc", "-1", "1" * 30):
        r = portal.client.get(view + f"/files/{bad}")
        assert r.status_code == 404 and "Không tìm thấy tệp" in r.text
    assert audits(portal, "submission_version.downloaded") == []


def test_view_zip_before_anything_is_handed_in_says_so(portal: Harness) -> None:
    r = portal.client.get(portal.url("view", agency_id=lead_id(portal)) + "/zip")
    assert r.status_code == 404 and "Chưa cơ quan nào nộp báo cáo" in r.text


def login(portal: Harness) -> None:
    save_credentials(credentials_path(portal.data_dir), USER, hash_password(PASSWORD))
    page = portal.client.get("/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    form = {"csrf": csrf.group(1), "user": USER, "password": PASSWORD}
    assert portal.client.post("/admin/login", data=form, follow_redirects=False).status_code == 303


def test_dashboard_downloads_need_the_login_and_are_audited(portal: Harness) -> None:
    sent = hand_in(portal)
    with Session(portal.engine) as s:
        v = s.exec(select(SubmissionVersion).order_by(col(SubmissionVersion.id).desc())).first()
    assert v is not None
    anonymous = portal.client.get(f"/admin/files/{v.id}", follow_redirects=False)
    assert anonymous.status_code == 303 and "/admin/login" in anonymous.headers["location"]
    zip_url = f"/admin/cycles/{portal.seed.cycle_id}/zip"
    assert portal.client.get(zip_url, follow_redirects=False).status_code == 303
    login(portal)
    r = portal.client.get(f"/admin/files/{v.id}")
    assert r.status_code == 200 and r.content == sent["late"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"] == "application/pdf"
    z = portal.client.get(zip_url)
    assert z.status_code == 200
    with zipfile.ZipFile(io.BytesIO(z.content)) as archive:
        assert len(archive.namelist()) == 3
    assert portal.client.get("/admin/files/424242").status_code == 404
    assert portal.client.get("/admin/cycles/424242/zip").status_code == 404
    (file_row,) = audits(portal, "submission_version.downloaded")
    assert file_row.actor == f"admin:{USER}" and file_row.entity_id == v.id
    assert file_row.data["via"] == "dashboard" and file_row.data["cycle_id"] == portal.seed.cycle_id
    (zip_row,) = audits(portal, "report_cycle.downloaded")
    assert zip_row.actor == f"admin:{USER}" and zip_row.entity_id == portal.seed.cycle_id
    assert zip_row.data["via"] == "dashboard" and len(zip_row.data["versions"]) == 3


def test_a_file_missing_from_the_store_is_a_clear_404_and_left_out_of_the_zip(
    portal: Harness,
) -> None:
    sent = hand_in(portal)
    with Session(portal.engine) as s:
        late = s.exec(select(SubmissionVersion).order_by(col(SubmissionVersion.id).desc())).first()
    assert late is not None
    (portal.data_dir / late.stored_path).unlink()
    view = portal.url("view", agency_id=lead_id(portal))
    r = portal.client.get(view + f"/files/{late.id}")
    assert r.status_code == 404 and "không còn trong kho lưu trữ" in r.text
    with zipfile.ZipFile(io.BytesIO(portal.client.get(view + "/zip").content)) as z:
        contents = sorted(z.read(n) for n in z.namelist())
    assert contents == sorted([sent["report"], sent["appendix"]])
