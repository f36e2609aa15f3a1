"""Fake scans of a text directive, made with Pillow alone: the test inputs for OCR.

``scan_pages`` draws the text as A4 pages (DejaVu Serif, ~11 pt) and makes them look
scanned: a slight random tilt, a little blur, speckle and, on the last page, a red
stamp across the signing block. ``photo_pages`` makes them look like a phone picture
instead: colour, uneven light, a larger tilt and strong JPEG compression.
``save_pdf`` writes the pages as an image-only PDF (no text layer), as a scanner does.

Every random choice comes from ``random.Random(seed)``: the same call makes the same
image. Adapted from the shared ``make_scan.py``, which renders with chromium instead.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from directives.parsed import ParsedDirective

_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/dejavu/DejaVuSerif.ttf",
)


def font_path() -> str | None:
    """DejaVu Serif (Debian's fonts-dejavu-core), found where Debian puts it or by fontconfig."""
    for path in _FONTS:
        if Path(path).exists():
            return path
    if shutil.which("fc-match"):
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", "DejaVu Serif"], capture_output=True, text=True
        ).stdout
        if found.endswith(".ttf") and Path(found).exists():
            return found
    return None


def text_lines(text: str, fits: Callable[[str], bool]) -> list[str]:
    """The directive's lines as printed: markdown marks dropped, long lines wrapped
    at a space so that each printed line ``fits``."""
    out: list[str] = []
    for raw in text.splitlines():
        line = re.sub(r"\*+|^#+\s*", "", raw).rstrip()
        while not fits(line):
            words, cut = line.split(" "), 1
            while cut < len(words) and fits(" ".join(words[: cut + 1])):
                cut += 1
            out.append(" ".join(words[:cut]))
            line = " ".join(words[cut:])
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return out


def _font(dpi: int) -> ImageFont.FreeTypeFont:
    path = font_path()
    if path is None:
        raise RuntimeError("DejaVu Serif is missing: apt-get install fonts-dejavu-core")
    return ImageFont.truetype(path, round(dpi * 0.155))


def _page_images(text: str, dpi: int, per_page: int) -> list[Image.Image]:
    font = _font(dpi)
    size = (round(8.27 * dpi), round(11.69 * dpi))
    margin, step = round(dpi * 0.8), round(dpi * 0.155 * 1.35)
    lines = text_lines(text, lambda line: font.getlength(line) <= size[0] - 2 * margin)
    pages = [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[""]]
    images = []
    for page in pages:
        image = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(image)
        for row, line in enumerate(page):
            draw.text((margin, margin + row * step), line, font=font, fill=(17, 17, 17))
        images.append(image)
    return images


def _stamp(image: Image.Image, rnd: random.Random, dpi: int) -> None:
    """A red seal (two rings and a star) over the left of the signing block. Stamp ink
    is translucent: it multiplies with the print below, as on paper."""
    seal = Image.new("RGB", image.size, "white")
    draw = ImageDraw.Draw(seal)
    radius = round(dpi * 0.7)
    x = round(dpi * rnd.uniform(1.2, 1.6))
    y = max(radius, _last_ink_row(image) - radius * 4 // 5)
    red = (205, 40, 45)
    for width, r in ((round(dpi * 0.03), radius), (round(dpi * 0.015), round(radius * 0.8))):
        draw.ellipse((x - r, y - r, x + r, y + r), outline=red, width=width)
    star = [
        (
            x + radius * (0.3 if k % 2 else 0.12) * _cos(k),
            y + radius * (0.3 if k % 2 else 0.12) * _sin(k),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=red)
    image.paste(ImageChops.multiply(image, seal))


def _cos(k: int) -> float:
    import math

    return math.cos(math.pi / 2 + k * math.pi / 5)


def _sin(k: int) -> float:
    import math

    return -math.sin(math.pi / 2 + k * math.pi / 5)


def _last_ink_row(image: Image.Image) -> int:
    box = image.convert("L").point(lambda v: 255 if v < 128 else 0).getbbox()
    return box[3] if box else image.height // 2


def _speckle(image: Image.Image, rnd: random.Random) -> None:
    px = image.load()
    assert px is not None
    w, h = image.size
    for _ in range(w * h // 400):
        shade = rnd.choice((0, 80, 200))
        px[rnd.randrange(w), rnd.randrange(h)] = (shade, shade, shade)


def scan_pages(
    text: str, *, seed: int = 1, dpi: int = 150, per_page: int = 42, stamp: bool = True
) -> list[Image.Image]:
    """Pages as a flatbed scanner gives them: tilt within ±0.8°, blur, speckle, a stamp."""
    rnd = random.Random(seed)
    images = _page_images(text, dpi, per_page)
    out = []
    for number, image in enumerate(images, start=1):
        if stamp and number == len(images):
            _stamp(image, rnd, dpi)
        tilted = image.rotate(rnd.uniform(-0.8, 0.8), Image.Resampling.BICUBIC, fillcolor="white")
        tilted = tilted.filter(ImageFilter.GaussianBlur(0.6))
        _speckle(tilted, rnd)
        out.append(tilted)
    return out


def photo_pages(
    text: str, *, seed: int = 1, dpi: int = 200, per_page: int = 42
) -> list[Image.Image]:
    """Pages as a phone photographs them: tilt within ±2.5°, a lamp's light falling off
    across the page, a grey-brown table around it, blur and sensor noise."""
    rnd = random.Random(seed)
    out = []
    images = _page_images(text, dpi, per_page)
    for number, image in enumerate(images, start=1):
        if number == len(images):
            _stamp(image, rnd, dpi)
        border = round(dpi * 0.4)
        canvas = Image.new(
            "RGB", (image.width + 2 * border, image.height + 2 * border), (96, 84, 70)
        )
        canvas.paste(image, (border, border))
        angle = rnd.choice((-1, 1)) * rnd.uniform(1.2, 2.5)
        tilted = canvas.rotate(angle, Image.Resampling.BICUBIC, fillcolor=(96, 84, 70))
        # a lamp off-centre: full light at one spot, 60% at the far corner
        spot = Image.radial_gradient("L").resize((tilted.width * 2, tilted.height * 2))
        dx, dy = rnd.randrange(tilted.width // 2), rnd.randrange(tilted.height // 2)
        light = spot.crop((dx, dy, dx + tilted.width, dy + tilted.height))
        light = light.point(lambda v: 255 - v * 100 // 255)
        # composite with a grey mask is a multiply: each pixel gets light/255 of itself
        shaded = Image.composite(tilted, Image.new("RGB", tilted.size, "black"), light)
        shaded = shaded.filter(ImageFilter.GaussianBlur(0.8))
        _speckle(shaded, rnd)
        out.append(shaded)
    return out


def save_pdf(pages: list[Image.Image], path: Path, *, dpi: int = 150) -> Path:
    """An image-only PDF, one JPEG page per image (what a scanner writes)."""
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=dpi, quality=70)
    return path


def facts(parsed: ParsedDirective) -> dict[str, Any]:
    """What a scan must give exactly as its text does (issue 11): the header's number,
    date, subject and signer, and each obligation's frequency, recipient and via."""
    h = parsed.header
    return {
        "number": h.number,
        "date": h.date,
        "signer": h.signer,
        "subject": h.subject,
        "obligations": [(ob.frequency, ob.recipient, ob.via) for _, ob in parsed.obligations],
    }


def save_jpeg(page: Image.Image, path: Path) -> Path:
    page.save(path, quality=60)
    return path
