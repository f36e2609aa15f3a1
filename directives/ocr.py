"""OCR of scanned pages and photos: Tesseract with its Vietnamese data, through pytesseract.

A page is prepared before Tesseract reads it, because a scan or a phone picture is not
what Tesseract was trained on: turned upright (EXIF), the red of the official stamp
dropped (the red channel shows red ink as paper), uneven light flattened, speckle
removed, small enough pictures enlarged to about 300 dpi, and the tilt measured and
undone (``deskew``). Tesseract's own word boxes then give the text back line by line,
with a blank line where the page has a paragraph gap and a wide gap where it has two
columns (the header grammar reads those as cells), and the mean word confidence.

Only Pillow is needed to prepare pages (no numpy, no OpenCV). PDF pages are rendered by
pypdfium2 (``render_pdf_page``). Tesseract itself is a Debian package, not a wheel:
``tesseract_status`` says whether it and the ``vie`` data are installed, and
``OcrUnavailable`` carries the one line that says which package to install.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import statistics
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageMath, ImageOps, ImageStat

from directives.parsed import ParsedDirective
from directives.text import nfc

LANG = "vie"
RENDER_DPI = 300  # Tesseract reads best at about 300 dpi
LOW_CONFIDENCE = 90.0  # mean word confidence (0-100) under which a page is flagged: clean
# 150 dpi scans measure 93-96, an 85 dpi scan that reads a wrong number and no obligation 86-87
FLAG = "ocr_low_confidence"
PACKAGES = "tesseract-ocr tesseract-ocr-vie"
_MAX_SKEW = 5.0  # degrees; a page tilted more than this is re-photographed, not read
_TIMEOUT = 120  # seconds for one page: a hung Tesseract must not hang the command
_DOUBT = 90.0  # a word read with less confidence than this is read again, enlarged
_MAX_REREAD = 24  # words re-read on one page, at most


class OcrUnavailable(Exception):
    """Tesseract or its Vietnamese data is missing; the message (Vietnamese) says what
    to install."""


@dataclass(frozen=True, slots=True)
class ToolStatus:
    found: bool
    detail: str  # version, or what is missing (Vietnamese: `doctor` and errors show it)


@dataclass(frozen=True, slots=True)
class PageText:
    text: str
    confidence: float  # mean word confidence, 0-100 (0 when no word was read)
    words: int


# --- is Tesseract there ---------------------------------------------------------------


def tesseract_status() -> ToolStatus:
    """Whether ``tesseract`` runs and has the ``vie`` language (cached: it forks twice)."""
    return _status(shutil.which("tesseract"), os.environ.get("TESSDATA_PREFIX"))


@lru_cache(maxsize=4)
def _status(binary: str | None, _tessdata: str | None) -> ToolStatus:
    if binary is None:
        return ToolStatus(False, f"chưa cài tesseract (apt-get install {PACKAGES})")
    try:
        version = _run([binary, "--version"]).splitlines()[0]
        langs = _run([binary, "--list-langs"]).split()
    except (OSError, subprocess.SubprocessError, IndexError) as exc:
        return ToolStatus(False, f"tesseract không chạy được ({exc}); hãy cài lại {PACKAGES}")
    if LANG not in langs:
        return ToolStatus(
            False, f"{version}, thiếu dữ liệu tiếng Việt (apt-get install tesseract-ocr-vie)"
        )
    return ToolStatus(True, f"{version}, có tiếng Việt (vie)")


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    return done.stdout + done.stderr  # old versions print the version on stderr


def require_tesseract(name: str) -> None:
    """Raise ``OcrUnavailable`` naming the Debian package to install."""
    status = tesseract_status()
    if not status.found:
        raise OcrUnavailable(f"{name} là bản scan: cần OCR để đọc, nhưng {status.detail}")


# --- reading one page ---------------------------------------------------------------------


def read_image(image: Image.Image) -> PageText:
    """OCR one page: prepare it, read it with Tesseract (vie), rebuild its lines."""
    import pytesseract  # imported here: only scans pay for it

    page = prepare(image)
    data = pytesseract.image_to_data(
        page, lang=LANG, output_type=pytesseract.Output.DICT, timeout=_TIMEOUT
    )
    _reread_doubtful(page, data)
    return _page_text(data)


def _reread_doubtful(page: Image.Image, data: dict[str, list[Any]]) -> None:
    """Words Tesseract doubts are read again, enlarged twice: at 150 dpi a tone mark is a
    few pixels ('Hiền' read as 'Hiển' under the stamp, 82%); enlarged, Tesseract sees it.
    The words are stacked one per row on one sheet, so a page costs one more Tesseract
    run, not one per word; a new reading replaces the old only when Tesseract is surer
    of it, and the word keeps its first confidence (what the page's flag measures is how
    hard the page was to read). Clean pages have a handful of such words; ``_MAX_REREAD``
    bounds a bad photo."""
    import pytesseract

    doubtful = [
        i
        for i, raw in enumerate(data["text"])
        if str(raw).strip() and 0 <= float(data["conf"][i]) < _DOUBT
    ][:_MAX_REREAD]
    if not doubtful:
        return
    crops = [_enlarged_word(page, data, i) for i in doubtful]
    sheet = Image.new(
        "L", (max(c.width for c in crops) + 40, sum(c.height + 20 for c in crops)), 255
    )
    rows: list[tuple[int, int]] = []  # each word's band on the sheet
    top = 10
    for crop in crops:
        sheet.paste(crop, (20, top))
        rows.append((top, top + crop.height))
        top += crop.height + 20
    again = pytesseract.image_to_data(
        sheet,
        lang=LANG,
        config="--psm 6",
        output_type=pytesseract.Output.DICT,
        timeout=_TIMEOUT,
    )
    for i, (band_top, band_bottom) in zip(doubtful, rows, strict=True):
        words = [
            (str(again["text"][k]).strip(), float(again["conf"][k]))
            for k in range(len(again["text"]))
            if str(again["text"][k]).strip()
            and float(again["conf"][k]) >= 0
            and band_top <= int(again["top"][k]) + int(again["height"][k]) // 2 < band_bottom
        ]
        if len(words) == 1 and words[0][1] > float(data["conf"][i]):
            data["text"][i] = words[0][0]  # the first confidence stays: the page's doubt


def _enlarged_word(page: Image.Image, data: dict[str, list[Any]], i: int) -> Image.Image:
    left, top = int(data["left"][i]), int(data["top"][i])
    right, bottom = left + int(data["width"][i]), top + int(data["height"][i])
    crop = page.crop((left - 4, top - 4, right + 4, bottom + 4))
    return crop.resize((crop.width * 2, crop.height * 2), Image.Resampling.LANCZOS)


def prepare(image: Image.Image) -> Image.Image:
    """The page as Tesseract reads it best: upright, grey, flat, clean, ~300 dpi, straight."""
    image = ImageOps.exif_transpose(image)
    grey = _despeckled(_without_red(image))  # at scan size, where a speck is one pixel
    return deskew(_flattened(_enlarged(grey)))


def _despeckled(grey: Image.Image) -> Image.Image:
    """Lone dark pixels (dust, scanner noise) turned to paper: ink with at most one
    inked neighbour in its 3×3 square. A median filter would do it too, but it also
    erodes the tone marks of small letters (measured: it costs half the signers' names)."""
    ink = grey.point(lambda v: 255 if v < 170 else 0)
    crowd = ink.filter(ImageFilter.BoxBlur(1))  # 255 × the inked share of the 3×3 square
    specks = ImageChops.multiply(ink, crowd.point(lambda v: 255 if v <= 60 else 0))
    out = grey.copy()
    out.paste(255, mask=specks)
    return out


def _without_red(image: Image.Image) -> Image.Image:
    """Grey from the red channel, with the official stamp's red ink turned to paper.
    In the red channel red ink is already light and black print stays black; what
    is left of the stamp (light and much redder than it is green or blue) is painted
    white. Dark pixels are kept even when reddish: JPEG smears the stamp's colour into
    the print below it."""
    if image.mode not in ("RGB", "RGBA", "CMYK", "P", "PA", "YCbCr"):
        return image.convert("L")
    red, green, blue = image.convert("RGB").split()
    redness = ImageChops.subtract(red, ImageChops.lighter(green, blue))
    stamp = ImageChops.multiply(
        redness.point(lambda v: 255 if v > 30 else 0), red.point(lambda v: 255 if v > 140 else 0)
    )
    red.paste(255, mask=stamp)
    return red


def _enlarged(grey: Image.Image) -> Image.Image:
    """A page narrower than 1,200 px (under ~150 dpi: a fax, a small photo) is scaled
    up to A4 width at 300 dpi: Tesseract misses diacritics on small letters. A 150 dpi
    scan is left as it is: doubling it costs twice the time for no better reading."""
    target = round(8.27 * RENDER_DPI)
    if grey.width >= 1200:
        return grey
    height = round(grey.height * target / grey.width)
    return grey.resize((target, height), Image.Resampling.LANCZOS)


def _flattened(grey: Image.Image) -> Image.Image:
    """Divide by the paper's own brightness (text removed by a max filter on a small
    copy): a lamp's fall-off or a shadow becomes even white."""
    small = grey.reduce(8).filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(4))
    paper = small.resize(grey.size, Image.Resampling.BILINEAR)
    flat = ImageMath.lambda_eval(
        lambda a: a["convert"](a["min"](a["g"] * 255 / (a["p"] + 1), 255), "L"), g=grey, p=paper
    )
    assert isinstance(flat, Image.Image)
    return ImageOps.autocontrast(flat)  # no cutoff: a sparse page has under 1% ink


def deskew(grey: Image.Image) -> Image.Image:
    """The page rotated straight. The angle is the one that makes the rows of ink
    sharpest (the largest variance of row sums), measured on a small copy."""
    angle = skew_angle(grey)
    if abs(angle) < 0.05:
        return grey
    return grey.rotate(angle, Image.Resampling.BICUBIC, expand=False, fillcolor=255)


def skew_angle(grey: Image.Image) -> float:
    """Degrees to rotate ``grey`` (counter-clockwise) to make its lines level: every
    half degree within ±5°, then every tenth around the best, on a 600 px copy."""
    scale = 600 / max(grey.width, 1)
    small = grey.resize((600, max(1, round(grey.height * scale))), Image.Resampling.BOX)
    ink = ImageOps.invert(small.point(lambda v: 0 if v < 160 else 255))
    steps = round(2 * _MAX_SKEW)
    best = _best_angle(ink, [a / 2 for a in range(-steps, steps + 1)])
    return _best_angle(ink, [best + a / 10 for a in range(-5, 6)])


def _best_angle(ink: Image.Image, angles: list[float]) -> float:
    def sharpness(angle: float) -> float:
        rows = ink.rotate(angle, Image.Resampling.BILINEAR).resize(
            (1, ink.height), Image.Resampling.BOX
        )
        return float(ImageStat.Stat(rows).var[0])

    return max(angles, key=lambda a: (sharpness(a), -abs(a)))


# --- Tesseract's words back to lines ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    left: int
    top: int
    right: int
    height: int
    conf: float


def _page_text(data: dict[str, list[Any]]) -> PageText:
    lines = _lines(data)
    heights = [w.height for line in lines for w in line]
    size = statistics.median(heights) if heights else 1
    rights = sorted(line[-1].right for line in lines)
    margin = rights[int(0.9 * (len(rights) - 1))] if rights else 0
    out: list[str] = []
    previous: list[_Word] | None = None
    for line in lines:
        text = _line_text(line, size)
        if previous is not None:
            gap = min(w.top for w in line) - max(w.top + w.height for w in previous)
            if gap > 0.9 * size:
                out.append("")  # a paragraph gap on the page
            elif previous[-1].right >= margin - 5 * size and not _OPENS.match(text):
                out[-1] = _joined(out[-1], text)  # a full line: the paragraph goes on
                previous = line
                continue
        out.append(text)
        previous = line
    confs = [w.conf for line in lines for w in line]
    text = repair(nfc("\n".join(out)))
    return PageText(text, statistics.fmean(confs) if confs else 0.0, len(confs))


# What opens a new paragraph even right under a full line: a bullet, a clause number.
_OPENS = re.compile(r"[-–•+]\s|[0-9]{1,2}[.)]\s|[a-zđ]\)\s|Điều\s")


def _joined(line: str, more: str) -> str:
    """A printed line and its continuation as one line, as the author typed it: a
    word hyphenated at the end ("151/KH-" + "UBND") closes up, and a period that
    stands before a lowercase word is a speck, not the end of a sentence."""
    if line.endswith("-") and len(line) > 1 and not line[-2].isspace():
        return line + more
    if line.endswith(".") and not line.endswith("..") and more[:1].islower():
        line = line[:-1]
    return f"{line} {more}"


def _lines(data: dict[str, list[Any]]) -> list[list[_Word]]:
    grouped: dict[tuple[int, int, int, int], list[_Word]] = {}
    for i, raw in enumerate(data["text"]):
        text, conf = str(raw).strip(), float(data["conf"][i])
        if not text or conf < 0:
            continue
        key = (data["page_num"][i], data["block_num"][i], data["par_num"][i], data["line_num"][i])
        left, top = int(data["left"][i]), int(data["top"][i])
        word = _Word(text, left, top, left + int(data["width"][i]), int(data["height"][i]), conf)
        grouped.setdefault(key, []).append(word)
    return [sorted(words, key=lambda w: w.left) for _, words in sorted(grouped.items())]


def _line_text(line: list[_Word], size: float) -> str:
    """Words joined by one space, or by four where the gap is a column gap."""
    parts = [line[0].text]
    for before, word in itertools.pairwise(line):
        parts.append("    " if word.left - before.right > 2.5 * size else " ")
        parts.append(word.text)
    return "".join(parts)


# Marks Tesseract reads from the stamp, a staple or dirt: a line of only such characters.
_NOISE_LINE = re.compile(r"^[\W_]{1,3}$|^[|!il1I.,'`~°*]{1,4}$", re.M)
# Specks read before a bullet ("~- TT HĐND tỉnh") or after a line's last word.
_NOISE_LEAD = re.compile(r"^[~_=¬—:;.,'`\"|*]+[ \t]*(?=[-–•+][ \t])", re.M)
_BULLET_MISREAD = re.compile(r"^([ \t]*)[~¬=—_][ \t]+(?=[A-ZĐÀ-Ỹ])", re.M)  # "~ Hàng năm"
_NOISE_HEAD = re.compile(r"^[.,'`~_„“”‘’\"*^¬]{1,3}(?=[A-ZĐÀ-Ỹ])", re.M)
_NOISE_TAIL = re.compile(r"(?<=\S)[ \t]+[-_~.,'`|¬—]{1,2}[ \t]*$", re.M)
# The usual OCR damage to the header's fixed words, put back so the header grammar
# reads them: "KT CHỦ TỊCH" / "KT, CHỦ TỊCH" (the authority's period lost or turned
# into a comma), "Số 6966" / "Sô: 6966" / "S6: 6966" (the number's label).
_AUTHORITY = re.compile(r"^([ \t]*)(TM|KT|TL|TUQ)[ \t]*[.,:;·]?[ \t]+(?=[A-ZĐÀ-Ỹ])", re.M)
_SUBJECT_LABEL = re.compile(
    r"^([ \t]*)V(?:[ \t]*[/|\\lI][ \t]*(?:[vVwWy][.:]?)?|[vVwW][.:]?)[ \t]+(?=[a-zà-ỹđ])", re.M
)  # "VW triển khai", "V/ triển khai", "V|v. triển khai": the subject line's label
_NUMBER_LABEL = re.compile(r"^([ \t]*)(?:S[ốôóòồổỗộoơ06]|SỐ)[ \t]*[:;.,]?[ \t]*(?=[0-9])", re.M)


def repair(text: str) -> str:
    """OCR text with the usual damage undone: noise lines and specks dropped, the
    header's fixed words ("KT.", "Số:", "V/v") restored, the tone marks of the administration's
    fixed phrases put right. Applied to OCR output only."""
    text = _NOISE_LINE.sub("", text)
    text = _NOISE_LEAD.sub("", text)
    text = _BULLET_MISREAD.sub(lambda m: f"{m[1]}- ", text)
    text = _NOISE_HEAD.sub("", text)
    text = _NOISE_TAIL.sub("", text)
    text = _AUTHORITY.sub(lambda m: f"{m[1]}{m[2]}. ", text)
    text = _NUMBER_LABEL.sub(lambda m: f"{m[1]}Số: ", text)
    text = _SUBJECT_LABEL.sub(lambda m: f"{m[1]}V/v ", text)
    text = _DATE_WORDS.sub(_date_digits, text)
    text = _NAMED_LIST.sub(_list_commas, text)
    return _PHRASES.sub(_retoned, text)


# "ngày 24 tháng l2 năm 2O24": inside the date's words, letters that Tesseract reads
# for digits (O for 0, l I | for 1, S for 5, B for 8) and a space inside a number.
_DATE_WORDS = re.compile(
    r"(?<!\w)(ngày|tháng|năm)[ \t]+([0-9OoIl|SB](?:[ \t]?[0-9OoIl|SB]){0,3})(?!\w)"
)
_DIGITS = str.maketrans("OoIl|SB", "0011158", " \t")


def _date_digits(match: re.Match[str]) -> str:
    digits = match[2].translate(_DIGITS)
    size = len(digits) == 4 if match[1] == "năm" else len(digits) <= 2
    if not (digits.isdigit() and size and any(c.isdigit() for c in match[2])):
        return match[0]
    return f"{match[1]} {digits}"


# "gửi các Sở: Kế hoạch và Đầu tư; Tài chính để tổng hợp": the named bodies listed after
# "các Sở:" inside a sentence are separated by commas; a semicolon there is a speck over a
# comma. Elsewhere a semicolon followed by a word is often the author's ("trực thuộc
# tỉnh; Chủ tịch UBND", "thực hiện; định kỳ hằng năm"), so it is left alone.
_NAMED_LIST = re.compile(
    r"(?<!\w)(?:các|Các)[ \t]+(?:Sở|Bộ|Ban)[ \t]*:[ \t]*"
    r"(?:[^\W\d_]+[ \t]+){0,6}[^\W\d_]+(?:[ \t]*[,;][ \t]*(?:[^\W\d_]+[ \t]+){0,6}[^\W\d_]+)+"
)
_ITEM_SEMICOLON = re.compile(r";(?=[ \t]*(\w))")


def _list_commas(match: re.Match[str]) -> str:
    return _ITEM_SEMICOLON.sub(lambda m: "," if m[1].isupper() else ";", match[0])


# Tesseract's commonest error in Vietnamese is a wrong tone mark (ế read as ể, ề as ế).
# In these fixed phrases of the administration no other tone is a word ("Kể hoạch",
# "bảo cáo" are not Vietnamese), so a phrase whose letters match but for tone marks is
# put back as written here, keeping the case of what was read. Names of people are not
# in the list: a wrong tone there cannot be told from a real name.
_VOCABULARY = (
    "Ủy ban nhân dân", "Chủ tịch", "Giám đốc", "Văn phòng", "Kế hoạch", "Đầu tư",
    "Tài chính", "Xây dựng", "Nội vụ", "Tư pháp", "Công Thương", "Khoa học", "Công nghệ",
    "Nông nghiệp", "Môi trường", "Tài nguyên", "Giáo dục", "Đào tạo", "Y tế", "Giao thông",
    "vận tải", "Lao động", "Thương binh", "Xã hội", "Văn hóa", "Thể thao", "Du lịch",
    "Thanh tra", "Ngoại vụ", "Dân tộc", "báo cáo", "định kỳ", "thực hiện", "trước ngày",
    "hằng năm", "hàng năm", "hằng quý", "hàng quý", "hằng tháng", "hàng tháng", "thông qua",
    "tổng hợp", "tham mưu", "Nơi nhận", "Kính gửi", "triển khai", "kết quả",
)  # fmt: skip
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def _toneless(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return nfc("".join(ch for ch in decomposed if ch not in _TONE_MARKS))


def _any_tone(ch: str) -> str:
    base = unicodedata.normalize("NFD", _toneless(ch.lower()))
    forms = {nfc(base + tone) for tone in ("", *_TONE_MARKS)}
    return "[" + re.escape("".join(sorted(forms | {f.upper() for f in forms}))) + "]"


_PHRASES = re.compile(
    "|".join(
        r"(?<!\w)" + "".join(" " if ch == " " else _any_tone(ch) for ch in phrase) + r"(?!\w)"
        for phrase in sorted(_VOCABULARY, key=len, reverse=True)
    )
)
_BY_TONELESS = {_toneless(p.lower()): p for p in _VOCABULARY}


def _retoned(match: re.Match[str]) -> str:
    read = match.group()
    phrase = _BY_TONELESS.get(_toneless(read.lower()))
    if phrase is None:
        return read
    return "".join(
        wanted.upper() if read_char.isupper() else wanted.lower()
        for read_char, wanted in zip(read, phrase, strict=True)
    )


# --- PDF pages -------------------------------------------------------------------------


def render_pdf_page(data: bytes, index: int) -> Image.Image:
    """Page ``index`` (0-based) of a PDF as an image at the resolution it was scanned
    at (its largest picture's), so that speckle is still one pixel when it is removed."""
    import pypdfium2 as pdfium  # imported here: only scans pay for it

    document = pdfium.PdfDocument(data)
    try:
        page = document[index]
        image: Image.Image = page.render(scale=_scan_dpi(page) / 72).to_pil()
        return image
    finally:
        document.close()


def _scan_dpi(page: Any) -> float:
    """Pixels per inch of the page's widest image, between 100 and ``RENDER_DPI``."""
    import pypdfium2.raw as pdfium_c

    widths: list[int] = [
        obj.get_px_size()[0] for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
    ]
    inches = float(page.get_width()) / 72
    if not widths or inches <= 0:
        return float(RENDER_DPI)
    return min(max(max(widths) / inches, 100.0), float(RENDER_DPI))


# --- what OCR read, for the reader's notes and the obligations' flags ----------------------


@dataclass(frozen=True, slots=True)
class OcrPage:
    """A page of the text that OCR read: its 1-based number, its span in the text, and
    Tesseract's mean word confidence (0-100)."""

    number: int
    start: int
    end: int
    confidence: float


def notes(pages: list[OcrPage], total: int) -> list[str]:
    """One note saying OCR read the text and how surely, one per doubtful page (in
    Vietnamese: `parse` shows them to the administrator as they are)."""
    if not pages:
        return []
    mean = statistics.fmean(p.confidence for p in pages)
    which = (
        "cả văn bản"
        if len(pages) == total == 1
        else f"trang {_ranges([p.number for p in pages])} trong {total} trang"
    )
    out = [
        f"đọc bằng OCR (Tesseract, tiếng Việt): {which}, độ tin cậy trung bình {mean:.0f}%; "
        "đối chiếu tên, số và ngày với bản giấy"
    ]
    out += [
        f"trang {p.number} đọc kém (độ tin cậy {p.confidence:.0f}%, dưới "
        f"{LOW_CONFIDENCE:.0f}%): các nghĩa vụ ở trang này được gắn cờ cần rà soát"
        for p in pages
        if p.confidence < LOW_CONFIDENCE
    ]
    return out


def review_note(pages: tuple[OcrPage, ...]) -> str | None:
    """The same, in Vietnamese, for the administrator's review (the ingest artifact)."""
    if not pages:
        return None
    mean = statistics.fmean(p.confidence for p in pages)
    low = [p.number for p in pages if p.confidence < LOW_CONFIDENCE]
    numbers = _ranges([p.number for p in pages])
    text = (
        f"Văn bản được đọc bằng OCR (Tesseract, tiếng Việt) từ trang {numbers}, "
        f"độ tin cậy trung bình {mean:.0f}%: đối chiếu tên, số và ngày với bản giấy."
    )
    if low:
        text += (
            f" Trang {_ranges(low)} đọc kém (dưới {LOW_CONFIDENCE:.0f}%): các nghĩa vụ ở đó "
            f"mang cờ `{FLAG}`, cần rà soát."
        )
    return text


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> "1-3, 5"."""
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def flag_low_confidence(parsed: ParsedDirective, pages: tuple[OcrPage, ...]) -> None:
    """Flag ``FLAG`` on each obligation whose clause starts on a low-confidence page."""
    doubtful = [p for p in pages if p.confidence < LOW_CONFIDENCE]
    for clause, ob in parsed.obligations:
        if any(p.start <= clause.start < p.end for p in doubtful) and FLAG not in ob.flags:
            ob.flags.append(FLAG)
