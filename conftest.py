"""Fixtures every package's tests share: fresh target stores on SQLite and on PostgreSQL.

The store's code runs on both databases (docs/operations.md), so a test that takes `database_url`
(or `store_urls`) runs twice: on a SQLite file in the test's folder, and on PostgreSQL in a
schema of its own when `KCONNECTOR_TEST_DATABASE_URL` names a server (`make test` starts one,
scripts/test-postgres.sh); the schemas are dropped when the test ends.
"""

from __future__ import annotations

import copy
import os
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

POSTGRES_ENV = "KCONNECTOR_TEST_DATABASE_URL"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set"
            ),
        ),
    ]
)
def store_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty stores on the parametrised database, one per call."""
    if request.param == "sqlite":
        counter = iter(range(1_000_000))
        yield lambda: f"sqlite:///{tmp_path / f'store-{next(counter)}.db'}"
        return
    server = sa.engine.make_url(os.environ[POSTGRES_ENV])
    admin = sa.create_engine(server)
    schemas: list[str] = []

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        schemas.append(schema)
        url = server.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.begin() as connection:
            for schema in schemas:
                connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def database_url(store_urls: Callable[[], str]) -> str:
    """A fresh, empty store for one test (SQLite, then PostgreSQL when a server is given)."""
    return store_urls()


def _replacement_paths(
    node: object, path: tuple[object, ...], kinds: tuple[object, ...]
) -> Iterator[tuple[tuple[object, ...], object]]:
    if isinstance(node, dict):
        for index, (key, value) in enumerate(sorted(node.items())):
            yield (*path, key), _DELETE
            yield (*path, key), kinds[(len(path) + index) % len(kinds)]
            yield from _replacement_paths(value, (*path, key), kinds)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index), kinds[(len(path) + index) % len(kinds)]
            yield from _replacement_paths(value, (*path, index), kinds)


_DELETE = object()
_KINDS = (None, 1.5, Decimal("2.50"), "x", [], {}, True, -1)


def _mutations(record: dict[str, Any]) -> Iterator[tuple[tuple[object, ...], dict[str, Any]]]:
    """Each leaf and container of `record` replaced by a value of another kind, or removed.

    Yields (path, mutated copy). For checking that two validators agree on invalid records.
    """
    for path, replacement in _replacement_paths(record, (), _KINDS):
        mutated = copy.deepcopy(record)
        parent: Any = mutated
        for part in path[:-1]:
            parent = parent[part]
        if replacement is _DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(replacement)
        yield path, mutated


@pytest.fixture
def mutations() -> Callable[[dict[str, Any]], Iterator[tuple[tuple[object, ...], dict[str, Any]]]]:
    """`mutations(record)`: (path, copy with that field of another kind or removed), for each."""
    return _mutations
