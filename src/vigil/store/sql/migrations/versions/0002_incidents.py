"""Incidents and what surrounds them: anomalies, notifications, silences, feedback, leases.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_KEY = ("model", "version", "family", "column_name", "statistic")


def upgrade() -> None:
    op.create_table(
        "anomalies",
        *(sa.Column(name, sa.String(), nullable=False) for name in _KEY),
        sa.Column("timestamp_us", sa.BigInteger(), nullable=False),
        sa.Column("detector", sa.String(), nullable=False),
        *(
            sa.Column(name, sa.Float(precision=53), nullable=True)
            for name in ("value", "expected", "lower", "upper", "score", "severity")
        ),
        sa.PrimaryKeyConstraint(*_KEY, "timestamp_us", "detector", name="pk_anomalies"),
    )
    op.create_index("ix_anomalies_model_time", "anomalies", ["model", "timestamp_us"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("opened_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.Column("last_anomaly_at_us", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at_us", sa.BigInteger(), nullable=True),
        sa.Column("severity", sa.Float(precision=53), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("downgraded", sa.Boolean(), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("anomalies", sa.Text(), nullable=False),
    )
    op.create_index("ix_incidents_model_state", "incidents", ["model", "state"])
    op.create_table(
        "notifications",
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "state", "channel", name="pk_notifications"),
    )
    op.create_table(
        "silences",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("starts_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "at_us", name="pk_feedback"),
    )


def downgrade() -> None:
    for table in ("feedback", "silences", "notifications", "incidents", "anomalies"):
        op.drop_table(table)
