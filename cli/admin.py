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

admin_app = typer.Typer(help="Dashboard administrators: passwords.")
out = Console()


@admin_app.command("set-password")
def set_password(
    user: Annotated[str, typer.Argument(help="The administrator's login name, e.g. vanphong")],
    print_hash: Annotated[
        bool,
        typer.Option(
            "--print-hash",
            help="Print the hash for HANBAOCAO_ADMIN_PASSWORD_HASH instead of storing it.",
        ),
    ] = False,
) -> None:
    """Set (or change) an administrator's dashboard password; it is asked twice."""
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
    password = typer.prompt("Password", hide_input=True, err=True)  # stdout: the hash
    again = typer.prompt("Repeat the password", hide_input=True, err=True)
    if password != again:
        fail("the two passwords differ: nothing was changed", code=1)
    if len(password) < MIN_PASSWORD or not password.strip():
        fail(f"a password needs at least {MIN_PASSWORD} characters: nothing was changed", code=1)
    encoded = hash_password(password)
    if print_hash:
        sys.stdout.write(f"HANBAOCAO_ADMIN_USER={user}\nHANBAOCAO_ADMIN_PASSWORD_HASH={encoded}\n")
        return
    path = credentials_path(settings().data_dir)
    try:
        save_credentials(path, user, encoded)
    except (CredentialsError, OSError) as exc:
        fail(f"cannot store the password: {exc}")
    out.print(f"password set for {user} in {path} (mode 0600)", highlight=False)
