"""The dashboard's own client of the Prefect API: links from cycles to their
``open-cycle`` flow runs.

The run ids are asked of the Prefect API in one request per page, with a short timeout;
when Prefect cannot be reached the link is the UI's runs list searched by the run's name,
and the API is left alone for a minute, so a Prefect outage never fails or slows the page.
Plain HTTP (httpx), no Prefect import: the portal stays light.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from models.compliance import Column
from models.db import TZ
from models.settings import Settings

# PREFECT_UI_URL (the UI the links open) and PREFECT_API_URL (asked for run ids; default:
# the UI's own ``/api``): ``ui`` and ``api`` of the one settings object.
PrefectSettings = Settings


@dataclass(frozen=True, slots=True)
class RunLink:
    label: str
    url: str


@dataclass(slots=True)
class CycleLinks:
    search: str  # the runs list searched by the run's name: works even with Prefect down
    artifact: str  # the cycle's table artifact (flows.artifacts.cycle_key)
    runs: list[RunLink] = field(default_factory=list)  # exact flow-run pages, newest first


class PrefectRuns:
    """Links from cycles to their ``open-cycle`` flow runs."""

    FLOW = "open-cycle"

    def __init__(
        self,
        settings: PrefectSettings | None = None,
        *,
        timeout: float = 1.5,
        pause: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or PrefectSettings()
        self.timeout = timeout
        self.pause = pause  # seconds without asking after a failure
        self._transport = transport
        self._down_until = 0.0
        self._lock = threading.Lock()

    def links(self, columns: Sequence[Column]) -> dict[int, CycleLinks]:
        from flows.artifacts import cycle_key  # a plain function: no Prefect import

        ui = self.settings.ui
        out = {
            c.cycle_id: CycleLinks(
                search=f"{ui}/runs?{urlencode({'flow-run-search': c.run_name})}",
                artifact=f"{ui}/artifacts/key/{cycle_key(c.title, c.obligation_id, c.period_key)}",
            )
            for c in columns
        }
        for column, run in self._matches(columns):
            start = run.get("start_time") or run.get("expected_start_time")
            when = _run_time(start)
            state = (run.get("state") or {}).get("name") or run.get("state_name") or ""
            label = " · ".join(x for x in (when, state) if x) or str(run["id"])[:8]
            out[column.cycle_id].runs.append(RunLink(label, f"{ui}/runs/flow-run/{run['id']}"))
        return out

    def _matches(self, columns: Sequence[Column]) -> list[tuple[Column, dict[str, Any]]]:
        names = sorted({c.run_name for c in columns})
        runs = self._ask(names) if names else []
        by_name: dict[str, list[Column]] = {}
        for c in columns:
            by_name.setdefault(c.run_name, []).append(c)
        out = []
        for run in runs:
            params = run.get("parameters") or {}
            for c in by_name.get(str(run.get("name")), []):
                # Two obligations of one directive share a run name: the parameter decides.
                if params.get("obligation_id") in (None, c.obligation_id):
                    out.append((c, run))
        return out

    def _ask(self, names: list[str]) -> list[dict[str, Any]]:
        with self._lock:
            if time.monotonic() < self._down_until:
                return []
        body = {
            "flows": {"name": {"any_": [self.FLOW]}},
            "flow_runs": {"name": {"any_": names}},
            "sort": "EXPECTED_START_TIME_DESC",
            "limit": 200,
        }
        try:
            with httpx.Client(timeout=self.timeout, transport=self._transport) as client:
                response = client.post(f"{self.settings.api}/flow_runs/filter", json=body)
                response.raise_for_status()
                runs = response.json()
            if not isinstance(runs, list):
                raise ValueError("not a list of flow runs")
            return [r for r in runs if isinstance(r, dict) and r.get("id")]
        except (httpx.HTTPError, ValueError):
            with self._lock:
                self._down_until = time.monotonic() + self.pause
            return []


def _run_time(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.utcoffset() is None:
        return ""
    return moment.astimezone(TZ).strftime("%d/%m/%Y %H:%M")


__all__ = ["CycleLinks", "PrefectRuns", "PrefectSettings", "RunLink"]
