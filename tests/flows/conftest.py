"""Flow tests share one Prefect test harness for the whole session (it takes ~17 s to
start); tests that only need the logic call the functions the flows call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
