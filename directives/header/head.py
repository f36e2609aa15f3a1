"""The title block: number, place and date, subject, enacting authority, issuer."""

from __future__ import annotations

from dataclasses import dataclass, field

from directives.header.case import _BARE_HEADS, normal_case
from directives.header.view import _is_blankish, _is_caps, _iso, _join_lines, _View
from directives.header.vocab import (
    _BANNER_PREFIX,
    _BODY_HEADS,
    _BODY_MARKERS,
    _ENACTOR_HEADS,
    _NOT_ISSUER,
    _NUMBER,
    _NUMBER_LINE,
    _NUMBER_NO_COLON,
    _PLACE_DATE,
    _RULE_TAIL,
    _TITLE_TYPES,
    Span,
)
from directives.text import fold, squash


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
