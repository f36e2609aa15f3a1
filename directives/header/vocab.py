"""Vocabulary, bounds and regexes of the header grammar."""

from __future__ import annotations

import re

HEAD_CHARS = 8000  # the title block always sits on the first page
CLOSING_BEFORE = 1500  # a VBHN prints its issuer, number and date above its signature
CLOSING_CHARS = 6000  # Nơi nhận + signing block, read from the first closing marker
_MAX_LIST_LINES = 80
_MAX_SIGNATURE_LINES = 16
_ATTACHED_LOOKAHEAD = 3000  # how far after a signature an attached regulation may start

Span = tuple[int, int]


def _bar(words: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in words.split("|"))


# Type codes of a document symbol (Phụ lục III of Nghị định 30/2020/NĐ-CP), upper-cased.
_TYPE_CODES: dict[str, str] = {
    "NQ": "nghị quyết",
    "NQLT": "nghị quyết liên tịch",
    "QĐ": "quyết định",
    "CT": "chỉ thị",
    "QC": "quy chế",
    "QYĐ": "quy định",
    "TB": "thông báo",
    "HD": "hướng dẫn",
    "CTR": "chương trình",
    "KH": "kế hoạch",
    "PA": "phương án",
    "ĐA": "đề án",
    "DA": "dự án",
    "BC": "báo cáo",
    "BB": "biên bản",
    "TTR": "tờ trình",
    "HĐ": "hợp đồng",
    "CĐ": "công điện",
    "BGN": "bản ghi nhớ",
    "BTT": "bản thỏa thuận",
    "GUQ": "giấy ủy quyền",
    "GM": "giấy mời",
    "GGT": "giấy giới thiệu",
    "GNP": "giấy nghỉ phép",
    "PG": "phiếu gửi",
    "PC": "phiếu chuyển",
    "PB": "phiếu báo",
    "TT": "thông tư",
    "TTLT": "thông tư liên tịch",
    "NĐ": "nghị định",
    "VBHN": "văn bản hợp nhất",
    "KL": "kết luận",
}

# A title line is one of these words alone on its line, in capitals (compared folded).
_TITLE_TYPES = frozenset(
    _bar(
        "quyết định|nghị định|nghị quyết|nghị quyết liên tịch|thông tư|thông tư liên tịch"
        "|chỉ thị|kế hoạch|công điện|thông báo|hướng dẫn|báo cáo|tờ trình|quy chế"
        "|quy định|quy trình|luật|pháp lệnh|lệnh|đề án|phương án|chương trình"
        "|văn bản hợp nhất|kết luận|biên bản|giấy mời|công văn"
    )
)

# Kinds of document a text cites, folded; longest first so the alternation prefers them.
_CITED_KINDS = _bar(
    "thông tư liên tịch|nghị quyết liên tịch|văn bản hợp nhất|công điện|công văn|văn bản"
    "|nghị quyết|nghị định|quyết định|thông tư|chỉ thị|kế hoạch|báo cáo|thông báo"
    "|hướng dẫn|tờ trình|pháp lệnh|luật|kết luận|chương trình|đề án|quy chế|quy định"
)

# Posts a signing block ends with (the signer's own post), longest first.
_ROLES = tuple(
    sorted(
        _bar(
            "CHỦ TỊCH|PHÓ CHỦ TỊCH|THỦ TƯỚNG|PHÓ THỦ TƯỚNG|BỘ TRƯỞNG|THỨ TRƯỞNG|GIÁM ĐỐC"
            "|PHÓ GIÁM ĐỐC|TỔNG GIÁM ĐỐC|PHÓ TỔNG GIÁM ĐỐC|CHÁNH VĂN PHÒNG"
            "|PHÓ CHÁNH VĂN PHÒNG|CỤC TRƯỞNG|PHÓ CỤC TRƯỞNG|TỔNG CỤC TRƯỞNG"
            "|PHÓ TỔNG CỤC TRƯỞNG|VỤ TRƯỞNG|PHÓ VỤ TRƯỞNG|TRƯỞNG BAN|PHÓ TRƯỞNG BAN"
            "|TRƯỞNG PHÒNG|PHÓ TRƯỞNG PHÒNG|CHỦ NHIỆM|PHÓ CHỦ NHIỆM|BÍ THƯ|PHÓ BÍ THƯ"
            "|CHÁNH THANH TRA|PHÓ CHÁNH THANH TRA|TỔNG THANH TRA|THỐNG ĐỐC|PHÓ THỐNG ĐỐC"
            "|TỔNG KIỂM TOÁN|VIỆN TRƯỞNG|HIỆU TRƯỞNG|CHÁNH ÁN"
        ),
        key=len,
        reverse=True,
    )
)
# Signing on behalf of: thay mặt, ký thay, thừa lệnh, thừa ủy quyền, quyền.
_AUTHORITIES = ("TM.", "KT.", "TL.", "TUQ.", "Q.")

# The line naming who enacts a decision ('CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH …'), folded.
_ENACTOR_HEADS = (
    "bộ ",  # 'BỘ …' but not 'BỘ' alone
    *_bar(
        "ủy ban|ubnd|hội đồng|chủ tịch|chính phủ|thủ tướng|bộ trưởng|giám đốc|tổng giám đốc"
        "|cục trưởng|tổng cục trưởng|thống đốc|tổng kiểm toán|tổng thanh tra|chánh án"
        "|viện trưởng|ban chỉ đạo|ban chấp hành"
    ),
)

# Words that open a body in a stacked issuer block ('BỘ X' above 'TỔNG CỤC Y'), folded.
_BODY_HEADS = tuple(
    h + " "
    for h in _bar(
        "ủy ban|ubnd|hội đồng|hđnd|chính phủ|thủ tướng|bộ|sở|cục|tổng cục|vụ|ban|văn phòng"
        "|phòng|trung tâm|viện|kho bạc|ngân hàng|bảo hiểm xã hội|thanh tra|công an|tỉnh ủy"
        "|thành ủy|huyện ủy|đảng ủy|chủ tịch"
    )
)

# Capitals lines above the title that are not the issuer (folded prefixes).
_NOT_ISSUER = _bar(
    "cộng hòa xã hội|độc lập|đảng cộng sản|văn bản quy phạm pháp luật|văn bản khác"
    "|xác thực văn bản|công báo|khẩn|hỏa tốc|thượng khẩn|mật|tối mật|tuyệt mật|dự thảo"
    "|bản sao"
)

# Where the body proper starts: the preamble, the addressees, the first article …
_BODY_MARKERS = _bar(
    "Căn cứ|CĂN CỨ|Kính gửi|KÍNH GỬI|Xét đề nghị|Theo đề nghị|Điều 1|ĐIỀU 1|Chương I"
    "|CHƯƠNG I|Chương 1|Phần I|PHẦN I|Mục I|MỤC I"
)

# ---------------------------------------------------------------------------------------
# Regexes: all linear (no nested unbounded quantifiers over the same characters)
# ---------------------------------------------------------------------------------------

_DAY_MONTH = r"ngày\s+([0-9]{1,2})(?:[/.\-]|\s+tháng\s+)([0-9]{1,2})"
_DATE = "(" + _DAY_MONTH + r"(?:[/.\-]|\s+năm\s+)([0-9]{4}))"
_PLACE_DATE = re.compile(r",[ \t]*" + _DATE)
# A document number: '6966/UBND-KTN', '69  /2024/QĐ-UBND', '06-NQ/TW'.  Hyphens and
# slashes separate word pieces, so a hyphen ending a wrapped line ('364/CĐ-' newline
# 'TTg') can join the next piece.
_NUMBER_BODY = r"[0-9][\w&.]*(?:(?:[ \t]*/[ \t]*|-)[\w&.]+)*"
_NUMBER = re.compile(r"(?<!\w)số[ \t]*:[ \t]*(" + _NUMBER_BODY + ")")
_NUMBER_NO_COLON = re.compile(r"^[ \t]*số[ \t]+(" + _NUMBER_BODY + ")")
_NUMBER_LINE = re.compile(r"số[ \t]*:")
_CITED = re.compile(
    r"(?<!\w)(" + "|".join(_CITED_KINDS) + r")\s+(?:số\s*:?\s*)?"
    r"([0-9][\w&.]*(?:(?:[ \t]*/[ \t]*|-[ \t]*\r?\n\s*|-)[\w&.]+)*)"
    r"(?:(?:[ \t]*,)?\s*" + _DATE + ")?"
)
# What opens a closing block: 'Nơi nhận:', an authority line ('KT. CHỦ TỊCH'), a bare
# role line ('BỘ TRƯỞNG'), a VBHN certification.  Read on the lowercased raw text (the
# masked view is only built for windows); case is checked on the text afterwards.
_CLOSING = re.compile(
    r"^[ \t|*_>#]*+(?:(nơi nhận)[ \t*_\r]*(?::|$)"
    r"|((?:tm|kt|tl|tuq|q)\.)[ \t]*[^\W\d_]"
    r"|(" + "|".join(r.lower() for r in _ROLES) + r")[ \t*_|\r]*$"
    r"|(xác thực văn bản hợp nhất))",
    re.M,
)
# After a decision's signature: headings that continue its normative text (the Quy chế /
# Quy định it issues) and headings that open annexes (forms, tables).
_ATTACHED_TEXT = re.compile(
    r"(?:quy chế|quy định|điều lệ|quy trình|hướng dẫn|chương trình|kế hoạch|đề án"
    r"|phương án|chương [ivx0-9]+\b|điều 1\b|mục [i1]\b|phần [i1]\b)"
)
_ANNEX = re.compile(r"^[ \t|*_>#]*+(?:phụ lục|mẫu số|biểu mẫu|biểu số|mẫu)\b[^\n]{0,80}$", re.M)
# Page furniture of Công báo extractions: page numbers, running heads, signature stamps.
_FURNITURE = re.compile(
    r"(?:[0-9]{1,4}|công báo\b.*|người ký:.*|email:.*|cơ quan:.*|thời gian ký:.*"
    r"|văn bản quy phạm pháp luật|văn bản khác)"
)
_BANNER_PREFIX = re.compile(r"văn bản hợp nhất\s*[-–]\s*")  # Công báo section banner
_RULE_TAIL = re.compile(r"[\s\-_=–]*[-_=–]{2,}[\s\-_=–]*$")  # '--------' under a name
_CELL = re.compile(r"\S+(?:[ \t]{1,2}\S+)*")  # words with narrow gaps: one column cell
_BULLET = re.compile(r"^[-–•+]\s*")
_LIST_START = re.compile(r"[\s|*_:]*(?:[-–•+]|như trên|như điều|lưu\b)")
_INLINE_ITEMS = re.compile(r";\s*[-–•+]\s*")  # '- A; - B; - C' in one table cell
_AUTHORITY_AT = re.compile(r"(?:^|\s)(TM|KT|TL|TUQ|Q)\.\s*")
_WORD = re.compile(r"[^\W_]+")
_LINE_BREAK = re.compile(r"\n|<br\s*/?>")  # mask() blanks the same '<br>' forms
