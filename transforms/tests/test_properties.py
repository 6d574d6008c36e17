"""Property-based tests: every generated order and refund maps to documents QuickBooks accepts
(Amount = UnitPrice x Qty exactly) and that reconcile to the store's totals to the cent; refunds
never exceed what was paid.
"""

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kconnector_canonical import Order, validate
from map_quickbooks.document_type import paid_amount
from map_quickbooks.mapping import map_record_result, order_facts
from map_quickbooks.rules import Settings


def _load_builder():
    name = "map_quickbooks_tests_canonical_builder"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("canonical_builder.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


B = _load_builder()

TAX_CODE_MAP = {
    "NY State Tax 4% + New York City Tax 4.5%": "NY",
    "GST 5% + PST 7%": "GST/PST BC",
    "GST 5% + QST 9.975%": "GST/QST QC",
    "MwSt. 19%": "19.0% S",
}


@st.composite
def line_specs(draw):
    return B.LineSpec(
        quantity=draw(st.integers(0, 7)),
        unit_minor=draw(st.sampled_from([1, 333, 3333, 999, 1000, 12345, 50])),
        extra_decimal=draw(st.sampled_from([0, 0, 3, 5, 7])),
        discount=draw(st.sampled_from(["none", "fixed", "third"])),
        discount_minor=draw(st.integers(1, 5000)),
        taxable=draw(st.booleans()),
        gift_card=draw(st.booleans()) and draw(st.booleans()),
        sku=draw(st.sampled_from(["SKU", None])),
        requires_shipping=draw(st.booleans()),
    )


@st.composite
def order_specs(draw):
    currency = draw(st.sampled_from(["USD", "EUR", "CAD", "JPY"]))
    lines = draw(st.lists(line_specs(), min_size=1, max_size=4))
    spec = B.OrderSpec(
        currency=currency,
        inclusive=draw(st.booleans()),
        tax_set=draw(st.sampled_from(list(B.TAX_SETS))),
        lines=lines,
        shipping_minor=draw(st.one_of(st.none(), st.integers(0, 2500))),
        shipping_discount_minor=draw(st.sampled_from([0, 0, 500])),
        fee_minor=draw(st.one_of(st.none(), st.integers(0, 999))),
        tip_minor=draw(st.one_of(st.none(), st.integers(1, 999))),
        payment=draw(
            st.sampled_from(["checkout", "pending", "later", "partial", "gift_card_split"])
        ),
        unrounded_line_tax=draw(st.booleans()),
        presentment=draw(st.sampled_from([None, None, "GBP"])),
        status=draw(st.sampled_from(["open", "open", "cancelled"])),
        guest=draw(st.booleans()),
    )
    spec.fulfilled = [
        [draw(st.integers(0, ls.quantity)) for ls in lines] for _ in range(draw(st.integers(0, 2)))
    ]
    spec.refunds = [
        {
            "units": [draw(st.integers(0, max(ls.quantity, 0))) for ls in lines],
            "shipping": draw(st.booleans()),
            "amount_only_minor": draw(st.sampled_from([0, 0, 100, 1])),
            "money_back": draw(st.booleans()),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    return spec


# Every generated tax also names its QuickBooks TaxRate: documents state the tax per rate.
TAX_RATE_MAP = {title: f"{title} (rate)" for rates in B.TAX_SETS.values() for title, *_ in rates}

SETTINGS = {
    "us": Settings.from_config({}),
    "codes": Settings.from_config({"tax_mode": "tax_codes", "tax_code_map": TAX_CODE_MAP}),
    "rates": Settings.from_config(
        {
            "tax_mode": "tax_codes",
            "tax_code_map": TAX_CODE_MAP,
            "tax_rate_map": TAX_RATE_MAP,
        }
    ),
    "reduced": Settings.from_config({"discount_mode": "reduced_unit_price"}),
    "fulfillment": Settings.from_config(
        {"invoice_on": "fulfillment", "tax_mode": "tax_codes", "tax_code_map": TAX_CODE_MAP}
    ),
    "multicurrency": Settings.from_config({"multicurrency": True, "home_currency": "GBP"}),
}


def _d(text):
    return Decimal(text)


def _check_line_arithmetic(body):
    for line in body.get("Line", []):
        if line.get("DetailType") == "SalesItemLineDetail":
            detail = line["SalesItemLineDetail"]
            assert _d(detail["UnitPrice"]) * _d(detail["Qty"]) == _d(line["Amount"]), line
            assert -_d(line["Amount"]).as_tuple().exponent <= 2


def _document_total(body):
    items = sum(
        (_d(x["Amount"]) for x in body["Line"] if x["DetailType"] == "SalesItemLineDetail"),
        Decimal(0),
    )
    discount = sum(
        (_d(x["Amount"]) for x in body["Line"] if x["DetailType"] == "DiscountLineDetail"),
        Decimal(0),
    )
    return items - discount + _d(body["TxnTaxDetail"]["TotalTax"])


def _fully_fulfilled(spec):
    shipped = [sum(row[i] for row in spec.fulfilled) for i in range(len(spec.lines))]
    return all(
        s == ls.quantity or (s == 0 and (not ls.requires_shipping or ls.gift_card))
        for s, ls in zip(shipped, spec.lines, strict=True)
    )


def _normalise(spec):
    """Fulfillments never ship, and refunds never return, more units than a line has."""
    remaining = [ls.quantity for ls in spec.lines]
    for row in spec.fulfilled:
        for i, units in enumerate(row):
            row[i] = min(units, remaining[i])
            remaining[i] -= row[i]
    for refund_spec in spec.refunds:
        refund_spec["units"] = [
            min(u, ls.quantity) for u, ls in zip(refund_spec["units"], spec.lines, strict=True)
        ]


def _check_order(order_record, spec, rules):
    result = map_record_result(order_record, "orders", rules)
    if result.skipped is not None:
        assert result.records == ()
        nothing_shipped = rules.invoice_on == "fulfillment" and not order_record["fulfillments"]
        assert nothing_shipped or _d(order_record["totals"]["total"]["amount"]) == 0
        return Order.from_record(order_record)
    dead = [r for r in result.records if r.stream == "dead_letters"]
    assert not dead, dead[0].record["message"]
    paid = Decimal(0)
    documents = []
    for output in result.records:
        body = output.record["body"]
        _check_line_arithmetic(body)
        if output.stream == "payments":
            assert _d(body["TotalAmt"]) == _d(output.record["expected"]["total"])
            assert sum((_d(x["Amount"]) for x in body["Line"]), Decimal(0)) <= _d(body["TotalAmt"])
            paid += _d(body["TotalAmt"])
        elif output.stream != "customers":
            documents.append(output.record)
            _check_document_reconciles(output.record)
    _check_order_totals(order_record, spec, rules, documents)
    order = Order.from_record(order_record)
    invoiced = any(d["document_type"] == "Invoice" for d in documents)
    if invoiced and not any(d["operation"] == "void" for d in documents):
        assert paid == paid_amount(order)
    return order


def _check_document_reconciles(record):
    body = record["body"]
    assert _document_total(body) == _d(record["expected"]["total"])
    assert _d(body["TxnTaxDetail"]["TotalTax"]) == _d(record["expected"]["tax"])
    _check_rate_tax_lines(record)
    items = [x for x in body["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    gross = [
        _d(x["SalesItemLineDetail"]["TaxInclusiveAmt"])
        for x in items
        if "TaxInclusiveAmt" in x["SalesItemLineDetail"]
    ]
    if items and len(gross) == len(items):
        assert sum(gross, Decimal(0)) == _d(record["expected"]["total"])


def _check_rate_tax_lines(record):
    """Per-rate tax, when stated, adds up to the store's tax exactly; each rate listed once."""
    detail = record["body"]["TxnTaxDetail"]
    rate_mode = record["mapping_version"] == SETTINGS["rates"].mapping_version
    if "TaxLine" not in detail:
        assert not rate_mode or _d(detail["TotalTax"]) == 0, detail
        return
    assert rate_mode, detail
    names = [t["TaxLineDetail"]["TaxRateRef"]["value"] for t in detail["TaxLine"]]
    assert len(names) == len(set(names))
    assert sum((_d(t["Amount"]) for t in detail["TaxLine"]), Decimal(0)) == _d(detail["TotalTax"])


def _check_order_totals(order_record, spec, rules, documents):
    total = _d(order_record["totals"]["total"]["amount"])
    tax = _d(order_record["totals"]["tax"]["amount"])
    single = rules.invoice_on == "order" or (
        documents and documents[0]["document_type"] == "SalesReceipt"
    )
    if single:
        assert len(documents) == 1
        assert _d(documents[0]["expected"]["total"]) == total
        assert _d(documents[0]["expected"]["tax"]) == tax
    elif _fully_fulfilled(spec) and any(map(any, spec.fulfilled)):
        assert sum((_d(d["expected"]["total"]) for d in documents), Decimal(0)) == total
        assert sum((_d(d["expected"]["tax"]) for d in documents), Decimal(0)) == tax


def _returned(refund):
    return sum((_d(t["amount"]["amount"]) for t in refund["transactions"]), Decimal(0))


def _check_refunds(order, order_record, refund_records, rules):
    facts = {order.id: order_facts(order)}
    for refund in refund_records:
        for output in map_record_result(refund, "refunds", rules, facts).records:
            if output.stream == "dead_letters":
                assert output.record["error_code"] == "MAP-REFUND-EXCEEDS-PAID"
                continue
            _check_line_arithmetic(output.record["body"])
            refund_total = _d(refund["totals"]["total"]["amount"])
            assert _document_total(output.record["body"]) == refund_total
            assert _d(output.record["expected"]["total"]) == refund_total
            others = sum((_returned(r) for r in refund_records if r is not refund), Decimal(0))
            assert _returned(refund) <= paid_amount(order) - others
            assert refund_total <= _d(order_record["totals"]["total"]["amount"])
            expected_stream = "refund_receipts" if _returned(refund) > 0 else "credit_memos"
            assert output.stream == expected_stream


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=order_specs(), mode=st.sampled_from(list(SETTINGS)))
def test_generated_documents_satisfy_quickbooks_arithmetic_and_reconcile(spec, mode):
    _normalise(spec)
    order_record, refund_records = B.build_order(spec)
    assert validate(order_record, "orders") == []
    for refund in refund_records:
        assert validate(refund, "refunds") == []
    rules = SETTINGS[mode]
    order = _check_order(order_record, spec, rules)
    _check_refunds(order, order_record, refund_records, rules)


def test_three_units_at_33_33_keep_their_unit_price():
    spec = B.OrderSpec(lines=[B.LineSpec(3, 3333)])
    order_record, _ = B.build_order(spec)
    records = map_record_result(order_record, "orders", SETTINGS["us"]).records
    receipt = next(r for r in records if r.stream == "sales_receipts").record
    detail = receipt["body"]["Line"][0]["SalesItemLineDetail"]
    assert (detail["Qty"], detail["UnitPrice"], receipt["body"]["Line"][0]["Amount"]) == (
        "3",
        "33.33",
        "99.99",
    )


def test_a_third_off_100_splits_the_line_and_keeps_the_total():
    spec = B.OrderSpec(lines=[B.LineSpec(3, 10000, discount="third")])
    order_record, _ = B.build_order(spec)
    records = map_record_result(order_record, "orders", SETTINGS["reduced"]).records
    body = next(r for r in records if r.stream == "sales_receipts").record["body"]
    parts = [
        (x["SalesItemLineDetail"]["Qty"], x["SalesItemLineDetail"]["UnitPrice"], x["Amount"])
        for x in body["Line"]
    ]
    assert parts == [("2", "66.67", "133.34"), ("1", "66.66", "66.66")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=order_specs())
def test_tax_stated_per_rate_is_the_store_tax_of_that_rate_to_the_cent(spec):
    """Per-line rounded store taxes (Shopify) are stated per rate exactly as charged."""
    spec.unrounded_line_tax = False
    spec.refunds = []
    _normalise(spec)
    order_record, _ = B.build_order(spec)
    charged = {}
    for line in [*order_record["line_items"], *order_record["shipping_lines"]]:
        if line.get("gift_card"):
            continue
        for tax in line["tax_lines"]:
            charged[f"{tax['title']} (rate)"] = charged.get(
                f"{tax['title']} (rate)", Decimal(0)
            ) + _d(tax["amount"]["amount"])
    if sum(charged.values(), Decimal(0)) != _d(order_record["totals"]["tax"]["amount"]):
        return  # the order's tax is not the sum of its line taxes: nothing per rate to compare
    result = map_record_result(order_record, "orders", SETTINGS["rates"])
    for output in result.records:
        if output.stream not in {"sales_receipts", "invoices"}:
            continue
        if output.record["operation"] == "void":
            continue
        stated = {
            t["TaxLineDetail"]["TaxRateRef"]["value"]: _d(t["Amount"])
            for t in output.record["body"]["TxnTaxDetail"].get("TaxLine", [])
        }
        assert stated == {k: v for k, v in charged.items() if v != 0 or k in stated}
