"""authorisation codes remember whether redirect_uri was named, tokens remember their code

Revision ID: 0007_auth_hardening
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_auth_hardening"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        # Codes live ten minutes; the few in flight during the upgrade were all issued for a
        # named redirect_uri by every client we know, but need not repeat it.
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
