"""Zalo as an Apprise plugin: Official Account messages (``zalooa://``) and Zalo
Notification Service template messages (``zns://``).

Apprise 1.13 (pinned beside Prefect) has no Zalo plugin; a later Apprise uses
``zalo://`` for the Zalo *Bot* API, so these schemas are distinct on purpose.

URL forms (one recipient per URL; the token pair lives in a token store keyed by the
OA id, never in the URL; the app secret is a private token, shown as ``****`` by
``url(privacy=True)``)::

    zalooa://{app_id}:{secret_key}@{oa_id}/{user_id}
    zns://{app_id}:{secret_key}@{oa_id}/{phone}?template={template_id}

    optional parameters:
      api=URL      API base (default https://openapi.zalo.me for zalooa,
                   https://business.openapi.zalo.me for zns)
      oauth=URL    OAuth base for the token refresh (default https://oauth.zaloapp.com)
      tokens=PATH  token file (default $HANBAOCAO_DATA_DIR/zalo_tokens.json)
      timeout=S    seconds per HTTP call (default 10); cto= / rto= (Apprise's connect
                   and read timeouts) override it; the token refresh gets 3× (≥ 30 s)
      verify=no    do not check the TLS certificate (Apprise's convention)
      type=cs      zalooa: consultation text instead of the transaction message
      kind=NAME    zalooa: transaction template_type (default transaction_internal)
      params=PATH  zns: the template parameters file (``notifications.zalo_params``)

Recipients: a Zalo user id is digits; a phone is a Vietnamese mobile number, accepted
as 84xxxxxxxxx, +84xxxxxxxxx or 0xxxxxxxxx and sent as 84xxxxxxxxx.

Message mapping (the facts come from ``Message.fields``, see ``zalo_params``):
  zalooa  ``/v3.0/oa/message/transaction``: header = subject, text = ``Message.short``,
          a table of agency/period/deadline/status, the link as a button. ``type=cs``
          sends ``Message.short`` as text to ``/v3.0/oa/message/cs`` (only reaches users
          who wrote to the OA recently: otherwise -213/-230).
  zns     template_data = the approved template's typed parameters, built from the
          fields; lengths checked before sending (the failing parameter is named).

Apprise: ``apprise -P notifications/apprise_plugins -vv -b '…' 'zalooa://…'`` loads
the plugin (see that folder). Apprise's ``send(body, title)``: zalooa sends title and
body; zns takes the fields as a JSON object in the body.

Two entry points: Apprise's ``send()`` (bool, failures logged) after ``register()``,
and ``deliver(url, message)`` / ``ZaloTransport`` which raise ``DeliveryError`` saying
whether the failure is permanent (``ChannelFault``: the whole channel is stuck).
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import apprise.plugins
import apprise.plugins.base
import httpx
from apprise.common import NotifyType
from apprise.url import PrivacyMode

from notifications.vocabulary import ZALO_TEXT_LIMIT, DeliveryError, Message

__all__ = ["fit_text", "normalise_phone"]  # re-exported: callers know them from here
from notifications.zalo_errors import TokenRejected, check_answer
from notifications.zalo_params import (
    OA_HEADER_LIMIT,
    STAGE_KEY,
    ZnsConfig,
    fit_text,
    no_cr,
    normalise_phone,
    template_data,
    transaction_payload,
)
from notifications.zalo_tokens import (
    OAUTH_API,
    FileTokenStore,
    TokenPair,
    TokenStore,
    default_tokens_path,
    no_tokens,
    refresh_timeout,
    request_new_pair,
)

# Apprise ships py.typed but types little (class attributes annotated as None, untyped
# methods): seen through Any, its base class and plugin manager do not drown mypy
# --strict in errors about Apprise itself, and our own code stays fully checked.
NotifyBase: Any = apprise.plugins.base.NotifyBase
N_MGR: Any = apprise.plugins.N_MGR

OA_API = "https://openapi.zalo.me"
ZNS_API = "https://business.openapi.zalo.me"
DEFAULT_TIMEOUT = 10.0
OA_KINDS = ("transaction", "cs")
DEFAULT_TRANSACTION_TYPE = "transaction_internal"

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_USER_ID = re.compile(r"^\d{1,32}$")
_KIND = re.compile(r"^transaction_[a-z]{1,32}$")


class ZaloNotifyBase(NotifyBase):  # type: ignore[misc]  # subclassing Any, see above
    """What both schemas share: URL handling, tokens, the HTTP call."""

    category = "custom"
    service_url = "https://developers.zalo.me/"
    setup_url = "https://developers.zalo.me/docs/official-account"
    # Seconds between two calls of one instance (a send, its refresh and its retry):
    # Apprise's default 5.5 s would make a token refresh cost 11 s.
    request_rate_per_sec = 0.2
    default_api: ClassVar[str] = OA_API

    # Token names are the constructor's argument names (no map_to): Apprise YAML
    # configuration may name them (``app_id: …``) and they reach __init__ as they are.
    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_tokens,
        **{
            "app_id": {"name": "App ID", "type": "string", "required": True},
            "secret_key": {
                "name": "App Secret Key",
                "type": "string",
                "private": True,
                "required": True,
            },
            "oa_id": {"name": "Official Account ID", "type": "string", "required": True},
            "target": {"name": "Recipient", "type": "string", "required": True},
        },
    )
    template_args: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_args,
        **{
            "api": {"name": "API base URL", "type": "string"},
            "oauth": {"name": "OAuth base URL", "type": "string", "default": OAUTH_API},
            "tokens": {"name": "Token file", "type": "string"},
            "timeout": {
                "name": "Timeout (s)",
                "type": "float",
                "min": 0.1,
                "default": DEFAULT_TIMEOUT,
            },
        },
    )

    def __init__(
        self,
        oa_id: str,
        target: str,
        app_id: str,
        secret_key: str,
        api: str | None = None,
        oauth: str | None = None,
        tokens: str | None = None,
        timeout: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not (oa_id and _ID.match(str(oa_id))):
            raise TypeError(f"{self.service_name}: mã OA không hợp lệ")
        if not (app_id and secret_key):
            raise TypeError(f"{self.service_name}: cần app id và secret key")
        self.oa_id, self.zalo_app_id, self.secret_key = str(oa_id), str(app_id), str(secret_key)
        self.target = self._valid_target(str(target or ""))
        self.api = _base_url(api or self.default_api)
        self.oauth = _base_url(oauth or OAUTH_API)
        self.tokens = tokens
        self.http_timeout = _timeout(timeout)
        # Apprise's cto=/rto= win over timeout= when given (URLBase has parsed them).
        self.timeouts = httpx.Timeout(
            self.http_timeout,
            connect=float(kwargs["cto"]) if "cto" in kwargs else self.http_timeout,
            read=float(kwargs["rto"]) if "rto" in kwargs else self.http_timeout,
        )
        self.token_store: TokenStore = FileTokenStore(tokens or default_tokens_path())

    @property
    def endpoint(self) -> str:
        raise NotImplementedError

    def _valid_target(self, target: str) -> str:
        raise NotImplementedError

    def payload_for_message(self, message: Message) -> dict[str, Any]:
        raise NotImplementedError

    def payload_for_apprise(self, body: str, title: str) -> dict[str, Any]:
        raise NotImplementedError

    # -- sending -----------------------------------------------------------------------

    def send(
        self, body: str, title: str = "", notify_type: NotifyType = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        """Apprise's contract: True on success, False (logged) otherwise."""
        try:
            with http_client(None, verify=self.verify_certificate) as client:
                self.deliver_payload(self.payload_for_apprise(body, title), client)
        except DeliveryError as exc:
            kind = "permanent" if exc.permanent else "transient"
            self.logger.warning("%s not sent (%s): %s", self.service_name, kind, exc)
            return False
        self.logger.info("Sent %s notification.", self.service_name)
        return True

    def deliver_payload(self, payload: dict[str, Any], client: httpx.Client) -> dict[str, Any]:
        """POST ``payload``; on a rejected token, refresh the pair and retry ONCE."""
        pair = self._usable_pair(client)
        try:
            return self._post(client, payload, pair.access_token)
        except TokenRejected:
            self.logger.info("%s access token rejected: refreshing it", self.service_name)
        pair = self.refresh_with(client, pair.access_token)
        try:
            return self._post(client, payload, pair.access_token)
        except TokenRejected:
            raise DeliveryError(
                "Zalo từ chối cả token vừa làm mới: cần cấp quyền lại cho OA "
                f"(hanbaocao zalo authorize --oa {self.oa_id})",
                permanent=True,
            ) from None

    def _usable_pair(self, client: httpx.Client) -> TokenPair:
        pair = self.token_store.get(self.oa_id)
        if pair is None:
            raise no_tokens(self.oa_id)
        # Refresh ahead of time rather than spend a call on a token known to be dead.
        return self.refresh_with(client, pair.access_token) if pair.expired() else pair

    def refresh_with(self, client: httpx.Client, failed_access_token: str) -> TokenPair:
        """A pair newer than ``failed_access_token`` (refreshed once, under the store's
        lock, unless another sender already did)."""

        def spend(old: TokenPair) -> TokenPair:
            self.throttle()
            return self.request_pair(client, old.refresh_token)

        return self.token_store.refresh(self.oa_id, failed_access_token, spend)

    def request_pair(self, client: httpx.Client, refresh_token: str) -> TokenPair:
        """Spend ``refresh_token`` for a new pair (not stored: the caller does)."""
        return request_new_pair(
            client,
            oauth_base=self.oauth,
            app_id=self.zalo_app_id,
            secret_key=self.secret_key,
            refresh_token=refresh_token,
            timeout=refresh_timeout(self.http_timeout),
            oa_id=self.oa_id,
        )

    def _post(self, client: httpx.Client, payload: dict[str, Any], token: str) -> dict[str, Any]:
        self.throttle()
        try:
            response = client.post(
                self.api + self.endpoint,
                json=payload,
                headers={"access_token": token},
                timeout=self.timeouts,
            )
        except httpx.TimeoutException:
            raise DeliveryError(
                f"Zalo: không có trả lời trong {self.http_timeout:g} giây", permanent=False
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Zalo: {type(exc).__name__}", permanent=False) from None
        return check_answer(response)

    # -- URL ---------------------------------------------------------------------------

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        params = self._own_params()
        params.update(self.url_parameters(privacy=privacy, *args, **kwargs))  # noqa: B026
        return "{schema}://{app}:{secret}@{oa}/{target}/?{params}".format(
            schema=self.secure_protocol,
            app=self.quote(self.zalo_app_id, safe=""),
            secret=self.pprint(self.secret_key, privacy, mode=PrivacyMode.Secret, safe=""),
            oa=self.quote(self.oa_id, safe=""),
            target=self.quote(self.target, safe=""),
            params=self.urlencode(params),
        )

    def _own_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.api != self.default_api:
            params["api"] = self.api
        if self.oauth != OAUTH_API:
            params["oauth"] = self.oauth
        if self.tokens:
            params["tokens"] = self.tokens
        if self.http_timeout != DEFAULT_TIMEOUT:
            params["timeout"] = f"{self.http_timeout:g}"
        return params

    def __len__(self) -> int:
        return 1  # one recipient per URL

    # The query arguments each schema reads from its URL.
    url_args: ClassVar[tuple[str, ...]] = ("api", "oauth", "tokens", "timeout")

    @classmethod
    def parse_zalo_url(cls, url: str) -> dict[str, Any] | None:
        results: dict[str, Any] | None = NotifyBase.parse_url(url, verify_host=False)
        if not results:
            return results
        targets = cls.split_path(results["fullpath"])
        results["oa_id"] = cls.unquote(results["host"] or "")
        results["app_id"] = cls.unquote(results["user"] or "")
        results["secret_key"] = cls.unquote(results["password"] or "")
        results["target"] = targets[0] if targets else ""
        for name in cls.url_args:
            if results["qsd"].get(name):
                results[name] = results["qsd"][name]
        return results


class NotifyZaloOA(ZaloNotifyBase):
    """Zalo Official Account message to a user id: a transaction message (default) or a
    consultation text (``type=cs``)."""

    service_name = "Zalo Official Account"
    secure_protocol = "zalooa"
    default_api = OA_API
    body_maxlen = ZALO_TEXT_LIMIT
    title_maxlen = OA_HEADER_LIMIT  # the transaction message's header
    templates = ("{schema}://{app_id}:{secret_key}@{oa_id}/{target}",)
    template_args: ClassVar[dict[str, dict[str, Any]]] = dict(
        ZaloNotifyBase.template_args,
        **{
            "type": {
                "name": "Message type",
                "type": "choice:string",
                "values": OA_KINDS,
                "default": "transaction",
            },
            "kind": {
                "name": "Transaction template type",
                "type": "string",
                "default": DEFAULT_TRANSACTION_TYPE,
            },
        },
    )
    url_args = (*ZaloNotifyBase.url_args, "type", "kind")

    def __init__(
        self, *args: Any, type: str | None = None, kind: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.message_type = (type or "transaction").lower()
        if self.message_type not in OA_KINDS:
            raise TypeError("Zalo OA: type= phải là transaction hoặc cs")
        self.transaction_type = kind or DEFAULT_TRANSACTION_TYPE
        if not _KIND.match(self.transaction_type):
            raise TypeError("Zalo OA: kind= phải có dạng transaction_…")

    @property
    def endpoint(self) -> str:
        return f"/v3.0/oa/message/{self.message_type}"

    def _valid_target(self, target: str) -> str:
        if not _USER_ID.match(target):
            raise TypeError("Zalo OA: user id phải là một dãy chữ số")
        return target

    def payload_for_message(self, message: Message) -> dict[str, Any]:
        if self.message_type == "cs":
            return self._text_payload(message.short)
        return self._transaction(message.subject, message.short, message.field_map)

    def payload_for_apprise(self, body: str, title: str) -> dict[str, Any]:
        if self.message_type == "cs":
            return self._text_payload(f"{title}\n{body}" if title.strip() else body)
        return self._transaction(title, body, {})

    def _transaction(self, header: str, text: str, fields: Mapping[str, str]) -> dict[str, Any]:
        return transaction_payload(self.target, header, text, fields, self.transaction_type)

    def _text_payload(self, text: str) -> dict[str, Any]:
        text = no_cr(text).strip()
        fitted = fit_text(text)
        if fitted != text:
            self.logger.warning("Zalo OA text of %d characters cut to %d", len(text), len(fitted))
        return {"recipient": {"user_id": self.target}, "message": {"text": fitted}}

    def _own_params(self) -> dict[str, str]:
        params = super()._own_params()
        if self.message_type != "transaction":
            params["type"] = self.message_type
        if self.transaction_type != DEFAULT_TRANSACTION_TYPE:
            params["kind"] = self.transaction_type
        return params

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        return NotifyZaloOA.parse_zalo_url(url)


class NotifyZNS(ZaloNotifyBase):
    """Zalo Notification Service: an approved template sent to a mobile number."""

    service_name = "Zalo ZNS"
    secure_protocol = "zns"
    default_api = ZNS_API
    templates = ("{schema}://{app_id}:{secret_key}@{oa_id}/{target}?template={template}",)
    # The template id is a required token; ``?template=`` is how the URL gives it.
    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        ZaloNotifyBase.template_tokens,
        **{"template": {"name": "ZNS template id", "type": "string", "required": True}},
    )
    template_args: ClassVar[dict[str, dict[str, Any]]] = dict(
        ZaloNotifyBase.template_args,
        **{
            "template": {"alias_of": "template"},
            "params": {"name": "Template parameters file", "type": "string"},
        },
    )
    url_args = (*ZaloNotifyBase.url_args, "template", "params")

    def __init__(
        self, *args: Any, template: str | None = None, params: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not (template and _ID.match(str(template))):
            raise TypeError("Zalo ZNS: cần mã mẫu ZNS (?template=)")
        self.template_id = str(template)
        self.params_path = params
        self.config = ZnsConfig.load(self.template_id, params)

    @property
    def endpoint(self) -> str:
        return "/message/template"

    def _valid_target(self, target: str) -> str:
        phone = normalise_phone(target)
        if phone is None:
            raise TypeError("Zalo ZNS: cần số di động Việt Nam (84 + 9 chữ số)")
        return phone

    def payload_for_message(self, message: Message) -> dict[str, Any]:
        return self._payload(message.field_map)

    def payload_for_apprise(self, body: str, title: str) -> dict[str, Any]:
        try:
            fields = json.loads(body)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise DeliveryError(
                "Zalo ZNS: nội dung phải là JSON các trường (agency, report, period, "
                "deadline, days, stage, link)",
                permanent=True,
            )
        return self._payload({str(k): str(v) for k, v in fields.items()})

    def _payload(self, fields: Mapping[str, str]) -> dict[str, Any]:
        if not fields:
            raise DeliveryError(
                "Zalo ZNS: tin không có các trường của mẫu (chỉ gửi được thông báo hạn)",
                permanent=True,
            )
        spec = self.config.for_stage(fields.get(STAGE_KEY))
        return {
            "phone": self.target,
            "template_id": spec.template_id,
            "template_data": template_data(spec, fields),
            # Our id for Zalo's delivery callbacks; unique per attempt.
            "tracking_id": uuid.uuid4().hex,
        }

    def _own_params(self) -> dict[str, str]:
        params = {"template": self.template_id, **super()._own_params()}
        if self.params_path:
            params["params"] = self.params_path
        return params

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        return NotifyZNS.parse_zalo_url(url)


PLUGINS: dict[str, type[ZaloNotifyBase]] = {"zalooa": NotifyZaloOA, "zns": NotifyZNS}


def _base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise TypeError("Zalo: api/oauth phải là URL http(s)")
    return value.rstrip("/")


def _timeout(value: float | str | None) -> float:
    try:
        seconds = DEFAULT_TIMEOUT if value is None else float(value)
    except ValueError:
        raise TypeError("Zalo: timeout phải là số giây") from None
    if not 0 < seconds <= 120:
        raise TypeError("Zalo: timeout phải trong khoảng (0, 120] giây")
    return seconds


# -- registration and the dispatcher's entry points ------------------------------------


def register() -> None:
    """Make ``zalooa://`` and ``zns://`` known to Apprise. Idempotent; refuses to
    shadow a plugin that someone else registered under the same schema."""
    for schema, plugin in PLUGINS.items():
        if schema in N_MGR:
            current = N_MGR[schema]
            if current is plugin:
                continue
            if (
                f"{current.__module__}.{current.__qualname__}"
                != f"{plugin.__module__}.{plugin.__qualname__}"
            ):
                raise RuntimeError(f"Apprise already has a plugin for {schema}://")
        # force=True only replaces an older copy of this very class (module reloaded).
        N_MGR.add(plugin, schemas=[schema], force=True)


def plugin_for(url: str) -> ZaloNotifyBase:
    """The plugin instance for ``url``; an unusable URL is a permanent failure."""
    plugin_class = PLUGINS.get(url.partition("://")[0].lower())
    if plugin_class is None:
        raise DeliveryError("not a zalooa:// or zns:// URL", permanent=True)
    results = plugin_class.parse_url(url)
    if not results:
        raise DeliveryError("unreadable Zalo URL", permanent=True)
    try:
        return plugin_class(**results)
    except (TypeError, ValueError) as exc:  # our messages never include the secret
        raise DeliveryError(f"URL Zalo không hợp lệ: {exc}", permanent=True) from None


@contextlib.contextmanager
def http_client(shared: httpx.Client | None, *, verify: bool = True) -> Iterator[httpx.Client]:
    """``shared`` as is, or a client for this one send."""
    if shared is not None:
        yield shared
        return
    with httpx.Client(timeout=DEFAULT_TIMEOUT, verify=verify) as client:
        yield client


def deliver(
    url: str,
    message: Message,
    *,
    store: TokenStore | None = None,
    client: httpx.Client | None = None,
) -> None:
    """Send ``message`` to the recipient of ``url``; raise ``DeliveryError`` saying
    whether the failure is permanent. ``store`` overrides the URL's token file."""
    plugin = plugin_for(url)
    if store is not None:
        plugin.token_store = store
    payload = plugin.payload_for_message(message)  # a bad parameter costs no token
    with http_client(client, verify=plugin.verify_certificate) as http:
        plugin.deliver_payload(payload, http)


class ZaloTransport:
    """The dispatcher's Zalo channel (both schemas), over shared HTTP clients (one per
    ``verify=`` setting: certificate checking is a property of the client)."""

    channel = "zalo"

    def __init__(
        self, *, store: TokenStore | None = None, client: httpx.Client | None = None
    ) -> None:
        self._store = store
        self._clients: dict[bool, httpx.Client] = {} if client is None else {True: client}

    def _client(self, verify: bool) -> httpx.Client:
        if verify not in self._clients:
            self._clients[verify] = httpx.Client(timeout=DEFAULT_TIMEOUT, verify=verify)
        return self._clients[verify]

    def send(self, url: str, message: Message) -> None:
        plugin = plugin_for(url)
        if self._store is not None:
            plugin.token_store = self._store
        payload = plugin.payload_for_message(message)
        plugin.deliver_payload(payload, self._client(plugin.verify_certificate))

    def mask(self, url: str) -> str:
        try:
            return plugin_for(url).url(privacy=True)
        except DeliveryError:
            # Never echo an unparsable URL: it may still hold a secret.
            return url.partition("://")[0] + "://(invalid URL)"

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
