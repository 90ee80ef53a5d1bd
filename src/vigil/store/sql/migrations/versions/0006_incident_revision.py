"""Incidents carry a revision: every write is conditional on the revision it was read at, so the
server's verdicts and the pipeline's cycles never silently write over each other's changes.
Rows written before read as revision 1.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with a constant default, as 0005: no table copy.
    op.add_column(
        "incidents", sa.Column("revision", sa.Integer(), nullable=False, server_default="1")
    )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("revision")
