"""paging: notification rules per member and severity, paging settings, buzzes per month

Revision ID: 0011_paging
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import webapp.models.base

revision = "0011_paging"
down_revision = "0011_grouping"  # chained after the alert grouping
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "paging_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("steps", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("quiet", sa.Boolean(), nullable=False),
        sa.Column("quiet_start", sa.Integer(), nullable=False),
        sa.Column("quiet_end", sa.Integer(), nullable=False),
        sa.Column("updated_at", webapp.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "member_id", "severity"),
    )
    with op.batch_alter_table("paging_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paging_rule_member_id"), ["member_id"], unique=False)
    op.create_table(
        "paging_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("reserve_phone_for_critical", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "buzz_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("app", sa.Integer(), nullable=False),
        sa.Column("sms", sa.Integer(), nullable=False),
        sa.Column("phone", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["lark_integration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration_id", "month"),
    )


def downgrade():
    op.drop_table("buzz_usage")
    op.drop_table("paging_settings")
    with op.batch_alter_table("paging_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paging_rule_member_id"))
    op.drop_table("paging_rule")
