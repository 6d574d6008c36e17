"""A readable three-way diff of a QuickBooks document, for the review queue (pure, no I/O).

The diff compares the same normalised forms as the merge (`merge.comparable`), so it shows only
real edits: no server Ids, no computed totals, no JSON-number-versus-string noise. Each differing
leaf gets one row (``BillAddr.City``, ``TxnTaxDetail.TotalTax``); a reference shows its Id
(``CustomerRef``); a line is one row summarised by item, quantity, price and amount
(``Line[2]``), because a bookkeeper reads a line as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from target_quickbooks.merge import ABSENT, REFERENCE_KEY, comparable

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

# Amount fields shown with two decimals at least (quantities and rates are shown as they are).
MONEY_FIELDS: Final = frozenset(
    {
        "Amount",
        "Balance",
        "DiscountAmount",
        "HomeTotalAmt",
        "NetAmountTaxable",
        "TaxAmount",
        "TaxInclusiveAmt",
        "TotalAmt",
        "TotalTax",
        "UnitPrice",
    }
)
MISSING_TEXT: Final = "(none)"
NULL_TEXT: Final = "(empty)"
_CENTS: Final = Decimal("0.01")


class ChangedBy(StrEnum):
    """Which side moved away from the base."""

    THEIRS = "quickbooks"
    OURS = "store"
    BOTH = "both"


@dataclass(frozen=True)
class DiffRow:
    """One differing field path with its three values, as text."""

    path: str
    base: str
    theirs: str
    ours: str
    changed_by: ChangedBy


def format_value(value: Any, key: str | None = None) -> str:  # noqa: ANN401 - a JSON value
    """A scalar as the review queue shows it.

    Args:
        value: a normalised scalar (`Decimal`, str, bool, None) or `ABSENT`.
        key: the field name: amounts (`MONEY_FIELDS`) get two decimals and thousands separators.

    Returns:
        The text, e.g. ``"1,234.50"``, ``"2"``, ``"(none)"``.
    """
    if value is ABSENT:
        return MISSING_TEXT
    if value is None:
        return NULL_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if key in MONEY_FIELDS and value.as_tuple().exponent in range(-1, 100):
            value = value.quantize(_CENTS)
        return f"{value:,f}" if key in MONEY_FIELDS else format(value, "f")
    return str(value)


def _reference(value: Any) -> Any:  # noqa: ANN401 - a JSON value
    return value.get(REFERENCE_KEY) if isinstance(value, dict) else value


def summarise_line(line: Any) -> str:  # noqa: ANN401 - a normalised Line item
    """One line item as text: ``"item 5 'Widget' x 2 @ 10.00 = 20.00 [tax TAX]"``."""
    if not isinstance(line, dict):
        return format_value(line)
    amount = format_value(line.get("Amount", ABSENT), "Amount")
    detail_type = line.get("DetailType")
    detail = line.get(detail_type) if isinstance(detail_type, str) else None
    detail = detail if isinstance(detail, dict) else {}
    if detail_type == "SalesItemLineDetail":
        parts = [f"item {format_value(_reference(detail.get('ItemRef', ABSENT)))}"]
        if line.get("Description"):
            parts.append(repr(line["Description"]))
        if "Qty" in detail:
            parts.append(f"x {format_value(detail['Qty'], 'Qty')}")
        if "UnitPrice" in detail:
            parts.append(f"@ {format_value(detail['UnitPrice'], 'UnitPrice')}")
        parts.append(f"= {amount}")
        if "TaxCodeRef" in detail:
            parts.append(f"[tax {format_value(_reference(detail['TaxCodeRef']))}]")
        return " ".join(parts)
    if detail_type == "DiscountLineDetail":
        if detail.get("PercentBased") and "DiscountPercent" in detail:
            return f"discount {format_value(detail['DiscountPercent'])}% = {amount}"
        return f"discount = {amount}"
    return f"{detail_type or 'line'} = {amount}"


def _leaves(value: Any, path: str, key: str | None) -> Iterator[tuple[str, str]]:  # noqa: ANN401 - a JSON value
    if isinstance(value, dict):
        if key is not None and key.endswith("Ref") and set(value) == {REFERENCE_KEY}:
            yield path, format_value(value[REFERENCE_KEY])
            return
        for name in sorted(value):
            yield from _leaves(value[name], f"{path}.{name}" if path else name, name)
    elif isinstance(value, list):
        for index, item in enumerate(value, start=1):
            item_path = f"{path}[{index}]"
            if key == "Line":
                yield item_path, summarise_line(item)
            else:
                yield from _leaves(item, item_path, key)
    else:
        yield path, format_value(value, key)


def _flatten(document: Mapping[str, Any]) -> dict[str, str]:
    return dict(_leaves(dict(document), "", None))


def _path_order(path: str) -> tuple[tuple[str, int], ...]:
    # "Line[10]" after "Line[9]": positions sort as numbers.
    return tuple(
        (name, int(index or 0)) for name, index in re.findall(r"([^.\[\]]*)(?:\[(\d+)\])?", path)
    )


def render_diff(
    base: Mapping[str, Any], theirs: Mapping[str, Any], ours: Mapping[str, Any]
) -> list[DiffRow]:
    """The rows where base, QuickBooks (theirs) and the store (ours) do not all agree.

    Args:
        base: the body K-Connector last pushed.
        theirs: QuickBooks' current document (server fields allowed; ignored as the merge does).
        ours: the new mapped body.

    Returns:
        One `DiffRow` per differing path, in field order (``Line[2]`` before ``Line[10]``).
    """
    base_leaves = _flatten(comparable(base))
    theirs_leaves = _flatten(comparable(theirs, shape_of=(base, ours)))
    ours_leaves = _flatten(comparable(ours))
    rows: list[DiffRow] = []
    for path in sorted(set(base_leaves) | set(theirs_leaves) | set(ours_leaves), key=_path_order):
        was = base_leaves.get(path, MISSING_TEXT)
        quickbooks = theirs_leaves.get(path, MISSING_TEXT)
        store = ours_leaves.get(path, MISSING_TEXT)
        if was == quickbooks == store:
            continue
        if was == store:
            changed_by = ChangedBy.THEIRS
        elif was == quickbooks:
            changed_by = ChangedBy.OURS
        else:
            changed_by = ChangedBy.BOTH
        rows.append(DiffRow(path, was, quickbooks, store, changed_by))
    return rows


def format_diff(rows: Sequence[DiffRow]) -> str:
    """The rows as a plain-text table (fixed-width columns), for logs, emails and terminals.

    Returns:
        The table, or ``"no differences"``.
    """
    if not rows:
        return "no differences"
    header = ("field", "last pushed", "QuickBooks", "store", "changed by")
    table = [header, *((r.path, r.base, r.theirs, r.ours, str(r.changed_by)) for r in rows)]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)
