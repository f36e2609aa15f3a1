"""What the deployments should be, with no Prefect client call: one ``DeploymentSpec`` per
approved obligation (``obligation_spec``), the sweep's and the ingest's, their names,
descriptions, tags and schedules. ``flows.deployments`` makes the server match them.

- An obligation's identity is its ``obligation:<id>`` tag, never the deployment name: the
  name is for people (directive number, subject, frequency) and changes when they do.
- Every spec has a fingerprint (sha256 of its normalised content) stored in the
  deployment's ``version``: "unchanged" is one string comparison.
- Deployments point at module paths (``flows.cycles.open_cycle``): a process worker runs
  them from the installed package, with no code storage and no pull steps.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from prefect.client.schemas.schedules import CronSchedule, RRuleSchedule
from prefect.utilities.callables import parameter_schema
from sqlmodel import Session, col, select

from directives.parsed import FREQUENCY_VI, Deadline
from flows.artifacts import slug
from flows.cycles import open_cycle, sweep
from flows.ingest import ingest
from models.agency import Agency
from models.calendar import PERIODIC, OpeningPolicy, UnsupportedDeadline, opening_rrule
from models.db import TIMEZONE
from models.tables import Directive, Obligation, ObligationStatus

if TYPE_CHECKING:
    from prefect.flows import Flow

    from flows.deployments import ExistingSchedule

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


_WEEKDAY_VI = {
    "MO": "thứ Hai",
    "TU": "thứ Ba",
    "WE": "thứ Tư",
    "TH": "thứ Năm",
    "FR": "thứ Sáu",
    "SA": "thứ Bảy",
    "SU": "Chủ nhật",
}
_TIMES_A_YEAR = {1: "Hằng năm", 2: "6 tháng một lần", 3: "4 tháng một lần", 4: "Hằng quý"}


def schedule_words(rrule: str) -> str:
    """An opening schedule (``opening_rrule``'s DTSTART and RRULE lines) in words:
    "Hằng năm, mở kỳ 08:00 ngày 20/11 (lần đầu 20/11/2026)". A rule of another shape
    is given as it is, after "Lịch RRULE:"."""
    lines = dict(line.split(":", 1) for line in rrule.splitlines() if ":" in line)
    parts = dict(p.split("=", 1) for p in lines.get("RRULE", "").split(";") if "=" in p)
    first = re.match(
        r"(\d{4})(\d{2})(\d{2})", next((v for k, v in lines.items() if k.startswith("DTSTART")), "")
    )
    try:
        at = f"{int(parts['BYHOUR']):02d}:{int(parts.get('BYMINUTE', '0')):02d}"
        day = int(parts["BYMONTHDAY"]) if "BYMONTHDAY" in parts else None
        months = [int(m) for m in parts["BYMONTH"].split(",")] if "BYMONTH" in parts else []
        if parts["FREQ"] == "YEARLY" and day is not None and months:
            how = _TIMES_A_YEAR.get(len(months), f"Mỗi năm {len(months)} lần")
            days = [f"{day:02d}/{m:02d}" for m in months]
            when = days[0] if len(days) == 1 else f"{', '.join(days[:-1])} và {days[-1]}"
            text = f"{how}, mở kỳ {at} ngày {when}"
        elif parts["FREQ"] == "MONTHLY" and day is not None:
            text = f"Hằng tháng, mở kỳ {at} ngày {day:02d}"
        elif parts["FREQ"] == "WEEKLY" and parts.get("BYDAY") in _WEEKDAY_VI:
            text = f"Hằng tuần, mở kỳ {at} {_WEEKDAY_VI[parts['BYDAY']]}"
        else:
            raise KeyError(parts.get("FREQ"))
    except (KeyError, ValueError):
        return f"Lịch RRULE: {' '.join(rrule.split())}"
    if first:
        text += f" (lần đầu {first[3]}/{first[2]}/{first[1]})"
    return text


def cron_words(cron: str) -> str:
    """The sweep's cron in words when it is a plain "every N minutes"."""
    every = re.fullmatch(r"\*/(\d+) \* \* \* \*", cron.strip())
    if every:
        return f"Mỗi {int(every[1])} phút"
    return "Mỗi phút" if cron.strip() == "* * * * *" else f"Lịch cron: {cron}"


def _description(ob: Obligation, directive: Directive, rule: Deadline, rrule: str) -> str:
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
        f"**Lịch mở kỳ:** {markdown_text(schedule_words(rrule))}, giờ Việt Nam. Hệ thống "
        "tính lại ngày mở kỳ và hạn nộp chính xác theo ngày làm việc khi chạy.",
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
        raise ValueError(f"tần suất {ob.frequency!r} không có kỳ báo cáo: không có gì để lập lịch")
    rule = Deadline(**(ob.deadline_override or ob.deadline or {}))
    rrule = opening_rrule(ob.frequency, rule, start=start, policy=OpeningPolicy(province=province))
    return DeploymentSpec(
        key=f"{OBLIGATION_TAG}{ob.id}",
        name=_name(directive, ob),
        flow_name=open_cycle.name,
        entrypoint=_entrypoint(open_cycle),
        parameters={"obligation_id": ob.id},
        tags=obligation_tags(ob, directive, lead_code),
        description=_description(ob, directive, rule, rrule),
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
            "cập nhật bảng theo dõi từng kỳ báo cáo.\n\n"
            f"**Lịch:** {markdown_text(cron_words(cron))}, giờ Việt Nam."
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
            reason = f"tần suất “{ob.frequency}” không có kỳ định kỳ: không có gì để lập lịch"
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


__all__ = [
    "APP_TAG",
    "SWEEP_CRON",
    "DeploymentSpec",
    "ScheduleSpec",
    "Skipped",
    "deployment_name",
    "desired_specs",
    "ingest_spec",
    "markdown_text",
    "obligation_spec",
    "safe_name",
    "schedule_words",
    "sweep_spec",
]
