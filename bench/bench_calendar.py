"""The reporting calendar at scale: every cycle of 1,000 obligations over 10 years.

    .venv/bin/python bench/bench_calendar.py

Prints (target for the first: under 1 s on one core)
  1. periods + the deadline to the recipient of every cycle (``evaluate``),
  2. the full plan of every cycle: both levels of deadline, the opening day and the
     reminder ladder (what ``models.plan`` stores when a cycle is opened).
The obligations mix the frequencies of the development corpus and its deadline rules.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from directives.parsed import Deadline
from models.calendar import (
    DEFAULT_LADDER,
    cycle_open_date,
    evaluate,
    levels,
    packaged_defaults,
    periods,
    schedule,
)
from models.workdays import WorkCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# Deadline rules as the parser writes them, per frequency (from the corpus's clauses).
RULES = {
    "annual": [
        Deadline(),
        Deadline("day_of_period", day=15, month=12),
        Deadline("day_of_period", day=5, month=7),
        Deadline("day_of_period", day=15, month=1, anchor="năm kế tiếp của năm báo cáo"),
    ],
    "semiannual": [Deadline(), Deadline("day_of_period", day=15, month=6)],
    "quarterly": [
        Deadline(),
        Deadline("day_of_period", day=15, anchor="tháng thứ ba của mỗi quý"),
        Deadline("day_of_period", day=15, anchor="tháng đầu tiên của quý sau liền kề"),
    ],
    "monthly": [Deadline(), Deadline("day_of_period", day=20), Deadline("day_of_period", day=22)],
    "weekly": [Deadline()],
}
MIX = {"annual": 0.4, "semiannual": 0.15, "quarterly": 0.2, "monthly": 0.2, "weekly": 0.05}


def obligations(n: int) -> list[tuple[str, Deadline]]:
    rnd = random.Random(7)
    freqs = rnd.choices(list(MIX), weights=list(MIX.values()), k=n)
    return [(f, rnd.choice(RULES[f])) for f in freqs]


def main() -> None:
    work = obligations(1000)
    defaults = packaged_defaults()
    start, end = date(2026, 1, 1), date(2035, 12, 31)

    cal, cycles = WorkCalendar(), 0
    t0 = time.perf_counter()
    for frequency, rule in work:
        for period in periods(frequency, start, end):
            evaluate(rule, frequency, period, calendar=cal, defaults=defaults)
            cycles += 1
    due_only = time.perf_counter() - t0
    print(f"{len(work)} obligations × 10 years = {cycles} cycles")
    print(
        f"  1. periods + deadlines:            {due_only:.2f} s ({cycles / due_only:,.0f} cycles/s)"
    )

    cal = WorkCalendar()  # cold caches again, so both figures include the holiday loading
    t0 = time.perf_counter()
    for frequency, rule in work:
        for period in periods(frequency, start, end):
            final = evaluate(rule, frequency, period, calendar=cal, defaults=defaults)
            agencies = levels(final, calendar=cal).agencies
            opened = cycle_open_date(period, agencies, calendar=cal)
            schedule(DEFAULT_LADDER, datetime.combine(opened, dtime(8), tzinfo=VN), agencies, cal)
    full = time.perf_counter() - t0
    print(f"  2. + levels, opening, ladder:      {full:.2f} s ({cycles / full:,.0f} cycles/s)")


if __name__ == "__main__":
    main()
