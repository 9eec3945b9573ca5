"""fetch attempts: the negative cache of remote posts fetched for readers

Revision ID: 0009_fetch_attempts
Revises: 0008_auth_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fediverse.store.types

revision = "0009_fetch_attempts"
down_revision = "0008_auth_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fetch_attempts",
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("attempted_at", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("not_before", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("uri", name=op.f("pk_fetch_attempts")),
    )
    with op.batch_alter_table("fetch_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_fetch_attempts_not_before", ["not_before"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fetch_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_fetch_attempts_not_before")
    op.drop_table("fetch_attempts")
