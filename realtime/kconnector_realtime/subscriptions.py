"""`kconnector-realtime subscriptions`: register, list and remove the stores' webhooks.

- Shopify, GraphQL Admin API: `webhookSubscriptions` (list), `webhookSubscriptionCreate`,
  `webhookSubscriptionDelete`, with the `uri` field of `WebhookSubscriptionInput` (2025-10
  onwards, https://shopify.dev/changelog/consolidate-webhook-graphql-surfaces). Shopify signs
  these deliveries with the app's client secret.
  https://shopify.dev/docs/apps/build/webhooks/subscribe/subscribe-using-api
- WooCommerce REST API v3: `GET/POST /wc/v3/webhooks`, `DELETE /wc/v3/webhooks/<id>?force=true`,
  each with its own secret (https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks).

`register` is idempotent: a topic already delivered to the URL is left as it is; only the
missing ones are created. `remove` deletes only the subscriptions pointing at the URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import click
import requests

from kconnector_canonical.redaction import install_log_redaction

if TYPE_CHECKING:
    from collections.abc import Iterable

TIMEOUT: Final = (10, 30)  # connect, read (seconds)
SHOPIFY_API_VERSION: Final = "2025-10"
SHOPIFY_TOPICS: Final = (
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_PAID",
    "ORDERS_CANCELLED",
    "ORDERS_DELETE",
    "REFUNDS_CREATE",
)
WOOCOMMERCE_TOPICS: Final = ("order.created", "order.updated", "order.deleted")

_LIST = """query Subscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    edges { node { id topic uri } }
    pageInfo { hasNextPage endCursor }
  }
}"""
_CREATE = """mutation Create($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""
_DELETE = """mutation Delete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}"""


class SubscriptionError(click.ClickException):
    """A store refused a subscription call; the message says what to fix."""


@dataclass(frozen=True)
class Subscription:
    """One webhook subscription as the store reports it."""

    id: str
    topic: str
    address: str


def _checked(response: requests.Response, what: str) -> Any:  # noqa: ANN401 - JSON
    if response.status_code in {401, 403}:
        msg = f"{what}: {response.status_code}: check the access token / API keys and their scopes"
        raise SubscriptionError(msg)
    if not response.ok:
        msg = f"{what}: the store answered HTTP {response.status_code}"
        raise SubscriptionError(msg)
    return response.json()


class ShopifySubscriptions:
    """One shop's webhook subscriptions over the GraphQL Admin API."""

    def __init__(self, api_url: str, access_token: str, session: requests.Session) -> None:
        """`api_url`: `https://<shop>.myshopify.com` (or the sandbox's shop URL)."""
        self.endpoint = f"{api_url.rstrip('/')}/admin/api/{SHOPIFY_API_VERSION}/graphql.json"
        self.session = session
        self.headers = {"X-Shopify-Access-Token": access_token}

    def _call(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        response = self.session.post(
            self.endpoint,
            json={"query": query, "variables": variables},
            headers=self.headers,
            timeout=TIMEOUT,
        )
        body = _checked(response, what)
        if body.get("errors"):
            codes = sorted({str(e.get("extensions", {}).get("code")) for e in body["errors"]})
            msg = f"{what}: GraphQL errors {', '.join(codes)}"
            raise SubscriptionError(msg)
        data: dict[str, Any] = body["data"]
        return data

    def subscriptions(self) -> list[Subscription]:
        """Every subscription of the shop (all pages)."""
        found: list[Subscription] = []
        after: str | None = None
        while True:
            data = self._call(_LIST, {"after": after}, "list Shopify webhooks")
            connection = data["webhookSubscriptions"]
            found.extend(
                Subscription(e["node"]["id"], e["node"]["topic"], e["node"]["uri"])
                for e in connection["edges"]
            )
            if not connection["pageInfo"]["hasNextPage"]:
                return found
            after = connection["pageInfo"]["endCursor"]

    def register(self, address: str, topics: Iterable[str] = SHOPIFY_TOPICS) -> list[str]:
        """Create the missing topics for `address`; returns the topics created."""
        have = {s.topic for s in self.subscriptions() if s.address == address}
        created: list[str] = []
        for topic in topics:
            if topic in have:
                continue
            data = self._call(_CREATE, {"topic": topic, "uri": address}, f"create {topic}")
            errors = data["webhookSubscriptionCreate"]["userErrors"]
            if errors:
                msg = f"create {topic}: {'; '.join(str(e.get('message')) for e in errors)}"
                raise SubscriptionError(msg)
            created.append(topic)
        return created

    def remove(self, address: str) -> list[str]:
        """Delete the subscriptions delivering to `address`; returns their topics."""
        removed: list[str] = []
        for subscription in self.subscriptions():
            if subscription.address != address:
                continue
            data = self._call(_DELETE, {"id": subscription.id}, f"delete {subscription.topic}")
            errors = data["webhookSubscriptionDelete"]["userErrors"]
            if errors:
                msg = f"delete {subscription.topic}: {errors[0].get('message')}"
                raise SubscriptionError(msg)
            removed.append(subscription.topic)
        return removed


class WooCommerceSubscriptions:
    """One store's webhooks over the REST API v3 (HTTP Basic with the API keys)."""

    def __init__(
        self, url: str, consumer_key: str, consumer_secret: str, session: requests.Session
    ) -> None:
        """`url`: the site's address (`https://shop.example.com`)."""
        self.base = f"{url.rstrip('/')}/wp-json/wc/v3/webhooks"
        self.session = session
        self.auth = (consumer_key, consumer_secret)

    def subscriptions(self) -> list[Subscription]:
        """Every webhook of the store (all pages)."""
        found: list[Subscription] = []
        page = 1
        while True:
            response = self.session.get(
                self.base,
                params={"per_page": 100, "page": page},
                auth=self.auth,
                timeout=TIMEOUT,
            )
            rows = _checked(response, "list WooCommerce webhooks")
            found.extend(Subscription(str(r["id"]), r["topic"], r["delivery_url"]) for r in rows)
            if page >= int(response.headers.get("X-WP-TotalPages", "1") or 1):
                return found
            page += 1

    def register(
        self, address: str, secret: str, topics: Iterable[str] = WOOCOMMERCE_TOPICS
    ) -> list[str]:
        """Create the missing topics for `address`, signed with `secret`; returns them."""
        have = {s.topic for s in self.subscriptions() if s.address == address}
        created: list[str] = []
        for topic in topics:
            if topic in have:
                continue
            response = self.session.post(
                self.base,
                json={
                    "name": f"K-Connector {topic}",
                    "topic": topic,
                    "delivery_url": address,
                    "secret": secret,
                    "status": "active",
                },
                auth=self.auth,
                timeout=TIMEOUT,
            )
            _checked(response, f"create {topic}")
            created.append(topic)
        return created

    def remove(self, address: str) -> list[str]:
        """Delete the webhooks delivering to `address`; returns their topics."""
        removed: list[str] = []
        for subscription in self.subscriptions():
            if subscription.address != address:
                continue
            response = self.session.delete(
                f"{self.base}/{subscription.id}",
                params={"force": "true"},
                auth=self.auth,
                timeout=TIMEOUT,
            )
            _checked(response, f"delete {subscription.topic}")
            removed.append(subscription.topic)
        return removed


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        msg = f"{name} is not set (secrets come from the environment only)"
        raise click.UsageError(msg)
    install_log_redaction([value])
    return value


def _client(platform: str, store_url: str) -> ShopifySubscriptions | WooCommerceSubscriptions:
    session = requests.Session()
    if platform == "shopify":
        return ShopifySubscriptions(store_url, _env("TAP_SHOPIFY_ORDERS_ACCESS_TOKEN"), session)
    return WooCommerceSubscriptions(
        store_url,
        _env("TAP_WOOCOMMERCE_ORDERS_CONSUMER_KEY"),
        _env("TAP_WOOCOMMERCE_ORDERS_CONSUMER_SECRET"),
        session,
    )


_platform = click.argument("platform", type=click.Choice(["shopify", "woocommerce"]))
_store_url = click.option(
    "--store-url", required=True, help="The store: https://<shop>.myshopify.com or the site URL."
)
_address = click.option(
    "--public-url",
    "address",
    required=True,
    help="The receiver's public URL for this platform, e.g. https://hooks.example.com/webhooks/shopify.",
)


@click.group()
def subscriptions() -> None:
    """Register, list or remove the stores' webhook subscriptions."""


@subscriptions.command("register")
@_platform
@_store_url
@_address
def register(platform: str, store_url: str, address: str) -> None:
    """Subscribe the order topics to the public URL (idempotent)."""
    client = _client(platform, store_url)
    if isinstance(client, ShopifySubscriptions):
        created = client.register(address)
    else:
        # The first secret: the new one during a rotation.
        secret = _env("KCONNECTOR_REALTIME_WOOCOMMERCE_SECRET").split(",")[0].strip()
        created = client.register(address, secret)
    click.echo(f"registered: {', '.join(created) if created else 'nothing new (already there)'}")


@subscriptions.command("list")
@_platform
@_store_url
def list_command(platform: str, store_url: str) -> None:
    """Show the store's webhook subscriptions."""
    for subscription in _client(platform, store_url).subscriptions():
        click.echo(f"{subscription.id}\t{subscription.topic}\t{subscription.address}")


@subscriptions.command("remove")
@_platform
@_store_url
@_address
def remove(platform: str, store_url: str, address: str) -> None:
    """Delete the subscriptions pointing at the public URL."""
    removed = _client(platform, store_url).remove(address)
    click.echo(f"removed: {', '.join(removed) if removed else 'nothing (none pointed there)'}")
