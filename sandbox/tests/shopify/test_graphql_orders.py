from datetime import timedelta

ORDER_FIELDS = """
id name updatedAt createdAt displayFinancialStatus
totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
lineItems(first: 5) { nodes { id sku quantity } }
"""

PAGE = f"""
query Page($after: String, $q: String) {{
  orders(first: 25, after: $after, sortKey: UPDATED_AT, query: $q) {{
    pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {ORDER_FIELDS} }} }}
  }}
}}
"""


def _all_pages(client, query_filter):
    seen, after = [], None
    while True:
        body = client.gql(PAGE, {"after": after, "q": query_filter})
        connection = body["data"]["orders"]
        seen += [edge["node"] for edge in connection["edges"]]
        client.emulator.shop("us").bucket.reset()
        if not connection["pageInfo"]["hasNextPage"]:
            return seen
        after = connection["pageInfo"]["endCursor"]


def test_updated_at_filter_sorted_pages_have_no_gaps_or_duplicates(served):
    shop = served.shop
    cutoff = sorted(o.updated_at for o in shop.orders.values())[40]
    stamp = cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
    seen = _all_pages(served, f"updated_at:>='{stamp}' AND status:any")
    expected = sorted(
        (o for o in shop.orders.values() if o.updated_at >= cutoff),
        key=lambda o: (o.updated_at, o.legacy_resource_id),
    )
    assert [n["id"] for n in seen] == [o.id for o in expected]
    assert len({n["id"] for n in seen}) == len(seen)
    assert [n["updatedAt"] for n in seen] == sorted(n["updatedAt"] for n in seen)


def test_money_is_a_decimal_string_in_both_currencies(served):
    body = served.gql(
        "{ orders(first: 5) { nodes { totalPriceSet { shopMoney { amount currencyCode } } } } }"
    )
    money = body["data"]["orders"]["nodes"][0]["totalPriceSet"]["shopMoney"]
    assert isinstance(money["amount"], str)
    assert money["currencyCode"] == "USD"


def test_first_above_250_is_refused(served):
    body = served.gql("{ orders(first: 251) { nodes { id } } }")
    assert "cannot exceed 250" in body["errors"][0]["message"]


def test_connection_without_first_or_last_is_refused(served):
    body = served.gql("{ orders(first: 1) { nodes { lineItems { nodes { id } } } } }")
    assert "first or last" in body["errors"][0]["message"]


def test_missing_or_wrong_token_gets_401_with_shopify_body(served):
    response = served.post("{ shop { name } }", token="shpat_wrong")
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_frozen_shop_gets_402_and_locked_shop_gets_423(served):
    served.admin("POST", "us/state", json={"status": "frozen"})
    response = served.post("{ shop { name } }")
    assert response.status_code == 402
    assert response.json() == {"errors": "Unavailable Shop"}
    served.admin("POST", "us/state", json={"status": "locked"})
    assert served.post("{ shop { name } }").status_code == 423
    served.admin("POST", "us/state", json={"status": "active"})
    assert served.post("{ shop { name } }").status_code == 200


def test_unknown_shop_and_unknown_version_get_404(served):
    unknown_shop = f"{served.base_url}/shops/nope.myshopify.com/admin/api/2025-10/graphql.json"
    assert served.post("{ shop { name } }", url=unknown_shop).status_code == 404
    bad_version = served.url.replace("2025-10", "2025-13")
    response = served.post("{ shop { name } }", url=bad_version)
    assert response.status_code == 404
    assert response.json() == {"errors": "Not Found"}


def test_retired_version_falls_forward_to_the_oldest_supported(served):
    response = served.post("{ shop { name } }", url=served.url.replace("2025-10", "2023-07"))
    assert response.status_code == 200
    assert response.headers["X-Shopify-API-Version"] == "2025-04"


def test_without_read_all_orders_only_the_last_60_days_are_visible(served):
    shop = served.shop
    now = shop.clock.now()
    old = [o for o in shop.orders.values() if o.created_at < now - timedelta(days=60)]
    assert old
    served.admin("POST", "us/scopes", json={"scopes": ["read_orders"]})
    body = served.gql(
        "{ orders(first: 250) { nodes { id createdAt } } "
        "currentAppInstallation { accessScopes { handle } } }"
    )
    ids = {n["id"] for n in body["data"]["orders"]["nodes"]}
    assert ids.isdisjoint({o.id for o in old})
    assert len(ids) == len(shop.orders) - len(old)
    assert [s["handle"] for s in body["data"]["currentAppInstallation"]["accessScopes"]] == [
        "read_orders"
    ]


def test_node_returns_an_order_with_refund_details(served):
    order = next(o for o in served.shop.orders.values() if o.refunds)
    query = """query($id: ID!) { node(id: $id) { ... on Order { name refunds {
      totalRefundedSet { shopMoney { amount } }
      refundLineItems(first: 10) { nodes { quantity subtotalSet { shopMoney { amount } } } }
      refundShippingLines(first: 5) { nodes { subtotalAmountSet { shopMoney { amount } } } }
      orderAdjustments(first: 5) { nodes { reason amountSet { shopMoney { amount } } } }
      transactions(first: 5) { nodes { kind status gateway } } } } } }"""
    body = served.gql(query, {"id": order.id})
    node = body["data"]["node"]
    assert node["name"] == order.name
    assert node["refunds"][0]["totalRefundedSet"]["shopMoney"]["amount"] == str(
        order.refunds[0].total_refunded_set.shop_money.amount
    )


def test_deleted_order_appears_as_a_destroy_event(served):
    order = next(iter(served.shop.orders.values()))
    assert served.admin("DELETE", f"us/orders/{order.legacy_resource_id}").status_code == 200
    body = served.gql(
        '{ events(first: 10, query: "subject_type:ORDER AND action:destroy") '
        "{ nodes { action createdAt ... on BasicEvent { subjectId subjectType } } } }"
    )
    nodes = body["data"]["events"]["nodes"]
    assert [(n["action"], n["subjectId"]) for n in nodes] == [("destroy", order.id)]
    found = served.gql("query($id: ID!) { node(id: $id) { id } }", {"id": order.id})
    assert found["data"]["node"] is None


def test_unknown_search_field_is_ignored_with_a_warning(served):
    body = served.gql('{ orders(first: 1, query: "colour:blue") { nodes { id } } }')
    assert body["data"]["orders"]["nodes"]
    assert "colour" in body["extensions"]["search"][0]["warnings"][0]["message"]


def test_without_read_orders_the_orders_field_is_access_denied(served):
    served.admin("POST", "us/scopes", json={"scopes": ["read_products"]})
    body = served.gql("{ orders(first: 1) { nodes { id } } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


def test_reverse_sort_returns_the_same_orders_backwards(served):
    query = (
        "query($r: Boolean) { orders(first: 250, sortKey: CREATED_AT, reverse: $r) "
        "{ nodes { id } } }"
    )
    forward = [n["id"] for n in served.gql(query, {"r": False})["data"]["orders"]["nodes"]]
    backward = [n["id"] for n in served.gql(query, {"r": True})["data"]["orders"]["nodes"]]
    assert backward == list(reversed(forward))
    assert len(forward) == len(served.shop.orders)


def test_a_change_between_pages_is_seen_by_the_next_page(served):
    # The emulator keeps a query's sorted result between pages; a change must drop it.
    query = "query($after: String) { orders(first: 10, after: $after, sortKey: UPDATED_AT) "
    query += "{ pageInfo { endCursor } nodes { id note updatedAt } } }"
    first = served.gql(query)["data"]["orders"]
    oldest = min(served.shop.orders.values(), key=lambda o: (o.updated_at, o.legacy_resource_id))
    assert first["nodes"][0]["id"] == oldest.id
    served.shop.edit_order(oldest.legacy_resource_id, note="edited between pages")
    served.shop.bucket.reset()
    rest, after = [], first["pageInfo"]["endCursor"]
    while after:
        page = served.gql(query, {"after": after})["data"]["orders"]
        rest += page["nodes"]
        after = page["pageInfo"]["endCursor"] if page["nodes"] else None
        served.shop.bucket.reset()
    assert rest[-1]["id"] == oldest.id
    assert rest[-1]["note"] == "edited between pages"
    assert len(first["nodes"]) + len(rest) == len(served.shop.orders) + 1
