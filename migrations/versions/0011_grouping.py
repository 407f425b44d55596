"""grouping: per-channel noise rules, per-alert state, storm and flapping marks

Existing channels get no noise_rules row, so their grouping stays off.

Revision ID: 0011_grouping
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import webapp.models.base

revision = "0011_grouping"
down_revision = "0011_hooks"  # chained after the webhooks
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "noise_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("group_by", JSON, nullable=False),
        sa.Column("group_window_minutes", sa.Integer(), nullable=False),
        sa.Column("group_missing", sa.Boolean(), nullable=False),
        sa.Column("close_when_recovered", sa.Boolean(), nullable=False),
        sa.Column("storm_thresholds", JSON, nullable=False),
        sa.Column("inhibitions", JSON, nullable=False),
        sa.Column("flap_enabled", sa.Boolean(), nullable=False),
        sa.Column("flap_changes", sa.Integer(), nullable=False),
        sa.Column("flap_minutes", sa.Integer(), nullable=False),
        sa.Column("flap_mute_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", webapp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("alerts_firing", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("last_merged_at", webapp.models.base.UTCDateTime(timezone=True))
        )
        batch_op.add_column(
            sa.Column("storm_level", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", webapp.models.base.UTCDateTime(timezone=True)))
        batch_op.add_column(sa.Column("quiet_reason", sa.String(length=16)))
        batch_op.add_column(sa.Column("inhibited_by", sa.Integer()))
        batch_op.add_column(sa.Column("state_changes", JSON, nullable=True))
        batch_op.add_column(
            sa.Column("flapping_until", webapp.models.base.UTCDateTime(timezone=True))
        )
        batch_op.create_index("ix_alert_source_dedup", ["source_id", "dedup_key", "id"])
    # What the new columns would have said: every alert seen when it arrived, and the
    # incidents' firing alerts counted.
    op.execute("UPDATE alert SET last_seen_at = updated_at, state_changes = '[]'")
    op.execute(
        "UPDATE incident SET alerts_firing = (SELECT count(*) FROM alert"
        " WHERE alert.incident_id = incident.id AND alert.status = 'firing')"
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.alter_column("state_changes", existing_type=JSON, nullable=False)


def downgrade():
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_source_dedup")
        batch_op.drop_column("flapping_until")
        batch_op.drop_column("state_changes")
        batch_op.drop_column("inhibited_by")
        batch_op.drop_column("quiet_reason")
        batch_op.drop_column("last_seen_at")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("storm_level")
        batch_op.drop_column("last_merged_at")
        batch_op.drop_column("alerts_firing")
    op.drop_table("noise_rules")
