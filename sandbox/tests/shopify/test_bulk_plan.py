"""The compiled bulk plan answers exactly what graphql-core answers, and is what bulk runs use."""

from typing import Any

import pytest
from graphql import execute_sync, parse

from kconnector_sandbox.options import SandboxOptions
from kconnector_sandbox.shopify import build
from kconnector_sandbox.shopify.bulk import BulkFailure
from kconnector_sandbox.shopify.bulk_plan import BulkPlan, PlanMissError
from kconnector_sandbox.shopify.graphql_api import (
    FIELD_RESOLVER,
    RequestContext,
    field_resolver_for,
)
from tap_shopify_orders.queries import bulk_orders_query

QUERIES = {
    "tap": bulk_orders_query("updated_at:>='2020-01-01T00:00:00Z'"),
    "fragments and aliases": """
        fragment money on MoneyBag { shopMoney { amount currencyCode } }
        { orders(sortKey: UPDATED_AT, query: "test:false") { edges { node {
            __typename id number: name total: totalPriceSet { ...money }
            lineItems { edges { node { id ... on LineItem { quantity sku } } } }
            discountApplications { edges { node { __typename index
                value { __typename ... on MoneyV2 { amount } ... on PricingPercentageValue {
                    percentage } }
                ... on DiscountCodeApplication { code } } } }
            transactions { kind status fees { amount { amount } } }
            refunds { id refundLineItems { edges { node { id quantity } } } }
        } } } }
    """,
    "nodes and skip": """
        query { orders(reverse: true) { nodes {
            id tags @skip(if: true) email @include(if: true) customer { id email }
            events { edges { node { id action } } }
        } } }
    """,
}


@pytest.fixture(scope="module")
def emulator() -> Any:
    return build(SandboxOptions(seed=11, orders=80, time_scale=50.0))


def _context(emulator: Any) -> RequestContext:
    shop = emulator.shop("us")
    return RequestContext(
        shop=shop, api_version="2025-10", download_base="http://x", bulk=True, bulk_slice=(0, 80)
    )


@pytest.mark.parametrize("name", QUERIES)
def test_plan_gives_the_same_data_as_graphql_core(emulator: Any, name: str) -> None:
    document = parse(QUERIES[name])
    expected = execute_sync(
        emulator.schema, document, context_value=_context(emulator), field_resolver=FIELD_RESOLVER
    )
    assert expected.errors is None
    planned = BulkPlan(emulator.schema, document, _context(emulator), field_resolver_for)
    assert planned.execute() == expected.data
    assert len(expected.data["orders"]["edges" if "edges" in expected.data["orders"] else "nodes"])


def test_a_value_the_plan_cannot_complete_is_left_to_graphql_core(emulator: Any) -> None:
    shop = emulator.shop("us")
    context = _context(emulator)
    plan = BulkPlan(
        emulator.schema, parse("{ orders { nodes { id } } }"), context, field_resolver_for
    )
    saved = shop.scopes
    shop.scopes = tuple(s for s in saved if s != "read_orders")  # the resolver raises
    try:
        with pytest.raises(Exception, match="Access denied"):
            plan.execute()
    finally:
        shop.scopes = saved


def test_a_mutation_is_not_planned(emulator: Any) -> None:
    document = parse(
        'mutation { bulkOperationRunQuery(query: "{ shop { name } }") { userErrors { code } } }'
    )
    with pytest.raises(PlanMissError):
        BulkPlan(emulator.schema, document, _context(emulator), field_resolver_for)


def test_the_taps_bulk_run_goes_through_the_plan(emulator: Any, monkeypatch: Any) -> None:
    # graphql-core's executor (about 7 ms an order for this query) is not called for any slice
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        msg = "a bulk slice went through graphql-core's executor"
        raise AssertionError(msg)

    monkeypatch.setattr("kconnector_sandbox.shopify.bulk_runner.execute_sync", refuse)
    shop = emulator.shop("us")
    answer = emulator._run_bulk(shop, "2025-10", QUERIES["tap"], "http://x")
    assert answer["userErrors"] == []
    record = shop.bulk_operations[-1]
    assert record.failure is BulkFailure.NONE
    assert record.root_count == len(shop.orders)
