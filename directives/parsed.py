"""The parser's vocabulary: plain dataclasses, no behaviour beyond (de)serialising.

Every offset is a character offset into ``ParsedDirective.text`` (the NFC text the
reader produced); ``Evidence`` keeps the exact words a fact was read from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

PeriodicFrequency = Literal["annual", "nine_months", "semiannual", "quarterly", "monthly", "weekly"]
Frequency = Literal[PeriodicFrequency, "once", "on_request", "event", "none"]
DeadlineKind = Literal["day_of_period", "date", "relative", "none"]
PERIODIC: tuple[str, ...] = get_args(PeriodicFrequency)
# The flag of an obligation whose every deadline falls before the document's own date:
# it recounts an earlier document's request and is not proposed for approval.
RECITAL = "recital"
# How each frequency reads in Vietnamese ("định kỳ hằng năm báo cáo …").
FREQUENCY_VI: dict[str, str] = {
    "annual": "hằng năm",
    "nine_months": "9 tháng",
    "semiannual": "6 tháng",
    "quarterly": "hằng quý",
    "monthly": "hằng tháng",
    "weekly": "hằng tuần",
    "once": "một lần",
    "on_request": "khi có yêu cầu",
    "event": "khi phát sinh",
    "none": "—",
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a fact was read: a span of the text and how sure the grammar is of it."""

    start: int
    end: int
    text: str
    confidence: float = 1.0

    def shifted(self, by: int) -> Evidence:
        return Evidence(self.start + by, self.end + by, self.text, self.confidence)


@dataclass(slots=True)
class Deadline:
    kind: DeadlineKind = "none"
    day: int | None = None
    month: int | None = None
    date: str | None = None  # ISO date when the text names a year
    time: str | None = None  # "14:00" when the text names a time of day
    weekday: int | None = None  # 0 = Monday … 6 = Sunday: "trước 15 giờ thứ Năm hằng tuần"
    offset_days: int | None = None
    working_days: bool | None = None
    anchor: str | None = None
    raw: str | None = None

    def label(self) -> dict[str, Any]:
        """The corpus label schema (no ``time`` or ``weekday``: the schema has no field
        for them; the weekday's words stay in ``anchor``)."""
        out = asdict(self)
        out.pop("time")
        out.pop("weekday")
        return out


@dataclass(slots=True)
class Obligation:
    """One reporting obligation: one frequency with its own deadline."""

    frequency: Frequency
    deadline: Deadline
    submitters: list[str] = field(default_factory=list)  # as written in the clause
    inherited_submitters: list[str] = field(default_factory=list)  # from a section heading
    recipient: str | None = None
    via: str | None = None
    subject: str | None = None
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    confidence: float = 1.0
    flags: list[str] = field(default_factory=list)

    @property
    def obligated(self) -> list[str]:
        """Who must act: the clause's own submitters, else those of its heading."""
        return self.submitters or self.inherited_submitters


@dataclass(slots=True)
class Clause:
    start: int
    end: int
    text: str  # the clause as displayed: markup removed, whitespace collapsed
    number: str | None = None  # "2.", "a)", "-" …
    heading: str | None = None  # the agency named by the enclosing section heading
    obligations: list[Obligation] = field(default_factory=list)

    def label(self) -> dict[str, Any]:
        """The clause in the corpus label schema: the first obligation, with the
        frequencies of the others as ``also_frequencies``."""
        if not self.obligations:
            return empty_label()
        first, rest = self.obligations[0], self.obligations[1:]
        also: list[str] = []
        for ob in rest:
            if ob.frequency != first.frequency and ob.frequency not in also:
                also.append(ob.frequency)
        deadline = first.deadline.label()
        raws = [ob.deadline.raw for ob in self.obligations if ob.deadline.raw]
        if raws and len(set(raws)) > 1:
            deadline["raw"] = _join_raw(self.obligations)
        return {
            "is_obligation": True,
            "frequency": first.frequency,
            "also_frequencies": also,
            "deadline": deadline,
            "submitters": list(first.submitters),
            "recipient": first.recipient,
            "via": first.via,
            "subject": first.subject,
        }


def _join_raw(obligations: list[Obligation]) -> str | None:
    spans = [ev for ob in obligations for ev in ob.evidence.get("deadline", [])]
    if not spans:
        return obligations[0].deadline.raw
    return " … ".join(dict.fromkeys(ev.text for ev in sorted(spans, key=lambda e: e.start)))


def empty_label() -> dict[str, Any]:
    return {
        "is_obligation": False,
        "frequency": "none",
        "also_frequencies": [],
        "deadline": Deadline().label(),
        "submitters": [],
        "recipient": None,
        "via": None,
        "subject": None,
    }


@dataclass(slots=True)
class CitedDocument:
    """A document the directive refers to, e.g. Công điện 364/CĐ-TTg ngày 20/4/2022."""

    kind: str | None  # "Công điện", "Nghị quyết", "Kế hoạch" …
    number: str  # "364/CĐ-TTg"
    date: str | None  # ISO date
    evidence: Evidence | None = None


@dataclass(slots=True)
class Header:
    issuer: str | None = None
    number: str | None = None  # "6966/UBND-KTN"
    doc_type: str | None = None  # "công văn", "quyết định", "thông tư" …
    place: str | None = None
    date: str | None = None  # ISO date of issue
    subject: str | None = None
    addressees: list[str] = field(default_factory=list)  # Kính gửi
    distribution: list[str] = field(default_factory=list)  # Nơi nhận
    signer: str | None = None
    signer_authority: str | None = None  # "TM.", "KT.", "TL.", "TUQ.", "Q." or None
    signer_role: str | None = None  # "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH"
    cited: list[CitedDocument] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    body_start: int = 0  # where the directive's body begins (after Kính gửi / the title block)
    body_end: int | None = None  # where Nơi nhận / the signature begins


@dataclass(slots=True)
class ParsedDirective:
    source: str  # file name as given
    text: str
    header: Header
    clauses: list[Clause]
    notes: list[str] = field(default_factory=list)  # reader notes, e.g. "converted from TCVN3"

    @property
    def obligations(self) -> list[tuple[Clause, Obligation]]:
        return [(c, ob) for c in self.clauses for ob in c.obligations]

    @property
    def live_obligations(self) -> list[tuple[Clause, Obligation]]:
        """The obligations this directive sets, without its recitals of earlier ones."""
        return [(c, ob) for c, ob in self.obligations if RECITAL not in ob.flags]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def vi_date(iso: str | None) -> str | None:
    if not iso:
        return None
    y, m, d = iso.split("-")
    return f"{int(d)}/{int(m)}/{y}"


def describe_deadline(d: Deadline) -> str:
    """A deadline in words: "ngày 15/12", "ngày 15 (tháng thứ ba của mỗi quý)" …"""
    if d.kind == "none":
        return "—"
    if d.kind == "relative":
        unit = "ngày làm việc" if d.working_days else "ngày"
        return f"{d.offset_days} {unit}" + (f", {d.anchor}" if d.anchor else "")
    when = (d.date and vi_date(d.date)) or (f"{d.day}/{d.month}" if d.month else f"{d.day}")
    text = f"trước ngày {when}"
    if d.time:
        text = f"trước {d.time} ngày {when}"
    if d.anchor:
        text += f" ({d.anchor})"
    return text
