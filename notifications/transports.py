"""The registry from channel to transport class: the one place that knows which class
sends which channel (``AgencyContact.channel`` / ``Notification.channel``).

Zalo lives in ``notifications.zalo`` and is imported only when asked for, so the
email path works (and its tests run) whether or not that module is present, and a
missing one is reported plainly instead of as an ImportError deep in a sweep.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import cast

from notifications.vocabulary import Transport

# channel -> "module:Class"; strings, so nothing is imported until a channel is used.
REGISTRY: dict[str, str] = {
    "email": "notifications.email:EmailTransport",
    "zalo": "notifications.zalo:ZaloTransport",
    "zalooa": "notifications.zalo:ZaloTransport",
    "zns": "notifications.zalo:ZaloTransport",
}


class UnknownChannel(LookupError):
    """No transport is registered (or installed) for a channel."""


def transport_class(channel: str) -> Callable[[], Transport]:
    """The class that sends ``channel``; UnknownChannel when there is none."""
    target = REGISTRY.get(channel)
    if target is None:
        raise UnknownChannel(f"no transport registered for channel {channel!r}")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the module exists but one of its own imports is missing
        raise UnknownChannel(
            f"channel {channel!r} needs {module_name}.{class_name}, which is not installed yet"
        ) from exc
    try:
        return cast(Callable[[], Transport], getattr(module, class_name))
    except AttributeError as exc:
        raise UnknownChannel(f"{module_name} has no {class_name} for channel {channel!r}") from exc


def build_transports(channels: Iterable[str]) -> dict[str, Transport]:
    """A transport per channel; channels served by one class share one instance (the
    Zalo transport serves both of its schemas over one HTTP client and token store)."""
    instances: dict[Callable[[], Transport], Transport] = {}
    result = {}
    for channel in channels:
        cls = transport_class(channel)
        if cls not in instances:
            instances[cls] = cls()
        result[channel] = instances[cls]
    return result


def available_channels() -> list[str]:
    """The registered channels whose transport can be imported right now."""
    found = []
    for channel in REGISTRY:
        try:
            transport_class(channel)
        except UnknownChannel:
            continue
        found.append(channel)
    return found
