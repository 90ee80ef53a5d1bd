"""Leases in SQL: one row per name, taken by one atomic upsert.

Acquiring is one statement, ``INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE`` the stored
lease is expired or already ours, so the database (SQLite's write lock, PostgreSQL's row lock on
the conflicting key) decides between two racing holders: exactly one gets a row back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from vigil.core import ConfigError
from vigil.store.records import from_us, to_us
from vigil.store.sql.database import Database
from vigil.store.sql.tables import leases


class SqlLeases:
    """The :class:`~vigil.store.LeaseStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        if ttl <= timedelta(0):
            raise ConfigError(f"lease ttl must be positive, got {ttl}")
        with self._database.transaction() as connection:
            insert = self._database.insert(connection, leases).values(
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

    def expiry(self, name: str) -> datetime | None:
        query = sa.select(leases.c.expires_at_us).where(leases.c.name == name)
        with self._database.transaction() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else from_us(found)

    def release(self, name: str, holder: str) -> bool:
        with self._database.transaction() as connection:
            result = connection.execute(
                sa.delete(leases).where(leases.c.name == name, leases.c.holder == holder)
            )
            return result.rowcount == 1
