"""`hanbaocao up`, `sync` and `deploy`: the service and its Prefect deployments.

Prefect takes about a second to import and reads its settings when imported: it is
imported inside the commands, after ``flows.service`` has set PREFECT_* for them.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from cli.data import fail, require_current_schema

DEFAULT_PORT = 4200
DEFAULT_POOL = "hanbaocao-local"

out = Console(soft_wrap=True)  # a service log: paths and URLs stay on one line


def up(
    port: Annotated[
        int, typer.Option(help="Cổng của máy chủ Prefect đi kèm (giao diện và API).")
    ] = DEFAULT_PORT,
    pool: Annotated[str, typer.Option(help="Work pool (process) chạy các deployment.")] = (
        DEFAULT_POOL
    ),
    mail_sink: Annotated[
        bool,
        typer.Option(
            "--mail-sink/--no-mail-sink",
            help="Khi chưa có HANBAOCAO_SMTP_URL: giữ thư dưới dạng tệp .eml trong "
            "<thư mục dữ liệu>/mail.",
        ),
    ] = True,
    portal_port: Annotated[
        int, typer.Option(help="Cổng của cổng nộp báo cáo và bảng điều khiển; 0: không chạy.")
    ] = 8000,
) -> None:
    """Chạy toàn bộ dịch vụ trên máy này đến khi nhấn Ctrl-C: máy chủ Prefect (trừ khi
    PREFECT_API_URL đã có máy chủ), cơ sở dữ liệu, hộp thư cục bộ, cổng nộp báo cáo, các
    deployment và một worker."""
    from flows.service import ServiceError, UpOptions
    from flows.service import up as run_up
    from portal.app import serving  # `up` composes flows, worker and portal here

    options = UpOptions(
        port=port, pool=pool, mail_sink=mail_sink, portal_port=portal_port, portal=serving
    )
    try:
        code = run_up(options, out)
    except ServiceError as exc:
        fail(str(exc), code=1)
    raise typer.Exit(code)


def sync(
    pool: Annotated[str, typer.Option(help="Work pool (process) của các deployment.")] = (
        DEFAULT_POOL
    ),
    port: Annotated[
        int,
        typer.Option(help="Cổng máy chủ của `hanbaocao up`, khi chưa đặt PREFECT_API_URL."),
    ] = DEFAULT_PORT,
) -> None:
    """Đồng bộ các deployment một lần: mỗi nghĩa vụ đã duyệt một deployment, thêm lượt
    quét. Chỉ ghi phần thay đổi; deployment của nghĩa vụ không còn được duyệt bị xoá."""
    from flows.service import configured_api
    from models.db import settings

    api = configured_api(port, settings().data_dir)
    _sync(api.url, pool, hint="hãy chạy `hanbaocao up`, hoặc đặt PREFECT_API_URL")


def deploy(
    pool: Annotated[
        str, typer.Option(help="Work pool (process) các worker phục vụ (tạo mới nếu chưa có).")
    ],
) -> None:
    """Chạy trên nhiều máy: đồng bộ các deployment vào work pool POOL của máy chủ tại
    PREFECT_API_URL. Mỗi máy worker chạy `prefect worker start --pool POOL` với
    HANBAOCAO_DATABASE_URL trỏ tới cơ sở dữ liệu dùng chung (xem docs/deploy.md)."""
    import os

    url = os.environ.get("PREFECT_API_URL", "").strip()
    if not url:
        fail("hãy đặt PREFECT_API_URL là API của máy chủ Prefect dùng chung (http://HOST:4200/api)")
    _sync(url, pool, hint="hãy kiểm tra PREFECT_API_URL và máy chủ có đang chạy")
    out.print(
        f"Tiếp theo, trên mỗi máy worker: prefect worker start --pool {pool}\n"
        "(với PREFECT_API_URL, HANBAOCAO_DATABASE_URL và cấu hình các kênh thông báo trong "
        "biến môi trường)",
        highlight=False,
    )


def _sync(api_url: str, pool: str, *, hint: str) -> None:
    from flows.service import api_answers, describe, sync_deployments

    if not api_answers(api_url):
        fail(f"không có máy chủ Prefect trả lời tại {api_url}: {hint}")
    require_current_schema()
    report = sync_deployments(pool)
    for line in describe(report):
        out.print(line, highlight=False)
    if not report.ok:
        raise typer.Exit(1)
