"""Credentials listed newest first and paged by position: an index on (issued_at, id).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_credentials_issued", "credentials", ["issued_at", "id"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_credentials_issued", table_name="credentials")
