"""One Prefect deployment per approved obligation, plus the sweep's and the ingest's (no
schedule: an operator runs it from the UI with the path of a directive file): declared
here, applied only when changed.

``flows.specs.desired_specs`` turns the approved obligations into ``DeploymentSpec``
values (what each deployment should be, with no client call); ``sync_deployments`` makes
the server match them: it reads the deployments tagged ``hanbaocao`` (200 rows per call,
the server's limit), creates what is missing, updates what changed, deletes what no
approved obligation wants any more, and leaves the rest untouched. ``sync`` is the door
the CLI uses.

Why it is built this way:

- An obligation's identity is its ``obligation:<id>`` tag, never the deployment name: the
  name is for people (directive number, subject, frequency) and changes when they do.
- Every spec has a fingerprint (sha256 of its normalised content) stored in the
  deployment's ``version``: "unchanged" is one string comparison, and an unchanged
  obligation costs no API write at all. The schedule is compared as well, because it is
  what decides when cycles open and an operator can edit it in the UI.
- Deployments point at module paths (``flows.cycles.open_cycle``): a process worker runs
  them from the installed package, with no code storage and no pull steps.
- Prefect registers deployments one by one (``serve()``/``apply()``: a flow upsert, the
  deployment, its automations; about 0.3 s each on SQLite). Here the flows are registered
  once per sync, a deployment costs one request, and no response is parsed through
  Prefect's models (their time-zone check walks the tz database for every schedule).
  Writes can overlap (``concurrency``), which pays only on a PostgreSQL server: SQLite
  answers overlapping writes with "database is locked" (see ``sync_deployments``).

Why over 600 lines: it is the one place that writes to Prefect (deployments,
schedules, the Automation), each write with its idempotent compare; the pure specs and
names are in specs.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.actions import (
    DeploymentScheduleCreate,
    DeploymentScheduleUpdate,
    DeploymentUpdate,
    WorkPoolCreate,
)
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterTags,
    FlowFilter,
    FlowFilterName,
)
from prefect.client.schemas.objects import WorkPool
from prefect.client.schemas.sorting import DeploymentSort
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy.engine import Engine
from sqlmodel import Session

from flows.cycles import sweep
from flows.ingest import ingest
from flows.specs import (  # re-exported: callers and tests import them from here
    APP_TAG,
    FREQUENCY_LABELS,
    INGEST_KEY,
    INGEST_NAME,
    NAME_MAX,
    OBLIGATION_TAG,
    OPENING_SLUG,
    SPEC_FORMAT,
    SWEEP_CRON,
    SWEEP_KEY,
    SWEEP_NAME,
    SWEEP_SLUG,
    ZALO_REFRESH_KEY,
    DeploymentSpec,
    ScheduleSpec,
    Skipped,
    deadline_label,
    deployment_name,
    desired_specs,
    ingest_spec,
    markdown_text,
    obligation_spec,
    obligation_tags,
    report_title,
    safe_name,
    sweep_spec,
)
from models.db import session_scope

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.events.schemas.automations import AutomationCore

PAGE = 200  # the server's maximum rows per read (PREFECT_SERVER_API_DEFAULT_LIMIT)
DEFAULT_CONCURRENCY = 1  # writes in flight; see sync_deployments


# --- what the server holds, what a sync did ------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncError:
    name: str
    action: Literal["create", "update", "delete"]
    error: str


@dataclass(slots=True)
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old, new); also updated
    errors: list[SyncError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    automation: str = ""  # what became of the overdue Automation (ensure_overdue_automation)

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        counts = (
            f"tạo mới {len(self.created)}, cập nhật {len(self.updated)}, "
            f"giữ nguyên {len(self.unchanged)}, xoá {len(self.deleted)}"
        )
        extra = [f"bỏ qua {len(self.skipped)}"] if self.skipped else []
        extra += [f"lỗi {len(self.errors)}"] if self.errors else []
        return ", ".join([counts, *extra])


@dataclass(frozen=True, slots=True)
class ExistingSchedule:
    id: UUID
    slug: str | None
    kind: str  # "rrule", "cron", "interval"
    text: str | None
    timezone: str | None

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> ExistingSchedule:
        schedule: dict[str, Any] = row.get("schedule") or {}
        kind = next((k for k in ("rrule", "cron", "interval") if k in schedule), "other")
        text = schedule.get(kind)
        return cls(
            id=UUID(row["id"]),
            slug=row.get("slug"),
            kind=kind,
            text=None if text is None else str(text),
            timezone=schedule.get("timezone"),
        )


@dataclass(frozen=True, slots=True)
class Existing:
    """What the sync needs to know of a deployment on the server."""

    id: UUID
    name: str
    flow_id: UUID
    version: str | None
    tags: tuple[str, ...]
    schedules: tuple[ExistingSchedule, ...]

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Existing:
        return cls(
            id=UUID(row["id"]),
            name=row["name"],
            flow_id=UUID(row["flow_id"]),
            version=row.get("version"),
            tags=tuple(row.get("tags") or ()),
            schedules=tuple(ExistingSchedule.from_json(s) for s in row.get("schedules") or ()),
        )


# --- applying ----------------------------------------------------------------------------


async def read_app_deployments(client: PrefectClient) -> list[Existing]:
    """Every deployment tagged ``hanbaocao``, ``PAGE`` rows per call.

    The same request as ``client.read_deployments``, read as plain JSON: Prefect's response
    model re-validates each schedule's time zone by walking the tz database (see
    ``ScheduleSpec.to_prefect``), which made reading 300 deployments take 2.5 s."""
    tagged = DeploymentFilter(tags=DeploymentFilterTags(all_=[APP_TAG]))
    body: dict[str, Any] = {
        "deployments": tagged.model_dump(mode="json"),
        "limit": PAGE,
        "sort": DeploymentSort.NAME_ASC.value,
    }
    found: dict[UUID, Existing] = {}
    offset = 0
    while True:
        response = await client.request(
            "POST", "/deployments/filter", json={**body, "offset": offset}
        )
        page = [Existing.from_json(row) for row in response.json()]
        found.update((d.id, d) for d in page)
        if len(page) < PAGE:
            return list(found.values())
        offset += PAGE


async def ensure_flows(
    client: PrefectClient, names: Iterable[str], *, look_up: Iterable[str] = ()
) -> dict[str, UUID]:
    """The ids of the flows ``names``, registering those the server does not know yet
    (an upsert is still a write: an unchanged sync must make none), and of the flows
    ``look_up`` that exist."""
    wanted = set(names)
    known = await client.read_flows(
        flow_filter=FlowFilter(name=FlowFilterName(any_=sorted(wanted | set(look_up)))),
        limit=PAGE,
    )
    ids = {flow.name: flow.id for flow in known}
    for name in sorted(wanted - set(ids)):
        ids[name] = await client.create_flow_from_name(name)
    return ids


async def ensure_work_pool(client: PrefectClient, name: str, type: str = "process") -> WorkPool:
    """The work pool ``name``, created with the worker type's default job template when
    missing; an existing pool is left as it is (its type included)."""
    try:
        return await client.read_work_pool(name)
    except ObjectNotFound:
        pass
    from prefect.workers.base import BaseWorker

    worker = BaseWorker.get_worker_class_from_type(type)
    template = worker.get_default_base_job_template() if worker else {}
    try:
        return await client.create_work_pool(
            WorkPoolCreate(name=name, type=type, base_job_template=template)
        )
    except ObjectAlreadyExists:  # another process created it in between
        return await client.read_work_pool(name)


def _key(deployment: Existing, flow_names: dict[UUID, str]) -> str | None:
    """Which spec an existing deployment stands for; None: not ours to manage."""
    for tag in deployment.tags:
        if tag.startswith(OBLIGATION_TAG) or tag == ZALO_REFRESH_KEY:
            return tag
    return {sweep.name: SWEEP_KEY, ingest.name: INGEST_KEY}.get(
        flow_names.get(deployment.flow_id, "")
    )


def _unchanged(spec: DeploymentSpec, deployment: Existing) -> bool:
    if deployment.version != spec.fingerprint:
        return False
    if spec.schedule is None:
        return not deployment.schedules
    ours = [s for s in deployment.schedules if s.slug == spec.schedule_slug]
    return len(ours) == len(deployment.schedules) == 1 and spec.schedule.matches(ours[0])


@dataclass(slots=True)
class _Plan:
    create: list[DeploymentSpec] = field(default_factory=list)
    update: list[tuple[DeploymentSpec, Existing]] = field(default_factory=list)
    # A new name: Prefect cannot rename a deployment, so create the new one, then delete.
    replace: list[tuple[DeploymentSpec, Existing]] = field(default_factory=list)
    delete: list[Existing] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def plan(
    specs: Sequence[DeploymentSpec],
    existing: Sequence[Existing],
    flow_ids: dict[str, UUID],
    *,
    prune: bool,
) -> _Plan:
    """What to write so that the server holds exactly ``specs``."""
    flow_names = {flow_id: name for name, flow_id in flow_ids.items()}
    by_key: dict[str, list[Existing]] = {}
    for deployment in existing:
        key = _key(deployment, flow_names)
        if key is not None:
            by_key.setdefault(key, []).append(deployment)
    todo = _Plan()
    for spec in specs:
        found = by_key.pop(spec.key, [])
        same = [d for d in found if d.name == spec.name and d.flow_id == flow_ids[spec.flow_name]]
        if same:
            keep = same[0]
            if _unchanged(spec, keep):
                todo.unchanged.append(spec.name)
            else:
                todo.update.append((spec, keep))
        elif found:
            keep = found[0]
            todo.replace.append((spec, keep))
        else:
            todo.create.append(spec)
            continue
        if prune:  # duplicates of one obligation (an interrupted rename, say)
            todo.delete.extend(d for d in found if d is not keep)
    if prune:
        todo.delete.extend(d for gone in by_key.values() for d in gone)
    return todo


async def sync_deployments(
    client: PrefectClient,
    specs: Sequence[DeploymentSpec],
    *,
    prune: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> SyncReport:
    """Make the ``hanbaocao`` deployments match ``specs``; an unchanged spec costs no
    write. Failures are collected in the report, one per deployment, not raised.

    ``concurrency`` bounds the writes in flight. Keep 1 for a Prefect server on SQLite:
    overlapping writes fail there with "database is locked" (HTTP 503) and the client backs
    off for seconds (60 creations: 3.0 s one at a time, 13.9 s eight at a time). A server
    on PostgreSQL takes a few at once (2 cores: 2.4 s at 1, 1.9 s at 4, 3.3 s at 8)."""
    keys = [spec.key for spec in specs]
    if len(set(keys)) != len(keys):
        raise ValueError("two specs for the same obligation")
    flow_ids = await ensure_flows(
        client, {s.flow_name for s in specs}, look_up=[sweep.name, ingest.name]
    )
    todo = plan(specs, await read_app_deployments(client), flow_ids, prune=prune)
    report = SyncReport(unchanged=todo.unchanged)
    writer = _Writer(client, flow_ids, report)
    await _bounded(
        [
            *(writer.create(spec) for spec in todo.create),
            *(writer.update(spec, d) for spec, d in todo.update),
            *(writer.replace(spec, d) for spec, d in todo.replace),
        ],
        concurrency,
    )
    await _bounded([writer.delete(d) for d in todo.delete], concurrency)
    for names in (report.created, report.updated, report.unchanged, report.deleted):
        names.sort()
    return report


async def _bounded(jobs: Sequence[Awaitable[None]], limit: int) -> None:
    """Run ``jobs`` at most ``limit`` at a time."""
    gate = asyncio.Semaphore(max(1, limit))

    async def one(job: Awaitable[None]) -> None:
        async with gate:
            await job

    await asyncio.gather(*(one(job) for job in jobs))


@dataclass(slots=True)
class _Writer:
    client: PrefectClient
    flow_ids: dict[str, UUID]
    report: SyncReport

    async def create(self, spec: DeploymentSpec) -> None:
        if await self._try("create", spec.name, lambda: self._create(spec)):
            self.report.created.append(spec.name)

    async def update(self, spec: DeploymentSpec, deployment: Existing) -> None:
        if await self._try("update", spec.name, lambda: self._update(spec, deployment)):
            self.report.updated.append(spec.name)

    async def replace(self, spec: DeploymentSpec, deployment: Existing) -> None:
        # Create first: a failure then leaves a duplicate (pruned next time), not a gap.
        if not await self._try("create", spec.name, lambda: self._create(spec)):
            return
        self.report.updated.append(spec.name)
        self.report.renamed.append((deployment.name, spec.name))
        await self._try("delete", deployment.name, lambda: self._delete(deployment))

    async def delete(self, deployment: Existing) -> None:
        if await self._try("delete", deployment.name, lambda: self._delete(deployment)):
            self.report.deleted.append(deployment.name)

    async def _try(
        self,
        action: Literal["create", "update", "delete"],
        name: str,
        call: Callable[[], Awaitable[None]],
    ) -> bool:
        try:
            await call()
        except Exception as exc:  # one bad deployment must not stop the others
            self.report.errors.append(SyncError(name, action, f"{type(exc).__name__}: {exc}"))
            return False
        return True

    async def _create(self, spec: DeploymentSpec) -> None:
        schedules = []
        if spec.schedule is not None:
            schedules.append(
                DeploymentScheduleCreate(
                    schedule=spec.schedule.to_prefect(), slug=spec.schedule_slug
                )
            )
        await self.client.create_deployment(
            flow_id=self.flow_ids[spec.flow_name],
            name=spec.name,
            version=spec.fingerprint,
            schedules=schedules,
            parameters=spec.parameters,
            description=spec.description,
            tags=list(spec.tags),
            entrypoint=spec.entrypoint,
            parameter_openapi_schema=spec.parameter_schema,
            work_pool_name=spec.work_pool_name,
        )

    async def _update(self, spec: DeploymentSpec, deployment: Existing) -> None:
        # With slugs on both sides the server patches the schedule in place (keeping its
        # active flag, which an operator may have turned off); otherwise it replaces them.
        schedules = []
        if spec.schedule is not None:
            schedules.append(
                DeploymentScheduleUpdate(
                    schedule=spec.schedule.to_prefect(), slug=spec.schedule_slug
                )
            )
        await self.client.update_deployment(
            deployment.id,
            DeploymentUpdate(
                version=spec.fingerprint,
                description=spec.description,
                parameters=spec.parameters,
                tags=list(spec.tags),
                entrypoint=spec.entrypoint,
                parameter_openapi_schema=spec.parameter_schema,
                work_pool_name=spec.work_pool_name,
                schedules=schedules,
            ),
        )
        await self._drop_other_schedules(spec, deployment)

    async def _drop_other_schedules(self, spec: DeploymentSpec, deployment: Existing) -> None:
        """The server keeps slugged schedules it was not sent: one schedule per deployment
        is the spec, so the others go (a slug-less one was already replaced)."""
        if not all(s.slug for s in deployment.schedules):
            return
        for other in deployment.schedules:
            if other.slug != spec.schedule_slug:
                await self.client.delete_deployment_schedule(deployment.id, other.id)

    async def _delete(self, deployment: Existing) -> None:
        with suppress(ObjectNotFound):  # already gone: what we wanted
            await self.client.delete_deployment(deployment.id)


# --- the operators' Automation --------------------------------------------------------------

OVERDUE_AUTOMATION = "hanbaocao · kỳ báo cáo quá hạn"
OPERATOR_BLOCK = "hanbaocao-operators"  # a notification block the operators create
_OVERDUE_SUBJECT = "[hanbaocao] Quá hạn: {{ event.resource.name }}"
_OVERDUE_BODY = (
    "Kỳ báo cáo {{ event.resource.name }} đã quá hạn: {{ event.payload.missing }} cơ quan "
    "chưa nộp báo cáo (lúc {{ event.payload.at }}). Sở chủ trì: {{ event.payload.lead }}. "
    "Xem danh sách trong trạng thái lượt chạy của kỳ (Quá hạn) và trang /admin."
)


async def ensure_overdue_automation(client: PrefectClient, *, block: str = OPERATOR_BLOCK) -> str:
    """One Automation that sends ``hanbaocao.cycle.overdue`` to the operators through the
    notification block named ``block`` (Slack, Microsoft Teams, SendGrid email, a custom
    webhook: whatever the operators use; Prefect keeps its secret, not us). Created once,
    rewritten only when it differs, duplicates removed. What happened, in Vietnamese."""
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    from flows.events import CYCLE_OVERDUE

    block_id = await _notification_block(client, block)
    if block_id is None:
        return (
            f"chưa tạo Automation báo quá hạn: Prefect chưa có khối thông báo “{block}” "
            "(tạo trong Prefect UI, mục Blocks, rồi chạy lại sync)"
        )
    wanted = AutomationCore(
        name=OVERDUE_AUTOMATION,
        description="Báo cho người vận hành khi một kỳ báo cáo quá hạn mà còn cơ quan chưa nộp.",
        tags=[APP_TAG],
        trigger=EventTrigger(
            expect={CYCLE_OVERDUE},
            match={"prefect.resource.id": "hanbaocao.cycle.*"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id, subject=_OVERDUE_SUBJECT, body=_OVERDUE_BODY
            )
        ],
    )
    found = await client.read_automations_by_name(OVERDUE_AUTOMATION)
    if not found:
        await client.create_automation(wanted)
        return f"đã tạo Automation “{OVERDUE_AUTOMATION}” (gửi qua khối “{block}”)"
    keep, *extra = sorted(found, key=lambda a: str(a.id))
    for duplicate in extra:
        await client.delete_automation(duplicate.id)
    if _same_automation(keep, wanted):
        return f"Automation “{OVERDUE_AUTOMATION}” không đổi"
    await client.update_automation(keep.id, wanted)
    return f"đã cập nhật Automation “{OVERDUE_AUTOMATION}” (gửi qua khối “{block}”)"


def _same_automation(have: AutomationCore, want: AutomationCore) -> bool:
    fields = {"name", "description", "enabled", "tags", "trigger", "actions"}
    return bool(
        have.model_dump(mode="json", include=fields) == want.model_dump(mode="json", include=fields)
    )


async def _notification_block(client: PrefectClient, name: str) -> UUID | None:
    """The id of the block document ``name`` that can notify (any block type)."""
    body = {"block_documents": {"name": {"any_": [name]}}, "include_secrets": False}
    response = await client.request("POST", "/block_documents/filter", json=body)
    for row in response.json():
        capabilities = (row.get("block_schema") or {}).get("capabilities") or []
        if row.get("name") == name and "notify" in capabilities:
            return UUID(row["id"])
    return None


# --- the CLI's door ------------------------------------------------------------------------

SessionFactory = Callable[[], AbstractContextManager[Session]]


def sync(
    source: Engine | SessionFactory,
    *,
    start: date,
    province: str,
    work_pool_name: str | None = None,
    sweep_cron: str | None = SWEEP_CRON,
    prune: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> SyncReport:
    """Sync the deployments of the approved obligations in ``source`` (an engine, or a
    callable returning a session context) with the Prefect API the settings point at;
    the work pool is created first when named and missing.

    ``start`` anchors each schedule's DTSTART and is part of the fingerprint: pass a date
    that does not move (the day obligations were approved, the installation date), or
    each deployment is rewritten once per period as its first firing moves on."""
    factory: SessionFactory = (
        (lambda: session_scope(source)) if isinstance(source, Engine) else source
    )
    with factory() as session:
        specs, skipped = desired_specs(
            session,
            start=start,
            province=province,
            work_pool_name=work_pool_name,
            sweep_cron=sweep_cron,
        )
    report: SyncReport = run_coro_as_sync(
        _sync(specs, work_pool_name=work_pool_name, prune=prune, concurrency=concurrency)
    )
    report.skipped.extend(skipped)
    return report


async def _sync(
    specs: Sequence[DeploymentSpec],
    *,
    work_pool_name: str | None,
    prune: bool,
    concurrency: int,
) -> SyncReport:
    async with get_client() as client:
        if work_pool_name:
            await ensure_work_pool(client, work_pool_name)
        report = await sync_deployments(client, specs, prune=prune, concurrency=concurrency)
        try:
            report.automation = await ensure_overdue_automation(client)
        except Exception as exc:  # the deployments are what matters; say what failed
            report.automation = (
                f"không tạo được Automation báo quá hạn: {type(exc).__name__}: {exc}"
            )
        return report


__all__ = [
    "APP_TAG",
    "FREQUENCY_LABELS",
    "INGEST_KEY",
    "INGEST_NAME",
    "NAME_MAX",
    "OBLIGATION_TAG",
    "OPENING_SLUG",
    "OPERATOR_BLOCK",
    "OVERDUE_AUTOMATION",
    "SPEC_FORMAT",
    "SWEEP_CRON",
    "SWEEP_KEY",
    "SWEEP_NAME",
    "SWEEP_SLUG",
    "ZALO_REFRESH_KEY",
    "DeploymentSpec",
    "ScheduleSpec",
    "Skipped",
    "SyncError",
    "SyncReport",
    "deadline_label",
    "deployment_name",
    "desired_specs",
    "ensure_overdue_automation",
    "ensure_work_pool",
    "ingest_spec",
    "markdown_text",
    "obligation_spec",
    "obligation_tags",
    "report_title",
    "safe_name",
    "sweep_spec",
    "sync",
    "sync_deployments",
]
