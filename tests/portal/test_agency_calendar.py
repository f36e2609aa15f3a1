"""The agency's page and feed look a year ahead: the created cycle, the next period's
deadline computed from the calendar before its cycle exists, the lead Sở's own deadline
to the recipient, and each open cycle's link. On both backends."""

from __future__ import annotations

import re

from icalendar import Calendar
from sqlmodel import Session

from models.tables import Obligation, ReportCycle
from tests.portal.conftest import Harness


def cycle_and_lead(portal: Harness) -> tuple[ReportCycle, int]:
    with Session(portal.engine) as s:
        cycle = s.get(ReportCycle, portal.seed.cycle_id)
        assert cycle is not None
        ob = s.get(Obligation, cycle.obligation_id)
        assert ob is not None and ob.lead_agency_id is not None
        return cycle, ob.lead_agency_id


def deadlines_table(html: str) -> list[str]:
    table = html.split('id="deadlines"', 1)[1].split("</table>", 1)[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in table.split("<tr")[2:]]


def test_agency_page_shows_this_cycle_and_next_years_computed_deadline(portal: Harness) -> None:
    html = portal.client.get(portal.url("agency")).text
    rows = deadlines_table(html)
    assert len(rows) == 2, rows
    assert "21/12/2026 24:00" in rows[0] and "Năm 2026" in rows[0] and "Kỳ đang mở" in rows[0]
    assert "Năm 2027" in rows[1] and "Dự kiến theo lịch" in rows[1] and "/12/2027" in rows[1]
    assert "Nộp báo cáo" in rows[0] and "Tổng hợp" not in " ".join(rows)


def test_lead_sees_its_own_deadline_to_the_recipient(portal: Harness) -> None:
    cycle, lead = cycle_and_lead(portal)
    assert cycle.lead_due_at is not None and cycle.lead_due_at > cycle.due_at
    html = portal.client.get(portal.url("agency", agency_id=lead)).text
    rows = deadlines_table(html)
    assert len(rows) == 2, rows
    assert all("Tổng hợp, báo cáo UBND tỉnh" in r for r in rows)
    assert "Kỳ đang mở" in rows[0] and "Năm 2027" in rows[1]
    # Its open cycle links to the lead's view of who has handed in, which opens.
    view = re.search(r'href="(/view/[^"]+)"', html)
    assert view and portal.client.get(view.group(1)).status_code == 200


def test_feeds_hold_the_year_ahead_with_links(portal: Harness) -> None:
    cycle, lead = cycle_and_lead(portal)
    feed = Calendar.from_ical(portal.client.get(portal.url("agency") + "/calendar.ics").content)
    events = list(feed.walk("VEVENT"))
    assert [str(e["SUMMARY"]).split(":")[0] for e in events] == [
        "Hạn báo cáo 6966/UBND-KTN · Năm 2026",
        "Hạn báo cáo 6966/UBND-KTN · Năm 2027",
    ]
    assert events[0].decoded("DTSTART") == cycle.due_at
    url = str(events[0]["URL"])
    assert url.startswith("http://portal.test/submit/")
    assert portal.client.get(url.removeprefix("http://portal.test")).status_code == 200
    assert "URL" not in events[1] and "kỳ báo cáo chưa mở" in str(events[1]["DESCRIPTION"])

    lead_feed = Calendar.from_ical(
        portal.client.get(portal.url("agency", agency_id=lead) + "/calendar.ics").content
    )
    lead_events = list(lead_feed.walk("VEVENT"))
    assert len(lead_events) == 2
    assert lead_events[0].decoded("DTSTART") == cycle.lead_due_at
    assert str(lead_events[0]["SUMMARY"]).startswith("Hạn tổng hợp, báo cáo 6966/UBND-KTN")
    assert len({str(e["UID"]) for e in [*events, *lead_events]}) == 4
