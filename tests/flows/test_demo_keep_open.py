"""``hanbaocao demo --keep-open`` as a user runs it: the story, then the portal served at
the address the mailed links use, on the story's clock, until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cli.demo import lead_view_link
from tests.flows.test_workers import wait_for
from tests.ports import ATTEMPTS, free_port, port_clash

ROOT = Path(__file__).parents[2]
READY = "nhấn Ctrl-C để dừng"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HANBAOCAO_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "COLUMNS": "200",
            "HOME": str(tmp_path),
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        }
    )
    return env


class PortTaken(Exception):
    """The demo stopped because another process had one of its ports."""


def _start(tmp_path: Path, attempt: int) -> tuple[subprocess.Popen[bytes], Path, int]:
    """The demo kept open, once its portal is up: the process, its log and the portal's
    port (the links in its mail carry it)."""
    data = tmp_path / f"demo-{attempt}"
    portal_port = free_port()
    log_path = tmp_path / f"demo-{attempt}.log"
    command = [sys.executable, "-m", "cli.main", "demo", "--data-dir", str(data)]
    command += ["--port", str(free_port()), "--portal-port", str(portal_port), "--keep-open"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=_env(tmp_path),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready() -> bool:
        if process.poll() is not None:
            said = _read(log_path)
            if port_clash(said):
                raise PortTaken(said)
            raise AssertionError(f"demo exited with {process.returncode}:\n{said}")
        return READY in _read(log_path)

    try:
        wait_for("the demo to keep its portal open", ready, timeout=900)
    except BaseException:
        _stop(process)
        raise
    return process, data, portal_port


def _read(log_path: Path) -> str:
    return log_path.read_text(encoding="utf-8", errors="replace")


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _started(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, int, Path]:
    """``_start``, again on new ports when another process took one of them (found free,
    then bound by the demo's children: there is no socket to hand over)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            process, data, portal_port = _start(tmp_path, attempt)
        except PortTaken:
            if attempt == ATTEMPTS:
                raise
            continue
        return process, data, portal_port, tmp_path / f"demo-{attempt}.log"
    raise AssertionError("unreachable")


@pytest.mark.slow
def test_keep_open_serves_the_links_of_the_mailed_messages(tmp_path: Path) -> None:
    process, data, portal_port, log_path = _started(tmp_path)
    try:
        link = lead_view_link(data / "mail")
        assert link is not None and link.startswith(f"http://127.0.0.1:{portal_port}/view/")
        assert link in _read(log_path)  # the line that says which link to open
        page = httpx.get(link, timeout=30)
        assert page.status_code == 200, page.text[:500]
        # The story's clock: the deadline has passed, 69 agencies never handed in.
        assert "Quá hạn, chưa nộp" in page.text
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 0, _read(log_path)
        assert "Đang dừng…" in _read(log_path)
    finally:
        _stop(process)
