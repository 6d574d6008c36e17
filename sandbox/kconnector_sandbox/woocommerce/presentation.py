"""What the REST API adds to stored documents when it serves them: links and URLs.

`prepare_links()` of the orders and refunds controllers (`self`, `collection`, `customer` for a
registered customer, `up` from a refund to its order) and the order's `payment_url`
(`WC_Order::get_checkout_payment_url`).
https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/rest-api/Controllers/Version2/class-wc-rest-orders-v2-controller.php
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from kconnector_sandbox.woocommerce.order_documents import Document, parse_gmt, set_dates

if TYPE_CHECKING:
    from collections.abc import Callable


def present_order(order: Document, rest_url: Callable[[str], str], site_url: str) -> Document:
    """The order as served: `payment_url` and `_links` added."""
    order_id = order["id"]
    served = dict(order)
    served["payment_url"] = (
        f"{site_url}/checkout/order-pay/{order_id}/?pay_for_order=true&key={order['order_key']}"
    )
    links: dict[str, list[dict[str, str]]] = {
        "self": [{"href": rest_url(f"/wc/v3/orders/{order_id}")}],
        "collection": [{"href": rest_url("/wc/v3/orders")}],
    }
    if order["customer_id"]:
        links["customer"] = [{"href": rest_url(f"/wc/v3/customers/{order['customer_id']}")}]
    served["_links"] = links
    return served


def present_refund(refund: Document, order_id: int, rest_url: Callable[[str], str]) -> Document:
    """A refund as served, with `_links`."""
    served = dict(refund)
    base = f"/wc/v3/orders/{order_id}/refunds"
    served["_links"] = {
        "self": [{"href": rest_url(f"{base}/{refund['id']}")}],
        "collection": [{"href": rest_url(base)}],
        "up": [{"href": rest_url(f"/wc/v3/orders/{order_id}")}],
    }
    return served


_STATUS_LABELS = {
    "pending": "Pending payment",
    "processing": "Processing",
    "on-hold": "On hold",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "checkout-draft": "Draft",
    "trash": "Trash",
}


def order_notes(order: Document, timezone: str, rest_url: Callable[[str], str]) -> list[Document]:
    """The order's system notes (newest first), derived from its timeline."""
    order_id = int(order["id"])
    notes: list[tuple[str, str]] = []
    if order["date_paid_gmt"]:
        notes.append(
            (order["date_paid_gmt"], "Order status changed from Pending payment to Processing.")
        )
    if order["date_completed_gmt"]:
        notes.append(
            (order["date_completed_gmt"], "Order status changed from Processing to Completed.")
        )
    for refund in reversed(order["refunds"]):
        amount = refund["total"].lstrip("-")
        notes.append((order["date_modified_gmt"], f"Refunded {amount} {order['currency']}."))
    if not notes:
        label = _STATUS_LABELS.get(order["status"], order["status"])
        notes.append((order["date_created_gmt"], f"Order status set to {label}."))
    documents: list[Document] = []
    for index, (gmt, text) in enumerate(notes):
        note_id = order_id * 10 + index
        note: Document = {"id": note_id, "author": "WooCommerce"}
        set_dates(note, "date_created", parse_gmt(gmt) + timedelta(seconds=index), timezone)
        note.update({"note": text, "customer_note": False})
        note["_links"] = {
            "self": [{"href": rest_url(f"/wc/v3/orders/{order_id}/notes/{note_id}")}],
            "collection": [{"href": rest_url(f"/wc/v3/orders/{order_id}/notes")}],
            "up": [{"href": rest_url(f"/wc/v3/orders/{order_id}")}],
        }
        documents.append(note)
    return list(reversed(documents))
