import time
from typing import Any

from kconnector_sandbox.shopify.cost import LeakyBucket

QUERY = "{ orders(first: 100) { nodes { id lineItems(first: 3) { nodes { id } } } } }"


def test_cost_extensions_report_requested_actual_and_bucket(served):
    body = served.gql("{ shop { name currencyCode ianaTimezone } }")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1
    assert cost["actualQueryCost"] == 1
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
    # `served` runs at time_scale 50: the reported rate is the rate the bucket really refills at
    assert cost["throttleStatus"]["restoreRate"] == 100.0 * 50


def test_a_burst_gets_throttled_with_http_200(served_realtime):
    served = served_realtime
    throttled = None
    for _ in range(20):
        response = served.post(QUERY)
        assert response.status_code == 200
        body = response.json()
        if "errors" in body:
            throttled = body
            break
    assert throttled is not None
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["extensions"]["cost"]["actualQueryCost"] is None
    assert "data" not in throttled


def test_a_client_pacing_on_throttle_status_is_never_throttled(served_realtime):
    served = served_realtime
    query = "{ orders(first: 20) { nodes { id lineItems(first: 3) { nodes { id } } } } }"
    served.shop.bucket.take(1900)  # start nearly empty so that pacing is needed
    status = served.shop.bucket.status()
    waited = 0.0
    for _ in range(3):
        requested = 122  # 2 + 20 x (1 + 2 + 3)
        if status["currentlyAvailable"] < requested:
            wait = (requested - status["currentlyAvailable"]) / status["restoreRate"] + 0.05
            waited += wait
            time.sleep(wait)
        body = served.gql(query)
        assert "errors" not in body
        assert body["extensions"]["cost"]["requestedQueryCost"] == requested
        status = body["extensions"]["cost"]["throttleStatus"]
    assert waited > 0


def test_a_query_above_1000_points_is_refused(served):
    body = served.gql("{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }")
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_realtime_bucket_reports_shopifys_standard_restore_rate(served_realtime: Any) -> None:
    body = served_realtime.gql("{ shop { name } }")
    assert body["extensions"]["cost"]["throttleStatus"]["restoreRate"] == 100.0


def test_reported_restore_rate_is_the_rate_the_scaled_bucket_refills_at() -> None:
    now = [0.0]
    bucket = LeakyBucket(maximum=2000.0, restore_rate=100.0, time_scale=50.0, clock=lambda: now[0])
    assert bucket.take(2000)
    rate = bucket.status()["restoreRate"]
    now[0] = 1000 / rate  # pacing on the reported rate: exactly 1000 points should be back
    assert bucket.available() == 1000


def test_throttled_answers_are_counted_by_graphql_error_code(served_realtime: Any) -> None:
    served = served_realtime
    served.shop.bucket.take(1990)
    assert served.gql(QUERY)["errors"][0]["extensions"]["code"] == "THROTTLED"
    served.gql("{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }")
    served.admin("POST", "us/scopes", json={"scopes": ["read_products"]})
    served.gql("{ orders(first: 1) { nodes { id } } }")
    log = served.admin("GET", "requests").json()
    assert log["by_status"] == {"200": 3}
    assert log["graphql_errors"] == {"THROTTLED": 1, "MAX_COST_EXCEEDED": 1, "ACCESS_DENIED": 1}


def test_admin_log_reports_points_consumed_against_points_made_available() -> None:
    now = [0.0]
    bucket = LeakyBucket(maximum=2000.0, restore_rate=100.0, time_scale=1.0, clock=lambda: now[0])
    assert bucket.take(500)
    bucket.give_back(100)  # actual cost 400
    now[0] = 10.0  # 1000 more points offered (600 of them overflow a nearly full bucket)
    assert bucket.usage() == {
        "points_consumed": 400.0,
        "points_available": 3000.0,
        "budget_used": round(400 / 3000, 6),
    }


def test_admin_requests_shows_each_shops_bucket_usage(served: Any) -> None:
    served.gql("{ shop { name } }")
    throttle = served.admin("GET", "requests").json()["throttle"][served.shop.profile.domain]
    assert throttle["points_consumed"] == 1
    assert throttle["points_available"] >= 2000
    assert throttle["restoreRate"] == 5000.0
