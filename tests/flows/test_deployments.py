"""Deployment sync against the session's Prefect server and a real database: one
deployment per approved obligation, written only when something changed.

Writes are counted on the wire (an httpx request hook on the client): every request
except GETs and the POST …/filter reads is a write.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import DeploymentCreate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags
from prefect.client.schemas.responses import DeploymentResponse
from prefect.client.schemas.schedules import CronSchedule, RRuleSchedule
from sqlalchemy.engine import Engine
from sqlmodel import Session

from directives.parse import parse_file
from flows.deployments import (
    APP_TAG,
    INGEST_KEY,
    INGEST_NAME,
    NAME_MAX,
    PAGE,
    SWEEP_KEY,
    SWEEP_NAME,
    DeploymentSpec,
    Existing,
    SyncReport,
    deployment_name,
    desired_specs,
    ensure_work_pool,
    markdown_text,
    read_app_deployments,
    safe_name,
    sweep_spec,
    sync,
    sync_deployments,
)
from models.db import make_engine
from models.plan import resolve_parties
from models.registry import import_registry, load_registry, shipped_registry
from models.schema import create_schema
from models.store import save_directive, set_status
from models.tables import Directive, Obligation, ObligationStatus
from tests.conftest import EXAMPLES

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "quang-ngai"
START = dt.date(2026, 1, 10)
T = TypeVar("T")


# --- helpers -----------------------------------------------------------------------------


def _on_server(work: Callable[[PrefectClient], Awaitable[T]], writes: list[str] | None = None) -> T:
    """Run ``work`` with a fresh client; record the writes it made in ``writes``."""

    async def spy(response: httpx.Response) -> None:
        request = response.request
        read = request.method == "GET" or request.url.path.endswith(("/filter", "/count"))
        # A 503 ("database is locked" on SQLite) changed nothing; the client sends it again.
        if writes is not None and not read and response.status_code != 503:
            writes.append(f"{request.method} {request.url.path}")

    async def go() -> T:
        async with get_client(httpx_settings={"event_hooks": {"response": [spy]}}) as client:
            return await work(client)

    return asyncio.run(go())


def apply(
    specs: list[DeploymentSpec], *, prune: bool = True, concurrency: int = 1
) -> tuple[SyncReport, list[str]]:
    writes: list[str] = []
    report = _on_server(
        lambda c: sync_deployments(c, specs, prune=prune, concurrency=concurrency), writes
    )
    return report, writes


def specs_of(session: Session, **kwargs: Any) -> list[DeploymentSpec]:
    specs, _ = desired_specs(session, start=START, province=PROVINCE, work_pool_name=None, **kwargs)
    return specs


def deployments() -> dict[str, DeploymentResponse]:
    """The app's deployments by key ("obligation:3", "sweep"), as Prefect's own client
    reads them (not through the sync's reader)."""

    async def read(client: PrefectClient) -> list[DeploymentResponse]:
        tagged = DeploymentFilter(tags=DeploymentFilterTags(all_=[APP_TAG]))
        found: list[DeploymentResponse] = []
        while page := await client.read_deployments(
            deployment_filter=tagged, limit=PAGE, offset=len(found)
        ):
            found += page
        return found

    found = _on_server(read)
    keyed = {_key(d): d for d in found}
    assert len(keyed) == len(found), "two deployments for one key"
    return keyed


def _key(d: DeploymentResponse | Existing) -> str:
    if d.name == INGEST_NAME:
        return INGEST_KEY
    return next((t for t in d.tags if t.startswith("obligation:")), SWEEP_KEY)


@pytest.fixture
def server(prefect_harness: None) -> Iterator[None]:
    """Each test starts with no hanbaocao deployments (the server lives for the session)."""

    async def wipe(client: PrefectClient) -> None:
        tagged = DeploymentFilter(tags=DeploymentFilterTags(all_=[APP_TAG]))
        body = {"deployments": tagged.model_dump(mode="json"), "limit": 50}
        # The bulk endpoint (50 a call) has no client method; deleting one by one would
        # make this fixture the slowest part of the suite after the 200+ test.
        while (await client._client.post("/deployments/bulk_delete", json=body)).json()["deleted"]:
            pass

    _on_server(wipe)
    yield


def _ingest(session: Session, name: str, issuer_province: str) -> list[Obligation]:
    result = save_directive(
        session, parse_file(EXAMPLES / name), actor="admin", issuer_province=issuer_province
    )
    for ob in result.obligations:
        resolve_parties(session, ob, on=START, province=PROVINCE)
    return list(result.obligations)


def _id(ob: Obligation) -> int:
    assert ob.id is not None
    return ob.id


@pytest.fixture
def seeded(session: Session) -> dict[str, Obligation]:
    """Both seed directives; 6966's two annual reports and its "on request" report
    approved, 1503's obligation left proposed."""
    import_registry(session, load_registry(shipped_registry()))
    obs = _ingest(session, "seed-6966-ubnd-ktn-quang-ngai-2024.txt", "quang-ngai")
    (kon_tum,) = _ingest(session, "seed-1503-ubnd-ktth-kon-tum-2022.txt", "kon-tum")
    named = {
        "budget": next(
            ob for ob in obs if ob.frequency == "annual" and ob.via_phrase != "Sở Xây dựng"
        ),
        "report": next(ob for ob in obs if ob.via_phrase == "Sở Xây dựng"),
        "on_request": next(ob for ob in obs if ob.frequency == "on_request"),
        "proposed": kon_tum,
    }
    for key in ("budget", "report", "on_request"):
        set_status(session, _id(named[key]), status=ObligationStatus.approved, actor="admin")
    session.commit()
    return named


def _synthetic(session: Session, count: int, **fields: Any) -> list[Obligation]:
    """``count`` approved obligations of one directive, monthly on the 20th by default."""
    directive = Directive(
        number="77/QĐ-UBND",
        subject="tổng hợp",
        date=dt.date(2025, 3, 1),
        source_name="synthetic",
        source_text="",
        source_sha256="0" * 64,
    )
    session.add(directive)
    session.flush()
    assert directive.id is not None
    values: dict[str, Any] = {
        "frequency": "monthly",
        "deadline": {"kind": "day_of_period", "day": 20},
        "subject": "tình hình thực hiện",
        **fields,
    }
    obs = [
        Obligation(
            directive_id=directive.id,
            clause_index=i,
            clause_text=f"Định kỳ hằng tháng báo cáo tình hình thực hiện (mục {i}).",
            clause_start=0,
            clause_end=0,
            clause_hash=f"{i:064d}",
            status=ObligationStatus.approved,
            **values,
        )
        for i in range(count)
    ]
    session.add_all(obs)
    session.commit()
    return obs


# --- names and text (no server) ------------------------------------------------------------


def test_names_are_what_prefect_accepts_and_keep_vietnamese() -> None:
    nfd = unicodedata.normalize("NFD", "Báo cáo tình hình KH&ĐT 10% <khẩn> #1 / quý?")
    name = deployment_name("12/2025/QĐ-UBND", nfd, "quarterly", 7)
    assert (
        name == "12-2025-QĐ-UBND · Báo cáo tình hình KH＆ĐT 10％ ‹khẩn› ＃1 - quý？ (hằng quý) №7"
    )
    assert unicodedata.is_normalized("NFC", name)
    DeploymentCreate(flow_id=uuid.uuid4(), name=name)  # Prefect's own check passes…
    with pytest.raises(ValueError, match="pattern"):
        DeploymentCreate(flow_id=uuid.uuid4(), name="12/2025/QĐ-UBND")  # …and is real
    assert safe_name("dòng một\ndòng\thai") == "dòng một dòng hai"


def test_long_subjects_are_cut_on_a_word_boundary() -> None:
    subject = "kết quả thực hiện " + "công tác chuyển đổi số và phát triển kinh tế số " * 4
    name = deployment_name("6966/UBND-KTN", subject, "annual", 123)
    assert len(name) <= NAME_MAX
    assert name.startswith("6966-UBND-KTN · Báo cáo kết quả thực hiện công tác")
    assert name.endswith("… (hằng năm) №123")
    cut = name.split(" · ", 1)[1].removesuffix("… (hằng năm) №123").removeprefix("Báo cáo ")
    assert subject.startswith(cut) and subject[len(cut)] == " "  # whole words only


def test_markdown_text_reads_as_written() -> None:
    """Rendered as CommonMark (what the UI does), the clause is the clause: no list, no
    heading, no emphasis, no link, no HTML."""
    from markdown_it import MarkdownIt

    clause = (
        "- Hằng năm, gửi *02 bản* [bản giấy](x) <b>trước</b> 15/12\n"
        "1. Sở Tài chính_tổng_hợp\n---\n# Mục\n> trích"
    )
    html = MarkdownIt("commonmark").render(markdown_text(clause))
    assert html == (
        "<p>- Hằng năm, gửi *02 bản* [bản giấy](x) &lt;b&gt;trước&lt;/b&gt; 15/12<br />\n"
        "1. Sở Tài chính_tổng_hợp<br />\n---<br />\n# Mục<br />\n&gt; trích</p>\n"
    )


def test_fingerprint_follows_content_not_identity() -> None:
    spec = sweep_spec()
    assert spec.fingerprint == sweep_spec().fingerprint
    assert spec.fingerprint != sweep_spec(cron="*/5 * * * *").fingerprint
    assert spec.fingerprint != sweep_spec(work_pool_name="pool").fingerprint
    assert len(spec.fingerprint) == 64


def test_untimed_and_periodless_obligations_are_skipped(session: Session) -> None:
    (dated,) = _synthetic(
        session, 1, frequency="annual", deadline={"kind": "date", "date": "2026-03-01"}
    )
    (once,) = _synthetic(session, 1, frequency="once", deadline={})
    (ok,) = _synthetic(session, 1)
    specs, skipped = desired_specs(
        session, start=START, province=PROVINCE, work_pool_name=None, sweep_cron=None
    )
    assert [s.key for s in specs] == [f"obligation:{ok.id}"]
    reasons = {s.obligation_id: s.reason for s in skipped}
    assert set(reasons) == {dated.id, once.id}
    assert "không có ngày mở kỳ lặp lại" in reasons[_id(dated)]
    assert "tần suất “once” không có kỳ định kỳ" in reasons[_id(once)]


# --- against the server ----------------------------------------------------------------------


def test_first_sync_creates_one_deployment_per_approved_obligation(
    server: None, session: Session, seeded: dict[str, Obligation]
) -> None:
    specs, skipped = desired_specs(session, start=START, province=PROVINCE, work_pool_name=None)
    report, writes = apply(specs)

    report_ob, budget = seeded["report"], seeded["budget"]
    name = f"6966-UBND-KTN · Báo cáo kết quả thực hiện (hằng năm) №{report_ob.id}"
    assert report.created == sorted(
        [
            name,
            f"6966-UBND-KTN · Báo cáo dự toán kinh phí thực hiện Kế hoạch (hằng năm) №{budget.id}",
            SWEEP_NAME,
            INGEST_NAME,
        ]
    )
    assert (report.updated, report.deleted, report.errors) == ([], [], [])
    assert [(s.obligation_id, s.reason) for s in skipped] == [
        (
            seeded["on_request"].id,
            "tần suất “on_request” không có kỳ định kỳ: không có gì để lập lịch",
        )
    ]
    # Four deployments, and the three flows unless an earlier test registered them.
    assert [w for w in writes if w != "POST /api/flows/"] == ["POST /api/deployments/"] * 4
    assert writes.count("POST /api/flows/") <= 3

    found = deployments()
    assert set(found) == {
        f"obligation:{budget.id}",
        f"obligation:{report_ob.id}",
        SWEEP_KEY,
        INGEST_KEY,
    }
    d = found[f"obligation:{report_ob.id}"]
    assert d.name == name
    assert sorted(d.tags) == sorted(
        [
            "hanbaocao",
            f"obligation:{report_ob.id}",
            "directive:6966-ubnd-ktn",
            "frequency:annual",
            "lead:qng-so-xay-dung",
        ]
    )
    assert d.parameters == {"obligation_id": report_ob.id}
    assert d.entrypoint == "flows.cycles.open_cycle"
    assert d.parameter_openapi_schema is not None
    assert d.parameter_openapi_schema["required"] == ["obligation_id"]
    assert d.description is not None
    assert d.description.startswith("Yêu cầu Thủ trưởng các sở, ban, ngành")
    assert "**Tần suất:** hằng năm · **Hạn:** hạn mặc định của tỉnh" in d.description
    assert "**Văn bản:** 6966/UBND-KTN ngày 24/12/2024" in d.description
    assert d.version == next(s for s in specs if s.name == name).fingerprint

    (schedule,) = d.schedules
    assert isinstance(schedule.schedule, RRuleSchedule)
    assert schedule.schedule.timezone == "Asia/Ho_Chi_Minh"
    # The default chain ends before the 25th of December (agencies 21/12, lead 24/12 in
    # 2026), and the cycle opens 30 days before the agencies' deadline.
    assert schedule.schedule.rrule == (
        "DTSTART;TZID=Asia/Ho_Chi_Minh:20261121T080000\n"
        "RRULE:FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=21;BYHOUR=8;BYMINUTE=0"
    )
    # Prefect reads the DTSTART as local time: 08:00 in Việt Nam, 01:00 UTC.
    firings = list(schedule.schedule.to_rrule()[:2])  # type: ignore[index]
    assert [f.astimezone(dt.UTC) for f in firings] == [
        dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC),
        dt.datetime(2027, 11, 21, 1, 0, tzinfo=dt.UTC),
    ]
    assert firings[0].astimezone(VN).time() == dt.time(8, 0)

    swept = found[SWEEP_KEY]
    assert (swept.name, swept.tags, swept.entrypoint) == (
        SWEEP_NAME,
        ["hanbaocao"],
        "flows.cycles.sweep",
    )
    (cron,) = swept.schedules
    assert isinstance(cron.schedule, CronSchedule)
    assert (cron.schedule.cron, cron.schedule.timezone) == ("*/15 * * * *", "Asia/Ho_Chi_Minh")

    # The ingest runs by hand: no schedule, a path parameter the UI asks for.
    loaded = found[INGEST_KEY]
    assert (loaded.entrypoint, loaded.schedules) == ("flows.ingest.ingest", [])
    assert loaded.parameter_openapi_schema["required"] == ["path"]

    # The name works where people type it: `prefect deployment run open-cycle/<name>`.
    async def by_name(client: PrefectClient) -> DeploymentResponse:
        return await client.read_deployment_by_name(f"open-cycle/{name}")

    assert _on_server(by_name).id == d.id


def test_second_sync_writes_nothing(
    server: None, session: Session, seeded: dict[str, Obligation]
) -> None:
    first, _ = apply(specs_of(session))
    before = {k: (d.id, d.updated) for k, d in deployments().items()}

    again, writes = apply(specs_of(session))

    assert writes == []
    assert again.unchanged == first.created and len(again.unchanged) == 4
    assert (again.created, again.updated, again.deleted) == ([], [], [])
    assert {k: (d.id, d.updated) for k, d in deployments().items()} == before


def test_editing_a_deadline_updates_only_that_schedule(
    server: None, session: Session, seeded: dict[str, Obligation]
) -> None:
    apply(specs_of(session))
    before = deployments()
    ob = seeded["report"]
    key = f"obligation:{ob.id}"
    ob.deadline_override = {
        "kind": "day_of_period",
        "day": 15,
        "month": 12,
        "raw": "trước ngày 15/12",
    }
    session.add(ob)
    session.commit()

    report, writes = apply(specs_of(session))

    target = before[key]
    assert report.updated == [target.name]
    assert writes == [f"PATCH /api/deployments/{target.id}"]
    after = deployments()
    assert after[key].id == target.id
    (schedule,) = after[key].schedules
    assert isinstance(schedule.schedule, RRuleSchedule)
    assert schedule.schedule.rrule.startswith("DTSTART;TZID=Asia/Ho_Chi_Minh:20261112T080000\n")
    assert schedule.schedule.timezone == "Asia/Ho_Chi_Minh"
    assert after[key].description is not None
    assert "**Hạn:** trước ngày 15/12 (đã điều chỉnh)" in after[key].description
    assert {k: d.updated for k, d in after.items() if k != key} == {
        k: d.updated for k, d in before.items() if k != key
    }
    assert after[key].updated > target.updated


def test_an_operator_edit_of_the_schedule_is_put_back(
    server: None, session: Session, seeded: dict[str, Obligation]
) -> None:
    apply(specs_of(session))
    key = f"obligation:{seeded['report'].id}"
    target = deployments()[key]
    (schedule,) = target.schedules

    async def edit(client: PrefectClient) -> None:
        daily = RRuleSchedule(rrule="FREQ=DAILY", timezone="UTC")
        await client.update_deployment_schedule(target.id, schedule.id, schedule=daily)

    _on_server(edit)
    report, writes = apply(specs_of(session))

    assert report.updated == [target.name]
    assert writes == [f"PATCH /api/deployments/{target.id}"]
    (restored,) = deployments()[key].schedules
    assert isinstance(restored.schedule, RRuleSchedule)
    assert restored.schedule.rrule.startswith("DTSTART;TZID=Asia/Ho_Chi_Minh:20261121T080000")


def test_rejected_and_withdrawn_obligations_lose_their_deployments(
    server: None, session: Session, seeded: dict[str, Obligation]
) -> None:
    apply(specs_of(session))
    before = deployments()
    budget, report_ob = seeded["budget"], seeded["report"]
    set_status(session, _id(budget), status=ObligationStatus.rejected, actor="admin")
    set_status(session, _id(report_ob), status=ObligationStatus.withdrawn, actor="admin")
    session.commit()

    kept, writes = apply(specs_of(session), prune=False)
    assert (kept.deleted, writes) == ([], [])
    assert len(deployments()) == 4

    pruned, writes = apply(specs_of(session))
    gone = [before[f"obligation:{budget.id}"], before[f"obligation:{report_ob.id}"]]
    assert pruned.deleted == sorted(d.name for d in gone)
    assert sorted(writes) == sorted(f"DELETE /api/deployments/{d.id}" for d in gone)
    assert set(deployments()) == {SWEEP_KEY, INGEST_KEY}


def test_a_renamed_subject_moves_the_same_obligation(
    server: None, session: Session, seeded: dict[str, Obligation]
) -> None:
    apply(specs_of(session))
    ob = seeded["budget"]
    key = f"obligation:{ob.id}"
    old = deployments()[key]
    ob.subject = "kế hoạch kinh phí"
    session.add(ob)
    session.commit()

    report, _ = apply(specs_of(session))

    new_name = f"6966-UBND-KTN · Báo cáo kế hoạch kinh phí (hằng năm) №{ob.id}"
    assert report.renamed == [(old.name, new_name)]
    assert (report.updated, report.deleted, report.created) == ([new_name], [], [])
    after = deployments()  # one deployment per key, or this raises
    assert after[key].name == new_name and len(after) == 4


def test_duplicates_of_an_obligation_are_pruned(
    server: None, session: Session, seeded: dict[str, Obligation]
) -> None:
    apply(specs_of(session))
    key = f"obligation:{seeded['budget'].id}"
    original = deployments()[key]

    async def duplicate(client: PrefectClient) -> None:
        await client.create_deployment(
            flow_id=original.flow_id, name="left over", tags=[APP_TAG, key]
        )

    _on_server(duplicate)
    report, _ = apply(specs_of(session))

    assert report.deleted == ["left over"]
    assert report.unchanged and deployments()[key].id == original.id


def test_a_failing_deployment_does_not_stop_the_others(
    server: None, session: Session, seeded: dict[str, Obligation]
) -> None:
    specs, _ = desired_specs(session, start=START, province=PROVINCE, work_pool_name="no-such-pool")
    report, _ = apply(specs)
    assert len(report.errors) == 4 and not report.ok
    assert {e.action for e in report.errors} == {"create"}
    assert "no-such-pool" in report.errors[0].error

    good = specs_of(session)
    report, _ = apply(good)
    assert len(report.created) == 4 and report.ok


def test_work_pool_is_ensured_once_and_used(
    server: None, session: Session, seeded: dict[str, Obligation], engine: Engine
) -> None:
    pool = f"hanbaocao-test-{uuid.uuid4().hex[:6]}"
    writes: list[str] = []

    async def twice(client: PrefectClient) -> tuple[Any, Any]:
        return await ensure_work_pool(client, pool), await ensure_work_pool(client, pool)

    first, second = _on_server(twice, writes)
    assert first.id == second.id and first.type == "process"
    assert first.base_job_template["job_configuration"]["command"]  # the process template
    assert writes == ["POST /api/work_pools/"]

    report = sync(engine, start=START, province=PROVINCE, work_pool_name=pool)
    assert str(report) == "tạo mới 4, cập nhật 0, giữ nguyên 0, xoá 0, bỏ qua 1"
    assert {d.work_pool_name for d in deployments().values()} == {pool}

    # Back to `serve`: the deployments leave the pool.
    report = sync(engine, start=START, province=PROVINCE)
    assert len(report.updated) == 4
    assert {d.work_pool_name for d in deployments().values()} == {None}


@pytest.fixture
def sqlite_session(tmp_path: Path) -> Iterator[Session]:
    """The app database on SQLite only, for a test about Prefect, not about the backend."""
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    create_schema(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def test_more_deployments_than_one_read_returns(server: None, sqlite_session: Session) -> None:
    session = sqlite_session
    count = PAGE + 1  # with the sweep's and the ingest's: two pages
    _synthetic(session, count)
    specs = specs_of(session)
    assert len(specs) == count + 2

    created, _ = apply(specs)
    assert len(created.created) == count + 2 and created.ok

    async def server_view(client: PrefectClient) -> tuple[int, int]:
        tagged = {
            "deployments": DeploymentFilter(tags=DeploymentFilterTags(all_=[APP_TAG])).model_dump(
                mode="json"
            )
        }
        one_read = await client.request("POST", "/deployments/filter", json=tagged)
        total = await client.request("POST", "/deployments/count", json=tagged)
        return len(one_read.json()), total.json()

    # The server's cap: one read would miss some.
    assert _on_server(server_view) == (PAGE, count + 2)
    mine = _on_server(read_app_deployments)
    assert len({d.id for d in mine}) == len(mine) == count + 2
    assert {_key(d) for d in mine} == {s.key for s in specs}

    again, writes = apply(specs)
    assert writes == [] and len(again.unchanged) == count + 2
    assert (again.created, again.deleted) == ([], [])
