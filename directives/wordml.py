"""The text of a Word (.docx) document's body, as python-docx does not give it: one
line per paragraph and per table cell's paragraph, in document order, with the labels
("1.", "a)", "-") of Word's automatic numbering, which directives number clauses with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def paragraph_lines(document: Any) -> Iterator[str]:
    """The lines of a python-docx ``Document``."""
    return _block_lines(document.element.body, _Numbering(document))


def _qn(tag: str) -> str:
    return "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + tag


def _block_lines(container: Any, numbering: _Numbering) -> Iterator[str]:
    """Lines of a body or table cell. Each paragraph of each table cell gets its own
    line, row by row: Vietnamese directives set their header (issuer | motto, number |
    date) as a two-column table."""
    for child in container.iterchildren():
        if child.tag == _qn("p"):
            yield numbering.label(child) + child.text
        elif child.tag == _qn("tbl"):
            for row in child.iterchildren(_qn("tr")):
                for cell in row.iterchildren(_qn("tc")):
                    yield from _block_lines(cell, numbering)
        elif child.tag in (_qn("sdt"), _qn("customXml")):  # content controls wrap blocks
            content = child.find(_qn("sdtContent"))
            yield from _block_lines(child if content is None else content, numbering)


class _Numbering:
    """Labels ("1.", "a)", "-") of Word's automatic numbering, which python-docx does
    not render: a directive's clauses are often numbered this way."""

    def __init__(self, document: Any) -> None:
        self._styles = {
            style.get(_qn("styleId")): style
            for style in document.styles.element.iterchildren(_qn("style"))
        }
        self._levels = _numbering_levels(document)
        self._counters: dict[str, list[int]] = {}

    def label(self, paragraph: Any) -> str:
        """The paragraph's number and a space, or "" if it has none."""
        num_id, ilvl = self._num_pr(paragraph)
        level = self._levels.get((num_id, ilvl))
        if level is None:
            return ""
        fmt, pattern, _start = level
        counts = self._count(num_id, ilvl)
        if fmt == "bullet":  # Symbol-font bullets are private-use characters: say "-"
            plain = pattern.strip() and all(ch.isprintable() and ch < "\ue000" for ch in pattern)
            return f"{pattern.strip() if plain else '-'} "
        for depth in range(ilvl + 1):
            lvl_fmt, _, start = self._levels.get((num_id, depth), ("decimal", "", 1))
            pattern = pattern.replace(f"%{depth + 1}", _format(start + counts[depth], lvl_fmt))
        return pattern + " " if pattern and fmt != "none" else ""

    def _count(self, num_id: str, ilvl: int) -> list[int]:
        counts = self._counters.setdefault(num_id, [-1] * 9)
        counts[ilvl] += 1
        counts[ilvl + 1 :] = [-1] * (8 - ilvl)  # deeper levels restart
        return [max(c, 0) for c in counts]

    def _num_pr(self, paragraph: Any) -> tuple[str, int]:
        """numId ("" for none) and level, from the paragraph or else its style (and
        the styles that one is based on)."""
        ppr = paragraph.find(_qn("pPr"))
        numpr = ppr.find(_qn("numPr")) if ppr is not None else None
        style = _val(ppr, "pStyle", "") if ppr is not None else ""
        for _ in range(10):  # a style chain is short; the bound guards against loops
            if numpr is not None or not style:
                break
            element = self._styles.get(style)
            spr = element.find(_qn("pPr")) if element is not None else None
            numpr = spr.find(_qn("numPr")) if spr is not None else None
            style = _val(element, "basedOn", "") if element is not None else ""
        if numpr is None:
            return "", 0
        return _val(numpr, "numId", ""), min(max(_int(_val(numpr, "ilvl", "0"), 0), 0), 8)


def _numbering_levels(document: Any) -> dict[tuple[str, int], tuple[str, str, int]]:
    """(numId, level) -> (number format, label pattern such as "%1.", start value)."""
    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return {}  # no numbering part: no automatic numbers
    abstract = {a.get(_qn("abstractNumId")): a for a in root.iterchildren(_qn("abstractNum"))}
    levels: dict[tuple[str, int], tuple[str, str, int]] = {}
    for num in root.iterchildren(_qn("num")):
        definition = abstract.get(_val(num, "abstractNumId", ""))
        for lvl in definition.iterchildren(_qn("lvl")) if definition is not None else ():
            levels[(num.get(_qn("numId")), _int(lvl.get(_qn("ilvl")), 0))] = (
                _val(lvl, "numFmt", "decimal"),
                _val(lvl, "lvlText", ""),
                _int(_val(lvl, "start", "1"), 1),
            )
    return levels


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _val(parent: Any, tag: str, default: str) -> str:
    """The w:val of ``parent``'s child ``tag``, or ``default``."""
    child = parent.find(_qn(tag))
    value = child.get(_qn("val")) if child is not None else None
    return str(value) if value is not None else default


def _format(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = _letters(n)
        return letters if fmt == "lowerLetter" else letters.upper()
    if fmt in ("lowerRoman", "upperRoman"):
        roman = _roman(n)
        return roman.lower() if fmt == "lowerRoman" else roman
    return str(n)


def _letters(n: int) -> str:
    """1 -> a, 26 -> z, 27 -> aa (Word repeats the letter)."""
    if n < 1:
        return str(n)
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _roman(n: int) -> str:
    if not 0 < n < 4000:
        return str(n)
    out = []
    for value, numeral in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        count, n = divmod(n, value)
        out.append(numeral * count)
    return "".join(out)
