"""inquiries: bank inquiries and webhook outbox

Revision ID: 0400_inquiries
Revises: 0000_base
"""

import sqlalchemy as sa
from alembic import op

import honnin.db.base

revision = "0400_inquiries"
down_revision = "0000_base"
branch_labels = ("inquiries",)
depends_on = "0001_foundation"


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("enterprise_id", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", honnin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", honnin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", honnin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_webhook_deliveries_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_object_id"), ["object_id"], unique=False
        )

    op.create_table(
        "bank_inquiries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("enterprise_id", sa.String(length=40), nullable=False),
        sa.Column("bank_id", sa.String(length=64), nullable=False),
        sa.Column("contract_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("return_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("start_token_digest", sa.String(length=64), nullable=False),
        sa.Column("state_digest", sa.String(length=64), nullable=False),
        sa.Column("sealed_applicant", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_flow_secrets", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_result", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_bank_payload", sa.LargeBinary(), nullable=True),
        sa.Column("result_digest", sa.String(length=64), nullable=True),
        sa.Column("match_overall", sa.String(length=20), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", honnin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", honnin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("consented_at", honnin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", honnin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", honnin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("purge_after", honnin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("purged_at", honnin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["banks.id"], name=op.f("fk_bank_inquiries_bank_id_banks")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_bank_inquiries_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_bank_inquiries_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_inquiries")),
        sa.UniqueConstraint(
            "enterprise_id", "idempotency_key", name=op.f("uq_bank_inquiries_enterprise_id")
        ),
        sa.UniqueConstraint(
            "start_token_digest", name=op.f("uq_bank_inquiries_start_token_digest")
        ),
        sa.UniqueConstraint("state_digest", name=op.f("uq_bank_inquiries_state_digest")),
    )
    with op.batch_alter_table("bank_inquiries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_inquiries_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index("ix_bank_inquiries_purge_after", ["purge_after"], unique=False)
        batch_op.create_index(
            "ix_bank_inquiries_status_expires", ["status", "expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bank_inquiries", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_inquiries_status_expires")
        batch_op.drop_index("ix_bank_inquiries_purge_after")
        batch_op.drop_index(batch_op.f("ix_bank_inquiries_enterprise_id"))

    op.drop_table("bank_inquiries")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_object_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_enterprise_id"))
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
