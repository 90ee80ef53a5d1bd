"""Profiles in SQL: one row per (model, version, window), the profile as its encoded bytes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from vigil.core import ProfileKey, Window
from vigil.store.records import (
    decode_profiles,
    dedupe_last,
    duration_us,
    from_us,
    stored_profile,
    to_us,
)
from vigil.store.sql import tables
from vigil.store.sql.database import Database
from vigil.store.values import StoredProfile

if TYPE_CHECKING:
    from vigil.profile import Profile

_KEY = ("model", "version", "window_start_us", "window_end_us")


class SqlProfiles:
    """The :class:`~vigil.store.ProfileStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(self, profiles: Iterable[Profile], *, now: datetime) -> int:
        records = dedupe_last(
            (profile.key, stored_profile(profile, now=now)) for profile in profiles
        )
        rows = [
            {
                "model": record.key.model,
                "version": record.key.version,
                "window_start_us": to_us(record.key.window.start),
                "window_end_us": to_us(record.key.window.end),
                "fingerprint": record.fingerprint,
                "rows": record.rows,
                "blob": record.blob,
                "updated_at_us": to_us(record.updated_at),
            }
            for record in records
        ]
        with self._database.transaction() as connection:
            self._database.upsert(connection, tables.profiles, rows, _KEY)
        return len(rows)

    def get(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[Profile]:
        return decode_profiles(
            self.records(model=model, version=version, start=start, end=end, duration=duration)
        )

    def records(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[StoredProfile]:
        table = tables.profiles
        query = sa.select(table).order_by(
            table.c.model, table.c.version, table.c.window_start_us, table.c.window_end_us
        )
        if model is not None:
            query = query.where(table.c.model == model)
        if version is not None:
            query = query.where(table.c.version == version)
        if start is not None:
            query = query.where(table.c.window_start_us >= to_us(start))
        if end is not None:
            query = query.where(table.c.window_end_us <= to_us(end))
        if duration is not None:
            span = table.c.window_end_us - table.c.window_start_us
            query = query.where(span == duration_us(duration))
        return [
            StoredProfile(
                key=ProfileKey(
                    model=row["model"],
                    version=row["version"],
                    window=Window(
                        start=from_us(row["window_start_us"]), end=from_us(row["window_end_us"])
                    ),
                ),
                fingerprint=row["fingerprint"],
                rows=int(row["rows"]),
                blob=bytes(row["blob"]),
                updated_at=from_us(row["updated_at_us"]),
            )
            for row in self._database.rows(query)
        ]

    def first_window_start(self, *, duration: timedelta) -> datetime | None:
        table = tables.profiles
        span = table.c.window_end_us - table.c.window_start_us
        query = sa.select(sa.func.min(table.c.window_start_us)).where(span == duration_us(duration))
        with self._database.transaction() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else from_us(found)

    def last_window_end(
        self, *, duration: timedelta | None = None, model: str | None = None
    ) -> datetime | None:
        table = tables.profiles
        span = table.c.window_end_us - table.c.window_start_us
        query = sa.select(sa.func.max(table.c.window_end_us))
        if duration is not None:
            query = query.where(span == duration_us(duration))
        if model is not None:
            query = query.where(table.c.model == model)
        with self._database.transaction() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else from_us(found)

    def models(self) -> list[str]:
        query = sa.select(tables.profiles.c.model).distinct().order_by(tables.profiles.c.model)
        with self._database.transaction() as connection:
            return [str(model) for model in connection.execute(query).scalars()]

    def delete(self, keys: Iterable[ProfileKey]) -> int:
        table = tables.profiles
        deleted = 0
        with self._database.transaction() as connection:
            for key in set(keys):
                result = connection.execute(
                    sa.delete(table).where(
                        table.c.model == key.model,
                        table.c.version == key.version,
                        table.c.window_start_us == to_us(key.window.start),
                        table.c.window_end_us == to_us(key.window.end),
                    )
                )
                deleted += int(result.rowcount)
        return deleted
