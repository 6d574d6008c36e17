import threading

import requests


def test_per_minute_limit_gives_429_exactly_past_the_limit(clocked, make_client):
    served, emulator, clock = clocked
    client = make_client(served, emulator)  # token endpoint calls are not counted
    statuses = [client.get("customer/1").status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    fault = client.get("customer/1").json()["Fault"]
    assert fault["Error"][0]["code"] == "3001"
    assert fault["Error"][0]["Message"] == (
        "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    )
    clock.advance(60 / emulator.options.time_scale)  # the scaled minute passes
    assert client.get("customer/1").status_code == 200


def test_batch_per_minute_limit(clocked, make_client):
    served, emulator, _ = clocked
    client = make_client(served, emulator)
    batch = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Customer"}]}
    statuses = [client.post("batch", batch).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_eleventh_concurrent_request_gets_429(us):
    base = us.base_url
    requests.post(f"{base}/__admin/realms/{us.realm}/hold", timeout=10)
    results: list[int] = []

    def call() -> None:
        results.append(us.get("customer/1").status_code)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    limits_url = f"{base}/__admin/realms/{us.realm}/limits"
    for _ in range(500):
        if requests.get(limits_url, timeout=10).json()["in_flight"] == 10:
            break
        threading.Event().wait(0.01)
    eleventh = us.get("customer/1")
    requests.post(f"{base}/__admin/realms/{us.realm}/release", timeout=10)
    for thread in threads:
        thread.join(timeout=10)
    assert eleventh.status_code == 429
    assert eleventh.json()["Fault"]["Error"][0]["code"] == "3001"
    assert results == [200] * 10
