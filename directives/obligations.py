"""From one clause to the reporting obligations it states.

The grammar in three steps, each on the clause's folded view (same length as the
clause, so every span is an offset into it):

1. *Report actions*: a reporting verb (báo cáo, gửi, phản ánh, nộp) with the agency
   it goes to, or a reporting verb with a timing ("báo cáo đột xuất", "gửi báo cáo
   chậm nhất là ngày …"). Nominal uses ("Báo cáo số 204/BC-SXD", "mẫu báo cáo",
   "nhận được báo cáo") are not actions. No action, no obligation.
2. *Parties*: the submitters are the clause's grammatical subject when it is an
   agency phrase; the recipient is where the first action goes; the via (lead) is
   the body the report passes through: "(thông qua Sở Xây dựng)", "gửi Sở Tư pháp
   tổng hợp, báo cáo UBND tỉnh".
3. *Timing*: every frequency and deadline phrase, paired by position, one
   obligation per frequency ("định kỳ 6 tháng (trước ngày 10/6) và hằng năm
   (trước ngày 10/12)" is two obligations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from directives.agencies import split_list, starts_agency
from directives.model import PERIODIC, Clause, Deadline, Evidence, Obligation
from directives.text import clean_phrase, fold, mask, strip_markup
from directives.timing import (
    DeadlineMention,
    Mention,
    deadline_mentions,
    frequency_mentions,
    once_mentions,
)

# --- words that end phrases -----------------------------------------------------------------

# After an agency in object position: the purpose, the content or the timing begins.
_OBJECT_STOP = (
    "để|về|trước|chậm nhất|theo|khi|trong|hoặc|đồng thời|đối với|nếu|kết quả|tình hình|xem xét"
    "|tổng hợp|tham mưu|báo cáo|gửi|định kỳ|hằng|hàng|kèm|bằng|qua|thông qua|phê duyệt"
    "|cho ý kiến|biết|chỉ đạo|quyết định|giải quyết|xử lý|đề xuất|bổ sung|sửa đổi|đưa vào|nhằm"
    "|danh sách|số liệu|thông tin|dự toán|quyết toán|tài liệu|hồ sơ|văn bản|kịp thời|ngay|sau"
    "|đúng|đầy đủ|thực hiện|phối hợp|làm cơ sở|tại|vào|từ|là|chậm|trực tiếp|thẩm định"
    "|những(?!\\s+(?:cơ quan|đơn vị|sở|ban|ngành|địa phương))|thứ|đến\\s+(?:ngày|hết|trước)"
    "|\\d+\\s+(?:tháng|ngày|năm|quý)"
    "|một lần|phục vụ|việc|công tác|tiến độ|(?<!cấp )trên"
)
# After an agency in subject position: the predicate begins.
_SUBJECT_STOP = (
    "chủ trì|phối hợp|tổng hợp|báo cáo|gửi|phản ánh|(?<!công )lập|(?<!đầu tư )xây dựng"
    "|thực hiện|có trách nhiệm"
    "|chịu trách nhiệm|phải|kiểm tra|thẩm định|thẩm tra|hoàn thành|phát hiện|cung cấp|theo dõi"
    "|đôn đốc|nghiêm túc|triển khai|tổ chức thực hiện|tổ chức triển khai|rà soát|định kỳ|hằng"
    "|(?<!ngân )hàng|(?<!công )(?<!chương )(?<!quá )trình|tham mưu|đề xuất|hướng dẫn"
    "|(?<!ban )chỉ đạo|giám sát|đánh giá|được|sẽ|cần|tiếp tục"
    "|chủ động|tăng cường|bảo đảm|đảm bảo|ban hành|công bố|(?<!giao )thông báo|cập nhật"
    "|tiếp nhận|xử lý"
    "|giải quyết|quyết định|phê duyệt|bố trí|khẩn trương|trước ngày|chậm nhất|nộp|chuẩn bị"
    "|căn cứ|xác nhận|lưu trữ|quản lý và|thống kê|giao(?! thông)|ký|kịp thời|trong thời hạn|là"
    "|yêu cầu|đề nghị|làm đầu mối|làm|có nhiệm vụ|thường xuyên|không|đã|vừa|nghiên cứu|hoàn thiện"
    "|đẩy nhanh|khẩn trương|sớm|cung cấp|trực tiếp|tiến hành|chịu|cũng|có văn bản|có ý kiến"
    "|tổ chức (?:rà soát|kiểm tra|đánh giá|tuyên truyền|sơ kết|tổng kết|điều tra|thống kê)"
)
_OBJ_STOP_RE = re.compile(rf"(?:{_OBJECT_STOP})\b")
_SUBJ_STOP_RE = re.compile(rf"\s(?:{_SUBJECT_STOP})\b|:|;|\.(?=\s|$)")
_PREDICATE_RE = re.compile(rf"\s(?:{_SUBJECT_STOP})\b|:")

# --- report actions -------------------------------------------------------------------------

_TO = r"(?:(?:về|với|lên|cho|đến|tới)\s+)?"
_ADV = r"(?:(?:kịp\s+thời|ngay|trực\s+tiếp|bằng\s+văn\s+bản|định\s+kỳ)\s+)?"
_SEND = re.compile(
    rf"\b(?P<verb>báo\s+cáo|phản\s+ánh|nộp|gửi(?:\s+(?:báo\s+cáo|văn\s+bản|kết\s+quả)(?:\s+(?:đột\s+xuất|định\s+kỳ))?)?"
    rf"|(?<!chương )(?<!quá )(?<!công )(?<!tiến )(?<!quy )(?<!lộ )(?<!phương )(?<!giáo )"
    rf"(?<!đệ )(?<!lập )trình"
    rf"|cung\s+cấp)"
    rf"(?:\s*,\s*(?:thông\s+tin|đề\s+xuất|kiến\s+nghị))?\s+{_ADV}{_TO}(?=\S)"
)
# Every action above contains one of these words (a cheap test before the grammar runs).
_VERB_WORDS = ("báo cáo", "gửi", "nộp", "trình", "cung cấp", "phản ánh")
# Verbs that report only with a destination: "trình UBND tỉnh", "cung cấp số liệu cho Sở X".
_NEEDS_DEST = ("trình", "cung")
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
    r"|theo|của|các|hệ thống|thẩm định|phê duyệt|góp ý|tiếp nhận|số lượng)\s+$"
)
# "đã gửi báo cáo", "chưa báo cáo", "vừa báo cáo": what happened, not what is asked.
_PAST = re.compile(r"(?:đã|chưa|vừa|mới|đã\s+có|đã\s+được)\s+(?:\S+\s+)?$")
_NOMINAL_AFTER = re.compile(r"\s*(?:số\s+\d|thẩm\s+định|này\b|kèm\s+theo)")
_ADVISORY = re.compile(r"tham\s+mưu\s+(?:cho\s+)?(?:\S+\s+){0,8}?$")
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
)
# "… vừa có văn bản gửi các bộ về việc báo cáo …": the subject of a letter, not a request.
_SUBJECT_LINE = re.compile(
    r"\b(?:về\s+việc|v/v)\s[^.;]*"
    r"|\b(?:văn\s+bản|công\s+văn)(?:\s+số\s+[^\s,;]+)?\s+(?:gửi\b|về\s)[^.;]*"
)
_NEGATED = re.compile(
    r"\bkhông\s+(?:phải\s+|cần\s+|bắt\s+buộc\s+)?(?:thực\s+hiện\s+)?(?:chế\s+độ\s+|việc\s+)?"
    r"(?:báo\s+cáo|gửi)[^.;]*"
)


@dataclass(slots=True)
class _Action:
    verb_start: int
    verb_end: int
    dest: tuple[int, int] | None  # agency span the report goes to


@dataclass(slots=True)
class _Parties:
    submitters: list[Evidence]
    recipient: Evidence | None
    via: Evidence | None
    subject: Evidence | None


def extract(text: str, view: str | None = None) -> list[Obligation]:
    """The obligations a clause states; [] for a clause that states none.

    ``view`` is ``fold(mask(text))`` when the caller has it already (a document's
    view, sliced per clause, saves recomputing it)."""
    view = fold(mask(text)) if view is None else view
    if not any(verb in view for verb in _VERB_WORDS) or _is_preamble(view):
        return []  # most clauses of a document report nothing: skip the timing grammar
    negated = [(m.start(), m.end()) for m in _NEGATED.finditer(view)]
    freqs = [m for m in frequency_mentions(view) if not _inside(m.start, negated)]
    deadlines = deadline_mentions(view, text)
    timed = bool(freqs or deadlines)
    ignored = negated + [(m.start(), m.end()) for m in _SUBJECT_LINE.finditer(view)]
    actions = [
        a
        for a in _actions(view, text, timed, bool(deadlines))
        if not _inside(a.verb_start, ignored)
    ]
    if not actions and deadlines:
        actions = _deadline_line(view)
    if not actions or not _states_a_duty(view, actions, deadlines):
        return []
    parties = _parties(view, text, actions)
    return _obligations(view, text, freqs, deadlines, parties)


def label_clause(text: str) -> dict[str, Any]:
    """One clause's label in the corpus schema (the `hanbaocao clauses` interface)."""
    return Clause(start=0, end=len(text), text=text, obligations=extract(text)).label()


def has_verb(folded: str) -> bool:
    """Whether a phrase has a predicate (used to tell a heading from a sentence)."""
    return bool(_PREDICATE_RE.search(folded))


def _is_preamble(view: str) -> bool:
    body = _strip_number(view)
    return bool(_PREAMBLE.search(view[body : body + 400]))


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= pos < e for s, e in spans)


def _states_a_duty(view: str, actions: list[_Action], deadlines: list[DeadlineMention]) -> bool:
    """Whether a clause with report actions states a duty rather than a lead-in, a
    legal basis or a period's definition (see ``_SOFT_PREAMBLE``)."""
    firm = deadlines or any(a.dest for a in actions)
    if _PERIOD_DEFINITION.search(view):
        return bool(deadlines) or any(a.dest for a in actions)
    body = _strip_number(view)
    if _SOFT_PREAMBLE.match(view, body) or view.rstrip(" \n*").endswith(":"):
        return bool(firm)
    return True


_NUMBERING = re.compile(
    r"\s*(?:(?:\d+(?:\.\d+)*\s*[.)]|[a-zđ]\s*[).]|\(\s*(?:\d+|[a-zđ])\s*\)|[-–•+*])\s*){0,2}"
)


def _strip_number(view: str) -> int:
    m = _NUMBERING.match(view)
    return m.end() if m else 0


# --- step 1: actions ------------------------------------------------------------------------


def _actions(view: str, text: str, timed: bool, dated: bool) -> list[_Action]:
    actions: list[_Action] = []
    for m in _SEND.finditer(view):
        verb_start, verb_end = m.start("verb"), m.end("verb")
        if _nominal(view, verb_start, verb_end) or _advisory(view, verb_start, timed):
            continue
        dest = _dest_at(view, text, m.end())
        if view.startswith("trình", verb_start) and not _submits_a_report(view, m.end(), dated):
            continue
        if dest is None and view.startswith(("báo", "gửi báo"), verb_start):
            dest = _report_requester(view, text, verb_end)
        if dest is None:
            dest = _dest_later(view, text, verb_end) or _requested_by(view, text, verb_end)
        if dest is None and not _reports_without_dest(view, text, verb_start, timed, dated):
            continue
        actions.append(_Action(verb_start, verb_end, dest))
    return actions


_DEADLINE_LINE = re.compile(r"(?:thời\s+hạn|hạn)\s+(?:gửi\s+|nộp\s+)?(?P<verb>báo\s+cáo)\s*:")


def _deadline_line(view: str) -> list[_Action]:
    """ "Thời hạn báo cáo: trước khi đưa công trình vào sử dụng 10 ngày"."""
    m = _DEADLINE_LINE.match(view, _strip_number(view))
    return [_Action(m.start("verb"), m.end("verb"), None)] if m else []


_FOR_APPROVAL = re.compile(
    r"(?:\S+\s+){0,6}?(?:phê\s+duyệt|ban\s+hành|cho\s+ý\s+kiến|thẩm\s+định)\b"
)


def _submits_a_report(view: str, pos: int, dated: bool) -> bool:
    """ "trình UBND tỉnh kết quả … trước ngày …", "trình Sở X … để báo cáo UBND tỉnh" report;
    "trình cấp có thẩm quyền phê duyệt" submits a draft for approval and does not."""
    if _FOR_APPROVAL.match(view, pos):
        return False
    return dated or bool(_HOP.search(view, pos, _segment_end(view, pos)))


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
    return verb_start <= _strip_number(view) + 2


def _agency_subject_before(view: str, text: str, verb_start: int) -> bool:
    start = _subject_start(view, text)
    if start is None or start >= verb_start:
        return False
    end = agency_end(view, text, start, subject=True)
    return end <= verb_start and not view[end:verb_start].strip(" ,\n").count(" ") > 6


def _nominal(view: str, start: int, end: int) -> bool:
    before = view[max(0, start - 25) : start]
    if _PAST.search(before) and not _REQUESTED.search(before):
        return True
    if not view.startswith("báo", start):
        return False
    after = view[end : end + 20]
    if _NOMINAL_BEFORE.search(before) and not re.match(r"\s+(?:đột\s+xuất|định\s+kỳ)", after):
        return True
    return bool(_NOMINAL_AFTER.match(after))


def _advisory(view: str, start: int, timed: bool) -> bool:
    """ "tham mưu UBND tỉnh báo cáo Ban cán sự đảng …" advises someone else to report
    once; it is a task, not a reporting duty, unless the clause gives it a timing."""
    return not timed and bool(_ADVISORY.search(view[max(0, start - 80) : start]))


def _is_verbal_report(view: str, start: int) -> bool:
    window_start = max(0, start - 20)
    return any(
        m.start() + window_start <= start < m.end() + window_start + 12
        for m in _VERBAL_REPORT.finditer(view[window_start : start + 40])
    ) or not view.startswith("báo", start)


_ACRONYM = re.compile(r"[A-ZĐ]{4,}\b")  # "VNMAC", "BHXH": a destination named by its initials


def _dest_at(view: str, text: str, pos: int) -> tuple[int, int] | None:
    if not starts_agency(view, pos) and not _ACRONYM.match(text, pos):
        return None
    end = agency_end(view, text, pos, subject=False)
    return (pos, end) if end > pos else None


def _dest_later(view: str, text: str, pos: int) -> tuple[int, int] | None:
    """The destination named after the content: "báo cáo công tác phòng cháy lên Phòng
    Giáo dục …", within the same sentence and before a second verb takes over."""
    stop = _segment_end(view, pos)
    for m in _DEST_LATER.finditer(view, pos, stop):
        if view.endswith("giao ", 0, m.start()):
            continue  # "nhiệm vụ … giao cho các sở": who was given the task
        dest = _dest_at(view, text, m.end())
        if dest and not _SECOND_SEND.search(view, pos, m.start()):
            return dest
    return None


_SECOND_SEND = re.compile(r"\bđồng\s+thời\b|\bphối\s+hợp\s+với\b")


def _segment_end(view: str, pos: int) -> int:
    m = re.compile(r"[;]|\.(?=\s|$)").search(view, pos)
    return m.start() if m else len(view)


_REQUESTER = re.compile(r"\s+(?:đột\s+xuất\s+)?(?:theo|khi\s+có)\s+yêu\s+cầu\s+của\s+")


def _report_requester(view: str, text: str, verb_end: int) -> tuple[int, int] | None:
    """ "báo cáo đột xuất theo yêu cầu của Bộ X": the report goes to who asked for it."""
    m = _REQUESTER.match(view, verb_end)
    return _dest_at(view, text, m.end()) if m else None


_REQUESTED_BY = re.compile(r"\b(?:khi\s+có|theo)\s+yêu\s+cầu\s+của\s+")


def _requested_by(view: str, text: str, pos: int) -> tuple[int, int] | None:
    """ "… báo cáo kết quả khi có yêu cầu của cơ quan cấp trên": to the requester."""
    m = _REQUESTED_BY.search(view, pos)
    return _dest_at(view, text, m.end()) if m else None


def agency_end(view: str, text: str, pos: int, *, subject: bool) -> int:
    """Where the agency phrase starting at ``pos`` ends.

    In object position a phrase runs over commas and "và" into further agencies
    and relative clauses ("bộ, cơ quan trung ương chủ trì dự án, tiểu dự án …")
    until a purpose, content or timing word; in subject position it ends at the
    predicate's verb.
    """
    if subject:
        return _subject_end(view, text, pos)
    i, n = pos, len(view)
    while i < n:
        ch = view[i]
        if ch == "\n" and not _blank_line_follows(view, i):
            i += 1  # a hard line wrap inside the phrase
            continue
        ends = ch in ".;:(\n" and not _distributive_colon(view, pos, i)
        if ends and (ch != "." or _sentence_dot(view, i)):
            break
        at = _skip_space(view, i)
        if (
            ch in " ,"
            and i > pos
            and _is_stop(_OBJ_STOP_RE, view, text, at)
            and not _name_goes_on(view, text, pos, at)
        ):
            break
        i += 1
    return _trim(view, pos, i)


_NAMED_FOR = re.compile(
    r"(?:ban\s+chỉ\s+đạo|hội\s+đồng|ủy\s+ban|tổ\s+công\s+tác|ban|cơ\s+quan\s+chuyên\s+môn)$"
)
_NAME_TAIL = re.compile(
    r"[^.;:()]{3,160}?\b(?:tỉnh|thành\s+phố|trung\s+ương|quốc\s+gia|cấp\s+\w+)\b"
)


def _name_goes_on(view: str, text: str, start: int, at: int) -> bool:
    """ "Sở Tư pháp hoặc Cục Thi hành án": a second agency after "hoặc"; "Ban Chỉ đạo
    về phòng, chống thiên tai tỉnh": a committee named for its task runs to its place."""
    if view.startswith("hoặc ", at):
        nxt = _skip_space(view, at + 4)
        return nxt < len(text) and text[nxt].isupper() and bool(starts_agency(view, nxt))
    if view.startswith("về ", at) and _NAMED_FOR.search(view[start:at].rstrip()):
        return bool(_NAME_TAIL.match(view, at + 3))
    return False


def _subject_end(view: str, text: str, pos: int) -> int:
    """The subject ends at its predicate's verb; "Thủ trưởng …; Chủ tịch …" runs on
    over a semicolon into the next agency, and brackets ("(gọi tắt là …)") are skipped."""
    limit = min(len(view), pos + 300)
    i = pos
    while i < limit:
        if view[i] == "(":
            close = view.find(")", i, limit)
            i = close + 1 if close != -1 else limit
            continue
        m = _SUBJ_STOP_RE.match(view, i)
        if m and view[i] == ":" and _distributive_colon(view, pos, i):
            i += 1
            continue
        if m and _is_stop(_SUBJ_STOP_RE, view, text, i):
            if view[i] == ";" and starts_agency(view, _skip_space(view, i + 1)):
                i += 1
                continue
            if _names_a_programme(view, text, m):
                i = m.end()
                continue
            return _trim(view, pos, i)
        i += 1
    return _trim(view, pos, limit)


def _names_a_programme(view: str, text: str, m: re.Match[str]) -> bool:
    """ "các bộ, ngành … thực hiện Chương trình gửi báo cáo": "thực hiện" + a
    capitalised name qualifies the subject; the predicate comes later."""
    if m.group().strip() != "thực hiện":
        return False
    nxt = _skip_space(view, m.end())
    return nxt < len(text) and text[nxt].isupper()


def _ends_at_predicate(view: str, text: str, end: int) -> bool:
    """Whether a subject phrase ending at ``end`` is followed by a verb (or an inline
    heading's colon): a list member followed by a comma or full stop is not a subject."""
    return _PREDICATE_RE.match(view, end) is not None and _is_stop(_PREDICATE_RE, view, text, end)


def _is_stop(rx: re.Pattern[str], view: str, text: str, i: int) -> bool:
    """A stop word ends a phrase only in lowercase: "Sở Xây dựng", "Ban Chỉ đạo" and
    "Chương trình" are names, "xây dựng" and "chỉ đạo" are verbs."""
    m = rx.match(view, i)
    if not m:
        return False
    at = i + len(m.group()) - len(m.group().lstrip())
    return at >= len(text) or not text[at].isupper()


def _blank_line_follows(view: str, i: int) -> bool:
    nxt = view.find("\n", i + 1)
    return nxt != -1 and not view[i + 1 : nxt].strip()


def _distributive_colon(view: str, start: int, i: int) -> bool:
    """ "các Sở: Kế hoạch và Đầu tư, Tài chính" — the colon belongs to the phrase."""
    return view[i] == ":" and bool(re.fullmatch(r"các\s+\w+\s*", view[start:i]))


def _sentence_dot(view: str, i: int) -> bool:
    return i + 1 >= len(view) or view[i + 1] in " \n/"


def _skip_space(view: str, i: int) -> int:
    while i < len(view) and view[i] in " ,":
        i += 1
    return i


def _trim(view: str, start: int, end: int) -> int:
    while end > start and view[end - 1] in " ,-–\n":
        end -= 1
    for tail in (" và", " hoặc", ","):
        if view[start:end].endswith(tail):
            end -= len(tail)
    while end > start and view[end - 1] in " ,\n":
        end -= 1
    return end


# --- step 2: parties -------------------------------------------------------------------------

# A further hop after the first destination: "gửi Sở X để tổng hợp, báo cáo UBND tỉnh",
# "phản ánh về Sở X để báo cáo UBND tỉnh", "gửi Sở X tổng hợp và báo cáo UBND tỉnh".
_HOP = re.compile(
    r"\b(?:để\s+(?:tổng\s+hợp\s*,?\s*(?:và\s+)?)?|tổng\s+hợp\s*,?\s*(?:và\s+)?)"
    r"(?:báo\s+cáo|trình|gửi)\s+(?:cho\s+|về\s+|lên\s+|đến\s+)?(?=\S)"
)
# "để X tổng hợp, báo cáo Y": the compiler named after the content.
_COMPILER = re.compile(r"\bđể\s+(?=\S)")
# Words that end the report's own route: advice to the next body is not a hop ("để tổng
# hợp, tham mưu UBND tỉnh"), and a second destination is not the recipient.
_NO_HOP = re.compile(r"tham\s+mưu|đề\s+xuất|đồng\s+thời|phối\s+hợp")
# Channels are never a via: email, fax, "Hệ thống quản lý văn bản", "Trục liên thông".
_CHANNEL = re.compile(
    r"(?:cổng|hệ\s+thống|trục|phần\s+mềm|thư\s+điện\s+tử|email|e-mail|fax|địa\s+chỉ|mạng|bưu\s+điện"
    r"|bưu\s+chính|đường\s+(?:công\s+văn|bưu)|văn\s+bản\s+điện\s+tử)\b"
)
_PAREN_VIA = re.compile(r"\s*\(\s*(?:thông\s+qua|qua|gửi\s+qua|gửi\s+về)?\s*")
_BARE_VIA = re.compile(r"\s+(?:thông\s+qua|qua)\s+")


def _parties(view: str, text: str, actions: list[_Action]) -> _Parties:
    submitters = [_ev(text, s, e) for s, e in _submitters(view, text)]
    first = next((a for a in actions if a.dest), None)
    via: tuple[int, int] | None
    compiled = _compiled_route(view, text, actions[0].verb_end)
    if compiled and (first is None or first.dest is None or compiled[0][0] < first.dest[0]):
        via, recipient = compiled  # "báo cáo kết quả để Sở X tổng hợp, báo cáo UBND tỉnh"
    elif first is not None and first.dest is not None:
        recipient, via = _route(view, text, first.dest)
    else:
        return _Parties(submitters, None, None, _subject(view, text, actions[0], None, None))
    subject = _subject(view, text, first or actions[0], recipient, via)
    rec_ev = _ev(text, *recipient)
    return _Parties(submitters, rec_ev, _ev(text, *via) if via else None, subject)


def _route(
    view: str, text: str, dest: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """(recipient, via) of a report first sent to ``dest``, by the mechanical rule of
    the conventions: the body that compiles is the via, the last addressee the
    recipient; "(thông qua X)" and "qua X" name the via; a bracketed unit of the
    recipient ("Sở Nội vụ (Ban Thi đua - Khen thưởng)") is the via."""
    after = dest[1]
    near = _paren_or_bare_via(view, text, after)
    stop = min(_segment_end(view, after), after + 240)
    hops: list[tuple[int, int]] = []
    cursor = after
    for m in _HOP.finditer(view, after, stop):
        if m.start() < cursor or _NO_HOP.search(view, cursor, m.start()):
            if m.start() >= cursor:
                break
            continue
        final = _dest_at(view, text, m.end())
        if final is None:
            continue
        hops.append(final)
        cursor = final[1]
    if not hops:
        return dest, near or _late_via(view, text, after)
    compiler = dest
    if near and view[after : near[0]].strip().startswith("(") and not _explicit_via(view, after):
        close = view.find(")", near[1])
        compiler = (dest[0], close + 1 if close != -1 else near[1])
    return hops[-1], compiler


_LATE_VIA = re.compile(r"\(\s*(?:thông\s+qua|qua)\s+")


def _late_via(view: str, text: str, pos: int) -> tuple[int, int] | None:
    """ "báo cáo UBND tỉnh xem xét, chỉ đạo giải quyết (qua Sở Công Thương)": the via in
    brackets at the end of the sentence."""
    m = _LATE_VIA.search(view, pos, _segment_end(view, pos))
    if not m or _CHANNEL.match(view, m.end()):
        return None
    dest = _dest_at(view, text, m.end())
    if dest is None:
        return None
    close = view.find(")", dest[0])
    return (dest[0], min(dest[1], close)) if close != -1 else dest


def _explicit_via(view: str, pos: int) -> bool:
    return bool(re.match(r"\s*\(\s*(?:thông\s+qua|qua|gửi\s+qua)\b", view[pos:]))


def _compiled_route(
    view: str, text: str, pos: int
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """ "báo cáo kết quả để Sở Tài chính tổng hợp, báo cáo UBND tỉnh": (via, recipient)."""
    stop = min(_segment_end(view, pos), pos + 240)
    for m in _COMPILER.finditer(view, pos, stop):
        compiler = _dest_at(view, text, m.end())
        if compiler is None:
            continue
        hop = _HOP.match(view, _skip_space(view, compiler[1]))
        final = _dest_at(view, text, hop.end()) if hop else None
        if final:
            return compiler, final
    return None


def _paren_or_bare_via(view: str, text: str, pos: int) -> tuple[int, int] | None:
    paren = _PAREN_VIA.match(view, pos)
    if paren and view[pos:].lstrip().startswith("("):
        dest = _dest_at(view, text, paren.end())
        if dest and not _CHANNEL.match(view, dest[0]):
            close = view.find(")", dest[0])
            return (dest[0], min(dest[1], close)) if close != -1 else dest
        return None
    bare = _BARE_VIA.match(view, pos)
    if bare and starts_agency(view, bare.end()) and not _CHANNEL.match(view, bare.end()):
        end = agency_end(view, text, bare.end(), subject=False)
        end = _include_paren(view, end)
        return (bare.end(), end)
    return None


def _include_paren(view: str, end: int) -> int:
    """ "Sở Nội vụ (Ban Thi đua - Khen thưởng Thành phố)": a sub-unit in brackets."""
    m = re.match(r"\s*\(([^()]{3,80})\)", view[end:])
    if m and starts_agency(view, end + m.start(1)):
        return end + m.end()
    return end


_INTRO = re.compile(
    r"(?:(?:cũng|đã|vừa)\s+)*(?:có\s+(?:văn\s+bản|công\s+văn)(?:\s+số\s+\S+)?\s+)?"
    r"(?:yêu\s+cầu|đề\s+nghị|giao(?:\s+(?:trách\s+nhiệm|nhiệm\s+vụ))?(?:\s+cho)?|chỉ\s+đạo)\s+"
)
_ASKS = re.compile(r"yêu\s+cầu|đề\s+nghị")
# Who is told to have someone else report: "đề nghị Sở Y tế chỉ đạo các bệnh viện báo cáo".
_RELAY = re.compile(r"\s*(?:chỉ\s+đạo|đôn\s+đốc|yêu\s+cầu|hướng\s+dẫn)\s+")
# A leading connective, condition or timing before the subject: "Theo đó,", "Do vậy,",
# "Để …,", "Ngày 05/11/2026,", "Trước ngày 15 hằng tháng,".
_CONNECTIVE = re.compile(
    r"(?:theo\s+đó|do\s+vậy|do\s+đó|vì\s+vậy|về\s+việc\s+này|cụ\s+thể|đồng\s+thời|bên\s+cạnh\s+đó"
    r"|mới\s+đây|ngoài\s+ra|tuy\s+nhiên|trước\s+tình\s+hình\s+(?:trên|đó|này)|để\s[^,;.]{3,150}"
    r"|căn\s+cứ\s[^,;.]{3,150}|theo\s+(?!đó\b)[^,;.]{3,80}"
    r"|ngày\s+\d[^,;.]{0,40}"
    r"|(?:[^,;.:]{0,30}?\s)?(?:trước|chậm\s+nhất|đến)\s+(?:là\s+|vào\s+)?(?:ngày\s+)?\d[^,;]{0,50})"
    r"\s*,\s*"
    r"|(?:về|bước\s+\d+|đối\s+với)\b(?:[^:;.]|\.(?=\S)){0,300}:\s*"
    r"|(?:trả\s+lời|hỏi|đáp)\s*:\s*"
)
_TIMING_ADVERB = re.compile(
    r"(?:(?:trong\s+)?quá\s+trình\s+(?:tổ\s+chức\s+)?thực\s+hiện\s*,?\s*"
    r"|(?:định\s+kỳ|hàng|hằng|mỗi)(?:\s*,|\s+(?:hàng|hằng|mỗi|\d+|sáu|một|cả|tháng|quý|năm|tuần|và|hoặc|đột\s+xuất)\b)*\s*,?\s*)"
)
_OPENERS = re.compile(
    r"(?:trong|trước|chậm\s+nhất|nếu|trường\s+hợp|khi|ngoài|sau\s+khi|kể\s+từ|đối\s+với|trên\s+cơ\s+sở|quá\s+trình)\b"
)


def _submitters(view: str, text: str) -> list[tuple[int, int]]:
    start = _subject_start(view, text)
    if start is None:
        return []
    end = agency_end(view, text, start, subject=True)
    relayed = _relayed(view, text, start, end)
    if relayed:
        return relayed
    delegated = _INTRO.match(view, _skip_space(view, end))
    if delegated and (starts_agency(view, delegated.end()) or _ASKS.search(delegated.group())):
        if not starts_agency(view, delegated.end()) and _ASKS.search(delegated.group()):
            return []  # "UBND tỉnh yêu cầu kiểm điểm …": the requester does not report
        # "Ủy ban nhân dân tỉnh giao Sở Nội vụ …": the one given the task reports.
        start = delegated.end()
        end = agency_end(view, text, start, subject=True)
    if end <= start or not _ends_at_predicate(view, text, _skip_blank(view, end)):
        return []
    return [(p.start, _trim(view, p.start, p.end)) for p in split_list(view, text, start, end)]


def _relayed(view: str, text: str, start: int, end: int) -> list[tuple[int, int]]:
    """ "Đề nghị Sở Y tế chỉ đạo các bệnh viện báo cáo …": both the one asked and the one
    it directs report (the conventions); only after a request, not the issuer's own order."""
    if not _ASKS.search(view, _strip_number(view), start):
        return []
    relay = _RELAY.match(view, end)
    if not (relay and starts_agency(view, relay.end())):
        return []
    second = agency_end(view, text, relay.end(), subject=True)
    if second <= relay.end() or not _ends_at_predicate(view, text, _skip_blank(view, second)):
        return []
    first = [(p.start, _trim(view, p.start, p.end)) for p in split_list(view, text, start, end)]
    return [*first, (relay.end(), _trim(view, relay.end(), second))]


def _skip_blank(view: str, i: int) -> int:
    while i < len(view) and view[i] in " \n":
        i += 1
    return i - 1 if i > 0 and view[i - 1] == " " else i


def _subject_start(view: str, text: str) -> int | None:
    """Where the clause's subject begins: after the numbering, a leading timing or
    condition ("Hằng năm,", "Trong quá trình thực hiện nếu có vướng mắc,") and an
    introducing verb ("Yêu cầu", "Giao", "đề nghị")."""
    pos = _strip_number(view)
    lead = _CONNECTIVE.match(view, pos)
    while lead:
        pos = lead.end()
        lead = _CONNECTIVE.match(view, pos)
    m = _TIMING_ADVERB.match(view, pos)
    if m and m.end() > pos:
        pos = m.end()
    intro = _INTRO.match(view, pos)
    if intro:
        pos = intro.end()
    if starts_agency(view, pos):
        return pos
    if not (m and m.end() > _strip_number(view)) and not _OPENERS.match(view, pos):
        return None
    return _comma_before_agency(view, text, pos)


def _comma_before_agency(view: str, text: str, pos: int) -> int | None:
    for m in re.finditer(r",\s+", view[pos : pos + 300]):
        at = pos + m.end()
        intro = _INTRO.match(view, at)
        if intro:
            at = intro.end()
        if _strong_head(view, text, at) and _ends_at_predicate(
            view, text, _skip_blank(view, agency_end(view, text, at, subject=True))
        ):
            return at
    return None


_WEAK_HEAD = re.compile(
    r"(?:ngành|cấp|đơn\s+vị|tổ\s+chức|cá\s+nhân|địa\s+phương|lĩnh\s+vực|ban|cơ\s+sở)\b"
)


def _strong_head(view: str, text: str, at: int) -> bool:
    """After a comma, "ngành có liên quan" continues an enumeration; a subject there
    is plural ("các cơ quan"), capitalised ("Phòng Nội vụ") or a person's title."""
    if not starts_agency(view, at):
        return False
    return text[at].isupper() or not _WEAK_HEAD.match(view, at)


_CONTENT_STOP = re.compile(
    r"\s(?:trước|chậm\s+nhất|theo|để|khi|hoặc|gửi|cho|định\s+kỳ|đối\s+với|về\s+(?=\S+\s+\S+)"
    r"|qua|thông\s+qua|hằng|hàng|đột\s+xuất|trong\s+thời\s+hạn)\b|[;.(:]"
)
_NOT_CONTENT = re.compile(
    r"(?:trước|chậm|theo|để|khi|hoặc|định\s+kỳ|hằng|hàng|đột\s+xuất|qua|thông\s+qua|kèm|cho|với|tổng\s+hợp|tham\s+mưu|xem\s+xét)\b|\W"
)
_PRODUCE = re.compile(r"\b(?:lập|xây\s+dựng|tổng\s+hợp,?|cung\s+cấp|chuẩn\s+bị|báo\s+cáo)\s+(?=\S)")


def _subject(
    view: str, text: str, action: _Action, dest: tuple[int, int] | None, via: tuple[int, int] | None
) -> Evidence | None:
    """What is reported, short: "báo cáo kết quả thực hiện về Sở X", "báo cáo UBND tỉnh
    (thông qua Sở X) kết quả thực hiện", "lập dự toán kinh phí … gửi Sở X"."""
    starts = [action.verb_end]
    if dest:
        after = max(dest[1], via[1] if via else 0)
        close = view.find(")", after, after + 3)
        starts.append(close + 1 if close != -1 else after)
    for pos in starts:
        found = _content_at(view, text, pos)
        if found:
            return found
    before = [
        m for m in _PRODUCE.finditer(view, max(0, action.verb_start - 200), action.verb_start)
    ]
    if before and not view.startswith("báo", action.verb_start):
        return _content_at(view, text, before[-1].end(), limit=action.verb_start)
    return None


def _content_at(view: str, text: str, pos: int, limit: int | None = None) -> Evidence | None:
    m = re.match(r"\s*(?:về\s+)?", view[pos:])
    start = pos + (m.end() if m else 0)
    if start >= len(view) or starts_agency(view, start) or _NOT_CONTENT.match(view, start):
        return None
    bound = min(len(view), start + 160, limit if limit is not None else len(view))
    stop = _CONTENT_STOP.search(view, start, bound)
    end = _trim(view, start, stop.start() if stop else bound)
    return _ev(text, start, end) if end - start >= 3 else None


# --- step 3: timing --------------------------------------------------------------------------


def _obligations(
    view: str,
    text: str,
    freqs: list[Mention],
    deadlines: list[DeadlineMention],
    parties: _Parties,
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
        ob.confidence = _confidence(ob, words=len(text.split()), several=len(order), stated=stated)
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
    if not periodic and _undated_day_in_schedule(view, deadlines):
        periodic = ["annual"]  # "định kỳ (trước ngày 15 tháng 12)": once a year
    if not periodic and _one_off(view, deadlines):
        # A dated or undated one-off: "trước ngày 25/10", "khẩn trương báo cáo …".
        return ["once", *(f for f in seen if f not in ("on_request", "once"))]
    if not seen and any(d.deadline.kind == "relative" and d.deadline.anchor for d in deadlines):
        return ["event"]
    return periodic + [f for f in seen if f not in PERIODIC]


def _undated_day_in_schedule(view: str, deadlines: list[DeadlineMention]) -> bool:
    return "định kỳ" in view and any(
        d.deadline.kind == "day_of_period" and d.deadline.month and not d.deadline.anchor
        for d in deadlines
    )


def _one_off(view: str, deadlines: list[DeadlineMention]) -> bool:
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
    if frequency_mentions(view):
        return False
    return (not deadlines and bool(once_mentions(view))) or bool(_REQUEST_NOW.search(view))


# A request made now ("Bộ X đề nghị các bộ báo cáo …", "được yêu cầu") with no period is
# a one-off; "theo yêu cầu của X" is on request and "giao" a standing task.
_REQUEST_NOW = re.compile(r"(?<!theo )(?<!có )\b(?:đề\s+nghị|yêu\s+cầu)\b(?!\s+(?:của|tại))")


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


def _pair(
    order: list[str], freqs: list[Mention], deadlines: list[DeadlineMention]
) -> dict[str, DeadlineMention]:
    """Which deadline belongs to which frequency.

    A frequency inside a deadline ("trước ngày 15/12 hằng năm"), in brackets or an
    "đối với báo cáo …" right after it, or just before its bracket ("06 tháng (trước
    ngày 15 tháng 6)") is bound to it; the rest pair up in text order.
    """
    periodic = [f for f in order if f in PERIODIC or f in ("once", "event")]
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
    parties: _Parties,
    freqs: list[Mention],
    freq: str,
    deadline: DeadlineMention | None,
) -> None:
    ev = ob.evidence
    ev["frequency"] = [_ev(text, m.start, m.end) for m in freqs if m.value == freq]
    if deadline:
        ev["deadline"] = [_ev(text, deadline.start, deadline.end)]
    ev["submitters"] = list(parties.submitters)
    for name in ("recipient", "via", "subject"):
        value = getattr(parties, name)
        if value is not None:
            ev[name] = [value]
    if freq == "none":
        ob.flags.append("no_timing")
    if ob.recipient is None:
        ob.flags.append("no_recipient")


def _confidence(ob: Obligation, *, words: int, several: int, stated: bool) -> float:
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
    return round(max(score, 0.1), 2)


def _ev(text: str, start: int, end: int, confidence: float = 1.0) -> Evidence:
    return Evidence(start, end, clean_phrase(strip_markup(text[start:end])), confidence)
