"""The tables of the current schema version (SQLAlchemy Core), as the migrations leave them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("realm_id", sa.String(32), primary_key=True),
    sa.Column("external_id", sa.String(512), primary_key=True),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("qbo_id", sa.String(64), nullable=False),
    sa.Column("sync_token", sa.String(32), nullable=False),
    sa.Column("body_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("request_id", sa.String(50), nullable=True),
    sa.Column("snapshot", sa.JSON, nullable=True),
    sa.Column("source_updated_at", sa.String(40), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # 0002 (additive, nullable: rows written by 0001 keep working)
    sa.Column("pushed_body", sa.JSON, nullable=True),
    sa.Column("expected_total", sa.String(40), nullable=True),
    sa.Column("expected_tax", sa.String(40), nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    # 0004 (additive, nullable): the mapped record's `source` block (the store's own figures)
    sa.Column("source_facts", sa.JSON, nullable=True),
)

oauth_tokens = sa.Table(
    "oauth_tokens",
    metadata,
    sa.Column("realm_id", sa.String(32), primary_key=True),
    sa.Column("refresh_token", sa.Text, nullable=False),
    sa.Column("access_token", sa.Text, nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("realm_id", sa.String(32), nullable=False),
    sa.Column("external_id", sa.String(512), nullable=True),
    sa.Column("entity", sa.String(32), nullable=True),
    sa.Column("qbo_id", sa.String(64), nullable=True),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("request_id", sa.String(50), nullable=True),
    sa.Column("intuit_tid", sa.String(80), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("error_class", sa.String(16), nullable=True),
    sa.Column("error_code", sa.String(40), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("realm_id", sa.String(32), nullable=False),
    sa.Column("external_id", sa.String(512), nullable=False),
    sa.Column("stream", sa.String(64), nullable=False),
    sa.Column("error_class", sa.String(16), nullable=False),
    sa.Column("error_code", sa.String(40), nullable=False),
    sa.Column("field", sa.String(256), nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("guidance", sa.Text, nullable=False),
    sa.Column("record", sa.JSON, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
)

review_queue = sa.Table(
    "review_queue",
    metadata,
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

# 0005: input lines the target settled (delivered, unchanged or older than the ledger's copy),
# keyed by a digest of the raw line and the settings that shape what is written: an unchanged
# rerun skips them at the input line (`input_screen`, store/settled_lines.py).
settled_lines = sa.Table(
    "settled_lines",
    metadata,
    sa.Column("realm_id", sa.String(32), primary_key=True),
    sa.Column("line_digest", sa.String(32), primary_key=True),
    sa.Column("external_id", sa.String(512), nullable=False),
    sa.Column("stream", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("operation", sa.String(16), nullable=False),
    sa.Column("source_updated_at", sa.String(40), nullable=True),
    sa.Column("body_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # 0006: the settings fingerprint the line was settled under (lines of others are pruned)
    sa.Column("fingerprint", sa.String(16), nullable=True),
)

# 0003: the writer lease, one row per company while a run may write to it (store/lease.py).
writer_leases = sa.Table(
    "writer_leases",
    metadata,
    sa.Column("realm_id", sa.String(32), primary_key=True),
    sa.Column("holder_id", sa.String(64), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
