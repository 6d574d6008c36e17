"""GraphQL webhook subscriptions: `webhookSubscriptions`, `webhookSubscriptionCreate`, `...Delete`.

As the GraphQL Admin API has them (https://shopify.dev/docs/apps/build/webhooks/subscribe/subscribe-using-api,
https://shopify.dev/docs/api/admin-graphql/latest/mutations/webhookSubscriptionCreate):

- `webhookSubscriptionCreate(topic, webhookSubscription: {uri, format})` subscribes the calling
  app in the shop; `uri` replaces the deprecated `callbackUrl` from 2025-10
  (https://shopify.dev/changelog/consolidate-webhook-graphql-surfaces), both accepted here. An
  HTTPS address is required off this machine (plain http to loopback only, for the sandbox). The
  same topic and address twice is refused with "Address for this topic has already been taken".
- Deliveries of these subscriptions are signed with the app's client secret
  (`APP_CLIENT_SECRET`: the sandbox app's, public, opens nothing).
- `webhookSubscriptions(first|last, after|before, topics, uri)`: a connection, at most 250 a page;
  `webhookSubscriptionDelete(id)` answers the deleted id, or a user error for an unknown one.
- Reading and writing webhook subscriptions needs no access scope beyond the app's; the topic's
  resource scope (`read_orders`) is required for order topics, as `webhookSubscriptionCreate`
  answers ACCESS_DENIED without it.

`install(emulator)` extends the emulator's schema with these fields (called by `build`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from graphql import GraphQLError, extend_schema, parse

from kconnector_sandbox.shopify.graphql_api import paginate
from kconnector_sandbox.shopify.webhooks import Subscription

if TYPE_CHECKING:
    from datetime import datetime

    from graphql import GraphQLResolveInfo

    from kconnector_sandbox.shopify.app import ShopifyEmulator
    from kconnector_sandbox.shopify.webhooks import WebhookDispatcher

# The sandbox app's client secret: signs the deliveries of API-created subscriptions.
APP_CLIENT_SECRET = "shpss_sandbox_app_0123456789abcdef0123"  # noqa: S105 - public sandbox value
GID_PREFIX = "gid://shopify/WebhookSubscription/"
MAX_PAGE = 250
TOPICS = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_DELETE": "orders/delete",
    "ORDERS_EDITED": "orders/edited",
    "REFUNDS_CREATE": "refunds/create",
}
_BY_TOPIC = {topic: name for name, topic in TOPICS.items()}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

SDL = """
enum WebhookSubscriptionTopic { %s }
enum WebhookSubscriptionFormat { JSON XML }
input WebhookSubscriptionInput {
  uri: String
  callbackUrl: URL
  format: WebhookSubscriptionFormat
  includeFields: [String!]
  metafieldNamespaces: [String!]
  filter: String
}
type WebhookSubscription {
  id: ID!
  legacyResourceId: UnsignedInt64!
  topic: WebhookSubscriptionTopic!
  uri: String!
  callbackUrl: URL!
  format: WebhookSubscriptionFormat!
  createdAt: DateTime!
  updatedAt: DateTime!
}
type WebhookSubscriptionEdge { cursor: String! node: WebhookSubscription! }
type WebhookSubscriptionConnection {
  edges: [WebhookSubscriptionEdge!]!
  nodes: [WebhookSubscription!]!
  pageInfo: PageInfo!
}
type UserError { field: [String!] message: String! }
type WebhookSubscriptionCreatePayload {
  webhookSubscription: WebhookSubscription
  userErrors: [UserError!]!
}
type WebhookSubscriptionDeletePayload {
  deletedWebhookSubscriptionId: ID
  userErrors: [UserError!]!
}
extend type QueryRoot {
  webhookSubscriptions(
    first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
    topics: [WebhookSubscriptionTopic!], uri: String
  ): WebhookSubscriptionConnection!
}
extend type Mutation {
  webhookSubscriptionCreate(
    topic: WebhookSubscriptionTopic!, webhookSubscription: WebhookSubscriptionInput!
  ): WebhookSubscriptionCreatePayload
  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
}
""" % " ".join(TOPICS)  # noqa: UP031 - GraphQL braces would need doubling in an f-string


@dataclass(frozen=True)
class _View:
    legacy_id: int
    subscription: Subscription
    created_at: datetime

    def as_node(self) -> dict[str, Any]:
        topic = _BY_TOPIC[next(iter(self.subscription.topics))]
        return {
            "id": f"{GID_PREFIX}{self.legacy_id}",
            "legacyResourceId": self.legacy_id,
            "topic": topic,
            "uri": self.subscription.address,
            "callbackUrl": self.subscription.address,
            "format": "JSON",
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
        }


def _legacy_id(shop: str, address: str, topic: str) -> int:
    # Stable per (shop, address, topic): the key Shopify keeps unique.
    return 1_000_000_000 + zlib.crc32(f"{shop}|{address}|{topic}".encode())


def _address_error(address: str) -> str | None:
    parts = urlsplit(address)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return None  # the sandbox's own receivers
    return "Address protocol http:// is not supported" if parts.scheme else "Address is invalid"


class _Resolvers:
    def __init__(self, emulator: ShopifyEmulator) -> None:
        self.emulator = emulator
        self.webhooks: WebhookDispatcher = emulator.webhooks
        self.created: dict[int, datetime] = {}

    def _views(self, shop: str) -> list[_View]:
        views = []
        for subscription in list(self.webhooks.subscriptions):
            if subscription.shop_domain != shop or len(subscription.topics) != 1:
                continue  # the sandbox admin's catch-all subscriptions are not the app's
            (topic,) = subscription.topics
            if topic not in _BY_TOPIC or subscription.secret != APP_CLIENT_SECRET:
                continue
            legacy = _legacy_id(shop, subscription.address, topic)
            created = self.created.setdefault(legacy, self.emulator.clock.now())
            views.append(_View(legacy, subscription, created))
        return sorted(views, key=lambda v: v.legacy_id)

    def subscriptions(self, _root: object, info: GraphQLResolveInfo, **args: Any) -> Any:  # noqa: ANN401
        context = info.context
        if args.get("first") is None and args.get("last") is None:
            msg = "you must provide one of first or last"
            raise GraphQLError(msg)
        if (args.get("first") or args.get("last") or 0) > MAX_PAGE:
            msg = f"The page size cannot be more than {MAX_PAGE}."
            raise GraphQLError(msg)
        views = self._views(context.shop.profile.domain)
        if args.get("topics"):
            wanted = {TOPICS[name] for name in args["topics"]}
            views = [v for v in views if v.subscription.topics & wanted]
        if args.get("uri"):
            views = [v for v in views if v.subscription.address == args["uri"]]
        return paginate(
            [v.as_node() for v in views], [v.legacy_id for v in views], args, bulk=False
        )

    def create(self, _root: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:  # noqa: ANN401
        shop = info.context.shop
        if "read_orders" not in shop.scopes:
            msg = "Access denied for webhookSubscriptionCreate field. Required access: read_orders"
            raise GraphQLError(msg, extensions={"code": "ACCESS_DENIED"})
        body = args["webhookSubscription"]
        address = str(body.get("uri") or body.get("callbackUrl") or "")
        topic = TOPICS[args["topic"]]
        problem = _address_error(address)
        domain = shop.profile.domain
        taken = any(
            v.subscription.address == address and topic in v.subscription.topics
            for v in self._views(domain)
        )
        if problem is None and taken:
            problem = "Address for this topic has already been taken"
        if problem is not None:
            field = ["webhookSubscription", "uri" if "uri" in body else "callbackUrl"]
            return {
                "webhookSubscription": None,
                "userErrors": [{"field": field, "message": problem}],
            }
        subscription = Subscription(
            domain, address, APP_CLIENT_SECRET, frozenset({topic}), info.context.api_version
        )
        self.webhooks.subscribe(subscription)
        legacy = _legacy_id(domain, address, topic)
        self.created[legacy] = self.emulator.clock.now()
        view = _View(legacy, subscription, self.created[legacy])
        return {"webhookSubscription": view.as_node(), "userErrors": []}

    def delete(self, _root: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:  # noqa: ANN401
        wanted = str(args["id"])
        for view in self._views(info.context.shop.profile.domain):
            if f"{GID_PREFIX}{view.legacy_id}" == wanted:
                with self.webhooks._lock:  # noqa: SLF001 - the dispatcher's own lock
                    self.webhooks.subscriptions.remove(view.subscription)
                return {"deletedWebhookSubscriptionId": wanted, "userErrors": []}
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
        }


def install(emulator: ShopifyEmulator) -> None:
    """Extend `emulator`'s schema with the webhook subscription fields and wire them."""
    schema = extend_schema(emulator.schema, parse(SDL))
    resolvers = _Resolvers(emulator)
    query_type, mutation_type = schema.query_type, schema.mutation_type
    if query_type is None or mutation_type is None:
        msg = "the schema must define the query and mutation roots"
        raise RuntimeError(msg)
    query_type.fields["webhookSubscriptions"].resolve = resolvers.subscriptions
    mutation_type.fields["webhookSubscriptionCreate"].resolve = resolvers.create
    mutation_type.fields["webhookSubscriptionDelete"].resolve = resolvers.delete
    emulator.schema = schema
