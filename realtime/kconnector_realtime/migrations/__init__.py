"""Alembic migrations of the real-time queue's tables (own version table)."""
