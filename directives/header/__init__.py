"""The header grammar of a Vietnamese administrative document (Nghị định 30/2020/NĐ-CP).

A directive opens with the issuing body (top left, in capitals), the national motto (top
right), ``Số: N/SYMBOL`` and ``Place, ngày D tháng M năm Y``; then either a title line
(``QUYẾT ĐỊNH`` + subject lines, and for a decision the enacting authority on a line of
its own before the ``Căn cứ …`` preamble) or, for a công văn, a ``V/v …`` subject and a
``Kính gửi:`` list.  It closes with ``Nơi nhận:`` and a signing block (``KT. CHỦ TỊCH`` /
``PHÓ CHỦ TỊCH`` / name), which may share a table row with the list.

``parse_header`` reads those parts.  Layouts vary (markdown bold, two-column tables,
plain text columns separated by runs of spaces, Công báo PDF extractions with page
headers and hard line breaks), so lines are read as *cells*: runs of words separated by
gaps of three or more blanks.  Every offset is an offset into the text as given; the
grammar reads same-length masked / folded views (``directives.text``).

Cost stays linear: the line grammar only reads bounded windows (the first ``HEAD_CHARS``
characters, and ``CLOSING_CHARS`` around the first closing block); the whole text is only
scanned by a few simple regexes (closing markers, annex headings, citations).

The grammar is split along those parts: ``vocab`` (words and regexes), ``view`` (the
masked / folded windows), ``case`` (Vietnamese case for names in capitals), ``head`` (the
title block), ``lists`` (Kính gửi / Nơi nhận), ``closing`` (the signature), ``citations``
and ``assemble`` (``parse_header``).
"""

from directives.header.assemble import parse_header
from directives.header.case import normal_case
from directives.header.vocab import CLOSING_BEFORE, CLOSING_CHARS, HEAD_CHARS

__all__ = ["CLOSING_BEFORE", "CLOSING_CHARS", "HEAD_CHARS", "normal_case", "parse_header"]
