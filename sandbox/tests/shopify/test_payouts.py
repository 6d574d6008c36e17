"""Shopify Payments payouts and balance transactions: sums, links to orders, paging, access."""

from collections import defaultdict
from decimal import Decimal

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.shopify import build
from kconnector_sandbox.shopify.payments import processing_fee

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
