"""The parser's front door: a file or a text in, a ParsedDirective out."""

from __future__ import annotations

from pathlib import Path

from directives import clauses as clause_splitter
from directives.header import parse_header
from directives.obligations import extract, label_clause
from directives.ocr import flag_low_confidence
from directives.parsed import RECITAL, Clause, ParsedDirective
from directives.readers import DEFAULT_MAX_BYTES, SourceText, read_document
from directives.text import fold, strip_markup, unify

__all__ = ["label_clause", "parse_file", "parse_source", "parse_text"]


def parse_text(
    text: str, *, source: str = "<text>", notes: tuple[str, ...] = (), whole: bool = False
) -> ParsedDirective:
    """Parse a directive's text: header, clauses, and the obligations of each clause.

    Clauses are read from the body the header delimits (after Kính gửi, before Nơi
    nhận and the annexes); ``whole`` reads every paragraph, for excerpts and annexes."""
    header = parse_header(text)
    end = header.body_end if header.body_end is not None and not whole else len(text)
    start = header.body_start if header.body_start < end and not whole else 0
    # Same-length views of the whole document, computed once and sliced per clause.
    # ``stripped`` keeps the words as written for evidence; ``view`` is what the grammar reads.
    stripped = clause_splitter.denoise(strip_markup(text))
    masked = unify(stripped)
    view = fold(masked)
    found = clause_splitter.split(text, start, end, clean=masked)
    for clause in found:
        _fill(clause, stripped, view)
        _mark_recitals(clause, header.date)
    return ParsedDirective(
        source=source, text=text, header=header, clauses=found, notes=list(notes)
    )


def _fill(clause: Clause, masked: str, view: str) -> None:
    for ob in extract(masked[clause.start : clause.end], view[clause.start : clause.end]):
        for spans in ob.evidence.values():
            spans[:] = [ev.shifted(clause.start) for ev in spans]
        if clause.heading:
            ob.inherited_submitters = [clause.heading]
        if not ob.obligated:
            ob.flags.append("no_submitter")
        clause.obligations.append(ob)


def _mark_recitals(clause: Clause, issued: str | None) -> None:
    """A clause whose every dated deadline lies before the document's own date recounts
    an earlier request ("Ngày 01/7/2013, Bộ Xây dựng … gửi trước ngày 31/8/2013")."""
    dates = [ob.deadline.date for ob in clause.obligations]
    if issued and dates and all(d is not None and d < issued for d in dates):
        for ob in clause.obligations:
            ob.flags.append(RECITAL)


def parse_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDirective:
    """Read and parse a directive file (.txt, .md, .docx, .doc, .pdf, a scan or photo);
    raises ReadError."""
    return parse_source(read_document(path, max_bytes=max_bytes), name=str(path))


def parse_source(source: SourceText, *, name: str) -> ParsedDirective:
    """Parse what a reader read; obligations on pages OCR read doubtfully are flagged."""
    parsed = parse_text(source.text, source=name, notes=source.notes)
    flag_low_confidence(parsed, source.ocr_pages)
    return parsed
