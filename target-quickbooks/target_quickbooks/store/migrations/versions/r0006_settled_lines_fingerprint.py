"""The settings fingerprint of each settled line, so lines of earlier settings are pruned.

Expand only: a nullable column and an index. A line recorded without it (schema 0005) is
pruned by the next run of this version, which settles its lines again (one full-path run).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `settled_lines.fingerprint` and an index to find the lines of other settings."""
    op.add_column("settled_lines", sa.Column("fingerprint", sa.String(16), nullable=True))
    op.create_index("ix_settled_lines_fingerprint", "settled_lines", ["realm_id", "fingerprint"])


def downgrade() -> None:
    """Drop the index and the column."""
    op.drop_index("ix_settled_lines_fingerprint", "settled_lines")
    with op.batch_alter_table("settled_lines") as batch:
        batch.drop_column("fingerprint")
