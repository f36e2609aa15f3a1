"""Agency phrases: recognising where one starts and ends, splitting lists, normalising.

Directives name agencies in a small, regular vocabulary: a head noun (Sở, Bộ, UBND,
Phòng, cơ quan, Chủ tịch …) followed by its name, lists joined by commas, "và" and
semicolons, and fixed enumerations that denote a group ("các sở, ban, ngành").
Everything here works on the folded view (``text.fold``) and returns offsets.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Head nouns that open an agency phrase, longest first so "tổng cục" wins over "cục".
_HEADS = (
    "ủy ban nhân dân|ubnd|hội đồng nhân dân|hđnd|thường trực hđnd|thường trực hội đồng nhân dân"
    "|thủ tướng chính phủ|thủ tướng|chính phủ|văn phòng|tổng cục|chi cục|cục|vụ|sở|bộ|phòng"
    "|ban chỉ đạo"
    "|ban quản lý|ban|cơ quan|người đứng đầu|thủ trưởng|chủ tịch|giám đốc|bộ trưởng|hiệu trưởng"
    "|chánh văn phòng|trưởng ban|trưởng phòng|tổng giám đốc|trung tâm|bảo hiểm xã hội|kho bạc"
    "|ngân hàng|thanh tra|tỉnh ủy|thành ủy|huyện ủy|đảng ủy|đơn vị|công an|bộ chỉ huy|trường|viện"
    "|tổ chức|doanh nghiệp|hội đồng|hội|liên đoàn|mặt trận|đoàn|quỹ|đài|bệnh viện|cấp|ngành"
    "|địa phương|cá nhân|cơ sở|tổ công tác|ủy ban|uỷ ban|phòng lđtbxh|lđtbxh|tòa án|viện kiểm sát"
    "|chủ đầu tư|trạm|trưởng đoàn|thường trực|chánh thanh tra|tổng công ty|công ty|hợp tác xã"
    "|tổ hợp tác|thương nhân|ban thường vụ|phó thủ tướng|đồng chí|học viện|đại học|quân khu"
    "|binh chủng|nhà mạng|cán bộ|người sử dụng lao động|lãnh đạo|phó chủ tịch|kiểm toán"
    "|quốc hội"
    # organisations and people that report in sector texts (banking, tax, forestry, trade,
    # construction, villages): "Chi nhánh …", "Tập đoàn …", "Hạt Kiểm lâm …", "Nhà đầu tư"
    "|chi nhánh|tập đoàn|hãng|nhà đầu tư|nhà thầu|nhà cung cấp|nhà xuất bản|nhà trường"
    "|người nộp thuế|người đại diện|hạt|kiểm lâm|hải quan|biên phòng|bộ đội|cảnh sát"
    "|hiệp hội|liên hiệp|liên minh|công đoàn|tỉnh đoàn|điện lực|cảng vụ|cảng hàng không"
    "|chủ cơ sở|chủ hộ|chủ rừng|chủ dự án|chủ phương tiện|chủ sở hữu|chủ tàu|chủ doanh nghiệp"
    "|chủ trang trại|tổ trưởng|tổ dân phố|tổ giúp việc|đội(?! ngũ)|giáo viên|chánh án|viện trưởng"
    "|bí thư|kế toán|phó giám đốc|phó hiệu trưởng|trưởng(?! thành)|khoa|tổ chuyên môn|tổ tự quản"
    "|bộ phận(?! (?:một cửa|hồ sơ))|bến xe|hộ kinh doanh|hộ gia đình|bhxh|nhnn|kbnn|ubmttq|mttq"
    "|tổ bầu cử|ban bầu cử|điều tra viên|đồn|hải đội|thành viên|chi cục hải quan"
)
# Places and institutions that name agencies only in the plural: "các xã", "các huyện".
_PLURAL_ONLY = (
    "xã|phường|huyện|quận|tỉnh|thị xã|thành phố|bệnh viện|trường học|trường|hộ|nhà trường"
    "|chủ đầu tư|thôn|ấp|khu phố|bản|buôn|làng|tổ dân phố|cụm|khối"
)
# Heads that also start ordinary words: "ban hành", "phòng chống", "trường hợp", "bộ máy" …
_NOT_AGENCY = (
    r"ban\s+hành|ban\s+đầu|phòng\s*(?:,\s*)?(?:chống|ngừa|cháy|tránh)|trường\s+hợp|bộ\s+(?:máy|hồ\s+sơ|tiêu\s+chí|chỉ\s+số)|khoa\s+học"
    r"|cấp\s+(?:phát|giấy|kinh\s+phí|bù|thẻ|lại|đổi|mới)|ngành\s+nghề|tổ\s+chức\s+(?:thực\s+hiện|triển\s+khai|kiểm\s+tra|đào\s+tạo|lập|xây\s+dựng|các|việc|hoạt\s+động|đánh\s+giá|rà\s+soát|tuyên\s+truyền|sơ\s+kết|tổng\s+kết|hội|họp|tập\s+huấn|cho)"
    r"|hội\s+nghị|hội\s+thảo|đoàn\s+kiểm\s+tra|quỹ\s+(?:bảo\s+hiểm|lương)|cơ\s+sở\s+(?:dữ\s+liệu|pháp\s+lý|vật\s+chất|tổng\s+hợp|để)|quỹ\s+(?:đất|nhà|thời\s+gian|tiền)|\d{1,3}\s+bản"
    r"|đơn\s+vị\s+tính|vụ\s+việc|cục\s+bộ|sở\s+hữu|đài\s+thọ|bảo\s+hiểm\s+xã\s+hội(?!\s+(?:việt|quân|công|tỉnh|thành|huyện|cấp|các|khu\s+vực|cơ\s+sở))"
)
_PLURAL = r"(?:các|những|toàn\s+bộ|mọi|tất\s+cả\s+các|\d{1,3})\s+"
HEAD_RE = re.compile(
    rf"(?!(?:{_PLURAL})?(?:{_NOT_AGENCY})\b)(?:(?:{_PLURAL})?(?:{_HEADS})|{_PLURAL}(?:{_PLURAL_ONLY}))\b"
)

# Fixed enumerations of the register: read as one phrase, never split.
_FIXED = re.compile(
    r"bộ\s+trưởng,\s+thủ\s+trưởng\s+cơ\s+quan\s+ngang\s+bộ(?:,\s+thủ\s+trưởng\s+cơ\s+quan\s+thuộc\s+chính\s+phủ)?"
    r"|bộ,\s+cơ\s+quan\s+ngang\s+bộ(?:,\s+cơ\s+quan\s+thuộc\s+chính\s+phủ)?"
    r"|tỉnh,\s+thành\s+phố\s+trực\s+thuộc\s+trung\s+ương|sở,\s+ban,\s+ngành|huyện,\s+thị\s+xã,\s+thành\s+phố"
    r"|huyện,\s+thành\s+phố|quận,\s+huyện|xã,\s+phường,\s+thị\s+trấn|cơ\s+quan,\s+đơn\s+vị"
)
_PERSON = re.compile(
    r"(?:chủ\s+tịch|thủ\s+trưởng|giám\s+đốc|hiệu\s+trưởng|bộ\s+trưởng|chánh\s+văn\s+phòng|trưởng\s+ban"
    r"|trưởng\s+phòng|người\s+đứng\s+đầu|tổng\s+giám\s+đốc)\b"
)


_COMMITTEE = re.compile(r"(?:ủy\s+ban\s+nhân\s+dân|ubnd|hội\s+đồng\s+nhân\s+dân|hđnd)\b")


def starts_agency(folded: str, pos: int) -> re.Match[str] | None:
    """The head match if an agency phrase starts at ``pos``."""
    return HEAD_RE.match(folded, pos)


@dataclass(frozen=True, slots=True)
class Piece:
    start: int
    end: int


def split_list(folded: str, original: str, start: int, end: int) -> list[Piece]:
    """Split an agency list into its members.

    Semicolons always separate. A comma or "và" separates when the next member is
    a person title ("Chủ tịch …", "Thủ trưởng …") or a capitalised agency name, or
    (for "và") when the previous member is one; lowercase runs like "các cơ quan,
    đơn vị và địa phương" are one collective phrase.
    """
    protected = [(m.start() + start, m.end() + start) for m in _FIXED.finditer(folded[start:end])]
    collective = bool(re.match(_PLURAL, folded[start:end]))
    cuts: list[tuple[int, int]] = []  # (separator start, next member start)
    for m in re.finditer(r"\s*;\s*|\s*,\s+|\s+và\s+", folded[start:end]):
        s, e = m.start() + start, m.end() + start
        if any(ps <= s < pe for ps, pe in protected):
            continue
        if ";" in m.group() or _separates(
            folded, original, s, e, start, cuts, m.group(), collective
        ):
            cuts.append((s, e))
    pieces, cursor = [], start
    for s, e in cuts:
        pieces.append(Piece(cursor, s))
        cursor = e
    pieces.append(Piece(cursor, end))
    return [p for p in pieces if p.end > p.start]


def _separates(
    folded: str,
    original: str,
    s: int,
    e: int,
    start: int,
    cuts: list[tuple[int, int]],
    sep: str,
    collective: bool,
) -> bool:
    if not starts_agency(folded, e) or folded.startswith("xã hội", e):
        return False
    if _PERSON.match(folded, e):
        return True
    if collective:  # "Các Tổng cục, Cục, Vụ, Thanh tra Bộ" names one collective …
        # … but "các sở, ban, ngành, UBND các xã" goes on to the communes' committees.
        return bool(_COMMITTEE.match(folded, e))
    if _proper(folded, original, e) or re.match(_PLURAL, folded[e:]):
        return True
    prev = cuts[-1][1] if cuts else start
    return "và" in sep and _proper(folded, original, prev)


def _proper(folded: str, original: str, pos: int) -> bool:
    """A capitalised agency name: "Sở Tài chính", "Phòng Nội vụ", "các Sở"."""
    m = re.match(_PLURAL, folded[pos:])
    at = pos + (m.end() if m else 0)
    return at < len(original) and original[at].isupper()


# --- groups and normalisation -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgencyRef:
    """One agency or group named by a directive, normalised for the registry."""

    text: str  # as written
    name: str  # normalised: "UBND" spelled out, Ủy/Uỷ unified, whitespace collapsed
    kind: str  # "agency" | "group" | "person"
    group: str | None = None  # group key for "group": departments, specialised …


_GROUPS: list[tuple[str, re.Pattern[str]]] = [
    ("departments", re.compile(r"\bsở,\s*ban,\s*ngành")),
    # "Các cơ quan chuyên môn thuộc UBND tỉnh" is narrower than "các sở, ban, ngành": the sở
    # and cơ quan ngang sở, Văn phòng UBND tỉnh among them (Nghị định 45/2025/NĐ-CP), not
    # the boards (a Ban quản lý khu kinh tế is a cơ quan trực thuộc, NĐ 35/2022/NĐ-CP Điều
    # 68) nor the sector bodies (Công an tỉnh). Checked after "sở, ban, ngành", which wins
    # when a phrase says both; a lower level's ("thuộc UBND cấp huyện") is not the
    # province's and falls through to the committees' groups.
    (
        "specialised",
        re.compile(
            r"cơ\s+quan\s+chuyên\s+môn\s+thuộc\s+(?:ủy ban nhân dân|ubnd)"
            r"(?!\s+(?:các\s+|cấp\s+)?(?:huyện|quận|thị\s+xã|thành\s+phố|xã|phường))"
        ),
    ),
    (
        "district_committees",
        re.compile(r"(?:ủy ban nhân dân|ubnd)\s+(?:các\s+|cấp\s+)(?:huyện|quận)"),
    ),
    (
        "commune_committees",
        re.compile(r"(?:ủy ban nhân dân|ubnd)\s+(?:các\s+|cấp\s+)(?:xã|phường)"),
    ),
    ("all_levels", re.compile(r"(?:ủy ban nhân dân|ubnd)\s+các\s+cấp|các\s+cấp,\s+các\s+ngành")),
    ("units", re.compile(r"^(?:các|những)\s+(?:cơ\s+quan|đơn\s+vị|tổ\s+chức)")),
]


def normalise(phrase: str) -> str:
    """The canonical spelling of an agency phrase (for matching, not for display)."""
    t = unicodedata.normalize("NFC", " ".join(phrase.split())).strip(" ,;:.")
    t = re.sub(r"(?i)\bu[ỷỷ]\s*ban\s+nhân\s+dân\b|\bUBND\b", "Ủy ban nhân dân", t)
    t = re.sub(r"(?i)\bh[ằà]ng\b", "hằng", t)
    t = re.sub(r"(?i)\bHĐND\b", "Hội đồng nhân dân", t)
    return t.replace("Uỷ", "Ủy").replace("uỷ", "ủy").replace("–", "-")


def describe(phrase: str) -> list[AgencyRef]:
    """Agencies and groups a phrase names: "các Sở: Kế hoạch và Đầu tư, Tài chính" →
    Sở Kế hoạch và Đầu tư, Sở Tài chính; "các sở, ban, ngành" → the departments group."""
    from directives.text import fold  # local: text imports nothing from here, keep it so

    clean = normalise(phrase)
    distributive = _distribute(clean)
    if distributive:
        return [AgencyRef(phrase, n, "agency") for n in distributive]
    folded = fold(clean)
    for key, rx in _GROUPS:
        if rx.search(folded):
            return [AgencyRef(phrase, clean, "group", key)]
    kind = "person" if _PERSON.match(folded) else "agency"
    return [AgencyRef(phrase, clean, kind)]


_DISTRIBUTIVE = re.compile(r"^(?:các|những)\s+(Sở|Bộ|Phòng|Ban|Cục)\s*:\s*(.+)$", re.I)


def _distribute(clean: str) -> list[str] | None:
    m = _DISTRIBUTIVE.match(clean)
    if not m:
        return None
    head = m.group(1).capitalize()
    names: list[str] = []
    for name in (n.strip() for n in m.group(2).split(",")):
        # The one department name with a comma of its own: Văn hóa, Thể thao và Du lịch.
        if names and names[-1] == "Văn hóa" and name.startswith("Thể thao"):
            names[-1] = f"Văn hóa, {name}"
        elif name:
            names.append(name)
    return [f"{head} {n}" for n in names]
