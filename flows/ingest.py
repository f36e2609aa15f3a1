"""``ingest``: a directive file → the stored directive and its proposed obligations, with
a markdown artifact listing what was found, for the administrator's review."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from sqlalchemy.engine import Engine

from models.tables import Obligation
from notifications.exports import slug


def _run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters
    return f"ingest · {params.get('name') or Path(str(params.get('path', '?'))).name}"


@flow(name="ingest", flow_run_name=_run_name)
def ingest(path: str, actor: str = "ingest", name: str | None = None) -> dict[str, Any]:
    """Parse and store one directive file (idempotent: the same text stores nothing).
    ``path`` is read by the process that runs the flow: a file on the worker's machine;
    ``name``, the file's own name when ``path`` is not (an upload stored by its hash)."""
    from prefect.artifacts import create_markdown_artifact

    log = get_run_logger()
    summary, markdown = ingest_file(path, actor=actor, name=name)
    create_markdown_artifact(
        markdown=markdown,
        key=f"ingest-{slug(summary['number'])}",
        description=f"Nghĩa vụ báo cáo tìm thấy trong {summary['number']}",
    )
    log.info(
        "%s (phiên bản %s): %s, %d nghĩa vụ báo cáo",
        summary["number"],
        summary["version"],
        summary["outcome"],
        len(summary["obligations"]),
    )
    return summary


def ingest_file(
    path: str, *, actor: str = "ingest", name: str | None = None, engine: Engine | None = None
) -> tuple[dict[str, Any], str]:
    """The flow's work without Prefect: store the directive (in ``engine``'s database,
    default the settings'); its summary (ids) and the review's markdown.
    ``directives.readers.ReadError`` when the file cannot be read."""
    from directives.ocr import review_note
    from directives.parse import parse_source
    from directives.readers import read_document
    from models.db import session_scope, settings
    from models.store import save_directive

    source = read_document(path)
    parsed = parse_source(source, name=name or path)
    with session_scope(engine) as session:
        province = issuer_province(parsed.header.issuer) or settings().province
        saved = save_directive(session, parsed, actor=actor, issuer_province=province)
        number = saved.directive.number or name or Path(path).name
        summary = {
            "directive_id": saved.directive.id,
            "number": number,
            "version": saved.directive.version,
            "outcome": saved.outcome,
            "obligations": [o.id for o in saved.obligations],
            "carried": saved.carried,
            "withdrawn": saved.withdrawn,
        }
        markdown = review_markdown(
            number, saved.directive.subject, saved.obligations, note=review_note(source.ocr_pages)
        )
    return summary, markdown


def issuer_province(issuer: str | None) -> str | None:
    """The issuer's province as a registry slug: "UBND tỉnh Kon Tum" → "kon-tum"."""
    m = re.search(r"\b(?:tỉnh|thành phố)\s+(.+)$", issuer or "", re.IGNORECASE)
    return slug(m[1]) if m else None


def review_markdown(
    number: str, subject: str | None, obligations: list[Obligation], *, note: str | None = None
) -> str:
    from directives.parsed import FREQUENCY_VI, Deadline, describe_deadline

    lines = [f"# {number}", "", subject or "", ""]
    lines += [f"> {note}", ""] if note else []
    lines += [f"**{len(obligations)}** nghĩa vụ báo cáo:", ""]
    lines += ["| # | Tần suất | Hạn | Cơ quan báo cáo | Qua | Gửi | Trạng thái | Lưu ý |"]
    lines += ["|---|---|---|---|---|---|---|---|"]
    for ob in obligations:
        deadline = describe_deadline(Deadline(**(ob.deadline_override or ob.deadline or {})))
        cells = [
            str(ob.id),
            FREQUENCY_VI.get(ob.frequency, ob.frequency),
            deadline,
            "; ".join(ob.submitter_phrases or ob.inherited_submitters) or "—",
            ob.via_phrase or "—",
            ob.recipient_phrase or "—",
            str(ob.status),
            "; ".join(ob.flags) or "—",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    for ob in obligations:
        lines += ["", f"**#{ob.id}** — {ob.clause_text.replace(chr(10), ' ')}"]
    lines += [
        "",
        "Duyệt: `hanbaocao obligations approve ID` · sửa: `hanbaocao obligations edit ID`",
    ]
    return "\n".join(lines)
