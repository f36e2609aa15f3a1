"""Working days in Vietnam: weekends, public holidays and decreed day swaps.

Saturday and Sunday are off (the public sector's five-day week). Public holidays come
from ``holidays.VN`` (Bộ luật Lao động 2019, Điều 112, with each year's Tết days and the
swaps the library knows), names in Vietnamese. The Prime Minister decides each year's
swaps, and the library lags behind them and never models a make-up working Saturday, so
``models/data/holiday-overrides.yaml`` adds days off and working days per year, each with
the decision it rests on.

Not every day off is law yet. A day is *provisional* ("dự kiến") when no law in force or
published decision fixes it: the library's Tết days and the day beside 2/9 of a year whose
swap decision the override file does not list under ``decided:``, a library holiday the
file lists under ``not_in_force:`` (24/11, Ngày Văn hóa Việt Nam), and any override entry
marked ``provisional: true``. Provisional days stay off (the library's best guess), but
``provisional_days`` names them with their source, so that every deadline that depends
on one can say "dự kiến" (``WorkCalendar.confirmed_only`` answers "and without them?"). An
administrator confirms a day in the data folder's own ``holiday-overrides.yaml`` (same
format: a ``decided:`` entry, or an ``off:`` entry without ``provisional``), which is read
on top of the packaged file.

Every question is answered from one precomputed span of years: a prefix count of working
days per calendar day and the sorted list of working days. Adding, counting and rolling are
then a couple of index look-ups, which is what lets a sweep generate ten years of cycles
for a thousand obligations in well under a second. The span grows on demand, a year at a
time, and is replaced atomically, so concurrent readers always see a whole one.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays

from models.yaml_data import data_file
from models.yaml_data import load_yaml as load_yaml

OVERRIDES_RESOURCE = "holiday-overrides.yaml"
WEEKEND = frozenset({5, 6})  # date.weekday(): Saturday, Sunday


class RollPolicy(StrEnum):
    """What happens to a deadline that lands on a day off."""

    # To the next working day: Bộ luật Dân sự 2015, Điều 148 ends a period that falls on
    # a weekend or holiday at the end of the next working day.
    FORWARD = "forward"
    BACKWARD = "backward"  # to the previous working day
    NONE = "none"  # keep the day off as it is


@dataclass(frozen=True, slots=True)
class OverrideDay:
    day: date
    name: str
    source: str
    provisional: bool = False


# The library's days that a yearly decision fixes (Bộ luật Lao động 2019, Điều 112 khoản 1
# and 3: the Prime Minister decides the exact Tết days and the day beside 2/9).
DECIDED_TOPICS = ("tet", "quoc-khanh")
# How a refusal names the override file.
_WHERE = "tệp điều chỉnh ngày nghỉ"


def _topic(day: date, name: str) -> str | None:
    if "Tết Nguyên Đán" in name or name == "29 Tết":
        return "tet"
    if "Quốc khánh" in name and (day.month, day.day) != (9, 2):
        return "quoc-khanh"  # 2/9 itself is law; the adjacent day is decided yearly
    return None


@dataclass(frozen=True, slots=True)
class HolidayOverrides:
    """Days off and make-up working days decreed on top of ``holidays.VN``, which of the
    library's yearly days are decided (``decided``: year → topic → source) and which of its
    holidays no law backs (``not_in_force``: name → source)."""

    off: Mapping[date, OverrideDay] = field(default_factory=dict)
    work: Mapping[date, OverrideDay] = field(default_factory=dict)
    decided: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    not_in_force: Mapping[str, str] = field(default_factory=dict)
    decided_through: int | None = None  # every year up to it is history, hence decided

    @classmethod
    def load(cls, path: Path | None = None, *, local: Path | None = None) -> HolidayOverrides:
        """The packaged override file (or ``path``), with ``local`` (an administrator's
        confirmations, same format) read on top when it exists."""
        base = cls.from_data(data_file(OVERRIDES_RESOURCE, path))
        if local is None or not local.is_file():
            return base
        return base.merged(cls.from_data(data_file(OVERRIDES_RESOURCE, local)))

    @classmethod
    def from_data(cls, data: Mapping[Any, Any]) -> HolidayOverrides:
        off: dict[date, OverrideDay] = {}
        work: dict[date, OverrideDay] = {}
        decided: dict[int, dict[str, str]] = {}
        not_in_force = {str(k): _source(v, k) for k, v in (data.get("not_in_force") or {}).items()}
        for year, entries in data.items():
            if year in ("not_in_force", "decided_through"):
                continue
            for kind, target in (("off", off), ("work", work)):
                for raw in (entries or {}).get(kind) or []:
                    entry = _override_day(int(year), raw)
                    target[entry.day] = entry
            for topic, source in ((entries or {}).get("decided") or {}).items():
                if topic not in DECIDED_TOPICS:
                    allowed = ", ".join(DECIDED_TOPICS)
                    raise ValueError(
                        f"{_WHERE} {year}: decided có mục lạ {topic!r} (chọn: {allowed})"
                    )
                decided.setdefault(int(year), {})[str(topic)] = _source(source, topic)
        if clash := sorted(set(off) & set(work)):
            raise ValueError(
                f"{_WHERE}: {clash[0]} vừa là ngày nghỉ vừa là ngày làm bù: giữ một trong hai"
            )
        through = data.get("decided_through")
        if through is not None and (isinstance(through, bool) or not isinstance(through, int)):
            raise ValueError(
                f"{_WHERE}: decided_through phải là một năm (ví dụ 2026), không phải {through!r}"
            )
        return cls(off, work, decided, not_in_force, through)

    def merged(self, top: HolidayOverrides) -> HolidayOverrides:
        """``top``'s entries win (a confirmation replaces a provisional entry)."""
        decided = {y: dict(t) for y, t in self.decided.items()}
        for year, topics in top.decided.items():
            decided.setdefault(year, {}).update(topics)
        off = {d: o for d, o in self.off.items() if d not in top.work} | dict(top.off)
        work = {d: o for d, o in self.work.items() if d not in top.off} | dict(top.work)
        through = max(
            (y for y in (self.decided_through, top.decided_through) if y is not None),
            default=None,
        )
        not_in_force = {**self.not_in_force, **top.not_in_force}
        return HolidayOverrides(off, work, decided, not_in_force, through)


def _source(value: Any, what: Any) -> str:
    source = str(value or "").strip()
    if not source:
        raise ValueError(f"{_WHERE}: {what} thiếu nguồn (source): ghi văn bản quyết định")
    return source


def _override_day(year: int, raw: Mapping[str, Any]) -> OverrideDay:
    """One checked entry: a real date inside its year, with a name and a source."""
    day = raw.get("date")
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            day = None
    if not isinstance(day, date) or day.year != year:
        raise ValueError(
            f"{_WHERE} {year}: ngày {raw.get('date')!r} không hợp lệ "
            f"(viết YYYY-MM-DD, trong năm {year})"
        )
    name, source = str(raw.get("name") or "").strip(), str(raw.get("source") or "").strip()
    if not name or not source:
        raise ValueError(f"{_WHERE} {day}: mỗi mục cần name và source")
    provisional = raw.get("provisional", False)
    if not isinstance(provisional, bool):
        raise ValueError(f"{_WHERE} {day}: provisional phải là true hoặc false")
    return OverrideDay(day, name, source, provisional)


@dataclass(frozen=True, slots=True)
class _Span:
    """Whole years ``first_year..last_year`` precomputed.

    ``before[i]`` counts the working days in ``[first, first + i)``, so it has one more
    slot than there are days; ``working`` lists the working days' ordinals in order.
    """

    first_year: int
    last_year: int
    first: int  # ordinal of 1 January of first_year
    before: array[int]
    working: array[int]
    # Days answered without growing: all but the outer years, so that a roll or a
    # short count from any of them stays inside the span.
    safe_lo: int
    safe_hi: int


class WorkCalendar:
    """Working days for the whole country (Vietnam has no provincial public holidays)."""

    def __init__(
        self, overrides: HolidayOverrides | None = None, *, confirmed_only: bool = False
    ) -> None:
        self.overrides = HolidayOverrides.load() if overrides is None else overrides
        # True: provisional days are working days (what a deadline would be without them).
        self.is_confirmed_only = confirmed_only
        self._names: dict[int, dict[date, str]] = {}  # per-year cache of days off with names
        self._provisional: dict[int, dict[date, OverrideDay]] = {}
        self._lock = threading.Lock()
        self._span: _Span | None = None
        self._confirmed: WorkCalendar | None = None

    # -- provisional days ----------------------------------------------------------------

    def provisional_days(self, year: int) -> dict[date, OverrideDay]:
        """The year's days off that no law in force or published decision fixes, each
        with the reason it is only "dự kiến"."""
        cached = self._provisional.get(year)
        if cached is None:
            cached = _provisional_of(self.overrides, year)
            self._provisional[year] = cached
        return cached

    def provisional_between(self, a: date, b: date) -> list[OverrideDay]:
        """Provisional days off in ``[min(a, b), max(a, b)]``, in order."""
        lo, hi = min(a, b), max(a, b)
        found = [
            entry
            for year in range(lo.year, hi.year + 1)
            for day, entry in self.provisional_days(year).items()
            if lo <= day <= hi
        ]
        return sorted(found, key=lambda e: e.day)

    def confirmed_only(self) -> WorkCalendar:
        """This calendar with every provisional day off counted as a working day: a
        deadline that differs on it depends on a day that is only "dự kiến"."""
        if self.is_confirmed_only:
            return self
        if self._confirmed is None:
            self._confirmed = WorkCalendar(self.overrides, confirmed_only=True)
        return self._confirmed

    # -- questions about one day ---------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        if d in self.overrides.work:
            return True
        if d.weekday() in WEEKEND:
            return False
        if self.is_confirmed_only and d in self.provisional_days(d.year):
            return True
        return d not in self._holidays(d.year)

    def holiday_name(self, d: date) -> str | None:
        """The Vietnamese name of a public holiday or decreed day off; None for a working
        day or a plain weekend."""
        if d in self.overrides.work:
            return None
        return self._holidays(d.year).get(d)

    # -- moving between days -------------------------------------------------------------

    def roll_forward(self, d: date) -> date:
        """``d`` if it is a working day, else the next working day."""
        span, i = self._locate(d)
        return self._working_at(span, span.before[i], ahead=1)

    def roll_backward(self, d: date) -> date:
        """``d`` if it is a working day, else the previous working day."""
        span, i = self._locate(d)
        return self._working_at(span, span.before[i + 1] - 1, ahead=-1)

    def roll(self, d: date, policy: RollPolicy) -> date:
        if policy is RollPolicy.FORWARD:
            return self.roll_forward(d)
        if policy is RollPolicy.BACKWARD:
            return self.roll_backward(d)
        return d

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.add_working_days(d, 1)

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        return self.add_working_days(d, -1)

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d`` (strictly before for negative
        ``n``); ``d`` itself for 0, working day or not. "Trong 05 ngày làm việc kể từ
        ngày X" is ``add_working_days(X, 5)``: the count starts the day after X."""
        if n == 0:
            return d
        span, i = self._locate(d)
        index = span.before[i + 1] + n - 1 if n > 0 else span.before[i] + n
        return self._working_at(span, index, ahead=n)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``; negative, and antisymmetric, when ``b < a``.

        ``working_days_between(cutoff_end, deadline) >= 1`` is exactly Nghị định 09's "at
        least one working day from the end of the cut-off to the deadline", and from a
        working day ``a`` it inverts ``add_working_days``."""
        span = self._covering(min(a, b), max(a, b))
        return (
            span.before[b.toordinal() - span.first + 1]
            - span.before[a.toordinal() - span.first + 1]
        )

    # -- the precomputed span ------------------------------------------------------------

    def _locate(self, d: date) -> tuple[_Span, int]:
        """The span around ``d`` and ``d``'s position in it (the hot path: no growth)."""
        ordinal = d.toordinal()
        span = self._span
        if span is None or not span.safe_lo <= ordinal <= span.safe_hi:
            span = self._covering(d)
        return span, ordinal - span.first

    def _working_at(self, span: _Span, index: int, *, ahead: int) -> date:
        """The working day at ``index`` of ``span``, growing the span until it exists
        (counting far ahead may need years the span does not hold yet)."""
        if 0 <= index < len(span.working):
            return date.fromordinal(span.working[index])
        while not 0 <= index < len(span.working):
            grown = self._grow(span, later=index >= 0, years=abs(ahead) // 200 + 1)
            # The grown span may start earlier: shift by the working days it prepends.
            index += grown.before[span.first - grown.first]
            span = grown
        return date.fromordinal(span.working[index])

    def _covering(self, lo: date, hi: date | None = None) -> _Span:
        """A span containing ``lo..hi`` with a year of margin on both sides."""
        hi = hi or lo
        span = self._span
        if span is None or not (span.safe_lo <= lo.toordinal() and hi.toordinal() <= span.safe_hi):
            span = self._build(lo.year - 1, hi.year + 1)
        return span

    def _grow(self, span: _Span, *, later: bool, years: int) -> _Span:
        if later:
            return self._build(span.first_year, span.last_year + years)
        return self._build(span.first_year - years, span.last_year)

    def _build(self, first_year: int, last_year: int) -> _Span:
        with self._lock:
            current = self._span
            if current is not None:  # never shrink: another caller may have grown it
                first_year = min(first_year, current.first_year)
                last_year = max(last_year, current.last_year)
                if (first_year, last_year) == (current.first_year, current.last_year):
                    return current
            self._span = _compute_span(self, first_year, last_year)
            return self._span

    def _holidays(self, year: int) -> dict[date, str]:
        """Days off of one year with their names: the library's, then the overrides'."""
        cached = self._names.get(year)
        if cached is None:
            library = holidays.country_holidays("VN", years=year, language="vi")
            cached = {day: str(name) for day, name in library.items()}
            cached.update({d: o.name for d, o in self.overrides.off.items() if d.year == year})
            self._names[year] = cached
        return cached


def _provisional_of(overrides: HolidayOverrides, year: int) -> dict[date, OverrideDay]:
    library = holidays.country_holidays("VN", years=year, language="vi")
    history = overrides.decided_through is not None and year <= overrides.decided_through
    decided = DECIDED_TOPICS if history else overrides.decided.get(year, {})
    out: dict[date, OverrideDay] = {}
    for day, raw_name in sorted(library.items()):
        name = str(raw_name)
        if day in overrides.work or (day in overrides.off and not overrides.off[day].provisional):
            continue
        if name in overrides.not_in_force:
            out[day] = OverrideDay(day, name, overrides.not_in_force[name], True)
        elif (topic := _topic(day, name)) is not None and topic not in decided:
            out[day] = OverrideDay(day, name, _UNDECIDED[topic].format(year=year), True)
    for day, entry in overrides.off.items():
        if day.year == year and entry.provisional:
            out[day] = entry
    return dict(sorted(out.items()))


_UNDECIDED = {
    "tet": (
        "Chưa có quyết định của Thủ tướng Chính phủ về lịch nghỉ Tết Nguyên đán {year}; "
        "ngày nghỉ dự kiến theo thư viện holidays (Bộ luật Lao động 2019, Điều 112)."
    ),
    "quoc-khanh": (
        "Chưa có quyết định của Thủ tướng Chính phủ về ngày nghỉ liền kề 2/9/{year}; "
        "ngày nghỉ dự kiến theo thư viện holidays (Bộ luật Lao động 2019, Điều 112)."
    ),
}


def _compute_span(calendar: WorkCalendar, first_year: int, last_year: int) -> _Span:
    first = date(first_year, 1, 1).toordinal()
    last = date(last_year, 12, 31).toordinal()
    before = array("l", [0])
    working = array("l")
    for ordinal in range(first, last + 1):
        if calendar.is_working_day(date.fromordinal(ordinal)):
            working.append(ordinal)
        before.append(len(working))
    safe_lo = date(first_year + 1, 1, 1).toordinal()
    safe_hi = date(last_year - 1, 12, 31).toordinal()
    return _Span(first_year, last_year, first, before, working, safe_lo, safe_hi)


@lru_cache(maxsize=1)
def packaged_calendar() -> WorkCalendar:
    """One calendar for the process, on the packaged override file and the data folder's
    own confirmations: share it, since the calendar module's caches are per calendar."""
    return WorkCalendar(HolidayOverrides.load(local=local_overrides_path()))


def local_overrides_path() -> Path:
    """Where an administrator confirms provisional days (or adds decided ones)."""
    from models.db import settings

    return settings().data_dir / OVERRIDES_RESOURCE
