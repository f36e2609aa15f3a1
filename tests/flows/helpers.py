"""A real ``prefect server start`` for the tests that need what the test harness lacks
(the scheduler service, the UI), and the seeds approved in an app database beside it.

Import these; nothing here is a conftest fixture. The server itself is the product's
(``flows.server.prefect_server``: a free loopback port, its own PREFECT_HOME and SQLite
database, no analytics, its own process group); ``shared_seeded_server`` starts one
server and one seeded app database per pytest run, for every module that asks, and
stops it when pytest ends: a server costs ~12-15 s to become healthy, so the scheduler
and UI tests share one.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session, col, select

from flows.server import PrefectServer, prefect_server
from tests.conftest import EXAMPLES

if TYPE_CHECKING:
    from flows.deployments import SyncReport

PROVINCE = "quang-ngai"
APPROVED_ON = dt.date(2026, 1, 10)
# The schedules' anchor (DTSTART is the first opening on or after it): a fixed date, as
# flows.deployments.sync asks, so a second sync is a no-op.
SCHEDULE_START = APPROVED_ON
SEED_6966 = "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
SEED_1503 = "seed-1503-ubnd-ktth-kon-tum-2022.txt"

# The scheduler materialises runs at most 100 days ahead by default; an annual report
# opening in 11 months would show no run at all. The shared test server looks 400 days
# ahead (ISO 8601: pydantic refuses a bare number of seconds from the environment), and
# both scheduler loops run every few seconds instead of every 60 s / 5 s.
SCHEDULER_ENV: Mapping[str, str] = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": "P400D",
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    "PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS": "1",
}


# --- the seeds, approved -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeds:
    """The app database holding both seed directives, their obligations approved."""

    database_url: str
    annual_6966: int  # 6966/UBND-KTN: annual report to UBND tỉnh through Sở Xây dựng
    annual_1503: int  # 1503/UBND-KTTH: untimed in the text, scheduled annual 15/12


def seed_database(database_url: str) -> Seeds:
    """Ingest both seeds, import the shipped registry, resolve the parties, accept the
    suggested successor of the dissolved district committees, give 1503 its schedule,
    and approve both reports (as tests/models/test_seeds_plan.py does)."""
    from directives.parse import parse_file
    from directives.parsed import Deadline
    from models.db import make_engine
    from models.plan import accept_suggestion, resolve_parties, set_schedule
    from models.registry import import_registry, load_registry, shipped_registry
    from models.schema import create_schema
    from models.store import save_directive, set_status
    from models.tables import Obligation, ObligationParty

    engine = make_engine(database_url)
    try:
        create_schema(engine)
        with Session(engine, expire_on_commit=False) as session:
            import_registry(session, load_registry(shipped_registry()))
            ids: dict[str, int] = {}
            for name, issuer in ((SEED_6966, "quang-ngai"), (SEED_1503, "kon-tum")):
                saved = save_directive(
                    session, parse_file(EXAMPLES / name), actor="admin", issuer_province=issuer
                )
                for ob in saved.obligations:
                    resolve_parties(session, ob, on=APPROVED_ON, province=PROVINCE)
                    assert ob.id is not None
                    if name == SEED_1503:
                        ids["1503"] = ob.id
                    elif ob.via_phrase == "Sở Xây dựng":
                        ids["6966"] = ob.id
            for ob_id in ids.values():
                parties = session.exec(
                    select(ObligationParty)
                    .where(ObligationParty.obligation_id == ob_id)
                    .order_by(col(ObligationParty.id))
                ).all()
                for party in parties:
                    if party.flag == "group_dissolved" and party.suggested_group:
                        accept_suggestion(session, party, actor="admin")
            late = session.get(Obligation, ids["1503"])
            assert late is not None
            set_schedule(
                session,
                late,
                frequency="annual",
                deadline=Deadline(kind="day_of_period", day=15, month=12),
                actor="admin",
            )
            for ob_id in ids.values():
                set_status(session, ob_id, status="approved", actor="admin")  # type: ignore[arg-type]
            session.commit()
    finally:
        engine.dispose()
    return Seeds(database_url=database_url, annual_6966=ids["6966"], annual_1503=ids["1503"])


# --- one server and one seeded database per pytest run ---------------------------------------


@dataclass(frozen=True, slots=True)
class SeededServer:
    server: PrefectServer
    seeds: Seeds
    workdir: Path
    startup_seconds: float


_SHARED = pytest.StashKey[SeededServer]()


def shared_seeded_server(config: pytest.Config) -> SeededServer:
    """The run's one real server (scheduler settings of ``SCHEDULER_ENV``) and seeded app
    database; started on first use, stopped when pytest unconfigures. Modules wrap it in
    their own fixture: a fixture imported into two modules would be two fixtures."""
    if _SHARED in config.stash:
        return config.stash[_SHARED]
    stack = ExitStack()
    config.add_cleanup(stack.close)
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hanbaocao-server-")))
    started = time.monotonic()
    # The app database is seeded (~1.5 s) while the server starts; the server is started
    # from this (the main) thread, see _die_with_parent.
    with ThreadPoolExecutor(max_workers=1) as pool:
        seeding = pool.submit(seed_database, f"sqlite:///{workdir / 'app' / 'hanbaocao.db'}")
        server = stack.enter_context(prefect_server(workdir / "prefect-home", env=SCHEDULER_ENV))
        seeds = seeding.result()
    startup = time.monotonic() - started
    shared = SeededServer(server=server, seeds=seeds, workdir=workdir, startup_seconds=startup)
    config.stash[_SHARED] = shared
    return shared


@contextmanager
def pointed_at(shared: SeededServer) -> Iterator[None]:
    """This process's Prefect client and the app both aimed at the shared server and
    database, for the length of the block."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        pytest.MonkeyPatch.context() as mp,
        temporary_settings({PREFECT_API_URL: shared.server.api_url}),
    ):
        mp.setenv("PREFECT_API_URL", shared.server.api_url)
        mp.setenv("HANBAOCAO_DATABASE_URL", shared.seeds.database_url)
        mp.setenv("HANBAOCAO_PROVINCE", PROVINCE)
        yield


def sync_seeds(shared: SeededServer) -> SyncReport:
    """The seeds' approved obligations synced as deployments (no sweep, no work pool:
    the scheduler needs neither); call inside ``pointed_at``. Idempotent."""
    from flows.deployments import sync
    from models.db import make_engine

    engine = make_engine(shared.seeds.database_url)
    try:
        return sync(
            engine, start=SCHEDULE_START, province=PROVINCE, work_pool_name=None, sweep_cron=None
        )
    finally:
        engine.dispose()
