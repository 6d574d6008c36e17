"""The fault catalogue: validation codes QuickBooks documents get their own guidance."""

import pytest

from target_quickbooks import error_catalog
from target_quickbooks.errors import ErrorClass


@pytest.mark.parametrize("code", ["2040", "2030", "2170", "620", "630", "6540"])
def test_documented_validation_codes_are_listed_data_faults(code):
    entry = error_catalog.entry_for_fault(code, 400)
    assert entry.code == code
    assert entry.error_class is ErrorClass.DATA
    assert entry.title != "Unlisted validation fault"


def test_invalid_string_guidance_names_the_field_and_the_fix():
    guidance = error_catalog.entry_for_fault("2040", 400).guidance
    assert "DisplayName" in guidance
    assert "colon" in guidance
    assert "payment_method_map" in guidance


def test_every_listed_data_fault_says_what_to_do():
    for entry in error_catalog.FAULT_ENTRIES.values():
        assert entry.guidance.strip(), entry.code
