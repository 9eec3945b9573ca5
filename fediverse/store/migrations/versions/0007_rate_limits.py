"""drop rate_limits: rate limits are counted by the `limits` library (services/rate_limits.py)

Revision ID: 0007_rate_limits
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fediverse.store.types

revision = "0007_rate_limits"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The rows were short-lived failure counters; nothing in them needs to be kept.
    op.drop_table("rate_limits")


def downgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("window_start", fediverse.store.types.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )
