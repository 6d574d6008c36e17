"""Open the store: engine, automatic alembic upgrade, and the repositories."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import stat
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
from target_quickbooks.store.lease import WriterLease, writer_lease
from target_quickbooks.store.ledger import Ledger
from target_quickbooks.store.review_queue import ReviewQueue
from target_quickbooks.store.settled_lines import SettledLines
from target_quickbooks.store.tokens import TokenVault

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# The store holds OAuth tokens (encrypted or not), the ledger and customers' order data.
OWNER_ONLY_FILE = 0o600
OWNER_ONLY_FOLDER = 0o700
# SQLite's companions of a database file (WAL mode); SQLite gives them the file's mode.
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")

logger = logging.getLogger(__name__)


def secure_sqlite_file(database: Path) -> None:
    """Create the store's folder (0700) and file (0600); tighten a looser existing file.

    A folder that exists already is left as it is (it may be a shared working directory); an
    existing database file readable by others is made owner-only, with a warning.
    """
    folder = database.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=OWNER_ONLY_FOLDER)
        folder.chmod(OWNER_ONLY_FOLDER)  # mkdir's mode is filtered by the umask
    if not database.exists():
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, OWNER_ONLY_FILE))
        database.chmod(OWNER_ONLY_FILE)
    for path in (database, *(Path(f"{database}{suffix}") for suffix in _SQLITE_SIDECARS)):
        if not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(OWNER_ONLY_FILE)
            logger.warning(
                "event=store_permissions_tightened path=%s was=%s now=%s: the store holds "
                "OAuth tokens and order data, readable by its owner only",
                path,
                oct(mode),
                oct(OWNER_ONLY_FILE),
            )


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
            secure_sqlite_file(Path(database).expanduser())
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


# Serialises the migrations of processes starting at once on one PostgreSQL database.
_MIGRATION_KEY = int.from_bytes(
    hashlib.sha256(b"k-connector/target-quickbooks/migrations").digest()[:8], "big", signed=True
)


@contextlib.contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on `<database>.lock` while migrating.

    SQLite runs the DDL outside a transaction here, so two processes starting at once would
    both create the tables.
    """
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    path = Path(f"{Path(database).expanduser()}.lock")
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, OWNER_ONLY_FILE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`, the newest by default (idempotent; runs at every start).

    Revisions are additive first (docs/upgrades.md): a process of the previous version keeps
    working on a database this one upgraded. Processes starting at once migrate one after the
    other (the later ones find the schema at head and do nothing).
    """
    config = _alembic_config()
    is_sqlite = engine.dialect.name == "sqlite"
    with (
        _sqlite_migration_lock(engine) if is_sqlite else contextlib.nullcontext(),
        engine.begin() as connection,
    ):
        if engine.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_KEY}
            )
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
        self.settled_lines = SettledLines(engine, self.lock)
        self._leases: list[WriterLease] = []

    def writer_lease(self, realm_id: str, **kwargs: Any) -> WriterLease:  # noqa: ANN401 - WriterLease's keywords
        """The company's writer lease on this database (not yet taken: call `acquire`).

        `close` releases it if its owner did not.
        """
        lease = writer_lease(self.engine, realm_id, **kwargs)
        self._leases.append(lease)
        return lease

    def close(self) -> None:
        """Release the writer leases still held, then the connections."""
        for lease in self._leases:
            lease.release()
        self._leases.clear()
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
