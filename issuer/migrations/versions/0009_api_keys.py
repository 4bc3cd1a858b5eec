"""API keys for bulk re-checks of the register (``POST /api/v1/register/check``).

Each key is kept as the SHA-256 of its secret only (the secret is shown once, at creation),
with a name for the employer it was given to, its own rate per minute (null: the setting
``apikey_default_rate_per_minute``), and when it was created, last used and revoked.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("rate_per_minute", sa.Integer),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_used_at", _TS),
        sa.Column("revoked_at", _TS),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("api_keys")
