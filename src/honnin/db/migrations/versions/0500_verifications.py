"""verifications: eKYC verification sessions

Revision ID: 0500_verifications
Revises: 0000_base
"""

import sqlalchemy as sa
from alembic import op

import honnin.db.base

revision = "0500_verifications"
down_revision = "0000_base"
branch_labels = ("verifications",)
depends_on = "0001_foundation"


def upgrade() -> None:
    dt = honnin.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "verifications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("enterprise_id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("capture_token_digest", sa.String(length=64), nullable=False),
        sa.Column("return_url", sa.Text(), nullable=True),
        sa.Column("sealed_applicant", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_challenge", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_chip", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_card", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_selfie", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_result", sa.LargeBinary(), nullable=True),
        sa.Column("evidence_summary", sa.JSON(), nullable=True),
        sa.Column("face_distance", sa.Float(), nullable=True),
        sa.Column("result_digest", sa.String(length=64), nullable=True),
        sa.Column("ledger_index", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", dt, nullable=False),
        sa.Column("expires_at", dt, nullable=False),
        sa.Column("selfie_at", dt, nullable=True),
        sa.Column("analysed_at", dt, nullable=True),
        sa.Column("decided_at", dt, nullable=True),
        sa.Column("purge_after", dt, nullable=True),
        sa.Column("purged_at", dt, nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_verifications_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
        sa.UniqueConstraint(
            "capture_token_digest", name=op.f("uq_verifications_capture_token_digest")
        ),
        sa.UniqueConstraint(
            "enterprise_id",
            "idempotency_key",
            name=op.f("uq_verifications_enterprise_id"),
        ),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index("ix_verifications_status_created", ["status", "created_at"])
        batch_op.create_index("ix_verifications_purge_after", ["purge_after"])
        batch_op.create_index(batch_op.f("ix_verifications_enterprise_id"), ["enterprise_id"])


def downgrade() -> None:
    op.drop_table("verifications")
