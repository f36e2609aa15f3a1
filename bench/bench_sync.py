"""Deployment sync at scale: 300 approved obligations into a fresh Prefect server.

    .venv/bin/python bench/bench_sync.py [--obligations 300] [--sample 20]
                                         [--concurrency 1,8]

Builds an app database (SQLite, temporary) with ``--obligations`` approved obligations of
every periodic frequency, starts a Prefect test server (``prefect_test_harness``, SQLite,
as on one machine), then measures:

1. Prefect's own way, one by one: ``open_cycle.to_deployment(…).apply()`` (a
   ``RunnerDeployment``, what ``serve()`` applies at start-up) for a sample of ``--sample``
   deployments, per deployment and extrapolated to ``--obligations``;
2. the first sync (every deployment created) at the first ``--concurrency``;
3. a second, unchanged sync (target: under 3 s, no writes);
4. a sync after editing one obligation (one write);
5. for each further ``--concurrency``: deleting everything (a sync of nothing), then the
   first sync again at that concurrency.

Writes are counted on the wire, 503 retries included (the SQLite server answers
"database is locked" with 503 and the client backs off). Everything is removed on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # before Prefect loads

import httpx  # noqa: E402
from prefect import get_client  # noqa: E402
from prefect.client.orchestration import PrefectClient  # noqa: E402
from prefect.deployments.runner import RunnerDeployment  # noqa: E402
from prefect.schedules import RRule  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402
from prefect.types.entrypoint import EntrypointType  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from flows.cycles import open_cycle  # noqa: E402
from flows.deployments import DeploymentSpec, SyncReport, desired_specs, sync_deployments  # noqa: E402
from models.agency import Agency, AgencyKind  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.schema import create_schema  # noqa: E402
from models.tables import Directive, Obligation, ObligationStatus  # noqa: E402

START = dt.date(2026, 1, 10)
PROVINCE = "quang-ngai"
TARGET_UNCHANGED_S = 3.0
T = TypeVar("T")

# (frequency, deadline) pairs that all have a recurring opening day.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("annual", {"kind": "none"}),
    ("annual", {"kind": "day_of_period", "day": 15, "month": 12, "raw": "trước ngày 15/12"}),
    ("semiannual", {"kind": "day_of_period", "day": 15, "month": 6, "raw": "trước ngày 15/6"}),
    ("quarterly", {"kind": "none"}),
    ("monthly", {"kind": "day_of_period", "day": 20, "raw": "trước ngày 20 hằng tháng"}),
    (
        "monthly",
        {"kind": "relative", "offset_days": 5, "working_days": True, "anchor": "kết thúc tháng"},
    ),
    ("weekly", {"kind": "none"}),
]


# --- the app's data ---------------------------------------------------------------------


def populate(engine: Engine, count: int) -> None:
    """``count`` approved obligations over 30 directives and 5 lead agencies, and a few
    proposed ones that must get no deployment."""
    with Session(engine) as session:
        leads = [
            Agency(code=f"bench-so-{i}", name=f"Sở {i}", kind=AgencyKind.department, province="b")
            for i in range(5)
        ]
        directives = [
            Directive(
                number=f"{100 + i}/UBND-BENCH",
                subject=f"triển khai kế hoạch số {i}",
                date=dt.date(2025, 1 + i % 12, 1 + i % 28),
                source_name="bench",
                source_text="",
                source_sha256=f"{i:064d}",
            )
            for i in range(30)
        ]
        session.add_all([*leads, *directives])
        session.flush()
        session.add_all(
            _obligation(i, directives, leads, approved=i < count)
            for i in range(count + count // 10)
        )
        session.commit()


def _obligation(
    i: int, directives: list[Directive], leads: list[Agency], *, approved: bool
) -> Obligation:
    frequency, deadline = VARIANTS[i % len(VARIANTS)]
    directive = directives[i % len(directives)]
    assert directive.id is not None
    return Obligation(
        directive_id=directive.id,
        clause_index=i,
        clause_text=f"- Định kỳ báo cáo tình hình thực hiện nhiệm vụ số {i} về UBND tỉnh.",
        clause_start=0,
        clause_end=0,
        clause_hash=f"{i:064d}",
        frequency=frequency,
        deadline=deadline,
        subject=f"tình hình thực hiện nhiệm vụ số {i} của các sở, ban, ngành và địa phương",
        status=ObligationStatus.approved if approved else ObligationStatus.proposed,
        lead_agency_id=leads[i % len(leads)].id,
    )


def specs_of(engine: Engine) -> list[DeploymentSpec]:
    with Session(engine) as session:
        specs, skipped = desired_specs(session, start=START, province=PROVINCE, work_pool_name=None)
    assert not skipped, skipped
    return specs


# --- measuring ----------------------------------------------------------------------------


class Wire:
    """Counts the writes a client made (GETs and POST …/filter are reads) and the 503s
    ("database is locked": nothing written, the client backs off and sends it again)."""

    def __init__(self) -> None:
        self.writes = 0
        self.busy = 0

    async def on_response(self, response: httpx.Response) -> None:
        request = response.request
        reads = request.method == "GET" or request.url.path.endswith(("/filter", "/count"))
        busy = response.status_code == 503
        self.busy += busy
        self.writes += not reads and not busy

    def __call__(self, work: Callable[[PrefectClient], Awaitable[T]]) -> tuple[T, float]:
        """Run ``work`` on a fresh client; its result and wall time in seconds."""
        self.writes = self.busy = 0
        hooks = {"response": [self.on_response]}

        async def go() -> tuple[T, float]:
            async with get_client(httpx_settings={"event_hooks": hooks}) as client:
                await client.hello()  # connect (and fetch the CSRF token) outside the clock
                start = time.perf_counter()
                result = await work(client)
                return result, time.perf_counter() - start

        return asyncio.run(go())


def prefect_one_by_one(specs: list[DeploymentSpec], sample: int) -> list[float]:
    """Seconds per deployment the way ``serve()`` registers them (``flow.to_deployment``
    is ``RunnerDeployment.from_flow``; ``serve`` applies each in turn)."""
    timings = []
    for spec in specs[:sample]:
        start = time.perf_counter()
        deployment = RunnerDeployment.from_flow(
            open_cycle,
            name=f"prefect-apply {spec.name}",
            schedule=RRule(spec.schedule.text, timezone=spec.schedule.timezone),
            parameters=spec.parameters,
            description=spec.description,
            tags=["bench-apply"],  # not "hanbaocao": the sync must not see them
            version=spec.fingerprint,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        deployment.apply()
        timings.append(time.perf_counter() - start)
    return timings


def line(label: str, seconds: float, report: SyncReport, wire: Wire, extra: str = "") -> None:
    counts = Counter(
        created=len(report.created),
        updated=len(report.updated),
        unchanged=len(report.unchanged),
        deleted=len(report.deleted),
        errors=len(report.errors),
    )
    shown = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    busy = f", {wire.busy} × 503 retried" if wire.busy else ""
    print(f"  {label:<34} {seconds:7.2f} s  ({shown}; {wire.writes} writes{busy}){extra}")


def bench(args: argparse.Namespace, engine: Engine) -> None:
    build = time.perf_counter()
    populate(engine, args.obligations)
    start = time.perf_counter()
    specs = specs_of(engine)
    planned = time.perf_counter() - start
    n = len(specs)
    print(
        f"\napp database: {args.obligations} approved obligations ({start - build:.1f} s to "
        f"build); desired_specs: {n} specs (the sweep's included) in {planned:.2f} s"
    )

    start = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=120):
        print(f"Prefect test server (SQLite) up in {time.perf_counter() - start:.1f} s")
        run(args, engine, specs)


def run(args: argparse.Namespace, engine: Engine, specs: list[DeploymentSpec]) -> None:
    n, wire = len(specs), Wire()
    levels = [int(c) for c in args.concurrency.split(",")]

    timings = prefect_one_by_one(specs, args.sample)
    per = statistics.mean(timings)
    print(f"\nPrefect one by one (to_deployment().apply(), {len(timings)} deployments):")
    median, worst = statistics.median(timings), max(timings)
    print(
        f"  per deployment: mean {per * 1000:.0f} ms, median {median * 1000:.0f} ms, "
        f"max {worst * 1000:.0f} ms"
    )
    print(f"  extrapolated to {n}: {per * n:.1f} s")

    print(f"\nsync_deployments, {n} deployments (concurrency {levels[0]}):")
    report, first = wire(lambda c: sync_deployments(c, specs, concurrency=levels[0]))
    line("first sync (all created)", first, report, wire, f"  {per * n / first:.1f}× faster")
    report, unchanged = wire(lambda c: sync_deployments(c, specs, concurrency=levels[0]))
    verdict = "ok" if unchanged < TARGET_UNCHANGED_S else f"OVER the {TARGET_UNCHANGED_S:.0f} s"
    line("second sync (unchanged)", unchanged, report, wire, f"  [{verdict}]")
    print(
        f"  unchanged / first sync: {unchanged / first:.3f}; "
        f"unchanged / Prefect one by one: {unchanged / (per * n):.3f}"
    )

    edit_one(engine)
    report, edited = wire(lambda c: sync_deployments(c, specs_of(engine), concurrency=levels[0]))
    line("one obligation edited", edited, report, wire)

    for level in levels[1:]:
        print(f"\nconcurrency {level}:")
        report, wiped = wire(partial(sync_deployments, specs=[], concurrency=level))
        line("delete everything (sync of [])", wiped, report, wire)
        report, again = wire(partial(sync_deployments, specs=specs, concurrency=level))
        line("first sync (all created)", again, report, wire, f"  {per * n / again:.1f}× faster")


def edit_one(engine: Engine) -> None:
    with Session(engine) as session:
        ob = session.get(Obligation, 1)
        assert ob is not None
        ob.deadline_override = {"kind": "day_of_period", "day": 10, "month": 12}
        session.add(ob)
        session.commit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--obligations", type=int, default=300)
    parser.add_argument("--sample", type=int, default=20, help="deployments applied by Prefect")
    parser.add_argument(
        "--concurrency",
        default="1,8",
        help="the first for the main runs; each further one re-creates everything with it",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hanbaocao-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'app.db'}")
        try:
            create_schema(engine)
            bench(args, engine)
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
