"""Incidents keep their attribution: the hosts or tag values that carry a latency or traffic
incident's excess, as JSON.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite allows one with a constant default): no table copy, so many
    # processes creating one new store at once still open it within the lock timeout.
    op.add_column(
        "incidents", sa.Column("attribution", sa.Text(), nullable=False, server_default="[]")
    )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("attribution")
