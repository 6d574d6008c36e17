"""A shop's Shopify Payments ledger: balance transactions and the daily payouts that settle them.

Derived from the shop's orders, so it always agrees with them: every successful Shopify Payments
sale or capture is a ``CHARGE`` (fee: the plan's card rate, half up to the cent), every refund a
``REFUND`` (negative amount; Shopify keeps the original fee, so the fee is 0). A few seeded events
that real accounts have are added: an ``ADJUSTMENT``, a ``RESERVED_FUNDS`` hold and its
``RESERVED_FUNDS_REVERSAL``, a chargeback (``DISPUTE_WITHDRAWAL`` with the chargeback fee), and a
payout the bank declined (``FAILED``) whose money comes back as a ``TRANSFER_FAILURE`` credit in the
next payout. Each payout also holds its own ``TRANSFER`` row (the money leaving the balance for the
bank, amount = -net), as Shopify lists it among the payout's balance transactions.

A payout once paid never changes (`keep_paid`): what later happens to an order (an edit's
charge or refund, a refund, a deletion) is a new balance transaction in a later payout.

Payouts are daily: the transactions of a store-local day are paid out on the next business day
(Monday for Friday to Sunday) at 06:00 store time. A payout issued after the shop's "now" is
``SCHEDULED``; earlier ones are ``PAID``. Σ net of a payout's balance transactions (the TRANSFER
row excluded) equals the payout's net, to the cent.

Object shapes: https://shopify.dev/docs/api/admin-graphql/2026-01/objects/ShopifyPaymentsBalanceTransaction,
https://shopify.dev/docs/api/admin-graphql/2025-10/objects/ShopifyPaymentsPayout,
https://shopify.dev/docs/api/admin-graphql/2025-10/objects/shopifypaymentspayoutsummary,
https://shopify.dev/docs/api/admin-graphql/2025-10/objects/TransactionFee. Card rates: Shopify's
pricing page, Basic plan online rates (US 2.9% + 30¢; Canada 2.9% + 30¢).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from kconnector_sandbox.shopify.model import MoneyV2, TransactionFee, gid
from kconnector_sandbox.shopify.spec import PaymentPlan

if TYPE_CHECKING:
    from collections.abc import Iterable
    from zoneinfo import ZoneInfo

    from kconnector_sandbox.shopify.build import MoneyMovement
    from kconnector_sandbox.shopify.model import Order, OrderTransaction
    from kconnector_sandbox.shopify.spec import OrderSpec

GATEWAY = "shopify_payments"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
PAYOUT_ID_BASE = 95_000_000  # + the issue date's ordinal
BALANCE_ID_BASE = 2_000_000_000_000  # + the order transaction's own number
SEEDED_ID_BASE = BALANCE_ID_BASE + 900_000_000_000
TRANSFER_ID_BASE = BALANCE_ID_BASE + 950_000_000_000
ORDER_TRANSACTION_ID_BASE = 68_000_000_000_000
REFUND_ID_BASE = 950_000_000_000  # + the order number x 100 + the refund's index (build_order)
CHARGEBACK_FEE = Decimal("15.00")
PAYOUT_HOUR = time(6, 0)
SCHEDULED, PAID, FAILED = "SCHEDULED", "PAID", "FAILED"


@dataclass(frozen=True)
class CardRate:
    """Shopify Payments' online card rate on a plan: a percentage plus a flat fee."""

    rate: Decimal  # fraction, e.g. 0.029
    flat: Decimal  # in the shop currency
    name: str


# The Basic plan's online rates per payout (shop) currency; a shop whose currency is not here has
# no Shopify Payments account (shopifyPaymentsAccount is null).
CARD_RATES: dict[str, CardRate] = {
    "USD": CardRate(Decimal("0.029"), Decimal("0.30"), "Basic online card rate"),
    "CAD": CardRate(Decimal("0.029"), Decimal("0.30"), "Basic online card rate"),
}


def processing_fee(amount: Decimal, currency: str) -> Decimal:
    """Shopify Payments' fee on a charge of `amount` (shop currency), half up to the cent."""
    card = CARD_RATES.get(currency)
    if card is None:
        return ZERO
    return (amount * card.rate + card.flat).quantize(CENT, rounding=ROUND_HALF_UP)


def transaction_fees(
    transaction_number: int, gateway: str, kind: str, status: str, amount: MoneyV2
) -> tuple[TransactionFee, ...]:
    """``OrderTransaction.fees``: the processing fee of a successful Shopify Payments charge."""
    card = CARD_RATES.get(amount.currency_code)
    if gateway != GATEWAY or kind not in {"SALE", "CAPTURE"} or status != "SUCCESS" or not card:
        return ()
    currency = amount.currency_code
    return (
        TransactionFee(
            id=gid("TransactionFee", BALANCE_ID_BASE + transaction_number),
            amount=MoneyV2(processing_fee(amount.amount, currency), currency),
            flat_fee=MoneyV2(card.flat, currency),
            flat_fee_name="Card flat fee",
            rate=card.rate,
            rate_name=card.name,
            tax_amount=MoneyV2(ZERO, currency),
            type="payment_processing_fee",
        ),
    )


@dataclass(frozen=True, slots=True)
class BalanceTransaction:
    """One ShopifyPaymentsBalanceTransaction (amounts in the payout currency)."""

    legacy_id: int
    type: str  # ShopifyPaymentsTransactionType
    source_type: str | None  # ShopifyPaymentsSourceType
    source_id: int | None
    source_order_transaction_id: int | None
    amount: Decimal
    fee: Decimal
    transaction_date: datetime
    test: bool = False
    adjustment_reason: str | None = None
    order_id: str | None = None  # the associated order's global id
    order_name: str | None = None
    payout_legacy_id: int = 0

    @property
    def id(self) -> str:
        """The global id."""
        return gid("ShopifyPaymentsBalanceTransaction", self.legacy_id)

    @property
    def net(self) -> Decimal:
        """What reaches the balance: amount minus fee."""
        return self.amount - self.fee


@dataclass(frozen=True, slots=True)
class Payout:
    """One ShopifyPaymentsPayout with the balance transactions it settles."""

    legacy_id: int
    issued_at: datetime
    currency: str
    transactions: tuple[BalanceTransaction, ...]  # settled ones, then the TRANSFER row
    failed: bool = False

    @property
    def id(self) -> str:
        """The global id."""
        return gid("ShopifyPaymentsPayout", self.legacy_id)

    @property
    def net(self) -> Decimal:
        """Σ net of the settled transactions (negative: a withdrawal from the bank)."""
        return sum((t.net for t in self.transactions if t.type != "TRANSFER"), ZERO)

    def status(self, now: datetime) -> str:
        """FAILED when the bank declined it, SCHEDULED until it is issued, then PAID."""
        if self.failed:
            return FAILED
        return SCHEDULED if self.issued_at > now else PAID

    def summary(self) -> dict[str, MoneyV2]:
        """``ShopifyPaymentsPayoutSummary``: gross and fee per kind of transaction."""
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for transaction in self.transactions:
            category = _SUMMARY_CATEGORY.get(transaction.type)
            if category is None:
                continue
            gross_field = "refundsFeeGross" if category == "refunds" else f"{category}Gross"
            totals[gross_field] += transaction.amount
            totals[f"{category}Fee"] += transaction.fee
        fields = [f"{c}{part}" for c in _CATEGORIES for part in ("Fee", "Gross")]
        fields = ["refundsFeeGross" if f == "refundsGross" else f for f in fields]
        return {name: MoneyV2(totals[name], self.currency) for name in fields}


_CATEGORIES = ("adjustments", "charges", "refunds", "reservedFunds", "retriedPayouts")
_SUMMARY_CATEGORY = {
    "CHARGE": "charges",
    "REFUND": "refunds",
    "ADJUSTMENT": "adjustments",
    "DISPUTE_WITHDRAWAL": "adjustments",  # "adjustments including disputes"
    "RESERVED_FUNDS": "reservedFunds",
    "RESERVED_FUNDS_REVERSAL": "reservedFunds",
    "TRANSFER_FAILURE": "retriedPayouts",
}


@dataclass(frozen=True)
class PaymentsLedger:
    """A shop's payouts (oldest first) and every balance transaction, by legacy id."""

    currency: str
    payouts: tuple[Payout, ...]
    transactions: tuple[BalanceTransaction, ...]

    def payout(self, legacy_id: int) -> Payout | None:
        """The payout with `legacy_id`, if any."""
        for payout in self.payouts:
            if payout.legacy_id == legacy_id:
                return payout
        return None


def payout_day(moment: datetime, tz: ZoneInfo) -> date:
    """The business day after `moment`'s store-local day (Friday to Sunday: Monday)."""
    day = moment.astimezone(tz).date() + timedelta(days=1)
    while day.weekday() >= 5:  # noqa: PLR2004 - Saturday and Sunday
        day += timedelta(days=1)
    return day


def _issued_at(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, PAYOUT_HOUR, tzinfo=tz).astimezone(UTC)


def _order_number(transaction: OrderTransaction) -> int:
    return int(transaction.id.rsplit("/", 1)[1]) - ORDER_TRANSACTION_ID_BASE


def _charges(order: Order) -> Iterable[BalanceTransaction]:
    """The order's Shopify Payments charges and refunds as balance transactions."""
    refund_transactions = [(r, t) for r in order.refunds for t in r.transactions]
    for transaction in order.transactions:
        if (
            transaction.gateway != GATEWAY
            or transaction.status != "SUCCESS"
            or transaction.kind not in {"SALE", "CAPTURE"}
        ):
            continue
        number = _order_number(transaction)
        amount = transaction.amount_set.shop_money.amount
        yield BalanceTransaction(
            legacy_id=BALANCE_ID_BASE + number,
            type="CHARGE",
            source_type="CHARGE",
            source_id=BALANCE_ID_BASE + number,
            source_order_transaction_id=int(transaction.id.rsplit("/", 1)[1]),
            amount=amount,
            fee=processing_fee(amount, transaction.amount_set.shop_money.currency_code),
            transaction_date=transaction.processed_at,
            test=transaction.test,
            order_id=order.id,
            order_name=order.name,
        )
    for refund, transaction in refund_transactions:
        if transaction.gateway != GATEWAY or transaction.status != "SUCCESS":
            continue
        number = _order_number(transaction)
        yield BalanceTransaction(
            legacy_id=BALANCE_ID_BASE + number,
            type="REFUND",
            source_type="REFUND",
            source_id=int(refund.id.rsplit("/", 1)[1]),
            source_order_transaction_id=int(transaction.id.rsplit("/", 1)[1]),
            amount=-transaction.amount_set.shop_money.amount,
            fee=ZERO,  # Shopify does not return the original charge's fee on a refund
            transaction_date=transaction.processed_at,
            test=transaction.test,
            order_id=order.id,
            order_name=order.name,
        )


def moves_card_money(spec: OrderSpec) -> bool:
    """Whether an order can have a Shopify Payments charge or refund (read off its spec alone).

    A test order pays with the bogus gateway and another gateway is not Shopify Payments (its
    refunds go back through the gateway that took the money); an order neither sold
    (``SALE``, ``AUTHORIZE_CAPTURE``), refunded nor charged by an edit moved no money.
    """
    if spec.test or spec.gateway != GATEWAY:
        return False
    sold = spec.payment in {PaymentPlan.SALE, PaymentPlan.AUTHORIZE_CAPTURE}
    return sold or bool(spec.refunds) or bool(spec.added_charges)


def order_charges(  # noqa: PLR0913 - an order's identity and what it moved
    legacy_id: int,
    number: int,
    *,
    test: bool,
    movements: Iterable[MoneyMovement],
    currency: str,
    tz: ZoneInfo,
) -> tuple[BalanceTransaction, ...]:
    """An order's Shopify Payments charges and refunds, from its money movements.

    The balance transactions `_charges` reads off the built order (`build.money_movements`
    gives the transactions `build_order` gives, for about a tenth of the cost), each already
    in the payout of its date (`payout_legacy_id`), so a ledger takes it as it is. The shop
    keeps them per order from seeding on (`OrderBook.charges`) and never builds an order for
    its ledger.
    """
    order_id = gid("Order", legacy_id)
    order_name = f"#{number}"
    base = number * 100
    charges: list[BalanceTransaction] = []
    for movement in movements:
        if movement.gateway != GATEWAY:
            continue
        own = base + movement.position  # the order transaction's own number
        refund = movement.kind == "REFUND"
        kind = "REFUND" if refund else "CHARGE"
        amount = movement.shop_amount
        charges.append(
            BalanceTransaction(
                legacy_id=BALANCE_ID_BASE + own,
                type=kind,
                source_type=kind,
                source_id=REFUND_ID_BASE + base + (movement.refund_index or 0)
                if refund
                else BALANCE_ID_BASE + own,
                source_order_transaction_id=ORDER_TRANSACTION_ID_BASE + own,
                amount=-amount if refund else amount,
                fee=ZERO if refund else processing_fee(amount, currency),
                transaction_date=movement.at,
                test=test,
                order_id=order_id,
                order_name=order_name,
                payout_legacy_id=PAYOUT_ID_BASE + payout_day(movement.at, tz).toordinal(),
            )
        )
    return tuple(charges)


def _day(transaction: BalanceTransaction, tz: ZoneInfo) -> date:
    """The day of the payout that settles `transaction` (already noted on it, if it is)."""
    if transaction.payout_legacy_id:
        return date.fromordinal(transaction.payout_legacy_id - PAYOUT_ID_BASE)
    return payout_day(transaction.transaction_date, tz)


def _seeded(charges: list[BalanceTransaction], currency: str) -> list[BalanceTransaction]:
    """The adjustment, the reserve hold and release, and the chargeback real accounts have."""
    plain = [c for c in charges if c.type == "CHARGE" and not c.test]
    if len(plain) < 8:  # noqa: PLR2004 - too small a shop for the extra events
        return []
    fifth, quarter, half, later = (
        plain[len(plain) // 5],
        plain[len(plain) // 4],
        plain[len(plain) // 2],
        plain[len(plain) * 3 // 4],
    )
    # The chargeback takes back a charge nobody refunded (a refunded order is not disputed).
    refunded = {c.order_id for c in charges if c.type == "REFUND"}
    undisputed = [c for c in plain if c.order_id not in refunded] or plain
    disputed = undisputed[len(undisputed) // 3]
    return [
        BalanceTransaction(
            legacy_id=SEEDED_ID_BASE + 1,
            type="ADJUSTMENT",
            source_type="ADJUSTMENT",
            source_id=SEEDED_ID_BASE + 1,
            source_order_transaction_id=None,
            amount=Decimal("-4.75"),
            fee=ZERO,
            transaction_date=fifth.transaction_date + timedelta(hours=1),
            adjustment_reason="shipping_label_adjustment",
        ),
        BalanceTransaction(
            legacy_id=SEEDED_ID_BASE + 2,
            type="RESERVED_FUNDS",
            source_type="SYSTEM_ADJUSTMENT",
            source_id=SEEDED_ID_BASE + 2,
            source_order_transaction_id=None,
            amount=Decimal("-50.00"),
            fee=ZERO,
            transaction_date=quarter.transaction_date + timedelta(hours=1),
            adjustment_reason="reserve",
        ),
        BalanceTransaction(
            legacy_id=SEEDED_ID_BASE + 3,
            type="RESERVED_FUNDS_REVERSAL",
            source_type="SYSTEM_ADJUSTMENT",
            source_id=SEEDED_ID_BASE + 3,
            source_order_transaction_id=None,
            amount=Decimal("50.00"),
            fee=ZERO,
            transaction_date=later.transaction_date + timedelta(hours=1),
            adjustment_reason="reserve_release",
        ),
        BalanceTransaction(
            legacy_id=SEEDED_ID_BASE + 4,
            type="DISPUTE_WITHDRAWAL",
            source_type="DISPUTE",
            source_id=SEEDED_ID_BASE + 4,
            source_order_transaction_id=disputed.source_order_transaction_id,
            amount=-disputed.amount,
            fee=CHARGEBACK_FEE if currency in CARD_RATES else ZERO,
            transaction_date=max(half.transaction_date, disputed.transaction_date)
            + timedelta(hours=1),
            order_id=disputed.order_id,
            order_name=disputed.order_name,
        ),
    ]


def build_ledger(
    orders: Iterable[Order], currency: str, tz: ZoneInfo, history_end: datetime | None = None
) -> PaymentsLedger | None:
    """The Shopify Payments ledger of a shop with `orders`; None without Shopify Payments.

    Deterministic: the same orders give the same payouts, ids and amounts. The seeded events
    (adjustment, reserve, chargeback, failed payout) are placed among the transactions dated
    before `history_end` (the shop's seeded history) only, so orders created, edited, refunded
    or deleted later never move them.
    """
    if currency not in CARD_RATES:
        return None
    return ledger_of_charges(
        (t for order in orders for t in _charges(order)), currency, tz, history_end
    )


def ledger_of_charges(
    charges_and_refunds: Iterable[BalanceTransaction],
    currency: str,
    tz: ZoneInfo,
    history_end: datetime | None = None,
) -> PaymentsLedger:
    """The ledger of a shop whose orders' charges and refunds are `charges_and_refunds`.

    What `build_ledger` does once it has read them off the orders (`_charges`); the shop passes
    the ones it keeps per order (`order_charges`) instead, without building any order.
    """
    charges = sorted(charges_and_refunds, key=lambda t: (t.transaction_date, t.legacy_id))
    # Strictly before: a change made as the shop's clock starts is stamped at `history_end`.
    history = [t for t in charges if history_end is None or t.transaction_date < history_end]
    entries = sorted(
        [*charges, *_seeded(history, currency)], key=lambda t: (t.transaction_date, t.legacy_id)
    )
    by_day: dict[date, list[BalanceTransaction]] = defaultdict(list)
    for entry in entries:
        by_day[_day(entry, tz)].append(entry)
    days = sorted(by_day)
    history_days = sorted({_day(t, tz) for t in history})
    failed_day = history_days[2] if len(history_days) >= 5 else None  # noqa: PLR2004 - retry room
    payouts: list[Payout] = []
    carried: BalanceTransaction | None = None
    for day in days:
        legacy = PAYOUT_ID_BASE + day.toordinal()
        settled = list(by_day[day])
        if carried is not None:
            settled.append(carried)
            carried = None
        payout = _payout(legacy, _issued_at(day, tz), currency, settled, failed=day == failed_day)
        if payout.failed:
            # The bank declined it: the money returns to the balance the next business day and
            # is paid out again with the next payout (summary.retriedPayouts).
            carried = BalanceTransaction(
                legacy_id=TRANSFER_ID_BASE + 500_000_000 + day.toordinal(),
                type="TRANSFER_FAILURE",
                source_type="TRANSFER",
                source_id=legacy,
                source_order_transaction_id=None,
                amount=payout.net,
                fee=ZERO,
                transaction_date=payout.issued_at + timedelta(days=1),
            )
        payouts.append(payout)
    every = tuple(t for payout in payouts for t in payout.transactions)
    return PaymentsLedger(currency, tuple(payouts), every)


def _payout(
    legacy: int,
    issued: datetime,
    currency: str,
    settled: list[BalanceTransaction],
    *,
    failed: bool,
) -> Payout:
    """A payout of `settled` with its TRANSFER row (amount = -net)."""
    rows = [
        t if t.payout_legacy_id == legacy else replace(t, payout_legacy_id=legacy) for t in settled
    ]
    net = sum((t.net for t in rows), ZERO)
    transfer = BalanceTransaction(
        legacy_id=TRANSFER_ID_BASE + (legacy - PAYOUT_ID_BASE),
        type="TRANSFER",
        source_type="TRANSFER",
        source_id=legacy,
        source_order_transaction_id=None,
        amount=-net,
        fee=ZERO,
        transaction_date=issued,
        payout_legacy_id=legacy,
    )
    return Payout(legacy, issued, currency, (*rows, transfer), failed=failed)


def keep_paid(
    previous: PaymentsLedger, current: PaymentsLedger, paid_by: datetime, tz: ZoneInfo
) -> PaymentsLedger:
    """`current`, with the payouts `previous` had issued by `paid_by` kept exactly as they were.

    Shopify never changes a payout once paid: what changes later is booked as new balance
    transactions in a later payout. The payouts issued before the orders changed are taken from
    the ledger served before the change; a transaction they already settled is left out of the
    later payouts, and a transaction dated in their period that they do not hold (one that did
    not exist when they were paid) goes to the first payout after them.
    """
    frozen = [p for p in previous.payouts if p.issued_at <= paid_by]
    if not frozen:
        return current
    last = frozen[-1].issued_at
    settled = {t.legacy_id for p in frozen for t in p.transactions}
    late = [
        t
        for p in current.payouts
        if p.issued_at <= last
        for t in p.transactions
        if t.type != "TRANSFER" and t.legacy_id not in settled
    ]
    payouts = list(frozen)
    for payout in current.payouts:
        if payout.issued_at <= last:
            continue
        rows = [t for t in payout.transactions if t.type != "TRANSFER"]
        kept = [*late, *(t for t in rows if t.legacy_id not in settled)]
        late = []
        if len(kept) == len(rows) and all(a is b for a, b in zip(kept, rows, strict=False)):
            payouts.append(payout)
        else:
            payouts.append(
                _payout(
                    payout.legacy_id, payout.issued_at, payout.currency, kept, failed=payout.failed
                )
            )
    if late:  # nothing after the paid payouts yet: the next business day's payout
        day = payout_day(paid_by, tz)
        legacy = PAYOUT_ID_BASE + day.toordinal()
        payouts.append(_payout(legacy, _issued_at(day, tz), current.currency, late, failed=False))
    every = tuple(t for payout in payouts for t in payout.transactions)
    return PaymentsLedger(current.currency, tuple(payouts), every)
