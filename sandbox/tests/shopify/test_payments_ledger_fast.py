"""The Shopify Payments ledger is written from each order's charges, never by building orders.

The reference is the ledger `build_ledger` reads off every built order (what the shop served
before it kept its orders' charges): the fast path must give exactly that ledger, field for
field, on seeded shops with refunds, multi-currency orders, edits, cancellations, new orders
and deletions, and the seeded events (adjustment, reserve, chargeback, failed payout).
"""

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

import pytest

from kconnector_sandbox.shopify import order_book
from kconnector_sandbox.shopify.order_changes import InvalidChangeError
from kconnector_sandbox.shopify.payments import (
    PAYOUT_ID_BASE,
    _charges,
    build_ledger,
    payout_day,
)
from kconnector_sandbox.shopify.profiles import PROFILES
from kconnector_sandbox.shopify.state import ShopClock, ShopState

ORDERS = 300


def _shop(key: str) -> ShopState:
    clock = ShopClock(monotonic=lambda: 0.0)  # the shop's clock stands still: no wall time
    return ShopState.seeded(PROFILES[key], 11, ORDERS, clock, 50.0)


def _reference(shop: ShopState, deleted):
    """The ledger of every built order (live and deleted), as `build_ledger` reads it."""
    orders = [*(shop.find(i) for i in shop.book.ids()), *deleted]
    return build_ledger(orders, shop.profile.currency, shop.tz, shop.clock.start)


def _change_orders(shop: ShopState):
    """New, edited (up and down), refunded (lines and amount), cancelled and deleted orders."""
    ids = shop.book.ids()
    card = [
        i
        for i in ids
        if any(t.gateway == "shopify_payments" for t in shop.find(i).transactions)
        and not shop.find(i).refunds
        and shop.find(i).cancelled_at is None
    ]
    shop.create_order()
    up, lines, amount, cancelled, gone, refunded_gone = card[3:9]
    shop.edit_order(up, quantities={0: shop.find(up).line_items[0].quantity + 2})
    lowered = next(i for i in card[10:] if _lowered(shop, i))
    shop.refund_order(lines, lines=[(0, 1)])
    shop.refund_order(amount, amount=Decimal("1.00"))
    shop.cancel_order(cancelled)
    deleted = [shop.find(gone)]
    shop.delete_order(gone)
    shop.refund_order(refunded_gone, amount=Decimal("2.50"))
    deleted.append(shop.find(refunded_gone))
    shop.delete_order(refunded_gone)
    assert shop.find(lowered).refunds  # the units it removed were refunded
    return deleted


def _lowered(shop: ShopState, legacy_id: int) -> bool:
    """Remove one unit of the order's first line, if an edit can."""
    try:
        shop.edit_order(legacy_id, quantities={0: shop.find(legacy_id).line_items[0].quantity - 1})
    except InvalidChangeError:
        return False
    return True


def _kept_charges(shop: ShopState):
    """The charges the book keeps, by order id."""
    kept = defaultdict(list)
    for charge in shop.book.charges():
        kept[charge.order_id].append(charge)
    return kept


@pytest.mark.parametrize("key", ["us", "ca"])
def test_each_orders_charges_are_those_read_off_the_built_order(key):
    shop = _shop(key)
    currency = shop.profile.currency
    kept = _kept_charges(shop)
    multi_currency = 0
    for legacy_id in shop.book.ids():
        order = shop.find(legacy_id)
        expected = [  # each in the payout of its date
            replace(
                t,
                payout_legacy_id=PAYOUT_ID_BASE
                + payout_day(t.transaction_date, shop.tz).toordinal(),
            )
            for t in sorted(_charges(order), key=lambda t: t.legacy_id)
        ]
        assert sorted(kept.pop(order.id, []), key=lambda t: t.legacy_id) == expected, order.name
        multi_currency += bool(expected) and order.presentment_currency_code != currency
    assert not kept  # no charges for an order that is not live
    if key == "ca":
        assert multi_currency  # orders paid in another currency are covered


@pytest.mark.parametrize("key", ["us", "ca"])
def test_the_ledger_is_the_one_read_off_every_built_order(key):
    shop = _shop(key)
    ledger = shop.payments_ledger()
    assert ledger is not None
    assert ledger == _reference(shop, [])
    types = {t.type for t in ledger.transactions}
    assert {"CHARGE", "REFUND", "ADJUSTMENT", "RESERVED_FUNDS", "DISPUTE_WITHDRAWAL"} <= types
    assert {"TRANSFER_FAILURE", "TRANSFER"} <= types
    assert any(p.failed for p in ledger.payouts)


@pytest.mark.parametrize("key", ["us", "ca"])
def test_after_changes_the_ledger_is_still_the_one_read_off_the_built_orders(key):
    shop = _shop(key)
    deleted = _change_orders(shop)
    assert shop.payments_ledger() == _reference(shop, deleted)


def test_the_ledger_builds_no_order(monkeypatch):
    shop = _shop("us")
    shop.edit_order(shop.book.ids()[4], quantities={0: 3})  # a changed order: kept as its spec

    def refuse(*_args, **_kwargs):
        msg = "the ledger built an order"
        raise AssertionError(msg)

    monkeypatch.setattr(order_book, "build_order", refuse)
    ledger = shop.payments_ledger()
    assert ledger is not None
    assert len(ledger.payouts) > 20


def test_a_change_recomputes_only_its_own_orders_charges():
    shop = _shop("us")
    before = {t.legacy_id: t for t in shop.book.charges()}
    edited = shop.find(int(next(iter(before.values())).order_id.rsplit("/", 1)[1]))
    shop.edit_order(edited.legacy_resource_id, quantities={0: edited.line_items[0].quantity + 1})
    after = {t.legacy_id: t for t in shop.book.charges()}
    assert after.keys() > before.keys()
    (added,) = [after[i] for i in after.keys() - before.keys()]  # the edit's sale
    assert (added.type, added.order_id) == ("CHARGE", edited.id)
    changed = {t.order_id for i, t in before.items() if after[i] is not t}
    assert changed <= {edited.id}  # every other order's charges are the very same objects
