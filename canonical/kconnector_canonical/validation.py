"""`validate(record)`: every problem in a canonical record, each naming its field.

Two layers: the stream's JSON Schema (shape, types, vocabularies, formats), then, for a record
whose shape is right, the accounting invariants a schema cannot express (identity, ISO currency
codes, one currency per record, real calendar timestamps, and the arithmetic that lets a document
reconcile to the cent). Used by the taps' tests and by the mapper's input guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import jsonschema_rs
from jsonschema import Draft202012Validator

from kconnector_canonical.money import is_currency_code, minor_units, parse_amount
from kconnector_canonical.schemas import STREAMS, Stream, load_schema

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from jsonschema import ValidationError


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a record: the field's path and what is wrong, with the fix."""

    field: str
    message: str

    def __str__(self) -> str:
        """`field: message`."""
        return f"{self.field}: {self.message}"


class InvalidRecordError(ValueError):
    """A canonical record with problems; `problems` lists all of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        """Keep the problems; the message lists them."""
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@cache
@cache
def _validator(stream: Stream) -> Draft202012Validator:
    # Built once per stream: it only reads the schema.
    return Draft202012Validator(load_schema(stream))


@cache
def _fast_validator(stream: Stream) -> jsonschema_rs.Draft202012Validator:
    # The same schema compiled by jsonschema-rs: the yes/no answer for the common, valid record
    # in about a hundredth of the time (the mapper checks every record it reads). Formats are
    # not asserted, as by `jsonschema` without a format checker.
    return jsonschema_rs.Draft202012Validator(load_schema(stream), validate_formats=False)


def _schema_problems(record: dict[str, Any], stream: Stream) -> list[Problem]:
    """The schema's problems: none when the compiled check passes; else `jsonschema` names each."""
    if _fast_validator(stream).is_valid(record):
        return []
    return sorted(
        {p for error in _validator(stream).iter_errors(record) for p in _schema_problem(error)}
    )


def detect_stream(record: dict[str, Any]) -> Stream:
    """Guess the stream of a record: payouts carry `basis`, refunds `order_id`, orders neither."""
    if "basis" in record:
        return "payouts"
    return "refunds" if "order_id" in record else "orders"


# A processor's fee (and so the net) may be in its settlement currency, not the order's: Stripe
# charges fees in the account's default currency ("balance_transaction.fee_details[].currency",
# https://docs.stripe.com/api/balance_transactions/object). Those two fields of an order or refund
# transaction are exempt from the one-currency rule; they still need an ISO code and its decimals.
_OWN_CURRENCY_FIELDS = frozenset({"fee", "net"})


def _own_currency(stream: Stream, path: Sequence[object]) -> bool:
    return (
        stream != "payouts"
        and len(path) == 3  # noqa: PLR2004 - transactions[i].fee
        and path[0] == "transactions"
        and path[2] in _OWN_CURRENCY_FIELDS
    )


def _path(parts: Sequence[object]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(record)"


def _schema_problem(error: ValidationError) -> Iterator[Problem]:
    where = list(error.absolute_path)
    value = error.instance
    if error.validator == "required":
        for name in cast("list[str]", error.validator_value):
            if isinstance(value, dict) and name not in value:
                yield Problem(_path([*where, name]), "is required")
        return
    if error.validator == "additionalProperties":
        yield Problem(_path(where), f"{error.message}; remove it or check its spelling")
        return
    field = _path(where)
    if isinstance(value, float | int) and not isinstance(value, bool) and where:
        schema_type = error.schema.get("type") if isinstance(error.schema, dict) else None
        if schema_type == "string" or (isinstance(schema_type, list) and "string" in schema_type):
            yield Problem(
                field,
                f'must be a decimal string like "19.99", not the number {value!r} '
                "(JSON numbers lose cents)",
            )
            return
    if error.validator == "pattern" and where and where[-1] in {"currency", "presentment_currency"}:
        yield Problem(field, f"{value!r} is not an ISO 4217 currency code such as 'USD'")
        return
    if error.validator == "pattern" and isinstance(value, str) and "T" in value:
        yield Problem(field, f"{value!r} is not a UTC RFC 3339 timestamp like 2026-03-02T15:04:05Z")
        return
    yield Problem(field, error.message)


def _walk_money(node: Any, path: list[object]) -> Iterator[tuple[list[object], dict[str, Any]]]:  # noqa: ANN401
    if isinstance(node, dict):
        if set(node) == {"amount", "currency"}:
            yield path, node
            return
        for key, child in node.items():
            yield from _walk_money(child, [*path, key])
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _walk_money(child, [*path, index])


def _walk_timestamps(node: Any, path: list[object]) -> Iterator[tuple[list[object], str]]:  # noqa: ANN401
    if isinstance(node, dict):
        for key, child in node.items():
            if isinstance(child, str) and (key.endswith("_at")):
                yield [*path, key], child
            else:
                yield from _walk_timestamps(child, [*path, key])
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _walk_timestamps(child, [*path, index])


def _amount(record: dict[str, Any], *keys: str | int) -> Decimal:
    node: Any = record
    for key in keys:
        node = node[key]
    return parse_amount(node["amount"])


def _sum(items: list[dict[str, Any]], *keys: str) -> Decimal:
    return sum((_amount(item, *keys) for item in items), Decimal(0))


def _check_equal(field: str, actual: Decimal, expected: Decimal, how: str) -> Iterator[Problem]:
    if actual != expected:
        yield Problem(field, f"is {actual} but {how} gives {expected}")


def _common_problems(record: dict[str, Any], stream: Stream) -> Iterator[Problem]:
    expected_id = f"{record['platform']}:{record['store']}:{record['source_id']}"
    if record["id"] != expected_id:
        yield Problem("id", f"must be <platform>:<store>:<source id>, i.e. {expected_id!r}")
    for path, stamp in _walk_timestamps(record, []):
        try:
            datetime.fromisoformat(stamp)
        except ValueError:
            yield Problem(_path(path), f"{stamp!r} is not a real date and time")
    currency = record["currency"]
    if not is_currency_code(currency):
        yield Problem("currency", f"{currency!r} is not an active ISO 4217 currency code")
        return
    presentment = record.get("presentment_currency")
    if presentment is not None and not is_currency_code(presentment):
        yield Problem(
            "presentment_currency", f"{presentment!r} is not an active ISO 4217 currency code"
        )
    for path, money in _walk_money(record, []):
        if _own_currency(stream, path):
            yield from _own_currency_problems(path, money)
            continue
        allowed = presentment if path and path[0] == "presentment_totals" else currency
        if money["currency"] != allowed:
            yield Problem(
                _path([*path, "currency"]),
                f"is {money['currency']!r} but this record's amounts are in {allowed!r}",
            )


def _own_currency_problems(path: list[object], money: dict[str, Any]) -> Iterator[Problem]:
    code = money["currency"]
    if not is_currency_code(code):
        yield Problem(
            _path([*path, "currency"]), f"{code!r} is not an active ISO 4217 currency code"
        )
        return
    yield from _decimals_problem(_path([*path, "amount"]), money["amount"], code)


def _decimals_problem(field: str, amount: str, currency: str) -> Iterator[Problem]:
    places = minor_units(currency)
    exponent = parse_amount(amount).as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        yield Problem(
            field, f"has more than {places} decimals; {currency} amounts are in its minor unit"
        )


def _transaction_fee_problems(record: dict[str, Any]) -> Iterator[Problem]:
    """Money in (a sale, a capture) with its fee and net in one currency: net = amount - fee.

    Only then is the arithmetic defined: across currencies the net is the processor's own figure,
    and for money out (a refund) processors differ on the sign of a returned fee.
    """
    for i, txn in enumerate(record["transactions"]):
        fee, net = txn.get("fee"), txn.get("net")
        if txn["kind"] not in {"sale", "capture"} or fee is None or net is None:
            continue
        if fee["currency"] == net["currency"] == txn["amount"]["currency"]:
            yield from _check_equal(
                f"transactions[{i}].net.amount",
                parse_amount(net["amount"]),
                parse_amount(txn["amount"]["amount"]) - parse_amount(fee["amount"]),
                "amount - fee",
            )


def _precision_problems(record: dict[str, Any], section: str) -> Iterator[Problem]:
    places = minor_units(record["currency"])
    for key, money in record[section].items():
        exponent = parse_amount(money["amount"]).as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            yield Problem(
                f"{section}.{key}.amount",
                f"has more than {places} decimals; totals are in the currency's minor unit",
            )


def _line_problems(order: dict[str, Any]) -> Iterator[Problem]:
    lines = order["line_items"]
    for i, line in enumerate(lines):
        yield from _check_equal(
            f"line_items[{i}].total.amount",
            _amount(line, "total"),
            _amount(line, "subtotal") - _amount(line, "discount"),
            "subtotal - discount",
        )
        allocations = line.get("discount_allocations") or []
        if allocations:
            yield from _check_equal(
                f"line_items[{i}].discount.amount",
                _amount(line, "discount"),
                _sum(allocations, "amount"),
                "the sum of its discount_allocations",
            )
        for j, alloc in enumerate(allocations):
            if alloc["discount_index"] >= len(order["discounts"]):
                yield Problem(
                    f"line_items[{i}].discount_allocations[{j}].discount_index",
                    f"points past the {len(order['discounts'])} discounts of the order",
                )
    for i, ship in enumerate(order["shipping_lines"]):
        yield from _check_equal(
            f"shipping_lines[{i}].total.amount",
            _amount(ship, "total"),
            _amount(ship, "price") - _amount(ship, "discount"),
            "price - discount",
        )


def _order_problems(order: dict[str, Any]) -> Iterator[Problem]:
    yield from _line_problems(order)
    lines = order["line_items"]
    totals = order["totals"]
    yield from _precision_problems(order, "totals")
    checks: list[tuple[str, Decimal, str]] = [
        ("line_items_subtotal", _sum(lines, "subtotal"), "the sum of line subtotals"),
        ("subtotal", _sum(lines, "total"), "the sum of line totals"),
        ("shipping", _sum(order["shipping_lines"], "total"), "the sum of shipping line totals"),
        ("fees", _sum(order["fee_lines"], "amount"), "the sum of fee lines"),
        (
            "discounts",
            _sum(lines, "discount") + _sum(order["shipping_lines"], "discount"),
            "line discounts + shipping discounts",
        ),
    ]
    if order["tax_lines"]:
        checks.append(("tax", _sum(order["tax_lines"], "amount"), "the sum of tax_lines"))
    tax = _amount(totals, "tax")
    checks.append(
        (
            "total",
            _amount(totals, "subtotal")
            + _amount(totals, "shipping")
            + _amount(totals, "fees")
            + (Decimal(0) if order["prices_include_tax"] else tax),
            "subtotal + shipping + fees" + ("" if order["prices_include_tax"] else " + tax"),
        )
    )
    for key, expected, how in checks:
        yield from _check_equal(f"totals.{key}.amount", _amount(totals, key), expected, how)
    line_ids = {line["line_id"] for line in lines}
    for i, fulfillment in enumerate(order["fulfillments"]):
        for j, item in enumerate(fulfillment["line_items"]):
            if item["line_id"] not in line_ids:
                yield Problem(
                    f"fulfillments[{i}].line_items[{j}].line_id",
                    f"{item['line_id']!r} is not a line of this order",
                )


def _payout_problems(payout: dict[str, Any]) -> Iterator[Problem]:
    currency = payout["currency"]
    for path, money in _walk_money(payout, []):
        yield from _decimals_problem(_path([*path, "amount"]), money["amount"], currency)
    transactions = payout["transactions"]
    for i, txn in enumerate(transactions):
        yield from _check_equal(
            f"transactions[{i}].net.amount",
            _amount(txn, "net"),
            _amount(txn, "amount") - _amount(txn, "fee"),
            "amount - fee",
        )
    totals = payout["totals"]
    gross, fees = _amount(totals, "gross"), _amount(totals, "fees")
    checks: list[tuple[str, Decimal, Decimal, str]] = [
        (
            "totals.gross.amount",
            gross,
            _sum(transactions, "amount"),
            "the sum of transactions' amount",
        ),
        ("totals.fees.amount", fees, _sum(transactions, "fee"), "the sum of transactions' fee"),
        ("totals.net.amount", _amount(totals, "net"), gross - fees, "totals.gross - totals.fees"),
        ("net.amount", _amount(payout, "net"), gross - fees, "totals.gross - totals.fees"),
    ]
    for field, actual, expected, how in checks:
        yield from _check_equal(field, actual, expected, how)


def _refund_problems(refund: dict[str, Any]) -> Iterator[Problem]:
    prefix = f"{refund['platform']}:{refund['store']}:"
    if not refund["order_id"].startswith(prefix) or refund["order_id"] != (
        prefix + refund["order_source_id"]
    ):
        yield Problem("order_id", f"must be {prefix + refund['order_source_id']!r}")
    totals = refund["totals"]
    yield from _precision_problems(refund, "totals")
    lines, shipping, adjustments = (
        refund["line_items"],
        refund["shipping_lines"],
        refund["adjustments"],
    )
    tax = _sum(lines, "tax") + _sum(shipping, "tax") + _sum(adjustments, "tax")
    checks: list[tuple[str, Decimal, str]] = [
        ("items", _sum(lines, "subtotal"), "the sum of refunded line subtotals"),
        ("shipping", _sum(shipping, "amount"), "the sum of refunded shipping"),
        ("adjustments", _sum(adjustments, "amount"), "the sum of adjustments"),
        ("tax", tax, "the sum of line, shipping and adjustment taxes"),
        (
            "total",
            _amount(totals, "items")
            + _amount(totals, "shipping")
            + _amount(totals, "adjustments")
            + (Decimal(0) if refund["prices_include_tax"] else _amount(totals, "tax")),
            "items + shipping + adjustments" + ("" if refund["prices_include_tax"] else " + tax"),
        ),
    ]
    for key, expected, how in checks:
        yield from _check_equal(f"totals.{key}.amount", _amount(totals, key), expected, how)


_STREAM_PROBLEMS: dict[Stream, Callable[[dict[str, Any]], Iterator[Problem]]] = {
    "orders": _order_problems,
    "refunds": _refund_problems,
    "payouts": _payout_problems,
}


def validate(record: object, stream: Stream | None = None) -> list[Problem]:
    """Every problem in a canonical record; an empty list means it is valid.

    Args:
        record: the record (a JSON object).
        stream: "orders", "refunds" or "payouts"; guessed from the record when None.

    Returns:
        The problems, sorted by field, each naming the field and what to fix.
    """
    if not isinstance(record, dict):
        return [Problem("(record)", f"must be a JSON object, not {type(record).__name__}")]
    chosen = stream or detect_stream(record)
    if chosen not in STREAMS:
        return [Problem("(record)", f"unknown stream {chosen!r}")]
    problems = _schema_problems(record, chosen)
    if problems:
        return problems
    semantic = list(_common_problems(record, chosen))
    if not semantic:
        semantic.extend(_STREAM_PROBLEMS[chosen](record))
        if chosen != "payouts":
            semantic.extend(_transaction_fee_problems(record))
    return sorted(set(semantic))


def ensure_valid(record: object, stream: Stream | None = None) -> None:
    """Raise `InvalidRecordError` listing every problem, if there is any."""
    problems = validate(record, stream)
    if problems:
        raise InvalidRecordError(problems)
