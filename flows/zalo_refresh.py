"""The weekly refresh of each Zalo Official Account's tokens, as its own deployment.

A refresh token lives three months and is spent by its first use, and a send refreshes
only when it meets an expired access token: an OA that sends nothing through a
half-year period would die in between. Every Monday early morning (local time) this
flow refreshes each configured OA's pair. A refusal — a spent or revoked refresh token,
a wrong app secret, an answer lost after the token was spent — is an operator alert
(the ``hanbaocao.zalo.refresh-failed`` Prefect event and an audit row), and the run
fails so the Prefect UI shows it red: re-authorise with ``hanbaocao zalo authorize``.

The deployment exists when a Zalo channel is configured (``desired_specs`` adds it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prefect import flow, get_run_logger
from prefect.utilities.callables import parameter_schema

from flows import events
from models import clock
from models.db import session_scope
from models.store import audit

if TYPE_CHECKING:  # flows.deployments imports this module's spec lazily: no cycle
    from flows.deployments import DeploymentSpec

REFRESH_KEY = "zalo-token-refresh"  # = flows.deployments.ZALO_REFRESH_KEY
REFRESH_NAME = "hanbaocao-zalo-token-refresh"
REFRESH_SLUG = "weekly"
REFRESH_CRON = "30 5 * * 1"  # Mondays 05:30, Asia/Ho_Chi_Minh: before office hours


def zalo_configured() -> bool:
    from notifications.zalo_admin import configured_urls

    return bool(configured_urls())


def refresh_all() -> dict[str, str]:
    """Refresh every configured OA; ``{oa_id: "ok" | the failure}``. Alerts for each
    failure (event + audit); never raises for one OA's failure."""
    from notifications.vocabulary import DeliveryError
    from notifications.zalo_admin import configured_urls, oa_plugins, refresh

    results: dict[str, str] = {}
    for oa_id, plugin in sorted(oa_plugins(configured_urls()).items()):
        try:
            refresh(plugin)
        except DeliveryError as exc:
            results[oa_id] = str(exc)
            _alert(oa_id, str(exc))
        else:
            results[oa_id] = "ok"
    return results


def _alert(oa_id: str, error: str) -> None:
    logging.getLogger(__name__).error("Zalo OA %s: làm mới token thất bại: %s", oa_id, error)
    events.emit(
        events.ZALO_REFRESH_FAILED,
        resource_id=f"hanbaocao.zalo.oa.{oa_id}",
        name=f"Zalo OA {oa_id}",
        payload={"oa_id": oa_id, "error": error},
    )
    with session_scope() as session:
        audit(
            session,
            actor="zalo-token-refresh",
            action="zalo.refresh_failed",
            entity="zalo_oa",
            entity_id=None,
            data={"oa_id": oa_id, "error": error},
            at=clock.now(),
        )


@flow(name="zalo-token-refresh", flow_run_name="zalo-token-refresh")
def zalo_token_refresh() -> dict[str, str]:
    """Làm mới token của từng Zalo OA (hằng tuần)."""
    results = refresh_all()
    logger = get_run_logger()
    for oa_id, outcome in results.items():
        logger.info("OA %s: %s", oa_id, "đã làm mới" if outcome == "ok" else outcome)
    failed = sorted(oa for oa, outcome in results.items() if outcome != "ok")
    if failed:
        raise RuntimeError(
            f"Không làm mới được token của OA {', '.join(failed)}: "
            "cấp quyền lại bằng `hanbaocao zalo authorize`"
        )
    return results


def refresh_spec(*, work_pool_name: str | None = None) -> DeploymentSpec:
    """The deployment, weekly in local time (``ScheduleSpec``'s zone is the app's)."""
    from flows.deployments import APP_TAG, DeploymentSpec, ScheduleSpec

    return DeploymentSpec(
        key=REFRESH_KEY,
        name=REFRESH_NAME,
        flow_name=zalo_token_refresh.name,
        entrypoint=f"{zalo_token_refresh.fn.__module__}.{zalo_token_refresh.fn.__name__}",
        parameters={},
        tags=(APP_TAG, REFRESH_KEY),
        description="Làm mới token Zalo OA hằng tuần (refresh token chỉ sống 3 tháng).",
        schedule=ScheduleSpec("cron", REFRESH_CRON),
        schedule_slug=REFRESH_SLUG,
        parameter_schema=parameter_schema(zalo_token_refresh).model_dump(exclude_unset=True),
        work_pool_name=work_pool_name,
    )
