"""Learner Credential Wallet exchanges: single-use VC-API exchanges for a current charter.

The exchange id (the secret last segment of its URL) is kept only as its SHA-256, with the
challenge the wallet signs, the state (open, claimed, used, closed), refused attempts, the
expiry and, once used, the wallet DID its copy was bound to.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "wallet_exchanges",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("credential_id", sa.String(36), sa.ForeignKey("charter_credentials.id"), nullable=False),
        sa.Column("challenge", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("subject", sa.String(512)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("claimed_at", _TS),
        sa.Column("completed_at", _TS),
    )
    op.create_index("ix_wallet_exchanges_credential", "wallet_exchanges", ["credential_id"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_wallet_exchanges_credential", table_name="wallet_exchanges")
    op.drop_table("wallet_exchanges")
