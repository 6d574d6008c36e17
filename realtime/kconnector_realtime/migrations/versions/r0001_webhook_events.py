"""The webhook event queue.

Expand only: a new table, `realtime_events`, in the target's database. One row per verified
webhook delivery (no payload: the run re-reads the order from the store's API).

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `realtime_events` and its indexes."""
    op.create_table(
        "realtime_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("store_key", sa.String(300), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("resource_id", sa.String(100), nullable=True),
        sa.Column("webhook_id", sa.String(200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_key", sa.String(200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("store_key", "dedupe_key", name="uq_realtime_events_delivery"),
    )
    op.create_index("ix_realtime_events_status_store", "realtime_events", ["status", "store_key"])
    op.create_index("ix_realtime_events_run_key", "realtime_events", ["run_key"])


def downgrade() -> None:
    """Drop the queue (queued events are lost; the scheduled poll still catches their orders)."""
    op.drop_table("realtime_events")
