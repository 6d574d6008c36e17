"""The mapper's refund checks use the refund record (and the order's total) only.

Whether an order's refunds together exceed what was paid is the target's check, by refund
identity and across runs (target-quickbooks/tests/test_refund_guard.py): the order record's own
list of refund transactions is no identity to count a refund by.
"""

import copy

from kconnector_canonical.examples import load
from map_quickbooks.mapper import MapQuickBooks


def _records(mapper, stream, record):
    messages = [
        m.to_dict() for m in mapper.map_record_message({"stream": stream, "record": record})
    ]
    return [m for m in messages if m["type"] == "RECORD"]


def test_refunds_the_order_lists_under_other_transaction_ids_are_not_counted_twice():
    # Paid 113.92; two refunds of 43.40 (86.80 in all). The order record lists them under the
    # transaction ids it knows, the refund records under their own.
    order = load("shopify_order")
    first = copy.deepcopy(order["transactions"][1])
    second = copy.deepcopy(first) | {"transaction_id": "6800000003"}
    order["transactions"] = [order["transactions"][0], first, second]
    order["totals"]["refunded"]["amount"] = "86.80"
    mapper = MapQuickBooks(config={})
    _records(mapper, "orders", order)
    streams = []
    for number in (1, 2):
        refund = load("shopify_refund")
        refund["source_id"] = f"92000000000{number}"
        refund["id"] = f"shopify:kc-demo.myshopify.com:{refund['source_id']}"
        refund["transactions"][0]["transaction_id"] = f"{refund['source_id']}-refund"
        streams += [r["stream"] for r in _records(mapper, "refunds", refund)]
    assert streams == ["refund_receipts", "refund_receipts"]
