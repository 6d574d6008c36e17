"""Shopify's mandatory compliance topics, answered with what K-Connector holds.

Every public Shopify app must serve `customers/data_request`, `customers/redact` and
`shop/redact` (https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance). What
K-Connector keeps about a shop's orders is the target's ledger: one row per QuickBooks document
it wrote (`external_id` `shopify:<shop>:<order id>#<role>`, the QuickBooks entity and id, the
document as sent). The answer lists those documents by id, never their content; the request is
kept on record in the queue (never dispatched) so the operator can act on it: the documents in
QuickBooks are the merchant's books, kept for as long as the tax law requires, and the local
store's copies are what `customers/redact` asks to remove (docs/realtime.md, "Compliance").
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kconnector_realtime.queue import split_store_key
from target_quickbooks.store.schema import ledger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from kconnector_realtime.deliveries import Event

_NOT_HELD = (
    "K-Connector keeps no customer profile; the QuickBooks documents listed are the merchant's "
    "accounting records."
)


def _order_ids(document: dict[str, Any], topic: str) -> list[str]:
    key = "orders_requested" if topic == "customers/data_request" else "orders_to_redact"
    values = document.get(key) or []
    return [str(v) for v in values if isinstance(v, int | str) and not isinstance(v, bool)]


def answer(engine: Engine, event: Event, body: bytes, realm_id: str | None) -> dict[str, Any]:
    """The documents K-Connector holds for the request (ids only), as the response body."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        document = {}
    if not isinstance(document, dict):
        document = {}
    _platform, shop = split_store_key(event.store_key)
    order_ids = _order_ids(document, event.topic)
    if event.topic == "shop/redact":
        prefixes = [f"shopify:{shop}:"]
    else:
        prefixes = [f"shopify:{shop}:{order_id}#" for order_id in order_ids]
    held: list[dict[str, str]] = []
    if not sa.inspect(engine).has_table(ledger.name):  # the target never ran on this database
        prefixes = []
    with engine.connect() as connection:
        for prefix in prefixes:
            query = sa.select(ledger.c.external_id, ledger.c.entity, ledger.c.qbo_id).where(
                ledger.c.external_id.startswith(prefix, autoescape=True)
            )
            if realm_id is not None:
                query = query.where(ledger.c.realm_id == realm_id)
            held.extend(
                {"external_id": row.external_id, "entity": row.entity, "qbo_id": row.qbo_id}
                for row in connection.execute(query.order_by(ledger.c.external_id))
            )
    return {
        "topic": event.topic,
        "shop_domain": shop,
        "orders_requested": order_ids,
        "documents_held": held,
        "note": _NOT_HELD,
    }
