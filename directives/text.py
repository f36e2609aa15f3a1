"""Text helpers shared by the parser.

The parser never edits the text it reports spans into. Instead it works on a *view*
of the same length (``mask``): markup characters become spaces and the letters are
folded for matching, so every offset found in the view is an offset into the text.
"""

from __future__ import annotations

import re
import unicodedata

# Markdown emphasis, table pipes and rules, HTML line breaks: noise for the grammar.
_MARKUP = re.compile(r"\*{1,3}|_{2,}|(?<=\s)\|(?=\s)|^\|[\s|:-]*\|?$|<br\s*/?>|`", re.M)
_TABLE_EDGE = re.compile(r"^\|\s|\s\|$", re.M)
# Old-style tone placement and hằng/hàng spellings folded for matching only.
_FOLD = (("\u00a0", " "), ("\u2013", "-"), ("\u2014", "-"), ("\u2212", "-"))


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def strip_markup(text: str) -> str:
    """Same-length copy of ``text`` with markdown/HTML markup blanked."""
    out = _MARKUP.sub(lambda m: " " * len(m.group()), text)
    return _TABLE_EDGE.sub(lambda m: " " * len(m.group()), out)


def mask(text: str) -> str:
    """Same-length view of ``text`` for the grammar to read: markup blanked, dashes
    and no-break spaces unified."""
    return unify(strip_markup(text))


def unify(text: str) -> str:
    """Same-length copy with dashes and no-break spaces unified."""
    for old, new in _FOLD:  # str.replace is far faster than translate() on whole documents
        if old in text:
            text = text.replace(old, new)
    return text


# Old-style tone placement on open syllables ("uỷ ban", "hoà", "thuý") is folded to
# the new style; "quý" (qu- is a consonant) and closed syllables ("hoàn") are not.
_OLD_TONE = re.compile(r"(?<![qQ])(u[ỷýỳỹỵ]|o[àáảãạ])(?!\w)")
_NEW_TONE = {
    "uỷ": "ủy", "uý": "úy", "uỳ": "ùy", "uỹ": "ũy", "uỵ": "ụy",
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
}  # fmt: skip


def fold(text: str) -> str:
    """Same-length, case-folded view for matching: lowercase, old-style tone placement
    unified ("Uỷ" → "ủy", "hoà" → "hòa"). Offsets stay valid."""
    low = text.lower()
    if len(low) != len(text):  # rare letters ("İ") lower to two characters: go one by one
        low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    return _OLD_TONE.sub(lambda m: _NEW_TONE[m.group()], low)


def squash(text: str) -> str:
    """Collapse whitespace for display."""
    return " ".join(text.split())


def clean_phrase(text: str) -> str:
    """A phrase for display: whitespace collapsed, surrounding punctuation stripped."""
    return squash(text).strip(" ,;:.-–")
