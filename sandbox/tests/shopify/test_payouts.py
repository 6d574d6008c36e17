"""Shopify Payments payouts and balance transactions: sums, links to orders, paging, access."""

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.shopify import build
from kconnector_sandbox.shopify.payments import keep_paid, processing_fee
from kconnector_sandbox.shopify.profiles import PROFILES
from kconnector_sandbox.shopify.state import ShopClock, ShopState

PAYOUTS = """
query Payouts($after: String, $q: String, $sort: PayoutSortKeys, $reverse: Boolean) {
  shopifyPaymentsAccount {
    defaultCurrency
    payouts(first: 10, after: $after, query: $q, sortKey: $sort, reverse: $reverse) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id legacyResourceId issuedAt status transactionType net { amount currencyCode }
        summary {
          chargesFee { amount } chargesGross { amount } refundsFee { amount }
          refundsFeeGross { amount } adjustmentsFee { amount } adjustmentsGross { amount }
          reservedFundsFee { amount } reservedFundsGross { amount }
          retriedPayoutsFee { amount } retriedPayoutsGross { amount }
        }
      }
    }
  }
}
"""

TRANSACTIONS = """
query Balance($after: String, $q: String, $hide: Boolean) {
  shopifyPaymentsAccount {
    balanceTransactions(first: 100, after: $after, query: $q, hideTransfers: $hide) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id type test sourceType sourceId sourceOrderTransactionId transactionDate adjustmentReason
        amount { amount currencyCode } fee { amount } net { amount }
        associatedOrder { id name } associatedPayout { id status }
      }
    }
  }
}
"""


def _pages(client, query, connection, variables=None):
    nodes, after = [], None
    while True:
        body = client.gql(query, {**(variables or {}), "after": after})
        assert "errors" not in body, body
        page = body["data"]["shopifyPaymentsAccount"][connection]
        nodes += page["nodes"]
        client.shop.bucket.reset()
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def _money(node, field):
    return Decimal(node[field]["amount"])


def test_every_payout_is_the_sum_of_its_balance_transactions_to_the_cent(served):
    payouts = _pages(served, PAYOUTS, "payouts")
    transactions = _pages(served, TRANSACTIONS, "balanceTransactions")
    by_payout = defaultdict(list)
    for transaction in transactions:
        assert _money(transaction, "net") == _money(transaction, "amount") - _money(
            transaction, "fee"
        )
        by_payout[transaction["associatedPayout"]["id"]].append(transaction)
    assert len(payouts) > 20
    for payout in payouts:
        rows = by_payout[payout["id"]]
        settled = [t for t in rows if t["type"] != "TRANSFER"]
        (transfer,) = [t for t in rows if t["type"] == "TRANSFER"]
        net = _money(payout, "net")
        assert sum(_money(t, "net") for t in settled) == net
        assert _money(transfer, "amount") == -net
        summary = payout["summary"]
        gross = sum(Decimal(v["amount"]) for k, v in summary.items() if not k.endswith("Fee"))
        fees = sum(Decimal(v["amount"]) for k, v in summary.items() if k.endswith("Fee"))
        assert gross - fees == net
        assert {t["associatedPayout"]["status"] for t in rows} == {payout["status"]}


def test_charges_and_refunds_link_to_the_orders_they_settle(served):
    transactions = _pages(
        served,
        TRANSACTIONS,
        "balanceTransactions",
        {"q": "transaction_type:charge OR transaction_type:refund"},
    )
    orders = {o.id: o for o in served.shop.orders.values()}
    assert {t["type"] for t in transactions} == {"CHARGE", "REFUND"}
    for transaction in transactions:
        order = orders[transaction["associatedOrder"]["id"]]
        assert transaction["associatedOrder"]["name"] == order.name
        every = {t.id: t for r in order.refunds for t in r.transactions}
        every.update((t.id, t) for t in order.transactions)
        settled = every[f"gid://shopify/OrderTransaction/{transaction['sourceOrderTransactionId']}"]
        assert settled.gateway == "shopify_payments"
        amount = settled.amount_set.shop_money.amount
        if transaction["type"] == "CHARGE":
            assert _money(transaction, "amount") == amount
            assert _money(transaction, "fee") == processing_fee(amount, "USD")
            assert settled.fees[0].amount.amount == _money(transaction, "fee")
        else:
            assert _money(transaction, "amount") == -amount
            assert _money(transaction, "fee") == 0  # the charge's fee is not returned
    charged = {t["associatedOrder"]["id"] for t in transactions if t["type"] == "CHARGE"}
    paid = {
        o.id
        for o in orders.values()
        if any(
            t.gateway == "shopify_payments" and t.kind in {"SALE", "CAPTURE"}
            for t in o.transactions
        )
    }
    assert charged == paid


def test_order_transactions_carry_their_processing_fee(served):
    body = served.gql(
        "{ orders(first: 20) { nodes { transactions { kind gateway amountSet { shopMoney "
        "{ amount } } fees { amount { amount currencyCode } rate flatFee { amount } type } } } } }"
    )
    charges = [
        t
        for o in body["data"]["orders"]["nodes"]
        for t in o["transactions"]
        if t["gateway"] == "shopify_payments" and t["kind"] in {"SALE", "CAPTURE"}
    ]
    assert charges
    for charge in charges:
        (fee,) = charge["fees"]
        amount = Decimal(charge["amountSet"]["shopMoney"]["amount"])
        assert Decimal(fee["amount"]["amount"]) == processing_fee(amount, "USD")
        assert (Decimal(fee["rate"]), Decimal(fee["flatFee"]["amount"])) == (
            Decimal("0.029"),
            Decimal("0.30"),
        )
        assert fee["amount"]["currencyCode"] == "USD"


def test_payout_pages_cover_every_payout_once_in_both_directions(served):
    forward = _pages(served, PAYOUTS, "payouts", {"sort": "ISSUED_AT"})
    backward = _pages(served, PAYOUTS, "payouts", {"sort": "ISSUED_AT", "reverse": True})
    ids = [p["id"] for p in forward]
    assert len(set(ids)) == len(ids) == len(served.shop.payments_ledger().payouts)
    assert [p["id"] for p in backward] == ids[::-1]
    assert [p["issuedAt"] for p in forward] == sorted(p["issuedAt"] for p in forward)


def test_failed_and_scheduled_payouts_and_the_retried_money(served):
    payouts = _pages(served, PAYOUTS, "payouts", {"sort": "ISSUED_AT"})
    statuses = [p["status"] for p in payouts]
    assert statuses.count("FAILED") == 1
    assert statuses[-1] == "SCHEDULED"
    assert set(statuses[:-1]) <= {"PAID", "FAILED"}
    failed = payouts[statuses.index("FAILED")]
    retried = payouts[statuses.index("FAILED") + 1]
    assert Decimal(retried["summary"]["retriedPayoutsGross"]["amount"]) == _money(failed, "net")
    (scheduled,) = _pages(served, PAYOUTS, "payouts", {"q": "status:scheduled"})
    assert scheduled["id"] == payouts[-1]["id"]


def test_seeded_adjustment_reserve_and_chargeback_exist(served):
    transactions = _pages(served, TRANSACTIONS, "balanceTransactions", {"hide": True})
    types = {t["type"] for t in transactions}
    assert "TRANSFER" not in types
    assert {
        "ADJUSTMENT",
        "RESERVED_FUNDS",
        "RESERVED_FUNDS_REVERSAL",
        "DISPUTE_WITHDRAWAL",
    } <= types
    (chargeback,) = [t for t in transactions if t["type"] == "DISPUTE_WITHDRAWAL"]
    assert chargeback["associatedOrder"] is not None
    assert _money(chargeback, "amount") < 0
    assert _money(chargeback, "fee") == Decimal("15.00")
    refunded = {t["associatedOrder"]["id"] for t in transactions if t["type"] == "REFUND"}
    assert chargeback["associatedOrder"]["id"] not in refunded


def test_balance_transactions_filter_by_payout(served):
    payout = served.shop.payments_ledger().payouts[5]
    rows = _pages(
        served,
        TRANSACTIONS,
        "balanceTransactions",
        {"q": f"payments_transfer_id:{payout.legacy_id}"},
    )
    assert {t["associatedPayout"]["id"] for t in rows} == {payout.id}
    assert len(rows) == len(payout.transactions)
    day = payout.issued_at.astimezone(served.shop.tz).date().isoformat()
    assert len(
        _pages(served, TRANSACTIONS, "balanceTransactions", {"q": f"payout_date:{day}"})
    ) == len(rows)


def test_unknown_search_field_is_ignored_with_a_warning(served):
    body = served.gql(
        '{ shopifyPaymentsAccount { payouts(first: 1, query: "payout_id:1") { nodes { id } } } }'
    )
    assert body["data"]["shopifyPaymentsAccount"]["payouts"]["nodes"]
    assert "payout_id" in str(body["extensions"]["search"])


def test_payouts_need_the_payouts_scope(served):
    served.admin(
        "POST", "us/scopes", json={"scopes": ["read_orders", "read_shopify_payments_accounts"]}
    )
    body = served.gql("{ shopifyPaymentsAccount { payouts(first: 1) { nodes { id } } } }")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "ACCESS_DENIED"
    assert "read_shopify_payments_payouts" in error["message"]
    served.admin("POST", "us/scopes", json={"scopes": ["read_orders"]})
    body = served.gql("{ shopifyPaymentsAccount { id } }")
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert body["data"] is None or body["data"]["shopifyPaymentsAccount"] is None


def test_a_second_currency_shop_pays_out_in_its_currency_and_a_stripe_shop_has_no_account(
    served,
):
    ca = ShopClientFor(served, "ca")
    body = ca.gql(
        "{ shopifyPaymentsAccount { defaultCurrency payouts(first: 5) { nodes { net "
        "{ currencyCode } } } } }"
    )
    account = body["data"]["shopifyPaymentsAccount"]
    assert account["defaultCurrency"] == "CAD"
    assert {p["net"]["currencyCode"] for p in account["payouts"]["nodes"]} == {"CAD"}
    uk = ShopClientFor(served, "uk")
    assert uk.gql("{ shopifyPaymentsAccount { id } }")["data"]["shopifyPaymentsAccount"] is None


def ShopClientFor(served, key):  # noqa: N802 - reads as the client's class
    return type(served)(served.base_url, served.emulator, key)


def test_same_seed_same_payouts_and_no_ledger_until_asked():
    first = build(SandboxOptions(seed=5, orders=60)).shop("us")
    second = build(SandboxOptions(seed=5, orders=60)).shop("us")
    assert first._ledger is None  # nothing is computed for a shop nobody asks about payouts
    assert first.payments_ledger() == second.payments_ledger()


def test_admin_lists_the_payouts_with_their_transactions(served):
    listed = served.admin("GET", "us/payouts").json()
    ledger = served.shop.payments_ledger()
    assert [p["id"] for p in listed] == [p.id for p in ledger.payouts]
    for payout in listed:
        settled = [t for t in payout["transactions"] if t["type"] != "TRANSFER"]
        assert sum(Decimal(t["net"]) for t in settled) == Decimal(payout["net"])
    assert served.admin("GET", "uk/payouts").json() == []


def _paid_payouts(client):
    """Every PAID payout with its net, summary and balance transactions, as the API serves them."""
    payouts = {p["id"]: p for p in _pages(client, PAYOUTS, "payouts") if p["status"] == "PAID"}
    rows = defaultdict(list)
    for row in _pages(client, TRANSACTIONS, "balanceTransactions"):
        if row["associatedPayout"]["id"] in payouts:
            rows[row["associatedPayout"]["id"]].append(row)
    assert len(payouts) > 10
    return {
        key: (payout, sorted(rows[key], key=lambda r: r["id"])) for key, payout in payouts.items()
    }


def _order_rows(client, order_id, kind):
    return [
        row
        for row in _pages(client, TRANSACTIONS, "balanceTransactions")
        if row["type"] == kind and (row["associatedOrder"] or {}).get("id") == order_id
    ]


def _paid_card_order(client, *, removable):
    """A card-paid order whose charge is in a PAID payout (with a unit that can be removed)."""
    paid = {
        row["sourceOrderTransactionId"]
        for _, rows in _paid_payouts(client).values()
        for row in rows
        if row["type"] == "CHARGE"
    }
    for order in client.shop.orders.values():
        sales = [t for t in order.transactions if t.kind in {"SALE", "CAPTURE"}]
        if order.refunds or order.test or len(sales) != 1 or sales[0].gateway != "shopify_payments":
            continue
        line = order.line_items[0]
        shipped = sum(
            f.quantity
            for ff in order.fulfillments
            for f in ff.fulfillment_line_items
            if f.line_item.id == line.id
        )
        if removable and line.quantity - shipped < 1:
            continue
        if removable and line.quantity < 2:
            continue
        if sales[0].id.rsplit("/", 1)[1] in paid:
            return order, sales[0]
    msg = "no card-paid order in a paid payout"
    raise AssertionError(msg)


def test_an_edit_that_adds_to_an_order_in_a_paid_payout_is_a_new_charge_in_a_later_payout(served):
    before = _paid_payouts(served)
    order, sale = _paid_card_order(served, removable=False)
    quantity = order.line_items[0].quantity
    response = served.admin(
        "POST",
        f"us/orders/{order.legacy_resource_id}/edit",
        json={"quantities": {"0": quantity + 1}},
    )
    assert response.status_code == 200
    edited = served.shop.find(order.legacy_resource_id)
    added = edited.total_price_set.shop_money.amount - order.total_price_set.shop_money.amount
    assert added > 0
    # the order: the first sale is untouched; the customer paid the difference with a new sale
    sales = [t for t in edited.transactions if t.kind in {"SALE", "CAPTURE"}]
    assert [t.id for t in sales[:-1]] == [sale.id]
    assert sales[0].amount_set == sale.amount_set
    assert sales[-1].amount_set.shop_money.amount == added
    assert sales[-1].processed_at == edited.updated_at
    assert edited.total_received_set == edited.total_price_set
    assert edited.display_financial_status == "PAID"
    assert edited.line_items[0].quantity == quantity + 1
    # the books: every paid payout exactly as it was; the charge in the next (scheduled) payout
    assert _paid_payouts(served) == before
    charges = _order_rows(served, order.id, "CHARGE")
    (new,) = [c for c in charges if c["sourceOrderTransactionId"] != sale.id.rsplit("/", 1)[1]]
    assert _money(new, "amount") == added
    assert _money(new, "fee") == processing_fee(added, "USD")
    assert new["associatedPayout"]["status"] == "SCHEDULED"


def test_an_edit_that_lowers_an_order_in_a_paid_payout_is_a_refund_in_a_later_payout(served):
    before = _paid_payouts(served)
    order, sale = _paid_card_order(served, removable=True)
    line = order.line_items[0]
    response = served.admin(
        "POST",
        f"us/orders/{order.legacy_resource_id}/edit",
        json={"quantities": {"0": line.quantity - 1}},
    )
    assert response.status_code == 200
    edited = served.shop.find(order.legacy_resource_id)
    # Shopify counts removed units in `quantity`; `currentQuantity` drops
    assert edited.line_items[0].quantity == line.quantity
    assert edited.line_items[0].current_quantity == line.current_quantity - 1
    (refund,) = edited.refunds
    assert [(r.line_item.id, r.quantity) for r in refund.refund_line_items] == [(line.id, 1)]
    returned = refund.total_refunded_set.shop_money.amount
    assert returned > 0
    assert next(t for t in edited.transactions if t.kind == "SALE").amount_set == sale.amount_set
    assert _paid_payouts(served) == before
    (row,) = _order_rows(served, order.id, "REFUND")
    assert _money(row, "amount") == -returned
    assert row["associatedPayout"]["status"] == "SCHEDULED"


def test_orders_created_refunded_or_deleted_later_leave_paid_payouts_as_they_were(served):
    before = _paid_payouts(served)
    order, _ = _paid_card_order(served, removable=False)
    other = next(
        o
        for o in served.shop.orders.values()
        if o.display_financial_status == "PAID" and not o.refunds and o.id != order.id
    )
    served.admin("POST", "us/orders", json={}).raise_for_status()
    served.admin(
        "POST", f"us/orders/{other.legacy_resource_id}/refund", json={"lines": [[0, 1]]}
    ).raise_for_status()
    served.admin("DELETE", f"us/orders/{order.legacy_resource_id}").raise_for_status()
    assert _paid_payouts(served) == before


def test_paid_payouts_are_the_same_whether_or_not_payouts_were_read_before_the_changes():
    # The shop's clock stands still at its start: the changes are stamped at the very end of
    # the seeded history, the edge where they must still not count as history.
    def shop():
        clock = ShopClock(monotonic=lambda: 0.0)
        return ShopState.seeded(PROFILES["us"], 11, 80, clock, 50.0)

    expected = shop().payments_ledger()
    changed = shop()
    first = changed.book.ids()[3]
    changed.create_order()
    changed.edit_order(first, quantities={0: changed.find(first).line_items[0].quantity + 2})
    changed.refund_order(changed.book.ids()[7], amount=Decimal("1.00"))
    changed.delete_order(changed.book.ids()[5])
    ledger = changed.payments_ledger()
    now = changed.clock.now()
    assert expected is not None
    assert ledger is not None
    paid = [p for p in expected.payouts if p.status(now) != "SCHEDULED"]
    assert len(paid) > 10
    assert [p for p in ledger.payouts if p.status(now) != "SCHEDULED"] == paid


def test_keep_paid_moves_a_transaction_dated_in_a_paid_period_to_the_next_payout():
    clock = ShopClock(monotonic=lambda: 0.0)
    shop = ShopState.seeded(PROFILES["us"], 11, 80, clock, 50.0)
    previous = shop.payments_ledger()
    assert previous is not None
    paid = [p for p in previous.payouts if p.issued_at <= clock.now()]
    first = paid[3]
    late = replace(first.transactions[0], legacy_id=first.transactions[0].legacy_id + 7)
    current = replace(
        previous,
        payouts=tuple(
            replace(p, transactions=(late, *p.transactions)) if p is first else p
            for p in previous.payouts
        ),
    )
    kept = keep_paid(previous, current, clock.now(), shop.tz)
    assert kept.payouts[: len(paid)] == tuple(paid)
    after = kept.payouts[len(paid)]
    assert after.issued_at > clock.now()
    assert [t.legacy_id for t in after.transactions if t.legacy_id == late.legacy_id]
    (transfer,) = [t for t in after.transactions if t.type == "TRANSFER"]
    assert transfer.amount == -after.net
    assert late.net in {t.net for t in after.transactions}
