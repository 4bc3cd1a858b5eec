"""Wallet-bound copies: the wallet's DID a copy is bound to, and the channel it went out by.

A wallet-bound copy is a copy of a version signed for one holder wallet (OpenID4VCI, the
Learner Credential Wallet exchange): ``credentialSubject.id`` is the wallet's DID, and it
carries its own status index, so it never pairs with the version's issued pair. Both columns
stay null for every other copy.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("credential_copies") as table:
        table.add_column(sa.Column("bound_to", sa.String(2048)))
        table.add_column(sa.Column("channel", sa.String(16)))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("credential_copies") as table:
        table.drop_column("channel")
        table.drop_column("bound_to")
