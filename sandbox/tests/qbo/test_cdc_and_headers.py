import requests


def test_cdc_returns_changed_and_deleted_objects(clocked, make_client):
    served, emulator, clock = clocked
    client = make_client(served, emulator)
    clock.advance(30)  # less than the access token's scaled life (60 s at time_scale 60)
    since = "2025-11-24T16:00:10Z"  # after the seed (fake clock starts 2025-11-24T16:00:00Z)
    customer = client.post("customer", {"DisplayName": "Changed Later"}).json()["Customer"]
    body = {
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 5,
                "SalesItemLineDetail": {"ItemRef": {"value": "5"}, "TaxCodeRef": {"value": "NON"}},
            }
        ]
    }
    receipt = client.post("salesreceipt", body).json()["SalesReceipt"]
    client.post("salesreceipt", {"Id": receipt["Id"], "SyncToken": "0"}, operation="delete")
    response = client.get("cdc", entities="Customer,SalesReceipt", changedSince=since)
    customers, receipts = response.json()["CDCResponse"][0]["QueryResponse"]
    assert [c["Id"] for c in customers["Customer"]] == [customer["Id"]]
    assert receipts["SalesReceipt"] == [
        {
            "domain": "QBO",
            "status": "Deleted",
            "Id": receipt["Id"],
            "MetaData": receipts["SalesReceipt"][0]["MetaData"],
        }
    ]


def test_request_without_json_accept_is_refused(us):
    response = requests.get(
        us.url("customer/1"), headers={"Authorization": f"Bearer {us.access_token}"}, timeout=10
    )
    assert response.status_code == 406
    assert response.json()["Fault"]["Error"][0]["element"] == "Accept"


def test_intuit_tid_on_token_and_admin_responses(us):
    assert us.refresh().headers["intuit_tid"].startswith("1-")
    assert requests.get(f"{us.base_url}/__admin/requests", timeout=10).headers["intuit_tid"]


def test_unknown_entity_is_2000(us):
    response = us.post("widgetthing", {"Name": "x"})
    assert response.json()["Fault"]["Error"][0]["code"] == "2000"
