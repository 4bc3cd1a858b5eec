"""The public register: each holder's name as the register compares it, and their listing.

``holders.name_key`` is the name in the register's normal form (:func:`caiep.issuer.register.name_key`),
indexed, so that a lookup by full name is one index probe; it is filled here for the holders
already recorded. ``holders.register_listing`` is the holder's choice (``listed`` or
``unlisted``); null means the certification body's default (setting ``register_default``).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caiep.issuer.register import name_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BATCH = 5_000


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("holders", sa.Column("name_key", sa.String(400)))
    op.add_column("holders", sa.Column("register_listing", sa.String(8)))
    connection = op.get_bind()
    holders = sa.table(
        "holders", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("name_key", sa.String)
    )
    after = 0
    while True:
        rows = connection.execute(
            sa.select(holders.c.id, holders.c.name)
            .where(holders.c.id > after)
            .order_by(holders.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            sa.update(holders)
            .where(holders.c.id == sa.bindparam("holder"))
            .values(name_key=sa.bindparam("key")),
            [{"holder": holder_id, "key": name_key(name)} for holder_id, name in rows],
        )
        after = rows[-1][0]
    op.create_index("ix_holders_name_key", "holders", ["name_key"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_holders_name_key", table_name="holders")
    with op.batch_alter_table("holders") as batch:
        batch.drop_column("register_listing")
        batch.drop_column("name_key")
