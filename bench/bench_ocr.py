"""OCR cost and accuracy: seconds per page of a fresh 150 dpi scan, and whether the scan
gives what the text gives (number, date, signer, subject, obligations' frequency,
recipient and via).

    .venv/bin/python bench/bench_ocr.py [--seeds 1 2 3]

For each seed directive and each random seed: the text is drawn as pages, tilted within
±0.8°, speckled and stamped (tests/tools/scan.py), saved as an image-only PDF, then read
by `directives.readers` (render, prepare, Tesseract) and parsed. Prints seconds per page
(mean and slowest; the issue's target is under 20 s a page on this machine), the mean
word confidence, and each fact that differs from the text version. Needs tesseract-ocr
and tesseract-ocr-vie (`hanbaocao doctor`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from directives.ocr import tesseract_status  # noqa: E402
from directives.parse import parse_file, parse_source  # noqa: E402
from directives.readers import read_document  # noqa: E402
from tests.tools.scan import facts, save_pdf, scan_pages  # noqa: E402

SEEDS = sorted((ROOT / "examples").glob("seed-*.txt"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    status = tesseract_status()
    if not status.found:
        print(f"bench_ocr: skipped, {status.detail}")
        return
    per_page: list[float] = []
    differing = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed_file in SEEDS:
            want = facts(parse_file(seed_file))
            text = seed_file.read_text(encoding="utf-8")
            for seed in args.seeds:
                pages = scan_pages(text, seed=seed)
                pdf = save_pdf(pages, Path(tmp) / f"{seed_file.stem}-{seed}.pdf")
                start = time.perf_counter()
                source = read_document(pdf)
                elapsed = time.perf_counter() - start
                got = facts(parse_source(source, name=str(pdf)))
                per_page.append(elapsed / len(pages))
                conf = statistics.fmean(p.confidence for p in source.ocr_pages)
                diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
                differing += bool(diff)
                print(
                    f"{seed_file.name[:9]} seed {seed}: {len(pages)} page(s), "
                    f"{elapsed / len(pages):5.1f} s/page, confidence {conf:4.1f}%, "
                    + ("same facts as the text" if not diff else f"differs: {diff}")
                )
    print(
        f"OCR: {statistics.fmean(per_page):.1f} s/page mean, {max(per_page):.1f} s/page "
        f"slowest (target < 20 s); {len(per_page) - differing}/{len(per_page)} scans give "
        "exactly the text's facts"
    )


if __name__ == "__main__":
    main()
