"""alert source kind: which monitoring tool posts to an intake URL

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 12:20:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alert_source", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="generic", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("alert_source", schema=None) as batch_op:
        batch_op.drop_column("kind")
