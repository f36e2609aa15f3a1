"""Vietnamese case for names written in capitals."""

from __future__ import annotations

import re

from directives.header.vocab import _WORD, Span, _bar
from directives.text import fold, squash

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
