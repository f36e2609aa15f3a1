"""A province's deadline rules: how it reads deadline words, and its default deadlines.

Loaded from ``models/data/deadline-defaults.yaml`` (per province, with ``default`` as the
fallback); every value carries its source, and a value no rule backs says so.

Reading (``ProvinceReading``)
    A deadline without a stated time ends at 24:00 of its day (Bộ luật Dân sự 2015,
    Điều 147–148); a province that sets office hours may end it at 17:00. "Trước ngày X"
    means before day X, so due by the end of X−1, unless the province's rule reads it
    inclusively; "chậm nhất ngày X" and "đến ngày X" mean by the end of X.

Defaults (``DefaultDeadline``)
    For a clause that states no deadline, the chain ends before the 25th of the period's
    last month (Nghị định 09/2019/NĐ-CP, Điều 13 khoản 1: what a province must meet when
    it reports upward), rolled back to a working day, and the agencies' deadline comes
    ``lead_days`` working days before the lead's. Every message says such a date is the
    administrator's default, not the directive's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from directives.parsed import PERIODIC, Deadline
from models.formats import END_OF_DAY as END_OF_DAY
from models.yaml_data import data_file

DEFAULT_PROVINCE = "default"
DEFAULTS_RESOURCE = "deadline-defaults.yaml"
# 24:00, shown as "24 giờ 00": stored as the day's last whole second (END_OF_DAY), which
# every store and feed (SQLite, PostgreSQL, iCalendar) keeps exactly; a report in that
# last second is late.
OFFICE_CLOSE = time(17, 0)
CIVIL_CODE = (
    "Bộ luật Dân sự 2015, Điều 147–148: thời hạn kết thúc vào thời điểm kết thúc ngày cuối "
    "cùng của thời hạn (24 giờ 00)"
)


def check_periodic(frequency: str) -> str:
    if frequency not in PERIODIC:
        raise ValueError(f"{frequency!r} has no periods (periodic: {', '.join(PERIODIC)})")
    return frequency


@dataclass(frozen=True, slots=True)
class ProvinceReading:
    """How a province reads deadline words, and where that reading comes from."""

    due_time: time = END_OF_DAY
    before_inclusive: bool = False  # True: "trước ngày X" still allows day X
    source: str = CIVIL_CODE


_TRUOC = re.compile(r"(?:^|\s)trước\s+(?:ngày\s+)?\d")


def is_before_exclusive(rule: Deadline, reading: ProvinceReading) -> bool:
    """True when the rule's own words say "trước ngày X" (no time of day): due by the end
    of X−1. "Trước 14h00 ngày X" names a moment on X; "chậm nhất", "đến ngày" include X."""
    if reading.before_inclusive or rule.time or not rule.raw:
        return False
    if rule.kind not in ("day_of_period", "date"):
        return False
    words = " ".join(rule.raw.casefold().split())
    return bool(_TRUOC.search(words)) and "chậm nhất" not in words


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: a memo key
class DefaultDeadline:
    """A province's default for one frequency: the lead's deadline to the recipient (the
    chain's end, rolled back to a working day) and the agencies', ``lead_days`` working
    days before it."""

    province: str
    frequency: str
    lead: Deadline
    lead_source: str
    lead_days: int
    agency_source: str

    @property
    def source(self) -> str:
        """Where the default comes from, as ``Due.source`` shows it."""
        if self.agency_source == self.lead_source:
            return f"default: {self.lead_source}"
        return f"default: lead: {self.lead_source}; agencies: {self.agency_source}"


@dataclass(frozen=True, slots=True)
class DeadlineDefaults:
    table: Mapping[str, Mapping[str, DefaultDeadline]]
    cutoff_source: str = ""
    minimum_source: str = ""
    readings: Mapping[str, ProvinceReading] | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> DeadlineDefaults:
        """The packaged defaults, or ``path``."""
        return cls.from_data(data_file(DEFAULTS_RESOURCE, path))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> DeadlineDefaults:
        provinces = data.get("provinces") or {}
        table = {
            str(province): {
                str(freq): _default_entry(str(province), str(freq), entry)
                for freq, entry in (by_freq or {}).items()
                if freq != "reading"
            }
            for province, by_freq in provinces.items()
        }
        readings = {
            str(province): _reading(str(province), by_freq["reading"])
            for province, by_freq in provinces.items()
            if (by_freq or {}).get("reading") is not None
        }
        missing = [f for f in PERIODIC if f not in table.get(DEFAULT_PROVINCE, {})]
        if missing:
            raise ValueError(f"deadline defaults: `{DEFAULT_PROVINCE}` lacks {', '.join(missing)}")
        return cls(
            table, str(data.get("cutoff_source", "")), str(data.get("minimum_source", "")), readings
        )

    def lookup(self, province: str, frequency: str) -> DefaultDeadline:
        """The province's default for a frequency, else the ``default`` one."""
        own = self.table.get(province, {}).get(frequency)
        found = own or self.table[DEFAULT_PROVINCE].get(check_periodic(frequency))
        assert found is not None  # from_data checked that `default` has every frequency
        return found

    def reading(self, province: str) -> ProvinceReading:
        """The province's reading, else the ``default`` one, else the Civil Code's."""
        readings = self.readings or {}
        return readings.get(province) or readings.get(DEFAULT_PROVINCE) or ProvinceReading()


def _reading(province: str, raw: Mapping[str, Any]) -> ProvinceReading:
    source = str(raw.get("source") or "").strip()
    if not source:
        raise ValueError(f"deadline defaults {province}: the reading needs a source")
    inclusive = raw.get("before_inclusive", False)
    if not isinstance(inclusive, bool):
        raise ValueError(f"deadline defaults {province}: before_inclusive is true or false")
    return ProvinceReading(parse_due_time(str(raw.get("due_time", "24:00"))), inclusive, source)


def parse_due_time(text: str) -> time:
    """ "24:00" (end of the day) or "HH:MM"."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m[1]) > 24 or int(m[2]) > 59 or (int(m[1]) == 24 and int(m[2])):
        raise ValueError(f"bad due time {text!r}: use HH:MM, or 24:00 for the end of the day")
    return END_OF_DAY if int(m[1]) == 24 else time(int(m[1]), int(m[2]))


def _default_entry(province: str, frequency: str, entry: Mapping[str, Any]) -> DefaultDeadline:
    check_periodic(frequency)
    lead, agency = entry.get("lead") or {}, entry.get("agency") or {}
    try:
        rule = Deadline(**dict(lead.get("deadline") or {}))
    except TypeError as exc:
        raise ValueError(f"deadline defaults {province}/{frequency}: {exc}") from None
    if rule.kind not in ("day_of_period", "relative"):
        raise ValueError(f"deadline defaults {province}/{frequency}: kind must be periodic")
    lead_days = agency.get("working_days_before_lead")
    if isinstance(lead_days, bool) or not isinstance(lead_days, int) or lead_days < 1:
        raise ValueError(
            f"deadline defaults {province}/{frequency}: agencies need ≥ 1 working day before "
            "the lead (working_days_before_lead)"
        )
    sources = (str(lead.get("source") or "").strip(), str(agency.get("source") or "").strip())
    if not all(sources):
        raise ValueError(f"deadline defaults {province}/{frequency}: every default needs a source")
    return DefaultDeadline(province, frequency, rule, sources[0], lead_days, sources[1])


@lru_cache(maxsize=1)
def packaged_defaults() -> DeadlineDefaults:
    return DeadlineDefaults.load()
