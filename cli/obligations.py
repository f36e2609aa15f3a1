"""`hanbaocao obligations …`: the administrator reviews what the parser proposed, fills
in what the text left open, and approves or rejects.

Every command is one transaction: it is committed whole or not at all (a refused
approval of several IDs changes none of them). Reading commands (`list`, `show`)
resolve not-yet-resolved parties against the registry inside a transaction that is
rolled back, so what they show is what an approval would find, and nothing is written.

Exit codes: 0 done (or nothing to do), 1 refused or not found (nothing written),
2 a usage error or a database that is not ready.

The ``--deadline`` syntax is ``DEADLINE_RULES`` below (`obligations edit --help` prints
it). A rule is evaluated for the coming periods before it is saved: one the calendar
cannot place (a day of the month for a weekly report, 20/12 for a monthly one) is
refused at edit time, not discovered when the cycle should open.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.data import fail, require_current_schema
from cli.render import FLAG_TEXT, STYLE
from directives.model import FREQUENCY_VI, PERIODIC, Deadline, describe_deadline

if TYPE_CHECKING:  # SQLModel tables cost ~0.25 s to import; `parse` never needs them
    from sqlmodel import Session

    from models.agency import Agency
    from models.plan import CyclePlan
    from models.tables import Directive, Obligation, ObligationParty

DEADLINE_RULES = """\
Deadline rules (--deadline), each stored as the parser's Deadline:

    rule               meaning                                         stored as
    default            the province's default for the frequency        kind none
    DD/MM, ngày DD/MM  day DD of month MM: annual each year (a month   day_of_period
                       before the cut-off month is the next year:      with day, month
                       30/4 is 30/4 of the following year); semiannual
                       and quarterly at the same place in each period
    DD, ngày DD        day DD of the period's last month (a monthly    day_of_period,
                       report: of the month itself)                    "tháng cuối kỳ báo cáo"
    DD next            day DD of the month after the period            day_of_period,
                                                                       "tháng sau"
    +N, +Nwd           N calendar / working days after the period      relative, "sau khi
                       ends                                            kết thúc kỳ báo cáo"
    … HH:MM            any of the above at a time of day (20/12 14:00) time "HH:MM"
    anything else      a deadline as a clause states it, read by the parser's grammar:
                       "trước ngày 15 của tháng cuối quý", "chậm nhất ngày 15 tháng 01
                       năm kế tiếp", "trong thời hạn 05 ngày làm việc sau khi kết thúc quý"

A rule is checked against the coming periods before it is saved."""

obligations_app = typer.Typer(
    help="Reporting obligations: review, complete, approve or reject.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)

SYNC_NOTE = "The Prefect deployments follow at the next `hanbaocao sync` / `hanbaocao up`."
SHOWN_CYCLES = 3
# Anchors in the calendar's own vocabulary (models.calendar matches them): "kỳ báo cáo"
# is the obligation's own period, so a rule keeps its meaning if the frequency changes.
LAST_MONTH = "tháng cuối kỳ báo cáo"
MONTH_AFTER = "tháng sau"
PERIOD_END = "sau khi kết thúc kỳ báo cáo"

ROLE_WORDS = {"submitter": "submitters", "recipient": "recipient", "via": "lead (thông qua)"}
PARTY_FLAG_WORDS = {
    "group_dissolved": "the group no longer exists",
    "dissolved": "ended with no successor in the registry",
    "unknown": "not in the registry",
    "empty_group": "name no agency in the registry",
}


class Status(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class Frequency(StrEnum):
    annual = "annual"
    semiannual = "semiannual"
    quarterly = "quarterly"
    monthly = "monthly"
    weekly = "weekly"


ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who decides (audit trail); default: your login")
]


# --- the deadline syntax -----------------------------------------------------------------


class DeadlineSyntaxError(ValueError):
    """A ``--deadline`` that is neither a compact rule nor a clause's phrase."""


_TIME_SUFFIX = re.compile(r"^(?P<body>.*\S)\s+(?P<h>\d{1,2})\s*(?::|h|giờ)\s*(?P<m>\d{2})?$")
_NGAY = re.compile(r"^(?:trước\s+)?ngày\s+", re.IGNORECASE)
_DAY_MONTH = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})")
_DAY = re.compile(r"(\d{1,2})")
_DAY_NEXT = re.compile(r"(\d{1,2})\s+next", re.IGNORECASE)
_AFTER_END = re.compile(r"\+\s*(\d{1,3})\s*(wd)?", re.IGNORECASE)
DEFAULT_WORDS = ("default", "none", "mặc định")


def parse_deadline(text: str) -> Deadline:
    """A ``--deadline`` rule (see the module's docstring) as the parser's Deadline."""
    raw = " ".join(unicodedata.normalize("NFC", text).split())
    if not raw:
        raise DeadlineSyntaxError("empty deadline")
    if raw.casefold() in DEFAULT_WORDS:
        return Deadline(kind="none")
    rule = _compact(raw)
    return rule if rule is not None else _as_written(raw)


def _compact(raw: str) -> Deadline | None:
    body, at = raw, None
    if m := _TIME_SUFFIX.match(raw):
        hour, minute = int(m["h"]), int(m["m"] or 0)
        if hour > 23 or minute > 59:
            raise DeadlineSyntaxError(f"no such time of day in {raw!r}")
        body, at = m["body"], f"{hour:02d}:{minute:02d}"
    body = _NGAY.sub("", body)
    if m := _DAY_MONTH.fullmatch(body):
        day, month = int(m[1]), int(m[2])
        _check_day(raw, day, month)
        return Deadline(kind="day_of_period", day=day, month=month, time=at, raw=raw)
    if m := (_DAY.fullmatch(body) or _DAY_NEXT.fullmatch(body)):
        _check_day(raw, int(m[1]))
        anchor = LAST_MONTH if m.re is _DAY else MONTH_AFTER
        return Deadline(kind="day_of_period", day=int(m[1]), time=at, anchor=anchor, raw=raw)
    if m := _AFTER_END.fullmatch(body):
        return Deadline(
            kind="relative",
            offset_days=int(m[1]),
            working_days=bool(m[2]),
            time=at,
            anchor=PERIOD_END,
            raw=raw,
        )
    return None


def _check_day(raw: str, day: int, month: int | None = None) -> None:
    try:
        dt.date(2024, month or 1, day)  # a leap year: 29/2 exists
    except ValueError:
        raise DeadlineSyntaxError(f"no such day in {raw!r}") from None


def _as_written(raw: str) -> Deadline:
    """A deadline as a clause states it, read by the parser's own grammar."""
    from directives.text import fold
    from directives.timing import deadline_mentions

    # "ngày 15/12" and "15/12/2026" as a clause would put them: "trước ngày …".
    text = raw
    if raw[0].isdigit():
        text = f"trước ngày {raw}"
    elif raw.casefold().startswith("ngày"):
        text = f"trước {raw}"
    found = deadline_mentions(fold(text), text)
    if len(found) != 1:
        what = "no deadline" if not found else f"{len(found)} deadlines"
        raise DeadlineSyntaxError(
            f"{what} in {raw!r}: use DD/MM, DD, 'DD next', +N, +Nwd or 'default' "
            "(optionally followed by HH:MM), or a clause's phrase such as "
            "'trước ngày 15 của tháng cuối quý'"
        )
    rule = found[0].deadline
    rule.raw = raw
    return rule


# --- the session -------------------------------------------------------------------------


@dataclass(slots=True)
class _Ctx:
    session: Session
    today: dt.date  # local (Asia/Ho_Chi_Minh) day of models.clock's now
    province: str
    actor: str


@contextmanager
def _opened(actor: str | None = None) -> Iterator[_Ctx]:
    """One session = one transaction; the caller commits, anything else rolls back."""
    from sqlmodel import Session

    from models.db import settings

    engine = require_current_schema()
    with Session(engine) as session:
        yield _Ctx(session, _today(), settings().province, actor or _login())


def _today() -> dt.date:
    from models import clock
    from models.db import TZ

    try:
        return clock.now().astimezone(TZ).date()
    except ValueError as exc:  # a bad HANBAOCAO_NOW
        fail(str(exc), 1)


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "cli"


def _obligation(ctx: _Ctx, obligation_id: int) -> Obligation:
    from models.tables import Obligation

    ob = ctx.session.get(Obligation, obligation_id)
    if ob is None:
        fail(f"no obligation {obligation_id}: see `hanbaocao obligations list`", 1)
    return ob


def _obligations(ctx: _Ctx, ids: Sequence[int]) -> list[Obligation]:
    from models.tables import Obligation

    unique = list(dict.fromkeys(ids))
    found = {i: ctx.session.get(Obligation, i) for i in unique}
    missing = [str(i) for i, ob in found.items() if ob is None]
    if missing:
        fail(f"no obligation {', '.join(missing)}: nothing changed", 1)
    return [ob for ob in found.values() if ob is not None]


def _parties(ctx: _Ctx, ob: Obligation) -> list[ObligationParty]:
    """The obligation's parties, resolved against the registry today if never resolved."""
    from sqlmodel import col, select

    from models.plan import resolve_parties
    from models.tables import ObligationParty

    stmt = select(ObligationParty).where(ObligationParty.obligation_id == ob.id)
    rows = list(ctx.session.exec(stmt.order_by(col(ObligationParty.id))))
    if rows:
        return rows
    return resolve_parties(ctx.session, ob, on=ctx.today, province=ctx.province)


def _agency_by_code(ctx: _Ctx, code: str, what: str) -> Agency:
    """The agency with this code active today; else fail with the closest ones."""
    from sqlmodel import select

    from models.agency import Agency
    from models.registry import list_agencies, resolve

    rows = list(ctx.session.exec(select(Agency).where(Agency.code == code)))
    # The same code in two provinces: the registry's own province wins.
    rows.sort(key=lambda a: a.province != ctx.province)
    if not rows:
        active = list_agencies(ctx.session, on=ctx.today)
        codes = sorted(a.code for a in active)
        fail(f"no agency with code {code!r} for {what}{_closest(ctx, code, codes)}", 1)
    agency = rows[0]
    if not agency.active_on(ctx.today):
        heirs = resolve(ctx.session, agency.name, on=ctx.today, province=ctx.province).agencies
        today = f": today {', '.join(a.code for a in heirs)}" if heirs else ""
        fail(f"{agency.code} ({agency.name}) no longer exists on {_d(ctx.today)}{today}", 1)
    return agency


def _closest(ctx: _Ctx, text: str, codes: list[str]) -> str:
    import difflib

    from models.registry import candidates

    near = difflib.get_close_matches(text, codes, n=3, cutoff=0.6)
    # A name typed instead of a code ("Sở Tài chính"): match it as a phrase.
    by_name = candidates(ctx.session, text.replace("-", " "), on=ctx.today, limit=3)
    near += [a.code for a in by_name if a.code not in near]
    return f"; closest: {', '.join(near[:5])}" if near else "; see `hanbaocao agencies list`"


# --- what an obligation still needs --------------------------------------------------------


def _schedule_problem(ctx: _Ctx, ob: Obligation) -> str | None:
    """Why the obligation's cycles cannot be computed, or None when they can."""
    from models.calendar import UnsupportedDeadline
    from models.plan import PlanError

    if ob.frequency not in PERIODIC:
        return (
            f"obligation {ob.id} has no periodic schedule ({_timing(ob.frequency)}): set one "
            f"with `hanbaocao obligations edit {ob.id} --frequency annual --deadline 15/12` "
            "(frequency: annual, semiannual, quarterly, monthly or weekly; leave --deadline "
            "out for the province's default; rules: `hanbaocao obligations edit --help`)"
        )
    try:
        _upcoming(ctx, ob)
    except (PlanError, UnsupportedDeadline, ValueError) as exc:
        return (
            f"obligation {ob.id}: the deadline rule “{describe_deadline(_rule(ob))}” does not "
            f"fit a report due {_freq(ob.frequency)} ({ob.frequency}): {exc}; set another with "
            f"`hanbaocao obligations edit {ob.id} --deadline RULE`"
        )
    return None


def _party_problems(ctx: _Ctx, ob: Obligation, parties: list[ObligationParty]) -> list[str]:
    problems = [_party_problem(ctx, ob, p) for p in parties if p.flag]
    if not any(str(p.role) == "submitter" for p in parties):
        problems.append(
            f"obligation {ob.id} names no submitter: nobody would report; reject it with "
            f"`hanbaocao obligations reject {ob.id}`"
        )
    if ob.recipient_agency_id is None and not any(str(p.role) == "recipient" for p in parties):
        problems.append(
            f"obligation {ob.id} names no recipient: set one with "
            f"`hanbaocao obligations edit {ob.id} --recipient CODE`"
        )
    return problems


def _party_problem(ctx: _Ctx, ob: Obligation, party: ObligationParty) -> str:
    from models.registry import candidates

    role = str(party.role)
    what = party.note or PARTY_FLAG_WORDS.get(str(party.flag), str(party.flag))
    said = f"obligation {ob.id}: {ROLE_WORDS[role]} “{party.phrase}”: {what}"
    if party.suggested_group:
        return (
            f"{said}; accept the suggested {party.suggested_group} with "
            f"`hanbaocao obligations approve {ob.id} --accept-suggestions`"
        )
    if role == "submitter":
        return f"{said}; correct the registry (`hanbaocao agencies import FILE`) or reject it"
    option = "--recipient" if role == "recipient" else "--lead"
    near = candidates(ctx.session, party.phrase, on=ctx.today, limit=3)
    hint = f" (closest: {', '.join(a.code for a in near)})" if near else ""
    return f"{said}; set it with `hanbaocao obligations edit {ob.id} {option} CODE`{hint}"


def _accept_suggestions(ctx: _Ctx, parties: list[ObligationParty]) -> list[ObligationParty]:
    """Take every suggested successor group; the parties it changed."""
    from models.plan import accept_suggestion

    taken = [p for p in parties if p.flag and p.suggested_group]
    for party in taken:
        accept_suggestion(ctx.session, party, actor=ctx.actor)
    return taken


# --- cycles ------------------------------------------------------------------------------


def _rule(ob: Obligation) -> Deadline:
    return Deadline(**(ob.deadline_override or ob.deadline or {}))


def _upcoming(ctx: _Ctx, ob: Obligation, count: int = SHOWN_CYCLES) -> list[CyclePlan]:
    """The next ``count`` cycles whose deadlines are still ahead. A report may fall due
    after its period (annual, due 30/4 of the next year): start a period back."""
    from models.calendar import period_containing
    from models.plan import plan_cycles

    first = period_containing(ob.frequency, ctx.today).previous()
    last = first
    for _ in range(count + 1):
        last = last.next()
    plans = plan_cycles(ob, start=first.start, end=last.end, province=ctx.province)
    ahead = [p for p in plans if (p.lead_due or p.due).day >= ctx.today]
    return ahead[:count]


# --- list --------------------------------------------------------------------------------


@obligations_app.command("list")
def list_(
    status: Annotated[
        Status | None, typer.Option(help="Only this status; default: all but withdrawn")
    ] = None,
    directive: Annotated[
        str | None, typer.Option(help="Only this directive: 6966/UBND-KTN, or just 6966")
    ] = None,
) -> None:
    """List obligations with what each still needs before approval."""
    with _opened() as ctx:
        rows = _listed(ctx, status, directive)
        table = Table(title=f"{len(rows)} obligation{'' if len(rows) == 1 else 's'}", expand=True)
        for name in ("id", "directive", "how often", "status"):
            table.add_column(name, no_wrap=True)
        for name, ratio in (("by when", 2), ("submitters", 3), ("lead", 2), ("recipient", 2)):
            table.add_column(name, ratio=ratio)
        table.add_column("needs", ratio=4)
        for ob, directive_row in rows:
            table.add_row(*_list_row(ctx, ob, directive_row, _parties(ctx, ob)))
        ctx.session.rollback()  # resolving to show is not deciding: write nothing
    out.print(table)


def _listed(
    ctx: _Ctx, status: Status | None, number: str | None
) -> list[tuple[Obligation, Directive]]:
    from sqlmodel import col, select

    from models.tables import Directive, Obligation

    stmt = select(Obligation, Directive).join(
        Directive, col(Directive.id) == Obligation.directive_id
    )
    if status is not None:
        stmt = stmt.where(Obligation.status == status.value)
    else:
        stmt = stmt.where(Obligation.status != Status.withdrawn.value)
    if number:
        if "/" in number:
            stmt = stmt.where(Directive.number == number)
        else:
            stmt = stmt.where(col(Directive.number).startswith(f"{number}/"))
    return [(ob, d) for ob, d in ctx.session.exec(stmt.order_by(col(Obligation.id)))]


def _list_row(
    ctx: _Ctx, ob: Obligation, directive: Directive, parties: list[ObligationParty]
) -> list[Text | str]:
    rule = _rule(ob)
    pending = str(ob.status) == Status.proposed
    return [
        str(ob.id),
        Text(directive.number or directive.source_name),
        Text(_freq(ob.frequency), style=STYLE["frequency"]),
        _status(str(ob.status)),
        Text(describe_deadline(rule), style=STYLE["deadline"]),
        Text(_submitters(ctx, ob, parties)),
        Text(_named(ctx, ob.lead_agency_id, ob.via_phrase)),
        Text(_named(ctx, ob.recipient_agency_id, ob.recipient_phrase)),
        # Only an undecided obligation needs anything; a rejected one needs nothing.
        Text("; ".join(_flags(ob, parties)) if pending else "", style="yellow"),
    ]


def _submitters(ctx: _Ctx, ob: Obligation, parties: list[ObligationParty]) -> str:
    mine = [p for p in parties if str(p.role) == "submitter"]
    if not mine:
        return "; ".join(ob.submitter_phrases or ob.inherited_submitters) or "—"
    agencies = [p for p in mine if p.agency_id and not p.flag]
    parts = [f"group {p.group_key}" for p in mine if p.group_key and not p.flag]
    if len(agencies) > 2:
        parts.append(f"{len(agencies)} agencies")
    else:
        parts += [_named(ctx, p.agency_id, p.phrase) for p in agencies]
    parts += [f"? {p.phrase}" for p in mine if p.flag]
    return "; ".join(parts)


def _named(ctx: _Ctx, agency_id: int | None, phrase: str | None) -> str:
    from models.agency import Agency

    agency = ctx.session.get(Agency, agency_id) if agency_id else None
    if agency is not None:
        return agency.name
    return f"? {phrase}" if phrase else "—"


def _flags(ob: Obligation, parties: list[ObligationParty]) -> list[str]:
    """What the administrator must still look at, in words."""
    flags: list[str] = []
    if ob.frequency == "none":
        flags.append(FLAG_TEXT["no_timing"])
    elif ob.frequency not in PERIODIC:
        flags.append(f"not periodic ({_freq(ob.frequency)}) — needs a schedule")
    for party in parties:
        if party.flag:
            flags.append(_party_flag(party))
    settled = {
        "no_timing": True,  # derived from the frequency above
        "no_recipient": ob.recipient_agency_id is not None,
        "no_submitter": any(str(p.role) == "submitter" and not p.flag for p in parties),
    }
    flags += [FLAG_TEXT.get(f, f) for f in ob.flags if not settled.get(f, False)]
    return flags


def _party_flag(party: ObligationParty) -> str:
    if party.suggested_group:
        return f"addressee no longer exists: {party.phrase} → suggested {party.suggested_group}"
    what = PARTY_FLAG_WORDS.get(str(party.flag), str(party.flag))
    return f"{ROLE_WORDS[str(party.role)]} {what}: {party.phrase}"


# --- show --------------------------------------------------------------------------------


@obligations_app.command("show")
def show(obligation_id: Annotated[int, typer.Argument(help="The obligation's id")]) -> None:
    """Everything about one obligation: its clause, what was read from it and from
    which words, who it names today, what it still needs and its next cycles."""
    from models.tables import Directive

    with _opened() as ctx:
        ob = _obligation(ctx, obligation_id)
        directive = ctx.session.get(Directive, ob.directive_id)
        assert directive is not None  # a foreign key with ON DELETE CASCADE
        parties = _parties(ctx, ob)
        out.print(_heading(ob, directive))
        out.print(_clause(ob))
        out.print(_fields(ob))
        out.print(_party_table(ctx, parties))
        for flag in _flags(ob, parties):
            out.print(Text(f"needs: {flag}", style="yellow"))
        _print_cycles(ctx, ob)
        out.print(_history(ctx, ob, parties))
        ctx.session.rollback()  # resolving to show is not deciding: write nothing


def _heading(ob: Obligation, directive: Directive) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    issued = f", {_d(directive.date)}" if directive.date else ""
    grid.add_row("Obligation", Text(f"{ob.id} of {directive.number or directive.source_name}"))
    grid.add_row("Issued by", Text(f"{directive.issuer or '—'}{issued}"))
    if directive.subject:
        grid.add_row("Subject", Text(directive.subject))
    decided = ""
    if ob.approved_by and ob.approved_at:
        decided = f" by {ob.approved_by}, {_local(ob.approved_at)}"
    grid.add_row("Status", Text.assemble(_status(str(ob.status)), decided))
    return grid


def _clause(ob: Obligation) -> Table:
    """The clause as written, the words of each fact in the field's colour."""
    text = Text(" ".join(ob.clause_text.split()))
    for field, style in STYLE.items():
        for ev in ob.evidence.get(field, []):
            at = text.plain.find(ev.get("text", ""))
            if at != -1 and ev.get("text"):
                text.stylize(style, at, at + len(ev["text"]))
    box = Table(title="Clause", title_justify="left", show_header=False, expand=True)
    box.add_column()
    box.add_row(text)
    return box


def _fields(ob: Obligation) -> Table:
    table = Table(title="Read from the clause", title_justify="left")
    for name in ("field", "value", "from the words"):
        table.add_column(name)
    who = "; ".join(ob.submitter_phrases)
    if not who and ob.inherited_submitters:
        who = f"{'; '.join(ob.inherited_submitters)} (from the section heading)"
    rows = [
        ("How often", "frequency", _freq(ob.frequency)),
        ("By when", "deadline", describe_deadline(Deadline(**(ob.deadline or {})))),
        ("Who", "submitters", who or "—"),
        ("To whom", "recipient", ob.recipient_phrase or "—"),
        ("Through", "via", ob.via_phrase or "—"),
        ("What", "subject", ob.subject or "—"),
    ]
    for label, field, value in rows:
        words = " … ".join(ev.get("text", "") for ev in ob.evidence.get(field, []))
        table.add_row(label, Text(value, style=STYLE.get(field, "")), Text(words or "—"))
    if ob.deadline_override is not None:
        override = describe_deadline(Deadline(**ob.deadline_override))
        table.add_row("By when (set)", Text(override, style=STYLE["deadline"]), "administrator")
    table.add_row("Reminders", _ladder_text(ob), "administrator" if ob.ladder else "default")
    table.add_row("Confidence", f"{ob.confidence:.2f}", "")
    return table


def _ladder_text(ob: Obligation) -> str:
    from models.calendar import DEFAULT_LADDER, Ladder

    ladder = Ladder.from_data(ob.ladder) if ob.ladder else DEFAULT_LADDER
    return ", ".join(f"{s.name} ({s.anchor}{s.offset:+d}, {s.audience})" for s in ladder.stages)


def _party_table(ctx: _Ctx, parties: list[ObligationParty]) -> Table:
    table = Table(title=f"Parties in the registry on {_d(ctx.today)}", title_justify="left")
    for name in ("role", "as written", "who that is today", "note"):
        table.add_column(name)
    for party in parties:
        table.add_row(
            str(party.role),
            Text(party.phrase),
            Text(_resolved(ctx, party), style="yellow" if party.flag else ""),
            Text(party.note or ""),
        )
    return table


def _resolved(ctx: _Ctx, party: ObligationParty) -> str:
    from models.registry import list_agencies

    if party.flag:
        return _party_flag(party)
    if party.group_key:
        members = list_agencies(
            ctx.session, on=ctx.today, group=party.group_key, province=ctx.province
        )
        return f"group {party.group_key}: {len(members)} agencies"
    return _named(ctx, party.agency_id, party.phrase)


def _print_cycles(ctx: _Ctx, ob: Obligation) -> None:
    from models.calendar import period_label
    from models.plan import cycle_agencies

    problem = _schedule_problem(ctx, ob)
    if problem is not None:
        out.print(Text(f"no cycles: {problem}", style="yellow"))
        return
    plans = _upcoming(ctx, ob)
    table = Table(title="Next cycles", title_justify="left")
    for name in ("period", "opens", "agencies' deadline", "lead's deadline", "agencies"):
        table.add_column(name, no_wrap=True)
    for plan in plans:
        who = cycle_agencies(ctx.session, ob, on=plan.opens_at.date(), province=ctx.province)
        table.add_row(
            f"{period_label(plan.period.key)} ({plan.period.key})",
            _local(plan.opens_at),
            _local(plan.due.at),
            _local(plan.lead_due.at) if plan.lead_due else "—",
            str(len(who.agencies)) + (f" (+{len(who.flags)} unresolved)" if who.flags else ""),
        )
    out.print(table)
    if plans:
        source = (plans[0].lead_due or plans[0].due).source
        if ob.deadline_override and ob.deadline_override.get("kind") != "none":
            source = "set by the administrator"
        out.print(Text(f"deadline source: {source}"))
    for warning in dict.fromkeys(w for plan in plans for w in plan.warnings):
        out.print(Text(f"warning: {warning}", style="yellow"))


def _history(ctx: _Ctx, ob: Obligation, parties: list[ObligationParty]) -> Table:
    from sqlmodel import and_, col, or_, select

    from models.tables import AuditEvent

    party_ids = [p.id for p in parties if p.id is not None]
    stmt = select(AuditEvent).where(
        or_(
            and_(col(AuditEvent.entity) == "obligation", col(AuditEvent.entity_id) == ob.id),
            and_(
                col(AuditEvent.entity) == "obligation_party",
                col(AuditEvent.entity_id).in_(party_ids),
            ),
        )
    )
    table = Table(title="History", title_justify="left")
    for name in ("at", "who", "what"):
        table.add_column(name)
    for event in ctx.session.exec(stmt.order_by(col(AuditEvent.at), col(AuditEvent.id))):
        table.add_row(_local(event.at), Text(event.actor), event.action)
    return table


# --- approve and reject ------------------------------------------------------------------


@obligations_app.command("approve")
def approve(
    obligation_ids: Annotated[list[int], typer.Argument(help="One or more obligation ids")],
    accept_suggestions: Annotated[
        bool,
        typer.Option(
            "--accept-suggestions",
            help="Take the registry's suggested successor for a dissolved addressee "
            "(UBND các huyện → commune_committees)",
        ),
    ] = False,
    actor: ActorOption = None,
) -> None:
    """Approve obligations: all of them, or none when one still needs something."""
    with _opened(actor) as ctx:
        obligations = _obligations(ctx, obligation_ids)
        problems: list[str] = []
        done: list[str] = []
        for ob in obligations:
            problems += _approve_one(ctx, ob, accept_suggestions, done)
        if problems:
            for problem in problems:
                err.print(f"[bold red]error:[/] {escape(problem)}", highlight=False)
            err.print("Nothing was approved.", highlight=False)
            raise typer.Exit(1)
        ctx.session.commit()
    for line in done:
        out.print(Text(line))
    if any("approved by" in line for line in done):
        out.print(SYNC_NOTE, highlight=False)


def _approve_one(ctx: _Ctx, ob: Obligation, accept: bool, done: list[str]) -> list[str]:
    """The reasons ``ob`` cannot be approved (then nothing is kept), else approve it."""
    from models.store import IllegalTransition, set_status
    from models.tables import ObligationStatus

    if ob.status == ObligationStatus.approved:
        done.append(f"obligation {ob.id} is already approved: nothing to do")
        return []
    if ob.status == ObligationStatus.withdrawn:
        return [
            f"obligation {ob.id} is withdrawn (its directive was superseded): decide on "
            "the new version's obligation"
        ]
    parties = _parties(ctx, ob)
    taken = _accept_suggestions(ctx, parties) if accept else []
    schedule = _schedule_problem(ctx, ob)
    problems = [schedule] if schedule else []
    problems += _party_problems(ctx, ob, parties)
    if problems:
        return problems
    assert ob.id is not None
    try:
        set_status(
            ctx.session, ob.id, status=ObligationStatus.approved, actor=ctx.actor, now=_now()
        )
    except IllegalTransition as exc:
        return [str(exc)]
    done += [f"obligation {ob.id}: {_accepted(p)}" for p in taken]
    done.append(f"obligation {ob.id} approved by {ctx.actor}{_first_cycle(ctx, ob)}")
    return []


def _accepted(party: ObligationParty) -> str:
    return f"“{party.phrase}” → group {party.group_key} (suggestion accepted)"


def _first_cycle(ctx: _Ctx, ob: Obligation) -> str:
    from models.calendar import period_label

    plans = _upcoming(ctx, ob, count=1)
    if not plans:
        return ""
    plan = plans[0]
    return f"; next cycle {period_label(plan.period.key)}, agencies due {_local(plan.due.at)}"


@obligations_app.command("reject")
def reject(
    obligation_ids: Annotated[list[int], typer.Argument(help="One or more obligation ids")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail)")] = None,
    actor: ActorOption = None,
) -> None:
    """Reject obligations (not reporting obligations, or not ours to track); all or none."""
    from models.store import IllegalTransition, set_status
    from models.tables import ObligationStatus

    lines: list[str] = []
    with _opened(actor) as ctx:
        for ob in _obligations(ctx, obligation_ids):
            assert ob.id is not None
            if ob.status == ObligationStatus.rejected:
                lines.append(f"obligation {ob.id} is already rejected: nothing to do")
                continue
            try:
                set_status(
                    ctx.session,
                    ob.id,
                    status=ObligationStatus.rejected,
                    actor=ctx.actor,
                    note=reason,
                    now=_now(),
                )
            except IllegalTransition as exc:
                fail(f"{exc}; nothing was rejected", 1)
            lines.append(f"obligation {ob.id} rejected by {ctx.actor}")
        ctx.session.commit()
    for line in lines:
        out.print(Text(line))
    if any("rejected by" in line for line in lines):
        out.print(SYNC_NOTE, highlight=False)


def _now() -> dt.datetime:
    from models import clock

    return clock.now()


# --- edit --------------------------------------------------------------------------------


@obligations_app.command("edit", epilog=DEADLINE_RULES)
def edit(
    obligation_id: Annotated[int, typer.Argument(help="The obligation's id")],
    frequency: Annotated[Frequency | None, typer.Option(help="How often the report is due")] = None,
    deadline: Annotated[
        str | None,
        typer.Option(help="By when: 20/12, 15, '10 next', +5wd, default, … (see below)"),
    ] = None,
    lead: Annotated[
        str | None, typer.Option(help="The consolidating agency's code (`agencies list`)")
    ] = None,
    recipient: Annotated[
        str | None, typer.Option(help="The recipient agency's code (`agencies list`)")
    ] = None,
    ladder: Annotated[
        str | None,
        typer.Option(help="Reminder ladder: a YAML file of stages, or 'default'"),
    ] = None,
    accept_suggestion: Annotated[
        bool,
        typer.Option("--accept-suggestion", help="Take the suggested successor group"),
    ] = False,
    actor: ActorOption = None,
) -> None:
    """Set what the text left open: schedule, lead, recipient, reminder ladder."""
    if not any((frequency, deadline, lead, recipient, ladder, accept_suggestion)):
        fail(
            "nothing to change: give --frequency, --deadline, --lead, --recipient, "
            "--ladder or --accept-suggestion",
            1,
        )
    rule = _deadline_option(deadline)
    stages = _ladder_option(ladder) if ladder is not None else None
    with _opened(actor) as ctx:
        ob = _obligation(ctx, obligation_id)
        if str(ob.status) == Status.withdrawn:
            fail(
                f"obligation {ob.id} is withdrawn (its directive was superseded): edit the "
                "new version's obligation",
                1,
            )
        changes: list[str] = []
        if frequency is not None or rule is not None:
            changes.append(_edit_schedule(ctx, ob, frequency, rule))
        if lead or recipient or accept_suggestion:
            changes += _edit_parties(ctx, ob, lead, recipient, accept_suggestion)
        if ladder is not None:
            changes.append(_edit_ladder(ctx, ob, stages))
        if ob.frequency in PERIODIC and (problem := _schedule_problem(ctx, ob)):
            fail(f"{problem}; nothing changed", 1)
        ctx.session.commit()
    for line in changes:
        out.print(Text(f"obligation {obligation_id}: {line}"))
    out.print(SYNC_NOTE, highlight=False)


def _deadline_option(text: str | None) -> Deadline | None:
    if text is None:
        return None
    try:
        return parse_deadline(text)
    except DeadlineSyntaxError as exc:
        fail(f"--deadline: {exc}", 1)


def _ladder_option(path: str) -> list[dict[str, Any]] | None:
    """The ladder's stages as stored; None (the default ladder) for 'default'."""
    import yaml

    from models.calendar import Ladder

    if path.casefold() == "default":
        return None
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--ladder: cannot read {path}: {exc}", 1)
    except yaml.YAMLError as exc:
        fail(f"--ladder: {path} is not YAML: {' '.join(str(exc).split())}", 1)
    rows = data.get("stages") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        fail(f"--ladder: {path}: expected a list of stages (name, anchor, offset, audience)", 1)
    try:
        parsed = Ladder.from_data(rows)
    except ValueError as exc:
        fail(f"--ladder: {path}: {exc}", 1)
    if not any(stage.is_opening for stage in parsed.stages):
        fail(
            f"--ladder: {path}: no opening stage (anchor: open, offset: 0): the opening "
            "notice carries the agencies' submission link",
            1,
        )
    stages: list[dict[str, Any]] = parsed.to_data()["stages"]
    return stages


def _edit_schedule(
    ctx: _Ctx, ob: Obligation, frequency: Frequency | None, rule: Deadline | None
) -> str:
    from models.plan import set_schedule

    wanted = frequency.value if frequency is not None else ob.frequency
    if wanted not in PERIODIC:
        fail(
            f"obligation {ob.id} is not periodic ({_timing(ob.frequency)}): give --frequency "
            "with the deadline",
            1,
        )
    set_schedule(ctx.session, ob, frequency=wanted, deadline=rule, actor=ctx.actor)
    return f"{_freq(wanted)}, {describe_deadline(_rule(ob))}"


def _edit_parties(
    ctx: _Ctx, ob: Obligation, lead: str | None, recipient: str | None, accept: bool
) -> list[str]:
    parties = _parties(ctx, ob)  # resolved first, so a later approval keeps what is set here
    changes = []
    if accept:
        taken = _accept_suggestions(ctx, parties)
        if not taken:
            fail(f"obligation {ob.id} has no suggestion to accept", 1)
        changes += [_accepted(p) for p in taken]
    if lead:
        agency = _agency_by_code(ctx, lead, "--lead")
        changes.append(_set_party(ctx, ob, parties, "via", agency))
    if recipient:
        agency = _agency_by_code(ctx, recipient, "--recipient")
        changes.append(_set_party(ctx, ob, parties, "recipient", agency))
    return changes


def _set_party(
    ctx: _Ctx, ob: Obligation, parties: list[ObligationParty], role: str, agency: Agency
) -> str:
    """The administrator names the lead or recipient: it replaces what the registry read
    (flagged or not), on the obligation and among its parties."""
    from models.store import audit
    from models.tables import ObligationParty, PartyRole

    assert ob.id is not None and agency.id is not None
    phrase = (ob.via_phrase if role == "via" else ob.recipient_phrase) or agency.name
    for party in parties:
        if str(party.role) == role:
            ctx.session.delete(party)
    ctx.session.add(
        ObligationParty(
            obligation_id=ob.id,
            role=PartyRole(role),
            phrase=phrase,
            agency_id=agency.id,
            note=f"set by {ctx.actor} on {_d(ctx.today)}",
        )
    )
    field = "lead_agency_id" if role == "via" else "recipient_agency_id"
    before = getattr(ob, field)
    setattr(ob, field, agency.id)
    ctx.session.add(ob)
    audit(
        ctx.session,
        actor=ctx.actor,
        action="obligation.set_lead" if role == "via" else "obligation.set_recipient",
        entity="obligation",
        entity_id=ob.id,
        data={"before": before, "agency_id": agency.id, "code": agency.code},
    )
    what = "lead" if role == "via" else "recipient"
    said = f"{what}: {agency.name} ({agency.code})"
    if role == "via" and not ob.via_phrase:
        said += (
            " — note: the clause names no lead, and cycles get a separate lead's deadline "
            "only for clauses that do"
        )
    return said


def _edit_ladder(ctx: _Ctx, ob: Obligation, stages: list[dict[str, Any]] | None) -> str:
    from models.store import audit

    before = ob.ladder
    ob.ladder = stages
    ctx.session.add(ob)
    audit(
        ctx.session,
        actor=ctx.actor,
        action="obligation.set_ladder",
        entity="obligation",
        entity_id=ob.id,
        data={"before": before, "ladder": stages},
    )
    return f"reminders: {_ladder_text(ob)}"


# --- small formats -----------------------------------------------------------------------


def _freq(frequency: str) -> str:
    return FREQUENCY_VI.get(frequency, frequency)


def _timing(frequency: str) -> str:
    if frequency == "none":
        return "the text states no timing"
    return f"the text says “{_freq(frequency)}”"


def _d(day: dt.date) -> str:
    return f"{day.day}/{day.month}/{day.year}"


def _local(moment: dt.datetime) -> str:
    from models.calendar import local_text

    return local_text(moment)  # a day's end reads 24:00


def _status(status: str) -> Text:
    style = {"approved": "green", "rejected": "red", "withdrawn": "dim"}.get(status, "")
    return Text(status, style=style)
