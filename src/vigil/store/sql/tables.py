"""The tables the SQL store queries, as SQLAlchemy Core objects.

These describe the schema at the *head* migration; the migrations in ``migrations/versions``
create it (0001: profiles, quarantine, series points, runs; 0002: the incident side; 0003:
leases; 0004: checkpoints; 0005: incidents' attribution; 0006: incidents' revision; 0007: series
points' standard error). A new
stored aggregate adds a migration and a ``Table`` here.

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
    sa.Column("stderr", sa.Float(precision=53), nullable=True),  # 0007
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

# -- the incident side (migration 0002) ---------------------------------------------------------

_KEY = ("model", "version", "family", "column_name", "statistic")
_FLOAT = sa.Float(precision=53)

anomalies = sa.Table(
    "anomalies",
    metadata,
    *(sa.Column(name, sa.String(), nullable=False) for name in _KEY),
    sa.Column("timestamp_us", sa.BigInteger(), nullable=False),
    sa.Column("detector", sa.String(), nullable=False),
    *(
        sa.Column(name, _FLOAT, nullable=True)
        for name in ("value", "expected", "lower", "upper", "score", "severity")
    ),
    sa.PrimaryKeyConstraint(*_KEY, "timestamp_us", "detector", name="pk_anomalies"),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("model", sa.String(), nullable=False),
    sa.Column("version", sa.String(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("opened_at_us", sa.BigInteger(), nullable=False),
    sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    sa.Column("last_anomaly_at_us", sa.BigInteger(), nullable=False),
    sa.Column("resolved_at_us", sa.BigInteger(), nullable=True),
    sa.Column("severity", _FLOAT, nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("downgraded", sa.Boolean(), nullable=False),
    sa.Column("members", sa.Text(), nullable=False),
    sa.Column("anomalies", sa.Text(), nullable=False),
    sa.Column("attribution", sa.Text(), nullable=False, server_default="[]"),  # 0005
    sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),  # 0006
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("incident_id", sa.String(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("channel", sa.String(), nullable=False),
    sa.Column("delivered", sa.Boolean(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("error", sa.Text(), nullable=False),
    sa.Column("at_us", sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint("incident_id", "state", "channel", name="pk_notifications"),
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("matchers", sa.Text(), nullable=False),
    sa.Column("starts_us", sa.BigInteger(), nullable=False),
    sa.Column("expires_us", sa.BigInteger(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("created_by", sa.String(), nullable=False),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("incident_id", sa.String(), nullable=False),
    sa.Column("at_us", sa.BigInteger(), nullable=False),
    sa.Column("verdict", sa.String(), nullable=False),
    sa.Column("by", sa.String(), nullable=False),
    sa.Column("note", sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint("incident_id", "at_us", name="pk_feedback"),
)

# -- coordination (migrations 0003 and 0004) ----------------------------------------------------

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("holder", sa.String(), nullable=False),
    sa.Column("expires_at_us", sa.BigInteger(), nullable=False),
)

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("blob", sa.LargeBinary(), nullable=False),
    sa.Column("saved_at_us", sa.BigInteger(), nullable=False),
)
