"""OpenID4VCI offers: single-use offers with their hashed codes, PIN and access token, and nonces.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "wallet_offers",
        sa.Column("id", _BIG, primary_key=True, autoincrement=True),
        sa.Column("offer_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("credential_id", sa.String(36), sa.ForeignKey("charter_credentials.id"), nullable=False),
        sa.Column("pin_hash", sa.String(128)),
        sa.Column("pin_failures", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("fetched_at", _TS),
        sa.Column("code_hash", sa.String(64), unique=True),
        sa.Column("code_expires_at", _TS),
        sa.Column("code_used_at", _TS),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("token_expires_at", _TS),
        sa.Column("claimed_at", _TS),
        sa.Column("issued_at", _TS),
    )
    op.create_index("ix_wallet_offers_credential", "wallet_offers", ["credential_id"])
    op.create_table(
        "wallet_nonces",
        sa.Column("nonce_hash", sa.String(64), primary_key=True),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_wallet_nonces_expiry", "wallet_nonces", ["expires_at"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_wallet_nonces_expiry", table_name="wallet_nonces")
    op.drop_table("wallet_nonces")
    op.drop_index("ix_wallet_offers_credential", table_name="wallet_offers")
    op.drop_table("wallet_offers")
