"""Where the phrases of a clause begin and end: agencies in subject and object position,
the subject after its openers, the sentence a report's route stays in.

Everything here works on a clause's folded view (same length as the clause, so every
span is an offset into it) and on the clause itself, whose capitals tell names ("Sở Xây
dựng", "Ban Chỉ đạo") from verbs ("xây dựng", "chỉ đạo").
"""

from __future__ import annotations

import re

from directives.agencies import starts_agency
from directives.parsed import Evidence
from directives.text import clean_phrase, strip_markup

# --- words that end phrases -----------------------------------------------------------------

# ("hàng tháng" is a frequency; "Ngân hàng", "Cục Hàng không", "Cục Hàng hải" are names.)
# After an agency in object position: the purpose, the content or the timing begins.
_OBJECT_STOP = (
    "để|về|trước|chậm nhất|theo|khi|trong(?! nước)|hoặc|đồng thời|đối với|nếu|kết quả"
    "|tình hình|xem xét"
    "|(?<!kế hoạch )tổng hợp|tham mưu|báo cáo|gửi|định kỳ|hằng"
    "|(?<!ngân )(?<!khách )hàng(?! không| hải| hóa| hoá)|(?<!giao )thông báo|(?<!hàng )không"
    "|nguyên nhân|các khoản"
    "|kèm|bằng|qua|thông qua|phê duyệt"
    "|cho ý kiến|biết|chỉ đạo|quyết định|giải quyết|xử lý|đề xuất|bổ sung|sửa đổi|đưa vào|nhằm"
    "|danh sách|số liệu|thông tin|dự toán|quyết toán|tài liệu|hồ sơ|văn bản|kịp thời|ngay|sau"
    "|đúng|đầy đủ|thực hiện|phối hợp|làm cơ sở|tại|vào|từ|là|chậm|(?<!quản lý )trực tiếp|thẩm định"
    "|những(?!\\s+(?:cơ quan|đơn vị|sở|ban|ngành|địa phương))|thứ|đến\\s+(?:ngày|hết|trước)"
    "|\\d+\\s+(?:tháng|ngày|năm|quý)"
    "|một lần|phục vụ|việc|công tác|tiến độ|(?<!cấp )trên|dự thảo"
)
# After an agency in subject position: the predicate begins.
_SUBJECT_STOP = (
    "chủ trì|phối hợp|tổng hợp|báo cáo|gửi|phản ánh|(?<!công )lập"
    "|(?<!đầu tư )(?<!công trình )xây dựng"
    "|thực hiện|có trách nhiệm"
    "|chịu trách nhiệm|phải|kiểm tra|thẩm định|thẩm tra|hoàn thành|phát hiện|cung cấp|theo dõi"
    "|đôn đốc|nghiêm túc|triển khai|tổ chức thực hiện|tổ chức triển khai|rà soát|định kỳ|hằng"
    "|(?<!ngân )hàng(?! không| hải| hóa| hoá)|(?<!công )(?<!chương )(?<!quá )trình"
    "|tham mưu|đề xuất|hướng dẫn"
    "|(?<!ban )chỉ đạo|giám sát|đánh giá|được|sẽ|cần|tiếp tục"
    "|chủ động|tăng cường|bảo đảm|đảm bảo|ban hành|công bố|(?<!giao )thông báo|cập nhật"
    "|tiếp nhận|xử lý"
    "|giải quyết|quyết định|phê duyệt|bố trí|khẩn trương|trước ngày|chậm nhất|nộp|chuẩn bị"
    "|căn cứ|xác nhận|lưu trữ|quản lý và|thống kê|giao(?! thông)|ký|kịp thời|trong thời hạn|là"
    "|yêu cầu|đề nghị|làm đầu mối|làm|có nhiệm vụ|thường xuyên|không|đã|vừa|chưa|nghiên cứu"
    "|hoàn thiện"
    "|đẩy nhanh|khẩn trương|sớm|cung cấp|trực tiếp|tiến hành|chịu|cũng|có văn bản|có ý kiến"
    "|khi|nếu|trong trường hợp"
    "|có báo cáo|có phải"
    "|tổ chức (?:rà soát|kiểm tra|đánh giá|tuyên truyền|sơ kết|tổng kết|điều tra|thống kê"
    "|kê khai|quán triệt|phổ biến|lấy ý kiến|hướng dẫn|thanh tra|giám sát|khảo sát|tập huấn"
    "|họp|hội nghị|trực|theo dõi|thu thập|cập nhật|xây dựng|lập|thực hiện|triển khai)"
)
_OBJ_STOP_RE = re.compile(rf"(?:{_OBJECT_STOP})\b")
_SUBJ_STOP_RE = re.compile(rf"\s(?:{_SUBJECT_STOP})\b|:|;|\.(?=\s|$)")
_PREDICATE_RE = re.compile(rf"\s(?:{_SUBJECT_STOP})\b|:")


def has_verb(folded: str) -> bool:
    """Whether a phrase has a predicate (used to tell a heading from a sentence)."""
    return bool(_PREDICATE_RE.search(folded))


_NUMBERING = re.compile(
    # "Điều 25. Chế độ báo cáo 1. …", "Điều 9. Sở Xây dựng …": an article's number and title
    r"\s*(?:điều\s+\d+[a-zđ]?\s*[.:]\s*(?:[^\d.:;]{3,80}?\s+(?=\d+\s*[.)]\s))?)?"
    r"(?:(?:\d+(?:\.\d+)*\s*[.)]|[a-zđ]\s*[).]|\(\s*(?:\d+|[a-zđ])\s*\)|[-–•+*])\s*){0,2}"
)


def strip_number(view: str) -> int:
    m = _NUMBERING.match(view)
    return m.end() if m else 0


_ACRONYM = re.compile(r"[A-ZĐ]{4,}\b")  # "VNMAC", "BHXH": a destination named by its initials


# Who reports but is never reported to: "số liệu về hộ gia đình … cho UBND phường".
_NEVER_DEST = re.compile(r"(?:các\s+|những\s+)?(?:hộ|người\s+nộp\s+thuế|cá\s+nhân)\b")


def dest_at(view: str, text: str, pos: int) -> tuple[int, int] | None:
    if not starts_agency(view, pos) and not _ACRONYM.match(text, pos):
        return None
    if _NEVER_DEST.match(view, pos):
        return None
    end = agency_end(view, text, pos, subject=False)
    return (pos, end) if end > pos else None


def segment_end(view: str, pos: int) -> int:
    m = re.compile(r"[;]|\.(?=\s|$)").search(view, pos)
    return m.start() if m else len(view)


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
        at = skip_space(view, i)
        if (
            ch in " ,"
            and i > pos
            and _is_stop(_OBJ_STOP_RE, view, text, at)
            and not _name_goes_on(view, text, pos, at)
        ):
            break
        i += 1
    return trim(view, pos, i)


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
        nxt = skip_space(view, at + 4)
        return nxt < len(text) and text[nxt].isupper() and bool(starts_agency(view, nxt))
    if view.startswith("về ", at) and _NAMED_FOR.search(view[start:at].rstrip()):
        return bool(_NAME_TAIL.match(view, at + 3))
    return False


def _subject_end(view: str, text: str, pos: int) -> int:
    """The subject ends at its predicate's verb; "Thủ trưởng …; Chủ tịch …" runs on
    over a semicolon into the next agency, and brackets ("(gọi tắt là …)") are skipped."""
    limit = min(len(view), pos + 300)
    head = starts_agency(view, pos)
    i = head.end() if head else pos  # "Người nộp thuế": no predicate inside the head
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
            if view[i] == ";" and starts_agency(view, skip_space(view, i + 1)):
                i += 1
                continue
            if _names_a_programme(view, text, m):
                i = m.end()
                continue
            duty = _qualified_by_passive(view, m)
            if duty is not None:
                i = duty
                continue
            qualified = _qualified_by_clause(view, text, i)
            if qualified is not None:
                return trim(view, pos, qualified)
            return trim(view, pos, i)
        i += 1
    return trim(view, pos, limit)


# A relative clause that qualifies a subject ("tổ chức kinh tế thực hiện dự án đầu tư báo
# cáo …", "các cơ quan phối hợp báo cáo …", "hộ kinh doanh nộp thuế khoán thực hiện nộp …").
_QUALIFIER = re.compile(
    r"\s(?:thực\s+hiện(?!\s+(?:báo\s+cáo|việc|chế\s+độ|nộp|gửi))|phát\s+hiện|phối\s+hợp(?!\s+với)"
    r"|nộp\s+thuế|chưa|tiếp\s+nhận|tham\s+gia|sử\s+dụng|kinh\s+doanh|sản\s+xuất)\b"
)
_OBLIGED = re.compile(r"\sphải\s+\S+")
_REPORTS_NEXT = re.compile(
    r"\s(?:phải|có\s+trách\s+nhiệm|chịu\s+trách\s+nhiệm|khẩn\s+trương|kịp\s+thời"
    r"|(?:thực\s+hiện\s+)?(?:lập\s+|gửi\s+|nộp\s+)?báo\s+cáo|thực\s+hiện\s+(?:nộp|gửi))\b"
)


def _qualified_by_clause(view: str, text: str, i: int) -> int | None:
    """Where the predicate begins after a qualifying clause at ``i``: the report's verb
    within the same stretch (no comma, "và" or another verb between)."""
    q = _QUALIFIER.match(view, i)
    if not q and view.endswith("thuộc đối tượng", 0, i):
        q = _OBLIGED.match(view, i)  # "cơ sở thuộc đối tượng phải có giấy phép … lập báo cáo"
    if not q:
        return None
    stretch = re.compile(r"[,;.:()]|\svà\s").search(view, q.end())
    limit = min(stretch.start() if stretch else len(view), q.end() + 100)
    r = _REPORTS_NEXT.search(view, q.end(), limit)
    if r is not None and r.start() == q.end() and q.group().strip().startswith(("chưa", "phải")):
        r = _REPORTS_NEXT.search(view, r.end(), limit)  # "chưa gửi báo cáo khẩn trương …"
    if r is None:
        return None
    own_verb = q.group().strip().startswith(("chưa", "phải"))
    if not own_verb and _SUBJ_STOP_RE.search(view, q.end(), r.start()):
        return None  # "chưa hoàn thành chỉ tiêu" qualifies with its own verb
    return r.start()


def _names_a_programme(view: str, text: str, m: re.Match[str]) -> bool:
    """ "các bộ, ngành … thực hiện Chương trình gửi báo cáo": "thực hiện" + a
    capitalised name qualifies the subject; the predicate comes later."""
    if m.group().strip() != "thực hiện":
        return False
    nxt = skip_space(view, m.end())
    return nxt < len(text) and text[nxt].isupper()


# "sở, ban, ngành được giao chủ trì phải …", "cán bộ được phân công theo dõi có trách
# nhiệm …": a passive participle qualifies the subject when a duty word follows it.
_PASSIVE_DUTY = re.compile(
    r"[^;:.()]{2,120}?\s(?=(?:phải|có\s+trách\s+nhiệm|chịu\s+trách\s+nhiệm|có\s+nhiệm\s+vụ)\b)"
)
_REPORT_WORD = re.compile(r"\b(?:báo\s+cáo|gửi)\b")


def _qualified_by_passive(view: str, m: re.Match[str]) -> int | None:
    """Where the subject goes on after "được …" (the duty word), or None."""
    if m.group().strip() != "được":
        return None
    duty = _PASSIVE_DUTY.match(view, m.end())
    if duty is None or _REPORT_WORD.search(duty.group()):
        return None
    return duty.end() - 1


def ends_at_predicate(view: str, text: str, end: int) -> bool:
    """Whether a subject phrase ending at ``end`` is followed by a verb (or an inline
    heading's colon): a list member followed by a comma or full stop is not a subject; a
    condition set off by commas ("UBND cấp xã, khi phát hiện …, phải báo cáo") is passed."""
    cond = _CONDITION.match(view, end)
    if cond:
        end = cond.end()
    return _PREDICATE_RE.match(view, end) is not None and _is_stop(_PREDICATE_RE, view, text, end)


_CONDITION = re.compile(r",\s*(?:khi|nếu|trong\s+trường\s+hợp|trường\s+hợp)\s[^,;.]{3,150},(?=\s)")


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
    return view[i] == ":" and bool(re.search(r"(?:^|\s)các\s+\w+\s*$", view[start:i]))


def _sentence_dot(view: str, i: int) -> bool:
    return i + 1 >= len(view) or view[i + 1] in " \n/"


def skip_space(view: str, i: int) -> int:
    while i < len(view) and view[i] in " ,":
        i += 1
    return i


def trim(view: str, start: int, end: int) -> int:
    while end > start and view[end - 1] in " ,-–\n":
        end -= 1
    for tail in (" và", " hoặc", ","):
        if view[start:end].endswith(tail):
            end -= len(tail)
    while end > start and view[end - 1] in " ,\n":
        end -= 1
    return end


INTRO = re.compile(
    r"(?:(?:cũng|đã|vừa)\s+)*"
    # "vừa ban hành Công văn số 512/UBND-NC ngày 14/8/2025 yêu cầu …"
    r"(?:(?:có|ban\s+hành|gửi|ký)\s+(?:văn\s+bản|công\s+văn|công\s+điện|kế\s+hoạch|chỉ\s+thị"
    r"|thông\s+báo|quyết\s+định)(?:\s+(?:hỏa\s+tốc|hoả\s+tốc|khẩn))?(?:\s+số\s+\S+)?"
    r"(?:\s+ngày\s+\S+)?\s*,?\s+)?"
    r"(?:yêu\s+cầu|đề\s+nghị|giao(?:\s+(?:trách\s+nhiệm|nhiệm\s+vụ))?(?:\s+cho)?|chỉ\s+đạo)\s+"
)
ASKS = re.compile(r"yêu\s+cầu|đề\s+nghị")
# Who is told to have someone else report: "đề nghị Sở Y tế chỉ đạo các bệnh viện báo cáo".
RELAY = re.compile(r"\s*(?:chỉ\s+đạo|đôn\s+đốc|yêu\s+cầu|hướng\s+dẫn)\s+")
# A leading connective, condition or timing before the subject: "Theo đó,", "Do vậy,",
# "Để …,", "Ngày 05/11/2026,", "Trước ngày 15 hằng tháng,".
_CONNECTIVE = re.compile(
    r"(?:theo\s+đó|do\s+vậy|do\s+đó|vì\s+vậy|về\s+việc\s+này|cụ\s+thể|đồng\s+thời|bên\s+cạnh\s+đó"
    r"|mới\s+đây|ngoài\s+ra|(?:cũng\s+)?tại\s+(?:văn\s+bản|công\s+văn|kế\s+hoạch|chỉ\s+thị"
    r"|thông\s+báo|hội\s+nghị|cuộc\s+họp)[^,;.]{0,60}|tuy\s+nhiên|trước\s+tình\s+hình\s+(?:trên|đó|này)|để\s[^,;.]{3,150}"
    r"|căn\s+cứ\s[^,;.]{3,150}|theo\s+(?!đó\b)[^,;.]{3,80}|thay\s+vì\s[^,;.:]{3,100}"
    r"|ngày\s+\d[^,;.]{0,40}"
    r"|(?:[^,;.:]{0,30}?\s)?(?:trước|chậm\s+nhất|đến)\s+(?:là\s+|vào\s+)?(?:ngày\s+)?\d[^,;]{0,50})"
    r"\s*,\s*"
    r"|(?:về|bước\s+\d+|đối\s+với|thay\s+vì)\b(?:[^:;.]|\.(?=\S)){0,300}:\s*"
    r"|(?:trả\s+lời|hỏi|đáp)\s*:\s*"
)
_TIMING_ADVERB = re.compile(
    r"(?:(?:trong\s+)?quá\s+trình\s+(?:tổ\s+chức\s+)?thực\s+hiện\s*,?\s*"
    r"|(?:định\s+kỳ|hàng|hằng|mỗi)(?:\s*,|\s+(?:hàng|hằng|mỗi|\d+|sáu|một|cả|tháng|quý|năm|tuần|và|hoặc|đột\s+xuất)\b"
    # "Định kỳ vào thứ Năm hằng tuần doanh nghiệp …", "Định kỳ trước ngày 05 hằng tháng …"
    r"|\s+(?:vào\s+|trước\s+)?(?:ngày\s+\d{1,2}\b|thứ\s+(?:hai|ba|tư|năm|sáu|bảy|\d)\b))*\s*,?\s*)"
)
_OPENERS = re.compile(
    r"(?:trong|trước|chậm\s+nhất|nếu|trường\s+hợp|khi|ngoài|sau|kể\s+từ|đối\s+với|trên\s+cơ\s+sở|quá\s+trình"
    r"|kết\s+thúc|hết|cuối|từ|riêng|thực\s+hiện|xét|căn\s+cứ)\b"
)


def skip_blank(view: str, i: int) -> int:
    while i < len(view) and view[i] in " \n":
        i += 1
    return i - 1 if i > 0 and view[i - 1] == " " else i


def subject_start(view: str, text: str) -> int | None:
    """Where the clause's subject begins: after the numbering, a leading timing or
    condition ("Hằng năm,", "Trong quá trình thực hiện nếu có vướng mắc,") and an
    introducing verb ("Yêu cầu", "Giao", "đề nghị")."""
    pos = strip_number(view)
    asked = view.rfind("?")
    answer = view[asked + 1 :]
    if asked != -1 and answer.strip():  # "Hỏi: … không? Trả lời: …": the answer says who
        pos = len(view) - len(answer.lstrip())
    heading = _HEADING.match(view, pos)
    if heading and not starts_agency(view, pos) and starts_agency(view, heading.end()):
        pos = heading.end()  # "Chế độ thông tin, báo cáo: Các sở, ban, ngành …"
    purpose = False
    lead = _CONNECTIVE.match(view, pos)
    while lead:
        purpose = purpose or view.startswith("để", pos)
        pos = lead.end()
        lead = _CONNECTIVE.match(view, pos)
    m = _TIMING_ADVERB.match(view, pos)
    if m and m.end() > pos:
        pos = m.end()
    intro = INTRO.match(view, pos)
    if intro:
        pos = intro.end()
    if starts_agency(view, pos):
        return pos
    if not (m and m.end() > strip_number(view)) and not _OPENERS.match(view, pos) and not purpose:
        return None  # "Để …, báo cáo Chính phủ, Bộ Y tế đề nghị …": the purpose ran on
    return _comma_before_agency(view, text, pos)


_HEADING = re.compile(r"[^:;.\n]{3,60}:\s*")


def _comma_before_agency(view: str, text: str, pos: int) -> int | None:
    for m in re.finditer(r",\s+", view[pos : pos + 300]):
        at = pos + m.end()
        timing = _TIMING_ADVERB.match(view, at)  # ", định kỳ hằng tháng các đơn vị …"
        if timing and timing.end() > at and starts_agency(view, timing.end()):
            at = timing.end()
        intro = INTRO.match(view, at)
        if intro:
            at = intro.end()
        if _strong_head(view, text, at) and ends_at_predicate(
            view, text, skip_blank(view, agency_end(view, text, at, subject=True))
        ):
            return at
    return None


_WEAK_HEAD = re.compile(
    r"(?:ngành|cấp|đơn\s+vị|tổ\s+chức|cá\s+nhân|địa\s+phương|lĩnh\s+vực|ban|cơ\s+sở)\b"
)


def _strong_head(view: str, text: str, at: int) -> bool:
    """After a comma, "ngành có liên quan" continues an enumeration; a subject there
    is plural ("các cơ quan"), capitalised ("Phòng Nội vụ") or a person's title, or a
    generic one bound by a duty ("Trường hợp …, tổ chức tín dụng phải báo cáo …")."""
    if not starts_agency(view, at):
        return False
    if text[at].isupper() or not _WEAK_HEAD.match(view, at):
        return True
    end = agency_end(view, text, at, subject=True)
    return bool(_DUTY_AFTER.match(view, end))


_DUTY_AFTER = re.compile(
    r"\s*(?:phải|có\s+trách\s+nhiệm|chịu\s+trách\s+nhiệm|báo\s+cáo|gửi|nộp|thông\s+báo"
    r"|khai\s+báo|cung\s+cấp)\b"
)


# A further hop after the first destination: "gửi Sở X để tổng hợp, báo cáo UBND tỉnh",
# "phản ánh về Sở X để báo cáo UBND tỉnh", "gửi Sở X tổng hợp và báo cáo UBND tỉnh".
HOP = re.compile(
    r"\b(?:để\s+(?:tổng\s+hợp\s*,?\s*(?:và\s+)?)?|tổng\s+hợp\s*,?\s*(?:và\s+)?)"
    r"(?:báo\s+cáo|trình|gửi)\s+(?:cho\s+|về\s+|lên\s+|đến\s+)?(?=\S)"
)


def evidence(text: str, start: int, end: int, confidence: float = 1.0) -> Evidence:
    return Evidence(start, end, clean_phrase(strip_markup(text[start:end])), confidence)
