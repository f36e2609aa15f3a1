"""The Official Accounts this server sends for, and what an operator does with their
tokens: store the first pair (``hanbaocao zalo authorize``), refresh them on schedule
(``flows/zalo_refresh.py``), and see their age and expiry (``hanbaocao zalo status``).

An OA is configured by the channel URLs in the settings (``HANBAOCAO_ZALO_OA_URL``,
``HANBAOCAO_ZNS_URL``): they name its app credentials, the API and OAuth base URLs and
the token file, exactly as the messages use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from models import settings as config
from notifications.contacts import ChannelSettings
from notifications.zalo import PLUGINS, ZaloNotifyBase, http_client
from notifications.zalo_tokens import TokenPair, no_tokens

# A recipient the URL needs to be complete; never sent to (no message goes out here).
_PLACEHOLDER = {"zalooa": "0", "zns": "84900000000"}
REFRESH_SOON = timedelta(days=14)


class NotConfigured(LookupError):
    """No configured Zalo channel names this OA."""


def configured_urls(settings: ChannelSettings | None = None) -> list[str]:
    cfg = settings or config.settings()
    return [url for url in (cfg.zalo_oa_url, cfg.zns_url) if url]


def oa_plugins(urls: list[str]) -> dict[str, ZaloNotifyBase]:
    """One plugin per OA named by ``urls`` (channel URLs without a recipient): the first
    URL of an OA wins. A URL that cannot be read is a ValueError naming its schema only
    (it holds the app secret)."""
    found: dict[str, ZaloNotifyBase] = {}
    for url in urls:
        schema = url.partition("://")[0].lower()
        plugin_class = PLUGINS.get(schema)
        results = plugin_class.parse_url(url) if plugin_class else None
        if plugin_class is None or not results:
            raise ValueError(f"URL Zalo không đọc được ({schema}://…)")
        results["target"] = _PLACEHOLDER[schema]
        results.setdefault("template", "0")
        try:
            plugin = plugin_class(**results)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"URL Zalo không hợp lệ ({schema}://…): {exc}") from None
        found.setdefault(plugin.oa_id, plugin)
    return found


def plugin_for_oa(oa_id: str, settings: ChannelSettings | None = None) -> ZaloNotifyBase:
    plugins = oa_plugins(configured_urls(settings))
    if oa_id not in plugins:
        known = ", ".join(sorted(plugins)) or "không có"
        raise NotConfigured(
            f"OA {oa_id} không có trong cấu hình (HANBAOCAO_ZALO_OA_URL, HANBAOCAO_ZNS_URL); "
            f"OA đã cấu hình: {known}"
        )
    return plugins[oa_id]


def authorize(plugin: ZaloNotifyBase, refresh_token: str) -> TokenPair:
    """Spend the refresh token an administrator got from Zalo's consent screen for a
    first pair, and store it (a refusal raises ``ChannelFault``, nothing stored)."""
    with http_client(None, verify=plugin.verify_certificate) as client:
        pair = plugin.request_pair(client, refresh_token.strip())
    plugin.token_store.put(plugin.oa_id, pair)
    return pair


def refresh(plugin: ZaloNotifyBase) -> TokenPair:
    """Refresh the OA's pair now, whatever its age (the weekly deployment): a refresh
    token unused for three months dies. Under the store's lock, like a send's."""
    pair = plugin.token_store.get(plugin.oa_id)
    if pair is None:
        raise no_tokens(plugin.oa_id)
    with http_client(None, verify=plugin.verify_certificate) as client:
        return plugin.refresh_with(client, pair.access_token)


@dataclass(frozen=True, slots=True)
class OaStatus:
    oa_id: str
    pair: TokenPair | None
    now: datetime

    @property
    def age(self) -> timedelta | None:
        if self.pair is None or self.pair.issued_at is None:
            return None
        return self.now - datetime.fromtimestamp(self.pair.issued_at, UTC)

    @property
    def access_expires(self) -> datetime | None:
        return None if self.pair is None else datetime.fromtimestamp(self.pair.expires_at, UTC)

    @property
    def refresh_expires(self) -> datetime | None:
        at = None if self.pair is None else self.pair.refresh_expires_at
        return None if at is None else datetime.fromtimestamp(at, UTC)

    @property
    def verdict(self) -> str:
        """What the operator should know first, in Vietnamese."""
        if self.pair is None:
            return "chưa cấp quyền: chạy hanbaocao zalo authorize"
        ends = self.refresh_expires
        if ends is not None and ends <= self.now:
            return "refresh token đã hết hạn: cấp quyền lại"
        if ends is not None and ends - self.now <= REFRESH_SOON:
            return "refresh token sắp hết hạn: kiểm tra lịch làm mới hằng tuần"
        if self.access_expires is not None and self.access_expires <= self.now:
            return "access token đã hết hạn (sẽ tự làm mới khi gửi)"
        return "tốt"


def statuses(settings: ChannelSettings | None, now: datetime) -> list[OaStatus]:
    return [
        OaStatus(oa, plugin.token_store.get(oa), now)
        for oa, plugin in sorted(oa_plugins(configured_urls(settings)).items())
    ]
