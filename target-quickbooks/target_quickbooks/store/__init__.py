"""The target's own database: ledger, OAuth tokens, audit log and dead letters.

SQLite by default, any SQLAlchemy URL (PostgreSQL included); the schema is versioned by the
alembic migrations shipped in `target_quickbooks.store.migrations` and upgraded at start. Each
concern has its own module (`ledger`, `tokens`, `audit`, `dead_letters`); a new concern adds a
module, a table in `schema` and a migration.
"""

from target_quickbooks.store.database import Store, open_store

__all__ = ["Store", "open_store"]
