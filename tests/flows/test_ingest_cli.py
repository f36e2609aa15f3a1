"""`hanbaocao ingest` with a Prefect server answering: the file goes through the ingest
flow, so the run and its review artifact are on the server (here: the session's test
harness, whose address the CLI gets as PREFECT_API_URL)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

from tests.cli.conftest import cli_env, run_cli

ONE_OFF = (
    Path(__file__).parents[1] / "data" / "directives" / "oneoff-2411-ubnd-kt-quang-ngai-2026.txt"
)


def test_ingest_runs_the_flow_on_the_server(prefect_harness: None, tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    # A file name of its own: the run is found by name on the session-wide server.
    path = tmp_path / f"cv-{uuid.uuid4().hex[:8]}.txt"
    path.write_bytes(ONE_OFF.read_bytes())
    env = cli_env(
        tmp_path,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        HANBAOCAO_NOW="2026-12-07T09:00:00+07:00",
    )
    assert run_cli(env, "db", "upgrade").returncode == 0
    assert run_cli(env, "agencies", "import").returncode == 0

    result = run_cli(env, "ingest", str(path), "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["prefect"] is True and found["outcome"] == "created"
    assert found["directive"]["number"] == "2411/UBND-KT"
    (ob,) = found["obligations"]
    assert (ob["frequency"], ob["deadline"]["date"]) == ("once", "2026-12-19")

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"ingest · {path.name}"]))
        )
    assert [r.state_name for r in runs] == ["Completed"]

    again = run_cli(env, "ingest", str(path))
    assert again.returncode == 0, again.stderr
    assert "đã nạp trước đó, không thay đổi" in " ".join(again.stdout.split())
    assert "Prefect không chạy" not in again.stderr
