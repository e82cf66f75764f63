"""inquiries: indexes for the enterprise's listings of inquiries and webhook deliveries

Each table's index on ``enterprise_id`` alone becomes one on ``(enterprise_id,
created_at, id)``: the keyset pages newest first read one index range, and the foreign
key's look-ups use the index's first column as before.

Revision ID: 0401_inquiry_listings
Revises: 0400_inquiries
"""

from alembic import op

revision = "0401_inquiry_listings"
down_revision = "0400_inquiries"
branch_labels = None
depends_on = None

_TABLES = {
    "bank_inquiries": "ix_bank_inquiries",
    "webhook_deliveries": "ix_webhook_deliveries",
}


def upgrade() -> None:
    for table, prefix in _TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                f"{prefix}_enterprise_created", ["enterprise_id", "created_at", "id"], unique=False
            )
            batch_op.drop_index(f"{prefix}_enterprise_id")


def downgrade() -> None:
    for table, prefix in _TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"{prefix}_enterprise_id", ["enterprise_id"], unique=False)
            batch_op.drop_index(f"{prefix}_enterprise_created")
