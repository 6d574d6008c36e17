from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from kconnector_sandbox.shopify.build import build_order
from kconnector_sandbox.shopify.generator import REFERENCE_DATE, generate_specs
from kconnector_sandbox.shopify.profiles import US
from kconnector_sandbox.shopify.search_syntax import compile_query

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def orders():
    return [build_order(spec, US.currency) for spec in generate_specs(5, 80, US)]


def _select(orders, query):
    search = compile_query(query, tz=NEW_YORK, now=REFERENCE_DATE)
    return [o for o in orders if search.predicate(o)]


def test_quoted_utc_timestamp_range_is_inclusive_at_the_lower_bound(orders):
    pivot = sorted(o.updated_at for o in orders)[30]
    stamp = pivot.strftime("%Y-%m-%dT%H:%M:%SZ")
    chosen = _select(orders, f"updated_at:>='{stamp}' AND updated_at:<'2030-01-01T00:00:00Z'")
    assert chosen == [o for o in orders if o.updated_at >= pivot]


def test_timestamp_without_offset_is_read_in_the_shop_time_zone(orders):
    pivot = sorted(o.created_at for o in orders)[40]
    local = pivot.astimezone(NEW_YORK).replace(tzinfo=None).isoformat()
    assert _select(orders, f"created_at:>='{local}'") == [
        o for o in orders if o.created_at >= pivot
    ]
    naive_as_utc = pivot.replace(tzinfo=None).isoformat()
    assert _select(orders, f"created_at:>='{naive_as_utc}'") != _select(
        orders, f"created_at:>='{naive_as_utc}Z'"
    ) or pivot.astimezone(NEW_YORK).utcoffset() == UTC.utcoffset(None)


def test_status_any_and_test_false_filters(orders):
    assert len(_select(orders, "status:any")) == len(orders)
    assert _select(orders, "status:any test:false") == [o for o in orders if not o.test]
    assert _select(orders, "-test:true") == [o for o in orders if not o.test]


def test_or_joins_alternatives(orders):
    chosen = _select(orders, "financial_status:refunded OR financial_status:voided")
    assert chosen == [o for o in orders if o.display_financial_status in {"REFUNDED", "VOIDED"}]


def test_unknown_field_is_ignored_with_a_warning(orders):
    search = compile_query("colour:blue", tz=NEW_YORK, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert search.warnings
    assert all(search.predicate(o) for o in orders)
