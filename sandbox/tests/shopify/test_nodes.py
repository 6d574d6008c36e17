"""node(id:) / nodes(ids:) resolve any Node (https://shopify.dev/docs/api/admin-graphql/latest/queries/node),
and line items name their product and variant
(https://shopify.dev/docs/api/admin-graphql/latest/objects/LineItem)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


def _order_with(served: Any, predicate: Callable[[Any], object]) -> Any:
    orders = sorted(served.shop.orders.values(), key=lambda o: o.name)
    return next(o for o in orders if predicate(o))


def test_node_resolves_every_object_with_an_id_inside_an_order(served: Any) -> None:
    refunded = _order_with(served, lambda o: o.refunds and o.refunds[0].transactions)
    fulfilled = _order_with(served, lambda o: o.fulfillments and o.customer)
    expected = {
        refunded.refunds[0].id: "Refund",
        refunded.refunds[0].transactions[0].id: "OrderTransaction",
        refunded.transactions[0].id: "OrderTransaction",
        refunded.line_items[0].id: "LineItem",
        fulfilled.fulfillments[0].id: "Fulfillment",
        fulfilled.fulfillments[0].fulfillment_line_items[0].id: "FulfillmentLineItem",
        fulfilled.customer.id: "Customer",
        fulfilled.events[0].id: "BasicEvent",
    }
    for node_id, typename in expected.items():
        node = served.gql(NODE, {"id": node_id})["data"]["node"]
        assert node == {"__typename": typename, "id": node_id}


def test_fulfillment_line_items_are_paged_past_the_first_page_through_node(served: Any) -> None:
    order = _order_with(
        served, lambda o: any(len(f.fulfillment_line_items) > 2 for f in o.fulfillments)
    )
    fulfillment = next(f for f in order.fulfillments if len(f.fulfillment_line_items) > 2)
    query = """query($id: ID!, $after: String) { node(id: $id) { ... on Fulfillment {
      fulfillmentLineItems(first: 2, after: $after) {
        pageInfo { hasNextPage endCursor } nodes { id quantity } } } } }"""
    ids: list[str] = []
    after: str | None = None
    while True:
        page = served.gql(query, {"id": fulfillment.id, "after": after})["data"]["node"]
        connection = page["fulfillmentLineItems"]
        ids += [n["id"] for n in connection["nodes"]]
        served.shop.bucket.reset()
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert ids == [item.id for item in fulfillment.fulfillment_line_items]


def test_nodes_resolves_mixed_types_and_null_for_unknown_or_mistyped_ids(served: Any) -> None:
    order = _order_with(served, lambda o: o.refunds)
    refund = order.refunds[0]
    wrong_type = refund.id.replace("/Refund/", "/Fulfillment/")
    body = served.gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {"ids": [order.id, refund.id, "gid://shopify/Refund/1", wrong_type]},
    )
    assert body["data"]["nodes"] == [
        {"__typename": "Order", "id": order.id},
        {"__typename": "Refund", "id": refund.id},
        None,
        None,
    ]


def test_objects_of_an_order_older_than_60_days_need_read_all_orders(served: Any) -> None:
    now = served.shop.clock.now()
    old = _order_with(served, lambda o: o.created_at < now - timedelta(days=60) and o.customer)
    served.admin("POST", "us/scopes", json={"scopes": ["read_orders", "read_customers"]})
    assert served.gql(NODE, {"id": old.line_items[0].id})["data"]["node"] is None
    customer = served.gql(NODE, {"id": old.customer.id})["data"]["node"]
    assert customer == {"__typename": "Customer", "id": old.customer.id}


def test_node_of_a_refund_without_read_orders_is_access_denied(served: Any) -> None:
    order = _order_with(served, lambda o: o.refunds)
    served.admin("POST", "us/scopes", json={"scopes": ["read_products"]})
    body = served.gql(NODE, {"id": order.refunds[0].id})
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


LINE_PRODUCTS = """query($id: ID!) { node(id: $id) { ... on Order { lineItems(first: 50) { nodes {
  title sku variantTitle
  product { id title vendor }
  variant { id title sku displayName product { id } }
} } } } }"""


def test_line_items_carry_product_and_variant_ids(served: Any) -> None:
    order = _order_with(served, lambda o: any(li.variant for li in o.line_items))
    lines = served.gql(LINE_PRODUCTS, {"id": order.id})["data"]["node"]["lineItems"]["nodes"]
    line = next(line for line in lines if line["variant"])
    assert line["product"]["id"].startswith("gid://shopify/Product/")
    assert line["product"]["title"] == line["title"]
    assert line["variant"]["id"].startswith("gid://shopify/ProductVariant/")
    assert line["variant"]["sku"] == line["sku"]
    assert line["variant"]["product"] == {"id": line["product"]["id"]}
    assert line["variant"]["title"] == (line["variantTitle"] or "Default Title")
    product = served.gql(NODE, {"id": line["product"]["id"]})["data"]["node"]
    assert product == {"__typename": "Product", "id": line["product"]["id"]}


def test_variants_of_one_product_share_the_product_id(served: Any) -> None:
    tees = {
        (li.variant.id, li.variant.product.id)
        for o in served.shop.orders.values()
        for li in o.line_items
        if li.title == "Logo Tee" and li.variant
    }
    assert len({variant for variant, _ in tees}) == 2
    assert len({product for _, product in tees}) == 1


def test_a_deleted_products_lines_have_null_product_and_variant(served: Any) -> None:
    order = _order_with(served, lambda o: any(li.title == "Café Mug" for li in o.line_items))
    lines = served.gql(LINE_PRODUCTS, {"id": order.id})["data"]["node"]["lineItems"]["nodes"]
    mug = next(line for line in lines if line["title"] == "Café Mug")
    assert mug["product"] is None
    assert mug["variant"] is None
