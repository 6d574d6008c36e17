"""The GraphQL documents the tap sends, written against Shopify's GraphQL Admin schema.

Objects read (https://shopify.dev/docs/api/admin-graphql/latest/objects/...): Order, LineItem,
ShippingLine, DiscountApplication (DiscountCodeApplication, ManualDiscountApplication,
AutomaticDiscountApplication), DiscountAllocation, TaxLine, MoneyBag, Refund, RefundLineItem,
RefundShippingLine, OrderAdjustment, OrderTransaction, Fulfillment, FulfillmentLineItem,
Customer, MailingAddress, BulkOperation, BasicEvent, AppInstallation (accessScopes).

Connections (`first`/`after`, `pageInfo`) are paged; `Order.refunds`, `Order.transactions` and
`Order.fulfillments` are plain lists in the schema (a `first` argument truncates them), so a full
list is fetched again with a larger `first` (see `connections.py`).

Amounts needed for the order totals are read in both currencies (`shopMoney` is the store
currency, `presentmentMoney` what the customer paid in); the rest in the store currency only,
which keeps the requested query cost down.
"""

from __future__ import annotations

from dataclasses import dataclass

SHOP = "shopMoney { amount currencyCode }"
BOTH = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
PAGE_INFO = "pageInfo { hasNextPage endCursor }"

TAX_LINE = f"title rate priceSet {{ {BOTH} }}"
ALLOCATION = f"allocatedAmountSet {{ {BOTH} }} discountApplication {{ index }}"

LINE_ITEM = f"""
id title variantTitle sku quantity taxable requiresShipping isGiftCard
product {{ id }} variant {{ id }}
originalUnitPriceSet {{ {SHOP} }}
originalTotalSet {{ {BOTH} }}
discountAllocations {{ {ALLOCATION} }}
taxLines {{ {TAX_LINE} }}
"""

SHIPPING_LINE = f"""
id title code
originalPriceSet {{ {BOTH} }}
discountAllocations {{ {ALLOCATION} }}
taxLines {{ {TAX_LINE} }}
"""

DISCOUNT_APPLICATION = """
__typename index allocationMethod targetSelection targetType
value {
  __typename
  ... on MoneyV2 { amount currencyCode }
  ... on PricingPercentageValue { percentage }
}
... on DiscountCodeApplication { code }
... on ManualDiscountApplication { title }
... on AutomaticDiscountApplication { title }
"""

# `fees`: the processor's fees on the transaction (TransactionFee, in the payout currency),
# https://shopify.dev/docs/api/admin-graphql/2025-10/objects/TransactionFee.
TRANSACTION = f"""
id kind status gateway test processedAt createdAt
amountSet {{ {SHOP} }}
parentTransaction {{ id }}
fees {{ amount {{ amount currencyCode }} }}
"""

REFUND_LINE_ITEM = f"""
id quantity restockType restocked
lineItem {{ id }}
subtotalSet {{ {SHOP} }}
totalTaxSet {{ {SHOP} }}
"""

REFUND_SHIPPING_LINE = f"""
id
shippingLine {{ id }}
subtotalAmountSet {{ {SHOP} }}
taxAmountSet {{ {SHOP} }}
"""

ORDER_ADJUSTMENT = f"""
id reason
amountSet {{ {SHOP} }}
taxAmountSet {{ {SHOP} }}
"""

FULFILLMENT_LINE_ITEM = "id lineItem { id } quantity"

ADDRESS = """
name firstName lastName company address1 address2 city province provinceCode zip country
countryCodeV2 phone
"""


@dataclass(frozen=True)
class Connection:
    """A paged connection: the type that holds it, its field, node fields and page size."""

    owner: str
    field: str
    node_fields: str
    page_size: int


CONNECTIONS: tuple[Connection, ...] = (
    Connection("Order", "lineItems", LINE_ITEM, 10),
    Connection("Order", "shippingLines", SHIPPING_LINE, 3),
    Connection("Order", "discountApplications", DISCOUNT_APPLICATION, 5),
    Connection("Refund", "refundLineItems", REFUND_LINE_ITEM, 10),
    Connection("Refund", "refundShippingLines", REFUND_SHIPPING_LINE, 3),
    Connection("Refund", "orderAdjustments", ORDER_ADJUSTMENT, 3),
    Connection("Refund", "transactions", TRANSACTION, 5),
    Connection("Fulfillment", "fulfillmentLineItems", FULFILLMENT_LINE_ITEM, 10),
)
CONNECTION_BY_KEY: dict[tuple[str, str], Connection] = {(c.owner, c.field): c for c in CONNECTIONS}


@dataclass(frozen=True)
class ListField:
    """A plain list on Order that `first` truncates: its item fields and the size asked for."""

    field: str
    item_fields: str
    size: int


LIST_MAXIMUM = 250  # the largest `first` Shopify accepts


def _paged(owner: str, *, paging: bool) -> str:
    parts = []
    for connection in CONNECTIONS:
        if connection.owner != owner:
            continue
        if paging:
            parts.append(
                f"{connection.field}(first: {connection.page_size}) "
                f"{{ {PAGE_INFO} nodes {{ {connection.node_fields} }} }}"
            )
        else:
            parts.append(
                f"{connection.field} {{ edges {{ node {{ {connection.node_fields} }} }} }}"
            )
    return "\n".join(parts)


REFUND = f"""
id createdAt updatedAt note
totalRefundedSet {{ {SHOP} }}
{_paged("Refund", paging=True)}
"""

FULFILLMENT = f"""
id status createdAt
{_paged("Fulfillment", paging=True)}
"""

LISTS: tuple[ListField, ...] = (
    ListField("refunds", REFUND, 10),
    ListField("transactions", TRANSACTION, 25),
    ListField("fulfillments", FULFILLMENT, 10),
)
LIST_BY_FIELD: dict[str, ListField] = {item.field: item for item in LISTS}

# An order's refunds, as the first page of the orders query reads them (for bulk results).
ORDER_REFUNDS = f"id refunds(first: {LIST_BY_FIELD['refunds'].size}) {{ {REFUND} }}"

ORDER_SCALARS = f"""
id legacyResourceId name email phone createdAt updatedAt processedAt closedAt cancelledAt
cancelReason test tags note sourceName currencyCode presentmentCurrencyCode taxesIncluded
displayFinancialStatus displayFulfillmentStatus
totalPriceSet {{ {BOTH} }}
totalTaxSet {{ {BOTH} }}
totalTipReceivedSet {{ {BOTH} }}
totalRefundedSet {{ {BOTH} }}
taxLines {{ {TAX_LINE} }}
customer {{ id legacyResourceId firstName lastName email phone }}
billingAddress {{ {ADDRESS} }}
shippingAddress {{ {ADDRESS} }}
"""

ORDER = f"""
{ORDER_SCALARS}
{_paged("Order", paging=True)}
{" ".join(f"{item.field}(first: {item.size}) {{ {item.item_fields} }}" for item in LISTS)}
"""

ORDERS_PAGE = f"""
query OrdersPage($first: Int!, $after: String, $query: String!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    {PAGE_INFO}
    nodes {{ {ORDER} }}
  }}
}}
"""

ORDERS_COUNT = """
query OrdersCount($query: String!, $limit: Int!) {
  ordersCount(query: $query, limit: $limit) { count precision }
}
"""

SHOP_ACCESS = """
query ShopAccess {
  shop { myshopifyDomain currencyCode ianaTimezone }
  currentAppInstallation { accessScopes { handle } }
}
"""

DELETED_ORDERS = """
query DeletedOrders($first: Int!, $after: String, $query: String!) {
  events(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id action createdAt ... on BasicEvent { subjectId subjectType } }
  }
}
"""


def nested_page_query(connection: Connection) -> str:
    """One more page of a connection of a node (Order, Refund or Fulfillment)."""
    return f"""
query NextPage($id: ID!, $first: Int!, $after: String) {{
  node(id: $id) {{
    ... on {connection.owner} {{
      {connection.field}(first: $first, after: $after) {{
        {PAGE_INFO}
        nodes {{ {connection.node_fields} }}
      }}
    }}
  }}
}}
"""


def full_list_query(item: ListField) -> str:
    """An order's whole list field (`first` at Shopify's maximum)."""
    return f"""
query FullList($id: ID!) {{
  node(id: $id) {{
    ... on Order {{ {item.field}(first: {LIST_MAXIMUM}) {{ {item.item_fields} }} }}
  }}
}}
"""


def nodes_query(owner: str, fields: str) -> str:
    """Objects of one type by id (bulk results carry only the ids of refunds and fulfillments)."""
    return f"""
query Hydrate($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on {owner} {{ {fields} }} }} }}
"""


# Bulk: the query Shopify runs in the background. A bulk query may hold at most five
# connections, two levels deep (https://shopify.dev/docs/api/usage/bulk-operations/queries), and
# Shopify refuses a connection inside a list field ("Queries that contain a connection field
# within a list field are not currently supported."): `refunds` and `fulfillments` are lists, so
# the query reads the order with its three own connections and only the ids (and headers) of
# refunds and fulfillments; their connections are read afterwards with `nodes(ids:)`.
BULK_ORDERS_TEMPLATE = f"""
{{
  orders(query: "%(query)s", sortKey: UPDATED_AT) {{
    edges {{ node {{
      {ORDER_SCALARS}
      {_paged("Order", paging=False)}
      refunds {{ id }}
      transactions(first: {LIST_MAXIMUM}) {{ {TRANSACTION} }}
      fulfillments {{ id status createdAt }}
    }} }}
  }}
}}
"""

BULK_RUN = """
mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_STATUS = """
query BulkStatus($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount url partialDataUrl query }
  }
}
"""

CURRENT_BULK = """
query CurrentBulk {
  currentBulkOperation(type: QUERY) { id status errorCode objectCount url partialDataUrl query }
}
"""


def bulk_orders_query(search: str) -> str:
    """The bulk query text for orders matching `search` (quotes escaped for the string)."""
    escaped = search.replace("\\", "\\\\").replace('"', '\\"')
    return BULK_ORDERS_TEMPLATE % {"query": escaped}


# Shopify Payments (https://shopify.dev/docs/api/admin-graphql/2026-01/objects/ShopifyPaymentsAccount):
# payouts searched by `issued_at` and sorted by ISSUED_AT (search syntax on payouts since 2024-07,
# https://shopify.dev/changelog/additions-to-the-graphql-api-for-shopify-payments-payouts-and-balance-transactions).
MONEY = "amount currencyCode"
PAYOUTS_PAGE = f"""
query PayoutsPage($first: Int!, $after: String, $query: String!) {{
  shopifyPaymentsAccount {{
    id
    payouts(first: $first, after: $after, query: $query, sortKey: ISSUED_AT) {{
      {PAGE_INFO}
      nodes {{ id legacyResourceId issuedAt status transactionType net {{ {MONEY} }} }}
    }}
  }}
}}
"""

# One payout's balance transactions: `payments_transfer_id` is the payout's legacy id, and
# `hideTransfers` drops the TRANSFER row (the payout itself leaving the balance),
# https://shopify.dev/docs/api/admin-graphql/2026-01/objects/ShopifyPaymentsBalanceTransaction.
PAYOUT_TRANSACTIONS = f"""
query PayoutTransactions($first: Int!, $after: String, $query: String!) {{
  shopifyPaymentsAccount {{
    balanceTransactions(
      first: $first, after: $after, query: $query, hideTransfers: true, sortKey: PROCESSED_AT
    ) {{
      {PAGE_INFO}
      nodes {{
        id type test transactionDate adjustmentReason sourceId sourceType sourceOrderTransactionId
        amount {{ {MONEY} }} fee {{ {MONEY} }} net {{ {MONEY} }}
        associatedOrder {{ id }} associatedPayout {{ id status }}
      }}
    }}
  }}
}}
"""
