"""schedules: cover requests, shift reminder settings

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminder_minutes", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.add_column(sa.Column("handoff_chat_id", sa.String(length=64), nullable=True))
    op.create_table(
        "cover_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("covered_by_id", sa.Integer(), nullable=True),
        sa.Column("covered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("override_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["covered_by_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["override_id"], ["schedule_override.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedule.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cover_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cover_request_schedule_id"), ["schedule_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("cover_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cover_request_schedule_id"))
    op.drop_table("cover_request")
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.drop_column("handoff_chat_id")
        batch_op.drop_column("reminder_minutes")
