"""Fixtures every package's tests share: fresh target stores on SQLite and on PostgreSQL.

The store's code runs on both databases (docs/operations.md), so a test that takes `database_url`
(or `store_urls`) runs twice: on a SQLite file in the test's folder, and on PostgreSQL in a
schema of its own when `KCONNECTOR_TEST_DATABASE_URL` names a server (`make test` starts one,
scripts/test-postgres.sh); the schemas are dropped when the test ends.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

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
