"""The timing grammar: how often a report is due, and by when.

Works on a clause's folded view (see ``text.fold``), returns spans into it. The
register is narrow and regular, so the grammar is a set of small linear regexes
(no nested quantifiers) combined by position, not a general date parser:
dateparser reads "ngày 25 tháng 01 năm 2024" as "25 months ago".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from directives.parsed import PERIODIC, Deadline, Frequency
from directives.text import fold

# --- frequencies -------------------------------------------------------------------------

_EVERY = r"(?:hàng|hằng|mỗi|từng)"
_SIX = r"\b(?:0?6(?:\s*\(\s*sáu\s*\))?|sáu)\s+tháng"  # "06 (sáu) tháng"
_NINE = r"\b(?:0?9(?:\s*\(\s*chín\s*\))?|chín)\s+tháng"
# "6 tháng" and "9 tháng" are reporting periods only where the register marks them as
# one: after "định kỳ"/"báo cáo"/"kỳ", beside another period ("6 tháng, hằng năm"), in
# the "6 tháng đầu năm" form or as "6 tháng một lần". "trong thời hạn 06 tháng" is a
# duration and is not. The context is checked in code (``_months_are_period``):
# lookbehinds at every position made this the parser's slowest pattern.
_SIX_BEFORE = (
    "định kỳ ",
    "báo cáo ",
    "giám sát ",
    "sơ kết ",
    "kết quả ",
    "thực hiện ",
    "tình hình ",
    "công tác ",
    "quý, ",
    "quý và ",
    "kỳ ",
    "(",
    "tháng, ",
    "tháng và ",
    "tháng; ",
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_REPORT_NAMED = re.compile(r"báo cáo [^,;.()]*$")
_DURATION_BEFORE = (
    "trong ",
    "sau ",
    "trước ",
    "vòng ",
    "hạn ",
    "quá ",
    "đủ ",
    "dưới ",
    "trên ",
    "từ ",
)
_DURATION_AFTER = re.compile(
    r"\s+(?:kể\s+từ|tính\s+từ|tuổi|trở\s+lên|trở\s+xuống|liên\s+tục|qua)\b"
)
_SIX_AFTER = re.compile(
    rf"\s*(?:,|và|hoặc)\s*(?:\d|một|{_EVERY}|cả|năm|9 tháng|chín tháng)|\s+(?:đầu|cuối)\s+năm"
    r"|\s*\(|\s+một\s+lần|\s*/\s*lần"
)
_FREQ_PATTERNS: list[tuple[Frequency, str]] = [
    ("weekly", rf"{_EVERY}\s+tuần|báo cáo tuần|định kỳ tuần|tuần một lần|theo tuần"),
    (
        "monthly",
        rf"{_EVERY}\s+tháng|báo cáo tháng|định kỳ tháng(?!\s+\d)|theo tháng(?!\s+\d)"
        r"|(?<!\d )(?<!sáu )(?<!chín )(?<!ba )tháng một lần",
    ),
    (
        "quarterly",
        rf"{_EVERY}\s+quý|báo cáo quý|định kỳ quý|quý một lần|theo quý(?!\s*[ivx\d])"
        r"|\b(?:0?3|ba)\s+tháng\s+một\s+lần"
        r"|\bquý(?:\s+i\b)?(?=\s*(?:,|và)\s*(?:sáu|0?6|0?9|chín|năm|cả năm|hằng năm|hàng năm)\b)"
        r"|(?<=tháng, )quý\b(?!\s*[ivx\d])",
    ),
    ("nine_months", _NINE),
    ("semiannual", rf"{_SIX}|nửa năm|bán niên"),
    (
        "annual",
        rf"{_EVERY}\s+năm|cả năm|báo cáo năm|định kỳ năm|(?<!\d )(?<!hai )(?<!ba )năm một lần"
        r"|một lần\s*/\s*năm"
        rf"|(?<=tháng, )(?:một|0?1) năm|(?<=quý, )năm\b(?!\s*\d)|(?<=quý và )năm\b(?!\s*\d)"
        rf"|(?<=tháng, )năm\b(?!\s*\d)|(?<=tháng và )năm\b(?!\s*\d)|tổng kết năm"
        # "6 tháng (trước ngày 15/6) và năm (trước ngày 15/12)"
        rf"|(?<=\) và )năm(?=\s*\()|(?<=\), )năm(?=\s*\()",
    ),
    (
        "on_request",
        r"(?:theo|khi có|khi được|khi)\s+(?:yêu cầu|đề nghị)(?!\s+tại)|theo đề nghị của cơ quan"
        r"|(?:và|hoặc) yêu cầu của",
    ),
    (
        "event",
        r"đột xuất|nếu(?! có\))|(?:trong |, |^)trường hợp (?!cần thiết)|trường hợp (?:có|phát)"
        r"|phát hiện thấy|khi (?:xảy ra|phát hiện|phát sinh|có (?!yêu cầu|đề nghị)\w+)"
        r"|hoặc khi (?!có yêu cầu|được yêu cầu)|\bphát sinh\b(?! (?:tại|ở|sau|vào|từ)\b)"
        r"|\bxảy ra\b(?! (?:tại|ở|sau|vào|từ)\b)|bất thường|tình huống"
        r"|(?:báo cáo|phản ánh|thông tin)(?:,\s*\w+(?:\s\w+)?)?\s+(?:về\s+)?(?:những\s+|các\s+)?"
        r"(?:khó khăn|vướng mắc|sai phạm|sai sót)"
        r"|ngay khi|ngay sau khi|sự cố|kịp thời (?:báo cáo )?(?:những |các )?"
        r"(?:vướng mắc|khó khăn|vấn đề|sai phạm|sai sót)",
    ),
]
_FREQ_RES = [(f, re.compile(p)) for f, p in _FREQ_PATTERNS]
# Words without which a pattern cannot match: most clauses skip most patterns.
_NEEDS: dict[str, tuple[str, ...]] = {
    "weekly": ("tuần",),
    "monthly": ("tháng",),
    "quarterly": ("quý", "tháng"),
    "nine_months": ("9", "chín"),
    "semiannual": ("6", "sáu", "nửa năm", "bán niên"),
    "annual": ("năm",),
    "on_request": ("yêu cầu", "đề nghị"),
}
# A single report on a named period or an urgent request: "kết quả năm 2024", "quý
# I/2020", "khẩn trương báo cáo", "hỏa tốc". Read as ``once`` only when nothing
# periodic is said.
_ONCE = re.compile(
    r"khẩn trương|hỏa tốc|hoả tốc|\bngay\b(?! khi| sau khi)"
    r"|(?:năm|quý\s+[ivx]+\s*/?|tháng\s+\d{1,2}\s*/)\s*(?:năm\s+)?(?:19|20)\d\d\b"
    r"|giai đoạn (?:19|20)\d\d"
)


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
        if freq in _NEEDS and not any(word in folded for word in _NEEDS[freq]):
            continue
        for m in rx.finditer(folded):
            if freq in PERIODIC and _DATED_PERIOD.match(folded, m.end()):
                continue  # "cả năm 2025", "6 tháng đầu năm 2025": one named period
            if freq not in ("semiannual", "nine_months") or _months_are_period(folded, m):
                found.append(Mention(m.start(), m.end(), freq))
    found.sort(key=lambda m: m.start)
    if any(m.value == "on_request" for m in found):
        found = [m for m in found if not (m.value == "event" and _is_adhoc(folded, m))]
    return found


_DATED_PERIOD = re.compile(r"\s*(?:đầu\s+năm\s+|cuối\s+năm\s+|năm\s+|/\s*)?(?:19|20)\d\d\b")


def once_mentions(folded: str) -> list[Mention]:
    """Words that make an unscheduled report a one-off (see ``_ONCE``). Urgency counts
    only for a report: "khẩn trương triển khai …; kịp thời báo cáo" hurries the work."""
    return [
        Mention(m.start(), m.end(), "once")
        for m in _ONCE.finditer(folded)
        if not _URGENT.match(m.group()) or _REPORTS.search(_segment(folded, m.end()))
    ]


_URGENT = re.compile(r"khẩn|hỏa|hoả|ngay")
_REPORTS = re.compile(r"báo\s+cáo|gửi|cung\s+cấp|trình|nộp|thống\s+kê|tổng\s+hợp")


def _segment(folded: str, pos: int) -> str:
    """From ``pos`` to the end of its part of the sentence (";" or a full stop)."""
    m = re.compile(r";|\.(?=\s|$)").search(folded, pos)
    return folded[pos : m.start() if m else len(folded)]


def _months_are_period(folded: str, m: re.Match[str]) -> bool:
    if not m.group().startswith(("6", "06", "sáu", "9", "09", "chín")):
        return True  # "nửa năm", "bán niên"
    before = folded[max(0, m.start() - 10) : m.start()]
    if before.endswith(_SIX_BEFORE) or _SIX_AFTER.match(folded, m.end()):
        return True
    if before.endswith(_DURATION_BEFORE) or _DURATION_AFTER.match(folded, m.end()):
        return False
    if _YEAR.search(folded, m.end(), m.end() + 40):  # "quý III, 9 tháng, cả năm 2025"
        return False
    # "9 tháng" is seldom a duration: a nine-month report unless the words make it one;
    # "6 tháng" is one when a report names it ("báo cáo tình hình tài chính 6 tháng")
    if m.group().startswith(("9", "09", "chín")):
        return True
    return bool(_REPORT_NAMED.search(folded, max(0, m.start() - 50), m.start()))


def _is_adhoc(folded: str, m: Mention) -> bool:
    return folded[m.start : m.end] == "đột xuất"


# --- deadlines ----------------------------------------------------------------------------

_LEAD = (
    r"(?:trước|chậm nhất(?: là| vào)?|không (?:muộn|chậm) hơn|hạn chót(?: là)?|hạn cuối(?: là)?"
    r"|(?<!tính )(?<!kể )đến(?: hết)?)"
)
_D = r"(\d{1,2})"
_M = r"(\d{1,2})"
_Y = r"(\d{4})"
_TIME = (  # "16h00'", "15 giờ 00 (sáng) thứ Sáu," before the date
    r"(?:(\d{1,2})\s*(?:h|giờ)\s*(\d{2})?(?:\s*(?:phút|'|’))?\s*(?:,\s*)?"
    r"(?:(?:sáng|chiều|trưa|tối)\s+)?(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])\s*,?\s*)?)?"
)
_SPELLED = r"(?:\s*\([^()\d]{2,20}\))?"  # "ngày 15 (mười lăm) tháng 12 (mười hai)"
_DATE_NUM = rf"ngày\s+{_D}\s*[/.-]\s*{_M}(?:\s*[/.-]\s*{_Y})?"
_DATE_WORDS = rf"ngày\s+{_D}{_SPELLED}\s+tháng\s+{_M}{_SPELLED}(?:\s+năm\s+{_Y})?"
_DAY_ONLY = rf"ngày\s+{_D}(?!\s*(?:[/.-]\s*\d|tháng\s+\d|ngày|\d))"

_ABS = re.compile(rf"{_LEAD}\s+{_TIME}(?:{_DATE_NUM}|{_DATE_WORDS}|{_DAY_ONLY})")
# "Ngày 10 hằng tháng, …", "vào ngày 25 hàng quý": a day of the period with no lead word.
_PERIOD_DAY = re.compile(rf"(?<!\w)ngày\s+{_D}\s+(?=(?:của\s+)?{_EVERY}\s+(?:tháng|quý|năm))")
# "trước ngày 10/6 và 10/12 hằng năm": a second day/month after the first.
_AND_DATE = re.compile(  # ", 15/9 và 15/12", "và ngày 05 tháng 12" (no year after it)
    r"\s*(?:,|và)\s*(?:ngày\s+)?(\d{1,2})\s*(?:/|\s+tháng\s+)\s*(\d{1,2})(?!\d|\s*/\s*\d|\s+năm\s+\d)"
)
# "trước 15 giờ thứ Năm hằng tuần", "vào Thứ 5 hàng tuần", "thứ Sáu hằng tuần".
_WEEKDAYS = {"hai": 0, "ba": 1, "tư": 2, "năm": 3, "sáu": 4, "bảy": 5, "chủ nhật": 6}
_DATED_DAY = re.compile(r"\s*,?\s*(?:\(\s*)?ngày\s+\d{1,2}\s*[/.-]\s*\d{1,2}")
_DAY_WORD = re.compile(r"thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])\b|chủ\s+nhật")
# What may stand before the day, read on a short window ending at it (a pattern that
# starts with optional groups would be tried at every position of the clause).
_BEFORE_DAY = re.compile(
    rf"(?:(?P<lead>{_LEAD}|vào)\s+)?(?:(?P<h>\d{{1,2}})\s*(?:h|giờ)\s*(?P<mi>\d{{2}})?"
    r"(?:\s*(?:phút|'|’))?\s*)?(?:(?:sáng|chiều|trưa|tối)\s+)?$"  # "10 giờ sáng thứ Hai"
)
_EVERY_WEEK = re.compile(r"\s+(?:hằng|hàng|mỗi)\s+tuần")
# "định kỳ tháng 11 hằng năm", "trong tháng 12 hằng năm": the month of an annual report.
_MONTH_OF_YEAR = re.compile(rf"(?:định\s+kỳ|trong|vào)\s+tháng\s+{_M}\s+(?=(?:{_EVERY})\s+năm)")

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
    rf"(?:trong(?:\s+(?:thời\s+hạn|thời\s+gian|vòng))?|chậm\s+nhất(?:\s+là)?|sau|không\s+quá)\s+"
    rf"(\d{{1,3}}){_NUM_WORDS}\s+ngày(\s+làm\s+việc)?"
)
_REL_H = re.compile(  # "trong vòng 24 giờ": whole days of hours
    r"(?:ngay\s+)?(?:trong(?:\s+(?:thời\s+hạn|thời\s+gian|vòng))?|chậm\s+nhất(?:\s+là)?|không\s+quá)\s+"
    r"(24|48|72)\s*(?:giờ|tiếng)\b"
)
_REL_B = re.compile(  # "chậm nhất sau khi kết thúc quý 15 ngày": anchor before the number
    rf"chậm\s+nhất\s+(sau\s+khi\s+[^,;.()\d]{{3,40}}?)\s+(\d{{1,3}}){_NUM_WORDS}\s+ngày(\s+làm\s+việc)?"
)
_REL_C = re.compile(  # "trước khi đưa công trình vào sử dụng 10 ngày": a lead time
    rf"(trước\s+khi\s+[^,;.()\d]{{3,60}}?)\s+(?:ít\s+nhất\s+)?(\d{{1,3}}){_NUM_WORDS}\s+ngày(\s+làm\s+việc)?"
)
_REL_D = re.compile(  # "05 ngày làm việc kể từ ngày kết thúc quý": no lead word
    rf"(?<![\d/])(\d{{1,3}}){_NUM_WORDS}\s+ngày(\s+làm\s+việc)?(?=\s*,?\s*(?:kể\s+từ|tính\s+từ|sau\s+khi))"
)
_REL_ANCHOR = re.compile(
    r"\s*,?\s*(?P<anchor>trước\s+khi\s+[^,;.()]{3,60}?"
    r"(?=\s*(?:,|;|\.|\(|$| các | phải | gửi | báo cáo ))"
    r"|(?:kể\s+từ|tính\s+từ)\s+[^,;.]{3,80}?"
    r"(?=\s*(?:,|;|\.|$| các | phải | gửi | báo cáo ))"
    r"|sau\s+khi\s+[^,;.()]{3,60}?(?=\s*(?:,|;|\.|\(|$| các | gửi | báo cáo ))"
    # "Chậm nhất là 30 ngày, trước ngày khai mạc kỳ họp": counted back from an occasion.
    r"|trước\s+(?:ngày|thời\s+điểm|kỳ|phiên)\s+(?!\d)[^,;.()\d]{3,60}?"
    r"(?=\s*(?:,|;|\.|\(|$| các | phải | gửi | báo cáo ))"
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
    for extra in (_period_days, _weekdays, _months_of_year, _last_days):
        found += [m for m in extra(folded, original) if not _overlaps(m, found)]
    found += _relative(folded, original, taken=found)
    found.sort(key=lambda m: m.start)
    return _twice_a_year(folded, original, found)


def _twice_a_year(
    folded: str, original: str, found: list[DeadlineMention]
) -> list[DeadlineMention]:
    """ "trước ngày 10/6 và 10/12 hằng năm", "trước ngày 15 tháng 6 và trước ngày 15 tháng
    12 hằng năm": two days of the year in a row, where the clause names no period of its
    own, are one semiannual deadline (the first encoded, both in ``raw``). With periods
    named ("6 tháng, 9 tháng và hằng năm … trước ngày 15/6, 15/9 và 15/12") each day
    stays a deadline of its own, for the period in the same place of its list."""
    runs: list[list[DeadlineMention]] = []
    for m in found:
        prev = runs[-1][-1] if runs else None
        if (
            prev is not None
            and _day_of_year(prev)
            and _day_of_year(m)
            and prev.deadline.month != m.deadline.month
            and re.fullmatch(
                r"\s*(?:,|và|;)\s*(?:trước\s+)?(?:ngày\s+)?", folded[prev.end : m.start]
            )
        ):
            runs[-1].append(m)
        else:
            runs.append([m])
    if all(len(r) == 1 for r in runs):
        return found
    named = [
        f
        for f in frequency_mentions(folded)
        if f.value not in ("once", "on_request", "event")
        and not any(r[0].start <= f.start < r[-1].end for r in runs if len(r) > 1)
    ]
    out: list[DeadlineMention] = []
    for run in runs:
        if len(run) == 2 and not named:
            first, last = run
            first.deadline.raw = _clean(original[first.start : last.end])
            out.append(DeadlineMention(first.start, last.end, first.deadline, "semiannual"))
        elif len(run) > 1:
            out += [DeadlineMention(m.start, m.end, m.deadline) for m in run]
        else:
            out += run
    return out


def _day_of_year(m: DeadlineMention) -> bool:
    d = m.deadline
    return d.kind == "day_of_period" and bool(d.month) and d.date is None and d.day is not None


def _in_cutoff(folded: str, pos: int) -> bool:
    window = folded[max(0, pos - 60) : pos]
    return bool(_CUTOFF.search(window)) and "đến" in folded[max(0, pos - 8) : pos + 3]


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
        listed = (
            _listed_dates(folded, original, m.end()) if month and not year and not anchor else []
        )
        if listed:
            end = m.end()
        deadline = Deadline(
            kind="date" if year else "day_of_period",
            day=int(day),
            month=int(month) if month else None,
            date=f"{int(year):04d}-{int(month):02d}-{int(day):02d}" if year and month else None,
            time=f"{int(hour):02d}:{int(minute or 0):02d}" if hour else None,
            anchor=anchor,
            raw=_clean(original[m.start() : end]),
        )
        out.append(DeadlineMention(m.start(), end, deadline, None if listed else hint))
        out += listed
    return out


def _listed_dates(folded: str, original: str, pos: int) -> list[DeadlineMention]:
    """The further days of a list: "trước ngày 15/6, 15/9 và 15/12 hằng năm"."""
    out: list[DeadlineMention] = []
    for m in iter(lambda: _AND_DATE.match(folded, out[-1].end if out else pos), None):
        if not _valid(m.group(1), m.group(2), None):
            break
        end = m.end()
        am = _ANCHOR.match(folded, end)
        if am and re.match(_EVERY, folded[am.start("anchor") :]):
            end = am.end()
        start = m.start(1)
        deadline = Deadline(
            kind="day_of_period",
            day=int(m.group(1)),
            month=int(m.group(2)),
            raw=_clean(original[start:end]),
        )
        out.append(DeadlineMention(start, end, deadline))
    return out


def _overlaps(m: DeadlineMention, others: list[DeadlineMention]) -> bool:
    return any(o.start < m.end and m.start < o.end for o in others)


# "chậm nhất ngày cuối cùng của tháng", "vào ngày cuối cùng của tháng đầu của quý tiếp theo"
_LAST_DAY = re.compile(
    rf"(?:{_LEAD}|vào)\s+(?:là\s+)?(?P<anchor>ngày\s+cuối\s+cùng\s+của\s+(?P<unit>tháng|quý|năm)"
    r"(?:\s+(?:đầu|cuối|tiếp\s+theo|sau|liền\s+kề)(?:\s+(?:của\s+)?(?:quý|năm)(?:\s+(?:tiếp\s+theo|sau))?)?)?)"
)


def _last_days(folded: str, original: str) -> list[DeadlineMention]:
    """The last day of a period: no day number, the words in ``anchor`` (the calendar
    reads them as the period's last day)."""
    out = []
    for m in _LAST_DAY.finditer(folded):
        anchor = folded[m.start("anchor") : m.end("anchor")]
        unit = "quý" if "quý" in anchor else m.group("unit")
        deadline = Deadline(
            kind="day_of_period",
            anchor=_clean(original[m.start("anchor") : m.end("anchor")]),
            raw=_clean(original[m.start() : m.end()]),
        )
        out.append(DeadlineMention(m.start(), m.end(), deadline, _EVERY_HINT.get(unit)))
    return out


def _period_days(folded: str, original: str) -> list[DeadlineMention]:
    out = []
    for m in _PERIOD_DAY.finditer(folded):
        am = _ANCHOR.match(folded, m.end())
        if not am or not _valid(m.group(1), None, None):
            continue
        deadline = Deadline(
            kind="day_of_period", day=int(m.group(1)), raw=_clean(original[m.start() : am.end()])
        )
        hint = _anchor_period(folded[am.start("anchor") : am.end("anchor")])
        out.append(DeadlineMention(m.start(), am.end(), deadline, hint))
    return out


def _weekdays(folded: str, original: str) -> list[DeadlineMention]:
    """A weekday deadline keeps its day and time: "trước 15 giờ thứ Năm hằng tuần"."""
    out = []
    for day in _DAY_WORD.finditer(folded):
        if _DATED_DAY.match(folded, day.end()):
            continue  # "trước 17 giờ thứ Sáu, ngày 15/8/2025": the date is the deadline
        window = max(0, day.start() - 40)
        before = _BEFORE_DAY.search(folded, window, day.start())
        every = _EVERY_WEEK.match(folded, day.end())
        lead = before.group("lead") if before else None
        hour = before.group("h") if before else None
        named = original[day.start() + 4 : day.start() + 5]
        if not (every or (lead and (hour or named.isupper()))):
            continue  # "lần thứ hai", "tháng thứ ba": ordinals, not days
        start = before.start() if before and (lead or hour) else day.start()
        end = every.end() if every else day.end()
        word = " ".join(folded[day.start() : day.end()].split()[1:]) or "chủ nhật"
        deadline = Deadline(
            kind="day_of_period",
            weekday=int(word) - 2 if word.isdigit() else _WEEKDAYS.get(word, 6),
            time=f"{int(hour):02d}:{int((before and before.group('mi')) or 0):02d}"
            if hour
            else None,
            anchor=_clean(original[day.start() : end]),
            raw=_clean(original[start:end]),
        )
        out.append(DeadlineMention(start, end, deadline, "weekly"))
    return out


def _months_of_year(folded: str, original: str) -> list[DeadlineMention]:
    out = []
    for m in _MONTH_OF_YEAR.finditer(folded):
        if not _valid("1", m.group(1), None):
            continue
        am = _ANCHOR.match(folded, m.end())
        end = am.end() if am else m.end()
        deadline = Deadline(
            kind="day_of_period", month=int(m.group(1)), raw=_clean(original[m.start() : end])
        )
        out.append(DeadlineMention(m.start(), end, deadline, "annual"))
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
    for m in _REL_C.finditer(folded):
        if not any(o.start <= m.start() < o.end for o in taken):
            out.append(_rel(original, m.start(), m.end(), m.group(2), m.group(3), m.group(1)))
    out += _relative_spans(_REL_A, folded, original, [*out, *taken])
    for m in _REL_H.finditer(folded):
        if not any(o.start <= m.start() < o.end for o in [*out, *taken]):
            am = _REL_ANCHOR.match(folded, m.end())
            anchor = original[am.start("anchor") : am.end("anchor")] if am else None
            days = str(int(m.group(1)) // 24)
            out.append(_rel(original, m.start(), am.end() if am else m.end(), days, None, anchor))
    if "từ" in folded or "sau khi" in folded:  # _REL_D needs its anchor
        out += _relative_spans(_REL_D, folded, original, [*out, *taken])
    return out


def _relative_spans(
    rx: re.Pattern[str], folded: str, original: str, taken: list[DeadlineMention]
) -> list[DeadlineMention]:
    out: list[DeadlineMention] = []
    for m in rx.finditer(folded):
        if any(o.start <= m.start() < o.end for o in [*out, *taken]):
            continue
        am = _REL_ANCHOR.match(folded, m.end())
        anchor = original[am.start("anchor") : am.end("anchor")] if am else None
        end = am.end() if am else m.end()
        if anchor is None and not _relative_is_deadline(folded, m.start()):
            continue
        if not (anchor or m.group(2)) and re.match(r"trong\s+\d", m.group()):
            continue  # a bare "trong 30 ngày" is a duration; "trong 05 ngày làm việc" a deadline
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
    before = bool(anchor and fold(anchor).startswith("trước"))  # a lead time counts back
    deadline = Deadline(
        kind="relative",
        offset_days=-int(days) if before else int(days),
        working_days=bool(working),
        anchor=anchor_clean,
        raw=_clean(original[start:end]),
    )
    return DeadlineMention(start, end, deadline, _ended_period(anchor_clean))


_ENDED = re.compile(  # not "kết thúc Tháng hành động", "kết thúc năm học"
    r"kết\s+thúc\s+(?:kỳ\s+báo\s+cáo\s+)?(quý|năm|tháng|6\s+tháng|tuần)(?!\s+(?:hành|học|lễ|cao|[^\W\d_]+\s+động))"
)


def _ended_period(anchor: str | None) -> Frequency | None:
    """ "05 ngày làm việc kể từ ngày kết thúc quý" is a quarterly report."""
    m = _ENDED.search(fold(anchor)) if anchor else None
    if not m:
        return None
    word = m.group(1).split()[-1]
    return "semiannual" if m.group(1)[0] == "6" else _EVERY_HINT.get(word)


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" ,;:")
