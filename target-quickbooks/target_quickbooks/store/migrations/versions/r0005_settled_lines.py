"""Input lines already settled: the fast path of an unchanged rerun (`input_screen`).

Expand only: a new table. A process of the previous version never reads or writes it (its runs
take the full path for every record, as before); this version finds the table empty after the
upgrade, so its first run takes the full path too and fills it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `settled_lines`: one row per distinct input line the target settled."""
    op.create_table(
        "settled_lines",
        sa.Column("realm_id", sa.String(32), primary_key=True),
        sa.Column("line_digest", sa.String(32), primary_key=True),
        sa.Column("external_id", sa.String(512), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("source_updated_at", sa.String(40), nullable=True),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the table (every record takes the full path again; nothing else depends on it)."""
    op.drop_table("settled_lines")
