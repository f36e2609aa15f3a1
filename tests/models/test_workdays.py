"""Working days: real 2024–2026 decisions, the override file, and the arithmetic's laws."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.workdays import (
    HolidayOverrides,
    RollPolicy,
    WorkCalendar,
    load_yaml,
    packaged_calendar,
)

D = date


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


CAL = WorkCalendar()  # for hypothesis tests (function-scoped fixtures do not mix with @given)
days = st.dates(min_value=D(1996, 1, 1), max_value=D(2045, 12, 31))


# -- real dates ---------------------------------------------------------------------------


def test_tet_2026_is_five_weekdays_off_inside_a_nine_day_break(cal: WorkCalendar) -> None:
    # Bính Ngọ: off Saturday 14/2 to Sunday 22/2/2026; the weekdays carry the library's names.
    assert {D(2026, 2, d): cal.holiday_name(D(2026, 2, d)) for d in range(16, 21)} == {
        D(2026, 2, 16): "Giao thừa Tết Nguyên Đán",
        D(2026, 2, 17): "Tết Nguyên Đán",
        D(2026, 2, 18): "Mùng hai Tết Nguyên Đán",
        D(2026, 2, 19): "Mùng ba Tết Nguyên Đán",
        D(2026, 2, 20): "Mùng bốn Tết Nguyên Đán",
    }
    assert [d for d in range(13, 24) if cal.is_working_day(D(2026, 2, d))] == [13, 23]
    assert cal.holiday_name(D(2026, 2, 14)) is None  # a plain Saturday


def test_national_day_2025_is_1_and_2_september(cal: WorkCalendar) -> None:
    assert cal.holiday_name(D(2025, 9, 1)) == "Quốc khánh"  # Monday, the adjacent day
    assert cal.holiday_name(D(2025, 9, 2)) == "Quốc khánh"
    assert cal.is_working_day(D(2025, 9, 3))
    assert cal.add_working_days(D(2025, 8, 29), 1) == D(2025, 9, 3)


def test_national_day_2026_is_31_august_to_2_september(cal: WorkCalendar) -> None:
    # 2/9/2026 is a Wednesday: holidays.VN takes Tuesday 1/9 as the adjacent day and
    # swaps Monday 31/8 with Saturday 22/8 (a make-up day that only the override file has).
    assert cal.holiday_name(D(2026, 9, 1)) == "Quốc khánh"
    assert cal.holiday_name(D(2026, 9, 2)) == "Quốc khánh"
    assert cal.holiday_name(D(2026, 8, 31)) == "Ngày nghỉ (thay cho ngày 22/08/2026)"
    assert cal.is_working_day(D(2026, 9, 3))
    assert cal.is_working_day(D(2026, 8, 22))  # Saturday, working
    assert cal.add_working_days(D(2026, 8, 28), 1) == D(2026, 9, 3)


def test_the_2025_swap_2_may_off_and_26_april_worked(cal: WorkCalendar) -> None:
    assert cal.holiday_name(D(2025, 5, 2)) == "Ngày nghỉ (thay cho ngày 26/04/2025)"
    assert not cal.is_working_day(D(2025, 5, 2))
    assert D(2025, 4, 26).weekday() == 5
    assert cal.is_working_day(D(2025, 4, 26))
    assert cal.holiday_name(D(2025, 4, 26)) is None
    assert not cal.is_working_day(D(2025, 4, 27))  # the Sunday stays off
    # The library alone does not know the make-up Saturday: the override file does.
    assert not WorkCalendar(HolidayOverrides()).is_working_day(D(2025, 4, 26))


def test_new_year_2026_swap_from_the_override_file(cal: WorkCalendar) -> None:
    # Công văn 12729/VPCP-KGVX: off Thursday 1/1 to Sunday 4/1/2026, Saturday 10/1 worked.
    assert cal.holiday_name(D(2026, 1, 2)) == "Ngày nghỉ (thay cho ngày 10/01/2026)"
    assert cal.is_working_day(D(2026, 1, 10))
    assert cal.roll_forward(D(2026, 1, 1)) == D(2026, 1, 5)
    assert WorkCalendar(HolidayOverrides()).is_working_day(D(2026, 1, 2))


def test_vietnamese_culture_day_from_2026(cal: WorkCalendar) -> None:
    assert cal.holiday_name(D(2026, 11, 24)) == "Ngày Văn hóa Việt Nam"
    assert not cal.is_working_day(D(2026, 11, 24))
    assert cal.is_working_day(D(2025, 11, 24))  # not a holiday before 2026


def test_one_shared_calendar_per_process() -> None:
    assert packaged_calendar() is packaged_calendar()
    assert packaged_calendar().is_working_day(D(2025, 4, 26))


def test_2024_reunification_swap(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(D(2024, 4, 29))
    assert cal.is_working_day(D(2024, 5, 4))  # Saturday, Công văn 2450/VPCP-KGVX


def test_sunday_deadline_rolls_to_monday(cal: WorkCalendar) -> None:
    sunday = D(2024, 12, 15)
    assert cal.roll_forward(sunday) == D(2024, 12, 16)
    assert cal.roll_backward(sunday) == D(2024, 12, 13)
    assert cal.roll(sunday, RollPolicy.FORWARD) == D(2024, 12, 16)
    assert cal.roll(sunday, RollPolicy.BACKWARD) == D(2024, 12, 13)
    assert cal.roll(sunday, RollPolicy.NONE) == sunday


def test_counting_across_tet(cal: WorkCalendar) -> None:
    assert cal.next_working_day(D(2026, 2, 13)) == D(2026, 2, 23)
    assert cal.previous_working_day(D(2026, 2, 23)) == D(2026, 2, 13)
    assert cal.add_working_days(D(2026, 2, 12), 5) == D(2026, 2, 26)
    assert cal.working_days_between(D(2026, 2, 13), D(2026, 2, 23)) == 1
    assert cal.working_days_between(D(2026, 2, 23), D(2026, 2, 13)) == -1
    assert cal.add_working_days(D(2026, 2, 15), 0) == D(2026, 2, 15)


def test_far_dates_and_long_counts_grow_the_span() -> None:
    cal = WorkCalendar()
    assert cal.is_working_day(D(2026, 3, 2))
    far = cal.add_working_days(D(2026, 1, 1), 5000)  # about twenty years of working days
    assert far == naive_add(cal, D(2026, 1, 1), 5000) and far.year == 2046
    assert cal.add_working_days(far, -5000) == D(2025, 12, 31)  # 1/1/2026 is off
    assert cal.working_days_between(D(2026, 1, 1), far) == 5000
    assert cal.roll_backward(D(1999, 1, 1)) == D(1998, 12, 31)


# -- the override file --------------------------------------------------------------------

SUBSTITUTED = re.compile(r"thay cho ngày (\d{2})/(\d{2})/(\d{4})")


def test_every_library_swap_has_its_make_up_day_in_the_override_file() -> None:
    overrides = HolidayOverrides.load()
    years = sorted({d.year for d in [*overrides.off, *overrides.work]})
    assert years == [2024, 2025, 2026]
    for year in years:
        for name in holidays.country_holidays("VN", years=year, language="vi").values():
            if m := SUBSTITUTED.search(name):
                made_up = D(int(m[3]), int(m[2]), int(m[1]))
                assert made_up in overrides.work, f"{name}: make-up day missing"


def test_override_entries_are_sourced_weekend_work_and_new_days_off() -> None:
    overrides = HolidayOverrides.load()
    for day, entry in overrides.work.items():
        assert day.weekday() >= 5, f"{day}: a make-up day is a weekend day"
        assert entry.source and entry.name.startswith("Ngày làm bù")
    for day, entry in overrides.off.items():
        # A library day repeated here only to mark it provisional, with its source.
        library = holidays.country_holidays("VN", years=day.year)
        assert entry.provisional or day not in library, f"{day}: duplicate"
        assert day.weekday() < 5 and entry.source
    assert "12729/VPCP-KGVX" in overrides.off[D(2026, 1, 2)].source
    assert "2450/VPCP-KGVX" in overrides.work[D(2024, 5, 4)].source


def test_override_file_format_keeps_the_off_key(tmp_path: Path) -> None:
    # YAML 1.1 would read `off:` as False; the loader must not.
    path = tmp_path / "o.yaml"
    path.write_text(
        "2030:\n  off:\n    - {date: 2030-01-02, name: Nghỉ, source: QĐ 1}\n"
        "  work:\n    - {date: 2030-01-05, name: Làm bù, source: QĐ 1}\n",
        encoding="utf-8",
    )
    loaded = HolidayOverrides.load(path)
    assert list(loaded.off) == [D(2030, 1, 2)] and list(loaded.work) == [D(2030, 1, 5)]
    cal = WorkCalendar(loaded)
    assert not cal.is_working_day(D(2030, 1, 2)) and cal.holiday_name(D(2030, 1, 2)) == "Nghỉ"
    assert cal.is_working_day(D(2030, 1, 5))
    assert load_yaml("a: off\nb: yes\nc: true") == {"a": "off", "b": "yes", "c": True}


# -- provisional days ("dự kiến") ------------------------------------------------------------


def test_days_off_without_a_law_or_decision_are_provisional_with_their_source(
    cal: WorkCalendar,
) -> None:
    # 24/11 (Ngày Văn hóa Việt Nam) is in holidays.VN only: still off, but dự kiến.
    nov24 = cal.provisional_days(2026)[D(2026, 11, 24)]
    assert not cal.is_working_day(D(2026, 11, 24))
    assert "Điều 112" in nov24.source and nov24.provisional
    # 2027: no Tết decision yet, nor one for the day beside 2/9.
    provisional_2027 = cal.provisional_days(2027)
    assert {D(2027, 2, d) for d in (4, 5, 8, 9, 10)} <= set(provisional_2027)
    assert D(2027, 9, 3) in provisional_2027 and D(2027, 9, 2) not in provisional_2027
    assert "Tết Nguyên đán 2027" in provisional_2027[D(2027, 2, 8)].source
    # Decided or history: no provisional days; 1/1 and 30/4 are law, never provisional.
    assert cal.provisional_days(2025) == {}
    assert D(2027, 1, 1) not in provisional_2027 and D(2027, 4, 30) not in provisional_2027


def test_the_confirmed_only_calendar_works_on_provisional_days(cal: WorkCalendar) -> None:
    strict = cal.confirmed_only()
    assert strict.is_working_day(D(2026, 11, 24)) and not cal.is_working_day(D(2026, 11, 24))
    assert strict.is_working_day(D(2027, 2, 8))
    assert not strict.is_working_day(D(2027, 1, 1))  # law in force
    assert cal.add_working_days(D(2026, 11, 23), 1) == D(2026, 11, 25)
    assert strict.add_working_days(D(2026, 11, 23), 1) == D(2026, 11, 24)
    assert [e.day for e in cal.provisional_between(D(2026, 11, 30), D(2026, 11, 1))] == [
        D(2026, 11, 24)
    ]


def test_an_administrator_confirms_a_provisional_day_in_the_local_file(tmp_path: Path) -> None:
    local = tmp_path / "holiday-overrides.yaml"
    local.write_text(
        "2027:\n  decided:\n    tet: Quyết định của Thủ tướng (số do quản trị viên nhập)\n"
        "not_in_force: {}\n",
        encoding="utf-8",
    )
    confirmed = WorkCalendar(HolidayOverrides.load(local=local))
    assert D(2027, 2, 8) not in confirmed.provisional_days(2027)
    assert not confirmed.is_working_day(D(2027, 2, 8))
    assert D(2027, 9, 3) in confirmed.provisional_days(2027)  # only Tết was confirmed
    assert HolidayOverrides.load(local=tmp_path / "missing.yaml") == HolidayOverrides.load()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({2030: {"decided": {"tet-am": "x"}}}, "mục lạ 'tet-am'"),
        ({2030: {"decided": {"tet": ""}}}, "thiếu nguồn"),
        ({"decided_through": "2025"}, "decided_through"),
        (
            {2030: {"off": [{"date": "2031-01-02", "name": "x", "source": "y"}]}},
            "ngày '2031-01-02' không hợp lệ",
        ),
        ({2030: {"off": [{"date": "2030-01-02", "name": "x"}]}}, "cần name và source"),
        (
            {2030: {"work": [{"date": "2030-13-02", "name": "x", "source": "y"}]}},
            "ngày '2030-13-02' không hợp lệ",
        ),
        (
            {
                2030: {
                    "off": [{"date": "2030-01-05", "name": "x", "source": "y"}],
                    "work": [{"date": "2030-01-05", "name": "x", "source": "y"}],
                }
            },
            "vừa là ngày nghỉ vừa là ngày làm bù",
        ),
    ],
)
def test_bad_override_entries_are_refused(data: dict[int, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HolidayOverrides.from_data(data)


# -- laws of the arithmetic ---------------------------------------------------------------


def naive_add(cal: WorkCalendar, d: date, n: int) -> date:
    step = 1 if n > 0 else -1
    while n:
        d += timedelta(days=step)
        if cal.is_working_day(d):
            n -= step
    return d


@settings(max_examples=300, deadline=None)
@given(days, st.integers(-400, 400))
def test_add_working_days_matches_counting_one_day_at_a_time(d: date, n: int) -> None:
    assert CAL.add_working_days(d, n) == naive_add(CAL, d, n)


@settings(max_examples=300, deadline=None)
@given(days)
def test_rolls_land_on_the_nearest_working_day(d: date) -> None:
    fwd, back = CAL.roll_forward(d), CAL.roll_backward(d)
    assert CAL.is_working_day(fwd) and CAL.is_working_day(back)
    assert back <= d <= fwd
    assert (fwd == d) == CAL.is_working_day(d) == (back == d)
    assert not any(CAL.is_working_day(d + timedelta(i)) for i in range(1, (fwd - d).days))
    assert CAL.next_working_day(d) > d and CAL.is_working_day(CAL.next_working_day(d))


@settings(max_examples=300, deadline=None)
@given(days, st.integers(-300, 300))
def test_add_and_between_invert_each_other(d: date, n: int) -> None:
    w = CAL.roll_forward(d)
    moved = CAL.add_working_days(w, n)
    assert CAL.working_days_between(w, moved) == n
    assert CAL.add_working_days(moved, -n) == w
    if n > 0:  # from any day, counting forward is exact
        assert CAL.working_days_between(d, CAL.add_working_days(d, n)) == n


@settings(max_examples=300, deadline=None)
@given(days, days, days)
def test_between_is_antisymmetric_and_additive(a: date, b: date, c: date) -> None:
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)
    total = CAL.working_days_between(a, b) + CAL.working_days_between(b, c)
    assert total == CAL.working_days_between(a, c)
    lo, hi = min(a, b), max(a, b)
    if (hi - lo).days <= 400:
        count = sum(CAL.is_working_day(lo + timedelta(i)) for i in range(1, (hi - lo).days + 1))
        assert CAL.working_days_between(lo, hi) == count
