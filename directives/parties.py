"""Step 2 of the clause grammar: who reports, to whom, through whom, and what.

The submitters are the clause's grammatical subject when it is an agency phrase (after
its openers and whoever asks: "UBND tỉnh yêu cầu các sở …" → các sở); the recipient
and the via follow the corpus conventions mechanically: the body that compiles is the
via, the last addressee the recipient; "(thông qua X)" and "qua X" name the via; advice
to the next body is no hop; a channel is never a via.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from directives.actions import Action
from directives.agencies import split_list, starts_agency
from directives.parsed import Evidence
from directives.phrases import (
    ASKS,
    HOP,
    INTRO,
    RELAY,
    agency_end,
    dest_at,
    ends_at_predicate,
    evidence,
    segment_end,
    skip_blank,
    skip_space,
    strip_number,
    subject_start,
    trim,
)


@dataclass(slots=True)
class Parties:
    submitters: list[Evidence]
    recipient: Evidence | None
    via: Evidence | None
    subject: Evidence | None


# --- step 2: parties -------------------------------------------------------------------------

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


def read_parties(view: str, text: str, actions: list[Action]) -> Parties:
    submitters = [evidence(text, s, e) for s, e in _local_submitters(view, text, actions[0])]
    first = next((a for a in actions if a.dest), None)
    via: tuple[int, int] | None
    compiled = _compiled_route(view, text, actions[0].verb_end)
    if compiled and (first is None or first.dest is None or compiled[0][0] < first.dest[0]):
        via, recipient = compiled  # "báo cáo kết quả để Sở X tổng hợp, báo cáo UBND tỉnh"
    elif first is not None and first.dest is not None:
        recipient, via = _route(view, text, first.dest)
    else:
        return Parties(submitters, None, None, _subject(view, text, actions[0], None, None))
    subject = _subject(view, text, first or actions[0], recipient, via)
    rec_ev = evidence(text, *recipient)
    return Parties(submitters, rec_ev, evidence(text, *via) if via else None, subject)


def _route(
    view: str, text: str, dest: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """(recipient, via) of a report first sent to ``dest``, by the mechanical rule of
    the conventions: the body that compiles is the via, the last addressee the
    recipient; "(thông qua X)" and "qua X" name the via; a bracketed unit of the
    recipient ("Sở Nội vụ (Ban Thi đua - Khen thưởng)") is the via."""
    after = dest[1]
    near = _paren_or_bare_via(view, text, after)
    stop = min(segment_end(view, after), after + 240)
    hops: list[tuple[int, int]] = []
    cursor = after
    for m in HOP.finditer(view, after, stop):
        if m.start() < cursor or _NO_HOP.search(view, cursor, m.start()):
            if m.start() >= cursor:
                break
            continue
        final = dest_at(view, text, m.end())
        if final is None:
            continue
        hops.append(final)
        cursor = final[1]
    if not hops:
        chained = _next_link(view, text, dest)
        if chained and not near:
            return chained, dest
        return dest, near or _late_via(view, text, after)
    compiler = dest
    if near and view[after : near[0]].strip().startswith("(") and not _explicit_via(view, after):
        close = view.find(")", near[1])
        compiler = (dest[0], close + 1 if close != -1 else near[1])
    return hops[-1], compiler


_LINK = re.compile(r";\s*")
_LINK_VERB = re.compile(
    r"\s*(?:tổng\s+hợp\s*,?\s*(?:và\s+)?)(?:báo\s+cáo|gửi)\s+(?:về\s+|cho\s+|lên\s+)?"
)


def _next_link(view: str, text: str, dest: tuple[int, int]) -> tuple[int, int] | None:
    """ "Các trường báo cáo UBND cấp xã …; UBND cấp xã tổng hợp, báo cáo Sở Giáo dục …": the
    next link of the chain names the first addressee and its own addressee (the last
    addressee is the recipient, the compiler the via)."""
    name = view[dest[0] : dest[1]]
    sep = _LINK.search(view, dest[1])
    if sep is None or not view.startswith(name, sep.end()):
        return None
    verb = _LINK_VERB.match(view, sep.end() + len(name))
    return dest_at(view, text, verb.end()) if verb else None


_LATE_VIA = re.compile(r"\(\s*(?:thông\s+qua|qua)\s+")


def _late_via(view: str, text: str, pos: int) -> tuple[int, int] | None:
    """ "báo cáo UBND tỉnh xem xét, chỉ đạo giải quyết (qua Sở Công Thương)": the via in
    brackets at the end of the sentence."""
    m = _LATE_VIA.search(view, pos, segment_end(view, pos))
    if not m or _CHANNEL.match(view, m.end()):
        return None
    dest = dest_at(view, text, m.end())
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
    stop = min(segment_end(view, pos), pos + 240)
    for m in _COMPILER.finditer(view, pos, stop):
        compiler = dest_at(view, text, m.end())
        if compiler is None:
            continue
        hop = HOP.match(view, skip_space(view, compiler[1]))
        final = dest_at(view, text, hop.end()) if hop else None
        if final:
            return compiler, final
    return None


def _paren_or_bare_via(view: str, text: str, pos: int) -> tuple[int, int] | None:
    paren = _PAREN_VIA.match(view, pos)
    if paren and view[pos:].lstrip().startswith("(") and not _APPOSITION.match(view, paren.end()):
        dest = dest_at(view, text, paren.end())
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


# "Công an Thành phố (cơ quan Thường trực Tổ công tác …)": what the body is, not a unit of it.
_APPOSITION = re.compile(
    r"(?:là\s+)?(?:cơ\s+quan|đơn\s+vị)\s+(?:thường\s+trực|chủ\s+trì|đầu\s+mối|giúp\s+việc|tham\s+mưu)"
    r"|thường\s+trực\b|gọi\s+tắt|viết\s+tắt|sau\s+đây"
)


def _include_paren(view: str, end: int) -> int:
    """ "Sở Nội vụ (Ban Thi đua - Khen thưởng Thành phố)": a sub-unit in brackets."""
    m = re.match(r"\s*\(([^()]{3,80})\)", view[end:])
    if (
        m
        and starts_agency(view, end + m.start(1))
        and not _APPOSITION.match(view, end + m.start(1))
    ):
        return end + m.end()
    return end


_PART = re.compile(r"(?:;|\.(?=\s))\s+")


def _local_submitters(view: str, text: str, action: Action) -> list[tuple[int, int]]:
    """Who reports is said in the report's own part of the clause when that part has a
    subject of its own ("Sở X chủ trì …; Chi cục Y tổng hợp, báo cáo UBND tỉnh", "… tổ
    chức quán triệt. Trong quá trình thực hiện, các đơn vị kịp thời báo cáo …"); else in
    the clause's ("Thủ trưởng các sở; Chủ tịch UBND các huyện báo cáo …" is one list)."""
    whole = _submitters(view, text)
    part = max((m.end() for m in _PART.finditer(view, 0, action.verb_start)), default=0)
    if not part or (whole and whole[-1][1] > part):
        return whole
    local = _submitters(" " * part + view[part:], text)
    return local or whole


def _submitters(view: str, text: str) -> list[tuple[int, int]]:
    start = subject_start(view, text)
    if start is None:
        return []
    end = agency_end(view, text, start, subject=True)
    relayed = _relayed(view, text, start, end)
    if relayed:
        return relayed
    delegated = INTRO.match(view, skip_space(view, end))
    if delegated and (starts_agency(view, delegated.end()) or ASKS.search(delegated.group())):
        if not starts_agency(view, delegated.end()) and ASKS.search(delegated.group()):
            return []  # "UBND tỉnh yêu cầu kiểm điểm …": the requester does not report
        # "Ủy ban nhân dân tỉnh giao Sở Nội vụ …": the one given the task reports.
        start = delegated.end()
        end = agency_end(view, text, start, subject=True)
        relayed = _relayed(view, text, start, end)  # "… vừa có văn bản đề nghị A chỉ đạo B …"
        if relayed:
            return relayed
    if end <= start or not ends_at_predicate(view, text, skip_blank(view, end)):
        return []
    return [(p.start, trim(view, p.start, p.end)) for p in split_list(view, text, start, end)]


_OWN_RELAY = re.compile(r"\s*(?:chỉ\s+đạo|đôn\s+đốc)\s+")


def _relayed(view: str, text: str, start: int, end: int) -> list[tuple[int, int]]:
    """ "Đề nghị Sở Y tế chỉ đạo các bệnh viện báo cáo …": both the one asked and the one
    it directs report (the conventions), and so do a subject and those it is to direct
    ("UBND các xã chỉ đạo các thôn … báo cáo"); "hướng dẫn"/"yêu cầu" relay only after a
    request."""
    relay = RELAY.match(view, end)
    if relay and not ASKS.search(view, strip_number(view), start):
        relay = _OWN_RELAY.match(view, end)  # "UBND các xã chỉ đạo các thôn báo cáo …"
    if not (relay and starts_agency(view, relay.end())):
        return []
    second = agency_end(view, text, relay.end(), subject=True)
    if second <= relay.end() or not ends_at_predicate(view, text, skip_blank(view, second)):
        return []
    first = [(p.start, trim(view, p.start, p.end)) for p in split_list(view, text, start, end)]
    return [*first, (relay.end(), trim(view, relay.end(), second))]


_CONTENT_STOP = re.compile(
    r"\s(?:trước|chậm\s+nhất|theo|để|khi|hoặc|gửi|cho|định\s+kỳ|đối\s+với|về\s+(?=\S+\s+\S+)"
    r"|qua|thông\s+qua|hằng|hàng|đột\s+xuất|trong\s+thời\s+hạn)\b|[;.(:]"
)
_NOT_CONTENT = re.compile(
    r"(?:trước|chậm|theo|để|khi|hoặc|định\s+kỳ|hằng|hàng|đột\s+xuất|qua|thông\s+qua|kèm|cho|với|tổng\s+hợp|tham\s+mưu|xem\s+xét)\b|\W"
)
_PRODUCE = re.compile(r"\b(?:lập|xây\s+dựng|tổng\s+hợp,?|cung\s+cấp|chuẩn\s+bị|báo\s+cáo)\s+(?=\S)")


def _subject(
    view: str, text: str, action: Action, dest: tuple[int, int] | None, via: tuple[int, int] | None
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
    end = trim(view, start, stop.start() if stop else bound)
    return evidence(text, start, end) if end - start >= 3 else None
