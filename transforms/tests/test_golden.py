"""Golden tests: committed canonical inputs and the exact documents they map to.

Each folder under golden/ holds `input.json` ({"config": settings, "records": [{"stream",
"record"}]}) and `expected.json` (every output record, in emission order). The outputs are
compared byte for byte; `KCONNECTOR_UPDATE_GOLDEN=1 pytest transforms/tests/test_golden.py`
rewrites them, and the diff is reviewed like code.
"""

import json
import os
from pathlib import Path

import pytest

from map_quickbooks.mapping import map_record_result
from map_quickbooks.rules import Settings

GOLDEN = Path(__file__).with_name("golden")
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.json").is_file())


def render(case_dir: Path) -> str:
    spec = json.loads((case_dir / "input.json").read_text(encoding="utf-8"))
    settings = Settings.from_config(spec.get("config", {}))
    seen = {}
    outputs = []
    for item in spec["records"]:
        result = map_record_result(item["record"], item["stream"], settings, seen)
        if result.order_facts is not None:
            seen[result.order_facts[0]] = result.order_facts[1]
        outputs.append(
            {
                "input": item["record"].get("id"),
                "skipped": result.skipped,
                "outputs": [{"stream": r.stream, "record": r.record} for r in result.records],
            }
        )
    return json.dumps(outputs, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_every_required_case_has_a_golden_folder():
    required = {
        "canonical_shopify_example",
        "canonical_woocommerce_example",
        "us_multi_jurisdiction_discounts_shipping_tax",
        "vat_tax_inclusive",
        "canada_gst_pst",
        "canada_tax_per_rate",
        "guest_checkout_walk_in",
        "gift_card_purchase",
        "gift_card_paid_order",
        "pending_order_paid_later",
        "cancelled_unpaid_order",
        "partial_refund",
        "amount_only_refund",
        "invoice_on_fulfillment_partial_shipment",
        "presentment_currency_order",
        "test_order_skipped",
        "invalid_record_dead_letter",
        "payout_deposit",
    }
    assert required <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_mapping_output_matches_golden_file(case):
    case_dir = GOLDEN / case
    actual = render(case_dir)
    expected_path = case_dir / "expected.json"
    if os.environ.get("KCONNECTOR_UPDATE_GOLDEN") == "1":
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.is_file(), f"run with KCONNECTOR_UPDATE_GOLDEN=1 to create {case}"
    assert actual == expected_path.read_text(encoding="utf-8")
