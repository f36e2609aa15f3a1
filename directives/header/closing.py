"""The closing block: the signature and where the closing starts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from directives.header.lists import _is_signature_start
from directives.header.view import _is_blankish, _is_caps, _View
from directives.header.vocab import (
    _AUTHORITIES,
    _AUTHORITY_AT,
    _CLOSING,
    _LIST_START,
    _MAX_SIGNATURE_LINES,
    _NUMBER_LINE,
    _PLACE_DATE,
    _ROLES,
    Span,
)
from directives.text import fold, squash


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
