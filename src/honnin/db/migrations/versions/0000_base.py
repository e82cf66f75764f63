"""Root of every migration branch.

Each domain package owns a branch: ``down_revision = "0000_base"`` with its own
``branch_labels``; a branch that references another package's tables names that
revision in ``depends_on``. ``honnin db upgrade`` applies ``heads``.

Revision ID: 0000_base
Revises:
"""

revision = "0000_base"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
