"""`hanbaocao`, the command line (Typer + Rich): the operator's and the administrator's
door. Administrator-facing output is Vietnamese, agencies by name, readable at 80
columns; `--json` where scripts read it. The rules live in ``models``."""
