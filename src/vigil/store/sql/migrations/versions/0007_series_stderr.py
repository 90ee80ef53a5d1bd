"""Series points carry the standard error of their value (``Series.stderr``): a mean's
``s/sqrt(n)``, a rate's binomial one, a quantile's from its rank interval. NULL where the
statistic has none and for points written before.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A plain nullable ADD COLUMN, as 0005 and 0006: no table copy on either database.
    op.add_column("series_points", sa.Column("stderr", sa.Float(precision=53), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series_points") as batch:
        batch.drop_column("stderr")
