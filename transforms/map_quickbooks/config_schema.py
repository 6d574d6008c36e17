"""The mapper's settings as the SDK declares them (shown by `map-quickbooks --about`).

Every setting has a default that suits an ordinary store, so an empty config maps correctly.
`rules.Settings.from_config` reads them once into a frozen, typed object and checks what a JSON
Schema cannot (expressions, templates, time zones).
"""

from __future__ import annotations

from singer_sdk import typing as th

_STRING_MAP = th.ObjectType(additional_properties=th.StringType())

CONFIG_SCHEMA = th.PropertiesList(
    # Document type
    th.Property(
        "document_type_rules",
        th.ArrayType(
            th.ObjectType(
                th.Property("when", th.StringType(), required=True),
                th.Property(
                    "type",
                    th.StringType(),
                    required=True,
                    allowed_values=["sales_receipt", "invoice"],
                ),
                additional_properties=False,
            )
        ),
        default=[],
        title="Document type rules",
        description=(
            "Ordered overrides of the document type: the first rule whose `when` expression "
            "(simpleeval; names: platform, store, channel, tags, gateway, gateways, currency, "
            "total, financial_status, status, paid_at_checkout, checkout_payments, "
            "customer_is_guest) is true sets `type` (sales_receipt or invoice). Use stable "
            "facts only (gateway, channel)."
        ),
    ),
    th.Property(
        "paid_at_checkout_window_minutes",
        th.IntegerType(minimum=0),
        default=60,
        title="Paid-at-checkout window (minutes)",
        description=(
            "An order fully paid by one successful sale/capture transaction processed within "
            "this many minutes of its creation becomes a SalesReceipt; otherwise (paid later, "
            "partly, or by two or more transactions) an Invoice plus one Payment per "
            "transaction."
        ),
    ),
    # Items
    th.Property(
        "item_map",
        _STRING_MAP,
        default={},
        title="Item map",
        description="Store SKU (or, for lines without SKU, line title) -> QuickBooks Item name.",
    ),
    th.Property(
        "unmatched_item_policy",
        th.StringType(),
        default="create",
        allowed_values=["create", "default_item", "error"],
        title="Unmatched item policy",
        description=(
            "When no QuickBooks Item matches a line (by item_map, then Item.Sku, then Name): "
            "create it, use default_item, or stop the document with a data error."
        ),
    ),
    th.Property(
        "income_account",
        th.StringType(),
        default="Sales of Product Income",
        title="Income account",
        description="Income account (by name) of items created under the `create` policy.",
    ),
    th.Property(
        "item_type",
        th.StringType(),
        default="NonInventory",
        allowed_values=["NonInventory", "Service"],
        title="Created item type",
        description="QuickBooks Item.Type of items created under the `create` policy.",
    ),
    th.Property(
        "default_item",
        th.StringType(),
        default="Sales",
        title="Default item",
        description="Item (by name) used under the `default_item` policy.",
    ),
    th.Property(
        "shipping_item",
        th.StringType(),
        default="Shipping",
        title="Shipping item",
        description="Item (by name) for shipping charges.",
    ),
    th.Property(
        "fee_item",
        th.StringType(),
        default="Fees",
        title="Fee item",
        description="Item (by name) for fees, duties and other charges.",
    ),
    th.Property(
        "tip_item",
        th.StringType(),
        default="Tips",
        title="Tip item",
        description="Item (by name) for tips.",
    ),
    th.Property(
        "gift_card_liability_item",
        th.StringType(),
        default="Gift Card",
        title="Gift card liability item",
        description=(
            "Item (by name) for gift cards sold; map it to a liability account in QuickBooks "
            "(a gift card sold is a debt to the holder, not revenue)."
        ),
    ),
    th.Property(
        "gift_card_payment_method",
        th.StringType(),
        default="Gift Card",
        title="Gift card payment method",
        description=(
            "PaymentMethod (by name) for payments made with a gift card (gateway gift_card)."
        ),
    ),
    th.Property(
        "refund_item",
        th.StringType(),
        default="Refunds",
        title="Refund item",
        description=(
            "Item (by name) for refund adjustments (amount-only refunds, discrepancies, fees) "
            "and for refunded goods that refund_goods_item does not send to their own item."
        ),
    ),
    th.Property(
        "refund_goods_item",
        th.StringType(),
        default="original_when_restocked",
        allowed_values=["original_when_restocked", "original", "refund_item"],
        title="Refunded goods item",
        description=(
            "The Item a refunded line credits. original_when_restocked: the line's own item "
            "when the store restocked it (Shopify return/cancel), else refund_item, so an "
            "inventory item is never put back in stock by a refund that was not; original: "
            "always the line's own item (no inventory tracked in QuickBooks); refund_item: "
            "always refund_item."
        ),
    ),
    # Discounts
    th.Property(
        "discount_mode",
        th.StringType(),
        default="discount_line",
        allowed_values=["discount_line", "reduced_unit_price"],
        title="Discount mode",
        description=(
            "discount_line: lines at their price before discounts plus one discount line; "
            "reduced_unit_price: each line at its discounted amount. Tax-inclusive stores, "
            "tax_codes mode and per-fulfillment invoices always use reduced unit prices."
        ),
    ),
    th.Property(
        "discount_account",
        th.StringType(),
        default="Discounts given",
        title="Discount account",
        description="Account (by name) of the discount line.",
    ),
    # Tax
    th.Property(
        "tax_mode",
        th.StringType(),
        default="us_automated",
        allowed_values=["us_automated", "tax_codes"],
        title="Tax mode",
        description=(
            "us_automated: US company with automated sales tax; lines are TAX/NON and the store's "
            "tax is sent as TxnTaxDetail.TotalTax. tax_codes: lines carry TaxCodes from "
            "tax_code_map; tax-inclusive stores send GlobalTaxCalculation TaxInclusive."
        ),
    ),
    th.Property(
        "tax_code_map",
        _STRING_MAP,
        default={},
        title="Tax code map",
        description=(
            "Store tax -> QuickBooks TaxCode name. Keys tried per line, first match wins: "
            "'GST 5% + PST 7%', 'GST + PST', jurisdictions 'CA + CA-BC', rate codes."
        ),
    ),
    th.Property(
        "tax_rate_map",
        _STRING_MAP,
        default={},
        title="Tax rate map",
        description=(
            "tax_codes mode: each store tax -> its QuickBooks TaxRate name (keys as for "
            "tax_code_map, one tax: 'GST 5%', 'GST', 'CA'). When set, documents state the store's "
            "tax per rate (TxnTaxDetail.TaxLine), so QuickBooks keeps it to the cent."
        ),
    ),
    th.Property(
        "exempt_tax_code",
        th.StringType(),
        default="Exempt",
        title="Exempt tax code",
        description="TaxCode (by name) of untaxed lines in tax_codes mode.",
    ),
    th.Property(
        "us_tax_code",
        th.StringType(),
        nullable=True,
        title="US transaction tax code",
        description=(
            "us_automated mode: TxnTaxDetail.TxnTaxCodeRef (by name) for companies without "
            "automated sales tax; leave empty to let QuickBooks assign it."
        ),
    ),
    # Numbers and dates
    th.Property(
        "doc_number_template",
        th.StringType(),
        default="{prefix}{order_number}",
        title="DocNumber template",
        description=(
            "Order documents' DocNumber; fields {prefix}, {order_number}, {name}, {source_id}. "
            "At most 21 characters after rendering (QuickBooks' limit)."
        ),
    ),
    th.Property(
        "refund_doc_number_template",
        th.StringType(),
        default="{prefix}R{refund_id}",
        title="Refund DocNumber template",
        description="Refund documents' DocNumber; fields {prefix}, {refund_id}, {order_source_id}.",
    ),
    th.Property(
        "doc_number_prefix",
        th.StringType(),
        default="",
        title="DocNumber prefix",
        description="The {prefix} of the DocNumber templates (e.g. 'SH-').",
    ),
    th.Property(
        "store_timezone",
        th.StringType(),
        nullable=True,
        title="Store time zone",
        description=(
            "IANA zone of every TxnDate, overriding the records' own store_timezone; leave "
            "empty to date each document in its record's zone (UTC when it has none)."
        ),
    ),
    # Customers
    th.Property(
        "guest_customer_mode",
        th.StringType(),
        default="per_email",
        allowed_values=["walk_in", "per_email"],
        title="Guest customer mode",
        description=(
            "Guest checkouts: one customer per email (per_email) or the walk-in customer for all "
            "(walk_in). Guests without email always use the walk-in customer."
        ),
    ),
    th.Property(
        "walk_in_customer_name",
        th.StringType(),
        default="Online Customer",
        title="Walk-in customer name",
        description="DisplayName of the shared customer for guest orders.",
    ),
    th.Property(
        "customer_match_by_name",
        th.BooleanType(),
        default=True,
        title="Match customers by name",
        description=(
            "After email, match an existing customer by DisplayName. When false, created "
            "customers get a DisplayName made unique by their email or id."
        ),
    ),
    # Payments
    th.Property(
        "payment_method_map",
        _STRING_MAP,
        default={},
        title="Payment method map",
        description="Gateway (shopify_payments, stripe, paypal, ...) -> PaymentMethod name.",
    ),
    th.Property(
        "deposit_account_map",
        _STRING_MAP,
        default={},
        title="Deposit account map",
        description="Gateway -> account (by name) money is deposited to / refunded from.",
    ),
    th.Property(
        "default_deposit_account",
        th.StringType(),
        default="Undeposited Funds",
        title="Default deposit account",
        description="Deposit account (by name) of gateways not in deposit_account_map.",
    ),
    # Payouts (the Deposit of each payout, see docs/payouts.md)
    th.Property(
        "payout_bank_account",
        th.CustomType(
            {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
                ]
            }
        ),
        default="Checking",
        title="Payout bank account",
        description=(
            "The bank account (by name) a payout's Deposit goes to: one name for every gateway, "
            "or a map gateway (shopify_payments, stripe, ppcp-gateway, ...) -> name, gateways "
            "not in the map going to 'Checking'. It must exist in QuickBooks (a Bank or Other "
            "Current Asset account)."
        ),
    ),
    th.Property(
        "processor_fee_account",
        th.StringType(),
        default="Bank Charges & Fees",
        title="Processor fee account",
        description=(
            "Expense account (by name) of the processors' fees on payouts (one line per "
            "Deposit); created as an Expense (Bank charges) account when missing."
        ),
    ),
    th.Property(
        "payout_adjustment_account",
        th.StringType(),
        default="Payout Adjustments",
        title="Payout adjustment account",
        description=(
            "Account (by name) of a payout's adjustments and other processor entries that are "
            "neither charges, refunds, chargebacks nor reserves; created as an Expense account "
            "when missing."
        ),
    ),
    th.Property(
        "payout_reserve_account",
        th.StringType(),
        default="Payout Reserve",
        title="Payout reserve account",
        description=(
            "Account (by name) of the money a processor holds back from a payout (reserves) and "
            "releases later; created as an Other Current Asset account when missing."
        ),
    ),
    th.Property(
        "invoice_on",
        th.StringType(),
        default="order",
        allowed_values=["order", "fulfillment"],
        title="Invoice on",
        description=(
            "order: one invoice per order; fulfillment: one invoice per successful fulfillment "
            "for the units it shipped."
        ),
    ),
    # Currency
    th.Property(
        "multicurrency",
        th.BooleanType(),
        default=False,
        title="Multicurrency company",
        description="The QuickBooks company has multicurrency on: documents carry CurrencyRef.",
    ),
    th.Property(
        "home_currency",
        th.StringType(),
        nullable=True,
        title="Home currency",
        description=(
            "The company's home currency (ISO 4217). Without multicurrency, records in another "
            "currency become data errors."
        ),
    ),
    # Posting mode (docs/payouts.md, "Summary posting")
    th.Property(
        "posting_mode",
        th.StringType(),
        default="per_order",
        allowed_values=["per_order", "payout_summary", "daily_summary"],
        title="Posting mode",
        description=(
            "per_order: one document per order and refund. payout_summary: the orders and "
            "refunds a payout settles (when they come through the same run) are posted as one "
            "summary SalesReceipt and one summary RefundReceipt to a per-store customer, which "
            "the payout's Deposit clears. daily_summary: the same per store-local day and "
            "gateway. Orders no summary covers (no payout yet, an Invoice) stay per order."
        ),
    ),
    th.Property(
        "summary_customer_name",
        th.StringType(),
        default="{platform} sales {store}",
        title="Summary customer name",
        description=(
            "DisplayName of the per-store customer that summary documents are made out to "
            "(fields {platform}, {store}; at most 100 characters once filled)."
        ),
    ),
    # Filters
    th.Property(
        "statuses",
        th.ArrayType(th.StringType()),
        default=[],
        title="Financial statuses",
        description="Only orders with these financial statuses (empty: all).",
    ),
    th.Property(
        "channels",
        th.ArrayType(th.StringType()),
        default=[],
        title="Channels",
        description="Only orders from these source_name channels (empty: all).",
    ),
    th.Property(
        "created_after",
        th.DateTimeType(),
        nullable=True,
        title="Created after",
        description="Only orders created at or after this instant (RFC 3339).",
    ),
    th.Property(
        "created_before",
        th.DateTimeType(),
        nullable=True,
        title="Created before",
        description="Only orders created before this instant (RFC 3339).",
    ),
    th.Property(
        "skip_test_orders",
        th.BooleanType(),
        default=True,
        title="Skip test orders",
        description="Skip orders and refunds marked as test (logged and counted).",
    ),
).to_dict()
