"""From one clause to the reporting obligations it states.

The grammar in three steps, each on the clause's folded view (same length as the
clause, so every span is an offset into it):

1. *Report actions* (``directives.actions``): a reporting verb with the agency it goes
   to, with a deadline, or asked of someone. No action, no obligation.
2. *Parties* (``directives.parties``): the submitters, the recipient, the via (lead) the
   report passes through, and what is reported.
3. *Timing* (here, over ``directives.timing``): every frequency and deadline phrase,
   paired by position, one obligation per frequency ("định kỳ 6 tháng (trước ngày 10/6)
   và hằng năm (trước ngày 10/12)" is two obligations), and how sure the reading is.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from directives.actions import (
    VERB_WORDS,
    inside,
    is_preamble,
    negated_spans,
    report_actions,
    states_a_duty,
)
from directives.parsed import PERIODIC, Clause, Deadline, Obligation
from directives.parties import Parties, read_parties
from directives.phrases import evidence, has_verb
from directives.text import fold, mask
from directives.timing import (
    DeadlineMention,
    Mention,
    deadline_mentions,
    frequency_mentions,
    once_mentions,
)

__all__ = ["extract", "has_verb", "label_clause"]


def extract(text: str, view: str | None = None) -> list[Obligation]:
    """The obligations a clause states; [] for a clause that states none.

    ``view`` is ``fold(mask(text))`` when the caller has it already (a document's
    view, sliced per clause, saves recomputing it)."""
    view = _answer_only(fold(mask(text)) if view is None else view)
    if _UNANSWERED.match(view) and not _ANSWER.search(view):
        return []  # "Hỏi: … có phải báo cáo … không?": a question states no duty
    if not any(verb in view for verb in VERB_WORDS) or is_preamble(view):
        return []  # most clauses of a document report nothing: skip the timing grammar
    negated = negated_spans(view)
    freqs = [m for m in frequency_mentions(view) if not inside(m.start, negated)]
    deadlines = deadline_mentions(view, text)
    timed = bool(freqs or deadlines)
    actions = report_actions(view, text, negated=negated, timed=timed, dated=bool(deadlines))
    if not actions or not states_a_duty(view, actions, deadlines):
        return []
    parties = read_parties(view, text, actions)
    return _obligations(view, text, freqs, deadlines, parties)


_UNANSWERED = re.compile(r"\s*(?:hỏi|câu\s+hỏi)\s*:")
_ANSWER = re.compile(r"(?:trả\s+lời|đáp)\s*:")
_QUESTION = re.compile(r"(?:hỏi|câu\s+hỏi)\s*:[^?]*\?")


def _answer_only(view: str) -> str:
    """ "Hỏi: … có phải báo cáo hằng năm không? Trả lời: …": the question's words
    (its frequency, its "có phải", its addressee) are the asker's, not the duty's; only
    the answer is read (blanked in place, so offsets still hold)."""
    m = _QUESTION.search(view)
    if not m or not has_verb(view[m.end() :]):
        return view
    return view[: m.start()] + " " * (m.end() - m.start()) + view[m.end() :]


def label_clause(text: str) -> dict[str, Any]:
    """One clause's label in the corpus schema (the `hanbaocao clauses` interface)."""
    return Clause(start=0, end=len(text), text=text, obligations=extract(text)).label()


# --- step 3: timing --------------------------------------------------------------------------


def _obligations(
    view: str,
    text: str,
    freqs: list[Mention],
    deadlines: list[DeadlineMention],
    parties: Parties,
) -> list[Obligation]:
    freqs = _drop_inner(freqs, deadlines)
    order = _frequency_order(view, freqs, deadlines)
    assigned = _pair(order, freqs, deadlines)
    obligations = []
    for freq in order or ["none"]:
        mention = assigned.get(freq)
        deadline = mention.deadline if mention else Deadline()
        deadline = _settle_kind(deadline, freq)
        ob = Obligation(
            frequency=freq,  # type: ignore[arg-type]
            deadline=deadline,
            submitters=[e.text for e in parties.submitters],
            recipient=parties.recipient.text if parties.recipient else None,
            via=parties.via.text if parties.via else None,
            subject=parties.subject.text if parties.subject else None,
        )
        _attach_evidence(ob, text, parties, freqs, freq, mention)
        stated = any(m.value == freq for m in freqs) or bool(mention and mention.periodic_hint)
        ob.confidence = _confidence(
            ob,
            words=len(text.split()),
            several=len(order),
            stated=stated,
            unsure_route=bool(_UNSURE_ROUTE.search(view)),
        )
        obligations.append(ob)
    return obligations


def _frequency_order(
    view: str, freqs: list[Mention], deadlines: list[DeadlineMention]
) -> list[str]:
    seen: list[str] = []
    hints = sorted(
        (Mention(d.start, d.end, d.periodic_hint) for d in deadlines if d.periodic_hint),
        key=lambda m: m.start,
    )
    for m in sorted([*freqs, *hints], key=lambda m: m.start):
        if m.value not in seen:
            seen.append(m.value)
    periodic = [f for f in seen if f in PERIODIC]
    if periodic and _dated_without_schedule(view, deadlines):
        # "báo cáo tổng kết năm học … chậm nhất ngày 10/6/2020": the period names what is
        # reported; the dated deadline makes it one report.
        periodic = []
        seen = [f for f in seen if f not in PERIODIC]
    if not periodic and _undated_day_in_schedule(view, deadlines):
        periodic = ["annual"]  # "định kỳ (trước ngày 15 tháng 12)": once a year
    if not periodic and _one_off(view, freqs, deadlines):
        # A dated or undated one-off: "trước ngày 25/10", "khẩn trương báo cáo …".
        return ["once", *(f for f in seen if f not in ("on_request", "once"))]
    relative = [d for d in deadlines if d.deadline.kind == "relative"]
    if not seen and relative:
        # "Trong thời hạn 05 ngày làm việc kể từ ngày nhận được …": each occurrence; but
        # counted from this very letter, or about a dated event ("… năm 2024"), once.
        anchors = [fold(d.deadline.anchor or "") for d in relative]
        if any(_ASKED.search(a) for a in anchors):
            return ["on_request"]  # "… kể từ ngày nhận được yêu cầu": whenever asked
        if any(_THIS_LETTER.search(a) for a in anchors):
            return ["once"]
        return ["once"] if once_mentions(view) else ["event"]
    return periodic + [f for f in seen if f not in PERIODIC]


_ASKED = re.compile(r"nhận\s+được\s+(?:văn\s+bản\s+|công\s+văn\s+)?(?:yêu\s+cầu|đề\s+nghị)")
_THIS_LETTER = re.compile(
    r"(?:công\s+văn|văn\s+bản|kế\s+hoạch|chỉ\s+thị|quyết\s+định|thông\s+báo|công\s+điện)\s+này"
)


_STANDING = re.compile(r"\b(?:hằng|hàng|mỗi|từng|định\s+kỳ|một\s+lần|lần\s+đầu|trở\s+đi)\b")


def _dated_without_schedule(view: str, deadlines: list[DeadlineMention]) -> bool:
    return any(d.deadline.kind == "date" for d in deadlines) and not _STANDING.search(view)


def _undated_day_in_schedule(view: str, deadlines: list[DeadlineMention]) -> bool:
    return "định kỳ" in view and any(
        d.deadline.kind == "day_of_period" and d.deadline.month and not d.deadline.anchor
        for d in deadlines
    )


def _one_off(view: str, freqs: list[Mention], deadlines: list[DeadlineMention]) -> bool:
    if any(d.deadline.kind == "date" for d in deadlines):
        return True
    if any(
        d.deadline.kind == "day_of_period"
        and d.deadline.month
        and not d.deadline.anchor
        and not d.periodic_hint
        for d in deadlines
    ):
        return True
    if freqs:  # the clause's own (not negated) frequency words
        return False
    return (not deadlines and bool(once_mentions(view))) or bool(_REQUEST_NOW.search(view))


# A request made now ("Bộ X đề nghị các bộ báo cáo …", "được yêu cầu") with no period is
# a one-off; "theo yêu cầu của X" is on request and "giao" a standing task.
_REQUEST_NOW = re.compile(
    r"(?<!theo )(?<!có )(?<!được )\b(?:đề\s+nghị|yêu\s+cầu)\b(?!\s+(?:của|tại))"
)


def _drop_inner(freqs: list[Mention], deadlines: list[DeadlineMention]) -> list[Mention]:
    """ "trước ngày 10/6 và 10/12 hằng năm" is semiannual: a frequency word inside a
    deadline that implies another period belongs to the deadline. And "báo cáo 9 tháng
    trước ngày 20/9 hằng năm": a "hằng năm" that only scopes the date of the period
    named right before it is no frequency of its own."""
    for d in deadlines:
        owner = next(
            (
                m
                for m in freqs
                if m.value in PERIODIC and 0 <= d.start - m.end <= 8 and m.value != d.periodic_hint
            ),
            None,
        )
        if owner is None and d.periodic_hint == "annual":
            owner = _sole_part_year(freqs, deadlines, d)
        if owner is not None and d.periodic_hint:
            d.periodic_hint = owner.value  # type: ignore[assignment]
    return [
        m
        for m in freqs
        if not any(
            d.start <= m.start < d.end and d.periodic_hint and d.periodic_hint != m.value
            for d in deadlines
        )
    ]


def _sole_part_year(
    freqs: list[Mention], deadlines: list[DeadlineMention], d: DeadlineMention
) -> Mention | None:
    """ "báo cáo thu, chi 9 tháng về Bảo hiểm xã hội Việt Nam trước ngày 05/10 hằng năm":
    the clause's one period before the date, a part of the year, owns its "hằng năm"."""
    own = [
        m
        for m in freqs
        if m.value in PERIODIC and not any(o.start <= m.start < o.end for o in deadlines)
    ]
    if len(own) == 1 and own[0].value in ("semiannual", "nine_months") and own[0].end <= d.start:
        return own[0]
    return None


def _pair(
    order: list[str], freqs: list[Mention], deadlines: list[DeadlineMention]
) -> dict[str, DeadlineMention]:
    """Which deadline belongs to which frequency.

    A frequency inside a deadline ("trước ngày 15/12 hằng năm"), in brackets or an
    "đối với báo cáo …" right after it, or just before its bracket ("06 tháng (trước
    ngày 15 tháng 6)") is bound to it; the rest pair up in text order.
    """
    periodic = [f for f in order if f in PERIODIC or f in ("once", "event")]
    if order == ["on_request"]:
        periodic = order  # "… trong 05 ngày kể từ ngày nhận được yêu cầu"
    if not deadlines or not periodic:
        return {}
    if len(deadlines) == 1:
        return {f: deadlines[0] for f in periodic}
    bound: dict[str, DeadlineMention] = {}
    for d in deadlines:
        if d.periodic_hint and d.periodic_hint not in bound:
            bound[d.periodic_hint] = d
    for m in freqs:
        if m.value in bound or m.value not in periodic:
            continue
        local = _local_deadline(m, deadlines)
        if local is not None and local not in bound.values():
            bound[m.value] = local
    free = [d for d in deadlines if d not in bound.values()]
    for f in periodic:
        if f not in bound and free:
            bound[f] = free.pop(0)
    return bound


def _local_deadline(m: Mention, deadlines: list[DeadlineMention]) -> DeadlineMention | None:
    """The deadline a frequency word owns: one around it, one right after it ("6 tháng
    (gửi trước ngày 15/6)"), else one just before it ("trước ngày 15/12 đối với báo
    cáo năm")."""
    around = [d for d in deadlines if d.start <= m.start < d.end]
    after = [d for d in deadlines if 0 <= d.start - m.end <= 8]
    before = [d for d in deadlines if 0 <= m.start - d.end <= 40]
    return next(iter(around + after + before), None)


def _settle_kind(deadline: Deadline, freq: str) -> Deadline:
    """A day and month without a year is a day of the period for a periodic report,
    an undated day otherwise."""
    if deadline.kind == "day_of_period" and freq not in PERIODIC and deadline.anchor is None:
        return replace(deadline, kind="date")
    return deadline


def _attach_evidence(
    ob: Obligation,
    text: str,
    parties: Parties,
    freqs: list[Mention],
    freq: str,
    deadline: DeadlineMention | None,
) -> None:
    ev = ob.evidence
    ev["frequency"] = [evidence(text, m.start, m.end) for m in freqs if m.value == freq]
    if deadline:
        ev["deadline"] = [evidence(text, deadline.start, deadline.end)]
    ev["submitters"] = list(parties.submitters)
    for name in ("recipient", "via", "subject"):
        value = getattr(parties, name)
        if value is not None:
            ev[name] = [value]
    if freq == "none":
        ob.flags.append("no_timing")
    if ob.recipient is None:
        ob.flags.append("no_recipient")


# Routes the conventions leave to judgement: the one who asks ("theo yêu cầu của X") as the
# addressee, advice to report ("tham mưu X báo cáo Y").
_UNSURE_ROUTE = re.compile(r"yêu\s+cầu\s+của|tham\s+mưu")


def _confidence(
    ob: Obligation, *, words: int, several: int, stated: bool, unsure_route: bool = False
) -> float:
    """How likely every scheduling field is right. Each missing field lowers it, and so
    do the readings that go wrong most often on unseen text: a frequency inferred rather
    than stated, a long clause, several frequencies in one clause. Calibrated on the
    held-aside part of the development set (``bench/bench_confidence.py``)."""
    score = 1.0
    if ob.recipient is None:
        score -= 0.15
    if ob.frequency == "none":
        score -= 0.2
    elif not stated:
        score -= 0.05
    if ob.deadline.kind == "none" and ob.frequency not in ("on_request", "event"):
        score -= 0.1
    if not ob.submitters:
        score -= 0.1
    if words > 60:
        score -= 0.2
    elif words > 35:
        score -= 0.1
    if several > 1:
        score -= 0.05
    if ob.frequency in ("on_request", "event"):
        score -= 0.05  # who asks and who receives are easily confused
    if unsure_route and ob.recipient is not None:
        score -= 0.15
    return round(max(score, 0.1), 2)
