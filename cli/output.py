"""The CLI's consoles and its one way to stop on bad input: a red Vietnamese line on
stderr ("lỗi: …"), then an exit code (2: the input; 1: a refusal), never a traceback."""

from __future__ import annotations

import errno
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

out = Console()
err = Console(stderr=True, soft_wrap=True)  # one message, one line: never wrapped


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]lỗi:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


# The operating system's reasons, in Vietnamese; a rarer one keeps the system's words.
_OS_REASONS = {
    errno.ENOENT: "không có tệp hoặc thư mục này",
    errno.EISDIR: "đây là một thư mục, không phải tệp",
    errno.ENOTDIR: "một phần của đường dẫn không phải thư mục",
    errno.EACCES: "không có quyền truy cập",
    errno.EPERM: "không được phép",
    errno.ENOSPC: "hết chỗ trống trên đĩa",
    errno.EROFS: "ổ đĩa chỉ cho đọc",
    errno.ENAMETOOLONG: "tên tệp quá dài",
}


def os_reason(exc: OSError) -> str:
    """Why the system refused, for the user: Vietnamese for the usual reasons."""
    return _OS_REASONS.get(exc.errno or 0) or exc.strerror or str(exc)


def settings_problem(exc: BaseException) -> str | None:
    """What is wrong with the HANBAOCAO_* variables, when ``exc`` is the settings refusing
    them (``models.settings``), in Vietnamese; None for any other error."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or exc.title != "Settings":
        return None
    wrong = []
    for error in exc.errors():
        variable = f"HANBAOCAO_{str(error['loc'][0]).upper()}" if error["loc"] else "?"
        said = error["msg"].removeprefix("Value error, ")
        named = said.startswith((variable, str(error["loc"][0]).upper())) if error["loc"] else False
        wrong.append(said if named else f"{variable}: {said}")
    return f"biến môi trường không hợp lệ ({'; '.join(wrong)}). Sửa hoặc bỏ biến đó rồi chạy lại."
