import pytest
from graphql import GraphQLError, parse

from kconnector_sandbox.shopify.cost import LeakyBucket, requested_cost
from kconnector_sandbox.shopify.graphql_api import load_schema, paginate


@pytest.fixture(scope="module")
def schema():
    return load_schema()


def test_connection_costs_two_plus_first_times_its_nodes(schema):
    query = "{ orders(first: 10) { edges { node { id totalPriceSet { shopMoney { amount } } } } } }"
    # 2 for the connection + 10 x (order 1 + totalPriceSet 1 + shopMoney 1)
    assert requested_cost(schema, parse(query), {}, None) == 32


def test_page_size_from_variables_counts(schema):
    query = "query($n: Int) { orders(first: $n) { nodes { id } } }"
    assert requested_cost(schema, parse(query), {"n": 50}, None) == 52


def test_mutation_costs_ten(schema):
    query = (
        'mutation { bulkOperationRunQuery(query: "{ orders { edges { node { id } } } }") '
        "{ userErrors { message } } }"
    )
    assert requested_cost(schema, parse(query), {}, None) == 10


def test_bucket_refills_at_the_restore_rate_times_the_time_scale():
    now = [0.0]
    bucket = LeakyBucket(maximum=2000.0, restore_rate=100.0, time_scale=2.0, clock=lambda: now[0])
    assert bucket.take(2000)
    assert not bucket.take(1)
    now[0] = 1.0
    assert bucket.available() == 200
    bucket.give_back(50)
    assert bucket.available() == 250


def test_pagination_cap_refuses_pages_beyond_it():
    items = list(range(30))
    page = paginate(items, items, {"first": 10}, bulk=False, cap=25)
    assert page["pageInfo"]["hasNextPage"]
    after = page["pageInfo"]["endCursor"]
    page = paginate(items, items, {"first": 10, "after": after}, bulk=False, cap=25)
    with pytest.raises(GraphQLError, match="limited to 25"):
        paginate(
            items, items, {"first": 10, "after": page["pageInfo"]["endCursor"]}, bulk=False, cap=25
        )


def test_cursor_of_a_removed_item_resumes_after_its_position():
    items = [1, 2, 3, 5, 6]
    first = paginate([1, 2, 3, 4], [1, 2, 3, 4], {"first": 4}, bulk=False)
    after = first["pageInfo"]["endCursor"]  # points at 4, which is gone now
    page = paginate(items, items, {"first": 10, "after": after}, bulk=False)
    assert page["nodes"] == [5, 6]
