"""The legacy Vietnamese 8-bit encodings TCVN3 (ABC) and VNI-Windows, to Unicode.

Before Unicode, Vietnamese documents were typed with font-based encodings: the file
holds ordinary 8-bit bytes and only the font (.VnTime for TCVN3, VNI-Times for VNI)
draws them as Vietnamese letters. Old archive .txt files, and the text layer of PDFs
printed from such documents, therefore read as mojibake in any standard code page:
"ñy ban nh©n d©n" (TCVN3) or "UÛy ban nhaân daân" (VNI) for "Ủy ban nhân dân".

* TCVN3 (TCVN 5712:1993 "VN3") gives one byte to each lowercase Vietnamese letter
  and to the seven capitals Ă Â Đ Ê Ô Ơ Ư only. Capitals with a tone mark share the
  lowercase byte (the uppercase font .VnTimeH draws them as capitals), so decoding
  yields "ủy ban"; ``convert`` restores such capitals from context (sentence starts,
  all-caps lines and words).
* VNI writes a base Latin letter followed by one diacritic byte ("a" + "ù" = "á",
  "a" + "á" = "ấ"); i-with-tone, "ỵ", "đ", "ơ" and "ư" are single bytes.

Tables: cross-checked between UniKey's converter (xmirror/unikey, src/vnconv/data.cpp:
``SingleByteTables`` TCVN3 and ``DoubleByteTables`` VNIWIN), xvnkb (lamdao/xvnkb,
vni.h), backupvietsoft/HRM (ConvertVNI/XtraForm1.cs: TCVN3) and duydev/vietnamese-conversion
(src/charsets.ts: VNI and TCVN3), and the XFree86 TCVN-5712 table for the lowercase
positions. Bytes the tables leave free keep their Windows-1252 meaning, as UniKey does
(curly quotes and dashes at 0x91-0x97 are common in these files).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Legacy = Literal["tcvn3", "vni"]
NAMES: dict[str, str] = {"tcvn3": "TCVN3 (ABC)", "vni": "VNI-Windows"}

# Tone marks in the order the tables below list them: sắc, huyền, hỏi, ngã, nặng.
_TONES = ("\u0301", "\u0300", "\u0309", "\u0303", "\u0323")


def _toned(base: str) -> list[str]:
    """``base`` followed by its five toned forms, NFC."""
    return [base] + [unicodedata.normalize("NFC", base + tone) for tone in _TONES]


def _bytes(spec: str) -> list[str]:
    """'b8 b5' -> ['\\xb8', '\\xb5']: a table row as latin-1 characters (one per byte)."""
    return [chr(int(code, 16)) for code in spec.split()]


# --- TCVN3 -----------------------------------------------------------------------
# Each vowel: the bytes of base, sắc, huyền, hỏi, ngã, nặng (lowercase only).
_TCVN3_VOWELS = {
    "a": "61 b8 b5 b6 b7 b9",
    "ă": "a8 be bb bc bd c6",
    "â": "a9 ca c7 c8 c9 cb",
    "e": "65 d0 cc ce cf d1",
    "ê": "aa d5 d2 d3 d4 d6",
    "i": "69 dd d7 d8 dc de",
    "o": "6f e3 df e1 e2 e4",
    "ô": "ab e8 e5 e6 e7 e9",
    "ơ": "ac ed ea eb ec ee",
    "u": "75 f3 ef f1 f2 f4",
    "ư": "ad f8 f5 f6 f7 f9",
    "y": "79 fd fa fb fc fe",
}
_TCVN3_OTHERS = {
    "đ": "ae",
    "Ă": "a1",
    "Â": "a2",
    "Ê": "a3",
    "Ô": "a4",
    "Ơ": "a5",
    "Ư": "a6",
    "Đ": "a7",
}


def _tcvn3_decode_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for base, spec in _TCVN3_VOWELS.items():
        for letter, byte in zip(_toned(base), _bytes(spec), strict=True):
            if byte >= "\x80":
                table[byte] = letter
    for letter, code in _TCVN3_OTHERS.items():
        table[chr(int(code, 16))] = letter
    return table


_TCVN3 = _tcvn3_decode_table()

# --- VNI ---------------------------------------------------------------------------
# Diacritic bytes that follow a base letter, lowercase / uppercase forms: tones (sắc,
# huyền, hỏi, ngã, nặng), then circumflex (â ê ô) and breve (ă) each alone and with
# the five tones. Capitals take the uppercase forms (UniKey), but files typed by hand
# often mix them ("Uûy ban"), so decoding accepts either.
_VNI_TONE = ("f9 f8 fb f5 ef", "d9 d8 db d5 cf")
_VNI_CIRC = ("e2 e1 e0 e5 e3 e4", "c2 c1 c0 c5 c3 c4")
_VNI_BREVE = ("ea e9 e8 fa fc eb", "ca c9 c8 da dc cb")
# Letters that are a single byte: i with its tones, ỵ, đ, and the bases ơ ư.
_VNI_SINGLE_LOWER = {"í": "ed", "ì": "ec", "ỉ": "e6", "ĩ": "f3", "ị": "f2", "ỵ": "ee", "đ": "f1"}
_VNI_SINGLE_LOWER |= {"ơ": "f4", "ư": "f6"}


def _vni_encode_table() -> dict[str, str]:
    """Unicode letter -> its VNI byte sequence (as latin-1 characters)."""
    table: dict[str, str] = {}
    for upper in (False, True):
        table |= _vni_case(str.upper if upper else str.lower, int(upper))
    return table


def _vni_case(case: Callable[[str], str], upper: int) -> dict[str, str]:
    """The VNI sequences of one case (``upper`` 0 or 1 picks the row of mark bytes)."""
    # Capital single bytes sit 0x20 below the small ones, as in Latin-1.
    table = {case(k): chr(int(v, 16) - 0x20 * upper) for k, v in _VNI_SINGLE_LOWER.items()}
    bases = {b: case(b) for b in "aeouy"} | {b: table[case(b)] for b in "ơư"}
    for plain, base_byte in bases.items():
        for letter, mark in zip(_toned(plain)[1:], _bytes(_VNI_TONE[upper]), strict=True):
            table.setdefault(case(letter), base_byte + mark)  # keeps the single-byte ỵ
    hats = ((_VNI_CIRC[upper], "\u0302", "aeo"), (_VNI_BREVE[upper], "\u0306", "a"))
    for marks, hat, vowels in hats:
        for plain in vowels:
            hatted = unicodedata.normalize("NFC", plain + hat)
            for letter, mark in zip(_toned(hatted), _bytes(marks), strict=True):
                table[case(letter)] = case(plain) + mark
    return table


_VNI_ENCODE = _vni_encode_table()


def _vni_decode_table() -> dict[str, str]:
    table = {seq: letter for letter, seq in _VNI_ENCODE.items()}
    # Accept a diacritic byte of the other case after a base letter ("Uûy" as "UÛy").
    for seq, letter in list(table.items()):
        if len(seq) == 2:
            other = seq[0] + chr(ord(seq[1]) ^ 0x20)
            table.setdefault(other, letter)
    return table


_VNI = _vni_decode_table()
_VNI_PAIR = re.compile("|".join(re.escape(k) for k in _VNI if len(k) == 2))
# A base letter and any mark byte, or a single-byte letter: one character class per
# position keeps the regex fast; pairs the table lacks are mended in _vni_letter.
_VNI_BASES = "".join(sorted({k[0] for k in _VNI if len(k) == 2}))
_VNI_MARKS = "".join(sorted({k[1] for k in _VNI if len(k) == 2}))
_VNI_SINGLES = "".join(sorted(k for k in _VNI if len(k) == 1))
_VNI_ANY = re.compile(f"[{_VNI_BASES}][{_VNI_MARKS}]|[{_VNI_SINGLES}]")


def _vni_letter(match: re.Match[str]) -> str:
    seq = match.group()
    if seq in _VNI:
        return _VNI[seq]
    return _VNI.get(seq[0], seq[0]) + seq[1]  # "ôâ": ơ then a stray mark


# --- 8-bit view --------------------------------------------------------------------
# Text that reached us already decoded (a UTF-8 file re-saved from mojibake, a PDF text
# layer, a DOCX in a .VnTime font) is mapped back to the bytes the font saw.
_CP1252_BACK = {
    ch: chr(b)
    for b in range(0x80, 0xA0)
    if (ch := bytes([b]).decode("cp1252", errors="replace")) != "\ufffd"
}
_TO_VIEW = str.maketrans(_CP1252_BACK)
# A byte the legacy table leaves free keeps its Windows-1252 meaning.
_WEST = {ord(back): ch for ch, back in _CP1252_BACK.items()}


def _view(data: bytes | str) -> str:
    """The data as one character per byte (latin-1), whatever form it came in."""
    if isinstance(data, bytes):
        return data.decode("latin-1")
    return data.translate(_TO_VIEW)


# --- conversion --------------------------------------------------------------------


def convert(data: bytes | str, encoding: str, *, restore_case: bool = True) -> str:
    """Legacy ``data`` (raw bytes, or text holding the bytes as characters) to NFC text.

    ``restore_case`` (TCVN3 only) puts back the capitals with tone marks that TCVN3
    cannot store; turn it off to get the bytes' literal meaning.
    """
    view = _view(data)
    if encoding == "tcvn3":
        text = view.translate(_TCVN3_DECODE)
        if restore_case:
            text = _restore_capitals(text)
    elif encoding == "vni":
        text = _VNI_ANY.sub(_vni_letter, view).translate(_WEST)
    else:
        raise ValueError(f"unknown legacy encoding {encoding!r}: use 'tcvn3' or 'vni'")
    return unicodedata.normalize("NFC", text)


def encode_legacy(text: str, encoding: str) -> bytes:
    """Unicode text to legacy bytes (the inverse of ``convert``, used to build tests).

    TCVN3 stores capitals with a tone mark as the lowercase letter, as UniKey does.
    Characters the encoding has no byte for raise ``ValueError``.
    """
    if encoding not in NAMES:
        raise ValueError(f"unknown legacy encoding {encoding!r}: use 'tcvn3' or 'vni'")
    table = _TCVN3_ENCODE if encoding == "tcvn3" else _VNI_ENCODE
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        seq = table.get(ch) or (table.get(ch.lower()) if encoding == "tcvn3" else None)
        out.append(seq or _CP1252_BACK.get(ch, ch))
    joined = "".join(out)
    try:
        return joined.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{NAMES[encoding]} cannot represent {joined[exc.start]!r}") from exc


_TCVN3_ENCODE = {letter: byte for byte, letter in _TCVN3.items()}
_TCVN3_DECODE = _WEST | {ord(byte): letter for byte, letter in _TCVN3.items()}

# --- TCVN3 capitals ----------------------------------------------------------------
# Lowercase letters whose capital TCVN3 cannot store: the toned vowels.
_CASELESS = frozenset(
    letter
    for letter in _TCVN3.values()
    if letter.islower() and letter.upper() not in _TCVN3.values()
)
_CASELESS_RE = re.compile(f"[{''.join(sorted(_CASELESS))}]")
_STARTS_CASELESS = re.compile(rf"[\W\d_]*{_CASELESS_RE.pattern}")
_TOKEN_OR_SPACE = re.compile(r"(\s+)")
_SUBWORD = re.compile(r"[^\W\d_]+")
_CODE = re.compile(r"[\d/]")
_PEOPLES_COMMITTEE = re.compile(r"\b(?:ủy|uỷ) ban nhân dân\b")
_LEAD = " \t-–+•*\"“'([«"


def _restore_capitals(text: str) -> str:
    """Capitalise the caseless letters of all-caps lines and words and of sentence starts."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _CASELESS_RE.search(line):
            lines[i] = _restore_line(line, lines[i - 1] if i else None)
    # The name of the people's committees is written with a capital wherever it stands.
    return _PEOPLES_COMMITTEE.sub(lambda m: m.group()[0].upper() + m.group()[1:], "\n".join(lines))


def _restore_line(line: str, above: str | None) -> str:
    parts = _TOKEN_OR_SPACE.split(line)  # tokens at even indices, whitespace between
    # Without a capital on the line nothing is all caps (a fast path for body text).
    kinds = [_kind(token) for token in parts[::2]] if line != line.lower() else []
    shout = _shouting(kinds) if kinds else set()
    col = 0
    for k, part in enumerate(parts):
        if k % 2 == 0 and _CASELESS_RE.search(part):
            if k // 2 in shout:
                parts[k] = part.upper()
            elif kinds and kinds[k // 2] == "code":
                parts[k] = _SUBWORD.sub(_upper_if_caps, part)
            elif _STARTS_CASELESS.match(part):
                parts[k] = _capitalise(line, col, part, above)
        col += len(part)
    return "".join(parts)


def _upper_if_caps(match: re.Match[str]) -> str:
    return match.group().upper() if _kind(match.group()) == "caps" else match.group()


def _kind(token: str) -> str:
    """How a token bears on case.

    "code": has digits or "/" ("203.N/LĐVL-Sở"), its capitals say nothing;
    "caps": capitals around a caseless letter ("CHíNH"), surely an all-caps word;
    "acronym": capitals only ("UBND", "ĐBKK"), which sit beside ordinary words too;
    "title": a caseless letter and at most a leading capital ("Bộ", "ở"), ambiguous;
    "lower": has a lowercase letter; "none": no letters, or a lone capital ("Y").
    """
    if _CODE.search(token):
        return "code"
    cased = _CASELESS_RE.sub("", token)
    if cased != cased.upper():
        return "lower"
    capitals = sum(1 for ch in cased if ch.isupper())
    first = _CASELESS_RE.search(token)
    if first is None:
        return "acronym" if capitals >= 2 else "none"
    after = token[first.start() :]
    if capitals >= 2 or after != after.lower():
        return "caps"
    return "title"


def _shouting(kinds: list[str]) -> set[int]:
    """Indices of the tokens to write in capitals.

    A line with no lowercase word and an all-caps word (or two acronyms, as in "XỬ LÝ
    ĐƠN THƯ") is all caps. Otherwise a run of "title" words is, when the words on
    either side (those that exist) are capitals and one of them surely all caps:
    "ĐIỆN TỬ CHÍNH", "THƯƠNG BINH VÀ XÃ HỘI", but not "Bộ LĐTBXH" or "Sở TT&TT".
    """
    if "lower" not in kinds and ("caps" in kinds or kinds.count("acronym") >= 2):
        return {n for n, kind in enumerate(kinds) if kind != "code"}
    shout = {n for n, kind in enumerate(kinds) if kind == "caps"}
    n = 0
    while n < len(kinds):
        if kinds[n] != "title":
            n += 1
            continue
        end = n
        while end < len(kinds) and kinds[end] in ("title", "none"):
            end += 1
        bounds = [_bound(kinds, range(n - 1, -1, -1)), _bound(kinds, range(end, len(kinds)))]
        present = [b for b in bounds if b is not None]
        if "caps" in present and all(b in ("caps", "acronym") for b in present):
            shout.update(j for j in range(n, end) if kinds[j] == "title")
        n = end
    return shout


def _bound(kinds: list[str], indices: range) -> str | None:
    """The kind of the first token with letters along ``indices``, if any."""
    return next((kinds[j] for j in indices if kinds[j] != "none"), None)


def _capitalise(line: str, col: int, token: str, above: str | None) -> str:
    """``token`` (at ``col`` in ``line``) with its first letter capitalised if it starts
    a sentence."""
    first = next((j for j, ch in enumerate(token) if ch.isalpha()), None)
    if first is None or token[first] not in _CASELESS:
        return token
    # A short look back is enough, and keeps one-line 30 MB files linear.
    start = max(0, col + first - 40)
    before = line[start : col + first].rstrip(_LEAD)
    if (before or start == 0) and _starts_sentence(before, above):
        return token[:first] + token[first].upper() + token[first + 1 :]
    return token


def _starts_sentence(before: str, above: str | None) -> bool:
    """Whether a word preceded on its line by ``before`` begins a sentence or paragraph."""
    if before:
        return before[-1] in ".!?…"
    # At the start of a line: a new paragraph unless the line above runs on into it.
    above = (above or "").rstrip()
    return not above or above[-1] in ".:;!?…"


# --- detection ---------------------------------------------------------------------
# TCVN3 bytes that are letters in TCVN3 but symbols or rare signs in Western text
# (¡-®, µ-¹, »-¾, ×, ÷). Touching a letter, as inside "nh©n", they are the TCVN3
# fingerprint; a lone "©" or "×" is not.
_SIGNS = "".join(
    sorted(
        ch for ch in _TCVN3 if "\xa1" <= ch <= "\xae" or "\xb5" <= ch <= "\xbe" or ch in "\xd7\xf7"
    )
)
_NEIGHBOUR = "A-Za-z\xa1-\xfe"
_TCVN3_SIGN = re.compile(f"[{_SIGNS}](?=[{_NEIGHBOUR}])|(?<=[{_NEIGHBOUR}])[{_SIGNS}]")
# Letters only Unicode Vietnamese has: their presence means the text is not legacy.
_GENUINE = re.compile("[ĂăĐđĨĩŨũƠơƯư\u1ea0-\u1ef9]")
_TOKEN = re.compile(r"[^\W\d_]+")
_ASCII_LETTER = re.compile("[A-Za-z]")
_HIGH = re.compile("[\x80-\xff]")
# Detection reads the start of the text: enough to judge, cheap on 30 MB files.
_SAMPLE = 200_000

# Frequent words of administrative Vietnamese that carry a diacritic (NFC, lowercase).
_COMMON = """
    của và các ngày tháng năm báo cáo ủy uỷ nhân dân tỉnh huyện xã thành phố sở ngành
    được những với để trên về đã có không này là một đến tại thực hiện kết quả trước
    đơn vị định quyết công văn số kế hoạch chỉ đạo yêu cầu tổ chức quản lý nhà nước
    phòng việc từ hướng dẫn đề nghị gửi chủ tịch cơ địa phương hằng hàng kỳ quý tuần
    đồng thời nội triển thông tư đảm bảo tình hình người cấp trường hợp giải pháp tăng
    cường phối trách nhiệm kiểm giám sát đầy đủ chính phủ bộ tài nguyên môi xây dựng
    giáo dục tế động phát
"""
COMMON_WORDS = frozenset(_COMMON.split())


@dataclass(frozen=True, slots=True)
class Guess:
    """What the detector makes of some text.

    ``encoding`` is the legacy encoding the text most resembles; ``convincing`` is True
    when its conversion reads as Vietnamese, so converting the text is safe.
    """

    encoding: Legacy
    convincing: bool


def guess_legacy(data: bytes | str) -> Guess | None:
    """None when ``data`` shows no sign of TCVN3 or VNI."""
    if isinstance(data, bytes):
        # Valid UTF-8 is judged as the text it spells, not as raw bytes.
        with contextlib.suppress(UnicodeDecodeError):
            data = data.decode("utf-8")
    sample = data[:_SAMPLE]
    view = _view(sample)
    if isinstance(sample, str) and len(_GENUINE.findall(sample)) >= max(1, _telltales(view)):
        return None  # real Unicode Vietnamese, perhaps with a stray "©"
    # Legacy Vietnamese is Latin letters with a high byte here and there; text in a
    # code page that is mostly high bytes (Chinese GBK, Russian cp1251) is not it.
    if len(_ASCII_LETTER.findall(view)) < 1.5 * len(_HIGH.findall(view)):
        return None
    words = len(view.split())
    counts: dict[Legacy, int] = {"tcvn3": _tcvn3_signs(view), "vni": _vni_pairs(view)}
    candidates = [enc for enc, n in counts.items() if n >= 3 and n >= 0.2 * words]
    if not candidates:
        return None
    scores = {enc: _vietnamese_score(convert(view, enc)) for enc in candidates}
    best = max(candidates, key=lambda enc: scores[enc])
    return Guess(best, convincing=_reads_vietnamese(*scores[best]))


def looks_vietnamese(text: str) -> bool:
    """Whether Unicode ``text`` reads as Vietnamese (used to judge a code-page guess)."""
    return _reads_vietnamese(*_vietnamese_score(unicodedata.normalize("NFC", text[:_SAMPLE])))


def _reads_vietnamese(hits: int, share: float) -> bool:
    # A correct decoding of Vietnamese turns many words into everyday ones; a wrong
    # one leaves almost none (share is over the words that have a diacritic).
    return hits >= 2 and share >= 0.15


def detect_legacy(data: bytes | str) -> str | None:
    """ "tcvn3" or "vni" when ``data`` is convincingly in that encoding, else None.

    Legacy text is dense with tell-tale bytes (Vietnamese has a diacritic in most
    syllables, French or German a few per hundred words), and its conversion must
    read as Vietnamese: plenty of everyday words such as "của", "các", "báo cáo".
    """
    guess = guess_legacy(data)
    return guess.encoding if guess and guess.convincing else None


def _telltales(view: str) -> int:
    return max(_tcvn3_signs(view), _vni_pairs(view))


def _tcvn3_signs(view: str) -> int:
    return len(_TCVN3_SIGN.findall(view))


def _vni_pairs(view: str) -> int:
    return len(_VNI_PAIR.findall(view))


def _vietnamese_score(text: str) -> tuple[int, float]:
    """(hits, share): common Vietnamese words among the words that have a diacritic."""
    marked = [w for w in _TOKEN.findall(text.lower()) if not w.isascii()]
    hits = sum(1 for w in marked if w in COMMON_WORDS)
    return hits, hits / len(marked) if marked else 0.0
