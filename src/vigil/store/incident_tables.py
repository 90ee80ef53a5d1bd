"""Tables of the incident side of the store (migration 0002), as SQLAlchemy Core objects."""

from __future__ import annotations

import sqlalchemy as sa

from vigil.store.tables import metadata

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
