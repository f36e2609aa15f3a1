"""Views: masked / folded windows of the text, addressed by absolute offsets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from directives.header.vocab import _CELL, _FURNITURE, _LINE_BREAK, Span
from directives.parsed import Evidence
from directives.text import fold, mask, squash


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


def _evidence_at(text: str, span: Span, confidence: float = 1.0) -> Evidence:
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
