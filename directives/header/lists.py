"""Addressee and distribution lists ('Kính gửi:', 'Nơi nhận:')."""

from __future__ import annotations

from collections.abc import Iterable

from directives.header.view import _View
from directives.header.vocab import _AUTHORITIES, _BULLET, _INLINE_ITEMS, _MAX_LIST_LINES, _ROLES
from directives.text import squash

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


def _role_prefix(s: str) -> str | None:
    for role in _ROLES:
        if s.startswith(role) and (len(s) == len(role) or not s[len(role)].isalpha()):
            return role
    return None
