"""REST API v3 webhooks: `GET/POST /wc/v3/webhooks`, `GET/DELETE /wc/v3/webhooks/<id>`.

As `WC_REST_Webhooks_Controller` serves them (https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks,
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/rest-api/Controllers/Version1/class-wc-rest-webhooks-v1-controller.php):

- Listing needs a key that may read; creating and deleting one that may write (answers 401
  `woocommerce_rest_cannot_view` / `_cannot_create` / `_cannot_delete` without a key).
- Create: `topic` and `delivery_url` are required (400 `rest_missing_callback_param`); the
  emulator delivers the order topics only (another topic: 400
  `woocommerce_rest_webhook_invalid_topic`); `secret` defaults to a generated one, `status` to
  `active`, `name` to "Webhook created on <date>". The answer is 201 with a `Location`, then
  WooCommerce pings the delivery URL (`deliver_ping`: a POST of form-encoded `webhook_id=N`,
  unsigned; its outcome does not change the REST answer). The secret is never shown back.
- Delete needs `force=true` (else 501 `woocommerce_rest_trash_not_supported`) and answers the
  webhook as it was; an unknown id is 404 `woocommerce_rest_shop_webhook_invalid_id`.
- Lists are paged like orders (`per_page` up to 100, `page`, `X-WP-Total`, `X-WP-TotalPages`).
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from starlette.concurrency import run_in_threadpool

from kconnector_sandbox.woocommerce.webhooks import ORDER_TOPICS
from kconnector_sandbox.woocommerce.wp_json import WPError, invalid_params, json_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from kconnector_sandbox.woocommerce.api_keys import ApiKey
    from kconnector_sandbox.woocommerce.emulator import WooCommerceEmulator
    from kconnector_sandbox.woocommerce.webhooks import Webhook

_COLLECTION = re.compile(r"^/wc/v3/webhooks/?$")
_ITEM = re.compile(r"^/wc/v3/webhooks/(\d+)/?$")
_MAX_PER_PAGE = 100
_PING_TIMEOUT = 5.0
_NOT_ALLOWED = {
    "GET": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "POST": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "DELETE": (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
}
_INVALID_ID = ("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.")
_INVALID_JSON = ("rest_invalid_json", "Invalid JSON body passed.")
_NO_TRASH = ("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
_INVALID_TOPIC = (
    "woocommerce_rest_webhook_invalid_topic",
    "Webhook topic is required and must be valid.",
)
_INVALID_URL = (
    "woocommerce_rest_webhook_invalid_delivery_url",
    "Webhook delivery URL must be a valid URL starting with http:// or https://.",
)


def _error(code: str, message: str, status: int, **extra: Any) -> WPError:  # noqa: ANN401
    return WPError(code, message, status, extra=extra or None)


def _document(emulator: WooCommerceEmulator, webhook: Webhook) -> dict[str, Any]:
    topic = min(webhook.topics) if webhook.topics else ""
    resource, _, event = topic.partition(".")
    base = f"{emulator.site_url}/wp-json/wc/v3/webhooks"
    return {
        "id": webhook.webhook_id,
        "name": webhook.name or f"Webhook {webhook.webhook_id}",
        "status": webhook.status,
        "topic": topic,
        "resource": resource,
        "event": event,
        "hooks": [f"woocommerce_{event}_{resource}"],
        "delivery_url": webhook.delivery_url,
        "_links": {
            "self": [{"href": f"{base}/{webhook.webhook_id}"}],
            "collection": [{"href": base}],
        },
    }


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise _error(*_INVALID_JSON, 400) from exc
        return value if isinstance(value, dict) else {}
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def ping(webhook: Webhook, user_agent: str) -> int | None:
    """`WC_Webhook::deliver_ping`: POST `webhook_id=N`, unsigned; the status (None: unreachable)."""
    parts = urlsplit(webhook.delivery_url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.netloc, timeout=_PING_TIMEOUT)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            path,
            body=f"webhook_id={webhook.webhook_id}".encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": user_agent,
            },
        )
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def _find(emulator: WooCommerceEmulator, webhook_id: int) -> Webhook:
    for webhook in emulator.webhooks.webhooks():
        if webhook.webhook_id == webhook_id:
            return webhook
    raise _error(*_INVALID_ID, 404)


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name, str(default))
    if not value.isdigit() or int(value) < 1:
        raise invalid_params(
            {name: ("rest_out_of_bounds", f"{name} must be greater than or equal to 1")}
        )
    return int(value)


async def serve_webhooks(
    emulator: WooCommerceEmulator, request: Request, route: str, key: ApiKey | None
) -> Response | None:
    """The answer to a webhooks route, or None when `route` is not one.

    Raises:
        WPError: as the controller answers (see the module docstring).
    """
    collection, item = _COLLECTION.match(route), _ITEM.match(route)
    if collection is None and item is None:
        return None
    method = request.method
    if key is None:
        raise _error(*_NOT_ALLOWED.get(method, _NOT_ALLOWED["GET"]), 401)
    params = dict(request.query_params)
    if collection is not None and method == "GET":
        hooks = sorted(emulator.webhooks.webhooks(), key=lambda w: w.webhook_id)
        per_page = min(_int_param(params, "per_page", 10), _MAX_PER_PAGE)
        page = _int_param(params, "page", 1)
        shown = hooks[(page - 1) * per_page : page * per_page]
        pages = max(1, -(-len(hooks) // per_page))
        return json_response(
            [_document(emulator, w) for w in shown],
            headers={"X-WP-Total": str(len(hooks)), "X-WP-TotalPages": str(pages)},
        )
    if collection is not None and method == "POST":
        return await _create(emulator, request)
    if item is not None and method in {"GET", "DELETE"}:
        webhook = _find(emulator, int(item.group(1)))
        document = _document(emulator, webhook)
        if method == "DELETE":
            if params.get("force") not in {"true", "1"}:
                raise _error(*_NO_TRASH, 501)
            emulator.webhooks.unregister(webhook.webhook_id)
        return json_response(document)
    return None


async def _create(emulator: WooCommerceEmulator, request: Request) -> Response:
    body = await _body(request)
    missing = [name for name in ("topic", "delivery_url") if not body.get(name)]
    if missing:
        names = ", ".join(missing)
        problem = _error("rest_missing_callback_param", f"Missing parameter(s): {names}", 400)
        problem.extra["params"] = missing
        raise problem
    topic, url = str(body["topic"]), str(body["delivery_url"])
    if topic not in ORDER_TOPICS:
        raise _error(*_INVALID_TOPIC, 400)
    if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).hostname:
        raise _error(*_INVALID_URL, 400)
    secret = str(body.get("secret") or secrets.token_urlsafe(37))
    webhook = emulator.webhooks.register(url, secret, frozenset({topic}))
    webhook.name = str(body.get("name") or "")
    if str(body.get("status") or "active") in {"paused", "disabled"}:
        webhook.status = str(body["status"])
    document = _document(emulator, webhook)
    if webhook.status == "active":
        user_agent = f"WooCommerce/{emulator.profile.wc_version} Hookshot (WordPress/6.7.1)"
        await run_in_threadpool(ping, webhook, user_agent)
    return json_response(
        document, status=201, headers={"Location": document["_links"]["self"][0]["href"]}
    )
