"""Shared fixtures: the development corpus shipped under tests/data/corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).parent / "data" / "corpus"
EXAMPLES = Path(__file__).parent.parent / "examples"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def gold_clauses() -> list[dict[str, Any]]:
    return _jsonl(CORPUS / "clauses.jsonl")


@pytest.fixture(scope="session")
def gold_documents() -> list[dict[str, Any]]:
    return _jsonl(CORPUS / "documents.jsonl")
