"""`hanbaocao`: the operator's and administrator's command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from cli import render
from cli.admin import admin_app
from cli.cycles import cycles_app
from cli.data import agencies_app, calendar_app, db_app
from cli.demo import demo
from cli.holidays import holidays_app
from cli.ingest import ingest
from cli.notify import notify_app
from cli.obligations import obligations_app
from cli.outbox import outbox_app
from cli.portal import portal
from cli.service import deploy, sync, up
from cli.zalo import zalo_app

app = typer.Typer(
    name="hanbaocao",
    help="Hạn báo cáo: reporting obligations from Vietnamese directives, tracked to deadlines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(agencies_app, name="agencies")
app.add_typer(calendar_app, name="calendar")
app.add_typer(holidays_app, name="holidays")
app.add_typer(notify_app, name="notify")
app.add_typer(admin_app, name="admin")
app.add_typer(obligations_app, name="obligations")
app.add_typer(cycles_app, name="cycles")
app.command()(ingest)
app.add_typer(outbox_app, name="outbox")
app.add_typer(zalo_app, name="zalo")
app.command()(portal)
app.command()(up)
app.command()(sync)
app.command()(deploy)
app.command()(demo)
out = Console(soft_wrap=False)
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@app.command()
def parse(
    files: Annotated[list[Path], typer.Argument(help="Directive files: .txt, .md, .docx, .pdf")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the full structured result.")
    ] = False,
    max_mb: Annotated[float, typer.Option(help="Refuse files larger than this (MB).")] = 32,
) -> None:
    """Read directives and show every reporting obligation they state, for review."""
    from directives.parse import parse_file
    from directives.readers import ReadError

    results, failures = [], 0
    for path in files:
        try:
            parsed = parse_file(path, max_bytes=int(max_mb * 1024 * 1024))
        except ReadError as exc:
            failures += 1
            err.print(f"[bold red]{path}:[/] {exc}", highlight=False)
            continue
        if as_json:
            results.append(render.as_json(parsed))
        else:
            render.review(out, parsed)
    if as_json and results:
        sys.stdout.write(
            json.dumps(results if len(files) > 1 else results[0], ensure_ascii=False, indent=2)
        )
        sys.stdout.write("\n")
    if failures:
        raise typer.Exit(2)


@app.command()
def clauses(
    source: Annotated[Path, typer.Argument(help='JSON lines of {"id", "text"}; "-" for stdin.')],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Label clauses in the corpus schema: reads {"id","text"} lines, writes {"id","label"}."""
    from directives.parse import label_clause

    rows = _read_jsonl(source)
    lines = [
        json.dumps({"id": row["id"], "label": label_clause(row["text"])}, ensure_ascii=False)
        for row in rows
    ]
    payload = "".join(line + "\n" for line in lines)
    if output is None:
        sys.stdout.write(payload)
        return
    # Write beside the target and rename: a failure never leaves half a file behind.
    tmp = output.with_name(output.name + ".part")
    tmp.write_text(payload, encoding="utf-8")
    tmp.replace(output)
    err.print(f"{len(lines)} clauses labelled → {output}", highlight=False)


def _read_jsonl(source: Path) -> list[dict[str, str]]:
    """All rows, validated before anything is written."""
    try:
        text = sys.stdin.read() if str(source) == "-" else source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {source}: {exc}")
    rows: list[dict[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            _fail(f"{source}, line {number}: not JSON ({exc.msg})")
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
            _fail(f'{source}, line {number}: expected an object with "id" and a string "text"')
        rows.append(row)
    return rows


def main() -> None:
    """Console-script entry point: a user sees one line for a failure, never a traceback
    (set HANBAOCAO_DEBUG=1 to see it)."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
    except Exception as exc:  # the last line of defence; every known failure is handled above
        if os.environ.get("HANBAOCAO_DEBUG"):
            raise
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "Nothing was written. Run again with HANBAOCAO_DEBUG=1 and report the output.",
            highlight=False,
        )
        raise SystemExit(70) from None


if __name__ == "__main__":
    main()
