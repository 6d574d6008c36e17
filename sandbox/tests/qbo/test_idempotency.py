def test_repeated_requestid_creates_one_document(us):
    body = {"DisplayName": "Exactly Once"}
    first = us.post("customer", body, requestid="rid-1")
    second = us.post("customer", body, requestid="rid-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    count = us.query("select count(*) from Customer where DisplayName = 'Exactly Once'")
    assert count.json()["QueryResponse"]["totalCount"] == 1


def test_requestid_is_per_realm(us, ca):
    assert us.post("customer", {"DisplayName": "Per Realm"}, requestid="shared").status_code == 200
    assert ca.post("customer", {"DisplayName": "Per Realm"}, requestid="shared").status_code == 200
    assert (
        ca.query("select count(*) from Customer where DisplayName = 'Per Realm'").json()[
            "QueryResponse"
        ]["totalCount"]
        == 1
    )


def test_requestid_over_50_characters_is_refused(us):
    response = us.post("customer", {"DisplayName": "Long Id"}, requestid="x" * 51)
    assert response.json()["Fault"]["Error"][0]["code"] == "6000"


def test_repeated_batch_requestid_replays_batch(us):
    items = [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch Once"}}]
    first = us.post("batch", {"BatchItemRequest": items}, requestid="batch-1")
    second = us.post("batch", {"BatchItemRequest": items}, requestid="batch-1")
    assert first.json() == second.json()
    assert us.query("select count(*) from Customer").json()["QueryResponse"]["totalCount"] == 4
