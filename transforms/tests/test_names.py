"""Names QuickBooks accepts (names.valid_name), and the target's copy of the same rules."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from map_quickbooks import names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ACME: Retail", "ACME - Retail"),
        ("ACME:Retail", "ACME - Retail"),
        ("ACME :Retail", "ACME - Retail"),
        ("Line\none\ttwo\r\nthree", "Line one two three"),
        ("  many    spaces  ", "many spaces"),
        ("Café Ünïcode", "Café Ünïcode"),
    ],
)
def test_valid_name_substitutes_readably(text, expected):
    assert names.valid_name(text, 500) == expected


@given(st.text(), st.integers(min_value=1, max_value=600))
def test_valid_name_is_always_accepted_and_stable(text, limit):
    name = names.valid_name(text, limit)
    assert len(name) <= limit
    assert not set(name) & {":", "\t", "\n", "\r"}
    assert name == name.strip()
    assert names.valid_name(name, limit) == name


def test_target_applies_the_same_rules_table():
    payloads = pytest.importorskip("target_quickbooks.payloads")
    assert {e: dict(f) for e, f in payloads.NAME_FIELDS.items()} == {
        e: dict(f) for e, f in names.NAME_FIELDS.items()
    }
    for text in ("ACME: Retail", "a\tb\nc", "x" * 600, " : "):
        assert payloads.valid_name(text, 100) == names.valid_name(text, 100)
