"""Typed, read-only views of canonical records (frozen dataclasses with `Decimal` money).

`Order.from_record(record)` and `Refund.from_record(record)` expect a record that passed
`validate`; they convert money to `Money`, timestamps to aware UTC `datetime`s and lists to tuples.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Self

from kconnector_canonical.money import Money, parse_amount

if TYPE_CHECKING:
    from decimal import Decimal

Platform = Literal["shopify", "woocommerce"]
FinancialStatus = Literal[
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
    "failed",
    "expired",
]
OrderStatus = Literal["open", "closed", "cancelled", "deleted"]
FulfillmentStatus = Literal["unfulfilled", "partial", "fulfilled", "restocked"]


def parse_timestamp(value: str) -> datetime:
    """A canonical `...Z` timestamp as an aware UTC datetime."""
    return datetime.fromisoformat(value).astimezone(UTC)


def _optional_timestamp(value: str | None) -> datetime | None:
    return None if value is None else parse_timestamp(value)


def _money(value: Any) -> Money:  # noqa: ANN401 - canonical JSON
    return Money.from_record(value)


def _optional_money(value: Any) -> Money | None:  # noqa: ANN401 - canonical JSON
    return None if value is None else Money.from_record(value)


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; every part may be missing."""

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    region_code: str | None = None
    postal_code: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None

    @classmethod
    def from_record(cls, value: dict[str, Any] | None) -> Self | None:
        """None for a missing address."""
        return None if value is None else cls(**value)


@dataclass(frozen=True, slots=True)
class Customer:
    """Who bought; `is_guest` with no `source_id` for a guest checkout."""

    source_id: str | None
    is_guest: bool
    email: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    phone: str | None
    billing_address: Address | None
    shipping_address: Address | None

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From the canonical `customer` object."""
        return cls(
            source_id=value["source_id"],
            is_guest=value["is_guest"],
            email=value["email"],
            first_name=value["first_name"],
            last_name=value["last_name"],
            company=value["company"],
            phone=value["phone"],
            billing_address=Address.from_record(value["billing_address"]),
            shipping_address=Address.from_record(value["shipping_address"]),
        )


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One tax charged on a line, on shipping, or (summed) on the order."""

    title: str
    rate: Decimal | None
    amount: Money
    jurisdiction: str | None = None
    jurisdiction_type: str | None = None
    rate_code: str | None = None
    compound: bool = False

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical tax line."""
        return cls(
            title=value["title"],
            rate=None if value["rate"] is None else parse_amount(value["rate"]),
            amount=_money(value["amount"]),
            jurisdiction=value.get("jurisdiction"),
            jurisdiction_type=value.get("jurisdiction_type"),
            rate_code=value.get("rate_code"),
            compound=value.get("compound", False),
        )


def _tax_lines(values: list[dict[str, Any]]) -> tuple[TaxLine, ...]:
    return tuple(TaxLine.from_record(v) for v in values)


@dataclass(frozen=True, slots=True)
class DiscountAllocation:
    """The part of discount `discount_index` that landed on a line."""

    discount_index: int
    amount: Money

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical allocation."""
        return cls(value["discount_index"], _money(value["amount"]))


def _allocations(values: list[dict[str, Any]] | None) -> tuple[DiscountAllocation, ...]:
    return tuple(DiscountAllocation.from_record(v) for v in values or [])


@dataclass(frozen=True, slots=True)
class LineItem:
    """One product line."""

    line_id: str
    sku: str | None
    product_id: str | None
    variant_id: str | None
    title: str
    variant_title: str | None
    quantity: int
    unit_price: Money
    subtotal: Money
    discount: Money
    discount_allocations: tuple[DiscountAllocation, ...]
    total: Money
    tax_lines: tuple[TaxLine, ...]
    taxable: bool
    requires_shipping: bool
    fulfilled_quantity: int
    gift_card: bool

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical line item."""
        return cls(
            line_id=value["line_id"],
            sku=value["sku"],
            product_id=value["product_id"],
            variant_id=value["variant_id"],
            title=value["title"],
            variant_title=value.get("variant_title"),
            quantity=value["quantity"],
            unit_price=_money(value["unit_price"]),
            subtotal=_money(value["subtotal"]),
            discount=_money(value["discount"]),
            discount_allocations=_allocations(value.get("discount_allocations")),
            total=_money(value["total"]),
            tax_lines=_tax_lines(value["tax_lines"]),
            taxable=value["taxable"],
            requires_shipping=value.get("requires_shipping", True),
            fulfilled_quantity=value["fulfilled_quantity"],
            gift_card=value["gift_card"],
        )


@dataclass(frozen=True, slots=True)
class ShippingLine:
    """One shipping charge."""

    line_id: str
    title: str
    code: str | None
    price: Money
    discount: Money
    discount_allocations: tuple[DiscountAllocation, ...]
    total: Money
    tax_lines: tuple[TaxLine, ...]

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical shipping line."""
        return cls(
            line_id=value["line_id"],
            title=value["title"],
            code=value.get("code"),
            price=_money(value["price"]),
            discount=_money(value["discount"]),
            discount_allocations=_allocations(value.get("discount_allocations")),
            total=_money(value["total"]),
            tax_lines=_tax_lines(value["tax_lines"]),
        )


@dataclass(frozen=True, slots=True)
class FeeLine:
    """A fee, tip, duty or other charge (negative for a manual discount)."""

    line_id: str
    title: str
    kind: Literal["fee", "tip", "duty", "other"]
    amount: Money
    taxable: bool
    tax_lines: tuple[TaxLine, ...]

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical fee line."""
        return cls(
            line_id=value["line_id"],
            title=value["title"],
            kind=value["kind"],
            amount=_money(value["amount"]),
            taxable=value["taxable"],
            tax_lines=_tax_lines(value["tax_lines"]),
        )


@dataclass(frozen=True, slots=True)
class Discount:
    """A discount code or automatic/manual discount, with what it took off in total."""

    kind: Literal["code", "automatic", "manual", "script"]
    code: str | None
    title: str | None
    value_type: Literal["fixed_amount", "percentage"]
    value: Decimal
    amount: Money
    target: Literal["line_item", "shipping"]

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical discount."""
        return cls(
            kind=value["kind"],
            code=value["code"],
            title=value["title"],
            value_type=value["value_type"],
            value=parse_amount(value["value"]),
            amount=_money(value["amount"]),
            target=value["target"],
        )


@dataclass(frozen=True, slots=True)
class Totals:
    """Order totals in one currency (see docs/canonical-model.md for each definition)."""

    line_items_subtotal: Money
    discounts: Money
    subtotal: Money
    shipping: Money
    fees: Money
    tax: Money
    total: Money
    refunded: Money | None

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical totals object."""
        refunded = value.get("refunded")
        return cls(
            line_items_subtotal=_money(value["line_items_subtotal"]),
            discounts=_money(value["discounts"]),
            subtotal=_money(value["subtotal"]),
            shipping=_money(value["shipping"]),
            fees=_money(value["fees"]),
            tax=_money(value["tax"]),
            total=_money(value["total"]),
            refunded=None if refunded is None else _money(refunded),
        )


@dataclass(frozen=True, slots=True)
class Transaction:
    """A payment event: authorization, capture, sale, void, refund."""

    transaction_id: str
    parent_id: str | None
    kind: Literal["authorization", "capture", "sale", "void", "refund", "change"]
    status: Literal["pending", "success", "failure", "error"]
    gateway: str
    amount: Money
    processed_at: datetime | None
    test: bool
    fee: Money | None = None
    """The processor's fee (since v2); its currency may differ from `amount`'s."""
    net: Money | None = None
    """What reaches the processor balance (since v2), in the fee's currency."""

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical transaction."""
        return cls(
            transaction_id=value["transaction_id"],
            parent_id=value.get("parent_id"),
            kind=value["kind"],
            status=value["status"],
            gateway=value["gateway"],
            amount=_money(value["amount"]),
            processed_at=_optional_timestamp(value["processed_at"]),
            test=value.get("test", False),
            fee=_optional_money(value.get("fee")),
            net=_optional_money(value.get("net")),
        )


@dataclass(frozen=True, slots=True)
class Fulfillment:
    """A shipment: which lines, how many units."""

    fulfillment_id: str
    status: str
    created_at: datetime
    line_quantities: tuple[tuple[str, int], ...]

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical fulfillment."""
        return cls(
            fulfillment_id=value["fulfillment_id"],
            status=value["status"],
            created_at=parse_timestamp(value["created_at"]),
            line_quantities=tuple((i["line_id"], i["quantity"]) for i in value["line_items"]),
        )


@dataclass(frozen=True, slots=True)
class Order:
    """A canonical order (schema_version 2)."""

    id: str
    platform: Platform
    store: str
    source_id: str
    order_number: str
    name: str
    created_at: datetime
    updated_at: datetime
    processed_at: datetime | None
    cancelled_at: datetime | None
    closed_at: datetime | None
    cancel_reason: str | None
    store_timezone: str | None
    currency: str
    presentment_currency: str | None
    presentment_totals: Totals | None
    prices_include_tax: bool
    status: OrderStatus
    financial_status: FinancialStatus
    fulfillment_status: FulfillmentStatus
    test: bool
    source_name: str | None
    tags: tuple[str, ...]
    note: str | None
    customer: Customer
    line_items: tuple[LineItem, ...]
    shipping_lines: tuple[ShippingLine, ...]
    fee_lines: tuple[FeeLine, ...]
    discounts: tuple[Discount, ...]
    tax_lines: tuple[TaxLine, ...]
    totals: Totals
    transactions: tuple[Transaction, ...]
    fulfillments: tuple[Fulfillment, ...]

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        """From a validated canonical order record."""
        presentment = record.get("presentment_totals")
        return cls(
            id=record["id"],
            platform=record["platform"],
            store=record["store"],
            source_id=record["source_id"],
            order_number=record["order_number"],
            name=record["name"],
            created_at=parse_timestamp(record["created_at"]),
            updated_at=parse_timestamp(record["updated_at"]),
            processed_at=_optional_timestamp(record["processed_at"]),
            cancelled_at=_optional_timestamp(record["cancelled_at"]),
            closed_at=_optional_timestamp(record["closed_at"]),
            cancel_reason=record["cancel_reason"],
            store_timezone=record.get("store_timezone"),
            currency=record["currency"],
            presentment_currency=record["presentment_currency"],
            presentment_totals=None if presentment is None else Totals.from_record(presentment),
            prices_include_tax=record["prices_include_tax"],
            status=record["status"],
            financial_status=record["financial_status"],
            fulfillment_status=record["fulfillment_status"],
            test=record["test"],
            source_name=record["source_name"],
            tags=tuple(record["tags"]),
            note=record["note"],
            customer=Customer.from_record(record["customer"]),
            line_items=tuple(LineItem.from_record(v) for v in record["line_items"]),
            shipping_lines=tuple(ShippingLine.from_record(v) for v in record["shipping_lines"]),
            fee_lines=tuple(FeeLine.from_record(v) for v in record["fee_lines"]),
            discounts=tuple(Discount.from_record(v) for v in record["discounts"]),
            tax_lines=_tax_lines(record["tax_lines"]),
            totals=Totals.from_record(record["totals"]),
            transactions=tuple(Transaction.from_record(v) for v in record["transactions"]),
            fulfillments=tuple(Fulfillment.from_record(v) for v in record["fulfillments"]),
        )


@dataclass(frozen=True, slots=True)
class RefundLineItem:
    """Units of one order line given back, with the goods amount and tax refunded."""

    line_id: str
    order_line_id: str
    quantity: int
    subtotal: Money
    tax: Money
    tax_lines: tuple[TaxLine, ...]
    restock_type: str | None
    sku: str | None = None
    title: str | None = None

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical refund line."""
        return cls(
            line_id=value["line_id"],
            order_line_id=value["order_line_id"],
            quantity=value["quantity"],
            subtotal=_money(value["subtotal"]),
            tax=_money(value["tax"]),
            tax_lines=_tax_lines(value["tax_lines"]),
            restock_type=value["restock_type"],
            sku=value.get("sku"),
            title=value.get("title"),
        )


@dataclass(frozen=True, slots=True)
class RefundShippingLine:
    """Shipping money refunded."""

    order_line_id: str | None
    amount: Money
    tax: Money
    tax_lines: tuple[TaxLine, ...]

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical refunded shipping line."""
        return cls(
            order_line_id=value["order_line_id"],
            amount=_money(value["amount"]),
            tax=_money(value["tax"]),
            tax_lines=_tax_lines(value.get("tax_lines", [])),
        )


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A refund amount not tied to a line: amount-only refunds and discrepancies."""

    kind: Literal["refund_discrepancy", "amount_only", "fee", "other"]
    reason: str | None
    amount: Money
    tax: Money

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From a canonical adjustment."""
        return cls(value["kind"], value["reason"], _money(value["amount"]), _money(value["tax"]))


@dataclass(frozen=True, slots=True)
class RefundTotals:
    """What a refund is worth, by part."""

    items: Money
    shipping: Money
    adjustments: Money
    tax: Money
    total: Money

    @classmethod
    def from_record(cls, value: dict[str, Any]) -> Self:
        """From canonical refund totals."""
        return cls(
            *(_money(value[k]) for k in ("items", "shipping", "adjustments", "tax", "total"))
        )


@dataclass(frozen=True, slots=True)
class Refund:
    """A canonical refund (schema_version 2)."""

    id: str
    platform: Platform
    store: str
    source_id: str
    order_id: str
    order_source_id: str
    created_at: datetime
    processed_at: datetime | None
    updated_at: datetime | None
    currency: str
    prices_include_tax: bool
    store_timezone: str | None
    note: str | None
    restock: bool
    line_items: tuple[RefundLineItem, ...]
    shipping_lines: tuple[RefundShippingLine, ...]
    adjustments: tuple[Adjustment, ...]
    transactions: tuple[Transaction, ...]
    totals: RefundTotals

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        """From a validated canonical refund record."""
        return cls(
            id=record["id"],
            platform=record["platform"],
            store=record["store"],
            source_id=record["source_id"],
            order_id=record["order_id"],
            order_source_id=record["order_source_id"],
            created_at=parse_timestamp(record["created_at"]),
            processed_at=_optional_timestamp(record["processed_at"]),
            updated_at=_optional_timestamp(record.get("updated_at")),
            currency=record["currency"],
            prices_include_tax=record["prices_include_tax"],
            store_timezone=record.get("store_timezone"),
            note=record["note"],
            restock=record["restock"],
            line_items=tuple(RefundLineItem.from_record(v) for v in record["line_items"]),
            shipping_lines=tuple(
                RefundShippingLine.from_record(v) for v in record["shipping_lines"]
            ),
            adjustments=tuple(Adjustment.from_record(v) for v in record["adjustments"]),
            transactions=tuple(Transaction.from_record(v) for v in record["transactions"]),
            totals=RefundTotals.from_record(record["totals"]),
        )
