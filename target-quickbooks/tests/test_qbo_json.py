"""Amounts cross the HTTP boundary as JSON numbers written from Decimal, never via float."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_quickbooks import qbo_json
from target_quickbooks.qbo_json import NonFiniteAmountError


def test_decimal_is_written_verbatim():
    text = qbo_json.dumps({"TotalAmt": Decimal("19.99"), "Qty": Decimal(3), "x": Decimal("0.10")})
    assert text == '{"TotalAmt":19.99,"Qty":3,"x":0.10}'


def test_strings_are_escaped_like_json():
    assert json.loads(qbo_json.dumps({"n": 'O\'Brien "quoted" é\n'})) == {
        "n": 'O\'Brien "quoted" é\n'
    }


def test_sorted_keys_give_a_canonical_form():
    assert qbo_json.dumps({"b": 1, "a": [True, None]}, sort_keys=True) == '{"a":[true,null],"b":1}'


def test_non_finite_amounts_are_refused():
    with pytest.raises(NonFiniteAmountError):
        qbo_json.dumps({"Amount": Decimal("NaN")})


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9
    )
)
def test_amounts_round_trip_exactly(amount):
    assert qbo_json.loads(qbo_json.dumps({"a": amount}))["a"] == amount


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


def _written_by_hand(value: object, *, sort_keys: bool) -> str:
    out: list[str] = []
    qbo_json._write(value, out, sort_keys=sort_keys)  # the reference writer
    return "".join(out)


@given(_JSON_VALUES, st.booleans())
def test_the_fast_path_writes_the_same_text_as_the_writer(value, sort_keys):
    # Body hashes in existing ledgers must not change with the encoder that wrote them.
    assert qbo_json.dumps(value, sort_keys=sort_keys) == _written_by_hand(
        value, sort_keys=sort_keys
    )
