"""The reporting calendar: periods, deadlines, levels, reminders and cycle opening.

Pure functions over dates; working days come from ``models.workdays``. Times are aware
datetimes in Asia/Ho_Chi_Minh (UTC+7 all year: no daylight saving), which is what users
read; ``Due.at_utc`` is what gets stored and compared.

Periods (Nghị định 09/2019/NĐ-CP, Điều 12)
    A period has a calendar span (``start``..``end``: "2026-Q3" is July–September) and a
    data cut-off window: the 15th of the month before the span's first month to the 14th
    of its last month. Weekly periods are ISO weeks whose cut-off is the week itself.
    Cycles are keyed by calendar span (``period_containing``); the cut-off window
    (``cutoff_period``) answers "which period's figures does this day belong to". A
    nine-month period ("2026-9M") spans January–September, cut-off 15/12 of the previous
    year to 14/9.

Deadlines
    ``evaluate`` turns the parser's ``Deadline`` into a ``Due`` for one period: the
    deadline to the obligation's recipient. ``levels`` splits it into the agencies'
    deadline to the lead Sở and the lead's own (Điều 8 khoản 5 điểm b). A rule that
    cannot be read without guessing raises ``UnsupportedDeadline``.

Reminders and opening
    ``Ladder`` is the escalation policy as data; ``schedule`` places its stages on
    working days. ``cycle_open_date`` is the exact opening day; ``opening_rrule`` the
    calendar-only schedule that starts the flow, which then recomputes the exact days.
"""

from __future__ import annotations

import math
import re
import unicodedata
from calendar import monthrange
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache, partial
from typing import Any

from directives.model import PERIODIC, Deadline
from models.db import TIMEZONE, TZ
from models.deadline_rules import (
    DEFAULT_PROVINCE,
    END_OF_DAY,
    DeadlineDefaults,
    DefaultDeadline,
    check_periodic,
    is_before_exclusive,
    packaged_defaults,
)
from models.formats import local_text as local_text
from models.workdays import RollPolicy, WorkCalendar

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
            f"bad period key {key!r}: use 2026, 2026-H1, 2026-9M, 2026-Q3, 2026-11 or 2026-W47"
        )
    year = int(m["year"])
    if year not in YEARS:
        raise ValueError(f"bad period key {key!r}: the year must be {YEARS[0]}–{YEARS[-1]}")
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


_ONCE_KEY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def once_period(key: str) -> Period:
    """A one-off report's only "period", keyed by its nominal deadline ("2026-12-19"):
    no cut-off window of its own, so the span and the window are that day."""
    try:
        day = date.fromisoformat(key)
    except ValueError:
        raise ValueError(f"bad period key {key!r}: no such day") from None
    return Period(key, "once", day, day, day, day)


def _in_range(key: str, text: str, what: str, top: int, *, width: int = 1) -> int:
    value = int(text)
    if len(text) != width or not 1 <= value <= top:
        low = "01" if width == 2 else "1"
        raise ValueError(f"bad period key {key!r}: the {what} must be {low}–{top}")
    return value


def _iso_week(key: str, year: int, week: int) -> Period:
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"bad period key {key!r}: ISO year {year} has no week {week}") from None
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


# == Anchors ================================================================================
# The parser hands anchors over as the clause's own words. They are matched on a folded
# form (NFC, case-folded, single spaces; diacritics kept, as they carry meaning: "năm" is
# a year, "nam" is not). An anchor that matches nothing is refused, never guessed.


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFC", text).casefold().replace("hàng", "hằng")
    return " ".join(folded.split())


_ORDINALS = {
    "đầu tiên": 1,
    "đầu": 1,
    "thứ nhất": 1,
    "thứ hai": 2,
    "thứ ba": 3,
    "thứ tư": 4,
    "thứ năm": 5,
    "thứ sáu": 6,
    "cuối cùng": -1,
    "cuối": -1,
}
_UNITS = {
    "quý": "quarterly",
    "9 tháng": "nine_months",
    "chín tháng": "nine_months",
    "6 tháng": "semiannual",
    "sáu tháng": "semiannual",
    "nửa năm": "semiannual",
    "năm": "annual",
    "tháng": "monthly",
    "kỳ báo cáo": None,  # the obligation's own period, whatever its length
    "kỳ": None,
}
_UNIT = r"(?P<unit>quý|9 tháng|chín tháng|6 tháng|sáu tháng|nửa năm|năm|kỳ báo cáo|kỳ)"
_NEXT = r"(?: (?:sau|tiếp theo|kế tiếp))?(?: liền kề)?"
# "tháng thứ ba của mỗi quý", "tháng cuối quý", "tháng đầu tiên của quý sau liền kề"
_MONTH_OF_PERIOD = re.compile(
    r"tháng (?P<ord>đầu tiên|đầu|cuối cùng|cuối|thứ (?:nhất|hai|ba|tư|năm|sáu|\d{1,2}))"
    rf"(?: (?:của|trong))?(?: (?:mỗi|hằng))? {_UNIT}(?P<next>{_NEXT})"
)
# "tháng tiếp theo sau tháng kỳ báo cáo", "tháng sau"
_MONTH_AFTER = re.compile(
    r"tháng (?:tiếp theo|sau|kế tiếp)(?: sau tháng (?:cuối(?: cùng)? (?:của )?)?kỳ báo cáo)?"
)
# "năm kế tiếp của năm báo cáo", "năm sau"
_YEAR_AFTER = re.compile(r"năm (?:kế tiếp|tiếp theo|sau)(?: (?:của|sau) năm báo cáo)?(?: liền kề)?")
# Relative deadlines counted from the period's end: "sau khi kết thúc quý", "kể từ ngày
# kết thúc năm báo cáo" (but not "kết thúc năm học"), "20 ngày đầu quý sau liền kề".
_ANY_UNIT = r"(?P<unit>quý|9 tháng|chín tháng|6 tháng|sáu tháng|nửa năm|năm|tháng|kỳ báo cáo|kỳ)"
_PERIOD_END = re.compile(rf"(?:kết thúc|hết) {_ANY_UNIT}(?= báo cáo| tài chính|$)")
_NEXT_PERIOD_START = re.compile(rf"đầu {_ANY_UNIT} (?:sau|tiếp theo|kế tiếp)(?: liền kề)?")


@dataclass(frozen=True, slots=True)
class _MonthAnchor:
    """Which month of which period a day-of-period deadline falls in."""

    month: int  # 1-based month of the period; -1 for its last month
    next_period: bool  # of the period after the reported one


@lru_cache(maxsize=4096)
def _month_anchor(anchor: str, frequency: str) -> _MonthAnchor | None:
    """The month an anchor names, None when it names none (then it may name a year)."""
    folded = _fold(anchor)
    if _MONTH_AFTER.fullmatch(folded):
        return _MonthAnchor(1, next_period=True)
    m = _MONTH_OF_PERIOD.fullmatch(folded)
    if m is None:
        return None
    _check_unit(m["unit"], frequency, anchor)
    word = m["ord"]
    month = _ORDINALS[word] if word in _ORDINALS else int(word.split()[1])
    if month > _MONTHS[frequency]:
        raise UnsupportedDeadline(f"“{anchor}”: a {frequency} period has no month {month}")
    return _MonthAnchor(month, next_period=bool(m["next"].strip()))


def _check_unit(unit: str, frequency: str, anchor: str) -> None:
    """An anchor speaking of a quarter cannot place an annual report's deadline."""
    expected = _UNITS[unit]
    if expected is not None and expected != frequency:
        raise UnsupportedDeadline(f"“{anchor}” speaks of “{unit}” but the report is {frequency}")


def _is_year_after(anchor: str) -> bool:
    return _YEAR_AFTER.fullmatch(_fold(anchor)) is not None


@lru_cache(maxsize=4096)
def _period_end_anchor(anchor: str | None, frequency: str) -> bool:
    """True when a relative deadline counts from the period's end."""
    if not anchor:
        return False
    folded = _fold(anchor)
    m = _PERIOD_END.search(folded) or _NEXT_PERIOD_START.fullmatch(folded)
    if m is None:
        return False
    _check_unit(m["unit"], frequency, anchor)
    return True


# == Placing a deadline in a period =========================================================


def _clamped(year: int, month: int, day: int) -> date:
    """Day ``day`` of a month, or its last day: "ngày 30 hằng tháng" in February."""
    if day <= 28:  # every month has it; skip the month-length look-up on the hot path
        return date(year, month, day)
    return date(year, month, min(day, monthrange(year, month)[1]))


def _on_month(index: int, day: int) -> date:
    return _clamped(index // 12, index % 12 + 1, day)


def _place(rule: Deadline, frequency: str, period: Period) -> date:
    """The nominal date of a day-of-period deadline in ``period`` (no roll)."""
    day = rule.day
    if day is None or not 1 <= day <= 31:
        raise UnsupportedDeadline("a day-of-period deadline needs a day 1–31", rule)
    if frequency == "weekly":
        raise UnsupportedDeadline("a weekly report cannot fall on a day of the month", rule)
    if rule.month is not None:
        return _place_day_month(rule, frequency, period, day, rule.month)
    return _place_day(rule, frequency, period, day)


def _place_day_month(rule: Deadline, frequency: str, period: Period, day: int, month: int) -> date:
    if frequency == "monthly" or not 1 <= month <= 12:
        raise UnsupportedDeadline(f"a {frequency} report cannot take day and month {month}", rule)
    if rule.anchor:
        if frequency == "annual" and _is_year_after(rule.anchor):
            return _clamped(period.end.year + 1, month, day)
        raise UnsupportedDeadline(f"unknown anchor “{rule.anchor}” for a dated deadline", rule)
    return _first_month_from(period, month, day)


def _first_month_from(period: Period, month: int, day: int) -> date:
    """A stated day and month falls in the first matching month from the month in which
    the period's cut-off ends: the same position in every period (15/6 is 15/6 for H1
    and 15/12 for H2), and a date before that month belongs to the period's successor,
    since a report cannot fall due months before its figures are closed (annual 30/4 is
    30/4 of the next year). A date inside the cut-off month stays in it: "6 tháng (trước
    ngày 10/6)" reports the first half with estimated figures, a practice Nghị định 09
    tolerates only where the clause says so; ``evaluate`` flags it."""
    months = _RECUR[period.frequency]
    first = _month_index(period.cutoff_end)
    index = first + (month - 1 - first) % months
    return _on_month(index, day)


def _place_day(rule: Deadline, frequency: str, period: Period, day: int) -> date:
    months = _MONTHS[frequency]
    start = _month_index(period.start)
    if not rule.anchor:
        if frequency != "monthly":
            raise UnsupportedDeadline(
                f"a {frequency} deadline needs its month (e.g. “tháng cuối quý”)", rule
            )
        return _on_month(start, day)
    anchor = _month_anchor(rule.anchor, frequency)
    if anchor is None:
        raise UnsupportedDeadline(f"unknown anchor “{rule.anchor}”", rule)
    base = start + (_RECUR[frequency] if anchor.next_period else 0)
    month = months if anchor.month == -1 else anchor.month
    return _on_month(base + month - 1, day)


def _relative_base(
    rule: Deadline, frequency: str, period: Period | None, event: date | None
) -> date:
    """The day a relative deadline counts from: the period's end or the event's day."""
    if _period_end_anchor(rule.anchor, frequency):
        if period is None:
            raise UnsupportedDeadline(
                "a deadline counted from the period's end needs a period", rule
            )
        return period.end
    if event is None:
        what = f"“{rule.anchor}”" if rule.anchor else "the event"
        raise UnsupportedDeadline(f"a deadline counted from {what} needs the event's date", rule)
    return event


def _relative_day(
    rule: Deadline, frequency: str, period: Period | None, event: date | None, cal: WorkCalendar
) -> date:
    if rule.offset_days is None or rule.offset_days < 0:
        raise UnsupportedDeadline("a relative deadline needs its number of days", rule)
    base = _relative_base(rule, frequency, period, event)
    # "ngày" alone means calendar days (Bộ luật Dân sự, Điều 147: counted from the next day).
    if rule.working_days:
        return cal.add_working_days(base, rule.offset_days)
    return base + timedelta(days=rule.offset_days)


def _fixed_day(rule: Deadline) -> date:
    try:
        return date.fromisoformat(rule.date or "")
    except ValueError:
        raise UnsupportedDeadline("a dated deadline needs an ISO date", rule) from None


_TIME = re.compile(r"(\d{1,2})\s*(?::|h|giờ)\s*(\d{2})?")


def _time_of(rule: Deadline, default: time) -> time:
    """The rule's time of day ("14:00", "14h00"), else the default."""
    if not rule.time:
        return default
    m = _TIME.fullmatch(rule.time.strip().casefold())
    if not m or int(m[1]) > 23 or int(m[2] or 0) > 59:
        raise UnsupportedDeadline(f"bad time of day {rule.time!r}", rule)
    return time(int(m[1]), int(m[2] or 0))


# == Evaluation =============================================================================


@dataclass(frozen=True, slots=True)
class Due:
    """A deadline. Without a stated time, ``at`` is the end of its day (24:00, stored as
    ``END_OF_DAY``: Bộ luật Dân sự 2015, Điều 147–148) unless the province's reading sets
    office hours. ``words`` are the clause's own ("trước ngày 15/12 hằng năm"), shown
    beside the date; ``exclusive`` says "trước ngày X" was read as due by the end of X−1."""

    at: datetime  # aware, Asia/Ho_Chi_Minh
    nominal_date: date  # before rolling off a day off
    rolled: bool
    source: str  # "clause" or "default: <source>"
    cutoff_end: date | None = None  # of the period, when there is one
    warning: str | None = None
    words: str | None = None
    exclusive: bool = False

    @property
    def is_default(self) -> bool:
        """The administrator's default, not the directive's."""
        return self.source.startswith("default")

    @property
    def day(self) -> date:
        return self.at.astimezone(TZ).date()

    @property
    def at_utc(self) -> datetime:
        return self.at.astimezone(UTC)


def evaluate(
    rule: Deadline,
    frequency: str,
    period: Period | None,
    *,
    calendar: WorkCalendar,
    defaults: DeadlineDefaults | None = None,
    event_date: date | None = None,
    roll: RollPolicy = RollPolicy.FORWARD,
    province: str = DEFAULT_PROVINCE,
    due_time: time | None = None,
) -> Due:
    """The deadline, to the obligation's recipient, of ``period``'s report.

    A rule without a deadline takes the province's default: the end of the chain (the
    lead Sở's consolidated report), rolled back to a working day; feed the result to
    ``levels(..., lead_days=default.lead_days)`` for both levels. "Trước ngày X" is due
    by the end of X−1 unless the province reads it inclusively; ``due_time`` (default:
    the province's reading, 24:00) applies when the rule states no time.
    Raises ``UnsupportedDeadline`` for a rule it cannot read without guessing.
    """
    _check_period(frequency, period)
    table = defaults or packaged_defaults()
    reading = table.reading(province)
    at = due_time or reading.due_time
    if rule.kind == "none":
        if frequency not in PERIODIC:
            raise UnsupportedDeadline(
                f"no deadline stated, and a {frequency} report has no default"
            )
        return _default_due(table.lookup(province, frequency), period, calendar, at)
    nominal = _nominal_day(rule, frequency, period, event_date, calendar)
    exclusive = is_before_exclusive(rule, reading)
    if exclusive:
        nominal -= timedelta(days=1)
    due = _make_due(nominal, _time_of(rule, at), "clause", period, calendar, roll)
    return replace(due, words=rule.raw, exclusive=exclusive)


def _check_period(frequency: str, period: Period | None) -> None:
    if frequency in PERIODIC and period is None:
        raise ValueError(f"a {frequency} deadline is evaluated for a period")
    if period is not None and period.frequency != frequency:
        raise ValueError(f"period {period.key} is {period.frequency}, not {frequency}")


def _nominal_day(
    rule: Deadline, frequency: str, period: Period | None, event: date | None, cal: WorkCalendar
) -> date:
    if rule.kind == "date":
        if period is not None:  # every period would get the same day
            raise UnsupportedDeadline(f"a one-off date cannot recur {frequency}", rule)
        return _fixed_day(rule)
    if rule.kind == "relative":
        return _relative_day(rule, frequency, period, event, cal)
    if rule.kind == "day_of_period" and period is not None:
        return _place(rule, frequency, period)
    raise UnsupportedDeadline(
        f"cannot evaluate a {rule.kind} deadline for a {frequency} report", rule
    )


def _make_due(
    nominal: date,
    at: time,
    source: str,
    period: Period | None,
    cal: WorkCalendar,
    roll: RollPolicy,
) -> Due:
    day = cal.roll(nominal, roll)
    if period is None:
        return Due(_local(day, at), nominal, day != nominal, source)
    warning = None
    if day < earliest_deadline(period, cal):
        # A clause may set a deadline before the cut-off ends (estimated figures): keep
        # it, since the clause is the rule, but say so.
        warning = (
            f"hạn {day:%d/%m/%Y} chưa cách thời điểm chốt số liệu {period.cutoff_end:%d/%m/%Y} "
            "ít nhất 01 ngày làm việc (Nghị định 09/2019/NĐ-CP, Điều 8 khoản 5 điểm b)"
        )
    return Due(_local(day, at), nominal, day != nominal, source, period.cutoff_end, warning)


@lru_cache(maxsize=1 << 16)
def earliest_deadline(period: Period, calendar: WorkCalendar) -> date:
    """The first day a report of ``period`` may fall due: one working day after its
    cut-off ends (Nghị định 09/2019/NĐ-CP, Điều 8 khoản 5 điểm b)."""
    return calendar.add_working_days(period.cutoff_end, 1)


@lru_cache(maxsize=1 << 16)  # most obligations state no deadline and share these
def _default_due(
    default: DefaultDeadline, period: Period | None, cal: WorkCalendar, due_time: time
) -> Due:
    if period is None:
        raise UnsupportedDeadline(f"a {default.frequency} default needs a period")
    nominal = _nominal_day(default.lead, default.frequency, period, None, cal)
    # The chain must end before the default's day: back to a working day, never later.
    # Still at least ``lead_days`` + 1 working days after the cut-off, so that both
    # levels can meet Nghị định 09 (Điều 8 khoản 5 điểm b).
    floor = cal.add_working_days(earliest_deadline(period, cal), default.lead_days)
    lead_day = max(cal.roll_backward(nominal), floor)
    return Due(
        _local(lead_day, due_time), nominal, lead_day != nominal, default.source, period.cutoff_end
    )


# == Levels (Nghị định 09, Điều 8 khoản 5 điểm b) ===========================================


@dataclass(frozen=True, slots=True)
class LevelledDue:
    agencies: Due  # the agencies' deadline to the lead Sở
    lead: Due  # the lead Sở's deadline to the recipient
    warning: str | None = None


def levels(due_to_recipient: Due, *, lead_days: int = 3, calendar: WorkCalendar) -> LevelledDue:
    """Both deadlines of a report consolidated by a lead Sở, on working days, the
    agencies' ``lead_days`` working days before the lead's and still at least one working
    day after the cut-off. When both cannot hold, the lead keeps fewer days (and, as a
    last resort, the agencies' deadline precedes the Nghị định 09 minimum): ``warning``
    says which."""
    if lead_days < 1:
        raise ValueError("the lead Sở needs at least one working day")
    base = due_to_recipient
    lead_day = calendar.roll_backward(base.day)  # never after the recipient's deadline
    agencies_day, warning = _agencies_day(lead_day, lead_days, base.cutoff_end, calendar)
    at = base.at.astimezone(TZ).time()
    lead = Due(_local(lead_day, at), lead_day, False, base.source, base.cutoff_end, base.warning)
    source = f"{lead_days} ngày làm việc trước hạn của cơ quan chủ trì; {base.source}"
    agencies = Due(_local(agencies_day, at), agencies_day, False, source, base.cutoff_end, warning)
    return LevelledDue(agencies, lead, warning)


def _agencies_day(
    lead_day: date, lead_days: int, cutoff_end: date | None, cal: WorkCalendar
) -> tuple[date, str | None]:
    wanted = cal.add_working_days(lead_day, -lead_days)
    if cutoff_end is None:
        return wanted, None
    earliest = cal.add_working_days(cutoff_end, 1)
    if wanted >= earliest:
        return wanted, None
    if earliest < lead_day:
        kept = cal.working_days_between(earliest, lead_day)
        return (
            earliest,
            f"cơ quan chủ trì chỉ còn {kept} ngày làm việc để tổng hợp (thay vì {lead_days})",
        )
    day = cal.add_working_days(lead_day, -1)
    return day, (
        "không đủ thời gian sau thời điểm chốt số liệu: hạn của các cơ quan sớm hơn mức tối "
        "thiểu của Nghị định 09/2019/NĐ-CP (Điều 8 khoản 5 điểm b)"
    )


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, TZ)


# == Reminder ladder ========================================================================


class Audience(StrEnum):
    AGENCY = "agency"
    LEAD = "lead"
    RECIPIENT = "recipient"


class StageAnchor(StrEnum):
    OPEN = "open"  # the day the cycle opens
    DUE = "due"  # the agencies' deadline
    LEAD_DUE = "lead_due"  # the lead Sở's own deadline to the recipient


_STAGE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True, slots=True)
class LadderStage:
    name: str  # stable slug: part of the outbox's unique key
    anchor: StageAnchor
    offset: int  # working days from the anchor (negative: before it)
    audience: Audience

    @property
    def is_opening(self) -> bool:
        return self.anchor is StageAnchor.OPEN and self.offset == 0


@dataclass(frozen=True, slots=True)
class Ladder:
    """An ordered escalation policy, like an on-call one; data, so that an obligation
    can carry its own (``from_data`` / ``to_data`` round-trip through JSON)."""

    stages: tuple[LadderStage, ...]

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Ladder:
        rows = data.get("stages", []) if isinstance(data, Mapping) else data
        stages = tuple(_stage(row) for row in rows)
        for s in stages:
            if s.anchor is StageAnchor.LEAD_DUE and s.audience is not Audience.LEAD:
                raise ValueError(f"ladder: stage {s.name}: the lead's deadline concerns the lead")
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"ladder: stage names must be unique: {names}")
        return cls(stages)

    def to_data(self) -> dict[str, Any]:
        return {
            "stages": [
                {
                    "name": s.name,
                    "anchor": str(s.anchor),
                    "offset": s.offset,
                    "audience": str(s.audience),
                }
                for s in self.stages
            ]
        }


def _stage(row: Mapping[str, Any]) -> LadderStage:
    name, offset = str(row.get("name", "")), row.get("offset")
    if not _STAGE_NAME.fullmatch(name):
        raise ValueError(f"ladder: bad stage name {name!r} (lowercase letters, digits, dashes)")
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise ValueError(f"ladder: stage {name}: offset must be a whole number of working days")
    try:
        return LadderStage(
            name, StageAnchor(str(row.get("anchor"))), offset, Audience(str(row.get("audience")))
        )
    except ValueError as exc:
        raise ValueError(f"ladder: stage {name}: {exc}") from None


DEFAULT_LADDER = Ladder(
    (
        LadderStage("opened", StageAnchor.OPEN, 0, Audience.AGENCY),
        LadderStage("reminder-7", StageAnchor.DUE, -7, Audience.AGENCY),
        LadderStage("reminder-3", StageAnchor.DUE, -3, Audience.AGENCY),
        LadderStage("reminder-1", StageAnchor.DUE, -1, Audience.AGENCY),
        LadderStage("due-day", StageAnchor.DUE, 0, Audience.AGENCY),
        LadderStage("overdue", StageAnchor.DUE, 1, Audience.AGENCY),
        # The lead hears of the late agencies the working day after their deadline, so that
        # it can still chase them before its own deadline, of which it is reminded too.
        LadderStage("lead-reminder-3", StageAnchor.LEAD_DUE, -3, Audience.LEAD),
        LadderStage("escalation-lead", StageAnchor.DUE, 1, Audience.LEAD),
        LadderStage("lead-reminder-1", StageAnchor.LEAD_DUE, -1, Audience.LEAD),
        LadderStage("lead-due-day", StageAnchor.LEAD_DUE, 0, Audience.LEAD),
        LadderStage("escalation-recipient", StageAnchor.DUE, 7, Audience.RECIPIENT),
    )
)


@dataclass(frozen=True, slots=True)
class ScheduledStage:
    stage: LadderStage
    at: datetime  # aware, local office time on a working day
    also: tuple[str, ...] = ()  # stages folded into this one (same day, same audience)

    @property
    def name(self) -> str:
        return self.stage.name


def schedule(
    ladder: Ladder,
    opened_at: datetime,
    due: Due | datetime,
    calendar: WorkCalendar,
    send_at: time = DEFAULT_SEND_AT,
    *,
    lead_due: Due | datetime | None = None,
) -> list[ScheduledStage]:
    """When each stage of the ladder goes out, at ``send_at`` on working days.

    A cycle opened late skips the stages already past, never its opening notice. At most
    one message per audience per day: stages that meet on a day fold into one, the later
    stage winning, except that the opening notice always wins (it carries the link and is
    the agency's first word of the cycle); ``also`` names the folded ones. On the opening
    day, ``at`` may precede ``opened_at``: send at once. Stages anchored on the lead's
    deadline are left out when there is none (``lead_due``).
    """
    open_day = calendar.roll_forward(_local_day(opened_at))
    due_day = calendar.roll_forward(_local_day(due))
    lead_day = calendar.roll_forward(_local_day(lead_due)) if lead_due is not None else None
    return list(_schedule(ladder, open_day, due_day, lead_day, calendar, send_at))


@lru_cache(maxsize=1 << 14)  # cycles of one frequency share their open and due days
def _schedule(
    ladder: Ladder,
    open_day: date,
    due_day: date,
    lead_day: date | None,
    calendar: WorkCalendar,
    send_at: time,
) -> tuple[ScheduledStage, ...]:
    groups: dict[tuple[date, Audience], list[int]] = {}
    bases = {StageAnchor.OPEN: open_day, StageAnchor.DUE: due_day, StageAnchor.LEAD_DUE: lead_day}
    for position, stage in enumerate(ladder.stages):
        base = bases[stage.anchor]
        if base is None:
            continue  # no lead deadline: no lead reminders
        day = calendar.add_working_days(base, stage.offset)
        if day < open_day:
            if not stage.is_opening:
                continue  # already past when the cycle opened
            day = open_day
        groups.setdefault((day, stage.audience), []).append(position)
    folded = sorted(
        (day, *_fold_stages(ladder, positions)) for (day, _), positions in groups.items()
    )
    return tuple(
        ScheduledStage(ladder.stages[winner], _local(day, send_at), also)
        for day, winner, also in folded
    )


def _fold_stages(ladder: Ladder, positions: list[int]) -> tuple[int, tuple[str, ...]]:
    """The stage that speaks for one day and audience, and the names folded into it."""
    if len(positions) == 1:
        return positions[0], ()
    openings = [p for p in positions if ladder.stages[p].is_opening]
    winner = openings[0] if openings else positions[-1]  # positions ascend
    return winner, tuple(ladder.stages[p].name for p in positions if p != winner)


def _local_day(moment: Due | datetime) -> date:
    if isinstance(moment, Due):
        return moment.day
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give it a time zone")
    return moment.astimezone(TZ).date()


# == Opening cycles =========================================================================


def cycle_open_date(
    period: Period,
    due: Due | date,
    *,
    calendar: WorkCalendar,
    lead_time_days: Mapping[str, int] = DEFAULT_OPEN_LEAD,
) -> date:
    """The working day a cycle opens: ``lead_time_days[frequency]`` working days before
    the agencies' deadline ``due``, but never before the period starts (nor after
    ``due``)."""
    due_day = due.day if isinstance(due, Due) else due
    wanted = calendar.add_working_days(due_day, -lead_time_days[period.frequency])
    opened = max(wanted, calendar.roll_forward(period.start))
    return min(opened, calendar.roll_backward(due_day))


def _nominal_shift(frequency: str, day: date, n: int) -> date:
    """``day`` moved ``n`` working days as a calendar-only schedule can: weekends counted,
    public holidays not (RRULE knows neither). Weekly periods meet the same weekdays every
    time, so the count is exact. Month-based periods meet other weekdays every year, so the
    shift leans early: the most calendar days ``n`` working days can take going back (a run
    of five crosses at most one weekend), the fewest going forward."""
    if frequency == "weekly":
        return _add_weekdays(day, n)
    if n >= 0:
        return day + timedelta(days=n + 2 * ((n - 1) // 5) if n else 0)
    return day - timedelta(days=-n + 2 * math.ceil(-n / 5))


def _add_weekdays(day: date, n: int) -> date:
    step = 1 if n > 0 else -1
    while n:
        day += timedelta(days=step)
        if day.weekday() < 5:
            n -= step
    return day


def nominal_open_day(
    frequency: str,
    rule: Deadline,
    period: Period,
    *,
    defaults: DeadlineDefaults | None = None,
    province: str = DEFAULT_PROVINCE,
    lead_days: int = 3,
    lead_time_days: Mapping[str, int] = DEFAULT_OPEN_LEAD,
) -> date:
    """The calendar-only opening day ``opening_rrule`` fires on: the agencies' nominal
    deadline less the opening lead (see ``_nominal_shift``), never before the period
    starts. It is not later than ``cycle_open_date`` unless public holidays intervene."""
    if rule.kind == "none":
        default = (defaults or packaged_defaults()).lookup(province, frequency)
        rule, lead_days = default.lead, default.lead_days
    agency = _nominal_shift(frequency, _calendar_nominal(rule, frequency, period), -lead_days)
    opened = _nominal_shift(frequency, agency, -lead_time_days[frequency])
    return max(opened, period.start)


def _calendar_nominal(rule: Deadline, frequency: str, period: Period) -> date:
    if rule.kind == "day_of_period":
        return _place(rule, frequency, period)
    if rule.kind == "relative" and _period_end_anchor(rule.anchor, frequency):
        days = rule.offset_days or 0
        if rule.working_days:
            return _nominal_shift(frequency, period.end, days)
        return period.end + timedelta(days=days)
    raise UnsupportedDeadline(f"a {rule.kind} deadline has no recurring opening day", rule)


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def opening_rrule(
    frequency: str,
    rule: Deadline,
    *,
    start: date,
    defaults: DeadlineDefaults | None = None,
    province: str = DEFAULT_PROVINCE,
    lead_days: int = 3,
    lead_time_days: Mapping[str, int] = DEFAULT_OPEN_LEAD,
    send_at: time = DEFAULT_SEND_AT,
) -> str:
    """An RFC 5545 schedule firing on each period's nominal opening day, from ``start``:
    a ``DTSTART;TZID=Asia/Ho_Chi_Minh`` line (the first firing) and an ``RRULE`` line.

    RRULE cannot count working days or follow holidays: it fires on ``nominal_open_day``
    (days of month past the 28th are brought back to the 28th so that every month has
    one), and the flow it starts recomputes the exact dates with ``cycle_open_date`` and
    ``evaluate``. Use ``period_for_opening`` to find which period a firing is for.
    """
    _periodic(frequency)
    nominal = partial(
        nominal_open_day,
        frequency,
        rule,
        defaults=defaults,
        province=province,
        lead_days=lead_days,
        lead_time_days=lead_time_days,
    )
    # A report due well after its period (annual, due 30/4 of the next year) opens in a
    # later period's span: start two periods back and take the first opening from start.
    period = period_containing(frequency, start).previous().previous()
    while (first := _rule_day(nominal(period))) < start:
        period = period.next()
    when = datetime.combine(first, send_at)
    return (
        f"DTSTART;TZID={TIMEZONE}:{when:%Y%m%dT%H%M%S}\nRRULE:{_rrule(frequency, first, send_at)}"
    )


def _rule_day(day: date) -> date:
    return day.replace(day=min(day.day, 28))


def _rrule(frequency: str, first: date, send_at: time) -> str:
    at = f"BYHOUR={send_at.hour};BYMINUTE={send_at.minute}"
    if frequency == "weekly":
        return f"FREQ=WEEKLY;BYDAY={_WEEKDAYS[first.weekday()]};{at}"
    if frequency == "monthly":
        return f"FREQ=MONTHLY;BYMONTHDAY={first.day};{at}"
    step = _RECUR[frequency]
    months = ",".join(str((first.month - 1) % step + 1 + k) for k in range(0, 12, step))
    return f"FREQ=YEARLY;BYMONTH={months};BYMONTHDAY={first.day};{at}"


def period_for_opening(
    frequency: str,
    rule: Deadline,
    fired_on: date,
    *,
    defaults: DeadlineDefaults | None = None,
    province: str = DEFAULT_PROVINCE,
    lead_days: int = 3,
    lead_time_days: Mapping[str, int] = DEFAULT_OPEN_LEAD,
) -> Period:
    """The period whose nominal opening day is nearest ``fired_on``: the one a firing of
    ``opening_rrule`` opens. Not simply the period containing it: an annual report due
    30/4 of the following year opens in the following year."""
    nominal = partial(
        nominal_open_day,
        frequency,
        rule,
        defaults=defaults,
        province=province,
        lead_days=lead_days,
        lead_time_days=lead_time_days,
    )
    here = period_containing(frequency, fired_on)
    candidates = [here.previous().previous(), here.previous(), here, here.next()]
    return min(candidates, key=lambda p: abs((_rule_day(nominal(p)) - fired_on).days))


__all__ = [
    "DEFAULT_DUE_TIME",
    "DEFAULT_LADDER",
    "DEFAULT_OPEN_LEAD",
    "DEFAULT_PROVINCE",
    "DEFAULT_SEND_AT",
    "PERIODIC",
    "TZ",
    "Audience",
    "DeadlineDefaults",
    "DefaultDeadline",
    "Due",
    "Ladder",
    "LadderStage",
    "LevelledDue",
    "Period",
    "RollPolicy",
    "ScheduledStage",
    "StageAnchor",
    "UnsupportedDeadline",
    "cutoff_period",
    "cycle_open_date",
    "earliest_deadline",
    "evaluate",
    "levels",
    "nominal_open_day",
    "once_period",
    "opening_rrule",
    "packaged_defaults",
    "parse_period_key",
    "period_containing",
    "period_for_opening",
    "periods",
    "schedule",
]


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
