"""Query statements are built with quoting, never by pasting user data."""

from __future__ import annotations

import pytest

from target_quickbooks.query_language import QueryBuildError, quote, select_in


def test_apostrophes_and_backslashes_are_escaped():
    assert quote("O'Brien") == "'O\\'Brien'"
    assert quote("a\\b") == "'a\\\\b'"


def test_single_value_uses_equals_and_several_use_in():
    assert select_in("Item", "Sku", ["WID-001"]) == (
        "SELECT * FROM Item WHERE Sku = 'WID-001' STARTPOSITION 1 MAXRESULTS 1000"
    )
    assert select_in("Customer", "DisplayName", ["A", "B'c"], start_position=1001) == (
        "SELECT * FROM Customer WHERE DisplayName IN ('A', 'B\\'c') "
        "STARTPOSITION 1001 MAXRESULTS 1000"
    )


def test_injected_text_stays_inside_the_literal():
    statement = select_in("Item", "Name", ["x' OR Name = 'y"])
    assert statement.count("'") - statement.count("\\'") == 2


def test_identifiers_must_be_plain_names():
    with pytest.raises(QueryBuildError):
        select_in("Item; DROP", "Name", ["x"])
