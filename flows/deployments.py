"""One Prefect deployment per approved obligation, plus the sweep's and the ingest's (no
schedule: an operator runs it from the UI with the path of a directive file): declared
here, applied only when changed.

``desired_specs`` turns the approved obligations into ``DeploymentSpec`` values (what each
deployment should be); ``sync_deployments`` makes the server match them: it reads the
deployments tagged ``hanbaocao`` (200 rows per call, the server's limit), creates what is
missing, updates what changed, deletes what no approved obligation wants any more, and
leaves the rest untouched. ``sync`` is the door the CLI uses.

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
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
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
from prefect.client.schemas.schedules import CronSchedule, RRuleSchedule
from prefect.client.schemas.sorting import DeploymentSort
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.utilities.asyncutils import run_coro_as_sync
from prefect.utilities.callables import parameter_schema
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from directives.model import FREQUENCY_VI, Deadline
from flows.artifacts import slug
from flows.cycles import open_cycle, sweep
from flows.ingest import ingest
from models.agency import Agency
from models.calendar import PERIODIC, OpeningPolicy, UnsupportedDeadline, opening_rrule
from models.db import TIMEZONE, session_scope
from models.tables import Directive, Obligation, ObligationStatus

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.flows import Flow

APP_TAG = "hanbaocao"
OBLIGATION_TAG = "obligation:"
ZALO_REFRESH_KEY = "zalo-token-refresh"  # also its tag: see flows/zalo_refresh.py
SWEEP_KEY = "sweep"
SWEEP_NAME = "hanbaocao-sweep"
SWEEP_CRON = "*/15 * * * *"  # every 15 minutes, local time
OPENING_SLUG = "opening"  # the slug of an obligation deployment's only schedule
SWEEP_SLUG = "sweep"
INGEST_KEY = "ingest"
INGEST_NAME = "hanbaocao-ingest"
PAGE = 200  # the server's maximum rows per read (PREFECT_SERVER_API_DEFAULT_LIMIT)
DEFAULT_CONCURRENCY = 1  # writes in flight; see sync_deployments
NAME_MAX = 80  # the UI's lists cut longer names
# Part of every fingerprint: changing how specs are rendered re-applies them all once.
SPEC_FORMAT = 1

# Prefect refuses / % & < > in names; # and ? are accepted but break lookups by name
# (the client puts the name in the URL path unquoted: `prefect deployment run` fails).
# Full-width look-alikes keep the text readable; NFC leaves them alone.
_NAME_CHARS = str.maketrans(
    {"/": "-", "\\": "-", "%": "％", "&": "＆", "<": "‹", ">": "›", "#": "＃", "?": "？"}
)
FREQUENCY_LABELS = {
    **FREQUENCY_VI,
    # No periods, so no deployment: these appear only in the names of skipped obligations.
    "none": "chưa rõ tần suất",
    "unspecified": "chưa rõ tần suất",
}


# --- specs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """An RRULE (with its DTSTART line) or a cron expression, in a named time zone."""

    kind: Literal["rrule", "cron"]
    text: str
    timezone: str = TIMEZONE

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # an unknown zone raises here, not in the middle of a sync
        if self.kind == "rrule":
            rrulestr(self.text)  # ValueError on a bad rule

    def to_prefect(self) -> RRuleSchedule | CronSchedule:
        """Prefect's schedule object, the same as ``prefect.schedules.RRule(text,
        timezone=…)`` gives. Built without Prefect's validation: it checks the time zone
        against ``zoneinfo.available_timezones()``, which walks the whole tz database on
        every call (~20 ms, a third of a 300-deployment sync). ``__post_init__`` checked
        the zone and the rule; the server validates the schedule again on arrival."""
        if self.kind == "rrule":
            return RRuleSchedule.model_construct(rrule=self.text, timezone=self.timezone)
        return CronSchedule.model_construct(cron=self.text, timezone=self.timezone, day_or=True)

    def matches(self, existing: ExistingSchedule) -> bool:
        """The server's schedule says the same thing (it stores the text as given)."""
        return (existing.kind, existing.text, existing.timezone) == (
            self.kind,
            self.text,
            self.timezone,
        )


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    """What one deployment should be. ``key`` is its identity ("obligation:12", "sweep");
    ``fingerprint`` goes into the deployment's ``version``."""

    key: str
    name: str
    flow_name: str
    entrypoint: str
    parameters: dict[str, Any] = field(hash=False)
    tags: tuple[str, ...]
    description: str
    schedule: ScheduleSpec | None  # None: run by hand (the ingest)
    schedule_slug: str | None
    parameter_schema: dict[str, Any] = field(hash=False, repr=False)
    work_pool_name: str | None = None

    @property
    def fingerprint(self) -> str:
        normalised = {
            "format": SPEC_FORMAT,
            "key": self.key,
            "name": self.name,
            "flow": self.flow_name,
            "entrypoint": self.entrypoint,
            "parameters": self.parameters,
            "tags": sorted(self.tags),
            "description": self.description,
            "schedule": self.schedule
            and [self.schedule.kind, self.schedule.text, self.schedule.timezone],
            "slug": self.schedule_slug,
            "schema": self.parameter_schema,
            "pool": self.work_pool_name,
        }
        text = json.dumps(normalised, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(unicodedata.normalize("NFC", text).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Skipped:
    """An approved obligation that gets no deployment, and why."""

    obligation_id: int
    name: str
    reason: str


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

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        counts = (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.deleted)} deleted"
        )
        extra = [f"{len(self.skipped)} skipped"] if self.skipped else []
        extra += [f"{len(self.errors)} failed"] if self.errors else []
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


# --- naming and text ---------------------------------------------------------------------


def safe_name(text: str) -> str:
    """``text`` as Prefect accepts it in a deployment name: NFC, one line, no characters
    that Prefect refuses or that break a lookup by name."""
    nfc = unicodedata.normalize("NFC", text).translate(_NAME_CHARS)
    return " ".join("".join(ch if ch.isprintable() else " " for ch in nfc).split())


def _shorten(text: str, limit: int) -> str:
    """Cut on a word boundary, marking the cut with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in cut:  # mid-word: drop the partial word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:·-–") + "…"


def report_title(subject: str | None) -> str:
    """ "kết quả thực hiện" → "Báo cáo kết quả thực hiện"."""
    text = " ".join(unicodedata.normalize("NFC", subject or "").split())
    if not text:
        return "Báo cáo"
    if not text.casefold().startswith("báo cáo"):
        text = f"báo cáo {text}"
    return text[0].upper() + text[1:]


def deployment_name(
    number: str | None, subject: str | None, frequency: str, obligation_id: int
) -> str:
    """ "6966-UBND-KTN · Báo cáo kết quả thực hiện (hằng năm) №3", at most ``NAME_MAX``
    characters: the subject is shortened on a word boundary; the rest always shows."""
    head = safe_name(number) if number else "Văn bản"
    tail = f" ({FREQUENCY_LABELS.get(frequency, frequency)}) №{obligation_id}"
    room = NAME_MAX - len(head) - len(" · ") - len(tail)
    return f"{head} · {_shorten(safe_name(report_title(subject)), max(room, 12))}{tail}"


_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_MD_BULLET = re.compile(r"^(\s*)([-+#=])", re.MULTILINE)  # list, heading, underline
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)  # "1." starts a numbered list


def markdown_text(text: str) -> str:
    """Plain text that reads the same once the UI renders it as markdown: "- Hằng năm"
    stays a dash and "3. Sở Xây dựng" a number, not lists; "*" and "_" stay as written;
    no HTML gets through. Only ASCII punctuation can be escaped, hence "3\\." not "\\3."."""
    escaped = _MD_INLINE.sub(r"\\\1", unicodedata.normalize("NFC", text.strip()))
    escaped = _MD_BULLET.sub(r"\1\\\2", escaped)
    escaped = _MD_ORDERED.sub(r"\1\\\2", escaped)
    # A single newline is a space in markdown; the clause's line breaks are meant.
    return escaped.replace("\n", "  \n")


def deadline_label(rule: Deadline, *, overridden: bool) -> str:
    """What the deadline rule says, in the clause's words when it has them."""
    if rule.raw:
        text = rule.raw
    elif rule.kind == "none":
        text = "hạn mặc định của tỉnh (văn bản không nêu hạn)"
    elif rule.kind == "day_of_period" and rule.day is not None:
        text = f"ngày {rule.day}" + (f"/{rule.month}" if rule.month else "")
        text += f" {rule.anchor}" if rule.anchor else ""
    elif rule.kind == "relative" and rule.offset_days is not None:
        unit = "ngày làm việc" if rule.working_days else "ngày"
        text = f"{rule.offset_days} {unit}" + (f" từ {rule.anchor}" if rule.anchor else "")
    elif rule.date:
        text = f"ngày {rule.date}"
    else:
        text = rule.kind
    if rule.time:
        text += f", {rule.time}"
    return f"{text} (đã điều chỉnh)" if overridden else text


def _description(ob: Obligation, directive: Directive, rule: Deadline) -> str:
    frequency = FREQUENCY_LABELS.get(ob.frequency, ob.frequency)
    deadline = deadline_label(rule, overridden=ob.deadline_override is not None)
    source = directive.number or f"văn bản #{directive.id}"
    if directive.date:
        source += f" ngày {directive.date:%d/%m/%Y}"
    lines = [
        markdown_text(ob.clause_text),
        "",
        f"**Tần suất:** {markdown_text(frequency)} · **Hạn:** {markdown_text(deadline)}",
        "",
        f"**Văn bản:** {markdown_text(source)}"
        + (f" — {markdown_text(directive.subject)}" if directive.subject else ""),
    ]
    return "\n".join(lines)


# --- desired state -----------------------------------------------------------------------


def _entrypoint(flow: Flow[..., Any]) -> str:
    """The module path a worker imports (``EntrypointType.MODULE_PATH``)."""
    return f"{flow.fn.__module__}.{flow.fn.__name__}"


@cache
def _schema(flow_name: str) -> dict[str, Any]:
    flows: dict[str, Flow[..., Any]] = {f.name: f for f in (open_cycle, sweep, ingest)}
    flow = flows[flow_name]
    return parameter_schema(flow).model_dump(exclude_unset=True)


def obligation_tags(ob: Obligation, directive: Directive, lead_code: str | None) -> tuple[str, ...]:
    number = slug(directive.number) if directive.number else str(directive.id)
    tags = [
        APP_TAG,
        f"{OBLIGATION_TAG}{ob.id}",
        f"directive:{number}",
        f"frequency:{ob.frequency}",
    ]
    if lead_code:
        tags.append(f"lead:{lead_code}")
    return tuple(tags)


def obligation_spec(
    ob: Obligation,
    directive: Directive,
    *,
    lead_code: str | None,
    start: date,
    province: str,
    work_pool_name: str | None = None,
) -> DeploymentSpec:
    """The deployment of one approved obligation; ``UnsupportedDeadline`` when its
    deadline has no recurring day, ``ValueError`` when its frequency has no periods."""
    assert ob.id is not None
    if ob.frequency not in PERIODIC:
        raise ValueError(f"frequency {ob.frequency!r} has no periods: nothing to schedule")
    rule = Deadline(**(ob.deadline_override or ob.deadline or {}))
    rrule = opening_rrule(ob.frequency, rule, start=start, policy=OpeningPolicy(province=province))
    return DeploymentSpec(
        key=f"{OBLIGATION_TAG}{ob.id}",
        name=_name(directive, ob),
        flow_name=open_cycle.name,
        entrypoint=_entrypoint(open_cycle),
        parameters={"obligation_id": ob.id},
        tags=obligation_tags(ob, directive, lead_code),
        description=_description(ob, directive, rule),
        schedule=ScheduleSpec("rrule", rrule),
        schedule_slug=OPENING_SLUG,
        parameter_schema=_schema(open_cycle.name),
        work_pool_name=work_pool_name,
    )


def sweep_spec(*, cron: str = SWEEP_CRON, work_pool_name: str | None = None) -> DeploymentSpec:
    """The sweep on a frequent cron, in local time (office hours are local); ValueError
    for a cron expression Prefect would refuse."""
    CronSchedule(cron=cron, timezone=TIMEZONE)  # Prefect's own check, once
    return DeploymentSpec(
        key=SWEEP_KEY,
        name=SWEEP_NAME,
        flow_name=sweep.name,
        entrypoint=_entrypoint(sweep),
        parameters={},
        tags=(APP_TAG,),
        description=(
            "Quét định kỳ: nhắc hạn, đôn đốc quá hạn, gửi thông báo trong hàng đợi, "
            "cập nhật bảng theo dõi từng kỳ báo cáo."
        ),
        schedule=ScheduleSpec("cron", cron),
        schedule_slug=SWEEP_SLUG,
        parameter_schema=_schema(sweep.name),
        work_pool_name=work_pool_name,
    )


def ingest_spec(*, work_pool_name: str | None = None) -> DeploymentSpec:
    """The ingest, run by hand: its ``path`` names a directive file on the worker's
    machine (the UI asks for it)."""
    return DeploymentSpec(
        key=INGEST_KEY,
        name=INGEST_NAME,
        flow_name=ingest.name,
        entrypoint=_entrypoint(ingest),
        parameters={},
        tags=(APP_TAG,),
        description=(
            "Nạp một văn bản: đường dẫn (path) tới tệp .txt, .md, .docx hoặc .pdf trên máy "
            "chạy worker; các nghĩa vụ báo cáo tìm thấy chờ quản trị duyệt "
            "(`hanbaocao obligations list` hoặc trang /admin)."
        ),
        schedule=None,
        schedule_slug=None,
        parameter_schema=_schema(ingest.name),
        work_pool_name=work_pool_name,
    )


def desired_specs(
    session: Session,
    *,
    start: date,
    province: str,
    work_pool_name: str | None,
    sweep_cron: str | None = SWEEP_CRON,
) -> tuple[list[DeploymentSpec], list[Skipped]]:
    """A spec per approved obligation (in id order), the sweep's and the ingest's (unless
    ``sweep_cron`` is None); the approved obligations that cannot be scheduled."""
    rows = session.exec(
        select(Obligation, Directive)
        .join(Directive, col(Directive.id) == col(Obligation.directive_id))
        .where(Obligation.status == ObligationStatus.approved)
        .order_by(col(Obligation.id))
    ).all()
    leads = _lead_codes(session, {ob.lead_agency_id for ob, _ in rows} - {None})
    specs: list[DeploymentSpec] = []
    skipped: list[Skipped] = []
    for ob, directive in rows:
        assert ob.id is not None
        if ob.frequency not in PERIODIC:
            reason = f"“{ob.frequency}” has no periods: nothing to schedule"
            skipped.append(Skipped(ob.id, _name(directive, ob), reason))
            continue
        try:
            specs.append(
                obligation_spec(
                    ob,
                    directive,
                    lead_code=leads.get(ob.lead_agency_id) if ob.lead_agency_id else None,
                    start=start,
                    province=province,
                    work_pool_name=work_pool_name,
                )
            )
        except UnsupportedDeadline as exc:
            skipped.append(Skipped(ob.id, _name(directive, ob), str(exc)))
    if sweep_cron is not None:
        specs.append(sweep_spec(cron=sweep_cron, work_pool_name=work_pool_name))
        specs.append(ingest_spec(work_pool_name=work_pool_name))
    from flows.zalo_refresh import refresh_spec, zalo_configured

    if zalo_configured():
        specs.append(refresh_spec(work_pool_name=work_pool_name))
    return specs, skipped


def _name(directive: Directive, ob: Obligation) -> str:
    assert ob.id is not None
    return deployment_name(directive.number, ob.subject, ob.frequency, ob.id)


def _lead_codes(session: Session, ids: set[int | None]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Agency.id, Agency.code).where(col(Agency.id).in_(ids))).all()
    return {agency_id: code for agency_id, code in rows if agency_id is not None}


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
        return await sync_deployments(client, specs, prune=prune, concurrency=concurrency)


__all__ = [
    "APP_TAG",
    "SWEEP_CRON",
    "DeploymentSpec",
    "ScheduleSpec",
    "Skipped",
    "SyncError",
    "SyncReport",
    "desired_specs",
    "ensure_work_pool",
    "ingest_spec",
    "obligation_spec",
    "sweep_spec",
    "sync",
    "sync_deployments",
]
