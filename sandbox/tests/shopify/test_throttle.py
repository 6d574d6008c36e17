import time

QUERY = "{ orders(first: 100) { nodes { id lineItems(first: 3) { nodes { id } } } } }"


def test_cost_extensions_report_requested_actual_and_bucket(served):
    body = served.gql("{ shop { name currencyCode ianaTimezone } }")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1
    assert cost["actualQueryCost"] == 1
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
    assert cost["throttleStatus"]["restoreRate"] == 100.0


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
