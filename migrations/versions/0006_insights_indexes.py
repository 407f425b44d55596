"""insights indexes: a period's events by kind, and the events people made

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("incident_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incident_event_kind_created",
            ["kind", "created_at", "incident_id", "source"],
            unique=False,
        )
        batch_op.create_index(
            "ix_incident_event_by_person",
            ["incident_id"],
            unique=False,
            postgresql_where=sa.text("actor_id IS NOT NULL"),
            sqlite_where=sa.text("actor_id IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("incident_event", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_event_by_person")
        batch_op.drop_index("ix_incident_event_kind_created")
