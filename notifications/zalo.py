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
      timeout=S    seconds per HTTP call (default 10)

Phones are accepted as 84xxxxxxxxx, +84xxxxxxxxx or 0xxxxxxxxx and sent as 84xxxxxxxxx.

Message mapping:
  zalooa  text = ``Message.short`` (Apprise: title + body), cut at a word boundary
          with "…" beyond 2,000 characters.
  zns     template_data = {"title": ``Message.subject``, "content": ``Message.short``}
          (Apprise: title, body). The ZNS template must be approved with exactly
          these two parameters.

Two entry points: Apprise's ``send()`` (bool, failures logged) after ``register()``,
and ``deliver(url, message)`` / ``ZaloTransport`` which raise ``DeliveryError`` saying
whether the failure is permanent, for the dispatcher.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import apprise.plugins
import apprise.plugins.base
import httpx
from apprise.common import NotifyType
from apprise.url import PrivacyMode

from notifications.model import ZALO_TEXT_LIMIT, DeliveryError, Message
from notifications.zalo_tokens import (
    OAUTH_API,
    FileTokenStore,
    TokenPair,
    TokenStore,
    default_tokens_path,
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

# Invalid or expired access token: refresh the pair, then retry the send once.
TOKEN_ERRORS = frozenset({-216, -124})

# Recorded and never retried: retrying cannot change the answer.
PERMANENT_ERRORS: dict[int, str] = {
    -108: "invalid phone number",
    -109: "invalid ZNS template id",
    -117: "the OA or app may not use this ZNS template",
    -118: "the user has no active Zalo account",
    -131: "ZNS template not approved",
    -139: "the user refused this kind of ZNS message",
    -141: "the user refused messages from this Official Account",
    -201: "invalid parameter",
    -213: "the user does not follow the Official Account",
    -230: "the user has not interacted with the Official Account recently",
    -1121: "a template parameter is too long",
    -1122: "a template parameter is missing",
}

# Quotas and balance: transient, retried after this many seconds.
QUOTA_ERRORS: dict[int, float] = {
    -32: 60.0,  # request rate limit
    -115: 3600.0,  # ZNS balance exhausted: someone must top it up
    -144: 3600.0,  # OA daily ZNS quota
    -147: 3600.0,  # template daily quota
}

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PHONE = re.compile(r"^(?:\+?84|0)(?P<rest>\d{9})$")


class _TokenRejected(Exception):
    """Zalo refused the access token (-216, -124 or HTTP 401)."""


def fit_text(text: str, limit: int = ZALO_TEXT_LIMIT) -> str:
    """``text`` within ``limit`` characters, cut at the last space when one is not too
    far back (else mid-word), ending with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = max(head.rfind(" "), head.rfind("\n"))
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + "…"


def normalise_phone(phone: str) -> str | None:
    """84xxxxxxxxx, or None when ``phone`` is not a Vietnamese mobile number."""
    match = _PHONE.match(re.sub(r"[\s.-]", "", phone))
    return "84" + match.group("rest") if match else None


def check_answer(response: httpx.Response) -> dict[str, Any]:
    """Zalo's JSON answer when it says success; raises otherwise. Zalo answers HTTP 200
    with ``error != 0`` for most failures, so the body decides, not the status."""
    status = response.status_code
    if status == 401:
        raise _TokenRejected
    if status == 429:
        raise DeliveryError(
            "Zalo: rate limited (HTTP 429)", permanent=False, retry_after=_retry_after(response)
        )
    if status >= 500 or status == 408:
        raise DeliveryError(f"Zalo: HTTP {status}", permanent=False)
    answer = _json_object(response)
    code = _error_code(answer)
    if code == 0 and status < 300:
        return answer
    raise _error_for(code, str(answer.get("message", ""))[:200], status)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise DeliveryError(
            f"Zalo: answer is not a JSON object (HTTP {response.status_code})", permanent=False
        )
    return answer


def _error_code(answer: dict[str, Any]) -> int:
    try:
        return int(answer.get("error", 0))
    except (TypeError, ValueError):
        return -1  # unreadable code: treated as an unknown (transient) error


def _error_for(code: int, text: str, status: int) -> Exception:
    if code in TOKEN_ERRORS:
        return _TokenRejected()
    if code in PERMANENT_ERRORS:
        return DeliveryError(
            f"Zalo error {code}: {PERMANENT_ERRORS[code]} ({text})", permanent=True
        )
    if code in QUOTA_ERRORS:
        return DeliveryError(
            f"Zalo error {code}: quota ({text})", permanent=False, retry_after=QUOTA_ERRORS[code]
        )
    if code == 0:  # a 4xx without a Zalo code: the request itself is wrong
        return DeliveryError(f"Zalo: HTTP {status}", permanent=True)
    # Unknown codes are retried: losing a deadline reminder is worse than a retry.
    return DeliveryError(f"Zalo error {code} (unknown, retried): {text}", permanent=False)


def _retry_after(response: httpx.Response, default: float = 60.0) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


class ZaloNotifyBase(NotifyBase):  # type: ignore[misc]  # subclassing Any, see above
    """What both schemas share: URL handling, tokens, the HTTP call."""

    category = "custom"
    service_url = "https://developers.zalo.me/"
    setup_url = "https://developers.zalo.me/docs/official-account"
    # Seconds between two calls of one instance (a send, its refresh and its retry):
    # Apprise's default 5.5 s would make a token refresh cost 11 s.
    request_rate_per_sec = 0.2
    default_api: ClassVar[str] = OA_API
    endpoint: ClassVar[str] = ""

    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_tokens,
        **{
            "app_id": {"name": "App ID", "type": "string", "map_to": "user", "required": True},
            "secret_key": {
                "name": "App Secret Key",
                "type": "string",
                "private": True,
                "map_to": "password",
                "required": True,
            },
            "oa_id": {
                "name": "Official Account ID",
                "type": "string",
                "map_to": "host",
                "required": True,
            },
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
        if not (oa_id and _ID.match(oa_id)):
            raise TypeError(f"{self.service_name}: invalid OA id")
        if not (app_id and secret_key):
            raise TypeError(f"{self.service_name}: app id and secret key required")
        self.oa_id, self.zalo_app_id, self.secret_key = oa_id, app_id, secret_key
        self.target = self._valid_target(target)
        self.api = _base_url(api or self.default_api)
        self.oauth = _base_url(oauth or OAUTH_API)
        self.tokens = tokens
        self.http_timeout = _timeout(timeout)
        self.token_store: TokenStore = FileTokenStore(tokens or default_tokens_path())

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
            with http_client(None) as client:
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
        except _TokenRejected:
            self.logger.info("%s access token rejected: refreshing it", self.service_name)
        pair = self._refreshed(client, pair.access_token)
        try:
            return self._post(client, payload, pair.access_token)
        except _TokenRejected:
            raise DeliveryError(
                "Zalo rejected a freshly refreshed access token: re-authorise the OA",
                permanent=True,
            ) from None

    def _usable_pair(self, client: httpx.Client) -> TokenPair:
        pair = self.token_store.get(self.oa_id)
        if pair is None:
            raise DeliveryError(
                f"no Zalo tokens stored for OA {self.oa_id}: authorise the OA", permanent=True
            )
        # Refresh ahead of time rather than spend a call on a token known to be dead.
        return self._refreshed(client, pair.access_token) if pair.expired() else pair

    def _refreshed(self, client: httpx.Client, failed_access_token: str) -> TokenPair:
        def spend(old: TokenPair) -> TokenPair:
            self.throttle()
            return request_new_pair(
                client,
                oauth_base=self.oauth,
                app_id=self.zalo_app_id,
                secret_key=self.secret_key,
                refresh_token=old.refresh_token,
                timeout=self.http_timeout,
            )

        return self.token_store.refresh(self.oa_id, failed_access_token, spend)

    def _post(self, client: httpx.Client, payload: dict[str, Any], token: str) -> dict[str, Any]:
        self.throttle()
        try:
            response = client.post(
                self.api + self.endpoint,
                json=payload,
                headers={"access_token": token},
                timeout=self.http_timeout,
            )
        except httpx.TimeoutException:
            raise DeliveryError(
                f"Zalo: no answer within {self.http_timeout:g} s", permanent=False
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
        for name in ("api", "oauth", "tokens", "timeout", "template"):
            if results["qsd"].get(name):
                results[name] = results["qsd"][name]
        return results


class NotifyZaloOA(ZaloNotifyBase):
    """Zalo Official Account "customer service" text message to a user id."""

    service_name = "Zalo Official Account"
    secure_protocol = "zalooa"
    default_api = OA_API
    endpoint = "/v3.0/oa/message/cs"
    body_maxlen = ZALO_TEXT_LIMIT
    title_maxlen = 0  # no title field: Apprise folds the title into the body
    templates = ("{schema}://{app_id}:{secret_key}@{oa_id}/{target}",)

    def _valid_target(self, target: str) -> str:
        if not (target and _ID.match(target)):
            raise TypeError("Zalo OA: invalid user id")
        return target

    def payload_for_message(self, message: Message) -> dict[str, Any]:
        return self._payload(message.short)

    def payload_for_apprise(self, body: str, title: str) -> dict[str, Any]:
        return self._payload(f"{title}\n{body}" if title else body)

    def _payload(self, text: str) -> dict[str, Any]:
        fitted = fit_text(text)
        if fitted != text:
            self.logger.warning("Zalo OA text of %d characters cut to %d", len(text), len(fitted))
        return {"recipient": {"user_id": self.target}, "message": {"text": fitted}}

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        return NotifyZaloOA.parse_zalo_url(url)


class NotifyZNS(ZaloNotifyBase):
    """Zalo Notification Service: an approved template sent to a phone number."""

    service_name = "Zalo ZNS"
    secure_protocol = "zns"
    default_api = ZNS_API
    endpoint = "/message/template"
    templates = ("{schema}://{app_id}:{secret_key}@{oa_id}/{target}?template={template}",)
    template_args: ClassVar[dict[str, dict[str, Any]]] = dict(
        ZaloNotifyBase.template_args,
        **{"template": {"name": "ZNS template id", "type": "string", "required": True}},
    )

    def __init__(self, *args: Any, template: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not (template and _ID.match(template)):
            raise TypeError("Zalo ZNS: a template id (?template=) is required")
        self.template_id = template

    def _valid_target(self, target: str) -> str:
        phone = normalise_phone(target or "")
        if phone is None:
            raise TypeError("Zalo ZNS: the phone number must be 84xxxxxxxxx")
        return phone

    def payload_for_message(self, message: Message) -> dict[str, Any]:
        return self._payload(message.subject, message.short)

    def payload_for_apprise(self, body: str, title: str) -> dict[str, Any]:
        return self._payload(title, body)

    def _payload(self, title: str, content: str) -> dict[str, Any]:
        return {
            "phone": self.target,
            "template_id": self.template_id,
            "template_data": {"title": title, "content": content},
            # Our id for Zalo's delivery callbacks; unique per attempt.
            "tracking_id": uuid.uuid4().hex,
        }

    def _own_params(self) -> dict[str, str]:
        return {"template": self.template_id, **super()._own_params()}

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        return NotifyZNS.parse_zalo_url(url)


PLUGINS: dict[str, type[ZaloNotifyBase]] = {"zalooa": NotifyZaloOA, "zns": NotifyZNS}


def _base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise TypeError("Zalo: api/oauth must be http(s) URLs")
    return value.rstrip("/")


def _timeout(value: float | str | None) -> float:
    try:
        seconds = DEFAULT_TIMEOUT if value is None else float(value)
    except ValueError:
        raise TypeError("Zalo: timeout must be a number of seconds") from None
    if not 0 < seconds <= 120:
        raise TypeError("Zalo: timeout must be within (0, 120] seconds")
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
    except TypeError as exc:  # our messages never include the secret
        raise DeliveryError(f"invalid Zalo URL: {exc}", permanent=True) from None


@contextlib.contextmanager
def http_client(shared: httpx.Client | None) -> Iterator[httpx.Client]:
    """``shared`` as is, or a client for this one send."""
    if shared is not None:
        yield shared
        return
    with httpx.Client(timeout=DEFAULT_TIMEOUT) as client:
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
    with http_client(client) as http:
        plugin.deliver_payload(plugin.payload_for_message(message), http)


class ZaloTransport:
    """The dispatcher's Zalo channel (both schemas), over one shared HTTP client."""

    channel = "zalo"

    def __init__(
        self, *, store: TokenStore | None = None, client: httpx.Client | None = None
    ) -> None:
        self._store = store
        self._client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)

    def send(self, url: str, message: Message) -> None:
        deliver(url, message, store=self._store, client=self._client)

    def mask(self, url: str) -> str:
        try:
            return plugin_for(url).url(privacy=True)
        except DeliveryError:
            # Never echo an unparsable URL: it may still hold a secret.
            return url.partition("://")[0] + "://(invalid URL)"

    def close(self) -> None:
        self._client.close()
