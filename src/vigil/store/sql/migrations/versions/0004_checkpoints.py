"""Checkpoints: named blobs (the real-time monitors' state) that survive a restart.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("saved_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("checkpoints")
