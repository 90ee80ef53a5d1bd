"""Initial schema: profiles, quarantine, series points and run records.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY autoincrements


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("window_start_us", sa.BigInteger(), nullable=False),
        sa.Column("window_end_us", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "model", "version", "window_start_us", "window_end_us", name="uq_profiles_key"
        ),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("window_start_us", sa.BigInteger(), nullable=True),
        sa.Column("ingested_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_quarantine_model_window", "quarantine", ["model", "window_start_us"])
    op.create_index("ix_quarantine_source", "quarantine", ["source"])
    op.create_table(
        "series_points",
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("family", sa.String(), nullable=False),
        sa.Column("column_name", sa.String(), nullable=False),
        sa.Column("statistic", sa.String(), nullable=False),
        sa.Column("timestamp_us", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("support", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint(
            "model",
            "version",
            "family",
            "column_name",
            "statistic",
            "timestamp_us",
            name="pk_series_points",
        ),
    )
    op.create_table(
        "runs",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("window_start_us", sa.BigInteger(), nullable=False),
        sa.Column("window_end_us", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_at_us", sa.BigInteger(), nullable=True),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("rows_profiled", sa.BigInteger(), nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.UniqueConstraint(
            "stage", "model", "window_start_us", "window_end_us", name="uq_runs_key"
        ),
    )


def downgrade() -> None:
    op.drop_table("runs")
    op.drop_table("series_points")
    op.drop_index("ix_quarantine_source", table_name="quarantine")
    op.drop_index("ix_quarantine_model_window", table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_table("profiles")
