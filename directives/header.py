"""The header grammar of a Vietnamese administrative document (Nghị định 30/2020/NĐ-CP).

A directive opens with the issuing body (top left, in capitals), the national motto (top
right), ``Số: N/SYMBOL`` and ``Place, ngày D tháng M năm Y``; then either a title line
(``QUYẾT ĐỊNH`` + subject lines, and for a decision the enacting authority on a line of
its own before the ``Căn cứ …`` preamble) or, for a công văn, a ``V/v …`` subject and a
``Kính gửi:`` list.  It closes with ``Nơi nhận:`` and a signing block (``KT. CHỦ TỊCH`` /
``PHÓ CHỦ TỊCH`` / name), which may share a table row with the list.

``parse_header`` reads those parts.  Layouts vary (markdown bold, two-column tables,
plain text columns separated by runs of spaces, Công báo PDF extractions with page
headers and hard line breaks), so lines are read as *cells*: runs of words separated by
gaps of three or more blanks.  Every offset is an offset into the text as given; the
grammar reads same-length masked / folded views (``directives.text``).

Cost stays linear: the line grammar only reads bounded windows (the first ``HEAD_CHARS``
characters, and ``CLOSING_CHARS`` around the first closing block); the whole text is only
scanned by a few simple regexes (closing markers, annex headings, citations).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from directives.model import CitedDocument, Evidence, Header
from directives.text import fold, mask, squash

HEAD_CHARS = 8000  # the title block always sits on the first page
CLOSING_BEFORE = 1500  # a VBHN prints its issuer, number and date above its signature
CLOSING_CHARS = 6000  # Nơi nhận + signing block, read from the first closing marker
_MAX_LIST_LINES = 80
_MAX_SIGNATURE_LINES = 16
_ATTACHED_LOOKAHEAD = 3000  # how far after a signature an attached regulation may start

Span = tuple[int, int]


def _bar(words: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in words.split("|"))


# ---------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------

# Type codes of a document symbol (Phụ lục III of Nghị định 30/2020/NĐ-CP), upper-cased.
_TYPE_CODES: dict[str, str] = {
    "NQ": "nghị quyết",
    "NQLT": "nghị quyết liên tịch",
    "QĐ": "quyết định",
    "CT": "chỉ thị",
    "QC": "quy chế",
    "QYĐ": "quy định",
    "TB": "thông báo",
    "HD": "hướng dẫn",
    "CTR": "chương trình",
    "KH": "kế hoạch",
    "PA": "phương án",
    "ĐA": "đề án",
    "DA": "dự án",
    "BC": "báo cáo",
    "BB": "biên bản",
    "TTR": "tờ trình",
    "HĐ": "hợp đồng",
    "CĐ": "công điện",
    "BGN": "bản ghi nhớ",
    "BTT": "bản thỏa thuận",
    "GUQ": "giấy ủy quyền",
    "GM": "giấy mời",
    "GGT": "giấy giới thiệu",
    "GNP": "giấy nghỉ phép",
    "PG": "phiếu gửi",
    "PC": "phiếu chuyển",
    "PB": "phiếu báo",
    "TT": "thông tư",
    "TTLT": "thông tư liên tịch",
    "NĐ": "nghị định",
    "VBHN": "văn bản hợp nhất",
    "KL": "kết luận",
}

# A title line is one of these words alone on its line, in capitals (compared folded).
_TITLE_TYPES = frozenset(
    _bar(
        "quyết định|nghị định|nghị quyết|nghị quyết liên tịch|thông tư|thông tư liên tịch"
        "|chỉ thị|kế hoạch|công điện|thông báo|hướng dẫn|báo cáo|tờ trình|quy chế"
        "|quy định|quy trình|luật|pháp lệnh|lệnh|đề án|phương án|chương trình"
        "|văn bản hợp nhất|kết luận|biên bản|giấy mời|công văn"
    )
)

# Kinds of document a text cites, folded; longest first so the alternation prefers them.
_CITED_KINDS = _bar(
    "thông tư liên tịch|nghị quyết liên tịch|văn bản hợp nhất|công điện|công văn|văn bản"
    "|nghị quyết|nghị định|quyết định|thông tư|chỉ thị|kế hoạch|báo cáo|thông báo"
    "|hướng dẫn|tờ trình|pháp lệnh|luật|kết luận|chương trình|đề án|quy chế|quy định"
)

# Posts a signing block ends with (the signer's own post), longest first.
_ROLES = tuple(
    sorted(
        _bar(
            "CHỦ TỊCH|PHÓ CHỦ TỊCH|THỦ TƯỚNG|PHÓ THỦ TƯỚNG|BỘ TRƯỞNG|THỨ TRƯỞNG|GIÁM ĐỐC"
            "|PHÓ GIÁM ĐỐC|TỔNG GIÁM ĐỐC|PHÓ TỔNG GIÁM ĐỐC|CHÁNH VĂN PHÒNG"
            "|PHÓ CHÁNH VĂN PHÒNG|CỤC TRƯỞNG|PHÓ CỤC TRƯỞNG|TỔNG CỤC TRƯỞNG"
            "|PHÓ TỔNG CỤC TRƯỞNG|VỤ TRƯỞNG|PHÓ VỤ TRƯỞNG|TRƯỞNG BAN|PHÓ TRƯỞNG BAN"
            "|TRƯỞNG PHÒNG|PHÓ TRƯỞNG PHÒNG|CHỦ NHIỆM|PHÓ CHỦ NHIỆM|BÍ THƯ|PHÓ BÍ THƯ"
            "|CHÁNH THANH TRA|PHÓ CHÁNH THANH TRA|TỔNG THANH TRA|THỐNG ĐỐC|PHÓ THỐNG ĐỐC"
            "|TỔNG KIỂM TOÁN|VIỆN TRƯỞNG|HIỆU TRƯỞNG|CHÁNH ÁN"
        ),
        key=len,
        reverse=True,
    )
)
# Signing on behalf of: thay mặt, ký thay, thừa lệnh, thừa ủy quyền, quyền.
_AUTHORITIES = ("TM.", "KT.", "TL.", "TUQ.", "Q.")

# The line naming who enacts a decision ('CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH …'), folded.
_ENACTOR_HEADS = (
    "bộ ",  # 'BỘ …' but not 'BỘ' alone
    *_bar(
        "ủy ban|ubnd|hội đồng|chủ tịch|chính phủ|thủ tướng|bộ trưởng|giám đốc|tổng giám đốc"
        "|cục trưởng|tổng cục trưởng|thống đốc|tổng kiểm toán|tổng thanh tra|chánh án"
        "|viện trưởng|ban chỉ đạo|ban chấp hành"
    ),
)

# Words that open a body in a stacked issuer block ('BỘ X' above 'TỔNG CỤC Y'), folded.
_BODY_HEADS = tuple(
    h + " "
    for h in _bar(
        "ủy ban|ubnd|hội đồng|hđnd|chính phủ|thủ tướng|bộ|sở|cục|tổng cục|vụ|ban|văn phòng"
        "|phòng|trung tâm|viện|kho bạc|ngân hàng|bảo hiểm xã hội|thanh tra|công an|tỉnh ủy"
        "|thành ủy|huyện ủy|đảng ủy|chủ tịch"
    )
)

# Capitals lines above the title that are not the issuer (folded prefixes).
_NOT_ISSUER = _bar(
    "cộng hòa xã hội|độc lập|đảng cộng sản|văn bản quy phạm pháp luật|văn bản khác"
    "|xác thực văn bản|công báo|khẩn|hỏa tốc|thượng khẩn|mật|tối mật|tuyệt mật|dự thảo"
    "|bản sao"
)

# Where the body proper starts: the preamble, the addressees, the first article …
_BODY_MARKERS = _bar(
    "Căn cứ|CĂN CỨ|Kính gửi|KÍNH GỬI|Xét đề nghị|Theo đề nghị|Điều 1|ĐIỀU 1|Chương I"
    "|CHƯƠNG I|Chương 1|Phần I|PHẦN I|Mục I|MỤC I"
)

# ---------------------------------------------------------------------------------------
# Regexes: all linear (no nested unbounded quantifiers over the same characters)
# ---------------------------------------------------------------------------------------

_DAY_MONTH = r"ngày\s+([0-9]{1,2})(?:[/.\-]|\s+tháng\s+)([0-9]{1,2})"
_DATE = "(" + _DAY_MONTH + r"(?:[/.\-]|\s+năm\s+)([0-9]{4}))"
_PLACE_DATE = re.compile(r",[ \t]*" + _DATE)
# A document number: '6966/UBND-KTN', '69  /2024/QĐ-UBND', '06-NQ/TW'.  Hyphens and
# slashes separate word pieces, so a hyphen ending a wrapped line ('364/CĐ-' newline
# 'TTg') can join the next piece.
_NUMBER_BODY = r"[0-9][\w&.]*(?:(?:[ \t]*/[ \t]*|-)[\w&.]+)*"
_NUMBER = re.compile(r"(?<!\w)số[ \t]*:[ \t]*(" + _NUMBER_BODY + ")")
_NUMBER_NO_COLON = re.compile(r"^[ \t]*số[ \t]+(" + _NUMBER_BODY + ")")
_NUMBER_LINE = re.compile(r"số[ \t]*:")
_CITED = re.compile(
    r"(?<!\w)(" + "|".join(_CITED_KINDS) + r")\s+(?:số\s*:?\s*)?"
    r"([0-9][\w&.]*(?:(?:[ \t]*/[ \t]*|-[ \t]*\r?\n\s*|-)[\w&.]+)*)"
    r"(?:(?:[ \t]*,)?\s*" + _DATE + ")?"
)
# What opens a closing block: 'Nơi nhận:', an authority line ('KT. CHỦ TỊCH'), a bare
# role line ('BỘ TRƯỞNG'), a VBHN certification.  Read on the lowercased raw text (the
# masked view is only built for windows); case is checked on the text afterwards.
_CLOSING = re.compile(
    r"^[ \t|*_>#]*+(?:(nơi nhận)[ \t*_\r]*(?::|$)"
    r"|((?:tm|kt|tl|tuq|q)\.)[ \t]*[^\W\d_]"
    r"|(" + "|".join(r.lower() for r in _ROLES) + r")[ \t*_|\r]*$"
    r"|(xác thực văn bản hợp nhất))",
    re.M,
)
# After a decision's signature: headings that continue its normative text (the Quy chế /
# Quy định it issues) and headings that open annexes (forms, tables).
_ATTACHED_TEXT = re.compile(
    r"(?:quy chế|quy định|điều lệ|quy trình|hướng dẫn|chương trình|kế hoạch|đề án"
    r"|phương án|chương [ivx0-9]+\b|điều 1\b|mục [i1]\b|phần [i1]\b)"
)
_ANNEX = re.compile(r"^[ \t|*_>#]*+(?:phụ lục|mẫu số|biểu mẫu|biểu số|mẫu)\b[^\n]{0,80}$", re.M)
# Page furniture of Công báo extractions: page numbers, running heads, signature stamps.
_FURNITURE = re.compile(
    r"(?:[0-9]{1,4}|công báo\b.*|người ký:.*|email:.*|cơ quan:.*|thời gian ký:.*"
    r"|văn bản quy phạm pháp luật|văn bản khác)"
)
_BANNER_PREFIX = re.compile(r"văn bản hợp nhất\s*[-–]\s*")  # Công báo section banner
_RULE_TAIL = re.compile(r"[\s\-_=–]*[-_=–]{2,}[\s\-_=–]*$")  # '--------' under a name
_CELL = re.compile(r"\S+(?:[ \t]{1,2}\S+)*")  # words with narrow gaps: one column cell
_BULLET = re.compile(r"^[-–•+]\s*")
_LIST_START = re.compile(r"[\s|*_:]*(?:[-–•+]|như trên|như điều|lưu\b)")
_INLINE_ITEMS = re.compile(r";\s*[-–•+]\s*")  # '- A; - B; - C' in one table cell
_AUTHORITY_AT = re.compile(r"(?:^|\s)(TM|KT|TL|TUQ|Q)\.\s*")
_WORD = re.compile(r"[^\W_]+")
_LINE_BREAK = re.compile(r"\n|<br\s*/?>")  # mask() blanks the same '<br>' forms


# ---------------------------------------------------------------------------------------
# Views: masked / folded windows of the text, addressed by absolute offsets
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _View:
    """A window of the text with same-length masked and folded views, split in lines."""

    text: str
    base: int
    masked: str
    folded: str
    lines: list[Span]

    @classmethod
    def of(cls, text: str, start: int, end: int) -> _View:
        """The window ``text[start:end]``; a ``<br>`` in a table cell breaks a line too, so
        a cell's rows ('ỦY BAN NHÂN DÂN<br>TỈNH …') read like the lines of a column."""
        masked = mask(text[start:end])
        lines: list[Span] = []
        pos = start
        for brk in _LINE_BREAK.finditer(text, start, end):
            lines.append((pos, brk.start()))
            pos = brk.end()
        lines.append((pos, end))
        return cls(text, start, masked, fold(masked), lines)

    def m(self, start: int, end: int) -> str:
        return self.masked[start - self.base : end - self.base]

    def f(self, start: int, end: int) -> str:
        return self.folded[start - self.base : end - self.base]

    def clean(self, start: int, end: int) -> str:
        """The original words with markup blanked (keeps the en dashes mask() folds)."""
        pairs = zip(self.text[start:end], self.m(start, end), strict=True)
        return "".join(" " if mk == " " else ch for ch, mk in pairs)

    def cells(self, line: Span) -> list[Span]:
        """Column cells of a line: runs of words separated by gaps of 3+ blanks."""
        return [(line[0] + c.start(), line[0] + c.end()) for c in _CELL.finditer(self.m(*line))]

    def lead(self, line: Span) -> Span | None:
        cells = self.cells(line)
        return cells[0] if cells else None

    def trimmed(self, line: Span) -> Span:
        s = self.m(*line)
        start = line[0] + len(s) - len(s.lstrip())
        return (start, start + len(s.strip()))

    def line_index(self, offset: int) -> int:
        lo, hi = 0, len(self.lines) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.lines[mid][0] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def is_blank(self, i: int) -> bool:
        return _is_blankish(self.m(*self.lines[i]))

    def is_furniture(self, i: int) -> bool:
        return _FURNITURE.fullmatch(self.f(*self.lines[i]).strip()) is not None

    def is_rule(self, i: int) -> bool:
        """A markdown table rule or horizontal rule: blank once masked, but not empty."""
        line = self.lines[i]
        return self.is_blank(i) and bool(self.text[line[0] : line[1]].strip())


def _ev(text: str, span: Span, confidence: float = 1.0) -> Evidence:
    return Evidence(span[0], span[1], text[span[0] : span[1]], confidence)


def _is_blankish(s: str) -> bool:
    """Empty, or only rules and table furniture ('---', '|---|', '___')."""
    return not s.strip(" \t\r-_=|:*#~>.")


def _is_caps(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _join_lines(parts: Iterable[str]) -> str:
    """Join wrapped lines; a word-final hyphen ('364/CĐ-' + 'TTg') joins without space."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out.endswith(("-", "–")) and len(out) > 1 and not out[-2].isspace():
            out += part
        else:
            out = f"{out} {part}" if out else part
    return squash(out)


def _lowered(text: str) -> str:
    """A same-length lowercase view of the whole text: fast, unlike fold() per character.
    U+0130 is the only character whose lower() is longer."""
    return text.replace("\u0130", "I").lower()


def _iso(day: str, month: str, year: str) -> str | None:
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------
# Vietnamese case for names written in capitals
# ---------------------------------------------------------------------------------------

_PLACE, _FIELD, _PLAIN = "place", "field", "plain"
# Folded phrase -> (written form, how the words after it are cased).
_PHRASES: dict[str, tuple[str, str]] = {
    "ủy ban nhân dân": ("Ủy ban nhân dân", _PLAIN),
    "ubnd nhân dân": ("Ủy ban nhân dân", _PLAIN),  # a transcription slip: 'UBND NHÂN DÂN'
    "ubnd": ("Ủy ban nhân dân", _PLAIN),
    "hội đồng nhân dân": ("Hội đồng nhân dân", _PLAIN),
    "hđnd": ("Hội đồng nhân dân", _PLAIN),
    "chính phủ": ("Chính phủ", _PLAIN),
    "quốc hội": ("Quốc hội", _PLAIN),
    "việt nam": ("Việt Nam", _PLAIN),
    "trung ương": ("Trung ương", _PLAIN),
    "công thương": ("Công Thương", _PLAIN),
    "bảo hiểm xã hội": ("Bảo hiểm xã hội", _PLAIN),
    "thành phố hồ chí minh": ("Thành phố Hồ Chí Minh", _PLAIN),  # 'Thành phố' is in the name
    "tỉnh ủy": ("Tỉnh ủy", _PLACE),
    "thành ủy": ("Thành ủy", _PLACE),
    "huyện ủy": ("Huyện ủy", _PLACE),
}
for _w in _bar("tỉnh|thành phố|huyện|quận|thị xã|xã|phường|thị trấn"):
    _PHRASES[_w] = (_w, _PLACE)  # administrative units: lowercase, the place name follows
for _w in _bar(
    "chủ tịch|phó chủ tịch|thủ tướng|bộ trưởng|thứ trưởng|giám đốc|tổng giám đốc"
    "|chánh văn phòng|cục trưởng|tổng cục trưởng|vụ trưởng|trưởng ban|thống đốc"
):
    _PHRASES[_w] = (_w.capitalize(), _PLAIN)  # posts
for _w in _bar(
    "bộ|sở|cục|tổng cục|vụ|ban|văn phòng|phòng|trung tâm|viện|học viện|trường|kho bạc"
    "|ngân hàng|thanh tra|ủy ban|hội đồng|công an"
):
    _PHRASES[_w] = (_w.capitalize(), _FIELD)  # agencies: their field follows
_MAX_PHRASE = max(len(p.split()) for p in _PHRASES)
# An agency head alone on a line continues on the next ('VĂN PHÒNG' / 'CHÍNH PHỦ').
_BARE_HEADS = frozenset(
    p for p, (_, mode) in _PHRASES.items() if mode == _FIELD or p.endswith("nhân dân")
)


def normal_case(name: str) -> str:
    """'ỦY BAN NHÂN DÂN TỈNH KON TUM' -> 'Ủy ban nhân dân tỉnh Kon Tum'.

    Administrative nouns lowercase, place names title-cased, and the field of an agency
    capitalised at the start of each of its parts ('BỘ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI'
    -> 'Bộ Lao động - Thương binh và Xã hội'), as Nghị định 30/2020/NĐ-CP writes them.
    """
    low = fold(name)
    words = [(m.start(), m.end()) for m in _WORD.finditer(low)]
    out: list[str] = []
    pos, i, mode, cap_next = 0, 0, _PLAIN, False
    while i < len(words):
        gap = name[pos : words[i][0]]
        out.append(gap)
        if re.search(r"[-–,&]", gap):
            cap_next = mode == _FIELD
        size, written, new_mode = _phrase_at(low, words, i, places=not cap_next)
        if size:
            out.append(written)
            mode, cap_next = new_mode, new_mode == _FIELD
            pos, i = words[i + size - 1][1], i + size
            continue
        word = low[words[i][0] : words[i][1]]
        if mode == _PLACE or cap_next:
            word = word[:1].upper() + word[1:]
        out.append(word)
        cap_next = mode == _FIELD and word == "và"
        pos, i = words[i][1], i + 1
    out.append(name[pos:])
    text = squash("".join(out).replace(" – ", " - "))
    return text[:1].upper() + text[1:]


def _phrase_at(low: str, words: list[Span], i: int, places: bool) -> tuple[int, str, str]:
    """The longest known phrase at word ``i``.  At the start of a part of an agency's
    field ('… VÀ XÃ HỘI') a unit word is part of the field, not a place."""
    for size in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
        key = " ".join(low[s:e] for s, e in words[i : i + size])
        if key in _PHRASES and (places or _PHRASES[key][1] != _PLACE):
            written, mode = _PHRASES[key]
            return size, written, mode
    return 0, "", _PLAIN


# ---------------------------------------------------------------------------------------
# The title block
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Head:
    """What the title block yielded, and where each part ended (the body follows)."""

    text: str
    zone_end: int = 0  # index of the first body line (Căn cứ / Kính gửi / Điều 1 …)
    title: Span | None = None  # the title line (QUYẾT ĐỊNH …)
    title_type: str | None = None  # its folded words: "quyết định" …
    issuer: tuple[str, Span] | None = None  # the top-left issuing body
    enactor: tuple[str, Span] | None = None  # the enacting-authority line of a decision
    ends: list[int] = field(default_factory=list)


def _zone_end(view: _View) -> int:
    for i, line in enumerate(view.lines):
        if view.m(*line).lstrip(" \t#>").startswith(_BODY_MARKERS):
            return i
    return len(view.lines)


def _find_title(view: _View, stop: int) -> int | None:
    for i in range(stop):
        s = squash(view.m(*view.lines[i]))
        if s and _is_caps(s) and fold(s) in _TITLE_TYPES:
            return i
    return None


def _find_number(view: _View, lines: list[Span]) -> Span | None:
    for line in lines:
        hit = _NUMBER.search(view.f(*line)) or _NUMBER_NO_COLON.search(view.f(*line))
        if hit:
            return (line[0] + hit.start(1), line[0] + hit.end(1))
    return None


def _number_value(view: _View, span: Span) -> str | None:
    return "".join(view.m(*span).split()).rstrip(".-") or None


def _find_date(view: _View, lines: list[Span]) -> tuple[Span, Span, str] | None:
    """(date span, place span, ISO date) of the first 'Place, ngày D tháng M năm Y'."""
    for line in lines:
        for hit in _PLACE_DATE.finditer(view.f(*line)):
            iso = _iso(hit.group(2), hit.group(3), hit.group(4))
            place = _place_before(view, line, line[0] + hit.start())
            if iso and place:
                return (line[0] + hit.start(1), line[0] + hit.end(1)), place, iso
    return None


def _place_before(view: _View, line: Span, comma: int) -> Span | None:
    """The place name left of ', ngày' in its cell: a few capitalised words."""
    cells = view.cells((line[0], comma))
    if not cells:
        return None
    place = cells[-1]
    words = view.m(*place).split()
    units = {"phố", "xã", "trấn", "thành", "huyện", "tỉnh", "quận", "phường"}
    ok = all(w[:1].isupper() or w[:1].isdigit() or (k and w in units) for k, w in enumerate(words))
    if not ok or len(words) > 6 or place[1] - place[0] > 40 or "/" in view.m(*place):
        return None
    return place


# --- subject -----------------------------------------------------------------------------


def _find_vv(view: _View, stop: int) -> tuple[int, Span] | None:
    for i in range(stop):
        for cell in view.cells(view.lines[i]):
            if view.f(*cell).startswith("v/v"):
                return i, cell
    return None


def _vv_subject(view: _View, idx: int, cell: Span, stop: int) -> tuple[str, Span] | None:
    """The V/v subject: its cell and the wrapped lines below, up to a blank line."""
    start = cell[0] + 3
    while start < cell[1] and view.m(start, start + 1) in " :\t":
        start += 1
    spans = [(start, cell[1])]
    if cell == view.lead(view.lines[idx]):  # in the left column: it wraps below
        spans += _continuations(view, idx + 1, stop)
    text = _join_lines(view.clean(*s) for s in spans)
    return (text, (spans[0][0], spans[-1][1])) if text else None


def _continuations(view: _View, idx: int, stop: int) -> list[Span]:
    spans: list[Span] = []
    for i in range(idx, min(stop, idx + 12)):
        lead = view.lead(view.lines[i])
        if lead is None or _is_blankish(view.m(*lead)):
            break
        f = view.f(*lead)
        if f.startswith(("kính gửi", "độc lập")) or "cộng hòa xã hội" in f:
            break
        if _NUMBER_LINE.match(f) or _PLACE_DATE.search(f):
            break
        spans.append(lead)
    return spans


def _title_subject(view: _View, title: int, stop: int) -> tuple[list[Span], int]:
    """The subject lines under the title line, and the index of the line after them."""
    i, spans = title + 1, list[Span]()
    while i < min(stop, title + 4) and view.is_blank(i):
        i += 1
    while i < stop and len(spans) < 10:
        if view.is_blank(i):
            break
        span = view.trimmed(view.lines[i])
        if spans and _is_enactor(view.m(*span)):
            break
        if not view.is_furniture(i):
            spans.append(span)
        i += 1
    return spans, i


def _is_enactor(s: str) -> bool:
    return _is_caps(s) and fold(s.strip()).startswith(_ENACTOR_HEADS)


def _enactor(view: _View, idx: int, stop: int) -> list[Span]:
    """The enacting-authority line(s) between a decision's subject and its preamble."""
    i = idx
    while i < stop and view.is_blank(i):
        i += 1
    spans: list[Span] = []
    while i < stop:
        span = view.trimmed(view.lines[i])
        s = view.m(*span)
        if not (_is_caps(s) and (spans or _is_enactor(s))):
            break
        spans.append(span)
        i += 1
    return spans


# --- issuer ------------------------------------------------------------------------------


def _issuer_cell(view: _View, cell: Span) -> Span | None:
    """The cell as part of an issuer name, minus banners and rules; None if it is not."""
    s, f = view.m(*cell), view.f(*cell)
    if not _is_caps(s) or not s[:1].isalpha() or f.startswith(_NOT_ISSUER):
        return None
    if "cộng hòa xã hội" in f or squash(f) in _TITLE_TYPES:
        return None
    start, end = cell
    banner = _BANNER_PREFIX.match(f)
    if banner:
        start += banner.end()
    rule = _RULE_TAIL.search(view.m(start, end))
    if rule:
        end = start + rule.start()
    return (start, end) if _is_caps(view.m(start, end)) else None


def _issuer_blocks(view: _View, stop: int) -> list[list[Span]]:
    """Runs of capitals cells on consecutive lines (left-most cell of each line)."""
    blocks: list[list[Span]] = [[]]
    for i in range(stop):
        if view.is_furniture(i) or view.is_rule(i):
            continue  # page furniture and table rules sit between rows of one cell
        line = view.lines[i]
        cells = [c for c in (_issuer_cell(view, c) for c in view.cells(line)) if c]
        if cells and not _NUMBER.search(view.f(*line)):
            blocks[-1].append(cells[0])
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _issuing_body(view: _View, block: list[Span]) -> list[Span]:
    """In a parent body stacked above the issuing body ('UBND TỈNH X' / 'SỞ TÀI CHÍNH'),
    the lower one issues; a name wrapped over two lines ('BỘ LAO ĐỘNG - THƯƠNG' / 'BINH
    VÀ XÃ HỘI', 'ỦY BAN NHÂN DÂN' / 'TỈNH KON TUM') is one body."""
    start = 0
    for k in range(1, len(block)):
        prev = squash(view.f(*block[k - 1]))
        wrapped = prev.endswith(("-", "–", ",", " và", " của")) or prev in _BARE_HEADS
        if not wrapped and (squash(view.f(*block[k])) + " ").startswith(_BODY_HEADS):
            start = k
    return block[start:]


def _issuer(view: _View, stop: int) -> tuple[str, Span] | None:
    blocks = _issuer_blocks(view, stop)
    if not blocks:
        return None
    body = _issuing_body(view, blocks[-1])
    name = normal_case(_join_lines(view.clean(*s) for s in body))
    return (name, (body[0][0], body[-1][1])) if name else None


# --- addressee and distribution lists ----------------------------------------------------


def _split_items(piece: str) -> list[str]:
    return [p for p in _INLINE_ITEMS.split(_BULLET.sub("", piece.strip())) if p.strip()]


def _is_signature_start(s: str) -> bool:
    s = s.strip()
    return s.startswith(_AUTHORITIES) or _role_prefix(s) is not None


def _find_marker(view: _View, lines: Iterable[int], marker: str) -> tuple[int, int] | None:
    """(line index, offset after 'marker:') of the first line whose first cell opens with
    ``marker`` (folded)."""
    for i in lines:
        lead = view.lead(view.lines[i])
        if lead and view.f(*lead).startswith(marker):
            off = lead[0] + len(marker)
            while off < lead[1] and view.m(off, off + 1) in " :\t":
                off += 1
            return i, off
    return None


def _parse_list(view: _View, idx: int, after: int) -> tuple[list[str], int]:
    """Items of a 'Kính gửi:' / 'Nơi nhận:' list opening on line ``idx``, and its end.

    Items are bullet lines (or '; -' separated in one table cell); an unbulleted line
    continues an item that did not end with ';' or '.'.  A blank line after an item
    ending with '.', a signing line, or other prose ends the list.
    """
    items: list[str] = []
    end = after
    rest = view.cells((after, view.lines[idx][1]))
    if rest and not _is_signature_start(view.m(*rest[0])):  # the list starts inline
        items, end = _split_items(view.clean(*rest[0])), rest[0][1]
    blank = False
    for i in range(idx + 1, min(len(view.lines), idx + _MAX_LIST_LINES)):
        lead = view.lead(view.lines[i])
        if lead is None or view.is_blank(i) or view.is_furniture(i):
            blank = blank or not view.is_furniture(i)
            continue
        s, piece = view.m(*lead).strip(), view.clean(*lead)
        last = items[-1].rstrip() if items else ""
        if _is_signature_start(s):
            break
        if _BULLET.match(s) and not (blank and last.endswith(".")):
            items += _split_items(piece)
        elif items and not blank and not last.endswith((";", ".")):
            items[-1] += " " + piece.strip()
        elif not items and not blank and len(s) < 160:
            items += _split_items(piece)  # a single addressee without a bullet
        else:
            break
        end, blank = lead[1], False
    return [c for c in (squash(i).strip(" ;,.") for i in items) if c], end


# ---------------------------------------------------------------------------------------
# The closing block: Nơi nhận and the signature
# ---------------------------------------------------------------------------------------


def _role_prefix(s: str) -> str | None:
    for role in _ROLES:
        if s.startswith(role) and (len(s) == len(role) or not s[len(role)].isalpha()):
            return role
    return None


def _is_name_word(w: str) -> bool:
    return w.isalpha() and w[0].isupper() and (len(w) == 1 or w[1:].islower())


def _is_name(s: str) -> bool:
    words = s.split()
    return 2 <= len(words) <= 6 and all(_is_name_word(w) for w in words)


def _split_caps_and_name(s: str) -> tuple[str, str]:
    """'TM. CHÍNH PHỦ THỦ TƯỚNG Nguyễn Tấn Dũng' -> (capitals part, name)."""
    words = s.split()
    k = len(words)
    while k > 0 and _is_name_word(words[k - 1]):
        k -= 1
    if len(words) - k < 2:
        return s.strip(), ""
    return " ".join(words[:k]), " ".join(words[k:])


def _role_pieces(lines: list[str]) -> list[str]:
    """Signing lines as the document sets them: split at authority prefixes and before
    the final post ('TM. CHÍNH PHỦ THỦ TƯỚNG' -> 'TM. CHÍNH PHỦ', 'THỦ TƯỚNG')."""
    pieces: list[str] = []
    for line in lines:
        cuts = sorted({0, *(m.start(1) for m in _AUTHORITY_AT.finditer(line)), len(line)})
        pieces += [squash(line[a:b]) for a, b in itertools.pairwise(cuts) if line[a:b].strip()]
    return [part for piece in pieces for part in _split_final_role(piece)]


def _split_final_role(piece: str) -> list[str]:
    if not piece.startswith(_AUTHORITIES):
        return [piece]
    prefix, _, rest = piece.partition(" ")
    for role in _ROLES:
        if rest.endswith(" " + role):
            return [f"{prefix} {rest[: -len(role)].strip()}", role]
    return [piece]


@dataclass(slots=True)
class _Signature:
    roles: list[str] = field(default_factory=list)
    name: Span | None = None
    end: int = 0


def _signature(view: _View, first: int) -> _Signature | None:
    """The signing block from line ``first`` on, in whichever column it stands: capitals
    lines from an authority / post line down to the signer's name."""
    sig: _Signature | None = None
    started = first
    for i in range(first, len(view.lines)):
        if sig is not None and i - started > _MAX_SIGNATURE_LINES:
            break
        for cell in view.cells(view.lines[i]):
            s = view.m(*cell).strip()
            if sig is None and not _is_signature_start(s):
                continue
            if sig is None:
                sig, started = _Signature(), i
            elif _is_name(s):
                sig.name, sig.end = cell, cell[1]
                return sig
            elif not _is_caps(s):
                continue  # '(đã ký)', stamps, the Nơi nhận column
            if _signature_cell(view, cell, sig):
                return sig
    return sig


def _signature_cell(view: _View, cell: Span, sig: _Signature) -> bool:
    """Add a capitals cell to the block; True when it also carries the name."""
    caps, name = _split_caps_and_name(view.clean(*cell))
    if _is_caps(caps):
        sig.roles.append(caps)
        sig.end = cell[1]
    if not name:
        return False
    off = cell[0] + view.clean(*cell).rfind(name)
    sig.name, sig.end = (off, off + len(name)), off + len(name)
    return True


def _closing_start(text: str, low: str, start: int) -> int | None:
    """Offset of the first closing marker (Nơi nhận / signing block) from ``start``."""
    for hit in _CLOSING.finditer(low, start):
        if hit.group(1) and text[hit.start(1)] == "N" and _opens_list(low, hit.end()):
            return hit.start(1)
        for g in (2, 3, 4):
            if hit.group(g) and text[hit.start(g) : hit.end(g)].isupper():
                return hit.start(g)
    return None


def _opens_list(low: str, after: int) -> bool:
    """'Nơi nhận:' closes the document only when its list follows (on the same line, as
    in a table cell, or within the next lines): 'Nơi nhận: Sở Tài chính.' in a clause
    about reports does not."""
    lines = low[after : after + 400].split("\n")[:5]
    return any(_LIST_START.match(line) for line in lines)


def _walk_back(view: _View, idx: int) -> int:
    """A VBHN prints issuer, number, 'XÁC THỰC VĂN BẢN HỢP NHẤT' and the date above its
    signature: those header-like lines belong to the closing block."""
    first = idx
    for i in range(idx - 1, max(-1, idx - 16), -1):
        s = view.m(*view.lines[i]).strip()
        f = fold(s)
        if _is_blankish(s):
            continue
        if not (_is_caps(s) or _NUMBER_LINE.match(f) or _PLACE_DATE.search(f)):
            break
        first = i
    return first


# ---------------------------------------------------------------------------------------
# Citations and the document type
# ---------------------------------------------------------------------------------------


def _citations(text: str, low: str, own: str | None) -> list[CitedDocument]:
    """Documents cited anywhere: kind + number (+ date); one per number, keeping the
    first occurrence that gives a date; never the document itself."""
    found: dict[str, CitedDocument] = {}
    own_key = own.casefold() if own else None
    for hit in _CITED.finditer(low):
        number = "".join(text[hit.start(2) : hit.end(2)].split()).replace("–", "-")
        number = number.rstrip(".-")
        key = number.casefold()
        if "/" not in number or key == own_key:
            continue
        date = _iso(hit.group(4), hit.group(5), hit.group(6)) if hit.group(3) else None
        if key in found and (found[key].date or not date):
            continue
        kind = text[hit.start(1) : hit.end(1)]
        found[key] = CitedDocument(
            kind=kind[:1].upper() + kind[1:].lower(),
            number=number,
            date=date,
            evidence=_ev(text, (hit.start(), hit.end())),
        )
    return sorted(found.values(), key=lambda c: c.evidence.start if c.evidence else 0)


def _type_from_symbol(number: str) -> str | None:
    """'49/2012/QĐ-UBND' -> quyết định; '06-NQ/TW' -> nghị quyết; '6966/UBND-KTN' -> None
    (a công văn's symbol names only the issuer and the drafting unit)."""
    head, _, symbol = number.partition("/")
    parts = [p for p in symbol.split("/") if p and not p.isdigit()]
    codes = [parts[0].split("-")[0]] if parts else []
    if "-" in head:
        codes.insert(0, head.split("-")[1])
    return next((_TYPE_CODES[c.upper()] for c in codes if c.upper() in _TYPE_CODES), None)


# ---------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------


def parse_header(text: str) -> Header:
    """Read the header facts of a directive: issuer, number, type, place and date,
    subject, addressees, distribution, signer, cited documents, and the body's bounds.

    Pure and total: never raises; what it cannot read stays ``None`` / empty.
    """
    header = Header()
    if not text:
        return header
    head_end = text.rfind("\n", 0, HEAD_CHARS) + 1 if len(text) > HEAD_CHARS else len(text)
    view = _View.of(text, 0, head_end or HEAD_CHARS)
    marks = _read_head(view, header)
    header.body_start = _body_start(view, marks)
    low = _lowered(text)
    _read_closing(text, low, header)
    _resolve(header, marks)
    header.cited = _citations(text, low, header.number)
    return header


def _read_head(view: _View, header: Header) -> _Head:
    marks = _Head(view.text, zone_end=_zone_end(view))
    title = _find_title(view, marks.zone_end)
    _read_number_and_date(view, view.lines[: marks.zone_end], header, marks.ends)
    _read_subject(view, header, marks, title)
    marks.issuer = _issuer(view, _issuer_stop(view, header, marks, title))
    if marks.issuer:
        marks.ends.append(marks.issuer[1][1])
    _read_addressees(view, header, marks)
    return marks


def _issuer_stop(view: _View, header: Header, marks: _Head, title: int | None) -> int:
    """The issuer stands above the title, the 'Số:' line and the V/v subject."""
    stops = [marks.zone_end] if title is None else [title]
    for key in ("number", "subject"):
        ev = header.evidence.get(key)
        if ev is not None and ev.start < view.lines[-1][1]:
            stops.append(view.line_index(ev.start))
    return min(stops)


def _read_number_and_date(view: _View, lines: list[Span], header: Header, ends: list[int]) -> None:
    number = _find_number(view, lines) if header.number is None else None
    if number:
        header.number = _number_value(view, number)
        header.evidence["number"] = _ev(view.text, number)
        ends.append(number[1])
    date = _find_date(view, lines) if header.date is None else None
    if date:
        (header.date, header.place) = (date[2], squash(view.clean(*date[1])))
        header.evidence["date"] = _ev(view.text, date[0])
        header.evidence["place"] = _ev(view.text, date[1])
        ends.append(date[0][1])


def _read_subject(view: _View, header: Header, marks: _Head, title: int | None) -> None:
    """A công văn's 'V/v …' subject, or the subject lines under the title line (and the
    enacting-authority line a decision sets before its preamble)."""
    if title is None:
        vv = _find_vv(view, marks.zone_end)
        found = _vv_subject(view, vv[0], vv[1], marks.zone_end) if vv else None
        if found:
            header.subject = found[0]
            header.evidence["subject"] = _ev(view.text, found[1])
            marks.ends.append(found[1][1])
        return
    marks.title = view.lines[title]
    marks.title_type = fold(squash(view.m(*marks.title)))
    marks.ends.append(marks.title[1])
    spans, after = _title_subject(view, title, marks.zone_end)
    if spans:
        header.subject = _join_lines(view.clean(*s) for s in spans)
        header.evidence["subject"] = _ev(view.text, (spans[0][0], spans[-1][1]))
        marks.ends.append(spans[-1][1])
    enactor = _enactor(view, after, marks.zone_end)
    if enactor:
        span = (enactor[0][0], enactor[-1][1])
        marks.enactor = (normal_case(_join_lines(view.clean(*s) for s in enactor)), span)
        marks.ends.append(span[1])


def _read_addressees(view: _View, header: Header, marks: _Head) -> None:
    found = _find_marker(view, range(min(len(view.lines), marks.zone_end + 1)), "kính gửi")
    if found:
        header.addressees, end = _parse_list(view, *found)
        marks.ends.append(end)


def _body_start(view: _View, marks: _Head) -> int:
    """The first non-blank line after everything the title block yielded."""
    if not marks.ends:
        return 0
    last = max(marks.ends)
    for i in range(view.line_index(last) + 1, len(view.lines)):
        if not view.is_blank(i):
            return view.lines[i][0]
    return last


def _resolve(header: Header, marks: _Head) -> None:
    """doc_type from the symbol's type code (a VBHN keeps the title of what it
    consolidates), else the title line, else công văn; then the issuer."""
    code = _type_from_symbol(header.number) if header.number else None
    header.doc_type = code or marks.title_type
    if header.doc_type is None and (header.subject or header.addressees or header.number):
        header.doc_type = "công văn"
    number = header.evidence.get("number")
    if code and number:
        header.evidence["doc_type"] = number
    elif marks.title and marks.title_type:
        header.evidence["doc_type"] = _ev(marks.text, marks.title)
    elif header.doc_type and number:  # a symbol without a type code
        header.evidence["doc_type"] = _ev(marks.text, (number.start, number.end), 0.8)
    _resolve_issuer(header, marks)
    if header.doc_type == "văn bản hợp nhất" and marks.title_type not in (None, code):
        _consolidated_subject(header, marks.title_type or "")


def _resolve_issuer(header: Header, marks: _Head) -> None:
    """A decision names its enacting authority on a line of its own ('CHỦ TỊCH ỦY BAN
    NHÂN DÂN TỈNH …'): that authority issues it in law.  A thông tư is attributed to its
    ministry (the top-left body) even when the minister enacts it."""
    chosen = marks.issuer
    circular = (header.doc_type or "").startswith("thông tư")
    if marks.enactor and (chosen is None or not circular):
        chosen = marks.enactor
    if chosen:
        header.issuer = chosen[0]
        header.evidence["issuer"] = _ev(marks.text, chosen[1])


def _consolidated_subject(header: Header, title: str) -> None:
    """A VBHN is named after what it consolidates: 'Văn bản hợp nhất Thông tư … <subject>'."""
    subject = header.subject or ""
    if subject[:1].isupper() and subject[1:2].islower():
        subject = subject[:1].lower() + subject[1:]
    header.subject = squash(f"Văn bản hợp nhất {title.capitalize()} {subject}")


def _read_closing(text: str, low: str, header: Header) -> None:
    """Nơi nhận, the signature and body_end; and a VBHN's number and date, which it
    prints in its certification block above the signature rather than at the top."""
    hit = _closing_start(text, low, header.body_start)
    if hit is None:
        return
    start = text.rfind("\n", 0, max(0, hit - CLOSING_BEFORE)) + 1
    view = _View.of(text, start, min(len(text), hit + CLOSING_CHARS))
    first = _walk_back(view, view.line_index(hit))
    header.body_end = max(view.lines[first][0], header.body_start)
    block_end = max(_read_signature(view, first, header), _read_distribution(view, first, header))
    if header.number is None or header.date is None:
        lines = view.lines[first : view.line_index(block_end) + 1]
        _read_number_and_date(view, lines, header, [])
    attached_end = _attached_text_end(text, low, block_end)
    if attached_end is not None:
        header.body_end = attached_end


def _read_signature(view: _View, first: int, header: Header) -> int:
    sig = _signature(view, first)
    if sig is None:
        return view.lines[first][1]
    pieces = _role_pieces(sig.roles)
    if pieces:
        header.signer_role = " / ".join(pieces)
        prefixes = [p.split()[0] for p in pieces if p.startswith(_AUTHORITIES)]
        header.signer_authority = prefixes[-1] if prefixes else None  # the signer's own
    if sig.name:
        header.signer = squash(view.clean(*sig.name))
        header.evidence["signer"] = _ev(view.text, sig.name)
    return sig.end


def _read_distribution(view: _View, first: int, header: Header) -> int:
    found = _find_marker(view, range(first, min(len(view.lines), first + 60)), "nơi nhận")
    if found is None:
        return 0
    header.distribution, end = _parse_list(view, *found)
    return end


def _attached_text_end(text: str, low: str, after: int) -> int | None:
    """When the decision's signature is followed by the regulation it issues (an attached
    Quy chế / Quy định / Kế hoạch), that text carries the obligations: the body then
    runs on to the first annex heading (Phụ lục, Mẫu số), the next closing block, or the
    end.  Otherwise (annexes, forms, nothing) None."""
    start = text.find("\n", after) + 1
    if start <= 0:
        return None
    view = _View.of(text, start, min(len(text), start + _ATTACHED_LOOKAHEAD))
    for i in range(len(view.lines) - 1):  # the last line may be cut by the window
        if view.is_blank(i) or view.is_furniture(i):
            continue
        s = view.m(*view.lines[i]).strip()
        f = fold(s)
        heading = _ATTACHED_TEXT.match(f) and (_is_caps(s) or f.startswith(("chương", "điều")))
        return _attached_end(text, low, view.lines[i][0]) if heading else None
    return None


def _attached_end(text: str, low: str, start: int) -> int:
    for hit in _ANNEX.finditer(low, start):
        # A heading stands after a blank line or a rule; a wrapped prose line that happens
        # to begin with 'Phụ lục' does not.
        prev_end = max(text.rfind("\n", 0, hit.start()), 0)
        previous = text[text.rfind("\n", 0, prev_end) + 1 : prev_end]
        if _is_blankish(mask(previous)) or _FURNITURE.fullmatch(fold(previous).strip()):
            return hit.start()
    closing = _closing_start(text, low, start)
    return closing if closing is not None else len(text)
