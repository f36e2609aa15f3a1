"""What an agency sees behind its links: the cycle's facts in Vietnamese, its open
cycles, its calendar feed; on both backends."""

from __future__ import annotations

import unicodedata

from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import Obligation, ReportCycle
from tests.portal.conftest import AFTER_DUE, Harness, pdf_bytes


def test_submission_page_states_the_cycle_in_vietnamese(portal: Harness) -> None:
    page = portal.client.get(portal.url())
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<html lang="vi">' in html and '<meta charset="utf-8">' in html
    assert unicodedata.is_normalized("NFC", html)
    for fact in (
        "6966/UBND-KTN",  # directive number
        "ngày 24/12/2024",  # its date
        "Nghị quyết số 06-NQ/TW",  # its subject
        "định kỳ hàng năm báo cáo UBND tỉnh (thông qua Sở Xây dựng)",  # the clause
        "Năm 2026",  # the period label
        "15/12/2025 đến 14/12/2026",  # its cut-off window
        "21/12/2026 24:00",  # the deadline, local time
        "Sở Xây dựng tỉnh Quảng Ngãi",  # the lead Sở
        portal.seed.agency_name,
        "Chưa nộp",  # status
    ):
        assert fact in html, fact
    assert 'enctype="multipart/form-data"' in html
    # The CSRF field comes before the file input: the server rules on it before any file byte.
    assert html.index('name="csrf"') < html.index('type="file"')


def test_page_shows_status_and_previous_versions(portal: Harness) -> None:
    url = portal.url()
    assert portal.upload(url, [("bao-cao-lan-1.pdf", pdf_bytes("1"))]).status_code == 200
    html = portal.client.get(url).text
    assert "Đã nộp đúng hạn" in html
    assert "bao-cao-lan-1.pdf" in html and "Các phiên bản đã nộp" in html
    assert "Nộp bản cập nhật" in html

    portal.clock.at = AFTER_DUE
    assert portal.upload(url, [("bao-cao-lan-2.pdf", pdf_bytes("2"))]).status_code == 200
    html = portal.client.get(url).text
    assert "bao-cao-lan-1.pdf" in html and "bao-cao-lan-2.pdf" in html
    assert "Đã nộp đúng hạn" in html  # the first report was on time; v2 is an update
    assert html.count("Sau hạn") == 1 and "Đã quá hạn nộp" in html


def test_agency_page_lists_open_cycles_with_working_submission_links(portal: Harness) -> None:
    page = portal.client.get(portal.url("agency"))
    assert page.status_code == 200
    html = page.text
    assert portal.seed.agency_name in html
    assert "6966/UBND-KTN" in html and "Năm 2026" in html and "21/12/2026 24:00" in html
    links = [part.split('"', 1)[0] for part in html.split('href="/submit/')[1:]]
    assert len(set(links)) == 1  # the open cycle, and its row among the deadlines ahead
    followed = portal.client.get(f"/submit/{links[0]}")
    assert followed.status_code == 200 and portal.seed.agency_name in followed.text
    # The calendar feed is offered both as a download and as a subscription address.
    assert 'href="/agency/' in html and "http://portal.test/agency/" in html


def test_agency_calendar_feed(portal: Harness) -> None:
    url = portal.url("agency") + "/calendar.ics"
    feed = portal.client.get(url)
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(feed.content)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 2  # the open cycle, then next year's (tests/portal/test_agency_calendar)
    assert "6966/UBND-KTN" in str(events[0]["SUMMARY"])
    assert events[0].decoded("DTSTART") == portal.seed.due_at


def test_agency_without_open_cycles(portal: Harness) -> None:
    page = portal.client.get(portal.url("agency", agency_id=portal.seed.outsider_id))
    assert page.status_code == 200
    assert "Hiện không có kỳ báo cáo nào đang mở" in page.text


def test_unknown_page_is_a_vietnamese_404_with_headers(portal: Harness) -> None:
    page = portal.client.get("/khong-co")
    assert page.status_code == 404
    assert "Không tìm thấy trang" in page.text
    assert page.headers["x-frame-options"] == "DENY"


def test_view_link_shows_the_lead_who_has_handed_in(portal: Harness, engine: Engine) -> None:
    with Session(engine) as s:
        cycle = s.get(ReportCycle, portal.seed.cycle_id)
        assert cycle is not None
        ob = s.get(Obligation, cycle.obligation_id)
        assert ob is not None and ob.lead_agency_id is not None
        lead = ob.lead_agency_id
    page = portal.client.get(portal.url("view", agency_id=lead))
    assert page.status_code == 200
    html = page.text
    assert "Tình hình nộp báo cáo" in html and "Năm 2026" in html
    assert portal.seed.agency_name in html and "Chưa nộp" in html
    assert "Đã nộp: <strong>0/110</strong>" in html
    # The same cycle, but for an agency that is neither its lead nor its recipient: refused.
    refused = portal.client.get(portal.url("view", agency_id=portal.seed.agency_id))
    assert refused.status_code == 403
    # A submit link is not a view link.
    assert portal.client.get(portal.url("submit").replace("/submit/", "/view/")).status_code == 403
