"""ledger: entries, tiles, tree state, checkpoints, cosignatures, witness and peer state,
evidence salts, look-up audit

Revision ID: 0100_ledger
Revises: 0000_base
"""

import sqlalchemy as sa
from alembic import op

import honnin.db.base

revision = "0100_ledger"
down_revision = "0000_base"
branch_labels = ("ledger",)
depends_on = None


def _utc() -> honnin.db.base.UTCDateTime:
    return honnin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("appended_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        op.f("ix_ledger_entries_subject_id"), "ledger_entries", ["subject_id"], unique=False
    )
    op.create_table(
        "ledger_tiles",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("nodes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_tiles")),
    )
    op.create_table(
        "ledger_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_state")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_table(
        "ledger_cosignatures",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness", name=op.f("pk_ledger_cosignatures")),
    )
    op.create_table(
        "ledger_witness_progress",
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("witness", name=op.f("pk_ledger_witness_progress")),
    )
    for table in ("ledger_witnessed_logs", "ledger_peer_state"):
        op.create_table(
            table,
            sa.Column("origin", sa.String(length=255), nullable=False),
            sa.Column("size", sa.BigInteger(), nullable=False),
            sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("updated_at", _utc(), nullable=False),
            sa.PrimaryKeyConstraint("origin", name=op.f(f"pk_{table}")),
        )
    op.create_table(
        "ledger_evidence_salts",
        sa.Column("evidence_digest", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("delete_after", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("evidence_digest", name=op.f("pk_ledger_evidence_salts")),
    )
    op.create_index(
        op.f("ix_ledger_evidence_salts_delete_after"),
        "ledger_evidence_salts",
        ["delete_after"],
        unique=False,
    )
    op.create_table(
        "ledger_lookup_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("peer", sa.String(length=255), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("matches", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lookup_audit")),
    )
    op.create_index(
        op.f("ix_ledger_lookup_audit_peer"), "ledger_lookup_audit", ["peer"], unique=False
    )


def downgrade() -> None:
    for table in (
        "ledger_lookup_audit",
        "ledger_evidence_salts",
        "ledger_peer_state",
        "ledger_witnessed_logs",
        "ledger_witness_progress",
        "ledger_cosignatures",
        "ledger_checkpoints",
        "ledger_state",
        "ledger_tiles",
        "ledger_entries",
    ):
        op.drop_table(table)
