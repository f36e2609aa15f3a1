"""What operators see: the Prefect UI, rendered by headless Debian ``chromium`` against a
real server, lists the seeds' deployments under their readable Vietnamese names and shows
a cycle's table artifact with the agencies' names.

Screenshots (1400×1000) and the dumped DOMs are kept under ``$HANBAOCAO_TEST_ARTIFACTS``
(default ``tests/artifacts/``, git-ignored) and their paths printed in the test output.
Without chromium the test is skipped, unless ``HANBAOCAO_REQUIRE_BROWSER`` is set (as
``.ci/run`` does after installing it): then a missing browser is a failure.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import subprocess
import tempfile
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlmodel import Session, col, select

from flows.artifacts import cycle_key
from models.agency import Agency
from models.db import make_engine
from models.tables import Submission
from tests.flows.helpers import SeededServer, pointed_at, shared_seeded_server, sync_seeds
from tests.portal.browser import chromium_path

pytestmark = pytest.mark.slow

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PERIOD = "2026"
OPENED_AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=VN)  # the cycle's opening, fixed
BROWSER_TIMEOUT = 90.0  # one page; ~5 s each here
# DESIGN §5: the flags under which the UI renders in headless Debian chromium.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=20000",
)
WINDOW = "--window-size=1400,1000"
ARTIFACTS_DIR = Path(
    os.environ.get("HANBAOCAO_TEST_ARTIFACTS") or Path(__file__).parent.parent / "artifacts"
)


@pytest.fixture(scope="module")
def shared(pytestconfig: pytest.Config) -> SeededServer:
    return shared_seeded_server(pytestconfig)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium, as every browser test finds it (``tests.portal.browser``)."""
    return chromium_path()


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    dom: str  # as dumped, HTML entities decoded, NFC
    screenshot: Path
    dom_path: Path


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _shoot(binary: str, url: str, name: str) -> Page:
    """One headless chromium run on ``url``, in local time: the DOM after the page's
    scripts ran (``--dump-dom``) and a screenshot, both kept under ARTIFACTS_DIR."""
    png, dom_path = ARTIFACTS_DIR / f"{name}.png", ARTIFACTS_DIR / f"{name}.html"
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        shoot = [f"--user-data-dir={profile}", WINDOW, f"--screenshot={png}", "--dump-dom"]
        done = subprocess.run(
            [binary, *CHROMIUM_FLAGS, *shoot, url],
            env={**os.environ, "TZ": "Asia/Ho_Chi_Minh"},  # the UI shows browser-local times
            capture_output=True,
            timeout=BROWSER_TIMEOUT,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    dom = done.stdout.decode("utf-8", errors="replace")
    dom_path.write_text(dom, encoding="utf-8")
    assert png.is_file() and png.stat().st_size > 10_000, f"no screenshot of {url}"
    return Page(url, _nfc(html.unescape(dom)), png, dom_path)


def render(binary: str, pages: dict[str, str]) -> dict[str, Page]:
    """Every ``name: url`` page at once, one chromium each (~5 s apiece here)."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=len(pages)) as pool:
        futures = {name: pool.submit(_shoot, binary, url, name) for name, url in pages.items()}
        return {name: future.result() for name, future in futures.items()}


def _report(capsys: pytest.CaptureFixture[str], pages: Sequence[Page]) -> None:
    """Say where the evidence is, in the test output even under -q."""
    with capsys.disabled():
        print()
        for page in pages:
            print(f"UI {page.url}\n  screenshot: {page.screenshot}\n  dom: {page.dom_path}")


def _cycle_agencies(shared: SeededServer, cycle_id: int) -> tuple[str, set[str]]:
    """The cycle's artifact key and the names of its agencies, from the app database."""
    from notifications.notices import cycle_facts

    engine = make_engine(shared.seeds.database_url)
    try:
        with Session(engine) as session:
            facts = cycle_facts(session, cycle_id)
            key = cycle_key(facts.title, shared.seeds.annual_6966, facts.cycle.period_key)
            names = session.exec(
                select(Agency.name)
                .join(Submission, col(Submission.agency_id) == col(Agency.id))
                .where(Submission.cycle_id == cycle_id)
            ).all()
    finally:
        engine.dispose()
    return key, {_nfc(n) for n in names}


def test_prefect_ui_shows_deployments_and_the_cycle_table(
    shared: SeededServer, chromium: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cycles import open_cycle

    with pointed_at(shared):
        report = sync_seeds(shared)
        assert report.ok, report.errors
        names = sorted(report.created + report.updated + report.unchanged)
        result = open_cycle(
            obligation_id=shared.seeds.annual_6966, period_key=PERIOD, now=OPENED_AT
        )
        key, agencies = _cycle_agencies(shared, int(result["cycle_id"]))
        with get_client(sync_client=True) as client:
            found = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
    assert result["period"] == PERIOD
    assert [n.split(" · ")[0] for n in names] == ["1503-UBND-KTTH", "6966-UBND-KTN"], names
    assert found and all(a.type == "table" for a in found), found
    artifact = max(found, key=lambda a: a.created or dt.datetime.min.replace(tzinfo=dt.UTC))
    rows = artifact.data if isinstance(artifact.data, list) else json.loads(str(artifact.data))
    assert agencies and {_nfc(r["Cơ quan"]) for r in rows} == agencies

    # The UI bundle routes /artifacts/artifact/:artifactId (the artifact: its table) and
    # /artifacts/key/:artifactKey (the key's version timeline, whose rows render lazily
    # and hold no table): the table is checked on the first.
    base = shared.server.url
    pages = render(
        chromium,
        {
            "ui-deployments": f"{base}/deployments",
            f"ui-artifact-{key}": f"{base}/artifacts/artifact/{artifact.id}",
        },
    )
    _report(capsys, list(pages.values()))
    deployments, table = pages["ui-deployments"], pages[f"ui-artifact-{key}"]
    for name in names:  # the full names, Vietnamese intact (the list cuts them visually)
        assert _nfc(name) in deployments.dom, f"{name!r} not on {deployments.url}"
    missing = sorted(a for a in agencies if a not in table.dom)
    assert not missing, f"{len(missing)}/{len(agencies)} agencies not on {table.url}: {missing[:5]}"
    assert key in table.dom and "Chưa nộp" in table.dom  # the key, the states in Vietnamese
    # Times in the browser's zone (TZ=Asia/Ho_Chi_Minh), as "2026/11/23 09:00:05 AM".
    assert artifact.created is not None
    assert f"{artifact.created.astimezone(VN):%Y/%m/%d %I:%M}" in table.dom
