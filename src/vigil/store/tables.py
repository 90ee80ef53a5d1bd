"""The tables the SQL store queries, as SQLAlchemy Core objects.

These describe the schema at the *head* migration; the migrations in ``migrations/versions``
create it. A later stage that needs a table adds a migration and a ``Table`` here.

Times are stored as integer microseconds since the Unix epoch (UTC), in columns named ``*_us``:
SQLite has no time-zone-aware timestamp type, and integers compare, index and round-trip the
same way on SQLite and PostgreSQL, with the same arithmetic as :func:`vigil.core.window_start_us`.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
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

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("position", sa.BigInteger(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("raw", sa.Text(), nullable=False),
    sa.Column("model", sa.String(), nullable=False),
    sa.Column("window_start_us", sa.BigInteger(), nullable=True),
    sa.Column("ingested_at_us", sa.BigInteger(), nullable=False),
    sa.Index("ix_quarantine_model_window", "model", "window_start_us"),
    sa.Index("ix_quarantine_source", "source"),
)

series_points = sa.Table(
    "series_points",
    metadata,
    sa.Column("model", sa.String(), nullable=False),
    sa.Column("version", sa.String(), nullable=False),
    sa.Column("family", sa.String(), nullable=False),
    sa.Column("column_name", sa.String(), nullable=False),
    sa.Column("statistic", sa.String(), nullable=False),
    sa.Column("timestamp_us", sa.BigInteger(), nullable=False),
    # NULL means "no value at this step" (NaN): SQLite cannot store NaN in a REAL.
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

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
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
    sa.UniqueConstraint("stage", "model", "window_start_us", "window_end_us", name="uq_runs_key"),
)
