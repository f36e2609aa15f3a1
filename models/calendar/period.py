"""Reporting periods (Nghị định 09/2019/NĐ-CP, Điều 12): spans, cut-off windows, keys.

A period has a calendar span (``start``..``end``: "2026-Q3" is July–September) and a
data cut-off window: the 15th of the month before the span's first month to the 14th
of its last month. Weekly periods are ISO weeks whose cut-off is the week itself.
Cycles are keyed by calendar span (``period_containing``); the cut-off window
(``cutoff_period``) answers "which period's figures does this day belong to". A
nine-month period ("2026-9M") spans January–September, cut-off 15/12 of the previous
year to 14/9.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import lru_cache

from directives.parsed import Deadline
from models.deadline_rules import (
    END_OF_DAY,
    check_periodic,
)

# A deadline without a stated time ends at 24:00 of its day (Bộ luật Dân sự 2015, Điều
# 147–148); a province's reading may set office hours instead (models.deadline_rules).
DEFAULT_DUE_TIME = END_OF_DAY
DEFAULT_SEND_AT = time(8, 0)  # reminders go out when offices open

# Months per period's span; weekly periods are counted in ISO weeks instead. A nine-month
# period (January–September, one a year) spans 9 months but recurs every 12 (``_RECUR``).
_MONTHS = {"annual": 12, "semiannual": 6, "nine_months": 9, "quarterly": 3, "monthly": 1}
_RECUR = {**_MONTHS, "nine_months": 12}
# Working days between a cycle's opening notice and the agencies' deadline.
DEFAULT_OPEN_LEAD: Mapping[str, int] = {
    "annual": 20,
    "semiannual": 15,
    "nine_months": 15,
    "quarterly": 10,
    "monthly": 5,
    "weekly": 2,
}


class UnsupportedDeadline(ValueError):
    """A deadline rule this calendar cannot evaluate without guessing."""

    def __init__(self, reason: str, rule: Deadline | None = None) -> None:
        said = f" (“{rule.raw}”)" if rule is not None and rule.raw else ""
        super().__init__(f"{reason}{said}")


# == Periods ================================================================================


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # "2026", "2026-H1", "2026-9M", "2026-Q3", "2026-11", "2026-W47"
    frequency: str
    start: date  # the calendar span the period covers
    end: date
    cutoff_start: date  # the data cut-off window (Nghị định 09, Điều 12)
    cutoff_end: date

    def __hash__(self) -> int:
        # The key alone names a period ("2026-11" can only be monthly); hashing it, a
        # cached str hash, keeps the per-period caches cheap on the hot path.
        return hash(self.key)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def in_cutoff(self, day: date) -> bool:
        return self.cutoff_start <= day <= self.cutoff_end

    def next(self) -> Period:
        return _period_at(self.frequency, _index_containing(self.frequency, self.start) + 1)

    def previous(self) -> Period:
        return _period_at(self.frequency, _index_containing(self.frequency, self.start) - 1)


def period_containing(frequency: str, day: date) -> Period:
    """The period whose calendar span contains ``day``: the one cycles are keyed by."""
    return _period_at(frequency, _index_containing(_periodic(frequency), day))


def cutoff_period(frequency: str, day: date) -> Period:
    """The period whose data cut-off window contains ``day``: 20/11/2026 belongs to
    monthly period 2026-12, whose window runs 15/11–14/12."""
    if _periodic(frequency) == "weekly":
        return period_containing(frequency, day)
    if frequency == "nine_months":
        # 15/12–14/9; a day from 15/9 to 14/12 is in no window: the coming one is given.
        return _period_at(frequency, day.year + (1 if (day.month, day.day) >= (9, 15) else 0))
    # Windows are the calendar spans moved back to the 15th of the month before.
    month = _month_index(day) + (1 if day.day >= 15 else 0)
    return _period_at(frequency, month // _MONTHS[frequency])


def periods(frequency: str, start_day: date, end_day: date) -> list[Period]:
    """Every period whose calendar span overlaps ``[start_day, end_day]``, in order."""
    first = _index_containing(_periodic(frequency), start_day)
    last = _index_containing(frequency, end_day)
    return [_period_at(frequency, i) for i in range(first, last + 1)]


_KEY = re.compile(
    r"(?P<year>\d{4})(?:-(?:H(?P<h>\d+)|Q(?P<q>\d+)|W(?P<w>\d+)|(?P<n>9M)|(?P<m>\d+)))?",
    re.ASCII,
)
YEARS = range(1900, 2201)  # the parser's range for dates, with room on both sides


def parse_period_key(key: str) -> Period:
    """The period a key names; ``ValueError`` saying what is wrong otherwise."""
    if _ONCE_KEY.fullmatch(key):
        return once_period(key)
    m = _KEY.fullmatch(key)
    if not m:
        raise ValueError(
            f"mã kỳ {key!r} không hợp lệ: viết 2026, 2026-H1, 2026-9M, 2026-Q3, 2026-11 "
            "hoặc 2026-W47"
        )
    year = int(m["year"])
    if year not in YEARS:
        raise ValueError(f"mã kỳ {key!r} không hợp lệ: năm phải từ {YEARS[0]} đến {YEARS[-1]}")
    if m["h"] is not None:
        return _period_at("semiannual", year * 2 + _in_range(key, m["h"], "half", 2) - 1)
    if m["n"] is not None:
        return _period_at("nine_months", year)
    if m["q"] is not None:
        return _period_at("quarterly", year * 4 + _in_range(key, m["q"], "quarter", 4) - 1)
    if m["m"] is not None:
        return _period_at("monthly", year * 12 + _in_range(key, m["m"], "month", 12, width=2) - 1)
    if m["w"] is not None:
        return _iso_week(key, year, _in_range(key, m["w"], "week", 53, width=2))
    return _period_at("annual", year)


# The parts of a period key, as a refusal names them.
_PART_VI = {"half": "nửa năm", "quarter": "quý", "month": "tháng", "week": "tuần"}

_ONCE_KEY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def once_period(key: str) -> Period:
    """A one-off report's only "period", keyed by its nominal deadline ("2026-12-19"):
    no cut-off window of its own, so the span and the window are that day."""
    try:
        day = date.fromisoformat(key)
    except ValueError:
        raise ValueError(f"mã kỳ {key!r} không hợp lệ: không có ngày này") from None
    return Period(key, "once", day, day, day, day)


def _in_range(key: str, text: str, what: str, top: int, *, width: int = 1) -> int:
    value = int(text)
    if len(text) != width or not 1 <= value <= top:
        low = "01" if width == 2 else "1"
        raise ValueError(f"mã kỳ {key!r} không hợp lệ: {_PART_VI[what]} phải từ {low} đến {top}")
    return value


def _iso_week(key: str, year: int, week: int) -> Period:
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(
            f"mã kỳ {key!r} không hợp lệ: năm {year} không có tuần {week} (theo ISO)"
        ) from None
    return _period_at("weekly", _index_containing("weekly", monday))


_periodic = check_periodic


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _month_end(index: int) -> date:
    first = _month_start(index)
    return first.replace(day=monthrange(first.year, first.month)[1])


def _index_containing(frequency: str, day: date) -> int:
    if frequency == "weekly":
        return (day.toordinal() - 1) // 7  # date.fromordinal(1) is a Monday
    if frequency == "nine_months":
        return day.year  # one a year, whatever the month
    return _month_index(day) // _MONTHS[frequency]


@lru_cache(maxsize=1 << 16)
def _period_at(frequency: str, index: int) -> Period:
    """Period number ``index`` of a frequency (cached: periods are immutable)."""
    if frequency == "weekly":
        monday = date.fromordinal(index * 7 + 1)
        iso = monday.isocalendar()
        end = monday + timedelta(days=6)
        return Period(f"{iso.year}-W{iso.week:02d}", frequency, monday, end, monday, end)
    months = _MONTHS[frequency]
    first = index * _RECUR[frequency]
    last = first + months - 1
    start = _month_start(first)
    return Period(
        key=_key(frequency, start),
        frequency=frequency,
        start=start,
        end=_month_end(last),
        cutoff_start=_month_start(first - 1).replace(day=15),
        cutoff_end=_month_start(last).replace(day=14),
    )


def _key(frequency: str, start: date) -> str:
    if frequency == "annual":
        return f"{start.year:04d}"
    if frequency == "semiannual":
        return f"{start.year:04d}-H{(start.month - 1) // 6 + 1}"
    if frequency == "nine_months":
        return f"{start.year:04d}-9M"
    if frequency == "quarterly":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year:04d}-{start.month:02d}"


_QUARTERS = ("I", "II", "III", "IV")


def period_label(period_key: str) -> str:
    """ "Năm 2026", "6 tháng đầu năm 2026", "9 tháng năm 2026", "Quý III/2026",
    "Tháng 11/2026", "Tuần 47/2026"; ``ValueError`` naming the accepted forms for anything else."""
    period = parse_period_key(period_key)
    year = period_key[:4]
    if period.frequency == "once":
        return f"Một lần (hạn {period.end:%d/%m/%Y})"
    if period.frequency == "annual":
        return f"Năm {year}"
    if period.frequency == "semiannual":
        half = "đầu" if period_key.endswith("H1") else "cuối"
        return f"6 tháng {half} năm {year}"
    if period.frequency == "nine_months":
        return f"9 tháng năm {year}"
    if period.frequency == "quarterly":
        return f"Quý {_QUARTERS[int(period_key[-1]) - 1]}/{year}"
    if period.frequency == "monthly":
        return f"Tháng {period_key[-2:]}/{year}"
    return f"Tuần {int(period_key[-2:])}/{year}"
