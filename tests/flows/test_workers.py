"""The multi-machine setup of docs/deploy.md on one machine: a real ``prefect server start``
and the app database both on this machine's PostgreSQL, the deployments put on a process
pool by ``hanbaocao deploy --pool``, two ``prefect worker start --pool`` processes, and two
runs of the sweep deployment created at the same moment with the same ``now``. Each worker
takes one (``--limit 1``), the two sweeps dispatch the same outbox at once, and the real
SMTP sink must receive every due message exactly once.

40-60 s on two cores shared with other jobs: the server's start on a new PostgreSQL
database 10-16 s, the data (ingest, open_cycle) and ``deploy`` ~10 s while the workers start,
the two sweeps ~20 s (the process worker's flow-run start is ~10 s of it). Bounded: every wait has a timeout and
every process is killed in ``finally``.

``open_due_cycle`` builds the due outbox with the real flows; tests/flows/test_service.py
uses it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from models.db import make_engine
from models.scratch_db import scratch_databases
from notifications.mailsink import MailSink
from tests.conftest import EXAMPLES, PG_ADMIN_URL

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
SEED_6966 = "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
PROVINCE = "quang-ngai"
APPROVED_ON = dt.date(2026, 1, 10)
POOL = "hanbaocao-pool"
TIMEOUT = 120.0  # any single wait; the whole test takes well under a minute


# --- the due outbox, built with the real flows --------------------------------------------


@dataclass(frozen=True, slots=True)
class DueCycle:
    obligation_id: int
    cycle_id: int
    opens_at: dt.datetime  # the cycle's opening: a working day, in office hours
    rows: int  # outbox rows due at ``opens_at``, one email per agency
    agencies: int


def open_due_cycle(database_url: str) -> DueCycle:
    """The 6966/UBND-KTN annual report's 2026 cycle, opened: ``ingest`` the seed, import the
    shipped registry with an email contact for every agency (so every row can be sent),
    approve as tests/models/test_seeds_plan.py does, run ``open_cycle`` at the opening.
    Prefect must point at a server (a harness or a real one) for the flows."""
    from flows.cycles import open_cycle
    from flows.ingest import ingest
    from flows.server import flush_to_server
    from models.schema import create_schema
    from models.tables import Notification, NotificationState

    # Prefect's log and event workers are per process and keep the server they first
    # saw: stop them before and after, so these flows' logs and events reach their own.
    flush_to_server()
    engine = make_engine(database_url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HANBAOCAO_DATABASE_URL", database_url)
        mp.setenv("HANBAOCAO_PROVINCE", PROVINCE)
        create_schema(engine)
        ingest(path=str(EXAMPLES / SEED_6966))
        with Session(engine, expire_on_commit=False) as session:
            agencies = _registry_with_email(session)
            obligation_id = _approve_annual_report(session)
            opens_at = _opening(session, obligation_id)
            session.commit()
        opened = open_cycle(obligation_id=obligation_id, period_key="2026", now=opens_at)
        flush_to_server()
    with Session(engine) as session:
        rows = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.cycle_id == opened["cycle_id"],
                Notification.state == NotificationState.pending,
            )
        ).one()
    engine.dispose()
    return DueCycle(obligation_id, opened["cycle_id"], opens_at, int(rows), agencies)


def _registry_with_email(session: Session) -> int:
    from models.agency import Agency, AgencyContact, ContactChannel
    from models.registry import import_registry, load_registry, shipped_registry

    import_registry(session, load_registry(shipped_registry()))
    # One address per agency: one SMTP message per outbox row, countable by Message-ID.
    for old in session.exec(select(AgencyContact)):
        session.delete(old)
    session.flush()
    agencies = list(session.exec(select(Agency).order_by(col(Agency.id))))
    for agency in agencies:
        assert agency.id is not None
        session.add(
            AgencyContact(
                agency_id=agency.id,
                channel=ContactChannel.email,
                address=f"{agency.code}@example.invalid",
            )
        )
    session.flush()
    return len(agencies)


def _approve_annual_report(session: Session) -> int:
    from models.plan import accept_suggestion, resolve_parties
    from models.store import set_status
    from models.tables import Obligation, ObligationParty, ObligationStatus

    report = session.exec(
        select(Obligation).where(
            Obligation.via_phrase == "Sở Xây dựng",
            Obligation.status == ObligationStatus.proposed,
        )
    ).one()
    assert report.id is not None
    resolve_parties(session, report, on=APPROVED_ON, province=PROVINCE)
    parties = session.exec(
        select(ObligationParty).where(ObligationParty.obligation_id == report.id)
    ).all()
    for party in parties:
        if party.flag == "group_dissolved" and party.suggested_group:
            accept_suggestion(session, party, actor="admin")
    set_status(session, report.id, status=ObligationStatus.approved, actor="admin")
    return report.id


def _opening(session: Session, obligation_id: int) -> dt.datetime:
    from models.calendar import parse_period_key
    from models.plan import plan_cycles
    from models.tables import Obligation

    ob = session.get(Obligation, obligation_id)
    assert ob is not None
    period = parse_period_key("2026")
    (plan,) = plan_cycles(ob, start=period.start, end=period.start, province=PROVINCE)
    return plan.opens_at


def outbox_states(database_url: str, cycle_id: int) -> Counter[str]:
    from models.tables import Notification

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            states = session.exec(
                select(Notification.state).where(Notification.cycle_id == cycle_id)
            ).all()
    finally:
        engine.dispose()
    return Counter(str(s) for s in states)


# --- processes ---------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), including those in sessions of their
    own (Prefect's process worker starts each flow run in one)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``process``, its group and everything it started; reaped."""
    for pid in [*descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def wait_for(what: str, check: Any, timeout: float = TIMEOUT, every: float = 0.25) -> Any:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
def pg_urls() -> Iterator[tuple[str, str]]:
    """Two throw-away databases, (Prefect's asyncpg URL, the app's psycopg URL); dropped
    after the test."""
    if not PG_ADMIN_URL:
        pytest.skip("HANBAOCAO_TEST_PG_URL is empty: PostgreSQL tests skipped")
    with scratch_databases(PG_ADMIN_URL, "hanbaocao_prefect", "hanbaocao_app") as (prefect, app):
        yield prefect.replace("+psycopg", "+asyncpg"), app


# --- the test ------------------------------------------------------------------------------


def test_two_workers_two_sweeps_send_each_message_once(
    pg_urls: tuple[str, str], tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.server import prefect_server

    prefect_db, app_db = pg_urls
    server_env = {
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db,
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",  # only the runs we create
    }
    workers: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    # A small reply delay spreads ~110 messages over several seconds: the two sweeps overlap.
    with (
        prefect_server(tmp_path / "prefect-home", env=server_env) as server,
        MailSink(delay=0.05) as sink,
        temporary_settings({PREFECT_API_URL: server.api_url}),
    ):
        timings = {"server": time.monotonic() - started}
        env = _env(tmp_path, api_url=server.api_url, app_db=app_db, smtp_url=sink.smtp_url())
        try:
            # The workers start (a few seconds each) while the data is built and deployed;
            # the first one creates the process pool if it is not there yet.
            for name in ("worker-a", "worker-b"):
                workers.append(_start_worker(name, env, tmp_path / f"{name}.log"))
            due = open_due_cycle(app_db)
            assert due.agencies >= 100 and due.rows >= 100, due
            timings["data"] = time.monotonic() - started
            deployed = _run_cli(env, "deploy", "--pool", POOL)
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            assert "tạo mới 3" in deployed.stdout, deployed.stdout
            timings["deploy"] = time.monotonic() - started
            for name in ("worker-a", "worker-b"):
                log = tmp_path / f"{name}.log"
                wait_for(f"{name} to start", lambda log=log: "started" in _read(log))
            timings["workers"] = time.monotonic() - started
            now = due.opens_at + dt.timedelta(minutes=5)
            run_ids, states = asyncio.run(_two_sweeps(now))
            timings["sweeps"] = time.monotonic() - started
            assert states == ["COMPLETED", "COMPLETED"], states
        finally:
            for worker in workers:
                kill_tree(worker)
    print("seconds since start:", {k: round(v, 1) for k, v in timings.items()})

    # Each worker ran one of the two runs (both may try one: the server lets one have it).
    taken = {name: _ran(tmp_path / f"{name}.log") for name in ("worker-a", "worker-b")}
    assert sorted(len(ids) for ids in taken.values()) == [1, 1], taken
    assert taken["worker-a"] | taken["worker-b"] == {str(i) for i in run_ids}

    # Every due message went out exactly once, and both sweeps sent some of them.
    ids = Counter(sink.message_ids())
    assert len(ids) == due.rows
    assert max(ids.values()) == 1, [m for m, n in ids.items() if n > 1]
    assert outbox_states(app_db, due.cycle_id) == Counter({"sent": due.rows})
    senders = _senders(app_db, due.cycle_id)
    assert sum(senders.values()) == due.rows  # one successful attempt per row
    assert len(senders) == 2, f"the two sweeps did not overlap: {senders}"


def _env(tmp_path: Path, *, api_url: str, app_db: str, smtp_url: str) -> dict[str, str]:
    """What a worker machine has: the server's address, the shared database and the
    channel settings, nothing else of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HANBAOCAO_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PREFECT_API_URL": api_url,
            "PREFECT_HOME": str(tmp_path / "worker-home"),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "HANBAOCAO_DATABASE_URL": app_db,
            "HANBAOCAO_DATA_DIR": str(tmp_path / "data"),
            "HANBAOCAO_PROVINCE": PROVINCE,
            "HANBAOCAO_SMTP_URL": smtp_url,
        }
    )
    return env


def _run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cli.main", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def _start_worker(name: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL]
    command += ["--type", "process", "--name", name, "--limit", "1"]
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _ran(log_path: Path) -> set[str]:
    """The flow runs a worker submitted and the server did not take back from it."""
    log = _read(log_path)
    submitted = set(re.findall(r"submitting flow run '([0-9a-f-]+)'", log))
    return submitted - set(re.findall(r"Aborted submission of flow run '([0-9a-f-]+)'", log))


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


async def _two_sweeps(now: dt.datetime) -> tuple[list[Any], list[str]]:
    """Two runs of the sweep deployment, created together with the same ``now``; their
    final state types once both are final."""
    from prefect import get_client

    from flows.deployments import SWEEP_NAME

    async with get_client() as client:
        deployment = await client.read_deployment_by_name(f"sweep/{SWEEP_NAME}")
        runs = await asyncio.gather(
            *(
                client.create_flow_run_from_deployment(
                    deployment.id, parameters={"now": now.isoformat()}
                )
                for _ in range(2)
            )
        )
        started = time.monotonic()
        while time.monotonic() - started < TIMEOUT:
            states = [(await client.read_flow_run(r.id)).state for r in runs]
            if all(s is not None and s.is_final() for s in states):
                return [r.id for r in runs], [s.type.value for s in states if s is not None]
            await asyncio.sleep(0.5)
    raise AssertionError(f"the sweeps did not finish in {TIMEOUT:.0f} s: {states}")


def _senders(database_url: str, cycle_id: int) -> Counter[str]:
    """Successful send attempts per sending process (``host:pid`` of a flow run)."""
    from models.tables import Notification, NotificationAttempt

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            workers = session.exec(
                select(NotificationAttempt.worker)
                .join(
                    Notification, col(Notification.id) == col(NotificationAttempt.notification_id)
                )
                .where(Notification.cycle_id == cycle_id, col(NotificationAttempt.ok))
            ).all()
    finally:
        engine.dispose()
    return Counter(workers)
