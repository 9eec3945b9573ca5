"""user roles, revocable invites, OAuth codes that remember redirect_uri and tokens their code

Revision ID: 0008_auth_hardening
Revises: 0007_rate_limits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fediverse.store.types

revision = "0008_auth_hardening"
down_revision = "0007_rate_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="member", nullable=False)
        )
    op.execute("UPDATE users SET role = 'admin' WHERE is_admin")

    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_at", fediverse.store.types.UTCDateTime(), nullable=True)
        )
        batch_op.create_index("ix_invites_created_by_id", ["created_by_id"], unique=False)

    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        # The codes in flight at upgrade time (they live ten minutes) need not repeat it.
        batch_op.add_column(
            sa.Column("redirect_uri_given", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_oauth_tokens_code_hash", ["code_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_tokens_code_hash")
        batch_op.drop_column("code_hash")
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        batch_op.drop_column("redirect_uri_given")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index("ix_invites_created_by_id")
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("role")
