"""``hanbaocao up`` as an operator runs it: a subprocess with its own data directory and a
free port, started, used, stopped with Ctrl-C (SIGINT to its process group, as a terminal
sends it) — and killed outright (SIGKILL to the group) in the middle of a sweep, then
started again.

The data (the 6966 annual report's 2026 cycle, opened, ~110 opening notices due) is built
with the real flows inside the session's ``prefect_harness``; ``up`` runs its own embedded
server, without the scheduler (the tests create the sweep runs they want, with their own
``now``).

About 30 s for the first test and 55 s for the second on two cores shared with other jobs
(plus the harness, ~20 s, once per session): each start of ``up`` is mostly the Prefect
server's own (11-15 s on a new database, ~6 s on an existing one).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from notifications.mailsink import MailSink
from notifications.outbox import CLAIM_CHUNK
from tests.flows.test_workers import DueCycle, open_due_cycle, outbox_states, wait_for
from tests.ports import ATTEMPTS, free_port, port_clash, refusing_port

T = TypeVar("T")
ROOT = Path(__file__).parents[2]
TIMEOUT = 120.0
READY = "hanbaocao đang chạy"


class PortTaken(Exception):
    """``up`` stopped because another process had one of its ports."""


class Up:
    """One ``hanbaocao up`` subprocess, the leader of its own process group."""

    def __init__(self, tmp_path: Path, name: str, **env: str) -> None:
        self.port = free_port()
        self.portal_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log_path = tmp_path / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "cli.main", "up", "--port", str(self.port)),
                    *("--portal-port", str(self.portal_port)),
                ],
                env=up_env(tmp_path, **env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                if port_clash(self.log):
                    raise PortTaken(self.log)
                raise AssertionError(f"up exited with {self.process.returncode}:\n{self.log}")
            return READY in self.log

        wait_for("hanbaocao up to be ready", ready)

    def signal_group(self, signum: signal.Signals) -> None:
        os.killpg(self.process.pid, signum)

    def leftovers(self) -> list[int]:
        """Its processes still running: its process group (the worker's flow runs), and
        its Prefect server (a group of its own)."""
        return processes_in_group(self.process.pid) + processes_with(f"--port {self.port} ")

    def close(self) -> None:
        """Whatever happened: nothing of it is left running."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def up_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HANBAOCAO_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "COLUMNS": "200",
            "HANBAOCAO_DATA_DIR": str(tmp_path / "data"),
            "HANBAOCAO_PROVINCE": "quang-ngai",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            **extra,
        }
    )
    return env


def processes_with(text: str) -> list[int]:
    """Processes whose command line contains ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def processes_in_group(pgid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def start_up(tmp_path: Path, name: str, **env: str) -> Up:
    """``up`` ready. Its ports are found free and then bound by its children (there is no
    socket to hand over to ``prefect server start``): started again on new ones if another
    process took one meanwhile."""
    for attempt in range(1, ATTEMPTS + 1):
        up = Up(tmp_path, f"{name}-{attempt}" if attempt > 1 else name, **env)
        try:
            up.wait_ready()
            return up
        except PortTaken:
            up.close()
            if attempt == ATTEMPTS:
                raise
        except BaseException:
            up.close()
            raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running(tmp_path: Path, name: str, **env: str) -> Iterator[Up]:
    up = start_up(tmp_path, name, **env)
    try:
        yield up
    finally:
        up.close()


def database_url(tmp_path: Path) -> str:
    """``up``'s default database: SQLite in its data directory."""
    return f"sqlite:///{tmp_path / 'data' / 'hanbaocao.db'}"


@pytest.fixture
def due(prefect_harness: None, tmp_path: Path) -> DueCycle:
    return open_due_cycle(database_url(tmp_path))


# --- Prefect API calls against ``up``'s server ----------------------------------------------


def call(api_url: str, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``make()`` run with this process's Prefect client aimed at ``api_url``."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        return asyncio.run(make())


def deployment_names(api_url: str) -> list[str]:
    async def read() -> list[str]:
        from prefect import get_client

        async with get_client() as client:
            return sorted(d.name for d in await client.read_deployments())

    return call(api_url, read)


def start_sweep(api_url: str, now: dt.datetime) -> Any:
    async def create() -> Any:
        from prefect import get_client

        from flows.deployments import SWEEP_NAME

        async with get_client() as client:
            deployment = await client.read_deployment_by_name(f"sweep/{SWEEP_NAME}")
            run = await client.create_flow_run_from_deployment(
                deployment.id, parameters={"now": now.isoformat()}
            )
            return run.id

    return call(api_url, create)


def final_state(api_url: str, run_id: Any) -> str:
    async def wait() -> str:
        from prefect import get_client

        async with get_client() as client:
            started = time.monotonic()
            while time.monotonic() - started < TIMEOUT:
                state = (await client.read_flow_run(run_id)).state
                if state is not None and state.is_final():
                    return state.type.value
                await asyncio.sleep(0.5)
        raise AssertionError(f"flow run {run_id} not final after {TIMEOUT:.0f} s")

    return call(api_url, wait)


def paused(prefect_db: Path) -> list[tuple[str, str]]:
    """Deployments paused and schedules inactive, read from the embedded server's
    database once it is stopped."""
    with contextlib.closing(sqlite3.connect(prefect_db)) as db:
        rows = db.execute("SELECT name, 'deployment' FROM deployment WHERE paused").fetchall()
        rows += db.execute(
            "SELECT deployment_id, 'schedule' FROM deployment_schedule WHERE NOT active"
        ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


def eml_message_ids(folder: Path) -> Counter[str]:
    ids: Counter[str] = Counter()
    for path in folder.glob("*.eml"):
        ids[str(message_from_bytes(path.read_bytes(), policy=policy.default)["Message-ID"])] += 1
    return ids


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.slow
def test_up_runs_the_service_and_stops_cleanly_on_ctrl_c(due: DueCycle, tmp_path: Path) -> None:
    """Healthy, the deployments there, a sweep run by its worker into the local mail sink
    (.eml files), and Ctrl-C: exit 0, no process left, nothing paused."""
    data = tmp_path / "data"
    with running(tmp_path, "up") as up:
        assert f"UI http://127.0.0.1:{up.port}" in up.log
        # The portal is served too: a forged link gets its clear 403 page.
        forged = httpx.get(f"http://127.0.0.1:{up.portal_port}/submit/forged.token", timeout=10)
        assert forged.status_code == 403 and 'lang="vi"' in forged.text
        names = deployment_names(up.api_url)
        assert {"hanbaocao-sweep", "hanbaocao-ingest"} <= set(names) and len(names) == 3, names
        run_id = start_sweep(up.api_url, due.opens_at + dt.timedelta(minutes=5))
        assert final_state(up.api_url, run_id) == "COMPLETED"
        ids = eml_message_ids(data / "mail")
        assert len(ids) == due.rows and max(ids.values()) == 1
        synced = run_cli(tmp_path, "sync", "--port", str(up.port))
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert "tạo mới 0, cập nhật 0, giữ nguyên 3, xoá 0" in synced.stdout

        up.signal_group(signal.SIGINT)
        assert up.process.wait(timeout=60) == 0, up.log
        assert up.leftovers() == []
        assert up.log.rstrip().endswith("đã dừng"), up.log
    assert paused(data / "prefect" / "prefect.db") == []


@pytest.mark.slow
def test_up_killed_mid_dispatch_loses_nothing_and_repeats_at_most_one(
    due: DueCycle, tmp_path: Path
) -> None:
    """SIGKILL to the whole group while a sweep sends (the sink answers each message after
    0.1 s, so the kill lands between "the server has it" and "the row says sent"); start
    again, sweep 16 minutes later (``reclaim_stale`` takes back rows claimed more than 15
    minutes before the sweep's ``now``): every row sent, every message received, and
    only messages of the batch in flight at the kill (at most ``CLAIM_CHUNK``: sent,
    not yet recorded) twice — with the same Message-ID."""
    first = due.opens_at + dt.timedelta(minutes=5)
    with MailSink(delay=0.1) as sink:
        with running(tmp_path, "up-1", HANBAOCAO_SMTP_URL=sink.smtp_url()) as up:
            start_sweep(up.api_url, first)
            wait_for("a third of the messages", lambda: len(sink.raw) >= due.rows // 3)
            up.signal_group(signal.SIGKILL)
            up.process.wait(timeout=30)
            # The server goes on SIGTERM from the kernel (PR_SET_PDEATHSIG): not at once.
            wait_for("nothing left running", lambda: up.leftovers() == [], timeout=30)
        states = outbox_states(database_url(tmp_path), due.cycle_id)
        assert states["sending"] >= 1 and states["sent"] < due.rows, states

        with running(tmp_path, "up-2", HANBAOCAO_SMTP_URL=sink.smtp_url()) as up:
            assert "1 flow run còn chạy từ lần dừng trước được đánh dấu Crashed" in up.log
            run_id = start_sweep(up.api_url, first + dt.timedelta(minutes=16))
            assert final_state(up.api_url, run_id) == "COMPLETED"
            os.kill(up.process.pid, signal.SIGTERM)  # as a service manager stops it
            assert up.process.wait(timeout=60) == 0, up.log
            assert up.leftovers() == []

        assert outbox_states(database_url(tmp_path), due.cycle_id) == Counter({"sent": due.rows})
        ids = Counter(sink.message_ids())
        assert len(ids) == due.rows
        repeated = {mid: n for mid, n in ids.items() if n > 1}
        assert all(n == 2 for n in repeated.values()), repeated
        assert len(repeated) <= CLAIM_CHUNK, repeated
    assert paused(tmp_path / "data" / "prefect" / "prefect.db") == []


def test_sync_and_deploy_say_which_server_is_missing(tmp_path: Path) -> None:
    with refusing_port() as port:
        synced = run_cli(tmp_path, "sync", "--port", str(port))
    assert synced.returncode == 2
    assert f"không có máy chủ Prefect trả lời tại http://127.0.0.1:{port}/api" in synced.stderr
    deployed = run_cli(tmp_path, "deploy", "--pool", "shared")
    assert deployed.returncode == 2
    assert "hãy đặt PREFECT_API_URL" in deployed.stderr


def test_the_command_line_starts_without_prefect(tmp_path: Path) -> None:
    """Prefect takes seconds to import: only the commands that need it import it."""
    probe = "import sys, cli.main; print('prefect' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=up_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "False", result.stderr


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=up_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
