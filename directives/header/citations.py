"""Citations and the document type from a symbol."""

from __future__ import annotations

from directives.header.view import _evidence_at, _iso
from directives.header.vocab import _CITED, _TYPE_CODES
from directives.parsed import CitedDocument


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
            evidence=_evidence_at(text, (hit.start(), hit.end())),
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
