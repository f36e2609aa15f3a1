"""The CLI's consoles and its one way to stop on bad input: a red line on stderr, then an
exit code (2: the input; 1: a refusal), never a traceback."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True, soft_wrap=True)  # one message, one line: never wrapped


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)
