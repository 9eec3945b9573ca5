"""posts, host health and reach

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fediverse.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("paused_until", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("failure_days", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("unavailable_since", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_hosts")),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("in_reply_to_uri", sa.String(length=2048), nullable=True),
        sa.Column("in_reply_to_id", sa.BigInteger(), nullable=True),
        sa.Column("conversation", sa.String(length=2048), nullable=True),
        sa.Column("to", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("cc", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("raw", fediverse.store.types.JSONDocument, nullable=True),
        sa.Column("replies_count", sa.Integer(), nullable=False),
        sa.Column("likes_count", sa.Integer(), nullable=False),
        sa.Column("boosts_count", sa.Integer(), nullable=False),
        sa.Column("published_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("edited_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("deleted_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["actors.id"], name=op.f("fk_posts_author_id_actors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["in_reply_to_id"],
            ["posts.id"],
            name=op.f("fk_posts_in_reply_to_id_posts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("uri", name=op.f("uq_posts_uri")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index("ix_posts_author_id_id", ["author_id", "id"], unique=False)
        batch_op.create_index("ix_posts_in_reply_to_uri", ["in_reply_to_uri"], unique=False)
        batch_op.create_index(
            "ix_posts_local_visibility_id", ["local", "visibility", "id"], unique=False
        )

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recipients", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.create_index("ix_deliveries_host_state", ["host", "state"], unique=False)

    with op.batch_alter_table("outbox_activities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "followers_targeted", sa.Integer(), nullable=False, server_default=sa.text("0")
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_activities", schema=None) as batch_op:
        batch_op.drop_column("followers_targeted")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_host_state")
        batch_op.drop_column("recipients")

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_local_visibility_id")
        batch_op.drop_index("ix_posts_in_reply_to_uri")
        batch_op.drop_index("ix_posts_author_id_id")

    op.drop_table("posts")
    op.drop_table("hosts")
