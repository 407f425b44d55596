"""contract: the last message event Lark sent, evidence of a message-event scope

Revision ID: 0011_contract
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

revision = "0011_contract"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lark_integration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("lark_integration", schema=None) as batch_op:
        batch_op.drop_column("last_message_at")
