import copy
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_quickbooks.merge import (
    NON_CRITICAL_FIELDS,
    MergeInputError,
    Outcome,
    Reason,
    Side,
    comparable,
    last_updated_time,
    three_way_merge,
)

CRITICAL = (
    "CurrencyRef",
    "CustomerRef",
    "DepositToAccountRef",
    "Line",
    "TotalAmt",
    "TxnDate",
    "TxnTaxDetail",
)
STORE_TIME = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EARLIER = STORE_TIME - timedelta(hours=1)
LATER = STORE_TIME + timedelta(hours=1)


def sales_receipt() -> dict[str, Any]:
    """A SalesReceipt body as K-Connector pushes it (references resolved)."""
    return {
        "CustomerRef": {"value": "58"},
        "CurrencyRef": {"value": "USD"},
        "DepositToAccountRef": {"value": "35"},
        "TxnDate": "2026-11-20",
        "DocNumber": "1001",
        "PrivateNote": "Gift wrap please\n[kc:shopify:s:1001#sales_receipt]",
        "BillEmail": {"Address": "amy@example.com"},
        "BillAddr": {"Line1": "4581 Finch St.", "City": "Bayshore", "PostalCode": "94326"},
        "ShipAddr": {"Line1": "4581 Finch St.", "City": "Bayshore", "PostalCode": "94326"},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": "20.00",
                "Description": "Widget",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "5"},
                    "Qty": "2",
                    "UnitPrice": "10.00",
                    "TaxCodeRef": {"value": "TAX"},
                },
            },
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": "5.00",
                "Description": "Shipping",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "7"},
                    "Qty": "1",
                    "UnitPrice": "5.00",
                    "TaxCodeRef": {"value": "NON"},
                },
            },
        ],
        "TxnTaxDetail": {"TotalTax": "1.65"},
    }


def as_read_back(
    body: dict[str, Any], *, updated: str = "2026-11-20T05:00:00-08:00"
) -> dict[str, Any]:
    """`body` as QuickBooks returns it: numbers, ids, names, computed fields and lines."""
    document = copy.deepcopy(body)
    lines = []
    for number, line in enumerate(document["Line"], start=1):
        detail = line["SalesItemLineDetail"]
        detail["ItemRef"]["name"] = f"Item {detail['ItemRef']['value']}"
        detail["ItemAccountRef"] = {"value": "79", "name": "Sales of Product Income"}
        detail["Qty"] = Decimal(detail["Qty"])
        detail["UnitPrice"] = Decimal(detail["UnitPrice"])
        lines.append(
            {**line, "Id": str(number), "LineNum": number, "Amount": Decimal(line["Amount"])}
        )
    lines.append(
        {"Amount": Decimal("25.00"), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    )
    document["Line"] = lines
    document["CustomerRef"]["name"] = "Amy's Bird Sanctuary"
    total_tax = Decimal(document["TxnTaxDetail"]["TotalTax"])
    document["TxnTaxDetail"] = {
        "TxnTaxCodeRef": {"value": "2"},
        "TotalTax": total_tax,
        "TaxLine": [
            {
                "Amount": total_tax,
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {"TaxRateRef": {"value": "3"}, "PercentBased": True},
            }
        ],
    }
    document.update(
        {
            "Id": "145",
            "SyncToken": "3",
            "domain": "QBO",
            "sparse": False,
            "TotalAmt": Decimal("26.65"),
            "Balance": Decimal(0),
            "MetaData": {"CreateTime": "2026-11-20T04:00:00-08:00", "LastUpdatedTime": updated},
        }
    )
    return document


def merge(base, theirs, ours, *, theirs_at=EARLIER, critical=CRITICAL):
    return three_way_merge(
        base,
        theirs,
        ours,
        critical_fields=critical,
        theirs_updated_at=theirs_at,
        ours_updated_at=STORE_TIME,
        entity="SalesReceipt",
    )


def decision(result, field):
    return next(d for d in result.field_decisions if d.field == field)


def test_unedited_read_back_equals_pushed_body():
    base = sales_receipt()

    result = merge(base, as_read_back(base), copy.deepcopy(base))

    assert result.outcome is Outcome.NO_CHANGE
    assert result.body is None
    assert {d.reason for d in result.field_decisions} == {Reason.UNCHANGED}


def test_server_fields_are_not_compared_nor_written():
    base = sales_receipt()
    ours = {**sales_receipt(), "PrivateNote": "Leave at the door"}

    result = merge(base, as_read_back(base), ours)

    assert result.outcome is Outcome.TAKE_OURS
    assert result.body == {"PrivateNote": "Leave at the door"}
    assert {d.field for d in result.field_decisions}.isdisjoint(
        {"Id", "SyncToken", "MetaData", "TotalAmt", "Balance", "domain", "sparse"}
    )


def test_only_theirs_changed_keeps_quickbooks_version_and_writes_nothing():
    base = sales_receipt()
    theirs = as_read_back({**sales_receipt(), "TxnDate": "2026-11-21"})

    result = merge(base, theirs, sales_receipt())

    assert result.outcome is Outcome.TAKE_THEIRS
    assert result.body is None
    assert decision(result, "TxnDate").reason is Reason.ONLY_THEIRS_CHANGED


def test_changes_on_different_fields_merge_into_a_sparse_body():
    base = sales_receipt()
    theirs = as_read_back({**sales_receipt(), "PrivateNote": "Customer called"})
    ours = {**sales_receipt(), "TxnDate": "2026-11-22"}

    result = merge(base, theirs, ours)

    assert result.outcome is Outcome.MERGED
    assert result.body == {"TxnDate": "2026-11-22"}
    assert decision(result, "PrivateNote").side is Side.THEIRS
    assert decision(result, "TxnDate").reason is Reason.ONLY_OURS_CHANGED


def test_same_change_on_both_sides_is_no_conflict():
    base = sales_receipt()
    changed = sales_receipt()
    changed["Line"][0]["Amount"] = "30.00"
    changed["Line"][0]["SalesItemLineDetail"]["Qty"] = "3"

    result = merge(base, as_read_back(changed), changed)

    assert result.outcome is Outcome.NO_CHANGE
    assert decision(result, "Line").reason is Reason.BOTH_SAME


def test_non_critical_field_changed_on_both_sides_goes_to_the_later_write():
    base = sales_receipt()
    theirs = as_read_back({**sales_receipt(), "BillEmail": {"Address": "qb@example.com"}})
    ours = {**sales_receipt(), "BillEmail": {"Address": "store@example.com"}}

    store_later = merge(base, theirs, ours, theirs_at=EARLIER)
    quickbooks_later = merge(base, theirs, ours, theirs_at=LATER)

    assert store_later.outcome is Outcome.TAKE_OURS
    assert store_later.body == {"BillEmail": {"Address": "store@example.com"}}
    assert decision(store_later, "BillEmail").reason is Reason.LWW_OURS
    assert quickbooks_later.outcome is Outcome.TAKE_THEIRS
    assert quickbooks_later.body is None
    assert decision(quickbooks_later, "BillEmail").reason is Reason.LWW_THEIRS


def test_last_write_wins_tie_goes_to_the_store():
    base = sales_receipt()
    theirs = as_read_back({**sales_receipt(), "PrivateNote": "from QuickBooks"})
    ours = {**sales_receipt(), "PrivateNote": "from the store"}
    same_instant_other_offset = STORE_TIME.astimezone(timezone(timedelta(hours=-8)))

    result = merge(base, theirs, ours, theirs_at=same_instant_other_offset)

    assert decision(result, "PrivateNote").reason is Reason.LWW_OURS
    assert result.body == {"PrivateNote": "from the store"}


def test_addresses_merge_as_one_value_not_per_line():
    base = sales_receipt()
    theirs_body = sales_receipt()
    theirs_body["ShipAddr"] = {**base["ShipAddr"], "Line1": "1 Harbour Rd."}
    ours = sales_receipt()
    ours["ShipAddr"] = {**base["ShipAddr"], "City": "Bayview"}

    result = merge(base, as_read_back(theirs_body), ours, theirs_at=EARLIER)

    # Per sub-field this would give "1 Harbour Rd., Bayview": an address nobody entered.
    assert result.body == {"ShipAddr": {**base["ShipAddr"], "City": "Bayview"}}
    assert decision(result, "ShipAddr").reason is Reason.LWW_OURS


def test_critical_field_changed_on_both_sides_is_a_conflict_and_writes_nothing():
    base = sales_receipt()
    theirs_body = sales_receipt()
    theirs_body["Line"][0]["Amount"] = "18.00"
    theirs_body["Line"][0]["SalesItemLineDetail"]["UnitPrice"] = "9.00"
    ours = sales_receipt()
    ours["Line"][1]["Amount"] = "7.50"
    ours["Line"][1]["SalesItemLineDetail"]["UnitPrice"] = "7.50"
    ours["PrivateNote"] = "changed too"

    result = merge(base, as_read_back(theirs_body), ours, theirs_at=EARLIER)

    assert result.outcome is Outcome.CONFLICT
    assert result.body is None
    assert [c.field for c in result.conflicts] == ["Line"]
    conflict = result.conflicts[0]
    assert conflict.base[0]["Amount"] == Decimal(20)
    assert conflict.theirs[0]["Amount"] == Decimal(18)
    assert conflict.ours[1]["Amount"] == Decimal("7.5")


def test_critical_conflict_ignores_timestamps():
    base = sales_receipt()
    theirs = as_read_back({**sales_receipt(), "CustomerRef": {"value": "60"}})
    ours = {**sales_receipt(), "CustomerRef": {"value": "61"}}

    for theirs_at in (EARLIER, LATER):
        assert merge(base, theirs, ours, theirs_at=theirs_at).outcome is Outcome.CONFLICT


def test_unlisted_field_changed_on_both_sides_is_treated_as_critical():
    base = sales_receipt()
    theirs = as_read_back({**sales_receipt(), "DocNumber": "A-1"})
    ours = {**sales_receipt(), "DocNumber": "B-1"}

    result = merge(base, theirs, ours)

    assert "DocNumber" not in NON_CRITICAL_FIELDS["SalesReceipt"]
    assert result.outcome is Outcome.CONFLICT
    assert decision(result, "DocNumber").reason is Reason.CRITICAL_CONFLICT


def test_non_critical_table_is_chosen_by_entity():
    customer = {"DisplayName": "Amy", "Notes": "VIP", "PrimaryPhone": {"FreeFormNumber": "1"}}
    theirs = {**customer, "Notes": "called", "Id": "58", "SyncToken": "4"}
    ours = {**customer, "Notes": "moved"}

    def merged_as(entity):
        return three_way_merge(
            customer,
            theirs,
            ours,
            critical_fields=("DisplayName",),
            theirs_updated_at=EARLIER,
            ours_updated_at=STORE_TIME,
            entity=entity,
        )

    assert merged_as("Customer").body == {"Notes": "moved"}
    assert merged_as("SalesReceipt").outcome is Outcome.CONFLICT


def test_critical_fields_override_the_non_critical_table():
    base = sales_receipt()
    theirs = as_read_back({**sales_receipt(), "PrivateNote": "a"})
    ours = {**sales_receipt(), "PrivateNote": "b"}

    result = merge(base, theirs, ours, critical=(*CRITICAL, "PrivateNote"))

    assert result.outcome is Outcome.CONFLICT


def test_amounts_compare_as_numbers_whatever_their_form():
    base = sales_receipt()
    ours = sales_receipt()
    ours["Line"][0]["Amount"] = "20"
    ours["Line"][0]["SalesItemLineDetail"]["UnitPrice"] = 10.0
    ours["TxnTaxDetail"]["TotalTax"] = Decimal("1.650")

    result = merge(base, as_read_back(base), ours)

    assert result.outcome is Outcome.NO_CHANGE


def test_reference_names_are_display_data():
    base = sales_receipt()
    theirs = as_read_back(base)
    theirs["CustomerRef"]["name"] = "Amy's Bird Sanctuary (renamed)"

    assert merge(base, theirs, sales_receipt()).outcome is Outcome.NO_CHANGE


def test_reordered_line_numbers_are_read_in_line_number_order():
    base = sales_receipt()
    theirs = as_read_back(base)
    theirs["Line"].reverse()

    assert merge(base, theirs, sales_receipt()).outcome is Outcome.NO_CHANGE


def test_unordered_lists_compare_by_content():
    payment = {
        "CustomerRef": {"value": "58"},
        "TotalAmt": "30.00",
        "Line": [
            {
                "Amount": "30.00",
                "LinkedTxn": [
                    {"TxnId": "12", "TxnType": "Invoice"},
                    {"TxnId": "9", "TxnType": "CreditMemo"},
                ],
            }
        ],
    }
    theirs = copy.deepcopy(payment)
    theirs["Line"][0]["LinkedTxn"].reverse()
    theirs.update({"Id": "80", "SyncToken": "1", "UnappliedAmt": 0})

    result = three_way_merge(
        payment,
        theirs,
        payment,
        critical_fields=("CustomerRef", "Line", "TotalAmt"),
        theirs_updated_at=EARLIER,
        ours_updated_at=STORE_TIME,
        entity="Payment",
    )

    assert comparable(theirs, shape_of=(payment,)) == comparable(payment)
    assert result.outcome is Outcome.NO_CHANGE


def test_bookkeeper_moving_a_line_is_a_line_change():
    base = sales_receipt()
    moved = sales_receipt()
    moved["Line"].reverse()

    result = merge(base, as_read_back(moved), sales_receipt())

    assert decision(result, "Line").reason is Reason.ONLY_THEIRS_CHANGED


def test_field_removed_in_quickbooks_is_a_change():
    base = sales_receipt()
    theirs = as_read_back(base)
    del theirs["BillEmail"]

    result = merge(base, theirs, sales_receipt())

    assert decision(result, "BillEmail").reason is Reason.ONLY_THEIRS_CHANGED
    assert result.outcome is Outcome.TAKE_THEIRS


def test_field_removed_by_the_store_is_reported_not_written():
    base = sales_receipt()
    ours = sales_receipt()
    del ours["BillEmail"]

    result = merge(base, as_read_back(base), ours)

    assert result.removed_fields == ("BillEmail",)
    assert result.body is None


def test_body_amounts_are_decimal_strings():
    base = sales_receipt()
    ours = sales_receipt()
    ours["Line"][0]["Amount"] = Decimal("22.00")
    ours["Line"][0]["SalesItemLineDetail"]["UnitPrice"] = Decimal("11.00")

    result = merge(base, as_read_back(base), ours)

    assert result.outcome is Outcome.TAKE_OURS
    assert result.body is not None
    assert result.body["Line"][0]["Amount"] == "22.00"
    assert result.body["Line"][0]["SalesItemLineDetail"]["UnitPrice"] == "11.00"


def test_naive_timestamp_is_refused():
    base = sales_receipt()
    with pytest.raises(MergeInputError, match="time zone"):
        merge(base, as_read_back(base), base, theirs_at=datetime(2026, 11, 20))  # noqa: DTZ001


def test_last_updated_time_reads_quickbooks_metadata():
    document = as_read_back(sales_receipt(), updated="2026-11-20T05:00:00-08:00")

    assert last_updated_time(document) == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    with pytest.raises(MergeInputError):
        last_updated_time({"MetaData": {}})


def test_comparable_projects_quickbooks_document_onto_the_written_shape():
    base = sales_receipt()

    assert comparable(as_read_back(base), shape_of=(base,)) == comparable(base)


# --- properties ---------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)
notes = st.text(alphabet="abc xyz", max_size=8)


@st.composite
def versions(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(base, theirs as read back, ours) with random edits on both sides."""
    base = {
        **sales_receipt(),
        "LinkedTxn": [
            {"TxnId": "3", "TxnType": "Estimate"},
            {"TxnId": "12", "TxnType": "Estimate"},
            {"TxnId": "7", "TxnType": "ReimburseCharge"},
        ],
    }

    def edited(body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        if draw(st.booleans()):
            body["PrivateNote"] = draw(notes)
        if draw(st.booleans()):
            body["ShipAddr"] = {**body["ShipAddr"], "City": draw(notes)}
        if draw(st.booleans()):
            amount = draw(money)
            body["Line"][0]["Amount"] = str(amount * 2)
            body["Line"][0]["SalesItemLineDetail"]["UnitPrice"] = str(amount)
        if draw(st.booleans()):
            body["TxnTaxDetail"] = {"TotalTax": str(draw(money))}
        if draw(st.booleans()):
            body["CustomerRef"] = {"value": draw(st.sampled_from(["58", "59"]))}
        return body

    return base, as_read_back(edited(base)), edited(base)


def reshaped(value: Any, rng: random.Random, key: str | None = None) -> Any:
    """Same content, other form: shuffled keys, shuffled unordered lists, amounts as str/Decimal."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {name: reshaped(item, rng, name) for name, item in items}
    if isinstance(value, list):
        items = [reshaped(item, rng, key) for item in value]
        if key in {"TaxLine", "LinkedTxn"} or (
            key == "Line" and all("LineNum" in i for i in items)
        ):
            rng.shuffle(items)
        return items
    if key in {"Amount", "UnitPrice", "Qty", "TotalTax"} and isinstance(value, str | Decimal):
        return Decimal(value) if rng.random() < 0.5 else str(value)
    return value


@settings(max_examples=150, deadline=None)
@given(versions(), st.randoms(use_true_random=False), st.sampled_from([EARLIER, STORE_TIME, LATER]))
def test_merge_is_the_same_whatever_the_form_or_order_of_arrival(case, rng, theirs_at):
    base, theirs, ours = case

    first = merge(base, theirs, ours, theirs_at=theirs_at)
    again = merge(
        reshaped(base, rng),
        reshaped(theirs, rng),
        reshaped(ours, rng),
        theirs_at=theirs_at,
        critical=tuple(reversed(CRITICAL)),
    )

    assert again == first


@settings(max_examples=100, deadline=None)
@given(versions())
def test_merge_of_identical_sides_never_writes(case):
    base, _, ours = case

    result = merge(base, as_read_back(ours), ours)

    assert result.outcome is Outcome.NO_CHANGE
    assert result.body is None


@settings(max_examples=150, deadline=None)
@given(versions(), st.sampled_from([EARLIER, STORE_TIME, LATER]))
def test_merge_never_writes_over_a_critical_change_from_quickbooks(case, theirs_at):
    base, theirs, ours = case

    result = merge(base, theirs, ours, theirs_at=theirs_at)

    changed_in_quickbooks = [
        field
        for field in CRITICAL
        if comparable(theirs, shape_of=(base, ours)).get(field) != comparable(base).get(field)
    ]
    for field in changed_in_quickbooks:
        assert result.outcome is Outcome.CONFLICT or field not in (result.body or {})
