"""The timing grammar: how often a report is due, and by when.

Works on a clause's folded view (see ``text.fold``), returns spans into it. The
register is narrow and regular, so the grammar is a set of small linear regexes
(no nested quantifiers) combined by position, not a general date parser:
dateparser reads "ngày 25 tháng 01 năm 2024" as "25 months ago".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from directives.model import Deadline, Frequency

# --- frequencies -------------------------------------------------------------------------

_EVERY = r"(?:hàng|hằng|mỗi|từng)"
_SIX = r"\b(?:0?6|sáu)\s+tháng"
# "6 tháng" is a reporting period only where the register marks it as one: after
# "định kỳ"/"báo cáo"/"kỳ", beside another period ("6 tháng, hằng năm"), or in the
# "6 tháng đầu năm" form. "trong thời hạn 06 tháng" is a duration and is not.
# "6 tháng" is a reporting period only where the register marks it as one: after
# "định kỳ"/"báo cáo"/"kỳ", beside another period ("6 tháng, hằng năm"), or in the
# "6 tháng đầu năm" form. "trong thời hạn 06 tháng" is a duration and is not. The
# context is checked in code (``_six_months_is_period``): lookbehinds at every
# position made this the parser's slowest pattern.
_SIX_BEFORE = ("định kỳ ", "báo cáo ", "giám sát ", "sơ kết ", "quý, ", "quý và ", "kỳ ", "(")
_SIX_AFTER = re.compile(
    rf"\s*(?:,|và|hoặc)\s*(?:\d|một|{_EVERY}|cả|năm|9 tháng)|\s+(?:đầu|cuối)\s+năm|\s*\("
)
_FREQ_PATTERNS: list[tuple[Frequency, str]] = [
    ("weekly", rf"{_EVERY}\s+tuần|báo cáo tuần|định kỳ tuần"),
    ("monthly", rf"{_EVERY}\s+tháng|báo cáo tháng|định kỳ tháng|tháng một lần"),
    ("quarterly", rf"{_EVERY}\s+quý|báo cáo quý|định kỳ quý|quý một lần"),
    ("semiannual", rf"{_SIX}|nửa năm|bán niên"),
    (
        "annual",
        rf"{_EVERY}\s+năm|cả năm|báo cáo năm|định kỳ năm|năm một lần|một lần\s*/\s*năm"
        rf"|(?<=tháng, )một năm|(?<=quý, )năm\b(?!\s*\d)|(?<=quý và )năm\b(?!\s*\d)",
    ),
    ("on_request", r"(?:theo|khi có|khi được|khi)\s+yêu cầu|theo đề nghị của cơ quan"),
    (
        "event",
        r"đột xuất|nếu (?:phát hiện|có(?=\s+\w))|trường hợp (?:phát hiện|có|phát sinh)"
        r"|phát hiện thấy",
    ),
]
_FREQ_RES = [(f, re.compile(p)) for f, p in _FREQ_PATTERNS]

# Words that mark "kết quả thực hiện năm 2022": a year, never a frequency.


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    value: str


def frequency_mentions(folded: str) -> list[Mention]:
    """Every frequency word in the clause, in text order.

    "đột xuất" near "theo yêu cầu" is one on-request obligation, not an event: the
    corpus convention, and how officials read "báo cáo đột xuất theo yêu cầu".
    """
    found: list[Mention] = []
    for freq, rx in _FREQ_RES:
        for m in rx.finditer(folded):
            if freq != "semiannual" or _six_months_is_period(folded, m):
                found.append(Mention(m.start(), m.end(), freq))
    found.sort(key=lambda m: m.start)
    if any(m.value == "on_request" for m in found):
        found = [m for m in found if not (m.value == "event" and _is_adhoc(folded, m))]
    return found


def _six_months_is_period(folded: str, m: re.Match[str]) -> bool:
    if not m.group().startswith(("6", "06", "sáu")):
        return True  # "nửa năm", "bán niên"
    before = folded[max(0, m.start() - 10) : m.start()]
    return before.endswith(_SIX_BEFORE) or bool(_SIX_AFTER.match(folded, m.end()))


def _is_adhoc(folded: str, m: Mention) -> bool:
    return folded[m.start : m.end] == "đột xuất"


# --- deadlines ----------------------------------------------------------------------------

_LEAD = (
    r"(?:trước|chậm nhất(?: là| vào)?|không (?:muộn|chậm) hơn|hạn chót(?: là)?|hạn cuối(?: là)?)"
)
_D = r"(\d{1,2})"
_M = r"(\d{1,2})"
_Y = r"(\d{4})"
_TIME = r"(?:(\d{1,2})\s*(?:h|giờ)\s*(\d{2})?(?:\s*phút)?\s*(?:,\s*)?)?"
_DATE_NUM = rf"ngày\s+{_D}\s*[/.-]\s*{_M}(?:\s*[/.-]\s*{_Y})?"
_DATE_WORDS = rf"ngày\s+{_D}\s+tháng\s+{_M}(?:\s+năm\s+{_Y})?"
_DAY_ONLY = rf"ngày\s+{_D}(?!\s*(?:[/.-]\s*\d|tháng\s+\d|ngày|\d))"

_ABS = re.compile(rf"{_LEAD}\s+{_TIME}(?:{_DATE_NUM}|{_DATE_WORDS}|{_DAY_ONLY})")

# What a day-of-period deadline counts from: "hằng năm", "của tháng cuối quý",
# "tháng tiếp theo sau tháng kỳ báo cáo", "năm kế tiếp của năm báo cáo" …
_ANCHOR = re.compile(
    rf"\s*(?:của\s+)?(?P<anchor>"
    rf"(?:tháng|quý|năm|kỳ)\s+(?:thứ\s+\w+|cuối(?:\s+cùng)?|đầu(?:\s+tiên)?|tiếp\s+theo|kế\s+tiếp|sau|liền\s+kề)"
    rf"[^,;.()]{{0,60}}?(?=\s*(?:đối với|\(|,|;|\.|$| và | hoặc | để | gửi | về | báo cáo))"
    rf"|{_EVERY}\s+(?:tháng|quý|năm|tuần)"
    rf"|năm\s+(?:sau|kế\s+tiếp)[^,;.()]{{0,40}}?(?=\s*(?:đối với|\(|,|;|\.|$| và | hoặc | để ))"
    rf")"
)

_NUM_WORDS = r"(?:\s*\([^()]{1,20}\))?"  # "05 (năm) ngày làm việc"
_REL_A = re.compile(
    rf"(?:trong\s+(?:thời\s+hạn|thời\s+gian|vòng)|chậm\s+nhất(?:\s+là)?|sau|không\s+quá)\s+"
    rf"(\d{{1,3}}){_NUM_WORDS}\s+ngày(\s+làm\s+việc)?"
)
_REL_B = re.compile(  # "chậm nhất sau khi kết thúc quý 15 ngày": anchor before the number
    rf"chậm\s+nhất\s+(sau\s+khi\s+[^,;.()\d]{{3,40}}?)\s+(\d{{1,3}}){_NUM_WORDS}\s+ngày(\s+làm\s+việc)?"
)
_REL_ANCHOR = re.compile(
    r"\s*,?\s*(?P<anchor>(?:kể\s+từ|tính\s+từ)\s+[^,;.]{3,80}?"
    r"(?=\s*(?:,|;|\.|$| các | phải | gửi | báo cáo ))"
    r"|sau\s+khi\s+[^,;.()]{3,60}?(?=\s*(?:,|;|\.|\(|$| các | gửi | báo cáo ))"
    r"|đầu\s+(?:quý|năm|tháng)[^,;.()]{0,30}?(?=\s*(?:,|;|\.|\(|$| và | các | gửi | báo cáo )))"
)
# "từ ngày … đến ngày …" and "thời gian chốt số liệu" describe the data window.
_CUTOFF = re.compile(r"chốt\s+số\s+liệu|từ\s+ngày\s+\d")


@dataclass(slots=True)
class DeadlineMention:
    start: int
    end: int
    deadline: Deadline
    periodic_hint: Frequency | None = None  # "hằng năm" inside "trước ngày 15/12 hằng năm"


def deadline_mentions(folded: str, original: str) -> list[DeadlineMention]:
    """Every deadline phrase of the clause, in text order; ``original`` (same length)
    supplies the raw words."""
    found = [m for m in _absolute(folded, original) if not _in_cutoff(folded, m.start)]
    found += _relative(folded, original, taken=found)
    found.sort(key=lambda m: m.start)
    return found


def _in_cutoff(folded: str, pos: int) -> bool:
    window = folded[max(0, pos - 60) : pos]
    return bool(_CUTOFF.search(window)) and "đến" in folded[pos - 8 : pos + 2]


def _absolute(folded: str, original: str) -> list[DeadlineMention]:
    out: list[DeadlineMention] = []
    for m in _ABS.finditer(folded):
        hour, minute = m.group(1), m.group(2)
        day = m.group(3) or m.group(6) or m.group(9)
        month = m.group(4) or m.group(7)
        year = m.group(5) or m.group(8)
        end = m.end()
        anchor: str | None = None
        hint: Frequency | None = None
        am = _ANCHOR.match(folded, end)
        if am and not year:
            anchor_text = folded[am.start("anchor") : am.end("anchor")]
            every = re.match(_EVERY, anchor_text)
            hint = _anchor_period(anchor_text)
            end = am.end()
            if re.match(r"\s+báo\s+cáo", folded[end:]) and re.search(
                r"(?:của|tháng)\s+\w+$", anchor_text
            ):
                end = folded.index("cáo", end) + 3  # "năm kế tiếp của năm báo cáo"
            anchor = None if every else _clean(original[am.start("anchor") : end])
        if not _valid(day, month, year):
            continue
        deadline = Deadline(
            kind="date" if year else "day_of_period",
            day=int(day),
            month=int(month) if month else None,
            date=f"{int(year):04d}-{int(month):02d}-{int(day):02d}" if year and month else None,
            time=f"{int(hour):02d}:{int(minute or 0):02d}" if hour else None,
            anchor=anchor,
            raw=_clean(original[m.start() : end]),
        )
        out.append(DeadlineMention(m.start(), end, deadline, hint))
    return out


_EVERY_HINT: dict[str, Frequency] = {
    "năm": "annual",
    "quý": "quarterly",
    "tháng": "monthly",
    "tuần": "weekly",
}


def _anchor_period(anchor: str) -> Frequency | None:
    """The period an anchor implies: "hằng tháng" → monthly, "của tháng thứ ba của mỗi
    quý" → quarterly, "năm kế tiếp của năm báo cáo" → annual."""
    words = anchor.split()
    for period, freq in (("quý", "quarterly"), ("năm", "annual"), ("tuần", "weekly")):
        if period in words:
            return freq  # type: ignore[return-value]
    return "monthly" if "tháng" in words else None


def _valid(day: str, month: str | None, year: str | None) -> bool:
    if not 1 <= int(day) <= 31:
        return False
    if month and not 1 <= int(month) <= 12:
        return False
    return not (year and not 1900 <= int(year) <= 2200)


def _relative(folded: str, original: str, taken: list[DeadlineMention]) -> list[DeadlineMention]:
    out: list[DeadlineMention] = []
    for m in _REL_B.finditer(folded):
        out.append(_rel(original, m.start(), m.end(), m.group(2), m.group(3), m.group(1)))
    for m in _REL_A.finditer(folded):
        if any(o.start <= m.start() < o.end for o in [*out, *taken]):
            continue
        am = _REL_ANCHOR.match(folded, m.end())
        anchor = original[am.start("anchor") : am.end("anchor")] if am else None
        end = am.end() if am else m.end()
        if anchor is None and not _relative_is_deadline(folded, m.start()):
            continue
        out.append(_rel(original, m.start(), end, m.group(1), m.group(2), anchor))
    return out


def _relative_is_deadline(folded: str, start: int) -> bool:
    """A bare "trong thời hạn 30 ngày" without its anchor is still a deadline when it
    opens the clause; "sau 30 ngày" mid-sentence usually is not."""
    return folded[start:].startswith(("trong", "chậm"))


def _rel(
    original: str, start: int, end: int, days: str, working: str | None, anchor: str | None
) -> DeadlineMention:
    anchor_clean = _clean(re.sub(r"^(?:kể|tính)\s+từ\s+", "", anchor)) if anchor else None
    deadline = Deadline(
        kind="relative",
        offset_days=int(days),
        working_days=bool(working),
        anchor=anchor_clean,
        raw=_clean(original[start:end]),
    )
    return DeadlineMention(start, end, deadline)


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" ,;:")
