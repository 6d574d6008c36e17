r"""QuickBooks Online's query language: a small parser and an evaluator over stored documents.

Grammar, from Intuit's "Query operations and syntax" page (URL below the docstring) ::

    SELECT * | COUNT(*) | Field[, Field...] FROM Entity
        [WHERE Field op value [AND Field op value ...]]
        [ORDERBY Field [ASC|DESC][, ...]]
        [STARTPOSITION n] [MAXRESULTS n]

with ``op`` one of ``= < > <= >= != IN LIKE`` (no OR, no joins). String literals are single-quoted
and an apostrophe inside is escaped with a backslash (``'O\'Brien'``, as in
https://developer.intuit.com/hub/blog/2017/02/08/deep-dive-sql-queries/). ``STARTPOSITION`` is
1-based; ``MAXRESULTS`` defaults to 100 and may not exceed 1000 (larger values are refused with a
QueryValidationError, code 4001). Name-list entities return only active objects unless the query
filters on ``Active``. String comparisons are case-insensitive; date-time literals compare as
instants. Selecting named fields returns those fields plus ``Id``.
"""

# Source: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from kconnector_sandbox.qbo import fault_catalog
from kconnector_sandbox.qbo.timekeeping import parse_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_CAP = 1000

Literal = str | Decimal | bool

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>'(?:\\.|[^'\\])*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),*])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_OPERATORS = {"=", "<", ">", "<=", ">=", "!=", "<>", "IN", "LIKE"}


@dataclass(frozen=True)
class Condition:
    """One ``Field op value`` of the WHERE clause (``values`` has several items for IN)."""

    field: str
    operator: str
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Query:
    """A parsed select statement."""

    entity: str
    count: bool
    fields: tuple[str, ...] | None
    conditions: tuple[Condition, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    start_position: int
    max_results: int


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            snippet = stripped[position : position + 20].strip()
            msg = f'Encountered "{snippet}" at column {position + 1}'
            raise fault_catalog.query_parse_error(msg)
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.upper() in words:
            self.index += 1
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None or token.kind != kind or (text is not None and token.text.upper() != text):
            found = "end of query" if token is None else f'"{token.text}"'
            wanted = text or kind
            msg = f"Encountered {found}; expected {wanted}"
            raise fault_catalog.query_parse_error(msg)
        self.index += 1
        return token

    def literal(self) -> Literal:
        token = self.peek()
        if token is None:
            msg = "Encountered end of query; expected a value"
            raise fault_catalog.query_parse_error(msg)
        self.index += 1
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "word" and token.text.lower() in {"true", "false"}:
            return token.text.lower() == "true"
        msg = f'Encountered "{token.text}"; expected a value'
        raise fault_catalog.query_parse_error(msg)

    def integer(self, clause: str) -> int:
        token = self.expect("number")
        try:
            return int(token.text)
        except ValueError:
            msg = f"{clause} needs an integer, got {token.text}"
            raise fault_catalog.query_parse_error(msg) from None


def parse(text: str) -> Query:  # noqa: C901, PLR0912, PLR0915 - one branch per grammar clause
    """Parse a select statement.

    Raises:
        QboFault: 4000 (cannot be parsed) or 4001 (MAXRESULTS over 1000, STARTPOSITION < 1).
    """
    parser = _Parser(_tokenize(text))
    parser.expect("word", "SELECT")
    count = False
    fields: tuple[str, ...] | None = None
    if parser.keyword("COUNT"):
        parser.expect("punct", "(")
        parser.expect("punct", "*")
        parser.expect("punct", ")")
        count = True
    elif (token := parser.peek()) is not None and token.text == "*":
        parser.index += 1
    else:
        names = [parser.expect("word").text]
        while (token := parser.peek()) is not None and token.text == ",":
            parser.index += 1
            names.append(parser.expect("word").text)
        fields = tuple(names)
    parser.expect("word", "FROM")
    entity = parser.expect("word").text
    conditions: list[Condition] = []
    if parser.keyword("WHERE"):
        while True:
            conditions.append(_condition(parser))
            if not parser.keyword("AND"):
                break
    order: list[tuple[str, bool]] = []
    if parser.keyword("ORDERBY") or (parser.keyword("ORDER") and parser.keyword("BY")):
        while True:
            name = parser.expect("word").text
            descending = parser.keyword("DESC")
            if not descending:
                parser.keyword("ASC")
            order.append((name, descending))
            if (token := parser.peek()) is not None and token.text == ",":
                parser.index += 1
                continue
            break
    start, maximum = 1, DEFAULT_MAX_RESULTS
    while parser.peek() is not None:
        if parser.keyword("STARTPOSITION"):
            start = parser.integer("STARTPOSITION")
        elif parser.keyword("MAXRESULTS"):
            maximum = parser.integer("MAXRESULTS")
        else:
            token = parser.peek()
            msg = f'Encountered "{token.text if token else ""}"'
            raise fault_catalog.query_parse_error(msg)
    if maximum > MAX_RESULTS_CAP:
        msg = f"MAXRESULTS value {maximum} is too large. Max allowed value is {MAX_RESULTS_CAP}"
        raise fault_catalog.query_validation_error(msg)
    if start < 1 or maximum < 1:
        msg = "STARTPOSITION and MAXRESULTS must be positive"
        raise fault_catalog.query_validation_error(msg)
    return Query(entity, count, fields, tuple(conditions), tuple(order), start, maximum)


def _condition(parser: _Parser) -> Condition:
    name = parser.expect("word").text
    token = parser.peek()
    if token is None:
        msg = "Encountered end of query; expected an operator"
        raise fault_catalog.query_parse_error(msg)
    operator = token.text.upper()
    if operator not in _OPERATORS:
        msg = f'Encountered "{token.text}"; expected an operator'
        raise fault_catalog.query_parse_error(msg)
    parser.index += 1
    if operator == "IN":
        parser.expect("punct", "(")
        values = [parser.literal()]
        while (token := parser.peek()) is not None and token.text == ",":
            parser.index += 1
            values.append(parser.literal())
        parser.expect("punct", ")")
        return Condition(name, operator, tuple(values))
    return Condition(name, "!=" if operator == "<>" else operator, (parser.literal(),))


# --------------------------------------------------------------------------- evaluation


def field_value(doc: dict[str, Any], path: str) -> object:
    """A (dotted) field of a document; a ``...Ref`` object yields its ``value``."""
    value: object = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    if isinstance(value, dict) and "Address" in value:
        # E-mail objects (PrimaryEmailAddr, BillEmail) filter on their address:
        # `SELECT * FROM Customer WHERE PrimaryEmailAddr = 'a@b.com'` is the form QuickBooks
        # answers (used as such by client code built on Intuit's own SDKs, e.g. the PHP
        # SDK's `$dataService->Query("SELECT * FROM Customer where PrimaryEmailAddr = '...'")`;
        # the query docs, https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries,
        # give no e-mail example). The dotted `PrimaryEmailAddr.Address` keeps working above.
        return value["Address"]
    return value


def _compare(actual: object, literal: Literal) -> int | None:  # noqa: PLR0911 - per type
    if actual is None:
        return None
    if isinstance(literal, bool):
        if not isinstance(actual, bool):
            return None
        return (actual > literal) - (actual < literal)
    if isinstance(literal, Decimal) or isinstance(actual, Decimal | int):
        try:
            left = Decimal(str(actual))
            right = Decimal(str(literal))
        except InvalidOperation:
            return None
        return (left > right) - (left < right)
    text = str(actual)
    left_time, right_time = parse_timestamp(text), parse_timestamp(literal)
    if left_time is not None and right_time is not None and any(c in literal for c in "-:"):
        return (left_time > right_time) - (left_time < right_time)
    left_text, right_text = text.casefold(), literal.casefold()
    return (left_text > right_text) - (left_text < right_text)


def _like(actual: object, pattern: Literal) -> bool:
    if actual is None or not isinstance(pattern, str):
        return False
    regex = "".join(".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, str(actual), flags=re.IGNORECASE | re.DOTALL) is not None


@functools.lru_cache(maxsize=1024)
def _plain_texts(values: tuple[Literal, ...]) -> frozenset[str] | None:
    """An IN list's values casefolded, when all are plain strings (no number, flag or time).

    For such a list `_compare` compares text case-insensitively, so a set lookup gives the
    same answer without comparing each document against every value (lookups send 30).
    """
    if not all(isinstance(v, str) and parse_timestamp(v) is None for v in values):
        return None
    return frozenset(str(v).casefold() for v in values)


def _matches(doc: dict[str, Any], condition: Condition) -> bool:
    actual = field_value(doc, condition.field)
    operator = condition.operator
    if operator == "LIKE":
        return _like(actual, condition.values[0])
    if operator == "IN":
        texts = _plain_texts(condition.values)
        if texts is not None and isinstance(actual, str):
            return actual.casefold() in texts
        return any(_compare(actual, value) == 0 for value in condition.values)
    result = _compare(actual, condition.values[0])
    if result is None:
        return False
    return {
        "=": result == 0,
        "!=": result != 0,
        "<": result < 0,
        ">": result > 0,
        "<=": result <= 0,
        ">=": result >= 0,
    }[operator]


def _sort_key(value: object) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, Decimal | int):
        return (2, Decimal(value))
    text = str(value)
    if text.isdigit():
        return (2, Decimal(text))
    moment = parse_timestamp(text) if "-" in text else None
    if moment is not None:
        return (3, moment)
    return (4, text.casefold())


def _field_sort_key(name: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(doc: dict[str, Any]) -> tuple[int, Any]:
        return _sort_key(field_value(doc, name))

    return key


def execute(
    query: Query,
    documents: Iterable[dict[str, Any]],
    *,
    queryable: set[str],
    active_only: bool,
) -> dict[str, Any]:
    """Run a parsed query over an entity's documents and build the ``QueryResponse`` object.

    Args:
        query: the parsed statement.
        documents: the entity's documents.
        queryable: top-level property names that may appear in WHERE/ORDERBY/SELECT.
        active_only: filter to ``Active = true`` unless the query filters on Active.

    Raises:
        QboFault: 4001 for a property the entity does not have.
    """
    named = [c.field for c in query.conditions] + [name for name, _ in query.order]
    named += list(query.fields or ())
    for name in named:
        if name.split(".")[0] not in queryable:
            msg = f"property '{name}' is not queryable for {query.entity}"
            raise fault_catalog.query_validation_error(msg)
    conditions = list(query.conditions)
    if active_only and not any(c.field == "Active" for c in conditions):
        conditions.append(Condition("Active", "=", (True,)))
    selected = [doc for doc in documents if all(_matches(doc, c) for c in conditions)]
    if query.count:
        return {"totalCount": len(selected)}
    selected.sort(key=lambda doc: _sort_key(doc.get("Id")))
    for name, descending in reversed(query.order):
        selected.sort(key=_field_sort_key(name), reverse=descending)
    page = selected[query.start_position - 1 : query.start_position - 1 + query.max_results]
    if not page:
        return {}
    if query.fields is not None:
        keep = {"Id", *query.fields}
        page = [{k: v for k, v in doc.items() if k in keep} for doc in page]
    return {query.entity: page, "startPosition": query.start_position, "maxResults": len(page)}
