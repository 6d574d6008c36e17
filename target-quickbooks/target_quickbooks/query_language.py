"""Build QuickBooks query statements with proper quoting (never raw f-strings of user data).

Grammar: ``SELECT * FROM Entity WHERE Field op value [AND ...] [STARTPOSITION n]
[MAXRESULTS n]``, ``IN ('a', 'b')`` lists, single-quoted strings with a backslash escaping an
apostrophe (query operations page,
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
and https://developer.intuit.com/hub/blog/2017/02/08/deep-dive-sql-queries). MAXRESULTS is at
most 1000.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_RESULTS = 1000
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$")


class QueryBuildError(ValueError):
    """An entity or field name that is not a plain identifier."""


def quote(value: str) -> str:
    """A string literal: single quotes, backslash and apostrophe escaped with a backslash."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        msg = f"not a QuickBooks identifier: {name!r}"
        raise QueryBuildError(msg)
    return name


def select_in(
    entity: str,
    field: str,
    values: Sequence[str],
    *,
    start_position: int = 1,
    max_results: int = MAX_RESULTS,
) -> str:
    """``SELECT * FROM entity WHERE field IN (...)`` (``=`` for a single value), one page."""
    if not values:
        msg = "at least one value is needed"
        raise QueryBuildError(msg)
    name = _identifier(field)
    if len(values) == 1:
        condition = f"{name} = {quote(values[0])}"
    else:
        condition = f"{name} IN ({', '.join(quote(v) for v in values)})"
    return (
        f"SELECT * FROM {_identifier(entity)} WHERE {condition} "  # noqa: S608 - values quoted
        f"STARTPOSITION {int(start_position)} MAXRESULTS {min(int(max_results), MAX_RESULTS)}"
    )
