"""The packaged YAML data files (``models/data``: holiday overrides, deadline defaults)
and an administrator's files of the same formats, read one way."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``off``, ``on``, ``yes`` and ``no`` as booleans, which would turn
    the override file's ``off:`` key into ``False``: only true/false are booleans here,
    as in YAML 1.2."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    """Parse one of the data files (YAML 1.2 booleans)."""
    return yaml.load(text, Loader=_Yaml12Loader)  # a SafeLoader: no arbitrary objects


def data_file(resource: str, path: Path | None = None) -> Any:
    """The packaged ``models/data/<resource>``, or the file at ``path``, parsed; an empty
    file is an empty mapping."""
    if path is None:
        text = resources.files("models.data").joinpath(resource).read_text("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return load_yaml(text) or {}
