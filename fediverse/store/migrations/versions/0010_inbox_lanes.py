"""inbox items: find an actor's earlier unfinished item quickly (per-actor ordering)

Revision ID: 0010_inbox_lanes
Revises: 0009_fetch_attempts
"""

from __future__ import annotations

from alembic import op

revision = "0010_inbox_lanes"
down_revision = "0009_fetch_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_items_actor_uri_state_id", ["actor_uri", "state", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_items_actor_uri_state_id")
