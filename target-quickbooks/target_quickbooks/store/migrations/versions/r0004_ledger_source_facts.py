"""The store's own figures of each document's order or refund, in the ledger.

Expand only: one new nullable column. A process of the previous version never names it (it stays
NULL, which `reconcile` reads as "no store figures": such documents are left out of the
source-side reconciliation and counted as such), and rows it updates keep working.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `ledger.source_facts`: the mapped record's `source` block, verbatim (JSON)."""
    op.add_column("ledger", sa.Column("source_facts", sa.JSON, nullable=True))


def downgrade() -> None:
    """Drop the column (the figures come back with the next delivery of each document)."""
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("source_facts")
