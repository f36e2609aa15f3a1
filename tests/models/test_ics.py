"""ICS export: what the bytes say once a calendar client parses them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from models.ics import CalendarEntry, build_ics

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
STAMP = datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC)
ENTRIES = [
    CalendarEntry(
        uid="cycle-42-agency-7@hanbaocao",
        summary="Hạn báo cáo năm 2026 — Sở Xây dựng",
        description=(
            "Báo cáo kết quả thực hiện Công văn 6966/UBND-KTN; gửi UBND tỉnh (thông qua "
            "Sở Xây dựng), hạn 17 giờ 00 ngày 24/12/2026."
        ),
        due=datetime(2026, 12, 24, 17, 0, tzinfo=HCM),
        url="https://hanbaocao.example/nop/abc?token=x",
        alarm_days_before=3,
    ),
    CalendarEntry(
        uid="cycle-43-agency-7@hanbaocao",
        summary="Báo cáo quý I/2026: Ủy ban nhân dân xã Nghĩa Hành",
        description="Đồng bộ dữ liệu; ước thực hiện",
        due=datetime(2026, 4, 15, 10, 0, tzinfo=UTC),  # 17:00 in Vietnam
    ),
]


def parsed() -> Calendar:
    return Calendar.from_ical(
        build_ics(ENTRIES, calendar_name="Hạn báo cáo — Sở Xây dựng", stamp=STAMP)
    )


def test_calendar_properties_and_time_zone() -> None:
    cal = parsed()
    assert str(cal["X-WR-CALNAME"]) == "Hạn báo cáo — Sở Xây dựng"
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Ho_Chi_Minh"
    assert str(cal["VERSION"]) == "2.0" and "hanbaocao" in str(cal["PRODID"])
    zones = cal.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["Asia/Ho_Chi_Minh"]
    standard = zones[0].walk("STANDARD")
    assert [s["TZOFFSETTO"].td for s in standard] == [timedelta(hours=7)]
    assert zones[0].walk("DAYLIGHT") == []


def test_every_event_field_survives_the_round_trip() -> None:
    first, second = parsed().walk("VEVENT")
    assert str(first["UID"]) == "cycle-42-agency-7@hanbaocao"
    assert str(first["SUMMARY"]) == "Hạn báo cáo năm 2026 — Sở Xây dựng"
    assert str(first["DESCRIPTION"]) == ENTRIES[0].description  # commas and ; escaped
    assert str(first["URL"]) == "https://hanbaocao.example/nop/abc?token=x"
    start, end = first["DTSTART"], first["DTEND"]
    assert start.params["TZID"] == "Asia/Ho_Chi_Minh"
    assert start.dt == datetime(2026, 12, 24, 17, 0, tzinfo=HCM)
    assert start.dt.utcoffset() == timedelta(hours=7)
    assert end.dt - start.dt == timedelta(minutes=30)
    assert first["DTSTAMP"].dt == STAMP
    assert str(first["TRANSP"]) == "TRANSPARENT"
    (alarm,) = first.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(days=-3)
    assert str(alarm["DESCRIPTION"]) == "Hạn báo cáo năm 2026 — Sở Xây dựng"
    # A due time given in UTC is shown in Vietnam's time, with the zone named.
    assert str(second["SUMMARY"]) == "Báo cáo quý I/2026: Ủy ban nhân dân xã Nghĩa Hành"
    assert second["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert second["DTSTART"].dt == datetime(2026, 4, 15, 17, 0, tzinfo=HCM)
    assert "URL" not in second and second.walk("VALARM") == []


def test_raw_bytes_are_utf8_rfc5545() -> None:
    raw = build_ics(ENTRIES, calendar_name="Hạn báo cáo", stamp=STAMP)
    text = raw.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART;TZID=Asia/Ho_Chi_Minh:20261224T170000\r\n" in text
    assert "DTSTART;TZID=Asia/Ho_Chi_Minh:20260415T170000\r\n" in text
    assert "SUMMARY:Hạn báo cáo năm 2026 — Sở Xây dựng\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded
    assert text.count("BEGIN:VEVENT") == 2


def test_same_input_same_bytes() -> None:
    one = build_ics(ENTRIES, calendar_name="Lịch", stamp=STAMP)
    assert one == build_ics(ENTRIES, calendar_name="Lịch", stamp=STAMP)
    fresh = Calendar.from_ical(build_ics(ENTRIES[:1], calendar_name="Lịch"))
    assert fresh.walk("VEVENT")[0]["DTSTAMP"].dt.tzinfo is not None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (CalendarEntry(" ", "s", "d", datetime(2026, 1, 5, tzinfo=HCM)), "uid"),
        (CalendarEntry("u", "s", "d", datetime(2026, 1, 5)), "naive"),
        (CalendarEntry("u", "s", "d", datetime(2026, 1, 5, tzinfo=HCM), None, -1), "before"),
    ],
)
def test_bad_entries_are_refused(entry: CalendarEntry, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_ics([entry], calendar_name="x")
