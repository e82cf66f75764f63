"""trace: distribution events and receipt links

Revision ID: 0300_trace
Revises: 0000_base
"""

import sqlalchemy as sa
from alembic import op

import honnin.db.base

revision = "0300_trace"
down_revision = "0000_base"
branch_labels = ("trace",)
depends_on = "0001_foundation"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "trace_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("at", honnin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("enterprise_id", sa.String(length=64), nullable=True),
        sa.Column("bank_id", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=64), nullable=True),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_events")),
    )
    op.create_index("ix_trace_events_at_id", "trace_events", ["at", "id"])
    op.create_index("ix_trace_events_enterprise_at", "trace_events", ["enterprise_id", "at", "id"])
    op.create_index("ix_trace_events_bank_at", "trace_events", ["bank_id", "at", "id"])
    op.create_index("ix_trace_events_subject_at", "trace_events", ["subject_id", "at", "id"])
    op.create_index("ix_trace_events_object", "trace_events", ["object_type", "object_id", "id"])
    op.create_index(
        "ix_trace_events_unledgered",
        "trace_events",
        ["id"],
        sqlite_where=sa.text("ledger_index IS NULL"),
        postgresql_where=sa.text("ledger_index IS NULL"),
    )
    op.create_table(
        "trace_receipts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.String(length=64), nullable=True),
        sa.Column("bank_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=100), nullable=True),
        sa.Column("created_at", honnin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", honnin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "revocation_requested_at", honnin.db.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_receipts")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_trace_receipts_token_digest")),
    )
    op.create_index("ix_trace_receipts_object", "trace_receipts", ["object_type", "object_id"])


def downgrade() -> None:
    op.drop_table("trace_receipts")
    op.drop_table("trace_events")
