"""A local Prefect server for the embedded defaults: ``prefect server start`` on loopback
as a child process, with its own PREFECT_HOME and SQLite database, no analytics, in its
own process group (stopping it stops whatever it spawned), yielding once healthy.

``hanbaocao demo`` and ``hanbaocao up`` use it; so do the tests that need what the test
harness lacks (the scheduler service, the UI).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# Prefect's scheduler creates runs at most 100 days ahead by default: an annual obligation
# would show no upcoming run most of the year. 400 days shows the next opening of every
# obligation (the sweep, every 15 minutes, stays bounded by the scheduler's 100 runs).
SCHEDULER_HORIZON_SETTING = "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME"
SCHEDULER_HORIZON = "P400D"  # ISO 8601: Prefect refuses a plain number of seconds here
SERVER_START_TIMEOUT = 120.0  # ~15 s on two cores; generous for a loaded machine
SERVER_STOP_TIMEOUT = 15.0


class ServerError(RuntimeError):
    """The server did not come up (its log tail is in the message)."""


@dataclass(frozen=True, slots=True)
class PrefectServer:
    port: int
    home: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A loopback port free right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(home: Path, port: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: ours without any PREFECT_* setting (a harness or a
    profile must not leak in), then its own home, database and UI address."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
            "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_LOGGING_LEVEL": "INFO",
            SCHEDULER_HORIZON_SETTING: SCHEDULER_HORIZON,
        }
    )
    env.update(extra or {})
    return env


PORT_ATTEMPTS = 3  # a port taken between "found free" and "bound" is rare: 3 in a row is not


@contextmanager
def prefect_server(
    home: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = SERVER_START_TIMEOUT,
) -> Iterator[PrefectServer]:
    """``prefect server start`` on ``port``, ``home`` as PREFECT_HOME; yields once
    ``/api/health`` answers; always stops the server on exit.

    Without ``port``, a free one: the server binds it seconds after it was found free
    (there is no socket to hand to ``prefect server start``), so another process may
    have taken it meanwhile. Then the server is started again on another port, and it
    counts as healthy only once its own log says it listens (else another process's
    server on that port could answer the health check for it)."""
    home.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        server, process = _start(home, port or free_port(), env)
        try:
            wait_healthy(server, process, timeout=timeout, own_log=port is None)
        except BaseException as exc:
            stop_process_group(process)
            clash = isinstance(exc, ServerError) and _PORT_TAKEN in server.log_tail(10_000).lower()
            if port is None and clash and attempt < PORT_ATTEMPTS:
                continue
            raise
        break
    try:
        yield server
    finally:
        stop_process_group(process)


# In the server's log: Prefect's own check ("Port N is already in use") or, when the port
# was taken after it, uvicorn's bind error ("[Errno 98] … address already in use").
_PORT_TAKEN = "already in use"


def _start(
    home: Path, port: int, env: Mapping[str, str] | None
) -> tuple[PrefectServer, subprocess.Popen[bytes]]:
    server = PrefectServer(port=port, home=home, log_path=home / "server.log")
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=server_env(home, port, env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop it and its children
            preexec_fn=_die_with_parent,
        )
    return server, process


# Looked up here, in the parent: the child between fork and exec only makes the call.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, SIGTERM it when pytest dies without cleaning
    up (killed, say), so no server outlives its test run. Linux sends it when the thread
    that started the server ends: start servers from the main thread."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_healthy(
    server: PrefectServer,
    process: subprocess.Popen[bytes],
    *,
    timeout: float,
    own_log: bool = False,
) -> float:
    """Seconds until ``/api/health`` answered (and, with ``own_log``, the server's log said
    it listens: uvicorn at INFO, ``server_env``'s level); raises ServerError on exit or
    timeout."""
    started = time.monotonic()
    listening = f"Uvicorn running on {server.url}"
    with httpx.Client(timeout=2.0) as client:
        while (waited := time.monotonic() - started) < timeout:
            if process.poll() is not None:
                raise ServerError(
                    f"máy chủ Prefect đã thoát (mã {process.returncode}):\n{server.log_tail()}"
                )
            try:
                if client.get(f"{server.api_url}/health").status_code == 200 and (
                    not own_log or listening in server.log_tail(lines=10_000)
                ):
                    return waited
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.25)
    raise ServerError(f"máy chủ Prefect chưa sẵn sàng sau {timeout:.0f} giây:\n{server.log_tail()}")


def stop_process_group(
    process: subprocess.Popen[bytes], timeout: float = SERVER_STOP_TIMEOUT
) -> None:
    """SIGTERM to the process group we created, SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def flush_to_server(timeout: float = 10.0) -> None:
    """Send the logs and events this process still holds before its server goes away
    (Prefect ships both from background workers)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=timeout, at_exit=False)
