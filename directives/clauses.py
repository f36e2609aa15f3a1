"""Splitting a directive's body into clauses, with the agency each one inherits.

Real input comes as Markdown (one paragraph per line or block) or as PDF text with
hard line breaks and "Công báo" page headers in the middle of sentences. A clause
is a paragraph: it starts at a numbering mark ("2.", "2.1.", "a)", "-", "Điều 5.")
or after a line that ends a sentence; otherwise a line break is only a wrap.

A paragraph that is nothing but an agency ("2. Sở Kế hoạch và Đầu tư:") or an
article about one ("Điều 7. Trách nhiệm của Sở Tài chính") is a heading: the
paragraphs under it, down to the next heading of its level, inherit that agency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from directives.agencies import starts_agency
from directives.parsed import Clause
from directives.phrases import has_verb
from directives.text import fold, mask, squash

# Page furniture of Công báo PDF extractions: "CÔNG BÁO/Số 1053 + 1054/Ngày 10-8-2025",
# a bare page number, the "VĂN BẢN QUY PHẠM PHÁP LUẬT" banner.
_NOISE = re.compile(
    r"^[ \t]*(?:CÔNG BÁO/Số[^\n]*|\d{1,4}|VĂN BẢN QUY PHẠM PHÁP LUẬT|-{3,}|_{3,})[ \t]*$", re.M
)
_MARKER = re.compile(
    r"[ \t]*(?P<m>Điều\s+\d+[a-z]?\.?|Chương\s+[IVXLC\d]+\.?|Mục\s+\d+\.?"
    r"|\d+(?:\.\d+)+\.?|\d+\s*[.)]"
    r"|[a-zđ]\s*\)|[-–•+*])(?=\s)"
)
_SENTENCE_END = re.compile(r"[.;:!?]['\"”)*]*\s*$|\./\.\s*$")
_HEADING_OF = re.compile(r"(?:trách\s+nhiệm|nhiệm\s+vụ)(?:\s+và\s+quyền\s+hạn)?\s+(?:của\s+)?")


def denoise(text: str) -> str:
    """Same-length copy with page furniture blanked."""
    return _NOISE.sub(lambda m: " " * len(m.group()), text)


@dataclass(slots=True)
class _Para:
    start: int
    end: int
    marker: str | None


def split(
    text: str, start: int = 0, end: int | None = None, *, clean: str | None = None
) -> list[Clause]:
    """The clauses of ``text[start:end]``, each with its inherited heading.

    ``clean`` is ``denoise(mask(text))`` when the caller has computed it already."""
    clean = denoise(mask(text)) if clean is None else clean
    end = len(text) if end is None else end
    clauses: list[Clause] = []
    headings: list[tuple[int, str]] = []  # (level, agency) stack
    for para in _paragraphs(clean, start, end):
        level = _level(para.marker)
        while headings and headings[-1][0] >= level:
            headings.pop()
        display = squash(clean[para.start : para.end])
        heading = _heading(clean, para)
        if heading is not None:
            headings.append((level, heading))
            continue
        clauses.append(
            Clause(
                start=para.start,
                end=para.end,
                text=display,
                number=para.marker,
                heading=headings[-1][1] if headings else None,
            )
        )
    return clauses


def _paragraphs(clean: str, start: int, end: int) -> list[_Para]:
    paras: list[_Para] = []
    current: _Para | None = None
    prev_line = ""
    gap = False
    for line_start, line_end in _lines(clean, start, end):
        line = clean[line_start:line_end]
        if not line.strip():
            gap = True
            continue
        marker = _MARKER.match(line)
        new = current is None or bool(marker) or _ends_sentence(prev_line)
        if gap and not new and not prev_line.rstrip().endswith("-"):
            new = line.lstrip()[:1].isupper()
        if new:
            if current:
                paras.append(current)
            current = _Para(
                line_start + _lead(line), line_end, marker.group("m") if marker else None
            )
        else:
            assert current is not None
            current.end = line_end
        prev_line, gap = line, False
    if current:
        paras.append(current)
    return [_trimmed(clean, p) for p in paras if clean[p.start : p.end].strip()]


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, pos = [], start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl == -1 else nl
        out.append((pos, stop))
        pos = stop + 1
    return out


def _lead(line: str) -> int:
    return len(line) - len(line.lstrip())


def _ends_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line.rstrip()))


def _trimmed(clean: str, p: _Para) -> _Para:
    end = p.end
    while end > p.start and clean[end - 1].isspace():
        end -= 1
    return _Para(p.start, end, p.marker)


_LEVELS = (("điều", 0), ("chương", -2), ("mục", -1))


def _level(marker: str | None) -> int:
    if marker is None:
        return 0
    low = marker.lower()
    for word, level in _LEVELS:
        if low.startswith(word):
            return level
    if re.match(r"\d+(?:\.\d+)+", low):
        return 1 + low.rstrip(".").count(".")
    if low[0].isdigit():
        return 1
    if low[0].isalpha():
        return 3
    return 4


def _heading(clean: str, para: _Para) -> str | None:
    """The agency a heading paragraph names, or None for an ordinary paragraph."""
    body = clean[para.start : para.end]
    if para.marker:
        body = (
            body[len(para.marker) + _lead(body) :]
            if body.lstrip().startswith(para.marker)
            else body
        )
    raw = body.strip()
    if len(raw) > 200 or not raw:
        return None
    folded = fold(raw)
    m = _HEADING_OF.match(folded)
    if m and (para.marker or "").lower().startswith("điều"):
        at = m.end()
        return _name(raw[at:]) if starts_agency(folded, at) else None
    if not starts_agency(folded, 0):
        return None
    if raw.endswith(":") or not has_verb(folded):
        return _name(raw)
    return None


def _name(raw: str) -> str:
    name = re.sub(r"\s*\([^()]*\)\s*", " ", raw)  # "(gọi tắt là các đơn vị, địa phương)"
    return squash(name).strip(" :;.,")
