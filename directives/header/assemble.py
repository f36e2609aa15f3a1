"""Assembly: ``parse_header`` reads the parts in order and resolves them."""

from __future__ import annotations

from directives.header.case import normal_case
from directives.header.citations import _citations, _type_from_symbol
from directives.header.closing import _closing_start, _role_pieces, _signature, _walk_back
from directives.header.head import (
    _enactor,
    _find_date,
    _find_number,
    _find_title,
    _find_vv,
    _Head,
    _issuer,
    _number_value,
    _title_subject,
    _vv_subject,
    _zone_end,
)
from directives.header.lists import _find_marker, _parse_list
from directives.header.view import (
    _evidence_at,
    _is_blankish,
    _is_caps,
    _join_lines,
    _lowered,
    _View,
)
from directives.header.vocab import (
    _ANNEX,
    _ATTACHED_LOOKAHEAD,
    _ATTACHED_TEXT,
    _AUTHORITIES,
    _FURNITURE,
    CLOSING_BEFORE,
    CLOSING_CHARS,
    HEAD_CHARS,
    Span,
)
from directives.parsed import Header
from directives.text import fold, mask, squash


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
        header.evidence["number"] = _evidence_at(view.text, number)
        ends.append(number[1])
    date = _find_date(view, lines) if header.date is None else None
    if date:
        (header.date, header.place) = (date[2], squash(view.clean(*date[1])))
        header.evidence["date"] = _evidence_at(view.text, date[0])
        header.evidence["place"] = _evidence_at(view.text, date[1])
        ends.append(date[0][1])


def _read_subject(view: _View, header: Header, marks: _Head, title: int | None) -> None:
    """A công văn's 'V/v …' subject, or the subject lines under the title line (and the
    enacting-authority line a decision sets before its preamble)."""
    if title is None:
        vv = _find_vv(view, marks.zone_end)
        found = _vv_subject(view, vv[0], vv[1], marks.zone_end) if vv else None
        if found:
            header.subject = found[0]
            header.evidence["subject"] = _evidence_at(view.text, found[1])
            marks.ends.append(found[1][1])
        return
    marks.title = view.lines[title]
    marks.title_type = fold(squash(view.m(*marks.title)))
    marks.ends.append(marks.title[1])
    spans, after = _title_subject(view, title, marks.zone_end)
    if spans:
        header.subject = _join_lines(view.clean(*s) for s in spans)
        header.evidence["subject"] = _evidence_at(view.text, (spans[0][0], spans[-1][1]))
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
        header.evidence["doc_type"] = _evidence_at(marks.text, marks.title)
    elif header.doc_type and number:  # a symbol without a type code
        header.evidence["doc_type"] = _evidence_at(marks.text, (number.start, number.end), 0.8)
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
        header.evidence["issuer"] = _evidence_at(marks.text, chosen[1])


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
        header.evidence["signer"] = _evidence_at(view.text, sig.name)
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
