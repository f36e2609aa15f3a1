"""`hanbaocao demo`: the main job on embedded defaults, on a fresh machine, in one go.

A local Prefect server (SQLite, under the demo's data folder), a local mail sink that
saves every message as an .eml file, the local Zalo fake, and the story of
``flows.demo.run_demo``: both seeds ingested and approved, one annual cycle of
6966/UBND-KTN run in simulated time as real flow runs. Ends with a summary.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.data import fail
from models.db import TZ

if TYPE_CHECKING:
    from flows.demo import DemoResult

out = Console()
OA_ID = "1234567890"  # the Zalo fake's Official Account
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Thư mục riêng của bản chạy thử (được làm trống trước).")
    ] = Path("demo-data"),
    port: Annotated[
        int, typer.Option(help="Cổng của máy chủ Prefect cục bộ và giao diện của nó.")
    ] = 4200,
    examples: Annotated[Path, typer.Option(help="Thư mục chứa các văn bản mẫu.")] = EXAMPLES,
    keep_open: Annotated[
        bool,
        typer.Option(
            help="Sau câu chuyện, giữ giao diện Prefect và cổng thông tin (tại địa chỉ các "
            "đường dẫn trong thư trỏ tới, theo đồng hồ của câu chuyện) chạy đến khi nhấn Ctrl-C."
        ),
    ] = False,
    portal_port: Annotated[
        int,
        typer.Option(help="Cổng của cổng thông tin mà đường dẫn trong thư trỏ tới (127.0.0.1)."),
    ] = 8000,
) -> None:
    """Chạy thử một kỳ báo cáo năm của hai văn bản mẫu, từ đầu đến cuối, trên thời gian giả lập."""
    from flows.server import ServerError
    from flows.service import port_free

    if keep_open and not port_free(portal_port):
        fail(
            f"cổng {portal_port} trên 127.0.0.1 đang bận: chọn cổng khác cho cổng thông tin "
            "bằng --portal-port"
        )
    if not (examples / "seed-6966-ubnd-ktn-quang-ngai-2024.txt").is_file():
        fail(f"không thấy các văn bản mẫu trong {examples}: hãy chỉ thư mục bằng --examples DIR")
    data_dir = data_dir.resolve()
    if data_dir.exists():
        if not (data_dir / ".hanbaocao-demo").exists() and any(data_dir.iterdir()):
            fail(f"{data_dir} không trống và không phải thư mục chạy thử: hãy chọn --data-dir khác")
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / ".hanbaocao-demo").touch()
    os.environ["HANBAOCAO_DATA_DIR"] = str(data_dir)
    os.environ.pop("HANBAOCAO_DATABASE_URL", None)
    os.environ.pop("HANBAOCAO_NOW", None)
    # The links in the demo's messages point at the portal --keep-open serves.
    os.environ["HANBAOCAO_PUBLIC_URL"] = f"http://127.0.0.1:{portal_port}"
    out.print(f"[bold]hanbaocao demo[/] — dữ liệu trong {data_dir}", highlight=False)
    try:
        _run(data_dir, port, examples, keep_open=keep_open, portal_port=portal_port)
    except ServerError as exc:
        fail(f"máy chủ Prefect cục bộ không khởi động được: {exc}")


def _run(data_dir: Path, port: int, examples: Path, *, keep_open: bool, portal_port: int) -> None:
    from flows.server import flush_to_server, prefect_server
    from notifications.fake_zalo import FakeZalo
    from notifications.mailsink import MailSink
    from notifications.zalo_tokens import FileTokenStore, pair_from_answer

    mail_dir = data_dir / "mail"
    tokens = data_dir / "zalo_tokens.json"
    with ExitStack() as stack:
        with out.status("đang khởi động máy chủ Prefect cục bộ (khoảng 15 giây)…"):
            server = stack.enter_context(prefect_server(data_dir / "prefect", port=port))
        with MailSink() as sink, FakeZalo(lifetime=None) as zalo:
            # Before anything imports Prefect: its settings are read once, at import.
            os.environ["PREFECT_API_URL"] = server.api_url
            os.environ["HANBAOCAO_SMTP_URL"] = (
                f"mailto://127.0.0.1:{sink.port}?from=nhac-han@example.invalid"
            )
            FileTokenStore(str(tokens)).put(OA_ID, pair_from_answer(zalo.issue_pair()))
            os.environ["HANBAOCAO_ZALO_OA_URL"] = (
                f"zalooa://{zalo.app_id}:{zalo.secret_key}@{OA_ID}"
                f"?api={zalo.base_url}&oauth={zalo.base_url}&tokens={tokens}"
            )
            from flows.demo import run_demo
            from models.db import get_engine
            from models.schema import create_schema

            create_schema(get_engine())
            result = run_demo(examples, say=lambda line: out.print(f"  {line}", highlight=False))
            mail_dir.mkdir(exist_ok=True)
            for n, raw in enumerate(sink.raw, 1):
                (mail_dir / f"{n:04d}.eml").write_bytes(raw)
            zalo_count = len(zalo.messages)
            flush_to_server()
        _summary(result, mail_dir, zalo_count, server.url)
        story_end = result.story_end.isoformat(timespec="minutes") if result.story_end else ""
        (data_dir / ".hanbaocao-demo").write_text(f"HANBAOCAO_NOW={story_end}\n", "utf-8")
        if keep_open:
            _keep_open(result, mail_dir, server.url, portal_port)
    if not keep_open:
        out.print(
            f"Xem lại sau: [bold]hanbaocao demo --keep-open[/], hoặc "
            f"PREFECT_HOME={data_dir / 'prefect'} prefect server start (Prefect UI) và "
            f"HANBAOCAO_DATA_DIR={data_dir} HANBAOCAO_NOW={story_end} "
            f"hanbaocao portal --port {portal_port} "
            "(cổng thông tin theo đồng hồ của câu chuyện; theo đồng hồ thật, số liệu sẽ khác)",
            highlight=False,
        )


def _keep_open(result: DemoResult, mail_dir: Path, prefect_ui: str, portal_port: int) -> None:
    """The portal at the address the mailed links use, on the story's clock (the real
    date can fall inside the simulated year: served on it, the portal would say "not yet
    due" where the story says 68 agencies are late), until Ctrl-C."""
    from portal.app import serving

    if result.story_end is not None:
        os.environ["HANBAOCAO_NOW"] = result.story_end.isoformat()
    os.environ["PREFECT_UI_URL"] = prefect_ui
    with serving(port=portal_port) as portal_url:
        local = result.story_end.astimezone(TZ) if result.story_end else None
        when = f"{local:%H:%M ngày %d/%m/%Y}" if local else "thật"
        out.print(
            f"Cổng thông tin đang chạy tại {portal_url}, theo đồng hồ của câu chuyện ({when}).",
            highlight=False,
        )
        link = lead_view_link(mail_dir)
        if link:
            out.print(
                "Mở liên kết Sở Xây dựng nhận trong thư đôn đốc (trang theo dõi tình hình nộp "
                f"báo cáo của Sở chủ trì): {link}",
                highlight=False,
                soft_wrap=True,  # the link stays whole, on one line
            )
        out.print(f"Prefect UI: {prefect_ui} — nhấn Ctrl-C để dừng.", highlight=False)
        _wait_for_ctrl_c()


_LINK = re.compile(r"https?://[^\s<>\"']+/view/[A-Za-z0-9._~-]+")


def lead_view_link(mail_dir: Path) -> str | None:
    """The /view link of the first escalation email to the lead Sở among the .eml files."""
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if not str(message["Subject"] or "").startswith("[Đôn đốc báo cáo]"):
            continue
        body = message.get_body(preferencelist=("plain", "html"))
        found = _LINK.search(body.get_content() if body is not None else "")
        if found:
            return found[0]
    return None


def _wait_for_ctrl_c() -> None:
    import time

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("Đang dừng…")


def _summary(result: DemoResult, mail_dir: Path, zalo_count: int, ui: str) -> None:
    table = Table(title="Tin nhắn của kỳ 2026, theo mốc và kênh")
    for column in ("mốc", "kênh", "đã gửi", "thất bại", "đang chờ"):
        table.add_column(
            column, justify="right" if column in ("đã gửi", "thất bại", "đang chờ") else "left"
        )
    stages: dict[tuple[str, str], dict[str, int]] = {}
    for (stage, channel, state), n in result.messages.items():
        stages.setdefault((stage, channel), {})[state] = n
    for (stage, channel), counts in sorted(stages.items(), key=lambda kv: _order(kv[0][0])):
        table.add_row(
            stage,
            channel,
            str(counts.get("sent", 0)),
            str(counts.get("failed", 0)),
            str(counts.get("pending", 0) + counts.get("sending", 0)),
        )
    out.print(table)
    total = result.on_time + result.late + result.missing
    out.print(
        f"Đúng hạn: [bold]{result.on_time}/{total}[/] ({result.on_time_rate:.0%}); "
        f"nộp muộn: {result.late}; không nộp: {result.missing}.",
        highlight=False,
    )
    out.print(
        f"Thư điện tử được lưu thành tệp .eml trong {mail_dir}; "
        f"Zalo giả lập nhận {zalo_count} tin.",
        highlight=False,
    )
    lead_reminders = sum(
        n
        for (stage, channel, _), n in result.messages.items()
        if stage.startswith("lead-") and channel == "email"
    )
    role = "[red]sai: Sở nằm trong danh sách phải nộp[/]" if result.lead_submits else "đúng"
    out.print(
        f"Sở chủ trì: không phải cơ quan nộp ({role}); được nhắc {lead_reminders} lần về "
        "hạn của chính Sở gửi UBND tỉnh. "
        f"Không phải nộp: {'; '.join(result.left_out) or '—'}.",
        highlight=False,
    )
    out.print(f"Tin gửi bộ, ngành trung ương: {result.outside}.", highlight=False)
    for line in result.for_review:
        out.print(f"Để quản trị viên xem xét (chưa duyệt): {line}", highlight=False)
    if result.opening_text:
        excerpt = "\n".join(result.opening_text.split("\n\n")[:2])
        out.print("Một thông báo mở kỳ, như cơ quan nhận được:", style="bold")
        out.print(excerpt, highlight=False, markup=False)
    out.print(
        f"Trong giao diện Prefect ({ui}): Deployments (mỗi nghĩa vụ đã duyệt một deployment, "
        "thêm lượt quét), Runs ('6966/UBND-KTN · Năm 2026', 'sweep · …'), Artifacts (bảng "
        "của kỳ 'cycle-6966-ubnd-ktn-…', tiến độ, các bản xem xét khi nạp), Events "
        "(hanbaocao.*)."
    )


def _order(stage: str) -> int:
    from models.calendar import DEFAULT_LADDER

    names = [s.name for s in DEFAULT_LADDER.stages]
    return names.index(stage) if stage in names else len(names)
