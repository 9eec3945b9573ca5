"""profiles, runtime settings, registrations, invites, media

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fediverse.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("updated_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_instance_settings")),
    )
    op.create_table(
        "registration_requests",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status_token_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("decided_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_requests")),
        sa.UniqueConstraint(
            "status_token_hash", name=op.f("uq_registration_requests_status_token_hash")
        ),
    )
    with op.batch_alter_table("registration_requests", schema=None) as batch_op:
        batch_op.create_index("ix_registration_requests_state_id", ["state", "id"], unique=False)
        batch_op.create_index("ix_registration_requests_username", ["username"], unique=False)

    op.create_table(
        "media",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["actors.id"], name=op.f("fk_media_owner_id_actors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
        sa.UniqueConstraint("file_name", name=op.f("uq_media_file_name")),
    )
    op.create_table(
        "profiles",
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=120), nullable=False),
        sa.Column("industry", sa.String(length=120), nullable=False),
        sa.Column("company", sa.String(length=120), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("skills", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("interests", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("hobbies", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("links", fediverse.store.types.JSONDocument, nullable=False),
        sa.Column("updated_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["actors.id"],
            name=op.f("fk_profiles_actor_id_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("actor_id", name=op.f("pk_profiles")),
    )
    op.create_table(
        "invites",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("expires_at", fediverse.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_invites_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invites_code_hash")),
    )


def downgrade() -> None:
    op.drop_table("invites")
    op.drop_table("profiles")
    op.drop_table("media")
    with op.batch_alter_table("registration_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_registration_requests_username")
        batch_op.drop_index("ix_registration_requests_state_id")

    op.drop_table("registration_requests")
    op.drop_table("instance_settings")
