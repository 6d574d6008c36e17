from decimal import Decimal

from target_quickbooks.document_diff import (
    ChangedBy,
    DiffRow,
    format_diff,
    format_value,
    render_diff,
    summarise_line,
)
from target_quickbooks.merge import ABSENT


def receipt(*, note="Gift wrap", city="Bayshore", amount="20.00", qty="2", customer="58"):
    return {
        "CustomerRef": {"value": customer},
        "PrivateNote": note,
        "ShipAddr": {"Line1": "4581 Finch St.", "City": city},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "Description": "Widget",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "5"},
                    "Qty": qty,
                    "UnitPrice": "10.00",
                    "TaxCodeRef": {"value": "TAX"},
                },
            },
        ],
        "TxnTaxDetail": {"TotalTax": "1.65"},
    }


def quickbooks_copy(body):
    """`body` as read back: numbers, Ids, names, server fields."""
    line = body["Line"][0]
    return {
        **body,
        "Id": "145",
        "SyncToken": "2",
        "MetaData": {"LastUpdatedTime": "2026-11-20T05:00:00-08:00"},
        "TotalAmt": 21.65,
        "CustomerRef": {**body["CustomerRef"], "name": "Amy's Bird Sanctuary"},
        "Line": [
            {**line, "Id": "1", "LineNum": 1, "Amount": Decimal(line["Amount"])},
            {"DetailType": "SubTotalLineDetail", "Amount": Decimal(line["Amount"])},
        ],
    }


def test_identical_documents_have_no_rows():
    base = receipt()

    assert render_diff(base, quickbooks_copy(base), receipt()) == []
    assert format_diff([]) == "no differences"


def test_one_row_per_differing_leaf_with_the_side_that_changed():
    base = receipt()
    theirs = quickbooks_copy(receipt(note="Customer called"))
    ours = receipt(city="Bayview", customer="59")

    rows = render_diff(base, theirs, ours)

    assert rows == [
        DiffRow("CustomerRef", "58", "58", "59", ChangedBy.OURS),
        DiffRow("PrivateNote", "Gift wrap", "Customer called", "Gift wrap", ChangedBy.THEIRS),
        DiffRow("ShipAddr.City", "Bayshore", "Bayshore", "Bayview", ChangedBy.OURS),
    ]


def test_lines_are_summarised_by_item_quantity_and_amount():
    base = receipt()
    theirs = quickbooks_copy(receipt(amount="30.00", qty="3"))
    ours = receipt(amount="40", qty="4")

    rows = render_diff(base, theirs, ours)

    assert rows == [
        DiffRow(
            "Line[1]",
            "item 5 'Widget' x 2 @ 10.00 = 20.00 [tax TAX]",
            "item 5 'Widget' x 3 @ 10.00 = 30.00 [tax TAX]",
            "item 5 'Widget' x 4 @ 10.00 = 40.00 [tax TAX]",
            ChangedBy.BOTH,
        )
    ]


def test_added_line_shows_as_missing_on_the_other_sides():
    base = receipt()
    ours = receipt()
    ours["Line"].append({"DetailType": "DiscountLineDetail", "Amount": "2.00"})

    rows = render_diff(base, quickbooks_copy(base), ours)

    assert rows == [DiffRow("Line[2]", "(none)", "(none)", "discount = 2.00", ChangedBy.OURS)]


def test_amounts_are_formatted_with_cents_and_separators():
    assert format_value(Decimal("1234.5"), "Amount") == "1,234.50"
    assert format_value(Decimal("2E+1"), "TotalTax") == "20.00"
    assert format_value(Decimal("0.125"), "UnitPrice") == "0.125"
    assert format_value(Decimal(3), "Qty") == "3"
    assert format_value(ABSENT) == "(none)"
    assert format_value(None) == "(empty)"


def test_percent_discount_line_summary():
    line = {
        "DetailType": "DiscountLineDetail",
        "Amount": Decimal(5),
        "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": Decimal(10)},
    }

    assert summarise_line(line) == "discount 10% = 5.00"


def test_plain_text_table_has_a_header_and_aligned_columns():
    rows = [
        DiffRow("PrivateNote", "a", "bb", "a", ChangedBy.THEIRS),
        DiffRow("ShipAddr.City", "x", "x", "yyy", ChangedBy.OURS),
    ]

    text = format_diff(rows).splitlines()

    assert text[0].split() == ["field", "last", "pushed", "QuickBooks", "store", "changed", "by"]
    assert text[2].startswith("PrivateNote    a ")
    assert text[3].endswith("store")
    assert len({line.index("QuickBooks") for line in text[:1]}) == 1
    assert text[2].index("bb") == text[0].index("QuickBooks")
