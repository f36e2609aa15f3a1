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
from flows.server import free_port
from tests.flows.test_workers import wait_for

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


@pytest.mark.slow
def test_keep_open_serves_the_links_of_the_mailed_messages(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    portal_port = free_port()
    log_path = tmp_path / "demo.log"
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

    def output() -> str:
        return log_path.read_text(encoding="utf-8", errors="replace")

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"demo exited with {process.returncode}:\n{output()}")
        return READY in output()

    try:
        wait_for("the demo to keep its portal open", ready, timeout=900)
        link = lead_view_link(data / "mail")
        assert link is not None and link.startswith(f"http://127.0.0.1:{portal_port}/view/")
        assert link in output()  # the line that says which link to open
        page = httpx.get(link, timeout=30)
        assert page.status_code == 200, page.text[:500]
        # The story's clock: the deadline has passed, 68 agencies never handed in.
        assert "Quá hạn, chưa nộp" in page.text
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 0, output()
        assert "Đang dừng…" in output()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
