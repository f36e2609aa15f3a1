"""The CLI as a user runs it: a real subprocess with a clean environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """Nothing from the developer's environment: a fresh data directory under ``home``."""
    return {
        "PYTHONPATH": str(ROOT),
        "HANBAOCAO_DATA_DIR": str(home / "data"),
        "COLUMNS": "160",
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        **extra,
    }


def run_cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        input=stdin,
        encoding="utf-8",
        env=env,
        timeout=120,
    )
