"""`hanbaocao obligations …`: the administrator reviews what the parser proposed, fills
in what the text left open, and approves or rejects — in Vietnamese, agencies by name.

The rules live below the CLI (``models.review``: the gate and its coded problems;
``models.edits``: the edits and their audit rows; ``models.deadline_rule``: the
``--deadline`` syntax); this module parses options, renders problems with the command
that fixes each, and prints results.

Every command is one transaction: committed whole or not at all (a refused approval of
several IDs changes none of them). Reading commands (`list`, `show`) resolve parties
inside a transaction that is rolled back: what they show is what an approval would find.

Exit codes: 0 done (or nothing to do), 1 refused or not found (nothing written),
2 a usage error (a --frequency or --deadline the rules refuse among them) or a database
that is not ready.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.text import Text

from cli.data import require_current_schema
from cli.output import err, fail, os_reason, out
from models.deadline_rule import DEADLINE_RULES
from models.vocabulary import Frequency, ObligationStatus

if TYPE_CHECKING:  # SQLModel tables cost ~0.25 s to import; `parse` never needs them
    from directives.parsed import Deadline
    from models.edits import Pick
    from models.review import Problem, Review
    from models.tables import Directive, Obligation, ObligationParty

obligations_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Nghĩa vụ báo cáo: xem, bổ sung, duyệt hoặc từ chối.",
    no_args_is_help=True,
)

SYNC_NOTE = "Các deployment Prefect được cập nhật ở lần `hanbaocao sync` / `hanbaocao up` tới."


class Late(StrEnum):
    open = "open"
    next = "next"


ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Người quyết định (nhật ký); mặc định: tên đăng nhập")
]
JsonOption = Annotated[bool, typer.Option("--json", help="In JSON cho script.")]
LateOption = Annotated[
    Late | None,
    typer.Option(help="Kỳ đang diễn ra đã quá hạn: open = mở muộn ngay, next = bắt đầu từ kỳ sau"),
]


# --- the session -------------------------------------------------------------------------


@contextmanager
def opened(actor: str | None = None) -> Iterator[Review]:
    """One session = one transaction; the caller commits, anything else rolls back.
    A refusal from the rules below becomes one line per problem and exit code 1."""
    from sqlmodel import Session

    from models import clock
    from models.db import settings
    from models.review import Review, ReviewError

    engine = require_current_schema()
    try:
        now = clock.now()
    except ValueError as exc:  # a bad HANBAOCAO_NOW
        fail(str(exc), code=1)
    with Session(engine) as session:
        try:
            yield Review(session, now, settings().province, actor or _login())
        except ReviewError as exc:
            session.rollback()
            refused(exc.problems)


def refused(
    problems: Sequence[Problem], what: str = "Không có thay đổi nào được lưu.", code: int = 1
) -> NoReturn:
    for problem in problems:
        err.print(f"[bold red]lỗi:[/] {escape(_with_fix(problem))}", highlight=False)
    err.print(what, highlight=False)
    raise typer.Exit(code)


@contextmanager
def _typed_schedule(given: bool) -> Iterator[None]:
    """A schedule typed on this command line that the rules refuse is bad input, exit 2
    like an unreadable --deadline; the same refusal of a stored schedule (an edit of
    something else) stays a refusal, exit 1, through ``opened``."""
    from models.review import ReviewError

    try:
        yield
    except ReviewError as exc:
        if given and all(p.field in ("frequency", "deadline") for p in exc.problems):
            refused(exc.problems, code=2)  # leaving ``opened``'s session rolls back
        raise


_FIX = {
    "no_schedule": "edit {id} --frequency annual --deadline 15/12",
    "once_undated": "edit {id} --deadline DD/MM/YYYY",
    "bad_deadline": "edit {id} --deadline RULE",
    "suggestion": "approve {id} --accept-suggestions",
    "unresolved_submitters": "edit {id} --submitters CODE,…",
    "no_submitter": "edit {id} --submitters CODE,…",
    "unresolved_recipient": "edit {id} --recipient CODE",
    "no_recipient": "edit {id} --recipient CODE",
    "unresolved_lead": "edit {id} --lead CODE",
}


def _with_fix(problem: Problem) -> str:
    """The rule's message, in the CLI's words: the command that fixes it."""
    numbered = problem.obligation_id and problem.code != "not_found"
    said = f"nghĩa vụ {problem.obligation_id}: " if numbered else ""
    said += problem.message
    fix = _FIX.get(problem.code)
    if fix:
        said += f" — `hanbaocao obligations {fix.format(id=problem.obligation_id)}`"
    if problem.code == "deadline_passed":
        said += " — thêm `--late open` hoặc `--late next` vào lệnh"
        if "next" not in problem.choices:
            said = said.replace(" hoặc `--late next`", "")
    if problem.choices and problem.code.startswith(("unresolved", "unknown")):
        said += f" (gần nhất: {', '.join(problem.choices)})"
    if problem.code == "unknown_agency" and not problem.choices:
        said += " (xem `hanbaocao agencies list`)"
    return said


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "cli"


def _obligations(rv: Review, ids: Sequence[int]) -> list[Obligation]:
    from models.tables import Obligation

    unique = list(dict.fromkeys(ids))
    found = {i: rv.session.get(Obligation, i) for i in unique}
    missing = [str(i) for i, ob in found.items() if ob is None]
    if missing:
        fail(f"không có nghĩa vụ số {', '.join(missing)}: không có gì thay đổi", code=1)
    return [ob for ob in found.values() if ob is not None]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


# --- list --------------------------------------------------------------------------------


@obligations_app.command("list")
def list_(
    status: Annotated[
        ObligationStatus | None, typer.Option(help="Chỉ trạng thái này; mặc định: trừ đã thay thế")
    ] = None,
    directive: Annotated[
        str | None, typer.Option(help="Chỉ văn bản này: 6966/UBND-KTN, hoặc 6966")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Các nghĩa vụ, mỗi nghĩa vụ kèm những gì còn thiếu trước khi duyệt."""
    from cli.obligation_view import as_data, block, listed

    with opened() as rv:
        rows = listed(rv, status.value if status else None, directive)
        if as_json:
            data = [as_data(rv, ob, d) for ob, d in rows]
        else:
            out.print(Text(f"{len(rows)} nghĩa vụ", style="bold"))
            for ob, d in rows:
                out.print(block(rv, ob, d))
        rv.session.rollback()  # resolving to show is not deciding: write nothing
    if as_json:
        print_json(data)


# --- show --------------------------------------------------------------------------------


@obligations_app.command("show")
def show(
    obligation_id: Annotated[int, typer.Argument(help="Số hiệu nghĩa vụ")],
    as_json: JsonOption = False,
) -> None:
    """Mọi điều về một nghĩa vụ: đoạn văn, những gì đọc được và từ chữ nào, các cơ quan
    hôm nay, những gì còn thiếu, các kỳ sắp tới và lịch sử."""
    from cli import obligation_view as view
    from models.review import get_obligation
    from models.tables import Directive

    with opened() as rv:
        ob = get_obligation(rv, obligation_id)
        directive = rv.session.get(Directive, ob.directive_id)
        assert directive is not None  # a foreign key with ON DELETE CASCADE
        if as_json:
            data = view.as_data(rv, ob, directive, cycles=True)
        else:
            view.print_show(out, rv, ob, directive)
        rv.session.rollback()  # resolving to show is not deciding: write nothing
    if as_json:
        print_json(data)


# --- approve and reject ------------------------------------------------------------------


@obligations_app.command("approve")
def approve(
    obligation_ids: Annotated[list[int], typer.Argument(help="Một hoặc nhiều số hiệu")],
    accept_suggestions: Annotated[
        bool,
        typer.Option(
            "--accept-suggestions",
            help="Nhận cơ quan kế thừa được đề xuất cho cơ quan nhận đã giải thể "
            "(UBND các huyện → UBND các xã, phường)",
        ),
    ] = False,
    late: LateOption = None,
    actor: ActorOption = None,
) -> None:
    """Duyệt nghĩa vụ: tất cả, hoặc không nghĩa vụ nào khi còn một nghĩa vụ thiếu."""
    from models.review import Approved, ReviewError, approved_lines
    from models.review import approve as approve_one

    lines: list[str] = []
    with opened(actor) as rv:
        problems: list[Problem] = []
        results: list[Approved] = []
        for ob in _obligations(rv, obligation_ids):
            try:  # every obligation's problems are told; one refusal keeps nothing
                results.append(
                    approve_one(
                        rv, ob, accept=accept_suggestions, late=late.value if late else None
                    )
                )
            except ReviewError as exc:
                problems += exc.problems
        if problems:
            rv.session.rollback()
            refused(problems, "Không nghĩa vụ nào được duyệt.")
        for result in results:
            lines += approved_lines(rv, result)
        rv.session.commit()
    for line in lines:
        out.print(Text(line))
    if any(not r.already for r in results):
        out.print(SYNC_NOTE, highlight=False)


@obligations_app.command("reject")
def reject(
    obligation_ids: Annotated[list[int], typer.Argument(help="Một hoặc nhiều số hiệu")],
    reason: Annotated[str | None, typer.Option(help="Lý do (ghi vào nhật ký)")] = None,
    actor: ActorOption = None,
) -> None:
    """Từ chối nghĩa vụ (không phải nghĩa vụ báo cáo, hoặc không do tỉnh theo dõi);
    tất cả hoặc không nghĩa vụ nào."""
    from models.review import reject as reject_one

    lines: list[str] = []
    with opened(actor) as rv:
        for ob in _obligations(rv, obligation_ids):
            if reject_one(rv, ob, reason):
                lines.append(f"nghĩa vụ {ob.id}: đã từ chối ({rv.actor})")
            else:
                lines.append(f"nghĩa vụ {ob.id} đã bị từ chối trước đó: không có gì thay đổi")
        rv.session.commit()
    for line in lines:
        out.print(Text(line))
    if any("đã từ chối (" in line for line in lines):
        out.print(SYNC_NOTE, highlight=False)


# --- edit --------------------------------------------------------------------------------


@obligations_app.command("edit", epilog=DEADLINE_RULES)
def edit(
    obligation_id: Annotated[int, typer.Argument(help="Số hiệu nghĩa vụ")],
    frequency: Annotated[Frequency | None, typer.Option(help="Tần suất báo cáo")] = None,
    deadline: Annotated[
        str | None,
        typer.Option(help="Hạn: 20/12, 15, '10 next', +5wd, 14/11/2026 15:00, default …"),
    ] = None,
    lead: Annotated[str | None, typer.Option(help="Mã cơ quan chủ trì (`agencies list`)")] = None,
    recipient: Annotated[str | None, typer.Option(help="Mã nơi nhận báo cáo")] = None,
    submitters: Annotated[
        str | None,
        typer.Option(help="Thay toàn bộ cơ quan báo cáo: MÃ,MÃ,… (mã cơ quan hoặc nhóm)"),
    ] = None,
    add_submitter: Annotated[
        list[str] | None, typer.Option("--add-submitter", help="Thêm một cơ quan báo cáo")
    ] = None,
    remove_submitter: Annotated[
        list[str] | None, typer.Option("--remove-submitter", help="Bỏ một cơ quan báo cáo")
    ] = None,
    ladder: Annotated[
        str | None,
        typer.Option(help="Thang nhắc hạn: tệp YAML các bước, hoặc 'default'"),
    ] = None,
    accept_suggestion: Annotated[
        bool, typer.Option("--accept-suggestion", help="Nhận nhóm kế thừa được đề xuất")
    ] = False,
    late: LateOption = None,
    actor: ActorOption = None,
) -> None:
    """Bổ sung những gì văn bản để ngỏ: lịch, cơ quan báo cáo, chủ trì, nơi nhận, nhắc hạn."""
    from models import edits
    from models.review import (
        accept_suggestions,
        agency_by_code,
        get_obligation,
        parties,
        started_lines,
    )

    wanted = (frequency, deadline, lead, recipient, submitters, add_submitter, remove_submitter)
    if not any(wanted) and ladder is None and not accept_suggestion:
        fail(
            "không có gì để sửa: dùng --frequency, --deadline, --lead, --recipient, "
            "--submitters, --add-submitter, --remove-submitter, --ladder hoặc "
            "--accept-suggestion",
            code=1,
        )
    rule = _deadline_option(deadline)
    stages = _ladder_option(ladder) if ladder is not None else None
    changes: list[str] = []
    with opened(actor) as rv:
        ob = get_obligation(rv, obligation_id)
        edits.check_editable(ob)
        typed = frequency is not None or rule is not None
        if typed:
            with _typed_schedule(typed):
                changes.append(
                    edits.edit_schedule(rv, ob, frequency.value if frequency else None, rule)
                )
        if accept_suggestion:
            taken = accept_suggestions(rv, parties(rv, ob))
            if not taken:
                fail(f"nghĩa vụ {ob.id} không có đề xuất nào để nhận: không có gì thay đổi", code=1)
            changes += [_accepted(p) for p in taken]
        if lead:
            changes.append(edits.edit_party(rv, ob, "via", agency_by_code(rv, lead, "--lead")))
        if recipient:
            agency = agency_by_code(rv, recipient, "--recipient")
            changes.append(edits.edit_party(rv, ob, "recipient", agency))
        if submitters is not None or add_submitter or remove_submitter:
            changes.append(
                edits.edit_submitters(
                    rv,
                    ob,
                    replace_with=_picks(rv, submitters.split(",")) if submitters else None,
                    add=_picks(rv, add_submitter or []),
                    remove=_picks(rv, remove_submitter or []),
                )
            )
        if ladder is not None:
            changes.append(edits.edit_ladder(rv, ob, stages))
        with _typed_schedule(typed):
            started = edits.after_edit(rv, ob, late.value if late else None)
        changes += started_lines(started)
        rv.session.commit()
    for line in changes:
        out.print(Text(f"nghĩa vụ {obligation_id}: {line}"))
    out.print(SYNC_NOTE, highlight=False)


def _picks(rv: Review, codes: Sequence[str]) -> list[Pick]:
    from models.edits import pick

    return [pick(rv, code.strip()) for code in codes if code.strip()]


def _accepted(party: ObligationParty) -> str:
    from models.review import group_vi

    return f"“{party.phrase}” → {group_vi(party.group_key or '')} (nhận đề xuất)"


def _deadline_option(text: str | None) -> Deadline | None:
    from models.deadline_rule import DeadlineSyntaxError, parse_deadline

    if text is None:
        return None
    try:
        return parse_deadline(text)
    except DeadlineSyntaxError as exc:
        fail(f"--deadline: {exc}", code=2)


def _ladder_option(path: str) -> list[dict[str, Any]] | None:
    """The ladder's stages as stored; None (the default ladder) for 'default'. A file
    that cannot be read, or stages the rules refuse, are bad input (exit 2), as a
    ``--deadline`` is."""
    import yaml

    from models.edits import ladder_stages
    from models.review import ReviewError

    if path.casefold() == "default":
        return None
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"--ladder: không đọc được {path}: {os_reason(exc)}", code=2)
    except UnicodeDecodeError:
        fail(f"--ladder: không đọc được {path}: tệp không phải văn bản UTF-8", code=2)
    except yaml.YAMLError as exc:
        fail(f"--ladder: {path} không phải YAML: {' '.join(str(exc).split())}", code=2)
    rows = data.get("stages") if isinstance(data, dict) else data
    try:
        return ladder_stages(rows)
    except ReviewError as exc:
        fail(f"--ladder: {path}: {exc}", code=2)


def directive_title(directive: Directive) -> str:
    return directive.number or directive.source_name
