"""One writer per QuickBooks company: the writer lease table.

Expand only: a new table. A process of the previous version (schema 0002) never reads it, so it
does not take the lease; run every writer of one company at this version or later
(docs/upgrades.md, docs/operations.md "Security: secrets and tokens").

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `writer_leases`: at most one row per company, the run that may write to it."""
    op.create_table(
        "writer_leases",
        sa.Column("realm_id", sa.String(32), primary_key=True),
        sa.Column("holder_id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the lease table (a run holding a lease loses it)."""
    op.drop_table("writer_leases")
