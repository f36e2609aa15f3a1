"""Deadlines: a clause's anchor words, the deadline placed in a period, evaluated to a
``Due``, and split into levels.

``evaluate`` turns the parser's ``Deadline`` into a ``Due`` for one period: the
deadline to the obligation's recipient. ``levels`` splits it into the agencies'
deadline to the lead Sở and the lead's own (Điều 8 khoản 5 điểm b). A rule that
cannot be read without guessing raises ``UnsupportedDeadline``.
"""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from directives.parsed import FREQUENCY_VI, PERIODIC, Deadline
from models.calendar.period import _MONTHS, _RECUR, Period, UnsupportedDeadline, _month_index
from models.db import TZ
from models.deadline_rules import (
    DEFAULT_PROVINCE,
    DeadlineDefaults,
    DefaultDeadline,
    is_before_exclusive,
    packaged_defaults,
)
from models.workdays import RollPolicy, WorkCalendar


def _vi(frequency: str) -> str:
    """A frequency as a refusal names it ("báo cáo hằng tháng")."""
    return FREQUENCY_VI.get(frequency, frequency)


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
        raise UnsupportedDeadline(f"“{anchor}”: kỳ {_vi(frequency)} không có tháng thứ {month}")
    return _MonthAnchor(month, next_period=bool(m["next"].strip()))


def _check_unit(unit: str, frequency: str, anchor: str) -> None:
    """An anchor speaking of a quarter cannot place an annual report's deadline."""
    expected = _UNITS[unit]
    if expected is not None and expected != frequency:
        raise UnsupportedDeadline(f"“{anchor}” nói về “{unit}” nhưng báo cáo là {_vi(frequency)}")


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


_LAST_DAY = re.compile(r"ngày cuối cùng của\s+")
_OWN_UNIT = {"monthly": "tháng", "quarterly": "quý", "annual": "năm"}
_WHOLE_PERIOD = {"quý": "tháng cuối quý", "năm": None}


def _last_day(rule: Deadline, frequency: str) -> Deadline:
    """ "chậm nhất ngày cuối cùng của tháng", "… của tháng đầu của quý tiếp theo": the last
    day of a month is day 31 of it (clamped, as "ngày 30 hằng tháng" is in February)."""
    folded = _fold(rule.anchor or "")
    m = _LAST_DAY.match(folded)
    if rule.day is not None or m is None:
        return rule
    rest = folded[m.end() :]
    if rest == _OWN_UNIT.get(frequency):
        if frequency == "annual":
            return replace(rule, day=31, month=12, anchor=None)
        return replace(rule, day=31, anchor=_WHOLE_PERIOD.get(rest))
    return replace(rule, day=31, anchor=rest)


def _place(rule: Deadline, frequency: str, period: Period) -> date:
    """The nominal date of a day-of-period deadline in ``period`` (no roll)."""
    rule = _last_day(rule, frequency)
    day = rule.day
    if day is None or not 1 <= day <= 31:
        raise UnsupportedDeadline("hạn theo ngày trong kỳ cần một ngày từ 1 đến 31", rule)
    if frequency == "weekly":
        raise UnsupportedDeadline(
            "báo cáo hằng tuần không lấy hạn theo ngày trong tháng được", rule
        )
    if rule.month is not None:
        return _place_day_month(rule, frequency, period, day, rule.month)
    return _place_day(rule, frequency, period, day)


def _place_day_month(rule: Deadline, frequency: str, period: Period, day: int, month: int) -> date:
    if frequency == "monthly":
        raise UnsupportedDeadline(
            "báo cáo hằng tháng chỉ ghi ngày trong tháng (ví dụ “trước ngày 20 hằng tháng”), "
            f"không ghi tháng {month}",
            rule,
        )
    if not 1 <= month <= 12:
        raise UnsupportedDeadline(f"không có tháng {month}", rule)
    if rule.anchor:
        if frequency == "annual" and _is_year_after(rule.anchor):
            return _clamped(period.end.year + 1, month, day)
        raise UnsupportedDeadline(f"không hiểu mốc “{rule.anchor}” của hạn có ngày tháng", rule)
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
                f"hạn của báo cáo {_vi(frequency)} cần ghi tháng (ví dụ “tháng cuối quý”)", rule
            )
        return _on_month(start, day)
    anchor = _month_anchor(rule.anchor, frequency)
    if anchor is None:
        raise UnsupportedDeadline(f"không hiểu mốc “{rule.anchor}”", rule)
    base = start + (_RECUR[frequency] if anchor.next_period else 0)
    month = months if anchor.month == -1 else anchor.month
    return _on_month(base + month - 1, day)


def _relative_base(
    rule: Deadline, frequency: str, period: Period | None, event: date | None
) -> date:
    """The day a relative deadline counts from: the period's end or the event's day."""
    if _period_end_anchor(rule.anchor, frequency):
        if period is None:
            raise UnsupportedDeadline("hạn tính từ cuối kỳ cần một kỳ báo cáo", rule)
        return period.end
    if event is None:
        what = f"“{rule.anchor}”" if rule.anchor else "sự việc"
        raise UnsupportedDeadline(
            f"hạn tính từ {what} cần ngày xảy ra sự việc: nhập ngày đó hoặc một hạn cụ thể", rule
        )
    return event


def _relative_day(
    rule: Deadline, frequency: str, period: Period | None, event: date | None, cal: WorkCalendar
) -> date:
    if rule.offset_days is None or rule.offset_days < 0:
        raise UnsupportedDeadline("hạn tính theo số ngày cần ghi số ngày", rule)
    base = _relative_base(rule, frequency, period, event)
    # "ngày" alone means calendar days (Bộ luật Dân sự, Điều 147: counted from the next day).
    if rule.working_days:
        return cal.add_working_days(base, rule.offset_days)
    return base + timedelta(days=rule.offset_days)


def _fixed_day(rule: Deadline) -> date:
    try:
        return date.fromisoformat(rule.date or "")
    except ValueError:
        raise UnsupportedDeadline("hạn theo ngày cụ thể cần ngày dạng YYYY-MM-DD", rule) from None


_TIME = re.compile(r"(\d{1,2})\s*(?::|h|giờ)\s*(\d{2})?")


def _time_of(rule: Deadline, default: time) -> time:
    """The rule's time of day ("14:00", "14h00"), else the default."""
    if not rule.time:
        return default
    m = _TIME.fullmatch(rule.time.strip().casefold())
    if not m or int(m[1]) > 23 or int(m[2] or 0) > 59:
        raise UnsupportedDeadline(f"giờ không hợp lệ {rule.time!r} (viết HH:MM, ví dụ 14:00)", rule)
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
                f"văn bản không ghi hạn và báo cáo {_vi(frequency)} không có hạn mặc định: "
                "nhập hạn nộp"
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
            raise UnsupportedDeadline(f"một ngày cụ thể không lặp lại {_vi(frequency)} được", rule)
        return _fixed_day(rule)
    if rule.kind == "relative":
        return _relative_day(rule, frequency, period, event, cal)
    if rule.kind == "day_of_period" and period is not None:
        return _place(rule, frequency, period)
    raise UnsupportedDeadline(
        f"không tính được hạn loại {rule.kind} cho báo cáo {_vi(frequency)}", rule
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
        raise UnsupportedDeadline(f"hạn mặc định {_vi(default.frequency)} cần một kỳ báo cáo")
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
        raise ValueError("Sở chủ trì cần ít nhất một ngày làm việc")
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
