"""The order as the GraphQL Admin API exposes it (fields named as the API's, in snake_case).

Objects are frozen dataclasses; the GraphQL layer maps `camelCase` field names to these attributes.
Shapes follow the GraphQL Admin reference (https://shopify.dev/docs/api/admin-graphql/latest/objects/Order,
.../objects/LineItem, .../objects/Refund, .../objects/RefundShippingLine,
.../objects/OrderAdjustment,
.../objects/OrderTransaction, .../objects/Fulfillment, .../objects/MoneyBag).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from datetime import datetime
    from decimal import Decimal


def gid(kind: str, legacy_id: int) -> str:
    """A Shopify global id, e.g. ``gid://shopify/Order/5300000000001``."""
    return f"gid://shopify/{kind}/{legacy_id}"


@dataclass(frozen=True)
class MoneyV2:
    """An amount with its currency."""

    amount: Decimal
    currency_code: str


@dataclass(frozen=True)
class MoneyBag:
    """An amount in the shop currency and in the customer's (presentment) currency."""

    shop_money: MoneyV2
    presentment_money: MoneyV2


@dataclass(frozen=True)
class PricingPercentageValue:
    """A percentage discount value."""

    graphql_type: ClassVar[str] = "PricingPercentageValue"
    percentage: float


@dataclass(frozen=True)
class TaxLine:
    """One jurisdiction's tax on a line, a shipping line or the order."""

    title: str
    rate: float
    rate_percentage: float
    price_set: MoneyBag
    channel_liable: bool = False


@dataclass(frozen=True)
class DiscountApplication:
    """A discount applied to the order (interface DiscountApplication)."""

    graphql_type: str  # DiscountCodeApplication / ManualDiscountApplication / Automatic...
    index: int
    allocation_method: str  # ACROSS, EACH, ONE
    target_selection: str  # ALL, ENTITLED, EXPLICIT
    target_type: str  # LINE_ITEM, SHIPPING_LINE
    value: MoneyV2 | PricingPercentageValue
    code: str | None
    title: str | None
    description: str | None = None


@dataclass(frozen=True)
class DiscountAllocation:
    """The part of one discount application carried by one line or shipping line."""

    allocated_amount_set: MoneyBag
    discount_application: DiscountApplication


@dataclass(frozen=True)
class Product:
    """The product a line was sold from (https://shopify.dev/docs/api/admin-graphql/latest/objects/Product)."""

    graphql_type: ClassVar[str] = "Product"
    id: str
    legacy_resource_id: int
    title: str
    vendor: str


@dataclass(frozen=True)
class ProductVariant:
    """The variant a line was sold as (https://shopify.dev/docs/api/admin-graphql/latest/objects/ProductVariant)."""

    graphql_type: ClassVar[str] = "ProductVariant"
    id: str
    legacy_resource_id: int
    title: str  # "Default Title" for a product without options
    display_name: str
    sku: str | None
    product: Product


@dataclass(frozen=True)
class LineItem:
    """A line item as sold, plus its current (after refunds) quantities."""

    graphql_type: ClassVar[str] = "LineItem"
    id: str
    name: str
    title: str
    variant_title: str | None
    sku: str | None
    vendor: str
    quantity: int
    current_quantity: int
    refundable_quantity: int
    unfulfilled_quantity: int
    taxable: bool
    requires_shipping: bool
    is_gift_card: bool
    original_unit_price_set: MoneyBag
    original_total_set: MoneyBag
    discounted_unit_price_set: MoneyBag  # line-level discounts only
    discounted_total_set: MoneyBag  # line-level discounts only (no order-level, no codes)
    discounted_unit_price_after_all_discounts_set: MoneyBag
    total_discount_set: MoneyBag
    discount_allocations: tuple[DiscountAllocation, ...]
    tax_lines: tuple[TaxLine, ...]
    product: Product | None = None  # null once the product is deleted
    variant: ProductVariant | None = None  # null once the variant (or its product) is deleted


@dataclass(frozen=True)
class ShippingLine:
    """A shipping charge with its own discounts and taxes."""

    id: str
    title: str
    code: str
    source: str
    carrier_identifier: str | None
    original_price_set: MoneyBag
    discounted_price_set: MoneyBag
    current_discounted_price_set: MoneyBag
    is_removed: bool
    discount_allocations: tuple[DiscountAllocation, ...]
    tax_lines: tuple[TaxLine, ...]


@dataclass(frozen=True)
class TransactionFee:
    """A processor fee on an order transaction (https://shopify.dev/docs/api/admin-graphql/2025-10/objects/TransactionFee)."""

    id: str
    amount: MoneyV2
    flat_fee: MoneyV2
    flat_fee_name: str | None
    rate: Decimal
    rate_name: str | None
    tax_amount: MoneyV2
    type: str


@dataclass(frozen=True)
class OrderTransaction:
    """A payment-side event: sale, authorization, capture, void, refund."""

    graphql_type: ClassVar[str] = "OrderTransaction"
    id: str
    kind: str  # SALE, AUTHORIZATION, CAPTURE, VOID, REFUND
    status: str  # SUCCESS, PENDING, FAILURE, ERROR
    gateway: str
    formatted_gateway: str
    amount_set: MoneyBag
    created_at: datetime
    processed_at: datetime
    test: bool
    parent_transaction: OrderTransaction | None
    authorization_code: str | None
    error_code: str | None
    fees: tuple[TransactionFee, ...] = ()  # Shopify Payments' processing fee on a charge


@dataclass(frozen=True)
class RefundLineItem:
    """A refunded quantity of one line."""

    id: str
    line_item: LineItem
    quantity: int
    restock_type: str  # RETURN, CANCEL, NO_RESTOCK
    restocked: bool
    price_set: MoneyBag
    subtotal_set: MoneyBag
    total_tax_set: MoneyBag


@dataclass(frozen=True)
class RefundShippingLine:
    """Shipping refunded by a refund (https://shopify.dev/docs/api/admin-graphql/2025-10/objects/RefundShippingLine)."""

    graphql_type: ClassVar[str] = "RefundShippingLine"

    id: str
    shipping_line: ShippingLine
    subtotal_amount_set: MoneyBag
    tax_amount_set: MoneyBag


@dataclass(frozen=True)
class OrderAdjustment:
    """A discrepancy between the calculated and the actual refund amount."""

    graphql_type: ClassVar[str] = "OrderAdjustment"

    id: str
    amount_set: MoneyBag
    tax_amount_set: MoneyBag
    reason: str | None  # OrderAdjustmentDiscrepancyReason


@dataclass(frozen=True)
class Refund:
    """A refund with its lines, shipping, adjustments and refund transactions."""

    graphql_type: ClassVar[str] = "Refund"
    id: str
    created_at: datetime
    updated_at: datetime
    note: str | None
    total_refunded_set: MoneyBag
    refund_line_items: tuple[RefundLineItem, ...]
    refund_shipping_lines: tuple[RefundShippingLine, ...]
    order_adjustments: tuple[OrderAdjustment, ...]
    transactions: tuple[OrderTransaction, ...]


@dataclass(frozen=True)
class FulfillmentLineItem:
    """A shipped quantity of one line."""

    graphql_type: ClassVar[str] = "FulfillmentLineItem"

    id: str
    line_item: LineItem
    quantity: int
    original_total_set: MoneyBag
    discounted_total_set: MoneyBag


@dataclass(frozen=True)
class TrackingInfo:
    """Carrier tracking of a fulfillment."""

    company: str | None
    number: str | None
    url: str | None


@dataclass(frozen=True)
class Fulfillment:
    """A shipment."""

    graphql_type: ClassVar[str] = "Fulfillment"
    id: str
    name: str
    status: str
    created_at: datetime
    updated_at: datetime
    tracking_info: tuple[TrackingInfo, ...]
    fulfillment_line_items: tuple[FulfillmentLineItem, ...]


@dataclass(frozen=True)
class MailingAddress:
    """A postal address."""

    first_name: str
    last_name: str
    name: str
    company: str | None
    address1: str
    address2: str | None
    city: str
    province: str
    province_code: str
    zip: str
    country: str
    country_code_v2: str
    phone: str | None


@dataclass(frozen=True)
class Customer:
    """A customer record."""

    graphql_type: ClassVar[str] = "Customer"
    id: str
    legacy_resource_id: int
    first_name: str
    last_name: str
    display_name: str
    email: str
    phone: str | None


@dataclass(frozen=True)
class BasicEvent:
    """An event in the store's timeline (interface Event)."""

    graphql_type: ClassVar[str] = "BasicEvent"
    id: str
    legacy_id: int
    action: str
    created_at: datetime
    message: str
    subject_id: str
    subject_type: str  # EventSubjectType, e.g. ORDER
    app_title: str | None = None
    attribute_to_app: bool = False
    attribute_to_user: bool = False
    critical_alert: bool = False


@dataclass(frozen=True)
class Order:
    """An order with every amount Shopify computes for it."""

    graphql_type: ClassVar[str] = "Order"
    id: str
    legacy_resource_id: int
    name: str
    email: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime
    processed_at: datetime
    closed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    closed: bool
    test: bool
    confirmed: bool
    tags: tuple[str, ...]
    note: str | None
    source_name: str
    currency_code: str
    presentment_currency_code: str
    taxes_included: bool
    tax_exempt: bool
    display_financial_status: str
    display_fulfillment_status: str
    payment_gateway_names: tuple[str, ...]
    discount_codes: tuple[str, ...]
    discount_code: str | None
    subtotal_line_items_quantity: int
    current_subtotal_line_items_quantity: int
    total_weight: int
    subtotal_price_set: MoneyBag
    total_discounts_set: MoneyBag
    total_shipping_price_set: MoneyBag
    total_tax_set: MoneyBag
    total_price_set: MoneyBag
    total_tip_received_set: MoneyBag
    total_received_set: MoneyBag
    total_refunded_set: MoneyBag
    total_refunded_shipping_set: MoneyBag
    total_outstanding_set: MoneyBag
    net_payment_set: MoneyBag
    original_total_price_set: MoneyBag
    current_subtotal_price_set: MoneyBag
    current_total_discounts_set: MoneyBag
    current_shipping_price_set: MoneyBag
    current_total_tax_set: MoneyBag
    current_total_price_set: MoneyBag
    tax_lines: tuple[TaxLine, ...]
    current_tax_lines: tuple[TaxLine, ...]
    discount_applications: tuple[DiscountApplication, ...]
    line_items: tuple[LineItem, ...]
    shipping_lines: tuple[ShippingLine, ...]
    shipping_line: ShippingLine | None
    refunds: tuple[Refund, ...]
    transactions: tuple[OrderTransaction, ...]
    fulfillments: tuple[Fulfillment, ...]
    customer: Customer | None
    billing_address: MailingAddress | None
    shipping_address: MailingAddress | None
    events: tuple[BasicEvent, ...]
