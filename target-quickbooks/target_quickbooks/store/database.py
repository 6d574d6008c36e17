"""Open the store: engine, automatic alembic upgrade, and the repositories."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from target_quickbooks import qbo_json
from target_quickbooks.store.audit import AuditLog
from target_quickbooks.store.dead_letters import DeadLetters
from target_quickbooks.store.ledger import Ledger
from target_quickbooks.store.review_queue import ReviewQueue
from target_quickbooks.store.tokens import TokenVault

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def create_engine(url: str) -> Engine:
    """An engine for `url` that keeps Decimal amounts in JSON columns (SQLite: WAL mode)."""
    kwargs: dict[str, Any] = {
        "json_serializer": qbo_json.dumps,
        "json_deserializer": partial(qbo_json.loads),
    }
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = sa.create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:  # noqa: ANN401
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`, the newest by default (idempotent; runs at every start).

    Revisions are additive first (docs/upgrades.md): a process of the previous version keeps
    working on a database this one upgraded.
    """
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of the target."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


class Store:
    """The repositories over one database; writes are serialised by one lock per process."""

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine whose schema is already at head."""
        self.engine = engine
        self.lock = threading.RLock()
        self.ledger = Ledger(engine, self.lock)
        self.tokens = TokenVault(engine, self.lock)
        self.audit = AuditLog(engine, self.lock)
        self.dead_letters = DeadLetters(engine, self.lock)
        self.reviews = ReviewQueue(engine, self.lock)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


def open_store(url: str, *, token_keys: Sequence[str] = ()) -> Store:
    """Connect to `url`, migrate to head, and return the store.

    `token_keys`: token_encryption_key's keys, the current one first (none: tokens in clear).
    """
    engine = create_engine(url)
    upgrade(engine)
    store = Store(engine)
    store.tokens.use_keys(token_keys)
    return store
