import requests

from kconnector_sandbox.qbo import query


def test_quoted_apostrophe_matches(us):
    response = us.query("SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'")
    body = response.json()["QueryResponse"]
    assert [c["Id"] for c in body["Customer"]] == ["1"]
    assert body["startPosition"] == 1
    assert body["maxResults"] == 1


def test_in_like_orderby_and_paging(us):
    statement = (
        "select * from Item where Name in ('Widget', 'Gadget', 'Shipping') "
        "and Name like '%g%' orderby Name desc startposition 1 maxresults 1"
    )
    items = us.query(statement).json()["QueryResponse"]["Item"]
    assert [i["Name"] for i in items] == ["Widget"]


def test_count_and_last_updated_time_filter(clocked, make_client):
    served, emulator, clock = clocked
    us = make_client(served, emulator)
    clock.advance(10)
    us.post("customer", {"DisplayName": "Newer"})
    count = us.query("SELECT COUNT(*) FROM Customer").json()["QueryResponse"]
    assert count == {"totalCount": 4}
    newest = emulator.realms[us.realm].read("Customer", "4")["MetaData"]["LastUpdatedTime"]
    statement = "select * from Customer where MetaData.LastUpdatedTime >= '" + newest + "'"  # noqa: S608 - test literal
    since = us.query(statement)
    assert [c["DisplayName"] for c in since.json()["QueryResponse"]["Customer"]] == ["Newer"]


def test_inactive_name_list_objects_need_an_active_filter(us):
    us.post("customer", {"Id": "2", "SyncToken": "0", "sparse": True, "Active": False})
    active = us.query("select * from Customer").json()["QueryResponse"]["Customer"]
    assert "2" not in [c["Id"] for c in active]
    everything = us.query("select * from Customer where Active in (true, false)").json()
    assert "2" in [c["Id"] for c in everything["QueryResponse"]["Customer"]]


def test_maxresults_over_1000_is_4001(us):
    response = us.query("select * from Customer maxresults 1001")
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "4001"


def test_unparseable_query_is_4000(us):
    response = us.query("select * from Customer where DisplayName = 'x' or Id = '1'")
    assert response.json()["Fault"]["Error"][0]["code"] == "4000"


def test_query_by_post_body(us):
    response = requests.post(
        us.url("query"),
        data="select * from PaymentMethod where Name = 'Visa'",
        headers=us.headers() | {"Content-Type": "application/text"},
        timeout=10,
    )
    assert response.json()["QueryResponse"]["PaymentMethod"][0]["Id"] == "3"


def test_parse_unescapes_backslash_quotes():
    parsed = query.parse(r"select * from Customer where DisplayName = 'O\'Brien\\x'")
    assert parsed.conditions[0].values == ("O'Brien\\x",)


def test_empty_result_is_empty_query_response(us):
    response = us.query("select * from Invoice where DocNumber = 'none'")
    assert response.json()["QueryResponse"] == {}
