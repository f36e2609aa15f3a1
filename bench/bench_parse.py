"""Parser throughput: the whole corpus, a 5 MB input, and how cost grows with size.

    .venv/bin/python bench/bench_parse.py [--repeat N]

Prints documents/s and MB/s over every corpus document (target: the whole corpus in
under 1 s on one core), the time for a 5 MB input, and the time per MB at 1, 2 and
4 MB (linear cost shows as a flat time per MB; backtracking would make it climb).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from directives.parse import parse_text  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus" / "documents"
MB = 1024 * 1024


def _timed(text: str) -> tuple[float, int]:
    start = time.perf_counter()
    parsed = parse_text(text, whole=True)
    return time.perf_counter() - start, len(parsed.obligations)


def corpus(repeat: int) -> None:
    docs = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    size = sum(len(d.encode("utf-8")) for d in docs)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        found = sum(len(parse_text(d).obligations) for d in docs)
        runs.append(time.perf_counter() - start)
    best = min(runs)
    print(f"corpus: {len(docs)} documents, {size / MB:.2f} MB, {found} obligations")
    print(
        f"  best of {repeat}: {best:.3f} s  ({len(docs) / best:.1f} documents/s, "
        f"{size / MB / best:.2f} MB/s); median {statistics.median(runs):.3f} s"
    )


def big_inputs() -> None:
    """The corpus repeated into one text, read whole (``whole=True``: every paragraph
    goes through the clause grammar, not only the first document's body)."""
    base = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt")))

    def of_size(mb: float) -> str:
        need = int(mb * MB)
        text = base
        while len(text.encode("utf-8")) < need:
            text += "\n\n" + base
        return text.encode("utf-8")[:need].decode("utf-8", errors="ignore")

    seconds, found = _timed(of_size(5))
    print(f"5 MB input: {seconds:.2f} s ({found} obligations)")
    per_mb = []
    for mb in (1, 2, 4):
        seconds, _ = _timed(of_size(mb))
        per_mb.append(seconds / mb)
        print(f"  {mb} MB: {seconds:.2f} s  ({seconds / mb:.3f} s/MB)")
    print(f"growth: s/MB at 4 MB ÷ s/MB at 1 MB = {per_mb[-1] / per_mb[0]:.2f} (1.0 is linear)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    corpus(args.repeat)
    big_inputs()


if __name__ == "__main__":
    main()
