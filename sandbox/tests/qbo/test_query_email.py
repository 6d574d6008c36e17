"""Customers are found by e-mail, in both forms client code sends."""

from typing import Any


def test_primary_email_filter_matches_the_address(us: Any) -> None:
    statement = "SELECT * FROM Customer WHERE PrimaryEmailAddr = 'birds@intuit.com'"
    customers = us.query(statement).json()["QueryResponse"]["Customer"]
    assert [c["DisplayName"] for c in customers] == ["Amy's Bird Sanctuary"]


def test_primary_email_in_list_is_case_insensitive(us: Any) -> None:
    statement = (
        "select * from Customer where PrimaryEmailAddr in ('SURF@intuit.com', 'nobody@example.com')"
    )
    customers = us.query(statement).json()["QueryResponse"]["Customer"]
    assert [c["DisplayName"] for c in customers] == ["Bill's Windsurf Shop"]


def test_dotted_address_filter_still_matches(us: Any) -> None:
    statement = "SELECT * FROM Customer WHERE PrimaryEmailAddr.Address = 'cool_cars@intuit.com'"
    customers = us.query(statement).json()["QueryResponse"]["Customer"]
    assert [c["DisplayName"] for c in customers] == ["Cool Cars"]
