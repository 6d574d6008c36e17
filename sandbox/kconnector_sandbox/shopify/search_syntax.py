"""Shopify's search syntax for the `query` argument, for the order filters the tap uses.

https://shopify.dev/docs/api/usage/search-syntax: terms ``field:value`` with comparators
``:<``, ``:<=``, ``:>``, ``:>=``, values optionally quoted, joined by ``AND`` (or juxtaposition)
and ``OR``, negated with ``-`` or ``NOT``. Dates without an offset are read in the shop's time
zone. A filter field the orders query does not know is ignored and reported as a search warning
(Shopify answers with ``extensions.search[].warnings``), never an error.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from kconnector_sandbox.shopify.model import Order

_TERM = re.compile(r"^(?P<neg>-)?(?P<field>[a-z_]+):(?P<op><=|>=|<|>|=)?(?P<value>.*)$", re.DOTALL)

Predicate = Callable[[Any], bool]


@dataclass(frozen=True)
class SearchResult:
    """A compiled query: the predicate, plus warnings for fields that were ignored."""

    predicate: Predicate
    warnings: tuple[str, ...]


def parse_time(value: str, tz: ZoneInfo) -> datetime:
    """A search value as a UTC instant; dates and offset-less times are in the shop's zone."""
    text = value.strip().strip("'\"")
    if text == "now":
        msg = "now is relative"
        raise ValueError(msg)
    if len(text) == len("2026-01-01"):
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=tz).astimezone(UTC)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def compare(op: str, left: Any, right: Any) -> bool:  # noqa: ANN401 - dates or ids
    """Apply a search comparator (``<``, ``<=``, ``>``, ``>=``, ``=``)."""
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    return bool(left == right)


_TIME_FIELDS: dict[str, Callable[[Order], datetime | None]] = {
    "updated_at": lambda o: o.updated_at,
    "created_at": lambda o: o.created_at,
    "processed_at": lambda o: o.processed_at,
}

_STATUS: dict[str, Predicate] = {
    "any": lambda _o: True,
    "open": lambda o: not o.closed and o.cancelled_at is None,
    "closed": lambda o: o.closed,
    "cancelled": lambda o: o.cancelled_at is not None,
    "not_closed": lambda o: not o.closed,
}


def _term(  # noqa: C901, PLR0911 - one branch per filter field
    field: str, op: str, value: str, tz: ZoneInfo, now: datetime
) -> Predicate | None:
    # returns None when the field is unknown
    raw = value.strip().strip("'\"")
    if field in _TIME_FIELDS:
        getter = _TIME_FIELDS[field]
        moment = now if raw == "now" else parse_time(raw, tz)
        return lambda o: (v := getter(o)) is not None and compare(op, v, moment)
    if field == "status":
        status: Predicate = _STATUS.get(raw.lower(), lambda _o: False)
        return status
    if field == "test":
        wanted = raw.lower() == "true"
        return lambda o: o.test == wanted
    if field == "financial_status":
        return lambda o: o.display_financial_status.lower() == raw.lower()
    if field == "fulfillment_status":
        mapping = {
            "shipped": "FULFILLED",
            "unshipped": "UNFULFILLED",
            "partial": "PARTIALLY_FULFILLED",
        }
        target = mapping.get(raw.lower(), raw.upper())
        return lambda o: o.display_fulfillment_status == target
    if field == "id":
        number = int(raw.rsplit("/", 1)[-1])
        return lambda o: compare(op, o.legacy_resource_id, number)
    if field == "name":
        return lambda o: o.name.lstrip("#") == raw.lstrip("#")
    if field == "email":
        return lambda o: (o.email or "").lower() == raw.lower()
    if field == "tag":
        return lambda o: raw in o.tags
    if field == "source_name":
        return lambda o: o.source_name == raw
    return None


TermCompiler = Callable[[str, str, str, "ZoneInfo", datetime], "Callable[[Any], bool] | None"]


def compile_query(  # noqa: C901 - a small tokenizer loop
    query: str | None,
    *,
    tz: ZoneInfo,
    now: datetime,
    term: TermCompiler | None = None,
) -> SearchResult:
    """Compile a `query` string (the orders' filters unless `term` compiles other fields).

    Args:
        query: the search string (None or empty matches everything).
        tz: the shop's time zone, for dates without an offset.
        now: the shop's current time (for ``now``).
        term: compiles one ``field:value`` term of another connection (payouts, balance
            transactions) into a predicate, or None for a field it does not know.

    Returns:
        The predicate and the warnings for ignored fields.
    """
    if not query or not query.strip():
        return SearchResult(lambda _o: True, ())
    lexer = shlex.shlex(query, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    tokens = list(lexer)
    warnings: list[str] = []
    groups: list[list[Predicate]] = [[]]
    negate_next = False
    for token in tokens:
        upper = token.upper()
        if upper == "AND":
            continue
        if upper == "OR":
            groups.append([])
            continue
        if upper == "NOT":
            negate_next = True
            continue
        match = _TERM.match(token)
        if match is None:
            warnings.append(
                f"Free-text term {token!r} is not supported by the sandbox and was ignored"
            )
            continue
        field = match["field"]
        try:
            predicate = (term or _term)(field, match["op"] or "=", match["value"], tz, now)
        except ValueError:
            warnings.append(f"Invalid value for search field {field}: {match['value']!r}")
            continue
        if predicate is None:
            warnings.append(f"Invalid search field for this query: {field}")
            continue
        if bool(match["neg"]) != negate_next:
            predicate = _negate(predicate)
        negate_next = False
        groups[-1].append(predicate)

    def matches(item: Any) -> bool:  # noqa: ANN401 - an order, payout or balance transaction
        return any(all(p(item) for p in group) for group in groups)

    return SearchResult(matches, tuple(warnings))


def _negate(predicate: Predicate) -> Predicate:
    return lambda o: not predicate(o)
