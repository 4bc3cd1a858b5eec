"""Holder delivery: the outbox of messages to holders, and the tokens of their private pages.

An outbox row is one event for one holder (an award, a renewal, a reinstatement, a suspension, a
revocation, an expiry reminder), enqueued in the transaction that records the change; it is
composed and sent later by ``caiep mail send``. A holder token is kept only as its SHA-256.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "outbox",
        sa.Column("id", _BIG, primary_key=True, autoincrement=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("holder_id", sa.Integer, sa.ForeignKey("holders.id"), nullable=False),
        sa.Column("credential_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("dedupe_key", sa.String(160), unique=True),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("composed", sa.LargeBinary),
        sa.Column("composed_at", _TS),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", _TS),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])
    op.create_table(
        "holder_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("holder_id", sa.Integer, sa.ForeignKey("holders.id"), nullable=False),
        sa.Column("outbox_id", _BIG, sa.ForeignKey("outbox.id")),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
    )
    op.create_index("ix_holder_tokens_holder", "holder_tokens", ["holder_id"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_holder_tokens_holder", table_name="holder_tokens")
    op.drop_table("holder_tokens")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
