"""`hanbaocao portal` as an operator runs it: a real process serving on loopback."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli.conftest import ROOT, cli_env, run_cli

RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def test_portal_command_serves_the_pages_with_tokens_out_of_the_log(tmp_path: Path) -> None:
    env = cli_env(tmp_path, HANBAOCAO_SECRET_KEY="cli-test-secret")
    assert run_cli(env, "db", "upgrade").returncode == 0
    log = tmp_path / "portal.log"
    with log.open("w") as out:
        # Port 0: the server takes a port and says which. A port found free beforehand
        # could be taken by another process before the server binds it.
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "portal", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60  # only caps a hang
        while not (running := RUNNING.search(log.read_text())):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the portal did not come up"
            time.sleep(0.2)
        base = f"http://127.0.0.1:{running.group(1)}"
        css = httpx.get(f"{base}/static/portal.css", timeout=30)
        assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"
        secret_looking = "eyJwIjoic3VibWl0In0." + "Q" * 43
        refused = httpx.get(f"{base}/submit/{secret_looking}", timeout=30)
        assert refused.status_code == 403 and "Đường dẫn không hợp lệ" in refused.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    printed = log.read_text()
    assert "/submit/…" in printed and secret_looking not in printed


def test_portal_command_help(tmp_path: Path) -> None:
    shown = run_cli(cli_env(tmp_path), "portal", "--help")
    assert shown.returncode == 0
    assert "--host" in shown.stdout and "--port" in shown.stdout
