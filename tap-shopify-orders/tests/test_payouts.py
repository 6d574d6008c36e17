"""The `payouts` stream: Shopify Payments payouts normalised, linked, incremental, scope-guarded."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from graphql import parse

from kconnector_canonical import validate
from kconnector_sandbox.shopify.cost import requested_cost
from kconnector_sandbox.shopify.graphql_api import load_schema
from tap_shopify_orders.payout_stream import (
    PAYOUT_REREAD_DAYS,
    PAYOUTS_PAGE_SIZE,
    TRANSACTIONS_PAGE_SIZE,
)
from tap_shopify_orders.payouts import PayoutStore, normalise_payout
from tap_shopify_orders.queries import PAYOUT_TRANSACTIONS, PAYOUTS_PAGE
from tap_shopify_orders.shopify_values import MoneyView, transaction
from tap_shopify_orders.throttle import MAX_SINGLE_QUERY_COST

if TYPE_CHECKING:
    from collections.abc import Callable

SHOP = "kc-test.myshopify.com"
PAYOUT_GID = "gid://shopify/ShopifyPaymentsPayout/501"
PAYMENT_SCOPES = ("read_orders", "read_all_orders", "read_shopify_payments")


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currencyCode": "USD"}


def balance(
    legacy: int, kind: str, amount: str, fee: str, *, payout: str = PAYOUT_GID, **extra: Any
) -> dict[str, Any]:
    row = {
        "id": f"gid://shopify/ShopifyPaymentsBalanceTransaction/{legacy}",
        "type": kind,
        "test": False,
        "transactionDate": "2026-11-10T15:00:00Z",
        "adjustmentReason": None,
        "sourceId": None,
        "sourceType": kind if kind in {"CHARGE", "REFUND"} else "ADJUSTMENT",
        "sourceOrderTransactionId": None,
        "amount": usd(amount),
        "fee": usd(fee),
        "net": usd(str(Decimal(amount) - Decimal(fee))),
        "associatedOrder": None,
        "associatedPayout": {"id": payout, "status": "PAID"},
    }
    row.update(extra)
    return row


CHARGE = balance(
    9001,
    "CHARGE",
    "113.92",
    "3.60",
    associatedOrder={"id": "gid://shopify/Order/5301", "name": "#1042"},
    sourceOrderTransactionId=6801,
    sourceId=6801,
)
REFUND = balance(
    9002,
    "REFUND",
    "-43.40",
    "0.00",
    associatedOrder={"id": "gid://shopify/Order/5301", "name": "#1042"},
    sourceOrderTransactionId=6802,
    sourceId=9201,
)
ADJUSTMENT = balance(9003, "ADJUSTMENT", "-4.75", "0.00", adjustmentReason="shipping_label")
TRANSFER_ROW = balance(9004, "TRANSFER", "-65.77", "0.00")
OTHER_PAYOUTS_ROW = balance(9005, "CHARGE", "10.00", "0.59", payout="gid://shopify/X/502")


def payout_node(status: str = "PAID", net: str = "62.17", **extra: Any) -> dict[str, Any]:
    node = {
        "id": PAYOUT_GID,
        "legacyResourceId": "501",
        "issuedAt": "2026-11-11T11:00:00Z",
        "status": status,
        "transactionType": "DEPOSIT",
        "net": usd(net),
    }
    node.update(extra)
    return node


def account(field: str, items: list[dict[str, Any]], cursor: str | None = None) -> dict[str, Any]:
    page = {"pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor}, "nodes": items}
    return {"data": {"shopifyPaymentsAccount": {"id": "gid://shopify/A/1", field: page}}}


STORE = PayoutStore(SHOP, "America/New_York")


def test_payout_links_each_transaction_to_its_order_and_reconciles() -> None:
    payout = normalise_payout(payout_node(), [CHARGE, REFUND, ADJUSTMENT], STORE)
    assert validate(payout, "payouts") == []
    assert payout["id"] == f"shopify:{SHOP}:501"
    assert payout["updated_at"] == payout["issued_at"] == "2026-11-11T11:00:00Z"
    assert payout["totals"] == {
        "gross": {"amount": "65.77", "currency": "USD"},
        "fees": {"amount": "3.60", "currency": "USD"},
        "net": {"amount": "62.17", "currency": "USD"},
    }
    charge, refund, adjustment = payout["transactions"]
    assert (charge["type"], charge["order_id"], charge["order_transaction_id"]) == (
        "charge",
        f"shopify:{SHOP}:5301",
        "6801",
    )
    assert charge["net"] == {"amount": "110.32", "currency": "USD"}
    assert (refund["type"], refund["refund_id"]) == ("refund", f"shopify:{SHOP}:9201")
    assert (adjustment["type"], adjustment["description"]) == ("adjustment", "shipping_label")
    assert adjustment["order_id"] is None


@pytest.mark.parametrize(
    ("shopify_type", "canonical"),
    [
        ("DISPUTE_WITHDRAWAL", "chargeback"),
        ("DISPUTE_REVERSAL", "dispute_reversal"),
        ("RESERVED_FUNDS", "reserve"),
        ("TRANSFER_FAILURE", "payout_failure"),
        ("SOMETHING_NEW", "other"),
    ],
)
def test_balance_transaction_types_map_to_the_canonical_vocabulary(
    shopify_type: str, canonical: str
) -> None:
    row = balance(9010, shopify_type, "-20.00", "0.00")
    payout = normalise_payout(payout_node(net="-20.00"), [row], STORE)
    assert payout["transactions"][0]["type"] == canonical
    assert validate(payout, "payouts") == []
    if canonical == "other":
        assert payout["transactions"][0]["description"] == "something_new"


def test_withdrawal_payout_has_a_negative_net() -> None:
    row = balance(9011, "REFUND", "-99.53", "0.00")
    node = payout_node(net="99.53", transactionType="WITHDRAWAL")
    payout = normalise_payout(node, [row], STORE)
    assert payout["net"] == {"amount": "-99.53", "currency": "USD"}
    assert validate(payout, "payouts") == []


def test_order_transaction_fees_become_fee_and_net() -> None:
    view = MoneyView("shopMoney", "USD", "5301")
    raw = {
        "id": "gid://shopify/OrderTransaction/6801",
        "kind": "SALE",
        "status": "SUCCESS",
        "gateway": "shopify_payments",
        "amountSet": {"shopMoney": usd("113.92")},
        "fees": [{"amount": usd("3.30")}, {"amount": usd("0.30")}],
    }
    converted = transaction(raw, view, "transactions[0]")
    assert converted is not None
    assert converted["fee"] == {"amount": "3.60", "currency": "USD"}
    assert converted["net"] == {"amount": "110.32", "currency": "USD"}
    # A fee in another currency: Shopify gives no net figure for it.
    raw["fees"] = [{"amount": {"amount": "2.90", "currencyCode": "CAD"}}]
    converted = transaction(raw, view, "transactions[0]")
    assert converted is not None
    assert converted["fee"] == {"amount": "2.90", "currency": "CAD"}
    assert converted["net"] is None
    # No fee reported (another gateway): no fee field, not a zero fee.
    raw["fees"] = []
    converted = transaction(raw, view, "transactions[0]")
    assert converted is not None
    assert "fee" not in converted


def serve_payouts(fake_shopify: Any, bodies: Any, transactions: list[dict[str, Any]]) -> None:
    fake_shopify.handlers["ShopAccess"] = lambda _v: {"data": bodies.shop_access(PAYMENT_SCOPES)}
    fake_shopify.handlers["OrdersPage"] = lambda _v: bodies.orders_page([])
    pages = {None: account("payouts", [payout_node()], cursor="c1"), "c1": account("payouts", [])}
    fake_shopify.handlers["PayoutsPage"] = lambda v: pages[v["after"]]
    fake_shopify.handlers["PayoutTransactions"] = lambda _v: account(
        "balanceTransactions", transactions
    )


def test_payouts_are_read_page_by_page_with_their_own_transactions_only(
    fake_shopify: Any, bodies: Any, mock_config: dict[str, Any], tap_run: Callable[..., Any]
) -> None:
    serve_payouts(
        fake_shopify, bodies, [CHARGE, TRANSFER_ROW, REFUND, OTHER_PAYOUTS_ROW, ADJUSTMENT]
    )
    run = tap_run(mock_config)
    [payout] = run.records("payouts")
    assert validate(payout, "payouts") == []
    assert [t["transaction_id"] for t in payout["transactions"]] == ["9001", "9002", "9003"]
    assert fake_shopify.operations().count("ShopAccess") == 1
    searches = [c["variables"] for c in fake_shopify.calls if c["operation"] != "OrdersPage"]
    payout_search = next(v for v in searches if "after" in v and v["query"].startswith("issued"))
    assert payout_search["query"] == "issued_at:>=2026-10-31"
    [txn_search] = [
        c["variables"] for c in fake_shopify.calls if c["operation"] == "PayoutTransactions"
    ]
    assert txn_search["query"] == "payments_transfer_id:501"
    assert run.state["bookmarks"]["payouts"]["replication_key_value"] == "2026-11-11T11:00:00Z"


def test_rerun_rereads_recent_payouts_for_a_status_change(
    fake_shopify: Any, bodies: Any, mock_config: dict[str, Any], tap_run: Callable[..., Any]
) -> None:
    serve_payouts(fake_shopify, bodies, [CHARGE, REFUND, ADJUSTMENT])
    state = {
        "bookmarks": {
            "payouts": {
                "replication_key": "updated_at",
                "replication_key_value": "2026-11-14T11:00:00Z",
            }
        }
    }
    config = mock_config | {"start_date": "2026-10-01T00:00:00Z", "bulk_threshold_days": 18000}
    run = tap_run(config, state=state)
    query = next(c for c in fake_shopify.calls if c["operation"] == "PayoutsPage")["variables"]
    assert PAYOUT_REREAD_DAYS == 14
    # The bookmark minus 14 days is 2026-10-31T11:00Z; one day earlier covers the shop's zone.
    assert query["query"] == "issued_at:>=2026-10-30"
    assert [p["status"] for p in run.records("payouts")] == ["paid"]


def test_missing_payout_scope_skips_payouts_with_one_warning_and_orders_still_sync(  # noqa: PLR0913, PLR0917 - fixtures
    fake_shopify: Any,
    bodies: Any,
    documented_order: dict[str, Any],
    mock_config: dict[str, Any],
    tap_run: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_shopify.handlers["OrdersPage"] = lambda _v: bodies.orders_page([documented_order])
    with caplog.at_level(logging.WARNING):
        run = tap_run(mock_config)
    assert run.records("orders")
    assert run.records("payouts") == []
    assert "PayoutsPage" not in fake_shopify.operations()
    skipped = [r for r in caplog.records if "PAYOUTS SKIPPED" in r.getMessage()]
    assert len(skipped) == 1
    message = skipped[0].getMessage()
    assert "read_shopify_payments_accounts and read_shopify_payments_payouts" in message


def test_shop_without_shopify_payments_has_no_payouts(
    fake_shopify: Any, bodies: Any, mock_config: dict[str, Any], tap_run: Callable[..., Any]
) -> None:
    serve_payouts(fake_shopify, bodies, [])
    fake_shopify.handlers["PayoutsPage"] = lambda _v: {"data": {"shopifyPaymentsAccount": None}}
    assert tap_run(mock_config).records("payouts") == []


@pytest.mark.parametrize(
    ("document", "operation", "first"),
    [
        (PAYOUTS_PAGE, "PayoutsPage", PAYOUTS_PAGE_SIZE),
        (PAYOUT_TRANSACTIONS, "PayoutTransactions", TRANSACTIONS_PAGE_SIZE),
    ],
)
def test_payout_queries_are_valid_and_fit_shopifys_cost_cap(
    document: str, operation: str, first: int
) -> None:
    # The emulator's schema and Shopify's documented cost rules price the tap's own queries.
    cost = requested_cost(load_schema(), parse(document), {"first": first, "query": ""}, operation)
    assert cost <= MAX_SINGLE_QUERY_COST


def test_every_emulator_payout_validates_and_its_transactions_sum_to_its_net(
    small_store: Any, tap_run: Callable[..., Any]
) -> None:
    run = tap_run(small_store.config("us"))
    payouts = run.records("payouts")
    assert payouts
    assert {p["status"] for p in payouts} >= {"paid", "failed"}
    orders = {o["id"]: o for o in run.records("orders")}
    for payout in payouts:
        assert validate(payout, "payouts") == [], payout["source_id"]
        net = sum((Decimal(t["net"]["amount"]) for t in payout["transactions"]), Decimal(0))
        assert net == Decimal(payout["net"]["amount"])
        for txn in payout["transactions"]:
            if txn["type"] == "charge":
                order_txns = {
                    t["transaction_id"]: t for t in orders[txn["order_id"]]["transactions"]
                }
                settled = order_txns[txn["order_transaction_id"]]
                assert settled["amount"] == txn["amount"]
                assert settled["fee"] == txn["fee"]


def test_shop_on_another_gateway_has_no_payouts(
    small_store: Any, tap_run: Callable[..., Any]
) -> None:
    assert tap_run(small_store.config("uk")).records("payouts") == []
