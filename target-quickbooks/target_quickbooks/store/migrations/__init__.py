"""Alembic migrations of the target store (applied automatically at start)."""
