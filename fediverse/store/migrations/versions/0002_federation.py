"""inbox items, deliveries and blocks

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fediverse.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actor_blocks",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("blocker_id", sa.BigInteger(), nullable=False),
        sa.Column("blocked_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blocked_id"],
            ["actors.id"],
            name=op.f("fk_actor_blocks_blocked_id_actors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blocker_id"],
            ["actors.id"],
            name=op.f("fk_actor_blocks_blocker_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actor_blocks")),
        sa.UniqueConstraint("uri", name=op.f("uq_actor_blocks_uri")),
    )
    with op.batch_alter_table("actor_blocks", schema=None) as batch_op:
        batch_op.create_index("ix_actor_blocks_blocked_id", ["blocked_id"], unique=False)
        batch_op.create_index(
            "uq_actor_blocks_blocker_id_blocked_id", ["blocker_id", "blocked_id"], unique=True
        )

    op.create_table(
        "inbox_items",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("activity_uri", sa.String(length=2048), nullable=False),
        sa.Column("activity_type", sa.String(length=32), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("actor_uri", sa.String(length=2048), nullable=False),
        sa.Column("signer_key_id", sa.String(length=2048), nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("received_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("state_changed_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["actors.id"],
            name=op.f("fk_inbox_items_recipient_id_actors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_items")),
        sa.UniqueConstraint("activity_uri", name=op.f("uq_inbox_items_activity_uri")),
    )
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_items_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("sender_id", sa.BigInteger(), nullable=False),
        sa.Column("inbox_url", sa.String(length=2048), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_response", sa.Text(), nullable=True),
        sa.Column("signature_scheme", sa.String(length=16), nullable=True),
        sa.Column("delivered_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("state_changed_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["outbox_activities.id"],
            name=op.f("fk_deliveries_activity_id_outbox_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["actors.id"],
            name=op.f("fk_deliveries_sender_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_activity_id", ["activity_id"], unique=False)
        batch_op.create_index(
            "ix_deliveries_inbox_url_sender_id_state_id",
            ["inbox_url", "sender_id", "state", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_deliveries_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "uq_deliveries_activity_id_inbox_url", ["activity_id", "inbox_url"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("uq_deliveries_activity_id_inbox_url")
        batch_op.drop_index("ix_deliveries_state_next_attempt_at")
        batch_op.drop_index("ix_deliveries_inbox_url_sender_id_state_id")
        batch_op.drop_index("ix_deliveries_activity_id")

    op.drop_table("deliveries")
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_items_state_next_attempt_at")

    op.drop_table("inbox_items")
    with op.batch_alter_table("actor_blocks", schema=None) as batch_op:
        batch_op.drop_index("uq_actor_blocks_blocker_id_blocked_id")
        batch_op.drop_index("ix_actor_blocks_blocked_id")

    op.drop_table("actor_blocks")
