"""The development set, scored by the corpus's own scorer: floors under what the grammar
reads today, on the whole set (the fit) and on the part held aside while it was developed
(split by document as in bench/bench_confidence.py), so that a change that loses ground
on unseen clauses fails here. The real judge is a set kept outside the project."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from directives.obligations import label_clause
from tests.conftest import CORPUS

# Floors a little under today's figures (whole set / held-aside part).
THRESHOLDS = {
    "detect_f1": 0.96,
    "frequency_acc": 0.91,
    "deadline_acc": 0.95,
    "recipient_acc": 0.88,
    "via_found": 0.89,
    "submitters_f1": 0.82,
    "exact_acc": 0.70,
}
HELD_ASIDE = {
    "detect_f1": 0.94,
    "frequency_acc": 0.92,
    "deadline_acc": 0.95,
    "recipient_acc": 0.88,
    "via_found": 0.95,
    "submitters_f1": 0.84,
    "exact_acc": 0.74,
}


def _scorer() -> Any:
    spec = importlib.util.spec_from_file_location("corpus_score", CORPUS / "score.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scored(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The corpus scorer's figures for the parser's labels of ``rows``."""
    preds = {row["id"]: label_clause(row["text"]) for row in rows}
    result, _errors = _scorer().score(rows, preds)
    return dict(result)


@pytest.fixture(scope="module")
def metrics(gold_clauses: list[dict[str, Any]]) -> dict[str, float]:
    return _scored(gold_clauses)


@pytest.mark.parametrize(("metric", "floor"), sorted(THRESHOLDS.items()))
def test_development_set_meets_the_bar(
    metrics: dict[str, float], metric: str, floor: float
) -> None:
    assert metrics[metric] >= floor, json.dumps(metrics, indent=1)


def _held_aside(doc: str) -> bool:
    return int(hashlib.md5(doc.encode()).hexdigest(), 16) % 3 == 2


@pytest.fixture(scope="module")
def held_metrics(gold_clauses: list[dict[str, Any]]) -> dict[str, float]:
    return _scored([row for row in gold_clauses if _held_aside(row["doc"])])


@pytest.mark.parametrize(("metric", "floor"), sorted(HELD_ASIDE.items()))
def test_held_aside_part_keeps_its_ground(
    held_metrics: dict[str, float], metric: str, floor: float
) -> None:
    assert held_metrics[metric] >= floor, json.dumps(held_metrics, indent=1)


def test_every_label_is_in_the_schema(gold_clauses: list[dict[str, Any]]) -> None:
    for row in gold_clauses:
        label = label_clause(row["text"])
        assert set(label) == set(row["label"]), row["id"]
        assert set(label["deadline"]) == set(row["label"]["deadline"]), row["id"]


def test_the_scorer_is_the_corpus_one() -> None:
    """The copy in tests/data must stay the corpus's scorer, not a friendlier one."""
    text = (CORPUS / "score.py").read_text(encoding="utf-8")
    assert "def same_name" in text and ">= 0.8" in text
    assert Path(CORPUS / "clauses.jsonl").stat().st_size > 10_000


# The team's written sets (tests/data/written/README.md): clauses made up by writers who
# saw only the label conventions, never the parser or the corpus. A–D were developed on,
# E–F are held aside. Floors a little under today's figures on E–F.
WRITTEN = Path(__file__).resolve().parent.parent / "data" / "written"
WRITTEN_HELD = {
    "detect_f1": 0.96,
    "frequency_acc": 0.93,
    "deadline_acc": 0.95,
    "recipient_acc": 0.90,
    "via_found": 0.85,
    "submitters_f1": 0.90,
    "exact_acc": 0.74,
}


@pytest.fixture(scope="module")
def written_metrics() -> dict[str, float]:
    rows = [
        json.loads(line)
        for name in ("set_e.jsonl", "set_f.jsonl")
        for line in (WRITTEN / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return _scored(rows)


@pytest.mark.parametrize(("metric", "floor"), sorted(WRITTEN_HELD.items()))
def test_written_sets_held_aside_keep_their_ground(
    written_metrics: dict[str, float], metric: str, floor: float
) -> None:
    assert written_metrics[metric] >= floor, json.dumps(written_metrics, indent=1)
