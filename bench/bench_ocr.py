"""OCR cost and accuracy: seconds per page of a fresh 150 dpi scan, and whether the scan
gives what the text gives (number, date, signer, subject, obligations' frequency,
recipient and via), counted check by check.

    .venv/bin/python bench/bench_ocr.py [--seeds 1 2 3] [--kinds scan mixed]
                                        [--engine ocrmypdf --ocrmypdf PATH]

For each seed directive and each random seed: the text is drawn as pages, tilted within
±0.8°, speckled and stamped (tests/tools/scan.py), saved as an image-only PDF, then read
by `directives.readers` (render, prepare, Tesseract) and parsed. ``mixed`` builds the
mixed PDF of the tests instead: seed 6966's first part as a typed PDF (LibreOffice) and
the rest scanned. Prints seconds per page (mean and slowest; the issue's target is under
20 s a page on this machine), the mean word confidence, each fact that differs from the
text version, and for each check how many scans got it right. Needs tesseract-ocr and
tesseract-ocr-vie (`hanbaocao doctor`), and LibreOffice for ``mixed``.

``--engine ocrmypdf`` measures the alternative the README weighs: OCRmyPDF (not a
dependency: give the path of an ``ocrmypdf`` installed elsewhere) adds a text layer to
the scanned pages (``-l vie --deskew --skip-text --jobs 1``), which is then read as a
typed PDF and given the same post-correction (``directives.ocr.repair``).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader, PdfWriter  # noqa: E402

from directives.ocr import repair, tesseract_status  # noqa: E402
from directives.parse import parse_file, parse_source, parse_text  # noqa: E402
from directives.readers import read_document  # noqa: E402
from directives.text import nfc  # noqa: E402
from tests.tools.scan import facts, save_pdf, scan_pages  # noqa: E402

SEEDS = sorted((ROOT / "examples").glob("seed-*.txt"))
MIXED_SEED = ROOT / "examples" / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
MIXED_CUT = "2. UBND các huyện"  # where the typed part ends, as in the tests
CHECKS = ("number", "date", "signer", "subject", "obligations")


def scanned(seed_file: Path, seed: int, tmp: Path) -> tuple[Path, int]:
    pages = scan_pages(seed_file.read_text(encoding="utf-8"), seed=seed)
    return save_pdf(pages, tmp / f"{seed_file.stem}-{seed}.pdf"), len(pages)


def mixed(typed: Path, seed: int, tmp: Path) -> tuple[Path, int]:
    text = MIXED_SEED.read_text(encoding="utf-8")
    pages = scan_pages(text[text.index(MIXED_CUT) :], seed=seed)
    part = save_pdf(pages, tmp / f"scanned-{seed}.pdf")
    writer = PdfWriter()
    for source in (typed, part):
        for page in PdfReader(source).pages:
            writer.add_page(page)
    path = tmp / f"mixed-{seed}.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    return path, len(pages)


def typed_part(tmp: Path) -> Path | None:
    """The mixed PDF's first part, typed: LibreOffice prints the text to PDF."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    text = MIXED_SEED.read_text(encoding="utf-8")
    first = tmp / "first.txt"
    first.write_text(text[: text.index(MIXED_CUT)].replace("**", ""), encoding="utf-8")
    profile = f"-env:UserInstallation={(tmp / 'profile').as_uri()}"
    argv = [soffice, profile, "--headless", "--convert-to", "pdf", "--outdir", str(tmp)]
    subprocess.run([*argv, str(first)], check=True, capture_output=True, timeout=180)
    return tmp / "first.pdf"


def read_ocrmypdf(binary: str, pdf: Path) -> str:
    """The text of ``pdf`` after OCRmyPDF gave its scanned pages a text layer."""
    out = pdf.with_name(f"{pdf.stem}-ocrmypdf.pdf")
    argv = [binary, "-l", "vie", "--deskew", "--skip-text", "--jobs", "1", "--output-type"]
    subprocess.run([*argv, "pdf", str(pdf), str(out)], check=True, capture_output=True)
    return repair(nfc(read_document(out).text))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--kinds", nargs="+", choices=("scan", "mixed"), default=["scan"])
    parser.add_argument("--engine", choices=("pytesseract", "ocrmypdf"), default="pytesseract")
    parser.add_argument("--ocrmypdf", default=shutil.which("ocrmypdf"))
    args = parser.parse_args()
    if args.engine == "ocrmypdf" and not args.ocrmypdf:
        print("bench_ocr: ocrmypdf not found (give --ocrmypdf PATH)")
        return
    status = tesseract_status()
    if not status.found:
        print(f"bench_ocr: skipped, {status.detail}")
        return
    per_page: list[float] = []
    right = {kind: dict.fromkeys(CHECKS, 0) for kind in args.kinds}
    runs = dict.fromkeys(args.kinds, 0)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        cases: list[tuple[str, Path, int]] = []
        if "scan" in args.kinds:
            cases += [("scan", f, s) for f in SEEDS for s in args.seeds]
        typed = typed_part(tmp) if "mixed" in args.kinds else None
        if "mixed" in args.kinds and typed is None:
            print("bench_ocr: mixed skipped, LibreOffice is missing (libreoffice-writer-nogui)")
        elif typed is not None:
            cases += [("mixed", MIXED_SEED, s) for s in args.seeds]
        for kind, seed_file, seed in cases:
            want = facts(parse_file(seed_file))
            if kind == "scan":
                pdf, pages = scanned(seed_file, seed, tmp)
            else:
                assert typed is not None
                pdf, pages = mixed(typed, seed, tmp)
            start = time.perf_counter()
            if args.engine == "ocrmypdf":
                parsed, conf = parse_text(read_ocrmypdf(args.ocrmypdf, pdf)), float("nan")
            else:
                source = read_document(pdf)
                parsed = parse_source(source, name=str(pdf))
                conf = statistics.fmean(p.confidence for p in source.ocr_pages)
            elapsed = time.perf_counter() - start
            got = facts(parsed)
            per_page.append(elapsed / pages)
            diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
            runs[kind] += 1
            for check in CHECKS:
                right[kind][check] += check not in diff
            print(
                f"{kind:5} {seed_file.name[:9]} seed {seed}: {pages} scanned page(s), "
                f"{elapsed / pages:5.1f} s/page, confidence {conf:4.1f}%, "
                + ("same facts as the text" if not diff else f"differs: {diff}"),
                flush=True,
            )
    for kind, counts in right.items():
        if runs[kind]:
            checks = ", ".join(f"{c} {n}/{runs[kind]}" for c, n in counts.items())
            print(f"{kind}: {checks}")
    if per_page:
        print(
            f"OCR ({args.engine}): {statistics.fmean(per_page):.1f} s/page mean, "
            f"{max(per_page):.1f} s/page slowest (target < 20 s)"
        )


if __name__ == "__main__":
    main()
