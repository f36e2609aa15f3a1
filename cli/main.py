"""`hanbaocao`: the operator's and administrator's command line."""

from __future__ import annotations

import contextlib
import json
import stat
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from cli import render
from cli.admin import admin_app
from cli.cycles import cycles_app
from cli.data import agencies_app, calendar_app, db_app
from cli.demo import demo
from cli.doctor import doctor
from cli.holidays import holidays_app
from cli.ingest import ingest
from cli.notify import notify_app
from cli.obligations import obligations_app
from cli.outbox import outbox_app
from cli.output import err, fail, os_reason, settings_problem
from cli.portal import portal
from cli.service import deploy, sync, up
from cli.words import localise
from cli.zalo import zalo_app

localise()  # Click's and Typer's own words (usage, panels, errors) in Vietnamese
app = typer.Typer(
    rich_markup_mode="markdown",
    name="hanbaocao",
    help="Hạn báo cáo: đọc văn bản chỉ đạo, lập các nghĩa vụ báo cáo và theo dõi đến hạn.",
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
app.command()(doctor)
out = Console(soft_wrap=False)


@app.command()
def parse(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Tệp văn bản: .txt, .md, .docx, .doc, .pdf, hoặc bản scan/ảnh chụp "
            "(.jpg, .png, .tif); xem `hanbaocao doctor` về công cụ cần cho bản scan và .doc."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="In toàn bộ kết quả dạng JSON.")] = False,
    max_mb: Annotated[float, typer.Option(help="Từ chối tệp lớn hơn mức này (MB).")] = 32,
) -> None:
    """Đọc văn bản và liệt kê mọi nghĩa vụ báo cáo văn bản nêu, để xem xét."""
    from directives.parse import parse_file
    from directives.readers import ReadError

    results, failures = [], 0
    for path in files:
        try:
            parsed = parse_file(path, max_bytes=int(max_mb * 1024 * 1024))
        except ReadError as exc:  # its message names the file
            failures += 1
            err.print(f"[bold red]lỗi:[/] {escape(str(exc))}", highlight=False)
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
    source: Annotated[
        Path, typer.Argument(help='Tệp JSON lines, mỗi dòng {"id", "text"}; "-" để đọc stdin.')
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Ghi vào tệp này thay vì stdout.")
    ] = None,
) -> None:
    """Gán nhãn điều khoản theo lược đồ ngữ liệu: đọc {"id","text"}, ghi {"id","label"}."""
    from directives.parse import label_clause

    if output is not None:
        _check_output(output)
    rows = _read_jsonl(source)
    _warn_duplicates(source, rows)
    lines = [
        json.dumps({"id": row["id"], "label": label_clause(row["text"])}, ensure_ascii=False)
        for row in rows
    ]
    payload = "".join(line + "\n" for line in lines)
    if output is None:
        sys.stdout.write(payload)
        return
    _write_atomically(output, payload)
    err.print(f"Đã gán nhãn {len(lines)} điều khoản → {output}", highlight=False)


def _check_output(output: Path) -> None:
    """Only a regular file is replaced, or a new path created: a symlink, FIFO,
    device or directory given as --output is refused before anything is written
    (renaming over a symlink or /dev/null would replace it with a regular file)."""
    try:
        mode = output.lstat().st_mode
    except FileNotFoundError:
        if not output.parent.is_dir():
            fail(f"không ghi được {output}: thư mục {output.parent} không tồn tại")
        return
    except OSError as exc:
        fail(f"không ghi được {output}: {os_reason(exc)}")
    if not stat.S_ISREG(mode):
        fail(
            f"{output} là {_kind(mode)}, không phải tệp thông thường: hãy cho --output "
            "một đường dẫn tệp; chưa ghi gì"
        )


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "liên kết tượng trưng (symlink)"),
        (stat.S_ISDIR, "thư mục"),
        (stat.S_ISFIFO, "đường ống có tên (FIFO)"),
        (stat.S_ISCHR, "tệp thiết bị"),
        (stat.S_ISBLK, "tệp thiết bị"),
        (stat.S_ISSOCK, "socket"),
    )
    return next((name for test, name in kinds if test(mode)), "tệp đặc biệt")


def _write_atomically(output: Path, payload: str) -> None:
    """Write beside the target and rename: a failure never leaves half a file, nor
    the ``.part`` file, behind."""
    tmp = output.with_name(output.name + ".part")
    try:
        tmp.write_text(payload, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        fail(f"không ghi được {output}: {os_reason(exc)}")


def _warn_duplicates(source: Path, rows: list[dict[str, str]]) -> None:
    """Each id should label one clause: a repeated id is labelled every time, but said."""
    seen: dict[str, int] = {}
    for row in rows:
        key = json.dumps(row["id"], ensure_ascii=False)
        seen[key] = seen.get(key, 0) + 1
    repeated = [f"{key} ({count} lần)" for key, count in seen.items() if count > 1]
    if repeated:
        shown = ", ".join(repeated[:5]) + (" …" if len(repeated) > 5 else "")
        err.print(
            f"[yellow]cảnh báo:[/] {escape(str(source))}: {len(repeated)} id bị trùng: "
            f"{escape(shown)}; mỗi dòng vẫn được gán nhãn, nên kết quả cũng lặp lại các id đó",
            highlight=False,
        )


def _read_jsonl(source: Path) -> list[dict[str, str]]:
    """All rows, validated before anything is written."""
    try:
        text = sys.stdin.read() if str(source) == "-" else source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        fail(f"không đọc được {source}: không phải văn bản UTF-8 (byte thứ {exc.start + 1})")
    except OSError as exc:
        fail(f"không đọc được {source}: {os_reason(exc)}")
    rows: list[dict[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            fail(f"{source}, dòng {number}: không phải JSON ({exc.msg})")
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
            fail(f'{source}, dòng {number}: cần một đối tượng có "id" và chuỗi "text"')
        rows.append(row)
    return rows


def _debug() -> bool:
    from models.settings import settings

    try:
        return bool(settings().debug)
    except ValueError:  # the failure may be the settings themselves
        return False


def main() -> None:
    """Console-script entry point: a user sees one line for a failure, never a traceback
    (set HANBAOCAO_DEBUG=1 to see it)."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("đã dừng (Ctrl-C)")
        raise SystemExit(130) from None
    except Exception as exc:  # the last line of defence; every known failure is handled above
        if _debug():
            raise
        if problem := settings_problem(exc):
            err.print(f"[bold red]lỗi cấu hình:[/] {problem}", highlight=False)
            raise SystemExit(2) from None
        err.print(
            f"[bold red]lỗi nội bộ:[/] {type(exc).__name__}: {escape(str(exc))}\n"
            "Chưa ghi gì. Hãy chạy lại với HANBAOCAO_DEBUG=1 và gửi kết quả in ra cho bộ "
            "phận kỹ thuật.",
            highlight=False,
        )
        raise SystemExit(70) from None


if __name__ == "__main__":
    main()
