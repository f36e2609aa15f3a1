"""`hanbaocao admin …`: the dashboard's administrators.

``set-password USER`` asks for the password twice (never on the command line, where
shell history and ``ps`` would keep it), hashes it with scrypt and a fresh salt, and
stores the hash in ``<data dir>/admin-users.json`` (mode 0600; other users kept). With
``--print-hash`` it prints the hash instead, for HANBAOCAO_ADMIN_PASSWORD_HASH.
Changing a password ends that user's open dashboard sessions.

Exit codes: 0 done, 1 refused (passwords differ or too short), 2 a bad name or file.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from cli.data import fail

admin_app = typer.Typer(
    rich_markup_mode="markdown", help="Quản trị: mật khẩu bảng điều khiển, thu hồi đường dẫn."
)
out = Console()


@admin_app.command("set-password")
def set_password(
    user: Annotated[str, typer.Argument(help="Tên đăng nhập của quản trị viên, ví dụ vanphong")],
    print_hash: Annotated[
        bool,
        typer.Option(
            "--print-hash",
            help="In mã băm cho HANBAOCAO_ADMIN_PASSWORD_HASH thay vì lưu lại.",
        ),
    ] = False,
) -> None:
    """Đặt (hoặc đổi) mật khẩu bảng điều khiển của một quản trị viên; mật khẩu được hỏi
    hai lần."""
    from models.db import settings
    from portal.auth import (
        MIN_PASSWORD,
        CredentialsError,
        check_user_name,
        credentials_path,
        hash_password,
        save_credentials,
    )

    try:
        check_user_name(user)
    except CredentialsError as exc:
        fail(str(exc))
    password = typer.prompt("Mật khẩu", hide_input=True, err=True)  # stdout: the hash
    again = typer.prompt("Nhập lại mật khẩu", hide_input=True, err=True)
    if password != again:
        fail("hai lần nhập mật khẩu không khớp: chưa thay đổi gì", code=1)
    if len(password) < MIN_PASSWORD or not password.strip():
        fail(f"mật khẩu cần ít nhất {MIN_PASSWORD} ký tự: chưa thay đổi gì", code=1)
    encoded = hash_password(password)
    if print_hash:
        sys.stdout.write(f"HANBAOCAO_ADMIN_USER={user}\nHANBAOCAO_ADMIN_PASSWORD_HASH={encoded}\n")
        return
    path = credentials_path(settings().data_dir)
    try:
        save_credentials(path, user, encoded)
    except (CredentialsError, OSError) as exc:
        fail(f"không lưu được mật khẩu: {exc}")
    out.print(f"Đã đặt mật khẩu cho {user} trong {path} (quyền 0600)", highlight=False)


@admin_app.command("revoke-links")
def revoke_links(
    agency: Annotated[
        int | None, typer.Option("--agency", help="Mã (id) cơ quan: mọi đường dẫn của cơ quan.")
    ] = None,
    cycle: Annotated[
        int | None, typer.Option("--cycle", help="Mã (id) kỳ báo cáo: mọi đường dẫn của kỳ.")
    ] = None,
) -> None:
    """Thu hồi đường dẫn cá nhân đã phát hành (của một cơ quan, một kỳ, hoặc cơ quan
    trong kỳ): đường dẫn cấp trước lúc này không còn mở được; thông báo gửi sau đó mang
    đường dẫn mới."""
    from sqlmodel import Session

    from cli.data import require_current_schema
    from models import clock
    from models.agency import Agency
    from models.guards import revoke_links as revoke
    from models.tables import ReportCycle

    if agency is None and cycle is None:
        fail("cần chỉ rõ --agency, --cycle hoặc cả hai: chưa thu hồi gì", code=2)
    engine = require_current_schema()
    now = clock.now()
    with Session(engine) as session:
        if agency is not None and session.get(Agency, agency) is None:
            fail(f"không có cơ quan mã {agency}: chưa thu hồi gì", code=2)
        if cycle is not None and session.get(ReportCycle, cycle) is None:
            fail(f"không có kỳ báo cáo mã {cycle}: chưa thu hồi gì", code=2)
        revoke(session, agency_id=agency, cycle_id=cycle, now=now, actor="cli")
        session.commit()
    scope = " và ".join(
        part
        for part in (
            f"cơ quan mã {agency}" if agency is not None else "",
            f"kỳ báo cáo mã {cycle}" if cycle is not None else "",
        )
        if part
    )
    out.print(f"Đã thu hồi mọi đường dẫn của {scope} cấp trước thời điểm này.", highlight=False)
