"""Typer's own words in Vietnamese: the usage line, the panel titles, the help option and
the parameter errors ("Missing argument …") are what an administrator reads first, and
every CLI line is Vietnamese.

Typer keeps its panel titles in module constants and writes the rest in English in the
copy of Click it ships (``typer._click``, no gettext). ``localise`` replaces the constants
and wraps the places those words come from: the help option, the usage line, the types
shown beside the parameters (a flag shows none) and the error panel (whose message is
translated by pattern). A message not listed here is shown as Typer wrote it;
``tests/cli/test_words.py`` fails if an upgrade moves them.
"""

from __future__ import annotations

import re
from typing import Any

import typer.core
import typer.rich_utils
from typer._click import core, formatting

__all__ = ["localise"]

_HELP = "Hiện trợ giúp này và thoát."
_USAGE = "Cách dùng: "
# The usage line's placeholders (Click's ``options_metavar`` and ``subcommand_metavar``).
_METAVARS = (("[OPTIONS]", "[TUỲ CHỌN]"), ("COMMAND [ARGS]...", "LỆNH [ĐỐI SỐ]..."))
_TYPER = {
    "DEPRECATED_STRING": "(không còn dùng) ",
    "DEFAULT_STRING": "[mặc định: {}]",
    "ENVVAR_STRING": "[biến môi trường: {}]",
    "REQUIRED_LONG_STRING": "[bắt buộc]",
    "ARGUMENTS_PANEL_TITLE": "Đối số",
    "OPTIONS_PANEL_TITLE": "Tuỳ chọn",
    "COMMANDS_PANEL_TITLE": "Lệnh",
    "ERRORS_PANEL_TITLE": "Lỗi",
    "ABORTED_TEXT": "Đã dừng.",
    "RICH_HELP": "Xem [blue]'{command_path} {help_option}'[/] để biết cách dùng.",
}
# The value a parameter takes, as Typer names its type in the help ("<int>"); a list of
# choices stays as it is (its values are what is typed).
_TYPES = {
    "int": "số nguyên",
    "float": "số",
    "str": "văn bản",
    "bool": "có/không",
    "path": "đường dẫn",
    "Path": "đường dẫn",
    "file": "tệp",
    "directory": "thư mục",
    "datetime": "ngày giờ",
    "date": "ngày",
}
# The error messages of Typer's Click, as patterns; the first that matches is used.
_ERRORS = [
    (r"Missing argument (.*)\.", r"Thiếu đối số \1."),
    (r"Missing option (.*)\.", r"Thiếu tuỳ chọn \1."),
    (r"Missing parameter(?::)? (.*)", r"Thiếu tham số \1"),
    (r"Missing command\.", "Thiếu lệnh."),
    (r"No such option: (.*?)(?: \(Possible options: (.*)\))?$", r"Không có tuỳ chọn \1."),
    (r"No such command (.*)\.", r"Không có lệnh \1."),
    (r"Invalid value for (.*?): (.*)", r"Giá trị không hợp lệ cho \1: \2"),
    (r"Invalid value: (.*)", r"Giá trị không hợp lệ: \1"),
    (r"Got unexpected extra arguments? \((.*)\)", r"Thừa đối số (\1)"),
    (r"Option (.*) requires an argument\.", r"Tuỳ chọn \1 cần một giá trị."),
    (r"Option (.*) requires (\d+) arguments\.", r"Tuỳ chọn \1 cần \2 giá trị."),
    (r"Option (.*) does not take a value\.", r"Tuỳ chọn \1 không nhận giá trị."),
    (r"(.*) is not a valid integer(?: range)?\.", r"\1 không phải số nguyên hợp lệ."),
    (r"(.*) is not a valid float(?: range)?\.", r"\1 không phải số hợp lệ."),
    (r"(.*) is not one of (.*)\.", r"\1 không thuộc \2."),
    (r"(.*) is not (.*)\.", r"\1 không phải \2."),
    (r"(File|Directory|Path) (.*) does not exist\.", r"Không có \2."),
    (r"(File|Directory|Path) (.*) is a directory\.", r"\2 là một thư mục."),
    (r"(File|Directory|Path) (.*) is a file\.", r"\2 là một tệp."),
    (r"(File|Directory|Path) (.*) is not readable\.", r"Không đọc được \2."),
]


# What a value must be, in the words of Typer's type coercion.
_VALUES = [
    (r"Value error, (.*) is not one of (.*)\.", r"\1 không phải một trong các giá trị \2."),
    (r"Input should be a valid integer[^\n]*", "cần là một số nguyên"),
    (r"Input should be a valid number[^\n]*", "cần là một số"),
    (r"Input should be a valid date[^\n]*", "cần là một ngày (YYYY-MM-DD)"),
    (r"Input should be a valid boolean[^\n]*", "cần là có hoặc không"),
    (r"Input should be (.*) or (.*)", r"cần là \1 hoặc \2"),
    (r"Input should be (.*)", r"cần là \1"),
]


def translate(message: str) -> str:
    """A message of Typer's Click in Vietnamese (unchanged when it has no pattern here)."""
    for pattern, replacement in _VALUES:
        message = re.sub(pattern, replacement, message)
    lines = message.split("\n")
    for pattern, replacement in _ERRORS:
        m = re.fullmatch(pattern, lines[0])
        if m:
            lines[0] = m.expand(replacement)
            break
    return "\n".join(lines)


def type_label(label: str) -> str:
    """A type as the help shows it ("<int>", "<list[Path]>") in Vietnamese."""
    inner = label[1:-1] if label.startswith("<") and label.endswith(">") else label
    many = re.fullmatch(r"list\[(.*)\]", inner)
    if many:
        return f"<{_TYPES.get(many[1], many[1])}, nhiều lần>"
    ranged = re.fullmatch(r"(.*) range", inner)
    if ranged:
        return f"<{_TYPES.get(ranged[1], ranged[1])} trong khoảng>"
    return f"<{_TYPES.get(inner, inner)}>"


def localise() -> None:
    for name, text in _TYPER.items():
        setattr(typer.rich_utils, name, text)
    if getattr(core.Command.get_help_option, "_vi", False):
        return  # once per process

    help_option = core.Command.get_help_option

    def get_help_option(self: Any, ctx: Any) -> Any:
        option = help_option(self, ctx)
        if option is not None:
            option.help = _HELP
        return option

    get_help_option._vi = True  # type: ignore[attr-defined]
    core.Command.get_help_option = get_help_option  # type: ignore[method-assign]

    write_usage = formatting.HelpFormatter.write_usage

    def usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        for english, vietnamese in _METAVARS:
            args = args.replace(english, vietnamese)
        write_usage(self, prog, args, _USAGE if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = usage  # type: ignore[method-assign]

    display_type = typer.core._TyperParameter.display_type

    def vietnamese_type(self: Any, ctx: Any) -> str:
        return type_label(display_type(self, ctx))

    typer.core._TyperParameter.display_type = vietnamese_type  # type: ignore[method-assign]

    option_type = typer.core.TyperOption.display_type_rich

    def flag_without_type(self: Any, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None  # a flag takes no value: "<bool>" beside it misled
        return option_type(self, ctx)

    typer.core.TyperOption.display_type_rich = flag_without_type  # type: ignore[method-assign]

    format_error = typer.rich_utils.rich_format_error

    def rich_format_error(self: Any) -> None:
        message = translate(self.format_message())
        self.format_message = lambda: message
        format_error(self)

    typer.rich_utils.rich_format_error = rich_format_error
