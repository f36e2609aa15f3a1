"""The administrator's deadline syntax: what a reviewer types (CLI ``--deadline``, the
review page's deadline field) as the parser's ``Deadline``.

Compact rules cover what clauses leave open ("20/12", "15", "10 next", "+5wd",
"14/11/2026 15:00"); anything else is read by the parser's own grammar, so a phrase
copied from a clause ("trước ngày 15 của tháng cuối quý") means what it meant there.
Pure text → data: whether a rule fits a frequency is the calendar's question
(``models.review`` asks it before anything is saved).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from directives.parsed import Deadline

# Anchors in the calendar's own vocabulary (models.calendar matches them): "kỳ báo cáo"
# is the obligation's own period, so a rule keeps its meaning if the frequency changes.
LAST_MONTH = "tháng cuối kỳ báo cáo"
MONTH_AFTER = "tháng sau"
PERIOD_END = "sau khi kết thúc kỳ báo cáo"

DEADLINE_RULES = """\
Cách ghi hạn (--deadline), mỗi cách được lưu như hạn mà bộ đọc văn bản trích ra:

    cách ghi            nghĩa
    default             hạn mặc định của tỉnh cho tần suất đó
    DD/MM, ngày DD/MM   ngày DD tháng MM: hằng năm mỗi năm (tháng trước tháng chốt
                        số liệu thuộc năm sau: 30/4 là 30/4 năm kế tiếp); 6 tháng
                        và hằng quý: cùng vị trí trong mỗi kỳ
    DD, ngày DD         ngày DD của tháng cuối kỳ (báo cáo tháng: của chính tháng đó)
    DD next             ngày DD của tháng sau kỳ báo cáo
    +N, +Nwd            N ngày / N ngày làm việc sau khi kết thúc kỳ báo cáo
    DD/MM/YYYY          một ngày cụ thể: chỉ cho báo cáo một lần (--frequency once)
    … HH:MM             mọi cách trên kèm giờ (20/12 14:00)
    cách khác           hạn ghi như trong văn bản, đọc bằng ngữ pháp của bộ đọc:
                        "trước ngày 15 của tháng cuối quý", "chậm nhất ngày 15 tháng
                        01 năm kế tiếp", "trong thời hạn 05 ngày làm việc sau khi kết
                        thúc quý"

Hạn được thử trên các kỳ sắp tới trước khi lưu."""

DEFAULT_WORDS = ("default", "none", "mặc định")


class DeadlineSyntaxError(ValueError):
    """A rule that is neither a compact rule nor a clause's phrase; the message, in
    Vietnamese, says what would be accepted."""


_TIME_SUFFIX = re.compile(r"^(?P<body>.*\S)\s+(?P<h>\d{1,2})\s*(?::|h|giờ)\s*(?P<m>\d{2})?$")
_NGAY = re.compile(r"^(?:trước\s+)?ngày\s+", re.IGNORECASE)
_FULL_DATE = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})")
_DAY_MONTH = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})")
_DAY = re.compile(r"(\d{1,2})")
_DAY_NEXT = re.compile(r"(\d{1,2})\s+next", re.IGNORECASE)
_AFTER_END = re.compile(r"\+\s*(\d{1,3})\s*(wd)?", re.IGNORECASE)
_DATES = re.compile(r"\d{1,2}\s*/\s*\d{1,2}|ngày\s+\d{1,2}\s+tháng", re.IGNORECASE)


def parse_deadline(text: str) -> Deadline:
    """A typed rule (see ``DEADLINE_RULES``) as the parser's Deadline."""
    raw = " ".join(unicodedata.normalize("NFC", text).split())
    if not raw:
        raise DeadlineSyntaxError("hạn để trống")
    if raw.casefold() in DEFAULT_WORDS:
        return Deadline(kind="none")
    rule = _compact(raw)
    return rule if rule is not None else _as_written(raw)


def _compact(raw: str) -> Deadline | None:
    body, at = raw, None
    if m := _TIME_SUFFIX.match(raw):
        hour, minute = int(m["h"]), int(m["m"] or 0)
        if hour > 23 or minute > 59:
            raise DeadlineSyntaxError(f"không có giờ này trong “{raw}”")
        body, at = m["body"], f"{hour:02d}:{minute:02d}"
    body = _NGAY.sub("", body)
    if m := _FULL_DATE.fullmatch(body):
        on = _checked_date(raw, int(m[1]), int(m[2]), int(m[3]))
        return Deadline(
            kind="date", day=on.day, month=on.month, date=on.isoformat(), time=at, raw=raw
        )
    if m := _DAY_MONTH.fullmatch(body):
        day, month = int(m[1]), int(m[2])
        _checked_date(raw, day, month)
        return Deadline(kind="day_of_period", day=day, month=month, time=at, raw=raw)
    if m := (_DAY.fullmatch(body) or _DAY_NEXT.fullmatch(body)):
        _checked_date(raw, int(m[1]))
        anchor = LAST_MONTH if m.re is _DAY else MONTH_AFTER
        return Deadline(kind="day_of_period", day=int(m[1]), time=at, anchor=anchor, raw=raw)
    if m := _AFTER_END.fullmatch(body):
        return Deadline(
            kind="relative",
            offset_days=int(m[1]),
            working_days=bool(m[2]),
            time=at,
            anchor=PERIOD_END,
            raw=raw,
        )
    return None


def _checked_date(raw: str, day: int, month: int | None = None, year: int = 2024) -> dt.date:
    try:
        return dt.date(year, month or 1, day)  # 2024 is a leap year: 29/2 exists
    except ValueError:
        raise DeadlineSyntaxError(f"không có ngày này: “{raw}”") from None


def _as_written(raw: str) -> Deadline:
    """A deadline as a clause states it, read by the parser's own grammar."""
    from directives.text import fold
    from directives.timing import deadline_mentions

    # "ngày 15/12" as a clause would put it: "trước ngày …".
    text = raw
    if raw[0].isdigit():
        text = f"trước ngày {raw}"
    elif raw.casefold().startswith("ngày"):
        text = f"trước {raw}"
    found = deadline_mentions(fold(text), text)
    if len(found) != 1:
        what = "không thấy hạn nào" if not found else f"thấy {len(found)} hạn"
        raise DeadlineSyntaxError(
            f"{what} trong “{raw}”: ghi DD/MM, DD, 'DD next', +N, +Nwd, DD/MM/YYYY hoặc "
            "'default' (có thể kèm HH:MM), hoặc như văn bản ghi, ví dụ "
            "'trước ngày 15 của tháng cuối quý'"
        )
    if len(_DATES.findall(raw)) > 1:
        # The grammar reads "10/6 và 10/12" as one semiannual rule; a rule typed here is
        # placed by the frequency chosen beside it, so one day must be named.
        raise DeadlineSyntaxError(
            f"“{raw}” ghi nhiều ngày: ghi một ngày, ví dụ 10/6 (với tần suất 6 tháng là "
            "10/6 cho 6 tháng đầu năm và 10/12 cho 6 tháng cuối năm)"
        )
    rule = found[0].deadline
    rule.raw = raw
    return rule
