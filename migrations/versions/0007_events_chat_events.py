"""chat events: the bot's chats as Lark's events tell them, a dissolved war room, event evidence

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lark_chat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum("member", "removed", "disbanded", name="chatstatus", native_enum=False, length=12),
            nullable=False,
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["lark_integration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration_id", "chat_id"),
    )
    with op.batch_alter_table("war_room", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("lark_integration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("events_verified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("lark_integration", schema=None) as batch_op:
        batch_op.drop_column("last_event_at")
        batch_op.drop_column("events_verified_at")
    with op.batch_alter_table("war_room", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
    op.drop_table("lark_chat")
