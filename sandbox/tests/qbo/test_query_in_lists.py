"""IN lists: text values match case-insensitively, dates still compare as dates."""

from typing import Any


def test_text_in_list_matches_case_insensitively(us: Any) -> None:
    statement = "select * from Item where Name in ('WIDGET', 'gadget', 'Nothing Like It')"
    items = us.query(statement).json()["QueryResponse"]["Item"]
    assert sorted(i["Name"] for i in items) == ["Gadget", "Widget"]


def test_date_in_list_compares_as_a_date(us: Any) -> None:
    created = us.post(
        "salesreceipt",
        {
            "CustomerRef": {"value": "1"},
            "TxnDate": "2026-03-02",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 19.99,
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": "5"},
                        "Qty": 1,
                        "UnitPrice": 19.99,
                    },
                }
            ],
        },
    ).json()["SalesReceipt"]
    statement = "select * from SalesReceipt where TxnDate in ('2026-03-02T00:00:00Z')"
    found = us.query(statement).json()["QueryResponse"]["SalesReceipt"]
    assert [r["Id"] for r in found] == [created["Id"]]
