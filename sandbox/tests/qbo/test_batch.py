def test_batch_returns_per_item_entity_fault_and_query(us):
    items = [
        {"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch One"}},
        {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Cool Cars"}},
        {"bId": "3", "Query": "select * from Customer where DisplayName = 'Batch One'"},
    ]
    response = us.post("batch", {"BatchItemRequest": items})
    assert response.status_code == 200
    results = {r["bId"]: r for r in response.json()["BatchItemResponse"]}
    assert results["1"]["Customer"]["DisplayName"] == "Batch One"
    assert results["2"]["Fault"]["Error"][0]["code"] == "6240"
    assert results["3"]["QueryResponse"]["Customer"][0]["DisplayName"] == "Batch One"


def test_batch_over_30_items_is_refused_with_1040(us):
    items = [
        {"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"C{i}"}}
        for i in range(31)
    ]
    response = us.post("batch", {"BatchItemRequest": items})
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "1040"
    assert us.query("select count(*) from Customer").json()["QueryResponse"]["totalCount"] == 3
