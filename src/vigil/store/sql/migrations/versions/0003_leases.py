"""Leases: one named holder at a time (e.g. the pipeline), so two runners never share windows.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
