"""`hanbaocao ingest FILE…`: load directives for review. Each file goes through the
``ingest`` flow, so the run and its review artifact show in Prefect, when a Prefect
server answers (PREFECT_API_URL, or `hanbaocao up`'s); without one, the same work runs
here and the output says so. Then the directive and each proposed obligation are printed
with their ids and what they still need."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from cli.obligations import JsonOption, opened, print_json
from cli.output import err, fail, out

OUTCOME_VI = {
    "created": "văn bản mới",
    "unchanged": "đã nạp trước đó, không thay đổi",
    "new_version": "phiên bản mới của văn bản đã nạp",
}


def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Tệp văn bản: .txt, .md, .docx, .doc, .pdf, hoặc bản scan/ảnh chụp "
            "(.jpg, .png, .tif)"
        ),
    ],
    as_json: JsonOption = False,
    actor: Annotated[str, typer.Option(help="Ghi vào nhật ký là người nạp")] = "ingest",
    port: Annotated[
        int, typer.Option(help="Cổng Prefect của `hanbaocao up` khi không có PREFECT_API_URL")
    ] = 4200,
) -> None:
    """Nạp văn bản: lưu văn bản và các nghĩa vụ báo cáo đề xuất, để xem xét và duyệt."""
    from cli.data import require_current_schema

    require_current_schema()
    in_prefect = _prefect(port)
    if not in_prefect and not as_json:
        err.print(
            "Prefect không chạy (chưa `hanbaocao up`, không có PREFECT_API_URL): nạp trực "
            "tiếp, không có bản ghi trong Prefect.",
            highlight=False,
        )
    results: list[dict[str, Any]] = []
    failures = 0
    for path in files:
        try:
            results.append(_one(path, in_prefect))
        except _Unreadable as exc:
            failures += 1
            # One line whatever the terminal's width; the message names the file.
            err.print(f"[bold red]lỗi:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    _show(results, as_json)
    if failures:
        raise typer.Exit(2)


class _Unreadable(Exception):
    pass


def _prefect(port: int) -> bool:
    """A Prefect server answers: run the flow there (sets PREFECT_* before import)."""
    from flows.service import api_answers, configured_api
    from models.db import settings

    return api_answers(configured_api(port, settings().data_dir).url, timeout=1.0)


def _one(path: Path, in_prefect: bool) -> dict[str, Any]:
    from directives.readers import ReadError

    try:
        if in_prefect:
            from flows.ingest import ingest as ingest_flow

            summary: dict[str, Any] = ingest_flow(str(path))
        else:
            from flows.ingest import ingest_file

            summary, _ = ingest_file(str(path))
    except ReadError as exc:
        raise _Unreadable(str(exc)) from None
    summary["prefect"] = in_prefect
    return summary


def _show(results: list[dict[str, Any]], as_json: bool) -> None:
    from cli.obligation_view import as_data, block, title
    from models.formats import short_day
    from models.tables import Directive, Obligation

    data = []
    with opened() as rv:
        for summary in results:
            directive = rv.session.get(Directive, summary["directive_id"])
            if directive is None:
                fail(f"văn bản {summary['number']} không còn trong cơ sở dữ liệu", code=1)
            obligations = [rv.session.get(Obligation, i) for i in summary["obligations"]]
            found = [ob for ob in obligations if ob is not None]
            if as_json:
                data.append(
                    {
                        "directive": _directive_data(directive),
                        "outcome": summary["outcome"],
                        "prefect": summary["prefect"],
                        "obligations": [as_data(rv, ob, directive) for ob in found],
                    }
                )
                continue
            issued = f", {short_day(directive.date)}" if directive.date else ""
            out.print(Text(f"{title(directive)}{issued}", style="bold"))
            out.print(Text(f"{directive.issuer or '—'} · {directive.subject or '—'}"))
            said = OUTCOME_VI.get(summary["outcome"], summary["outcome"])
            out.print(Text(f"{said}; {len(found)} nghĩa vụ báo cáo đề xuất\n"))
            for ob in found:
                out.print(block(rv, ob, directive))
        rv.session.rollback()  # resolving to show is not deciding
    if as_json:
        print_json(data if len(data) != 1 else data[0])
    elif results:
        out.print(
            "Xem: `hanbaocao obligations show ID` · duyệt: `hanbaocao obligations approve ID`",
            highlight=False,
        )


def _directive_data(directive: Any) -> dict[str, Any]:
    return {
        "id": directive.id,
        "number": directive.number,
        "issuer": directive.issuer,
        "date": directive.date.isoformat() if directive.date else None,
        "subject": directive.subject,
        "version": directive.version,
    }
