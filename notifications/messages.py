"""The Vietnamese messages of a reporting cycle: one pure function per ladder stage.

Each function takes a ``NoticeContext`` and returns a ``Message``: a short subject, a
plain-text part and an HTML part carrying the same facts, and a short form for Zalo
within ``ZALO_TEXT_LIMIT``. No I/O; times are shown in Asia/Ho_Chi_Minh whatever zone
they arrive in, because that is the office clock the reader lives by.

A message is first built as a ``_Doc`` (subject, addressee, a few blocks, short-form
lines) and only then rendered three ways, so the text and HTML parts cannot drift apart:
every fact is written once. Every dynamic value goes through ``_clean`` (NFC, one line)
and, in HTML, through ``html.escape``; nothing else ever reaches the HTML.

Why one module of ~1,000 lines: every stage's message is a short pure function over the
same context and the same register (salutation, deadline words, signature); kept side by
side they read as one letter-book and stay consistent. Split it when a second register
(another province's house style) arrives.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from directives.parsed import FREQUENCY_VI as BASE_FREQUENCY_VI
from directives.parsed import PERIODIC
from models.calendar import TZ, parse_period_key, period_label
from models.formats import day_text as format_date
from models.vocabulary import SubmissionState
from notifications.vocabulary import ZALO_TEXT_LIMIT, Message

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
# The canonical wording, with "Định kỳ" where the report recurs.
FREQUENCY_VI = {
    key: (f"Định kỳ {words}" if key in PERIODIC else words[:1].upper() + words[1:])
    for key, words in BASE_FREQUENCY_VI.items()
    if key != "none"
}
# The type code sits in the symbol ("145/KH-UBND"); a công văn has none ("6966/UBND-KTN").
DOC_KINDS = {
    "KH": "Kế hoạch",
    "QĐ": "Quyết định",
    "CT": "Chỉ thị",
    "CĐ": "Công điện",
    "TB": "Thông báo",
    "TT": "Thông tư",
    "NĐ": "Nghị định",
    "NQ": "Nghị quyết",
    "HD": "Hướng dẫn",
}
MAX_LINK = 1000  # keeps the never-cut parts of the Zalo form far below its limit
DEFAULT_SENDER = "Văn phòng UBND tỉnh"
DEFAULT_RECIPIENT = "UBND tỉnh"
SUBMISSION_STATES = tuple(SubmissionState)

# Short-form line labels; ``digest`` reads the deadline and link lines back by them.
_DEADLINE = "Hạn nộp: "
_LINK = "Nộp báo cáo: "
_VIEW = "Xem tình hình: "
_AGENCY_PAGE = "Trang của cơ quan: "
_CLOSING = "Trân trọng."
_FOOTER = (
    "Đây là thông báo tự động từ hệ thống theo dõi hạn báo cáo; đề nghị không trả lời thư này."
)


# == Context ================================================================================


def _aware(name: str, moment: datetime | None) -> None:
    if moment is not None and moment.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime {moment!r}; give it a time zone")


@dataclass(frozen=True, slots=True)
class LateAgency:
    """An agency in an escalation: how many working days late, and whether (when) it has
    submitted since the deadline."""

    name: str
    days_late: int
    submitted_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware("submitted_at", self.submitted_at)


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    name: str
    size: int  # bytes
    sha256: str


@dataclass(frozen=True, slots=True)
class Receipt:
    files: tuple[ReceivedFile, ...]
    received_at: datetime
    version: int
    late: bool

    def __post_init__(self) -> None:
        _aware("received_at", self.received_at)


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One agency in the consolidated status; ``state`` is a ``SubmissionState`` value."""

    agency: str
    state: str
    submitted_at: datetime | None = None
    days_late: int = 0  # working days

    def __post_init__(self) -> None:
        _aware("submitted_at", self.submitted_at)
        if self.state not in SUBMISSION_STATES:
            raise ValueError(f"status of {self.agency!r}: unknown state {self.state!r}")


@dataclass(frozen=True, slots=True)
class Contact:
    """The officer an addressee can call about the message: named in every message."""

    name: str
    phone: str | None = None
    email: str | None = None

    def line(self) -> str:
        parts = [_clean(self.name)]
        if self.phone:
            parts.append(f"điện thoại {_clean(self.phone)}")
        if self.email:
            parts.append(f"thư điện tử {_clean(self.email)}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class ProvisionalDay:
    """A day off a deadline depends on that no law or published decision fixes yet."""

    day: date
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeContext:
    """Everything a message says. ``agency`` is the submitting agency (the addressee of
    the agency stages and of a receipt); escalations go to ``via`` and ``recipient``.
    ``frequency`` and ``cutoff`` default to what the period key implies. Day counts are
    working days, as the ladder counts them. ``issuer`` is the directive's issuing body
    (``issuer_former``: it no longer exists since the 2025 mergers); ``deadline_words``
    the clause's own words for the deadline, ``deadline_is_default`` when the date is
    the administrator's default instead, ``provisional`` the not-yet-decreed days off it
    depends on; ``lead_deadline`` the lead Sở's own deadline to the recipient;
    ``agency_page`` the addressee's own page (its deadlines, calendar feed and open
    cycles), which every message carries when given."""

    agency: str
    directive_number: str
    directive_date: date
    directive_subject: str
    clause: str
    period_key: str
    deadline: datetime
    recipient: str = DEFAULT_RECIPIENT
    via: str | None = None
    link: str | None = None
    sender: str = DEFAULT_SENDER
    frequency: str | None = None
    cutoff: tuple[date, date] | None = None
    directive_kind: str | None = None
    working_days_left: int | None = None
    days_late: int | None = None
    late_agencies: tuple[LateAgency, ...] = ()
    receipt: Receipt | None = None
    status: tuple[StatusRow, ...] = ()
    as_of: datetime | None = None
    issuer: str | None = None
    issuer_former: bool = False
    contact: Contact | None = None
    deadline_words: str | None = None
    deadline_is_default: bool = False
    provisional: tuple[ProvisionalDay, ...] = ()
    lead_deadline: datetime | None = None
    agency_page: str | None = None

    def __post_init__(self) -> None:
        _aware("deadline", self.deadline)
        _aware("as_of", self.as_of)
        _aware("lead_deadline", self.lead_deadline)
        period_label(self.period_key)  # a bad key fails here, not half-way through a send
        for url in (self.link, self.agency_page):
            if url is not None:
                _check_link(url)


def _check_link(link: str) -> None:
    # The link becomes an href: only web links, and never one that would be cut.
    if not re.fullmatch(r"https?://\S+", link, re.ASCII) or len(link) > MAX_LINK:
        raise ValueError(f"submission link must be an http(s) URL of ≤{MAX_LINK} characters")


# == Formatting =============================================================================


def format_moment(moment: datetime) -> str:
    """ "17 giờ 00, Thứ Hai, ngày 22/12/2025", in local time: 2025-12-21T20:00Z is already
    Monday 22/12 in Vietnam, and that is the day the reader must act on. The end of a day
    (a deadline without a stated time, stored as its last instant) reads "24 giờ 00"."""
    local = moment.astimezone(TZ)
    weekday = WEEKDAYS_VI[local.weekday()]
    return f"{_clock(local)}, {weekday}, ngày {format_date(local.date())}"


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} byte"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}".replace(".", ",")  # Vietnamese decimal comma


def _clean(value: str) -> str:
    # NFC first: NFD input ("Sở" as S + o + ̛ + ̀) would otherwise reach mail clients that
    # render combining marks badly. One line: these values sit inside sentences and rows.
    return " ".join(unicodedata.normalize("NFC", value).split())


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _kind(ctx: NoticeContext) -> str:
    if ctx.directive_kind:
        kind = _clean(ctx.directive_kind)  # the parser's "công văn": a citation capitalises it
        return kind[:1].upper() + kind[1:]
    code = _clean(ctx.directive_number).rsplit("/", 1)[-1].split("-", 1)[0].upper()
    return DOC_KINDS.get(code, "Công văn")


def _period(ctx: NoticeContext) -> str:
    return period_label(ctx.period_key)


def _directive_short(ctx: NoticeContext) -> str:
    """ "Công văn 6966/UBND-KTN", as subjects say it."""
    return f"{_kind(ctx)} {_clean(ctx.directive_number)}"


def _directive_full(ctx: NoticeContext) -> str:
    """ "Công văn số 6966/UBND-KTN ngày 24/12/2024 của UBND tỉnh Quảng Ngãi", as letters
    cite it; "… của UBND tỉnh Kon Tum (trước sắp xếp)" when the issuer no longer exists."""
    number = _clean(ctx.directive_number)
    cited = f"{_kind(ctx)} số {number} ngày {format_date(ctx.directive_date)}"
    if ctx.issuer:
        cited += f" của {_clean(ctx.issuer)}" + (" (trước sắp xếp)" if ctx.issuer_former else "")
    return cited


def deadline_note(ctx: NoticeContext) -> str:
    """What the reader must know about the date: the directive's own words, or that it
    is the administrator's default; and "dự kiến" when it depends on a day off that is
    not decreed yet. Empty when there is nothing to say."""
    notes = []
    if ctx.deadline_is_default:
        notes.append(
            "hạn mặc định do quản trị viên hệ thống đặt, không phải hạn ghi trong văn bản; "
            "văn bản không quy định hạn"
        )
    elif ctx.deadline_words:
        notes.append(f"văn bản ghi: “{_clean(ctx.deadline_words)}”")
    if ctx.provisional:
        days = "; ".join(f"{format_date(p.day)} ({_clean(p.name)})" for p in ctx.provisional)
        notes.append(f"dự kiến: phụ thuộc ngày nghỉ chưa có văn bản chính thức: {days}")
    return f" ({'; '.join(notes)})" if notes else ""


def _deadline(ctx: NoticeContext) -> str:
    return format_moment(ctx.deadline) + deadline_note(ctx)


def _cutoff(ctx: NoticeContext) -> str:
    if ctx.cutoff is not None:
        start, end = ctx.cutoff
    else:
        period = parse_period_key(ctx.period_key)
        start, end = period.cutoff_start, period.cutoff_end
    return f"Từ ngày {format_date(start)} đến ngày {format_date(end)}"


def _frequency(ctx: NoticeContext) -> str:
    frequency = ctx.frequency or parse_period_key(ctx.period_key).frequency
    return FREQUENCY_VI.get(frequency, _clean(frequency))


def _destination(ctx: NoticeContext) -> str:
    recipient = _clean(ctx.recipient)
    return f"{recipient} (thông qua {_clean(ctx.via)})" if ctx.via else recipient


def _topic(ctx: NoticeContext) -> str:
    """ "Báo cáo năm 2026 theo Công văn 6966/UBND-KTN": the middle of every subject."""
    return f"Báo cáo {_lower_first(_period(ctx))} theo {_directive_short(ctx)}"


def _days(count: int) -> str:
    return f"{count} ngày làm việc"


# == Documents: what a message says, before it is rendered ==================================


@dataclass(frozen=True, slots=True)
class _Para:
    text: str


@dataclass(frozen=True, slots=True)
class _Facts:
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _Table:
    """Rows numbered 1, 2, 3 (the "STT" column of Vietnamese tables)."""

    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class _Button:
    label: str
    url: str


_Block = _Para | _Facts | _Table | _Button


@dataclass(frozen=True, slots=True)
class _Line:
    """A line of the Zalo form; ``squeeze`` orders which values give way first when the
    form is too long (None: never shortened — the deadline, the link, the labels)."""

    label: str
    value: str
    squeeze: int | None = None


@dataclass(frozen=True, slots=True)
class _Doc:
    subject: str
    to: str
    blocks: tuple[_Block, ...]
    short: tuple[_Line, ...]
    sender: str = DEFAULT_SENDER


def _facts(ctx: NoticeContext) -> _Facts:
    return _Facts(
        (
            ("Văn bản", _directive_full(ctx)),
            ("Trích yếu", _clean(ctx.directive_subject)),
            ("Nội dung yêu cầu", _clean(ctx.clause)),
            ("Chế độ báo cáo", _frequency(ctx)),
            ("Kỳ báo cáo", _period(ctx)),
            ("Thời gian chốt số liệu", _cutoff(ctx)),
            ("Cơ quan nhận báo cáo", _destination(ctx)),
            ("Hạn nộp", _deadline(ctx)),
        )
    )


def _contact_para(ctx: NoticeContext) -> tuple[_Block, ...]:
    """The closing blocks every message shares: the addressee's own page, the contact."""
    blocks: list[_Block] = []
    if ctx.agency_page is not None:
        blocks.append(_Button("Lịch hạn nộp và các kỳ báo cáo của cơ quan", ctx.agency_page))
    if ctx.contact is not None:
        blocks.append(_Para(f"Đầu mối liên hệ: {ctx.contact.line()}."))
    return tuple(blocks)


def _need_link(ctx: NoticeContext) -> str:
    if ctx.link is None:
        raise ValueError("a message to a submitting agency needs its submission link")
    return ctx.link


def _short(
    ctx: NoticeContext, subject: str, to: str, deadline: str, *extra: _Line, link: str = _LINK
) -> tuple[_Line, ...]:
    """The Zalo form: the clause gives way first, then the trích yếu, then names."""
    lines = [
        _Line("", subject, 6),
        _Line("Kính gửi: ", to, 4),
        _Line("Văn bản: ", _directive_full(ctx), 7),
        _Line("Trích yếu: ", _clean(ctx.directive_subject), 1),
        _Line("Nội dung: ", _clean(ctx.clause), 0),
        _Line("Kỳ báo cáo: ", _period(ctx)),
        _Line(_DEADLINE, deadline),
        *extra,
    ]
    if ctx.link is not None:
        lines.append(_Line(link, ctx.link))
    if ctx.agency_page is not None:
        lines.append(_Line(_AGENCY_PAGE, ctx.agency_page))
    if ctx.contact is not None:
        lines.append(_Line("Liên hệ: ", ctx.contact.line(), 3))
    lines.append(_Line("", _clean(ctx.sender), 5))
    return tuple(lines)


# == Stages =================================================================================


def _agency_doc(ctx: NoticeContext, subject: str, lead: str, suffix: str) -> _Doc:
    """The shape every message to a submitting agency shares."""
    link = _need_link(ctx)
    deadline = format_moment(ctx.deadline) + suffix + deadline_note(ctx)
    blocks: tuple[_Block, ...] = (
        _Para(lead),
        _facts(ctx),
        _Button("Nộp báo cáo", link),
        *_contact_para(ctx),
    )
    short = _short(ctx, subject, _clean(ctx.agency), deadline)
    return _Doc(subject, _clean(ctx.agency), blocks, short, _clean(ctx.sender))


def cycle_opened(ctx: NoticeContext) -> Message:
    subject = f"[Mở kỳ báo cáo] {_topic(ctx)} — hạn {format_date(ctx.deadline.astimezone(TZ))}"
    lead = (
        f"Thực hiện {_directive_full(ctx)}, {_clean(ctx.sender)} thông báo mở kỳ báo cáo "
        f"{_lower_first(_period(ctx))} và đề nghị {_clean(ctx.agency)} xây dựng báo cáo theo "
        "nội dung dưới đây, gửi qua đường dẫn riêng của cơ quan chậm nhất "
        f"{_deadline(ctx)}."
    )
    return _render(_agency_doc(ctx, subject, lead, ""))


def reminder(ctx: NoticeContext, working_days_left: int | None = None) -> Message:
    """The 7-, 3- and 1-day reminders: ``working_days_left`` overrides the context's."""
    left = working_days_left if working_days_left is not None else ctx.working_days_left
    if left is None:
        raise ValueError("reminder: how many working days are left is unknown")
    subject = f"[Nhắc hạn] {_topic(ctx)} — còn {_days(left)}"
    lead = (
        f"{_clean(ctx.sender)} trân trọng nhắc: hạn gửi báo cáo {_lower_first(_period(ctx))} "
        f"theo {_directive_full(ctx)} còn {_days(left)} "
        f"(hạn nộp: {_deadline(ctx)}). "
        f"Đề nghị {_clean(ctx.agency)} hoàn thiện và gửi báo cáo đúng thời hạn."
    )
    return _render(_agency_doc(ctx, subject, lead, f" (còn {_days(left)})"))


def due_today(ctx: NoticeContext) -> Message:
    subject = f"[Đến hạn hôm nay] {_topic(ctx)} — hạn {_clock(ctx.deadline)} hôm nay"
    lead = (
        f"Hôm nay là hạn cuối gửi báo cáo {_lower_first(_period(ctx))} theo "
        f"{_directive_full(ctx)} (hạn nộp: {_deadline(ctx)}). "
        f"{_clean(ctx.sender)} trân trọng đề nghị {_clean(ctx.agency)} gửi báo cáo trong "
        "thời hạn trên."
    )
    return _render(_agency_doc(ctx, subject, lead, " (hôm nay)"))


def _clock(moment: datetime) -> str:
    local = moment.astimezone(TZ)
    if (local.hour, local.minute, local.second) == (23, 59, 59):
        return "24 giờ 00"  # the end of the day (Bộ luật Dân sự 2015, Điều 147–148)
    return f"{local.hour:02d} giờ {local.minute:02d}"


def overdue(ctx: NoticeContext) -> Message:
    late = f" {_days(ctx.days_late)}" if ctx.days_late else ""
    subject = f"[Quá hạn] {_topic(ctx)} — quá hạn{late}"
    lead = (
        f"Đến nay, {_clean(ctx.agency)} chưa gửi báo cáo {_lower_first(_period(ctx))} theo "
        f"{_directive_full(ctx)}; báo cáo đã quá hạn{late} "
        f"(hạn nộp: {_deadline(ctx)}). Đề nghị {_clean(ctx.agency)} khẩn trương gửi "
        f"báo cáo. Danh sách cơ quan chưa gửi báo cáo sẽ được tổng hợp gửi "
        f"{_escalates_to(ctx)}."
    )
    return _render(_agency_doc(ctx, subject, lead, f" (đã quá hạn{late})"))


def _escalates_to(ctx: NoticeContext) -> str:
    recipient = _clean(ctx.recipient)
    return f"{_clean(ctx.via)} và {recipient}" if ctx.via else recipient


def receipt(ctx: NoticeContext) -> Message:
    hand_in = ctx.receipt
    if hand_in is None:
        raise ValueError("receipt: the context carries no receipt")
    subject = f"[Xác nhận đã nhận] {_topic(ctx)} — phiên bản {hand_in.version}"
    lead = (
        f"{_clean(ctx.sender)} xác nhận đã nhận báo cáo {_lower_first(_period(ctx))} của "
        f"{_clean(ctx.agency)} theo {_directive_full(ctx)} "
        f"lúc {format_moment(hand_in.received_at)} "
        f"(phiên bản {hand_in.version}; {_timeliness(ctx, hand_in)}). Trường hợp cần bổ sung, "
        "đề nghị gửi bản cập nhật qua đường dẫn dưới đây; bản mới được lưu thành phiên bản "
        "tiếp theo."
    )
    doc = _agency_doc(ctx, subject, lead, "")
    files = _Table(("Tên tệp", "Dung lượng", "SHA-256"), tuple(_file_row(f) for f in hand_in.files))
    received = _Line("Đã nhận: ", _received_summary(ctx, hand_in))
    blocks = (doc.blocks[0], files, *doc.blocks[1:])
    short = (*doc.short[:-1], received, doc.short[-1])
    return _render(replace(doc, blocks=blocks, short=short))


def _timeliness(ctx: NoticeContext, hand_in: Receipt) -> str:
    if not hand_in.late:
        return "nộp đúng hạn"
    return f"nộp sau hạn {_days(ctx.days_late)}" if ctx.days_late else "nộp sau hạn"


def _file_row(f: ReceivedFile) -> tuple[str, str, str]:
    return (_clean(f.name), format_size(f.size), _clean(f.sha256))


def _received_summary(ctx: NoticeContext, hand_in: Receipt) -> str:
    return (
        f"{len(hand_in.files)} tệp, phiên bản {hand_in.version}, "
        f"lúc {format_moment(hand_in.received_at)} ({_timeliness(ctx, hand_in)})"
    )


# -- escalations and status, to the lead Sở and the recipient --------------------------------


def _late_sorted(ctx: NoticeContext) -> list[LateAgency]:
    # Longest overdue first: the reader acts on the top of the list.
    return sorted(ctx.late_agencies, key=lambda a: (-a.days_late, _clean(a.name)))


def _late_state(agency: LateAgency) -> str:
    if agency.submitted_at is None:
        return "Chưa nộp"
    return f"Đã nộp lúc {format_moment(agency.submitted_at)}"


def _late_table(ctx: NoticeContext) -> _Table:
    rows = tuple(
        (_clean(a.name), _days(a.days_late) if a.days_late else "—", _late_state(a))
        for a in _late_sorted(ctx)
    )
    return _Table(("Cơ quan", "Quá hạn", "Tình trạng"), rows)


def _late_summary(ctx: NoticeContext) -> str:
    missing = sum(1 for a in ctx.late_agencies if a.submitted_at is None)
    since = len(ctx.late_agencies) - missing
    text = f"{missing} cơ quan chưa nộp"
    return text + (f", {since} cơ quan nộp sau hạn" if since else "")


def _late_line(ctx: NoticeContext) -> _Line:
    items = "; ".join(
        f"{_clean(a.name)} ({_days(a.days_late)}, {_lower_first(_late_state(a))})"
        for a in _late_sorted(ctx)
    )
    return _Line("Chậm báo cáo: ", items or "không có", 2)


def _escalation_doc(ctx: NoticeContext, to: str, tag: str, paras: Sequence[str]) -> _Doc:
    subject = f"[{tag}] {_topic(ctx)} — {_late_summary(ctx)}"
    blocks: list[_Block] = [_Para(paras[0]), _late_table(ctx), *map(_Para, paras[1:]), _facts(ctx)]
    if ctx.link is not None:  # for the lead and the recipient: the cycle's dashboard
        blocks.append(_Button("Xem tình hình nộp báo cáo", ctx.link))
    blocks.extend(_contact_para(ctx))
    short = _short(ctx, subject, to, _deadline(ctx), _late_line(ctx), link=_VIEW)
    return _Doc(subject, to, tuple(blocks), short, _clean(ctx.sender))


def _need_via(ctx: NoticeContext) -> str:
    if not ctx.via:
        raise ValueError("this message goes to the lead Sở, and the obligation names none")
    return _clean(ctx.via)


def escalation_lead(ctx: NoticeContext) -> Message:
    lead = _need_via(ctx)
    paras = (
        f"Theo {_directive_full(ctx)}, các cơ quan gửi báo cáo {_lower_first(_period(ctx))} "
        f"về {lead} để tổng hợp, báo cáo {_clean(ctx.recipient)}; hạn nộp của các cơ quan: "
        f"{_deadline(ctx)}. Đến nay, {_late_summary(ctx)}, cụ thể như sau:",
        f"{_clean(ctx.sender)} trân trọng đề nghị {lead} đôn đốc các cơ quan trên khẩn trương "
        f"gửi báo cáo; tổng hợp, báo cáo {_clean(ctx.recipient)}{_lead_deadline(ctx)}.",
    )
    return _render(_escalation_doc(ctx, lead, "Đôn đốc báo cáo", paras))


def _lead_deadline(ctx: NoticeContext) -> str:
    if ctx.lead_deadline is None:
        return ""
    return f" chậm nhất {format_moment(ctx.lead_deadline)}"


def lead_reminder(ctx: NoticeContext) -> Message:
    """To the lead Sở: its own deadline to the recipient, with who is still missing."""
    lead = _need_via(ctx)
    if ctx.lead_deadline is None:
        raise ValueError("lead reminder: the lead's own deadline is unknown")
    when = format_moment(ctx.lead_deadline)
    subject = f"[Nhắc hạn tổng hợp] {_topic(ctx)} — hạn báo cáo {_clean(ctx.recipient)} {when}"
    missing = (
        f"Đến nay, {_late_summary(ctx)}, cụ thể như sau:"
        if ctx.late_agencies
        else "Đến nay, các cơ quan đã gửi đủ báo cáo."
    )
    paras = (
        f"Theo {_directive_full(ctx)}, {lead} tổng hợp báo cáo {_lower_first(_period(ctx))} "
        f"của các cơ quan, báo cáo {_clean(ctx.recipient)}. {_clean(ctx.sender)} trân trọng "
        f"nhắc hạn gửi báo cáo tổng hợp: chậm nhất {when}{_provisional_note(ctx)}. "
        f"Hạn nộp của các cơ quan: {_deadline(ctx)}. {missing}",
    )
    blocks: list[_Block] = [_Para(paras[0])]
    if ctx.late_agencies:
        blocks.append(_late_table(ctx))
    blocks.append(_facts(ctx))
    if ctx.link is not None:
        blocks.append(_Button("Xem tình hình nộp báo cáo", ctx.link))
    blocks.extend(_contact_para(ctx))
    agencies_due = _Line("Hạn của các cơ quan: ", _deadline(ctx))
    missing_line = _Line("Chưa nộp: ", "; ".join(_clean(a.name) for a in _late_sorted(ctx)), 2)
    extra = (agencies_due, missing_line) if ctx.late_agencies else (agencies_due,)
    short = _short(ctx, subject, lead, when + _provisional_note(ctx), *extra, link=_VIEW)
    return _render(_Doc(subject, lead, tuple(blocks), short, _clean(ctx.sender)))


def _provisional_note(ctx: NoticeContext) -> str:
    if not ctx.provisional:
        return ""
    return " (dự kiến)"


def escalation_recipient(ctx: NoticeContext) -> Message:
    to = _clean(ctx.recipient)
    via = f" ({_clean(ctx.via)} tổng hợp)" if ctx.via else ""
    paras = (
        f"{_clean(ctx.sender)} kính báo cáo tình hình thực hiện chế độ báo cáo "
        f"{_lower_first(_period(ctx))} theo {_directive_full(ctx)}{via}: hạn nộp "
        f"{_deadline(ctx)}; đến nay, {_late_summary(ctx)}, cụ thể như sau:",
        f"Kính đề nghị {to} xem xét, chỉ đạo các cơ quan trên khẩn trương thực hiện.",
    )
    return _render(_escalation_doc(ctx, to, "Tình hình chậm báo cáo", paras))


_STATE_VI = {
    "pending": "Chưa nộp",
    "late": "Quá hạn, chưa nộp",
    "excused": "Không phải nộp",
}


def _row_state(row: StatusRow) -> str:
    if row.state == "submitted":
        return "Đã nộp sau hạn" if row.days_late > 0 else "Đã nộp đúng hạn"
    return _STATE_VI[row.state]


def status_label(row: StatusRow) -> str:
    """A row's state as the consolidated status says it ("Đã nộp sau hạn", "Chưa nộp"…):
    the email's table and the exported files (``notifications.exports``) use this one."""
    return _row_state(row)


def _counts(ctx: NoticeContext) -> tuple[tuple[str, str], ...]:
    states = [_row_state(r) for r in ctx.status]
    submitted = sum(1 for r in ctx.status if r.state == "submitted")
    order = ("Đã nộp đúng hạn", "Đã nộp sau hạn", "Chưa nộp", "Quá hạn, chưa nộp", "Không phải nộp")
    rows = [("Tổng số cơ quan", str(len(ctx.status))), ("Đã nộp", str(submitted))]
    return (*rows, *((label, str(states.count(label))) for label in order))


def _status_table(ctx: NoticeContext) -> _Table:
    rows = tuple(
        (
            _clean(r.agency),
            _row_state(r),
            format_moment(r.submitted_at) if r.submitted_at else "—",
            str(r.days_late) if r.days_late > 0 else "—",
        )
        for r in sorted(ctx.status, key=lambda r: (-r.days_late, _clean(r.agency)))
    )
    return _Table(("Cơ quan", "Tình trạng", "Thời điểm nộp", "Số ngày quá hạn"), rows)


def consolidated_status(ctx: NoticeContext) -> Message:
    lead = _need_via(ctx)
    submitted = sum(1 for r in ctx.status if r.state == "submitted")
    subject = (
        f"[Tình hình nộp báo cáo] {_topic(ctx)} — {submitted}/{len(ctx.status)} cơ quan đã nộp"
    )
    as_of = f" tính đến {format_moment(ctx.as_of)}" if ctx.as_of else ""
    intro = (
        f"{_clean(ctx.sender)} trân trọng gửi {lead} tình hình nộp báo cáo "
        f"{_lower_first(_period(ctx))} theo {_directive_full(ctx)}{as_of}, "
        "để tổng hợp, theo dõi:"
    )
    blocks: list[_Block] = [_Para(intro), _Facts(_counts(ctx)), _status_table(ctx), _facts(ctx)]
    if ctx.link is not None:
        blocks.append(_Button("Xem tình hình nộp báo cáo", ctx.link))
    blocks.extend(_contact_para(ctx))
    counts = ", ".join(f"{k.lower()} {v}" for k, v in _counts(ctx))
    count_line = _Line("Số liệu: ", counts)
    short = _short(ctx, subject, lead, format_moment(ctx.deadline), count_line, link=_VIEW)
    return _render(_Doc(subject, lead, tuple(blocks), short, _clean(ctx.sender)))


# == Dispatch ===============================================================================

_STAGES: dict[str, Callable[[NoticeContext], Message]] = {
    "opened": cycle_opened,
    "due-day": due_today,
    "overdue": overdue,
    "escalation-lead": escalation_lead,
    "lead-reminder": lead_reminder,
    "escalation-recipient": escalation_recipient,
    "receipt": receipt,
    "consolidated-status": consolidated_status,
}
_REMINDER = re.compile(r"reminder-(\d+)")
_LEAD_STAGE = re.compile(r"lead-(?:reminder-\d+|due-day)")


def render(stage_name: str, ctx: NoticeContext) -> Message:
    """The message of a ladder stage (``models.calendar.DEFAULT_LADDER`` names), plus
    "receipt" and "consolidated-status". Any "reminder-N" is a reminder; the context's
    own count of working days left wins over N, which a custom ladder may round."""
    if stage_name in _STAGES:
        return _STAGES[stage_name](ctx)
    if _LEAD_STAGE.fullmatch(stage_name):
        return lead_reminder(ctx)
    m = _REMINDER.fullmatch(stage_name)
    if m:
        left = ctx.working_days_left
        return reminder(ctx, left if left is not None else int(m[1]))
    known = ", ".join([*_STAGES, "reminder-N"])
    raise ValueError(f"no message for stage {stage_name!r} (known: {known})")


# == Rendering ==============================================================================


def _render(doc: _Doc) -> Message:
    return Message(
        subject=_nfc(doc.subject),
        text=_nfc(_text(doc)),
        html=_nfc(_html(doc)),
        short=_fit(doc.short, ZALO_TEXT_LIMIT),
    )


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _text_block(block: _Block) -> str:
    if isinstance(block, _Para):
        return block.text
    if isinstance(block, _Facts):
        return "\n".join(f"- {label}: {value}" for label, value in block.rows)
    if isinstance(block, _Table):
        return "\n".join(_text_row(block.head, row, i) for i, row in enumerate(block.rows, 1))
    return f"{block.label}: {block.url}"


def _text_row(head: tuple[str, ...], row: tuple[str, ...], number: int) -> str:
    # "1. Sở Nội vụ — Quá hạn: 4 ngày làm việc; Tình trạng: Chưa nộp"
    rest = "; ".join(f"{h}: {v}" for h, v in zip(head[1:], row[1:], strict=True))
    return f"{number}. {row[0]} — {rest}"


def _text(doc: _Doc) -> str:
    body = "\n\n".join(_text_block(b) for b in doc.blocks)
    return f"Kính gửi: {doc.to}\n\n{body}\n\n{_CLOSING}\n{doc.sender}\n\n-- \n{_FOOTER}\n"


# Inline styles only: Outlook and Gmail drop <style> blocks and external sheets.
_FONT = "font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1f2933;"
_CELL = "padding:6px 8px;border:1px solid #d9dde3;vertical-align:top;text-align:left;"
_BODY_START, _BODY_END = "<!--body-->", "<!--/body-->"


def _escape(value: str) -> str:
    return html.escape(value, quote=True)


def _html_block(block: _Block) -> str:
    if isinstance(block, _Para):
        return f'<p style="margin:0 0 14px;">{_escape(block.text)}</p>'
    if isinstance(block, _Facts):
        return _html_table((), block.rows, label_column=True)
    if isinstance(block, _Table):
        numbered = tuple((str(i), *row) for i, row in enumerate(block.rows, 1))
        return _html_table(("STT", *block.head), numbered, label_column=False)
    return _html_button(block)


def _html_table(
    head: tuple[str, ...], rows: tuple[tuple[str, ...], ...], *, label_column: bool
) -> str:
    th = "".join(f'<th style="{_CELL}background:#f1f3f5;">{_escape(h)}</th>' for h in head)
    lines = [f"<tr>{th}</tr>"] if head else []
    label = "font-weight:bold;width:34%;" if label_column else ""
    for row in rows:
        cells = [
            f'<td style="{_CELL}{label if i == 0 else ""}">{_escape(value)}</td>'
            for i, value in enumerate(row)
        ]
        lines.append(f"<tr>{''.join(cells)}</tr>")
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;margin:0 0 16px;font-size:14px;">{"".join(lines)}</table>'
    )


def _html_button(button: _Button) -> str:
    # A table cell with bgcolor is the button Outlook draws; the bare link below it is
    # for clients that strip the styling and for copying.
    url = _escape(button.url)
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:4px 0 8px;">'
        '<tr><td bgcolor="#1d4ed8" style="border-radius:4px;">'
        f'<a href="{url}" style="display:inline-block;padding:10px 22px;color:#ffffff;'
        f'text-decoration:none;font-weight:bold;">{_escape(button.label)}</a></td></tr></table>'
        f'<p style="margin:0 0 16px;font-size:13px;">Hoặc mở đường dẫn: '
        f'<a href="{url}" style="color:#1d4ed8;word-break:break-all;">{url}</a></p>'
    )


def _html(doc: _Doc) -> str:
    body = "".join(_html_block(b) for b in doc.blocks)
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{_escape(doc.subject)}</title></head>"
        '<body style="margin:0;padding:0;background:#f4f5f7;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="background:#f4f5f7;"><tr><td align="center" style="padding:24px 12px;">'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" '
        f'style="max-width:600px;width:100%;background:#ffffff;border:1px solid #d9dde3;{_FONT}">'
        '<tr><td style="background:#8b1a1a;color:#ffffff;padding:14px 24px;font-weight:bold;">'
        f"{_escape(doc.sender)}</td></tr>"
        f'<tr><td style="padding:24px;"><p style="margin:0 0 14px;"><strong>Kính gửi: '
        f"{_escape(doc.to)}</strong></p>{_BODY_START}{body}{_BODY_END}"
        f'<p style="margin:16px 0 0;">{_CLOSING}<br><strong>{_escape(doc.sender)}</strong></p>'
        '</td></tr><tr><td style="padding:12px 24px;font-size:12px;color:#6b7280;'
        f'border-top:1px solid #e5e7eb;">{_escape(_FOOTER)}</td></tr>'
        "</table></td></tr></table></body></html>"
    )


# -- the Zalo form ---------------------------------------------------------------------------


def shorten(text: str, width: int) -> str:
    """``text`` within ``width`` characters, cut at a word boundary with "…"."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    cut = text[: width - 1]
    head, space, _ = cut.rpartition(" ")
    # Keep a word boundary unless it would throw away most of what fits.
    kept = head if space and len(head) >= width // 2 else cut
    return kept.rstrip(" ,;:.-–—") + "…"


def _join(lines: Sequence[_Line], values: Sequence[str]) -> str:
    return _nfc("\n".join(line.label + v for line, v in zip(lines, values, strict=True)))


def _fit(lines: Sequence[_Line], limit: int) -> str:
    """Join the lines, shortening squeezable values in their order until within limit;
    the deadline and the link are never squeezable, so they always survive whole."""
    values = [line.value for line in lines]
    order = sorted((ln.squeeze, i) for i, ln in enumerate(lines) if ln.squeeze is not None)
    for _, i in order:
        over = len(_join(lines, values)) - limit
        if over <= 0:
            break
        values[i] = shorten(values[i], max(len(values[i]) - over, 1))
    return _join(lines, values)


# == Digest =================================================================================


def _text_body(text: str) -> str:
    # The part between "Kính gửi: …" and the closing, as ``_text`` lays it out.
    return text.split("\n\n", 1)[-1].rpartition(f"\n\n{_CLOSING}")[0]


def _html_body(markup: str) -> str:
    return markup.partition(_BODY_START)[2].partition(_BODY_END)[0]


def _short_facts(short: str) -> list[str]:
    """The deadline and link lines of an item's Zalo form, which the digest keeps whole."""
    return [ln for ln in short.splitlines() if ln.startswith((_DEADLINE, _LINK, _VIEW))]


def digest(messages: list[Message], *, agency: str, sender: str) -> Message:
    """Several messages due to one agency on one day, as one: each item a section.
    Only the addressee and the sender are needed: the dispatcher merges rendered rows.
    The items' attachments all go with the digest, in item order, each file once."""
    if not messages:
        raise ValueError("digest: no messages")
    if len(messages) == 1:
        return messages[0]
    count = len(messages)
    subject = f"[Nhắc việc] {count} nội dung báo cáo cần thực hiện — {_clean(agency)}"
    intro = f"{_clean(sender)} trân trọng gửi {_clean(agency)} {count} nội dung sau:"
    sections = [f"{i}. {m.subject}\n\n{_text_body(m.text)}" for i, m in enumerate(messages, 1)]
    doc = _Doc(subject, _clean(agency), (_Para(intro),), (), _clean(sender))
    text = _text(doc).replace(intro, intro + "\n\n" + "\n\n".join(sections), 1)
    return Message(
        subject=_nfc(subject),
        text=_nfc(text),
        html=_nfc(_digest_html(doc, messages)),
        short=_digest_short(messages, agency, sender),
        attachments=tuple(dict.fromkeys(a for m in messages for a in m.attachments)),
    )


def _digest_html(doc: _Doc, messages: Sequence[Message]) -> str:
    # Item bodies are already escaped HTML of our own making: inserted, never re-escaped.
    sections = "".join(
        f'<h3 style="margin:22px 0 10px;font-size:16px;color:#8b1a1a;">'
        f"{i}. {_escape(m.subject)}</h3>"
        f"{_html_body(m.html)}"
        for i, m in enumerate(messages, 1)
    )
    page = _html(doc)
    return page.replace(_BODY_END, sections + _BODY_END, 1)


def _digest_short(messages: Sequence[Message], agency: str, sender: str) -> str:
    """A compact list: each item's subject, deadline and link. Subjects give way first;
    if the items still do not fit, the last ones are left to the email, and said so."""
    for shown in range(len(messages), 0, -1):
        lines = [_Line("", f"Kính gửi: {_clean(agency)} — {len(messages)} nội dung cần lưu ý", 9)]
        for i, m in enumerate(messages[:shown], 1):
            lines.append(_Line(f"{i}. ", m.subject, 0))
            lines.extend(_Line("   ", fact) for fact in _short_facts(m.short))
        if shown < len(messages):
            lines.append(
                _Line("", f"… và {len(messages) - shown} nội dung khác (xem thư điện tử).")
            )
        lines.append(_Line("", _clean(sender), 5))
        text = _fit(lines, ZALO_TEXT_LIMIT)
        if len(text) <= ZALO_TEXT_LIMIT:
            return text
    raise ValueError("digest: a single item does not fit the Zalo limit")


__all__ = [
    "FREQUENCY_VI",
    "WEEKDAYS_VI",
    "Contact",
    "LateAgency",
    "NoticeContext",
    "ProvisionalDay",
    "Receipt",
    "ReceivedFile",
    "StatusRow",
    "consolidated_status",
    "cycle_opened",
    "deadline_note",
    "digest",
    "due_today",
    "escalation_lead",
    "escalation_recipient",
    "format_date",
    "format_moment",
    "format_size",
    "lead_reminder",
    "overdue",
    "period_label",
    "receipt",
    "reminder",
    "render",
    "shorten",
    "status_label",
]
