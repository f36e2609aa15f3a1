"""Agency calendars as iCalendar (RFC 5545) files, one event per deadline.

Built with the ``icalendar`` library: it folds long lines, escapes commas and
semicolons and writes UTF-8, so Vietnamese summaries keep their diacritics. Times carry
``TZID=Asia/Ho_Chi_Minh`` with its VTIMEZONE, so a client in another zone still shows the
office's 17:00.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event, Timezone

from models.db import TIMEZONE, TZ

PRODID = "-//hanbaocao//lịch hạn báo cáo//VI"
# A deadline is an instant, but RFC 5545 wants DTEND after DTSTART: a short slot ending
# after the deadline keeps DTSTART on the deadline itself, where calendars show it.
EVENT_LENGTH = timedelta(minutes=30)
VTIMEZONE_FROM, VTIMEZONE_TO = date(2000, 1, 1), date(2100, 1, 1)


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    uid: str  # stable across exports, e.g. "cycle-42-agency-7@hanbaocao", so clients update
    summary: str
    description: str
    due: datetime  # aware
    url: str | None = None
    alarm_days_before: int | None = None


def build_ics(
    entries: Iterable[CalendarEntry], *, calendar_name: str, stamp: datetime | None = None
) -> bytes:
    """A VCALENDAR with one VEVENT per entry. ``stamp`` (DTSTAMP, when the file was
    made) defaults to now; pass it to get byte-identical output."""
    made = (stamp or datetime.now(UTC)).astimezone(UTC)
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("name", calendar_name)  # RFC 7986
    cal.add("x-wr-calname", calendar_name)  # what Google Calendar and Outlook read
    cal.add("x-wr-timezone", TIMEZONE)
    cal.add_component(_vtimezone())
    for entry in entries:
        cal.add_component(_event(entry, made))
    data: bytes = cal.to_ical()  # typed Any by icalendar
    return data


def _vtimezone() -> Timezone:
    """Asia/Ho_Chi_Minh has been UTC+7 without daylight saving since 1975: one
    observance covers every deadline (the range only bounds the library's search)."""
    return Timezone.from_tzid(TIMEZONE, first_date=VTIMEZONE_FROM, last_date=VTIMEZONE_TO)


def _event(entry: CalendarEntry, stamp: datetime) -> Event:
    if not entry.uid.strip():
        raise ValueError("calendar entry without a uid: clients could not update it")
    if entry.due.tzinfo is None:
        raise ValueError(f"naive due time {entry.due!r}: give it a time zone")
    start = entry.due.astimezone(TZ)
    event = Event.new(
        uid=entry.uid,
        summary=entry.summary,
        description=entry.description,
        start=start,
        end=start + EVENT_LENGTH,
        stamp=stamp,
        url=entry.url,
    )
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    if entry.alarm_days_before is not None:
        event.add_component(_alarm(entry.summary, entry.alarm_days_before))
    return event


def _alarm(summary: str, days_before: int) -> Alarm:
    if days_before < 0:
        raise ValueError(f"“{summary}”: an alarm goes off before the deadline, not after")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)  # a DISPLAY alarm must have text to display
    alarm.add("trigger", -timedelta(days=days_before))
    return alarm
