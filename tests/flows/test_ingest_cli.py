"""`hanbaocao ingest` with a Prefect server answering: the file goes through the ingest
flow, so the run and its review artifact are on the server (here: the session's test
harness, whose address the CLI gets as PREFECT_API_URL)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
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


def test_an_upload_on_the_admin_page_runs_the_flow(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Prefect configured, an upload under /admin/directives goes through the
    ingest flow too: the run carries the file's own name, not its hash path."""
    import re

    from fastapi.testclient import TestClient

    from models.db import Settings, make_engine
    from models.links import LinkSettings
    from models.schema import create_schema
    from portal.app import create_app
    from portal.auth import hash_password

    monkeypatch.setenv("HANBAOCAO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HANBAOCAO_SECRET_KEY", "ingest-upload-secret-0123456789abcdef")
    monkeypatch.setenv("HANBAOCAO_ADMIN_USER", "vanphong")
    monkeypatch.setenv("HANBAOCAO_ADMIN_PASSWORD_HASH", hash_password("mat-khau-2026-dai"))
    monkeypatch.delenv("HANBAOCAO_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'hanbaocao.db'}")
    create_schema(engine)
    app = create_app(db=Settings(data_dir=tmp_path), links=LinkSettings(), engine=engine)
    name = f"cong-van-{uuid.uuid4().hex[:8]}.txt"
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        page = client.get("/admin/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        form = {"csrf": csrf[1], "user": "vanphong", "password": "mat-khau-2026-dai"}
        assert client.post("/admin/login", data=form).status_code == 200
        listed = client.get("/admin/directives")
        csrf = re.search(r'name="csrf" value="([^"]+)"', listed.text)
        assert csrf is not None
        moved = client.post(
            "/admin/directives",
            data={"csrf": csrf[1]},
            files={"file": (name, ONE_OFF.read_bytes(), "text/plain")},
            follow_redirects=False,
        )
        assert moved.status_code == 303, moved.text
        review = client.get(moved.headers["location"])
        assert review.status_code == 200 and "2411/UBND-KT" in review.text
    engine.dispose()

    with get_client(sync_client=True) as prefect:
        runs = prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"ingest · {name}"]))
        )
    assert [r.state_name for r in runs] == ["Completed"]
    assert runs[0].parameters["name"] == name and runs[0].parameters["actor"] == "vanphong"
