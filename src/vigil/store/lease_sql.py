"""The lease side of :class:`~vigil.store.SqlStore`, as a mixin over its engine helpers.

Acquiring is one statement, ``INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE`` the stored
lease is expired or already ours, so the database (SQLite's write lock, PostgreSQL's row lock on
the conflicting key) decides between two racing holders: exactly one gets a row back.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from vigil.core import ConfigError
from vigil.store.records import from_us, to_us
from vigil.store.tables import metadata

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("holder", sa.String(), nullable=False),
    sa.Column("expires_at_us", sa.BigInteger(), nullable=False),
)


class LeaseSqlMixin:
    """Needs ``_transaction()`` from :class:`SqlStore`."""

    def _transaction(self) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        if ttl <= timedelta(0):
            raise ConfigError(f"lease ttl must be positive, got {ttl}")
        with self._transaction() as connection:
            dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
            insert = dialect.insert(leases).values(
                name=name, holder=holder, expires_at_us=to_us(now + ttl)
            )
            statement = insert.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "holder": insert.excluded.holder,
                    "expires_at_us": insert.excluded.expires_at_us,
                },
                where=sa.or_(leases.c.holder == holder, leases.c.expires_at_us <= to_us(now)),
            )
            # RETURNING rather than rowcount: drivers disagree on rowcount for upserts.
            return connection.execute(statement.returning(leases.c.holder)).first() is not None

    def lease_expiry(self, name: str) -> datetime | None:
        query = sa.select(leases.c.expires_at_us).where(leases.c.name == name)
        with self._transaction() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else from_us(found)

    def release_lease(self, name: str, holder: str) -> bool:
        with self._transaction() as connection:
            result = connection.execute(
                sa.delete(leases).where(leases.c.name == name, leases.c.holder == holder)
            )
            return result.rowcount == 1
