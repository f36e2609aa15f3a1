"""Step 1 of the clause grammar: the report actions of a clause, and whether it states a
duty at all.

A report action is a reporting verb (báo cáo, gửi, phản ánh, nộp; trình and cung cấp
only with a destination) with the agency it goes to, with a deadline, or asked of
someone. Nominal uses ("Báo cáo số 204/BC-SXD", "mẫu báo cáo"), what already happened
("đã gửi báo cáo"), the subjects of letters, negated duties, lead-ins and period
definitions are not. No action, no obligation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from directives.phrases import (
    HOP,
    agency_end,
    dest_at,
    segment_end,
    strip_number,
    subject_start,
)
from directives.timing import DeadlineMention

# --- report actions -------------------------------------------------------------------------

_TO = r"(?:(?:về|với|lên|cho|đến|tới)\s+)?"
_ADV = r"(?:(?:kịp\s+thời|ngay|trực\s+tiếp|bằng\s+văn\s+bản|định\s+kỳ|đột\s+xuất)\s+)?"
_SEND = re.compile(
    rf"\b(?P<verb>báo\s+cáo|phản\s+ánh|nộp|gửi(?:\s+(?:báo\s+cáo|văn\s+bản|kết\s+quả)(?:\s+(?:đột\s+xuất|định\s+kỳ))?)?"
    rf"|(?<!chương )(?<!quá )(?<!công )(?<!tiến )(?<!quy )(?<!lộ )(?<!phương )(?<!giáo )"
    rf"(?<!đệ )(?<!lập )trình(?!\s+(?:bày|độ|diễn|tự|chiếu)\b)"
    rf"|cung\s+cấp|khai\s+báo|thông\s+báo\s+ngay|(?<!thông )(?<!khai )báo\s+ngay|đăng\s+ký)"
    rf"(?:\s*,\s*(?:thông\s+tin|đề\s+xuất|kiến\s+nghị))?\s+{_ADV}{_TO}(?=\S)"
)
# Every action above contains one of these words (a cheap test before the grammar runs).
VERB_WORDS = (
    "báo cáo",
    "gửi",
    "nộp",
    "trình",
    "cung cấp",
    "phản ánh",
    "báo ngay",
    "khai báo",
    "đăng ký",
)
# Verbs that report only with a destination: "trình UBND tỉnh", "cung cấp số liệu cho Sở X",
# "khai báo ngay với Công an xã", "đăng ký … với cơ quan thuế".
_NEEDS_DEST = ("trình", "cung", "khai", "thông", "báo ngay", "đăng")
# Someone asks for the report: "Sở Tài chính đề nghị các phòng báo cáo …".
_REQUESTED = re.compile(
    r"(?:đề\s+nghị|yêu\s+cầu|giao|đôn\s+đốc|chỉ\s+đạo|có\s+trách\s+nhiệm|phải|khẩn\s+trương"
    r"|tổng\s+hợp,?|kịp\s+thời|thường\s+xuyên|chủ\s+động|định\s+kỳ)\b"
)
_DEST_LATER = re.compile(r"\b(?:gửi|cho|về|đến|tới|lên|với)\s+(?:về\s+)?(?=\S)")
_VERBAL_REPORT = re.compile(
    r"\bgửi\s+báo\s+cáo|\bthực\s+hiện\s+(?:việc\s+|chế\s+độ\s+)?báo\s+cáo(?!\s+theo\s+quy\s+định)"
    r"|\bbáo\s+cáo\s+(?:đột\s+xuất|định\s+kỳ)|\b(?:tổng\s+hợp,?|có\s+trách\s+nhiệm|phải|kịp\s+thời)\s+báo\s+cáo"
    r"|\bbáo\s+cáo\s+(?:kết\s+quả|tình\s+hình)"
)
# "báo cáo" used as a noun naming a document or a form: not an action.
_NOMINAL_BEFORE = re.compile(
    r"(?:mẫu|chế độ|chế độ thông tin|thông tin|nhận được|số liệu|nội dung|tại|kèm theo|biểu"
    r"|theo|của|các|hệ thống|thẩm định|phê duyệt|góp ý|tiếp nhận|số lượng|dự thảo)\s+$"
)
# "đã gửi báo cáo", "chưa báo cáo", "vừa báo cáo": what happened, not what is asked.
_COUNTED = re.compile(r"\b(?:đã|mới)\s+có\s+\d+(?:\s*/\s*\d+)?\s+[^.;:]{0,60}$")
_PAST = re.compile(r"(?:đã|chưa|vừa|mới|đã\s+có|đã\s+được)\s+(?:\S+\s+)?$")
_NOMINAL_AFTER = re.compile(r"\s*(?:số\s+\d|thẩm\s+định|này\b|kèm\s+theo|viên\b)")
_PREAMBLE = re.compile(
    r"^(?:theo\s+đề\s+nghị|xét\s+đề\s+nghị|mẫu\s|nơi\s+nhận|[“\"][^”\"]{1,80}[”\"]\s+là\s)"
    r"|chịu\s+trách\s+nhiệm\s+thi\s+hành"
)
# A legal basis ("Căn cứ …,") or a lead-in ending in ":" states nothing by itself, but
# "Căn cứ nội dung Kế hoạch, các sở … báo cáo …" goes on to a duty: such clauses count
# only when an action with a destination or a deadline follows.
_SOFT_PREAMBLE = re.compile(r"^căn\s+cứ\b")
# Definitions of a period, counts and negated duties state no duty.
_PERIOD_DEFINITION = re.compile(
    r"(?:thời\s+gian|kỳ)\s+(?:gửi\s+)?báo\s+cáo[^.;:]{0,60}?(?:tính\s+từ|từ\s+ngày)"
    r"|báo\s+cáo[^.;:]{0,40}:\s*(?:số\s+liệu\s+)?(?:được\s+)?tính\s+từ"
    r"|thời\s+gian\s+chốt\s+số\s+liệu[^.;]{0,80}$"
    # "Báo cáo tuần được tính từ …"
    r"|^(?:báo\s+cáo|kỳ\s+báo\s+cáo)[^.;:]{0,60}?(?:được\s+)?tính\s+từ"
    r"|^(?:báo\s+cáo[^.;:]{0,40}:\s*)?thời\s+gian\s+chốt\s+số\s+liệu"
)
_DATA_WINDOW = re.compile(r"(?:tính\s+từ|chốt\s+số\s+liệu)")
# "… vừa có văn bản gửi các bộ về việc báo cáo …": the subject of a letter, not a request.
_SUBJECT_LINE = re.compile(
    r"\b(?:về\s+việc|v/v)\s[^.;:]*"
    r"|\b(?:văn\s+bản|công\s+văn)(?:\s+số\s+[^\s,;]+)?\s+(?:gửi\b|về\s)[^.;]*"
)
_NEGATED = re.compile(
    r"\bkhông\s+(?:phải\s+|cần\s+|bắt\s+buộc\s+)?(?:thực\s+hiện\s+)?(?:chế\s+độ\s+|việc\s+)?"
    # (not the name of a fishing: "khai thác … không báo cáo và không theo quy định", IUU)
    r"(?!báo\s+cáo\s+và\s+không\s+theo\s+quy\s+định)"
    r"(?:(?:lập|nộp|gửi)\s+(?:các\s+)?báo\s+cáo|báo\s+cáo|gửi|nộp)(?:(?!\s(?:mà|nhưng)\s)[^.;])*"
    # "Phòng Giáo dục không yêu cầu các trường báo cáo …"
    r"|\bkhông\s+(?:yêu\s+cầu|đề\s+nghị|bắt\s+buộc)\s[^.;]{0,80}?(?:báo\s+cáo|gửi|nộp)[^.;]*"
    # "Thay vì báo cáo hằng tuần, …": the schedule replaced, up to the comma
    r"|\bthay\s+vì\s+(?:phải\s+)?(?:thực\s+hiện\s+)?(?:báo\s+cáo|gửi)[^.;,:]*"
)


@dataclass(slots=True)
class Action:
    verb_start: int
    verb_end: int
    dest: tuple[int, int] | None  # agency span the report goes to


def is_preamble(view: str) -> bool:
    body = strip_number(view)
    return bool(_PREAMBLE.search(view[body : body + 400]))


def inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= pos < e for s, e in spans)


def states_a_duty(view: str, actions: list[Action], deadlines: list[DeadlineMention]) -> bool:
    """Whether a clause with report actions states a duty rather than a lead-in, a
    legal basis or a period's definition (see ``_SOFT_PREAMBLE``)."""
    firm = deadlines or any(a.dest for a in actions)
    if _PERIOD_DEFINITION.search(view, strip_number(view)):
        windows = [(m.start(), segment_end(view, m.start())) for m in _DATA_WINDOW.finditer(view)]
        dated = [d for d in deadlines if not inside(d.start, windows)]  # the window's own ends
        return bool(dated) or any(a.dest for a in actions)
    body = strip_number(view)
    if _ASKS_BELOW.search(view):
        return False  # "Để kịp thời tổng hợp, báo cáo …, Chủ tịch UBND tỉnh yêu cầu:"
    if _SOFT_PREAMBLE.match(view, body) or view.rstrip(" \n*").endswith(":"):
        return bool(firm)
    return True


# A lead-in that hands the requests to the lines below it.
_ASKS_BELOW = re.compile(r"\b(?:yêu\s+cầu|đề\s+nghị|giao|chỉ\s+đạo)\s*:[\s*]*$")


# --- step 1: actions ------------------------------------------------------------------------


def _actions(view: str, text: str, timed: bool, dated: bool) -> list[Action]:
    actions: list[Action] = []
    for m in _SEND.finditer(view):
        verb_start, verb_end = m.start("verb"), m.end("verb")
        if _nominal(view, verb_start, verb_end) or _advised_for_approval(view, verb_start):
            continue
        dest = dest_at(view, text, m.end())
        if view.startswith("trình", verb_start) and not _submits_a_report(view, m.end(), dated):
            continue
        if dest is None and view.startswith(("báo", "gửi báo"), verb_start):
            dest = _report_requester(view, text, verb_end)
        if dest is None:
            dest = _dest_later(view, text, verb_end) or _requested_by(view, text, verb_end)
        if dest is None and not _reports_without_dest(view, text, verb_start, timed, dated):
            continue
        actions.append(Action(verb_start, verb_end, dest))
    return actions


_DEADLINE_LINE = re.compile(r"(?:thời\s+hạn|hạn)\s+(?:gửi\s+|nộp\s+)?(?P<verb>báo\s+cáo)\s*:")


def _deadline_line(view: str) -> list[Action]:
    """ "Thời hạn báo cáo: trước khi đưa công trình vào sử dụng 10 ngày"."""
    m = _DEADLINE_LINE.match(view, strip_number(view))
    return [Action(m.start("verb"), m.end("verb"), None)] if m else []


_FOR_APPROVAL = re.compile(
    r"(?:\S+\s+){0,6}?(?:phê\s+duyệt|ban\s+hành|cho\s+ý\s+kiến|thẩm\s+định)\b"
)


def _submits_a_report(view: str, pos: int, dated: bool) -> bool:
    """ "trình UBND tỉnh kết quả … trước ngày …", "trình Sở X … để báo cáo UBND tỉnh" report;
    "trình cấp có thẩm quyền phê duyệt" submits a draft for approval and does not."""
    if _FOR_APPROVAL.match(view, pos):
        return False
    return dated or bool(HOP.search(view, pos, segment_end(view, pos)))


def _reports_without_dest(view: str, text: str, verb_start: int, timed: bool, dated: bool) -> bool:
    """A report with no named destination still obliges when it has a timing, when
    someone asks for it, or when an agency is its subject: "Sở Tài chính đề nghị các
    phòng báo cáo tình hình …", "Các trường học báo cáo …"."""
    if view.startswith(_NEEDS_DEST, verb_start):
        return False
    head = _schedule_line(view, verb_start)
    if head:
        return dated  # "Báo cáo quý: trước ngày 12 …"; without a date, a list of kinds
    if timed and _is_verbal_report(view, verb_start):
        # "… báo cáo đột xuất" in a list of report kinds names no one who reports.
        return (
            dated
            or _agency_subject_before(view, text, verb_start)
            or bool(_REQUESTED.search(view[max(0, verb_start - 100) : verb_start]))
        )
    if not view.startswith(("báo", "gửi"), verb_start):
        return False
    if dated and text[verb_start].islower():  # "Trước ngày 15 hằng tháng, báo cáo …"
        return True
    before = view[max(0, verb_start - 120) : verb_start]
    if _REQUESTED.search(before[-100:]):
        return True
    return _agency_subject_before(view, text, verb_start)


def _schedule_line(view: str, verb_start: int) -> bool:
    """ "+ Báo cáo quý: trước ngày 12 …", "a) Báo cáo năm được thực hiện trước ngày …":
    a report named at the head of a schedule line."""
    return verb_start <= strip_number(view) + 2


def _agency_subject_before(view: str, text: str, verb_start: int) -> bool:
    start = subject_start(view, text)
    if start is None or start >= verb_start:
        return False
    end = agency_end(view, text, start, subject=True)
    return end <= verb_start and not view[end:verb_start].strip(" ,\n").count(" ") > 6


def _nominal(view: str, start: int, end: int) -> bool:
    before = view[max(0, start - 25) : start]
    if _PAST.search(before) and not _REQUESTED.search(before):
        return True
    if _COUNTED.search(view, max(0, start - 80), start):
        return True  # "đến nay đã có 47/63 tỉnh, thành phố gửi báo cáo": a count of what happened
    if not view.startswith("báo", start):
        return False
    after = view[end : end + 20]
    if _NOMINAL_BEFORE.search(before) and not re.match(r"\s+(?:đột\s+xuất|định\s+kỳ)", after):
        return True
    return bool(_NOMINAL_AFTER.match(after))


_ADVISORY = re.compile(r"tham\s+mưu\s+(?:cho\s+)?(?:\S+\s+){0,8}?$")
_APPROVAL = re.compile(r"\b(?:cho\s+ý\s+kiến|phê\s+duyệt|thông\s+qua)\b")


def _advised_for_approval(view: str, start: int) -> bool:
    """ "tham mưu UBND tỉnh báo cáo Ban cán sự đảng … trình Tỉnh ủy cho ý kiến": a draft
    taken up for approval, not a report; "tổng hợp, tham mưu UBND phường báo cáo UBND
    Thành phố" is one, timed or not."""
    if not _ADVISORY.search(view[max(0, start - 80) : start]):
        return False
    return bool(_APPROVAL.search(view, start, segment_end(view, start)))


def _is_verbal_report(view: str, start: int) -> bool:
    window_start = max(0, start - 20)
    return any(
        m.start() + window_start <= start < m.end() + window_start + 12
        for m in _VERBAL_REPORT.finditer(view[window_start : start + 40])
    ) or not view.startswith("báo", start)


def _dest_later(view: str, text: str, pos: int) -> tuple[int, int] | None:
    """The destination named after the content: "báo cáo công tác phòng cháy lên Phòng
    Giáo dục …", within the same sentence and before a second verb takes over."""
    stop = segment_end(view, pos)
    for m in _DEST_LATER.finditer(view, pos, stop):
        if view.endswith("giao ", 0, m.start()) and view.startswith("cho", m.start()):
            continue  # "nhiệm vụ … giao cho các sở": who was given the task
        dest = dest_at(view, text, m.end())
        if dest and not _SECOND_SEND.search(view, pos, m.start()):
            return dest
    return None


_SECOND_SEND = re.compile(r"\bđồng\s+thời\b|\bphối\s+hợp\s+với\b")


_REQUESTER = re.compile(r"\s+(?:đột\s+xuất\s+)?(?:theo|khi\s+có)\s+yêu\s+cầu\s+của\s+")


def _report_requester(view: str, text: str, verb_end: int) -> tuple[int, int] | None:
    """ "báo cáo đột xuất theo yêu cầu của Bộ X": the report goes to who asked for it."""
    m = _REQUESTER.match(view, verb_end)
    return dest_at(view, text, m.end()) if m else None


_REQUESTED_BY = re.compile(r"\b(?:khi\s+có|theo)\s+yêu\s+cầu\s+của\s+")


def _requested_by(view: str, text: str, pos: int) -> tuple[int, int] | None:
    """ "… báo cáo kết quả khi có yêu cầu của cơ quan cấp trên": to the requester."""
    m = _REQUESTED_BY.search(view, pos)
    return dest_at(view, text, m.end()) if m else None


def negated_spans(view: str) -> list[tuple[int, int]]:
    """ "không thực hiện báo cáo hằng tháng và hằng quý": what such a phrase covers says
    nothing the clause asks for (its frequencies are removed, never added)."""
    return [(m.start(), m.end()) for m in _NEGATED.finditer(view)]


def _purpose(view: str, text: str) -> list[tuple[int, int]]:
    """ "Để kịp thời tổng hợp, báo cáo Chính phủ, Bộ Y tế đề nghị các tỉnh báo cáo …": the
    lead-in's report is the requester's purpose, not the duty asked for."""
    body = strip_number(view)
    if not view.startswith("để ", body):
        return []
    start = subject_start(view, text)
    return [(body, start)] if start is not None and start > body else []


def report_actions(
    view: str, text: str, *, negated: list[tuple[int, int]], timed: bool, dated: bool
) -> list[Action]:
    """The clause's report actions, outside negated duties and letters' subjects; a
    "Thời hạn báo cáo: …" line is one when it carries a deadline."""
    ignored = negated + [(m.start(), m.end()) for m in _SUBJECT_LINE.finditer(view)]
    ignored += _purpose(view, text)
    found = [
        a
        for a in _actions(view, text, timed, dated)
        if not inside(a.verb_start, ignored) and not (a.dest and inside(a.dest[0], negated))
    ]
    return found or (_deadline_line(view) if dated else [])
