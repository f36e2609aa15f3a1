"""Flow tests share one Prefect test harness for the whole session (it takes ~17 s to
start); tests that only need the logic call the functions the flows call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from models.db import get_engine
from notifications.mailsink import MailSink


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_harness: None
) -> Iterator[MailSink]:
    """A fresh app database in a temp data dir, email going to a real loopback sink."""
    from models.schema import create_schema

    monkeypatch.setenv("HANBAOCAO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HANBAOCAO_DATABASE_URL", raising=False)
    monkeypatch.delenv("HANBAOCAO_ZALO_OA_URL", raising=False)
    monkeypatch.setenv("HANBAOCAO_SECRET_KEY", "test-secret")
    with MailSink() as sink:
        monkeypatch.setenv(
            "HANBAOCAO_SMTP_URL", f"mailto://127.0.0.1:{sink.port}?from=nhac-han@example.invalid"
        )
        create_schema(get_engine())
        yield sink
