"""actors, users, groups, follows and the outbox

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fediverse.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actors",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("username_key", sa.String(length=255), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("summary_html", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("inbox_url", sa.String(length=2048), nullable=False),
        sa.Column("outbox_url", sa.String(length=2048), nullable=True),
        sa.Column("shared_inbox_url", sa.String(length=2048), nullable=True),
        sa.Column("followers_url", sa.String(length=2048), nullable=True),
        sa.Column("following_url", sa.String(length=2048), nullable=True),
        sa.Column("featured_url", sa.String(length=2048), nullable=True),
        sa.Column("icon_url", sa.String(length=2048), nullable=True),
        sa.Column("image_url", sa.String(length=2048), nullable=True),
        sa.Column("manually_approves_followers", sa.Boolean(), nullable=False),
        sa.Column("discoverable", sa.Boolean(), nullable=False),
        sa.Column("public_key_id", sa.String(length=2048), nullable=True),
        sa.Column("public_key_pem", sa.Text(), nullable=True),
        sa.Column("private_key_pem", sa.Text(), nullable=True),
        sa.Column("raw", fediverse.store.types.JSONDocument, nullable=True),
        sa.Column("published_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("fetched_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actors")),
        sa.UniqueConstraint("uri", name=op.f("uq_actors_uri")),
    )
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.create_index("ix_actors_public_key_id", ["public_key_id"], unique=False)
        batch_op.create_index(
            "ix_actors_username_key_domain", ["username_key", "domain"], unique=False
        )
        batch_op.create_index(
            "uq_actors_local_username_key",
            ["username_key"],
            unique=True,
            sqlite_where=sa.text("local = 1"),
            postgresql_where=sa.text("local"),
        )

    op.create_table(
        "follows",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("follower_id", sa.BigInteger(), nullable=False),
        sa.Column("followee_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["followee_id"],
            ["actors.id"],
            name=op.f("fk_follows_followee_id_actors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["follower_id"],
            ["actors.id"],
            name=op.f("fk_follows_follower_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follows")),
        sa.UniqueConstraint("uri", name=op.f("uq_follows_uri")),
    )
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_follows_followee_id_state_id", ["followee_id", "state", "id"], unique=False
        )
        batch_op.create_index(
            "ix_follows_follower_id_state_id", ["follower_id", "state", "id"], unique=False
        )
        batch_op.create_index(
            "uq_follows_follower_id_followee_id", ["follower_id", "followee_id"], unique=True
        )

    op.create_table(
        "group_roles",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["actors.id"],
            name=op.f("fk_group_roles_actor_id_actors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["actors.id"],
            name=op.f("fk_group_roles_group_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "actor_id", name=op.f("pk_group_roles")),
    )
    with op.batch_alter_table("group_roles", schema=None) as batch_op:
        batch_op.create_index("ix_group_roles_actor_id", ["actor_id"], unique=False)

    op.create_table(
        "outbox_activities",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("object_uri", sa.String(length=2048), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("payload", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("created_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["actors.id"],
            name=op.f("fk_outbox_activities_actor_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_activities")),
        sa.UniqueConstraint("uri", name=op.f("uq_outbox_activities_uri")),
    )
    with op.batch_alter_table("outbox_activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_activities_actor_id_public_id", ["actor_id", "public", "id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("created_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("last_sign_in_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_users_actor_id_actors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("actor_id", name=op.f("uq_users_actor_id")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )


def downgrade() -> None:
    op.drop_table("users")
    with op.batch_alter_table("outbox_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_activities_actor_id_public_id")

    op.drop_table("outbox_activities")
    with op.batch_alter_table("group_roles", schema=None) as batch_op:
        batch_op.drop_index("ix_group_roles_actor_id")

    op.drop_table("group_roles")
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.drop_index("uq_follows_follower_id_followee_id")
        batch_op.drop_index("ix_follows_follower_id_state_id")
        batch_op.drop_index("ix_follows_followee_id_state_id")

    op.drop_table("follows")
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_actors_local_username_key",
            sqlite_where=sa.text("local = 1"),
            postgresql_where=sa.text("local"),
        )
        batch_op.drop_index("ix_actors_username_key_domain")
        batch_op.drop_index("ix_actors_public_key_id")

    op.drop_table("actors")
