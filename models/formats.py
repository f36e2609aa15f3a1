"""Dates and times as people here read them: dd/mm/yyyy [HH:MM] in Asia/Ho_Chi_Minh.

Stored values are UTC (``models.db.UTCDateTime``); everything shown goes through here.
A deadline without a stated time is stored as its day's last second and reads 24:00,
as Bộ luật Dân sự puts it, not 23:59. Cheap to import (zoneinfo only)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

TIMEZONE = "Asia/Ho_Chi_Minh"
TZ = ZoneInfo(TIMEZONE)  # no DST: store UTC, show this
END_OF_DAY = time(23, 59, 59)  # a deadline "by day D" ends at D's last second
DATE = "%d/%m/%Y"
DATE_TIME = "%d/%m/%Y %H:%M"


def day_text(day: date | None) -> str:
    """ "05/01/2026"; "" for None."""
    return day.strftime(DATE) if day is not None else ""


def short_day(day: date) -> str:
    """A day as Vietnamese documents write it in running text: "1/7/2025"."""
    return f"{day.day}/{day.month}/{day.year}"


def local_day(moment: datetime | None) -> str:
    """The local day of ``moment``, dd/mm/yyyy; "" for None."""
    return moment.astimezone(TZ).strftime(DATE) if moment is not None else ""


def local_text(moment: datetime | None, fmt: str = DATE_TIME, *, day_end: bool = True) -> str:
    """``moment`` in local time ("" for None); with ``day_end``, a day's last second
    reads 24:00."""
    if moment is None:
        return ""
    local = moment.astimezone(TZ)
    if day_end and local.time() == END_OF_DAY:
        return local.strftime(fmt.replace("%H:%M", "24:00"))
    return local.strftime(fmt)
