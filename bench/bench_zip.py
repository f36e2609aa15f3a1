"""The lead's zip of a cycle, streamed: 110 agencies' latest uploads, each a 2 MB file.

    .venv/bin/python bench/bench_zip.py [agencies] [MB per file]

Prints the time to produce the whole zip as ``portal.views.zip_chunks`` sends it, the
throughput, the largest chunk handed to the server at once, and the most memory Python
held at once while streaming (tracemalloc, on a second pass; the point of streaming: a
few chunks, not the size of the zip). The files are random bytes (incompressible, like PDFs and
DOCX), written to a temporary directory first and not timed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.views import zip_chunks


def main() -> None:
    agencies = int(sys.argv[1]) if len(sys.argv) > 1 else 110
    mb = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    size = int(mb * 1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="bench-zip-") as tmp:
        entries = []
        for i in range(agencies):
            path = Path(tmp) / f"{i}.pdf"
            path.write_bytes(os.urandom(size))
            entries.append((f"qng-co-quan-{i:03d} - Cơ quan số {i} tỉnh Quảng Ngãi.pdf", path))
        start = time.perf_counter()
        total, largest = 0, 0
        for chunk in zip_chunks(entries):
            total += len(chunk)
            largest = max(largest, len(chunk))
        elapsed = time.perf_counter() - start
        tracemalloc.start()  # a second, untimed pass: the most Python held at once
        for _ in zip_chunks(entries):
            pass
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"{agencies} files of {mb:g} MB -> zip of {total / 1048576:.1f} MB in {elapsed:.2f} s")
    print(f"throughput: {total / 1048576 / elapsed:.1f} MB/s")
    print(f"largest chunk sent at once: {largest / 1024:.0f} KB")
    print(f"peak memory allocated while streaming: {peak / 1024:.0f} KB")


if __name__ == "__main__":
    main()
