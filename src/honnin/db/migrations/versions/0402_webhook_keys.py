"""inquiries: webhook key versions (rotation of an enterprise's webhook signing key)

Revision ID: 0402_webhook_keys
Revises: 0401_inquiry_listings
"""

import sqlalchemy as sa
from alembic import op

import honnin.db.base

revision = "0402_webhook_keys"
down_revision = "0401_inquiry_listings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dt = honnin.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "webhook_keys",
        sa.Column("enterprise_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous_version", sa.Integer(), nullable=True),
        sa.Column("previous_valid_until", dt, nullable=True),
        sa.Column("rotated_at", dt, nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_webhook_keys_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("enterprise_id", name=op.f("pk_webhook_keys")),
    )


def downgrade() -> None:
    op.drop_table("webhook_keys")
