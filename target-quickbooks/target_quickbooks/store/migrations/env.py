"""Alembic environment: migrations run on the connection the target hands over."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
# render_as_batch lets later migrations alter columns on SQLite (copy-and-move).
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
