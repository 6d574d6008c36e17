"""Alembic environment of the real-time queue: its own version table beside the target's."""

from __future__ import annotations

from alembic import context

# The queue lives in the target's database (same database_url); its own version table keeps the
# two migration histories apart.
VERSION_TABLE = "kconnector_realtime_alembic_version"

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
