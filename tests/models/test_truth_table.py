"""A truth table of dated facts, each with the rule or decision it rests on.

Every row is one fact an official could check against a calendar and a law book:
holidays and day swaps, roll-forward off days off, "trước ngày X" against "chậm nhất ngày
X", the 24:00 end of a deadline day, cut-off windows (nine-month ones too) and the
default chain. A row that fails names its source, so the fix starts from the law.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from directives.parsed import Deadline
from models.calendar import (
    TZ,
    cutoff_period,
    earliest_deadline,
    evaluate,
    levels,
    parse_period_key,
)
from models.deadline_rules import END_OF_DAY, DeadlineDefaults, ProvinceReading
from models.workdays import WorkCalendar

D = date
CAL = WorkCalendar()
DEFAULTS = DeadlineDefaults.load()

BLLD_112 = "Bộ luật Lao động 2019, Điều 112 khoản 1"
BLLD_112_3 = "Bộ luật Lao động 2019, Điều 112 khoản 3 (nghỉ bù khi trùng ngày nghỉ hằng tuần)"
BLDS_147 = "Bộ luật Dân sự 2015, Điều 147 (thời hạn tính từ ngày tiếp theo)"
BLDS_148 = (
    "Bộ luật Dân sự 2015, Điều 148 (kết thúc lúc 24 giờ; ngày nghỉ → ngày làm việc tiếp theo)"
)
ND09_12 = "Nghị định 09/2019/NĐ-CP, Điều 12 (thời gian chốt số liệu)"
ND09_8 = "Nghị định 09/2019/NĐ-CP, Điều 8 khoản 5 điểm b (≥ 01 ngày làm việc sau chốt số liệu)"
ND09_13 = "Nghị định 09/2019/NĐ-CP, Điều 13 khoản 1 (chuỗi báo cáo xong trước ngày 25)"
CV_12729 = "Công văn 12729/VPCP-KGVX ngày 25/12/2025 (Tết Dương lịch 2026: nghỉ 2/1, làm bù 10/1)"
CV_2450 = "Công văn 2450/VPCP-KGVX ngày 12/4/2024 (nghỉ 29/4/2024, làm bù 4/5/2024)"
TB_6150 = "Thông báo 6150/TB-BLĐTBXH (2024): nghỉ 2/5/2025, làm bù thứ Bảy 26/4/2025"
TET_2026 = "Thủ tướng đồng ý nghỉ Tết Bính Ngọ 14/2–22/2/2026 (Bộ Nội vụ thông báo)"
WORDS = "hanbaocao's reading of deadline words (issue 14): trước = before X, chậm nhất = by X"
NO_DECREE = "no enacted law or published decision found: holidays.VN only → dự kiến"


@dataclass(frozen=True)
class Fact:
    what: str
    check: Callable[[], Any]
    expected: Any
    source: str


def off(day: date) -> bool:
    return not CAL.is_working_day(day)


def provisional(day: date) -> bool:
    return day in CAL.provisional_days(day.year)


def due_at(
    raw: str | None,
    key: str,
    *,
    reading: ProvinceReading | None = None,
    **rule: Any,
) -> datetime:
    """The local deadline of a clause's rule for one period."""
    kind = rule.pop("kind", "day_of_period")
    period = parse_period_key(key)
    defaults = DEFAULTS
    if reading is not None:
        defaults = DeadlineDefaults(DEFAULTS.table, readings={"test": reading})
    result = evaluate(
        Deadline(kind, raw=raw, **rule),
        period.frequency,
        period,
        calendar=CAL,
        defaults=defaults,
        province="test" if reading is not None else "quang-ngai",
    )
    return result.at.astimezone(TZ)


def end_of(y: int, m: int, d: int) -> datetime:
    """24:00 of a day, as stored: its last second."""
    return datetime.combine(D(y, m, d), END_OF_DAY, TZ)


def on_time(submitted: datetime, deadline: datetime) -> bool:
    return submitted <= deadline


def cutoff(key: str) -> tuple[date, date]:
    period = parse_period_key(key)
    return period.cutoff_start, period.cutoff_end


def default_chain(key: str) -> tuple[date, date]:
    """(agencies' deadline, lead's deadline) of the province default for a period."""
    period = parse_period_key(key)
    final = evaluate(Deadline("none"), period.frequency, period, calendar=CAL, defaults=DEFAULTS)
    lead_days = DEFAULTS.lookup("quang-ngai", period.frequency).lead_days
    both = levels(final, lead_days=lead_days, calendar=CAL)
    return both.agencies.day, both.lead.day


OFFICE = ProvinceReading(time(17, 0), False, "a province that sets office hours (test)")
INCLUSIVE = ProvinceReading(END_OF_DAY, True, "a province that reads trước inclusively (test)")
VN = TZ

FACTS: list[Fact] = [
    # -- public holidays and swaps -------------------------------------------------------
    Fact("1/1/2026 Tết Dương lịch is off", lambda: off(D(2026, 1, 1)), True, BLLD_112),
    Fact("Fri 2/1/2026 is off (swap)", lambda: off(D(2026, 1, 2)), True, CV_12729),
    Fact("Sat 10/1/2026 is a working day", lambda: off(D(2026, 1, 10)), False, CV_12729),
    Fact("Mon 16/2/2026 (Giao thừa) is off", lambda: off(D(2026, 2, 16)), True, TET_2026),
    Fact("Fri 20/2/2026 (mùng 4) is off", lambda: off(D(2026, 2, 20)), True, TET_2026),
    Fact("Mon 23/2/2026 is back at work", lambda: off(D(2026, 2, 23)), False, TET_2026),
    Fact("Mon 27/4/2026 Giỗ Tổ nghỉ bù", lambda: off(D(2026, 4, 27)), True, BLLD_112_3),
    Fact("30/4/2026 is off", lambda: off(D(2026, 4, 30)), True, BLLD_112),
    Fact("1/5/2026 is off", lambda: off(D(2026, 5, 1)), True, BLLD_112),
    Fact(
        "2/9/2026 is off, and law",
        lambda: (off(D(2026, 9, 2)), provisional(D(2026, 9, 2))),
        (True, False),
        BLLD_112,
    ),
    Fact(
        "1/9/2026 (beside 2/9) is off but dự kiến",
        lambda: (off(D(2026, 9, 1)), provisional(D(2026, 9, 1))),
        (True, True),
        NO_DECREE,
    ),
    Fact(
        "24/11/2026 Ngày Văn hóa is off but dự kiến",
        lambda: (off(D(2026, 11, 24)), provisional(D(2026, 11, 24))),
        (True, True),
        NO_DECREE,
    ),
    Fact(
        "Mon 8/2/2027 (Tết Đinh Mùi) is dự kiến",
        lambda: provisional(D(2027, 2, 8)),
        True,
        "no 2027 Tết decision published; Điều 112 khoản 1 điểm b fixes 5 days only",
    ),
    Fact(
        "Fri 3/9/2027 (beside 2/9) is dự kiến", lambda: provisional(D(2027, 9, 3)), True, NO_DECREE
    ),
    Fact("Mon 29/4/2024 is off", lambda: off(D(2024, 4, 29)), True, CV_2450),
    Fact("Sat 4/5/2024 is a working day", lambda: off(D(2024, 5, 4)), False, CV_2450),
    Fact("Fri 2/5/2025 is off", lambda: off(D(2025, 5, 2)), True, TB_6150),
    Fact("Sat 26/4/2025 is a working day", lambda: off(D(2025, 4, 26)), False, TB_6150),
    # -- roll-forward (BLDS 148) ----------------------------------------------------------
    Fact(
        "chậm nhất 15/12/2024 (Sunday) → Monday 16/12 24:00",
        lambda: due_at("chậm nhất ngày 15/12", "2024", day=15, month=12),
        end_of(2024, 12, 16),
        BLDS_148,
    ),
    Fact(
        "chậm nhất ngày 20 (Feb 2026, Tết) → Monday 23/2",
        lambda: due_at("chậm nhất ngày 20 hằng tháng", "2026-02", day=20),
        end_of(2026, 2, 23),
        BLDS_148,
    ),
    Fact(
        "chậm nhất 2/1/2026 (a swapped day off) → Monday 5/1",
        lambda: _once("chậm nhất ngày 02/01/2026", "2026-01-02"),
        end_of(2026, 1, 5),
        f"{BLDS_148}; {CV_12729}",
    ),
    # -- "trước ngày X" against "chậm nhất ngày X" ----------------------------------------
    Fact(
        "trước ngày 15/12 (2026) → by the end of Monday 14/12",
        lambda: due_at("trước ngày 15/12 hằng năm", "2026", day=15, month=12),
        end_of(2026, 12, 14),
        WORDS,
    ),
    Fact(
        "chậm nhất ngày 15/12 (2026) → by the end of Tuesday 15/12",
        lambda: due_at("chậm nhất ngày 15/12", "2026", day=15, month=12),
        end_of(2026, 12, 15),
        WORDS,
    ),
    Fact(
        "đến ngày 15/12 (2026) → 15/12",
        lambda: due_at("đến ngày 15/12", "2026", day=15, month=12),
        end_of(2026, 12, 15),
        WORDS,
    ),
    Fact(
        "trước ngày 15/12 (2025): X−1 is Sunday 14/12 → Monday 15/12",
        lambda: due_at("trước ngày 15/12", "2025", day=15, month=12),
        end_of(2025, 12, 15),
        f"{WORDS}; {BLDS_148}",
    ),
    Fact(
        "trước ngày 20 của tháng cuối quý (Q1 2026) → Thursday 19/3",
        lambda: due_at(
            "trước ngày 20 của tháng cuối quý", "2026-Q1", day=20, anchor="tháng cuối quý"
        ),
        end_of(2026, 3, 19),
        WORDS,
    ),
    Fact(
        "trước ngày 5 tháng sau (01/2026) → Wednesday 4/2",
        lambda: due_at("trước ngày 5 tháng sau", "2026-01", day=5, anchor="tháng sau"),
        end_of(2026, 2, 4),
        WORDS,
    ),
    Fact(
        "trước 14h00 ngày 28/4/2020 names a moment on 28/4",
        lambda: _once("trước 14h00 ngày 28/4/2020", "2020-04-28", at="14:00"),
        datetime(2020, 4, 28, 14, 0, tzinfo=VN),
        WORDS,
    ),
    Fact(
        "trước ngày 15/12, read inclusively by a province's rule → 15/12",
        lambda: due_at("trước ngày 15/12", "2026", reading=INCLUSIVE, day=15, month=12),
        end_of(2026, 12, 15),
        "the province's rule file (before_inclusive: true)",
    ),
    # -- 24:00 lateness -------------------------------------------------------------------
    Fact(
        "a report at 23:30 on the deadline day is on time",
        lambda: on_time(
            datetime(2026, 12, 15, 23, 30, tzinfo=VN),
            due_at("chậm nhất ngày 15/12", "2026", day=15, month=12),
        ),
        True,
        BLDS_148,
    ),
    Fact(
        "a report at 00:05 the next day is late",
        lambda: on_time(
            datetime(2026, 12, 16, 0, 5, tzinfo=VN),
            due_at("chậm nhất ngày 15/12", "2026", day=15, month=12),
        ),
        False,
        BLDS_148,
    ),
    Fact(
        "a report at 17:30 is on time without office hours",
        lambda: on_time(
            datetime(2026, 12, 15, 17, 30, tzinfo=VN),
            due_at("chậm nhất ngày 15/12", "2026", day=15, month=12),
        ),
        True,
        BLDS_148,
    ),
    Fact(
        "a report at 17:30 is late where the province sets office hours",
        lambda: on_time(
            datetime(2026, 12, 15, 17, 30, tzinfo=VN),
            due_at("chậm nhất ngày 15/12", "2026", reading=OFFICE, day=15, month=12),
        ),
        False,
        "the province's rule file (due_time: 17:00)",
    ),
    # -- cut-off windows ------------------------------------------------------------------
    Fact(
        "9 tháng 2026: 15/12/2025–14/9/2026",
        lambda: cutoff("2026-9M"),
        (D(2025, 12, 15), D(2026, 9, 14)),
        ND09_12,
    ),
    Fact(
        "15/12/2025 is the first day of 2026-9M's window",
        lambda: cutoff_period("nine_months", D(2025, 12, 15)).key,
        "2026-9M",
        ND09_12,
    ),
    Fact(
        "14/9/2026 is the last day of 2026-9M's window",
        lambda: cutoff_period("nine_months", D(2026, 9, 14)).key,
        "2026-9M",
        ND09_12,
    ),
    Fact(
        "15/9/2026 is past 2026-9M's window",
        lambda: cutoff_period("nine_months", D(2026, 9, 15)).key,
        "2027-9M",
        ND09_12,
    ),
    Fact(
        "năm 2026: 15/12/2025–14/12/2026",
        lambda: cutoff("2026"),
        (D(2025, 12, 15), D(2026, 12, 14)),
        ND09_12,
    ),
    Fact(
        "6 tháng đầu năm 2026: 15/12/2025–14/6/2026",
        lambda: cutoff("2026-H1"),
        (D(2025, 12, 15), D(2026, 6, 14)),
        ND09_12,
    ),
    Fact(
        "quý III/2026: 15/6–14/9/2026",
        lambda: cutoff("2026-Q3"),
        (D(2026, 6, 15), D(2026, 9, 14)),
        ND09_12,
    ),
    Fact(
        "tháng 11/2026: 15/10–14/11/2026",
        lambda: cutoff("2026-11"),
        (D(2026, 10, 15), D(2026, 11, 14)),
        ND09_12,
    ),
    Fact(
        "9 tháng: chậm nhất ngày 20/9 (2026, a Sunday) → Monday 21/9",
        lambda: due_at("chậm nhất ngày 20/9", "2026-9M", day=20, month=9),
        end_of(2026, 9, 21),
        f"{ND09_12}; {BLDS_148}",
    ),
    Fact(
        "the earliest deadline of 2026 is Tuesday 15/12/2026",
        lambda: earliest_deadline(parse_period_key("2026"), CAL),
        D(2026, 12, 15),
        ND09_8,
    ),
    # -- default chains -------------------------------------------------------------------
    Fact(
        "annual 2026 default: agencies Mon 21/12, lead Thu 24/12",
        lambda: default_chain("2026"),
        (D(2026, 12, 21), D(2026, 12, 24)),
        ND09_13,
    ),
    Fact(
        "annual 2022 default: 24/12 is a Saturday → lead Fri 23/12",
        lambda: default_chain("2022")[1],
        D(2022, 12, 23),
        ND09_13,
    ),
    Fact(
        "9 tháng 2026 default: lead Thu 24/9, agencies Mon 21/9",
        lambda: default_chain("2026-9M"),
        (D(2026, 9, 21), D(2026, 9, 24)),
        ND09_13,
    ),
    Fact(
        "quý I/2026 default: lead Tue 24/3, agencies Thu 19/3",
        lambda: default_chain("2026-Q1"),
        (D(2026, 3, 19), D(2026, 3, 24)),
        ND09_13,
    ),
    Fact(
        "tháng 11/2026 default: 24/11 dự kiến off → lead Mon 23/11",
        lambda: default_chain("2026-11")[1],
        D(2026, 11, 23),
        f"{ND09_13}; {NO_DECREE}",
    ),
    # -- working-day counting -------------------------------------------------------------
    Fact(
        "05 ngày làm việc kể từ Fri 13/2/2026 → Fri 27/2 (over Tết)",
        lambda: CAL.add_working_days(D(2026, 2, 13), 5),
        D(2026, 2, 27),
        f"{BLDS_147}; {TET_2026}",
    ),
    Fact(
        "03 ngày làm việc kể từ Mon 23/11/2026 → Fri 27/11 (over 24/11 dự kiến)",
        lambda: CAL.add_working_days(D(2026, 11, 23), 3),
        D(2026, 11, 27),
        f"{BLDS_147}; {NO_DECREE}",
    ),
]


def _once(raw: str, iso: str, *, at: str | None = None) -> datetime:
    """A one-off dated deadline ("chậm nhất ngày 02/01/2026")."""
    rule = Deadline("date", date=iso, time=at, raw=raw)
    return evaluate(rule, "once", None, calendar=CAL, defaults=DEFAULTS).at.astimezone(TZ)


def test_the_table_has_at_least_forty_sourced_facts() -> None:
    assert len(FACTS) >= 40
    assert all(f.source.strip() for f in FACTS)
    assert len({f.what for f in FACTS}) == len(FACTS)


@pytest.mark.parametrize("fact", FACTS, ids=[f.what for f in FACTS])
def test_fact(fact: Fact) -> None:
    assert fact.check() == fact.expected, f"{fact.what} — source: {fact.source}"


def test_end_of_day_is_the_last_second_before_midnight() -> None:
    assert end_of(2026, 12, 15) + timedelta(seconds=1) == datetime(2026, 12, 16, 0, 0, tzinfo=VN)
