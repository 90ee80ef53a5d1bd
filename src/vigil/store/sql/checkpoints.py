"""Checkpoints in SQL: one upserted row per name."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from vigil.store.records import from_us, to_us
from vigil.store.sql.database import Database
from vigil.store.sql.tables import checkpoints


class SqlCheckpoints:
    """The :class:`~vigil.store.CheckpointStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(self, name: str, blob: bytes, *, now: datetime) -> None:
        with self._database.transaction() as connection:
            insert = self._database.insert(connection, checkpoints).values(
                name=name, blob=bytes(blob), saved_at_us=to_us(now)
            )
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=["name"],
                    set_={"blob": insert.excluded.blob, "saved_at_us": insert.excluded.saved_at_us},
                )
            )

    def get(self, name: str) -> tuple[bytes, datetime] | None:
        query = sa.select(checkpoints.c.blob, checkpoints.c.saved_at_us).where(
            checkpoints.c.name == name
        )
        with self._database.transaction() as connection:
            row = connection.execute(query).first()
        return None if row is None else (bytes(row[0]), from_us(row[1]))
