"""The checkpoint side of :class:`~vigil.store.SqlStore`: one upserted row per name."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from vigil.store.records import from_us, to_us
from vigil.store.tables import metadata

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("blob", sa.LargeBinary(), nullable=False),
    sa.Column("saved_at_us", sa.BigInteger(), nullable=False),
)


class CheckpointSqlMixin:
    """Needs ``_transaction()`` from :class:`SqlStore`."""

    def _transaction(self) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def put_checkpoint(self, name: str, blob: bytes, *, now: datetime) -> None:
        with self._transaction() as connection:
            dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
            insert = dialect.insert(checkpoints).values(
                name=name, blob=bytes(blob), saved_at_us=to_us(now)
            )
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=["name"],
                    set_={"blob": insert.excluded.blob, "saved_at_us": insert.excluded.saved_at_us},
                )
            )

    def get_checkpoint(self, name: str) -> tuple[bytes, datetime] | None:
        query = sa.select(checkpoints.c.blob, checkpoints.c.saved_at_us).where(
            checkpoints.c.name == name
        )
        with self._transaction() as connection:
            row = connection.execute(query).first()
        return None if row is None else (bytes(row[0]), from_us(row[1]))
