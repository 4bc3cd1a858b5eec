"""The registry: holders, exam results, jobs, credentials, job items, hash-chained audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "holders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "exam_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("candidate_id", sa.String(64), nullable=False),
        sa.Column("exam_version", sa.String(64), nullable=False),
        sa.Column("exam_date", sa.Date, nullable=False),
        sa.Column("holder_id", sa.Integer, sa.ForeignKey("holders.id"), nullable=False),
        sa.Column("registered_on", sa.Date, nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("score", sa.String(16)),
        sa.Column("pathway", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("imported_at", _TS, nullable=False),
        sa.UniqueConstraint("candidate_id", "exam_version", "exam_date", name="uq_exam_results_exam"),
    )
    op.create_index("ix_exam_results_pending", "exam_results", ["status", "id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("workers", sa.Integer, nullable=False),
        sa.Column("issued", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("report", sa.Text),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("url", sa.String(512), nullable=False, unique=True),
        sa.Column("holder_id", sa.Integer, sa.ForeignKey("holders.id"), nullable=False),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("exam_results.id"), unique=True),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id")),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("valid_from", _TS, nullable=False),
        sa.Column("valid_until", _TS, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
    )
    op.create_index("ix_credentials_holder", "credentials", ["holder_id"])
    op.create_index("ix_credentials_valid_until", "credentials", ["valid_until"])
    op.create_table(
        "job_items",
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("exam_results.id"), primary_key=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("credential_id", sa.String(36)),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", _BIG, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", _BIG, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(
        sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("hash")),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )


def downgrade() -> None:
    """Undo this revision."""
    for name in ("audit_head", "audit_log", "job_items", "credentials", "jobs", "exam_results", "holders"):
        op.drop_table(name)
