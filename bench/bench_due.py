"""The sweep's query at scale: ``due_actions`` over 100,000 pending submissions.

    .venv/bin/python bench/bench_due.py [--cycles 1000] [--agencies 100] [--runs 7]
                                        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                        [--no-pg]

Builds cycles × agencies pending submissions (default 1,000 × 100) whose
``next_action_at`` is spread over a year with about 2% already due, then times
``due_actions(now, limit=5000)`` (median of several runs after one warm-up, each in a
fresh session, so the figure includes loading the rows as objects) and prints the
query plan. Target: under 200 ms.

SQLite runs in a temporary file; PostgreSQL in a throw-away database created on the
server at ``--pg-url`` and dropped afterwards (skipped with a message when the server
is unreachable). Everything the script creates is removed, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlmodel import Session  # noqa: E402

from models.agency import Agency, AgencyKind  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.schema import create_schema, drop_schema  # noqa: E402
from models.store import due_actions, due_query, explain  # noqa: E402
from models.tables import Directive, Obligation, ReportCycle, Submission  # noqa: E402

NOW = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)
YEAR = dt.timedelta(days=365)
DUE_FRACTION = 0.02
LIMIT = 5000
TARGET_MS = 200.0
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert, returning the new keys in the order of ``rows``."""
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.exec(stmt, params=rows).scalars())


def populate(engine: Engine, *, cycles: int, agencies: int, seed: int = 1) -> int:
    """One directive and obligation, ``cycles`` cycles, ``agencies`` agencies and a
    submission for every pair; returns how many submissions are due at NOW."""
    rng = random.Random(seed)
    with Session(engine) as session:
        directive = _ids(session, Directive, [_directive_row()])[0]
        obligation = _ids(session, Obligation, [_obligation_row(directive)])[0]
        cycle_ids = _ids(session, ReportCycle, [_cycle_row(obligation, k) for k in range(cycles)])
        agency_ids = _ids(session, Agency, [_agency_row(i) for i in range(agencies)])
        # Offsets uniform over a year that starts DUE_FRACTION of a year in the past.
        offsets = [rng.uniform(-DUE_FRACTION, 1 - DUE_FRACTION) for _ in range(cycles * agencies)]
        rows = [
            {"cycle_id": c, "agency_id": a, "next_action_at": NOW + off * YEAR, "updated_at": NOW}
            for (c, a), off in zip(_pairs(cycle_ids, agency_ids), offsets, strict=True)
        ]
        session.exec(insert(Submission), params=rows)
        session.commit()
    return sum(off <= 0 for off in offsets)


def _pairs(cycle_ids: list[int], agency_ids: list[int]) -> Iterator[tuple[int, int]]:
    return ((c, a) for c in cycle_ids for a in agency_ids)


def _directive_row() -> dict[str, Any]:
    return {
        "number": "1/BENCH",
        "issuer": "bench",
        "source_name": "bench",
        "source_text": "",
        "source_sha256": "0" * 64,
        "version": 1,
        "created_at": NOW,
    }


def _obligation_row(directive_id: int) -> dict[str, Any]:
    return {
        "directive_id": directive_id,
        "clause_index": 0,
        "clause_text": "định kỳ hằng tháng báo cáo",
        "clause_start": 0,
        "clause_end": 0,
        "clause_hash": "0" * 64,
        "frequency": "monthly",
        "created_at": NOW,
        "updated_at": NOW,
    }


def _cycle_row(obligation_id: int, k: int) -> dict[str, Any]:
    return {
        "obligation_id": obligation_id,
        "period_key": f"B-{k}",
        "window_start": NOW.date(),
        "window_end": NOW.date(),
        "opens_at": NOW,
        "due_at": NOW,
        "created_at": NOW,
    }


def _agency_row(i: int) -> dict[str, Any]:
    return {
        "code": f"bench-{i}",
        "name": f"Đơn vị {i}",
        "kind": AgencyKind.department,
        "province": "bench",
        "updated_at": NOW,
    }


def measure(engine: Engine, *, runs: int) -> tuple[list[float], int, str]:
    """Milliseconds per run (after a warm-up), rows returned, the query plan."""
    timings, found = [], 0
    for i in range(runs + 1):
        with Session(engine) as session:
            start = time.perf_counter()
            found = len(due_actions(session, now=NOW, limit=LIMIT))
            if i:  # the first run warms caches and the statement cache
                timings.append((time.perf_counter() - start) * 1000)
    with Session(engine) as session:
        plan = explain(session, due_query(now=NOW, limit=LIMIT))
    return timings, found, plan


def bench(name: str, engine: Engine, *, cycles: int, agencies: int, runs: int) -> None:
    create_schema(engine)
    try:
        start = time.perf_counter()
        due = populate(engine, cycles=cycles, agencies=agencies)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))  # statistics, as a live database would have them
        built = time.perf_counter() - start
        timings, found, plan = measure(engine, runs=runs)
        report(name, cycles * agencies, due, built, timings, found, plan)
    finally:
        drop_schema(engine)


def report(
    name: str, total: int, due: int, built: float, timings: list[float], found: int, plan: str
) -> None:
    median = statistics.median(timings)
    verdict = "ok" if median < TARGET_MS else f"OVER the {TARGET_MS:.0f} ms target"
    print(f"\n{name}: {total:,} submissions, {due:,} due ({built:.1f} s to build)")
    print(
        f"  due_actions(limit={LIMIT}) -> {found:,} rows: median {median:.1f} ms, "
        f"min {min(timings):.1f} ms, max {max(timings):.1f} ms over {len(timings)} runs [{verdict}]"
    )
    print("  plan:\n" + "\n".join(f"    {line}" for line in plan.splitlines()))


def run_sqlite(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="hanbaocao-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            bench("SQLite", engine, cycles=args.cycles, agencies=args.agencies, runs=args.runs)
        finally:
            engine.dispose()


@contextmanager
def pg_database(admin_url: str) -> Iterator[str | None]:
    """A fresh database on the server (dropped on the way out), or None if unreachable."""
    name = f"hanbaocao_bench_{uuid.uuid4().hex[:10]}"
    url = make_url(admin_url).update_query_dict({"connect_timeout": "5"})
    admin = make_engine(url.render_as_string(hide_password=False))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        print(f"\nPostgreSQL: skipped, {make_url(admin_url).render_as_string()} unreachable")
        print(f"  ({str(exc.orig).strip().splitlines()[0]})")
        admin.dispose()
        yield None
        return
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_postgresql(args: argparse.Namespace) -> None:
    with pg_database(args.pg_url) as url:
        if url is None:
            return
        engine = make_engine(url)
        try:
            bench("PostgreSQL", engine, cycles=args.cycles, agencies=args.agencies, runs=args.runs)
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--agencies", type=int, default=100, help="submissions per cycle")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="an admin URL on the server")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    run_sqlite(args)
    if not args.no_pg:
        run_postgresql(args)


if __name__ == "__main__":
    main()
