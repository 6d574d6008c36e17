"""Review queue, merge base and expected totals in the ledger, append-only audit log.

Expand only: a new table, new nullable columns and triggers. A process of the previous version
(schema 0001) keeps writing to a database at this revision: it never names the new columns
(they stay NULL, which the new code reads as "unknown") and never updates audit rows. Columns
or tables that become unused are dropped by a later contract revision, once no process of the
older version can still be running (docs/upgrades.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    (
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    ),
    (
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    ),
)
_POSTGRES_TRIGGERS = (
    (
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
    ),
    (
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    ),
)


def upgrade() -> None:
    """Add the review queue, the ledger's merge base and totals, and the audit triggers."""
    op.add_column("ledger", sa.Column("pushed_body", sa.JSON, nullable=True))
    op.add_column("ledger", sa.Column("expected_total", sa.String(40), nullable=True))
    op.add_column("ledger", sa.Column("expected_tax", sa.String(40), nullable=True))
    op.add_column("ledger", sa.Column("currency", sa.String(3), nullable=True))
    op.create_table(
        "review_queue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("realm_id", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(512), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("qbo_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("conflict_fields", sa.Text, nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
        sa.Column("base", sa.JSON, nullable=True),
        sa.Column("theirs", sa.JSON, nullable=True),
        sa.Column("ours", sa.JSON, nullable=True),
        sa.Column("record", sa.JSON, nullable=True),
        sa.Column("sightings", sa.Integer, nullable=False),
        sa.Column("resolution", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("realm_id", "fingerprint", name="uq_review_queue_fingerprint"),
    )
    op.create_index("ix_review_queue_open", "review_queue", ["realm_id", "status"])
    op.create_index("ix_audit_log_ts", "audit_log", ["realm_id", "ts"])
    dialect = op.get_bind().dialect.name
    triggers = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}.get(dialect, ())
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    """Remove what `upgrade` added (data in the review queue is lost)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_index("ix_audit_log_ts", "audit_log")
    op.drop_index("ix_review_queue_open", "review_queue")
    op.drop_table("review_queue")
    with op.batch_alter_table("ledger") as batch:
        for name in ("currency", "expected_tax", "expected_total", "pushed_body"):
            batch.drop_column(name)
