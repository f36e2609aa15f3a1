"""The server's own scheduler opens the cycles: once the seeds' approved obligations are
synced, a real ``prefect server start`` (the harness runs no scheduler) creates the next
flow run of the 6966 annual report's deployment, at 08:00 local on its opening day.

The scheduler looks only 100 days ahead by default, and this opening (21/11 each year)
is usually further than that from today. An earlier schedule start cannot help (an annual
RRULE fires on one day a year, and the scheduler never creates past runs), so the test
server is started with PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME=P400D
(``helpers.SCHEDULER_ENV``): the next opening is always within its window."""

from __future__ import annotations

import datetime as dt
import time
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    DeploymentFilterTags,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from sqlmodel import Session

from directives.parsed import Deadline
from models.calendar import OpeningPolicy, nominal_open_day, opening_rrule, period_for_opening
from models.db import make_engine
from models.tables import Obligation
from tests.flows.helpers import (
    PROVINCE,
    SCHEDULE_START,
    SeededServer,
    pointed_at,
    shared_seeded_server,
    sync_seeds,
)

pytestmark = pytest.mark.slow

VN = ZoneInfo("Asia/Ho_Chi_Minh")
POLICY = OpeningPolicy(province=PROVINCE)
RUN_TIMEOUT = 60.0  # both scheduler loops run every 1-2 s on the test server


@pytest.fixture(scope="module")
def shared(pytestconfig: pytest.Config) -> SeededServer:
    return shared_seeded_server(pytestconfig)


def _obligation(shared: SeededServer, obligation_id: int) -> Obligation:
    engine = make_engine(shared.seeds.database_url)
    try:
        with Session(engine) as session:
            ob = session.get(Obligation, obligation_id)
            assert ob is not None
            session.expunge(ob)
            return ob
    finally:
        engine.dispose()


def _next_firing(ob: Obligation, after: dt.datetime) -> dt.datetime:
    """The first opening after ``after``, from the same rule the deployment was given."""
    rule = Deadline(**(ob.deadline_override or ob.deadline or {}))
    text = opening_rrule(ob.frequency, rule, start=SCHEDULE_START, policy=POLICY)
    nxt = rrulestr(text, tzinfos={"Asia/Ho_Chi_Minh": VN}).after(after)
    assert nxt is not None, text
    return nxt.astimezone(VN)


def _deployment_id(client: SyncPrefectClient, obligation_id: int) -> tuple[UUID, str]:
    tagged = DeploymentFilter(tags=DeploymentFilterTags(all_=[f"obligation:{obligation_id}"]))
    found = client.read_deployments(deployment_filter=tagged)
    assert len(found) == 1, [d.name for d in found]
    return found[0].id, found[0].name


def _wait_for_runs(client: SyncPrefectClient, deployment_id: UUID) -> list[FlowRun]:
    """Poll until the scheduler has created the deployment's runs (bounded)."""
    only = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        runs = client.read_flow_runs(
            deployment_filter=only, sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=10
        )
        if runs:
            return runs
        time.sleep(0.5)
    pytest.fail(f"no flow run of deployment {deployment_id} after {RUN_TIMEOUT:.0f} s")


def test_server_scheduler_creates_the_next_opening_run_at_8_local(shared: SeededServer) -> None:
    ob = _obligation(shared, shared.seeds.annual_6966)
    started = time.monotonic()
    with pointed_at(shared):
        report = sync_seeds(shared)
        assert report.ok, report.errors
        assert not report.skipped, report.skipped
        now = dt.datetime.now(VN)
        with get_client(sync_client=True) as client:
            deployment_id, name = _deployment_id(client, shared.seeds.annual_6966)
            runs = _wait_for_runs(client, deployment_id)
    waited = time.monotonic() - started

    assert name == f"6966-UBND-KTN · Báo cáo kết quả thực hiện (hằng năm) №{ob.id}"
    run = runs[0]
    # Made by the server's scheduler from the deployment's schedule, not by a client.
    assert run.auto_scheduled
    assert run.created_by is not None and run.created_by.type == "SCHEDULE"
    assert run.state is not None and run.state.is_scheduled()
    assert run.parameters == {"obligation_id": ob.id}
    assert run.expected_start_time is not None
    local = run.expected_start_time.astimezone(VN)

    # The rule's own answer: the next firing of opening_rrule after now ...
    assert local == _next_firing(ob, now)
    # ... which is the nominal opening day of the period that firing opens.
    rule = Deadline(**(ob.deadline_override or ob.deadline or {}))
    period = period_for_opening(ob.frequency, rule, local.date(), policy=POLICY)
    assert period.key == str(local.year)
    assert nominal_open_day(ob.frequency, rule, period, policy=POLICY) == local.date()

    # By hand: no deadline in the clause, so the default chain applies: it ends before the
    # 25th of December, the agencies' nominal day is 19/12; the opening leads it by 20
    # working days, which a calendar-only RRULE counts as 20 + 2 × 4 weekends = 28 days:
    # 19/12 − 28 days = 21/11, every year, at 08:00.
    this_year = dt.datetime(now.year, 11, 21, 8, 0, tzinfo=VN)
    expected = this_year if now < this_year else this_year.replace(year=now.year + 1)
    assert local == expected
    assert (local.day, local.month, local.hour, local.minute) == (21, 11, 8, 0)
    # Every run the scheduler made is an opening at 08:00 local on 21/11.
    starts = [r.expected_start_time.astimezone(VN) for r in runs if r.expected_start_time]
    assert len(starts) == len(runs)
    assert {(s.month, s.day, s.hour, s.minute) for s in starts} == {(11, 21, 8, 0)}
    print(
        f"server healthy in {shared.startup_seconds:.1f} s; scheduled run seen"
        f" {waited:.1f} s after sync: {local:%d/%m/%Y %H:%M} (UTC+7)"
    )
