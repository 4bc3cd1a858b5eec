"""Charter credentials, their versions and copies, and Bitstring Status Lists.

Every credential stored before becomes a charter credential (same uuid and URL) with one
current version (the award) and one copy: the exact document issued, served as before, without
a status entry. The first status list is created empty and unsigned: it is signed by the first
signing that draws an index from it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_TS = sa.DateTime(timezone=True)
LIST_SIZE = 131_072


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "status_lists",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("bits", sa.LargeBinary, nullable=False),
        sa.Column("allocated", sa.LargeBinary, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.Column("credential", sa.Text),
        sa.Column("sha256", sa.String(64)),
        sa.Column("key_id", sa.String(64)),
        sa.Column("signed_at", _TS),
        sa.Column("valid_until", _TS),
        sa.Column("created_at", _TS, nullable=False),
    )
    # A pass for a holder who already has one waiting is refused on import: found by holder.
    op.create_index("ix_exam_results_holder", "exam_results", ["holder_id"])
    op.create_table(
        "charter_credentials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("url", sa.String(512), nullable=False, unique=True),
        sa.Column("holder_id", sa.Integer, sa.ForeignKey("holders.id"), nullable=False),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("exam_results.id"), unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_since", _TS, nullable=False),
        sa.Column("public_reason", sa.Text),
        sa.Column("internal_note", sa.Text),
        sa.Column("awarded_at", _TS, nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
    )
    op.create_index("ix_charter_credentials_holder", "charter_credentials", ["holder_id"])
    op.create_index("ix_charter_credentials_issued", "charter_credentials", ["issued_at", "id"])
    op.create_table(
        "credential_versions",
        sa.Column("credential_id", sa.String(36), sa.ForeignKey("charter_credentials.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version_state", sa.String(16), nullable=False),
        sa.Column("valid_from", _TS, nullable=False),
        sa.Column("valid_until", _TS, nullable=False),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("exam_results.id")),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id")),
        sa.Column("issued_at", _TS, nullable=False),
    )
    op.create_index("ix_credential_versions_valid_until", "credential_versions", ["valid_until"])
    op.create_table(
        "credential_copies",
        sa.Column("id", _BIG, primary_key=True, autoincrement=True),
        sa.Column("credential_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("status_list", sa.Integer, sa.ForeignKey("status_lists.number")),
        sa.Column("status_index", sa.Integer),
        sa.Column("served", sa.Boolean, nullable=False),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id")),
        sa.Column("issued_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id", "version"],
            ["credential_versions.credential_id", "credential_versions.version"],
        ),
    )
    op.create_index("ix_credential_copies_version", "credential_copies", ["credential_id", "version"])
    # Each stored credential: a charter credential, its award as the current version, its
    # document as the served copy (no status entry: it was signed before status lists).
    op.execute(
        "INSERT INTO charter_credentials (id, url, holder_id, result_id, state, state_since, awarded_at,"
        " issued_at) SELECT id, url, holder_id, result_id, 'current', issued_at, valid_from, issued_at"
        " FROM credentials"
    )
    op.execute(
        "INSERT INTO credential_versions (credential_id, version, kind, version_state, valid_from,"
        " valid_until, result_id, job_id, issued_at) SELECT id, 1, 'award', 'current', valid_from,"
        " valid_until, result_id, job_id, issued_at FROM credentials"
    )
    op.execute(
        "INSERT INTO credential_copies (credential_id, version, format, document, sha256, key_id,"
        " status_list, status_index, served, job_id, issued_at) SELECT id, 1, format, document, sha256,"
        " key_id, NULL, NULL, TRUE, job_id, issued_at FROM credentials ORDER BY issued_at, id"
    )
    op.drop_index("ix_credentials_issued", table_name="credentials")
    op.drop_index("ix_credentials_valid_until", table_name="credentials")
    op.drop_index("ix_credentials_holder", table_name="credentials")
    op.drop_table("credentials")
    empty = bytes(LIST_SIZE // 8)
    op.bulk_insert(
        sa.table(
            "status_lists",
            sa.column("number", sa.Integer),
            sa.column("size", sa.Integer),
            sa.column("bits", sa.LargeBinary),
            sa.column("allocated", sa.LargeBinary),
            sa.column("used", sa.Integer),
            sa.column("created_at", _TS),
        ),
        [
            {
                "number": 1,
                "size": LIST_SIZE,
                "bits": empty,
                "allocated": empty,
                "used": 0,
                "created_at": datetime.now(UTC),
            }
        ],
    )


def downgrade() -> None:
    """Undo this revision: only a registry whose credentials each have one version and one copy."""
    raise NotImplementedError("the charter lifecycle tables cannot be folded back into one credentials table")
