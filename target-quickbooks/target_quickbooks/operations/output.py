"""How the operator commands print: rich tables for people, JSON for scripts (``--json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

_CELL_LIMIT = 80


def json_default(value: object) -> object:
    """JSON for the values the store hands back: Decimal as a decimal string, times as ISO."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    msg = f"not JSON serialisable: {type(value).__name__}"
    raise TypeError(msg)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    return text if len(text) <= _CELL_LIMIT else text[: _CELL_LIMIT - 1] + "…"


@dataclass
class Output:
    """Prints tables, text or JSON on stdout; notes on stderr."""

    as_json: bool
    console: Console

    @classmethod
    def create(cls, *, as_json: bool) -> Output:
        """An output on the terminal (no colours when not a terminal)."""
        return cls(as_json, Console(soft_wrap=True))

    def data(self, payload: Any) -> None:  # noqa: ANN401 - any JSON-ready value
        """Print a JSON document (``--json``)."""
        click.echo(json.dumps(payload, default=json_default, indent=2, sort_keys=True))

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """Print a table."""
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(value) for value in row))
        self.console.print(table)

    def text(self, text: str) -> None:
        """Print plain text as it is (diffs keep their columns)."""
        self.console.print(text, markup=False, highlight=False)

    @staticmethod
    def note(text: str) -> None:
        """A message for the person, on stderr."""
        click.echo(text, err=True)
