"""What an order *is* before Shopify computes its money.

The inputs a checkout and later edits
produce (lines, discounts, shipping, payment plan, refunds, fulfilments, timestamps).

An `OrderSpec` is turned into the API's `Order` by `build.build_order`, which computes every amount
the way Shopify does. The seed generator writes specs; admin edits change a spec and rebuild, so an
edited order stays as internally consistent as a generated one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from kconnector_sandbox.shopify.profiles import TaxRate  # noqa: TC001 - dataclass field type

if TYPE_CHECKING:
    from datetime import datetime


class DiscountTarget(StrEnum):
    """What a discount application targets."""

    LINES = "lines"  # explicit line items (line-level discount)
    ORDER = "order"  # all line items, allocated across them (order-level discount)
    SHIPPING = "shipping"  # shipping lines


class DiscountKind(StrEnum):
    """How the discount was applied; maps to the DiscountApplication implementation."""

    CODE = "DiscountCodeApplication"
    MANUAL = "ManualDiscountApplication"
    AUTOMATIC = "AutomaticDiscountApplication"


class PaymentPlan(StrEnum):
    """How the order was paid (drives transactions and the financial status)."""

    SALE = "sale"  # paid with one sale
    AUTHORIZE_CAPTURE = "authorize_capture"  # paid with an authorization then a capture
    PENDING = "pending"  # manual payment not received yet
    AUTHORIZED = "authorized"  # authorization only
    PARTIALLY_PAID = "partially_paid"  # part received, rest outstanding
    VOIDED = "voided"  # authorization voided


@dataclass(frozen=True)
class LineSpec:
    """One line as bought; `unit_price` in the presentment currency."""

    title: str
    variant_title: str | None
    sku: str | None
    vendor: str
    unit_price: Decimal
    quantity: int
    taxable: bool
    requires_shipping: bool
    is_gift_card: bool = False
    product_deleted: bool = False  # the catalogue product was deleted after the sale


@dataclass(frozen=True)
class DiscountSpec:
    """One discount application; fixed values in the presentment currency."""

    kind: DiscountKind
    title: str  # the code for CODE discounts
    target: DiscountTarget
    percentage: Decimal | None = None  # e.g. Decimal("10") for 10 %
    amount: Decimal | None = None  # fixed amount (presentment)
    line_indexes: tuple[int, ...] = ()  # for LINES


@dataclass(frozen=True)
class ShippingSpec:
    """A shipping line; `price` in the presentment currency."""

    title: str
    code: str
    price: Decimal
    source: str = "shopify"


@dataclass(frozen=True)
class RefundSpec:
    """A refund: line quantities, the remaining shipping, and/or an amount with no lines."""

    created_at: datetime
    lines: tuple[tuple[int, int], ...] = ()  # (line index, quantity)
    shipping: bool = False
    amount_only: Decimal | None = None  # presentment; becomes a refund discrepancy adjustment
    note: str | None = None
    restock: bool = True


@dataclass(frozen=True)
class AddedChargeSpec:
    """What an edit added to a paid order, charged when the edit was made.

    Money already taken never changes (a paid payout keeps its charges): the customer pays the
    difference as a new sale. Both amounts are the difference of the order's totals before and
    after the edit, in the shop currency and in the presentment currency.
    """

    created_at: datetime
    shop_amount: Decimal
    presentment_amount: Decimal


@dataclass(frozen=True)
class FulfillmentSpec:
    """A shipment of some line quantities."""

    created_at: datetime
    lines: tuple[tuple[int, int], ...]
    tracking_company: str | None = None
    tracking_number: str | None = None


@dataclass(frozen=True)
class AddressSpec:
    """A postal address (billing or shipping)."""

    first_name: str
    last_name: str
    address1: str
    address2: str | None
    city: str
    province: str
    province_code: str
    zip: str
    country: str
    country_code: str
    phone: str | None
    company: str | None = None


@dataclass(frozen=True)
class CustomerSpec:
    """The buyer's customer record (absent for guest checkouts)."""

    legacy_id: int
    first_name: str
    last_name: str
    email: str
    phone: str | None


@dataclass(frozen=True)
class OrderSpec:
    """All inputs of one order; amounts in the presentment currency."""

    legacy_id: int
    number: int
    created_at: datetime
    presentment_currency: str
    exchange_rate: Decimal  # presentment units per shop-currency unit
    taxes_included: bool
    tax_rates: tuple[TaxRate, ...]
    lines: tuple[LineSpec, ...]
    payment: PaymentPlan
    email: str | None
    customer: CustomerSpec | None
    billing_address: AddressSpec | None
    shipping_address: AddressSpec | None
    discounts: tuple[DiscountSpec, ...] = ()
    shipping_lines: tuple[ShippingSpec, ...] = ()
    tip: Decimal = Decimal(0)
    gift_card_payment: Decimal = Decimal(0)  # part paid with a gift card (presentment)
    partial_payment: Decimal = Decimal(0)  # received part for PARTIALLY_PAID (presentment)
    refunds: tuple[RefundSpec, ...] = ()
    fulfillments: tuple[FulfillmentSpec, ...] = ()
    edited_at: tuple[datetime, ...] = ()
    added_charges: tuple[AddedChargeSpec, ...] = ()  # paid edits that added to the order
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    test: bool = False
    tags: tuple[str, ...] = ()
    source_name: str = "web"
    note: str | None = None
    gateway: str = "shopify_payments"
