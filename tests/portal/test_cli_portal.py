"""`hanbaocao portal` as an operator runs it: a real process serving on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli.conftest import ROOT, cli_env, run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_portal_command_serves_the_pages_with_tokens_out_of_the_log(tmp_path: Path) -> None:
    env = cli_env(tmp_path, HANBAOCAO_SECRET_KEY="cli-test-secret")
    assert run_cli(env, "db", "upgrade").returncode == 0
    port = _free_port()
    log = tmp_path / "portal.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "portal", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                css = httpx.get(f"{base}/static/portal.css", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the portal did not come up"
                time.sleep(0.2)
        assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"
        secret_looking = "eyJwIjoic3VibWl0In0." + "Q" * 43
        refused = httpx.get(f"{base}/submit/{secret_looking}", timeout=5)
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
