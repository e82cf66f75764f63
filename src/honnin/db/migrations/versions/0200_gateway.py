"""gateway: daily quota counters, operator closures

Revision ID: 0200_gateway
Revises: 0000_base
"""

import sqlalchemy as sa
from alembic import op

import honnin.db.base

revision = "0200_gateway"
down_revision = "0000_base"
branch_labels = ("gateway",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_quota_usage",
        sa.Column("enterprise_id", sa.String(length=40), nullable=False),
        sa.Column("api", sa.String(length=160), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("enterprise_id", "api", "day", name=op.f("pk_gateway_quota_usage")),
    )
    op.create_table(
        "gateway_closures",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("reopen_at", honnin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=False),
        sa.Column("closed_at", honnin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "target", name=op.f("pk_gateway_closures")),
    )


def downgrade() -> None:
    op.drop_table("gateway_closures")
    op.drop_table("gateway_quota_usage")
