"""The SQL store: SQLite by default, PostgreSQL by URL, through SQLAlchemy Core.

Writes are bulk upserts (``INSERT ... ON CONFLICT DO UPDATE``, which both dialects support) sent
as one parameterized executemany per table and transaction; reads are one query each. The schema
is created and versioned by the Alembic migrations in ``migrations/`` (see :mod:`.schema`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from vigil.core import MissingExtraError, ProfileKey, StoreError, Window
from vigil.ingest import QuarantinedRow
from vigil.profile import Profile
from vigil.stats.series import Series
from vigil.store import schema, tables
from vigil.store.base import QuarantineCount, Run, RunStatus, StoredProfile
from vigil.store.checkpoint_sql import CheckpointSqlMixin
from vigil.store.incident_sql import IncidentSqlMixin
from vigil.store.lease_sql import LeaseSqlMixin
from vigil.store.records import (
    SERIES_COLUMNS,
    decode_profiles,
    dedupe_last,
    duration_us,
    from_us,
    series_from_points,
    series_key,
    series_points,
    sort_quarantine_counts,
    stored_profile,
    to_us,
)

_BATCH_ROWS = 5_000
"""Rows per executemany: bounds memory for large writes while keeping round trips few."""

_SERIES_KEY = SERIES_COLUMNS[:5]


class SqlStore(IncidentSqlMixin, LeaseSqlMixin, CheckpointSqlMixin):
    """A :class:`~vigil.store.Store` in a SQL database.

    ``url`` is a SQLAlchemy URL: ``sqlite:///vigil.db`` (a file next to you) or
    ``postgresql+psycopg://user@host/db`` (needs the ``postgres`` extra). A database without
    Vigil's tables gets them on open; one at an older schema must be upgraded with
    :meth:`migrate` (never silently: it may be shared); one at a newer schema is refused.
    With ``create=False`` (what read-only commands open), a missing SQLite file or a database
    without Vigil's tables is an error instead: a mistyped path must not leave an empty store.
    """

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self._engine = _create_engine(url)
        try:
            if not create:
                _refuse_missing_file(self._engine)
            state = schema.schema_state(self._engine)
            if not state.known:
                raise schema.newer_schema_error(state)
            if state.current is None and not create:
                raise StoreError(
                    f"no Vigil store at {self.display_url}: the database has no Vigil tables; "
                    "check the URL (vigil profile or vigil run creates a store)"
                )
            if state.current is None:
                schema.upgrade(self._engine)
            elif not state.is_current:
                raise StoreError(
                    f"the database at {self.display_url} is at schema revision "
                    f"{state.current!r}, older than this Vigil's {state.head!r}; back it up, then "
                    "upgrade it with vigil.store.SqlStore.migrate()"
                )
        except sa.exc.SQLAlchemyError as err:
            self._engine.dispose()
            raise StoreError(f"cannot open the store at {self.display_url}: {err}") from err
        except StoreError:
            self._engine.dispose()
            raise

    @classmethod
    def migrate(cls, url: str) -> SqlStore:
        """Upgrade the database at ``url`` to this code's schema, then open it."""
        engine = _create_engine(url)
        try:
            schema.upgrade(engine)
        except sa.exc.SQLAlchemyError as err:
            shown = engine.url.render_as_string(hide_password=True)
            raise StoreError(f"cannot migrate the store at {shown}: {err}") from err
        finally:
            engine.dispose()
        return cls(url)

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for messages."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        try:
            with self._engine.begin() as connection:
                yield connection
        except sa.exc.SQLAlchemyError as err:
            raise StoreError(f"store {self.display_url}: {err}") from err

    def _upsert(
        self,
        connection: sa.Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        keys: Sequence[str],
    ) -> None:
        if not rows:
            return
        insert = (sqlite.insert if connection.dialect.name == "sqlite" else postgresql.insert)(
            table
        )
        updated = {
            column.name: insert.excluded[column.name]
            for column in table.columns
            if column.name not in keys and not (column.primary_key and column.name == "id")
        }
        statement = insert.on_conflict_do_update(index_elements=list(keys), set_=updated)
        for offset in range(0, len(rows), _BATCH_ROWS):
            connection.execute(statement, list(rows[offset : offset + _BATCH_ROWS]))

    def _upsert_tuples(
        self,
        connection: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[object, ...]],
        keys: Sequence[str],
    ) -> None:
        """The bulk path: one parameterized statement, tuples straight to the driver.

        For large writes SQLAlchemy's per-row parameter processing costs more than the database;
        the statement text is built from the table's own (quoted) names only, values are always
        bound parameters.
        """
        if not rows:
            return
        quote = connection.dialect.identifier_preparer.quote
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        updates = ", ".join(
            f"{quote(name)} = excluded.{quote(name)}" for name in columns if name not in keys
        )
        values = ", ".join(marker for _ in columns)
        # Identifiers only, quoted, from the table metadata; values travel as parameters.
        statement = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "  # noqa: S608
            f"VALUES ({values}) "
            f"ON CONFLICT ({', '.join(quote(name) for name in keys)}) DO UPDATE SET {updates}"
        )
        if connection.dialect.name == "postgresql":
            # COPY into a transaction-scoped staging table, then one set-based upsert: several
            # times faster than executemany on PostgreSQL. Values still never touch the SQL text.
            staging = quote(f"staging_{table.name}")
            names = ", ".join(quote(name) for name in columns)
            connection.exec_driver_sql(
                f"CREATE TEMP TABLE {staging} (LIKE {quote(table.name)}) ON COMMIT DROP"
            )
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            select = f"SELECT {names} FROM {staging}"  # noqa: S608 (quoted identifiers)
            connection.exec_driver_sql(statement.replace(f"VALUES ({values})", select))
            return
        for offset in range(0, len(rows), _BATCH_ROWS):
            connection.exec_driver_sql(statement, list(rows[offset : offset + _BATCH_ROWS]))

    # -- profiles -----------------------------------------------------------------------------

    def put_profiles(self, profiles: Iterable[Profile], *, now: datetime) -> int:
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
        keys = ("model", "version", "window_start_us", "window_end_us")
        with self._transaction() as connection:
            self._upsert(connection, tables.profiles, rows, keys)
        return len(rows)

    def get_profiles(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[Profile]:
        return decode_profiles(
            self.get_profile_records(
                model=model, version=version, start=start, end=end, duration=duration
            )
        )

    def get_profile_records(
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
        with self._transaction() as connection:
            result = connection.execute(query).mappings().all()
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
            for row in result
        ]

    def first_window_start(self, *, duration: timedelta) -> datetime | None:
        table = tables.profiles
        span = table.c.window_end_us - table.c.window_start_us
        query = sa.select(sa.func.min(table.c.window_start_us)).where(span == duration_us(duration))
        with self._transaction() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else from_us(found)

    def list_models(self) -> list[str]:
        query = sa.select(tables.profiles.c.model).distinct().order_by(tables.profiles.c.model)
        with self._transaction() as connection:
            return [str(model) for model in connection.execute(query).scalars()]

    # -- quarantine ---------------------------------------------------------------------------

    def put_quarantined(
        self, rows: Iterable[QuarantinedRow], *, now: datetime, window: Window | None = None
    ) -> int:
        ingested_at_us = to_us(now)
        window_start_us = None if window is None else to_us(window.start)
        values = [
            {
                "source": row.source,
                "position": row.position,
                "reason": row.reason,
                "raw": row.raw,
                "model": row.model or "",
                "window_start_us": window_start_us,
                "ingested_at_us": ingested_at_us,
            }
            for row in rows
        ]
        if values:
            with self._transaction() as connection:
                for offset in range(0, len(values), _BATCH_ROWS):
                    batch = values[offset : offset + _BATCH_ROWS]
                    connection.execute(sa.insert(tables.quarantine), batch)
        return len(values)

    def delete_quarantined(self, sources: Sequence[str]) -> int:
        if not sources:
            return 0
        table = tables.quarantine
        with self._transaction() as connection:
            result = connection.execute(sa.delete(table).where(table.c.source.in_(list(sources))))
        return int(result.rowcount)

    def get_quarantined(
        self, *, model: str | None = None, limit: int = 1000
    ) -> list[QuarantinedRow]:
        table = tables.quarantine
        query = sa.select(table).order_by(table.c.id).limit(limit)
        if model is not None:
            query = query.where(table.c.model == model)
        with self._transaction() as connection:
            result = connection.execute(query).mappings().all()
        return [
            QuarantinedRow(
                source=row["source"],
                position=None if row["position"] is None else int(row["position"]),
                reason=row["reason"],
                raw=row["raw"],
                model=row["model"] or None,
            )
            for row in result
        ]

    def quarantine_counts(
        self, *, model: str | None = None, since: datetime | None = None
    ) -> list[QuarantineCount]:
        table = tables.quarantine
        query = sa.select(table.c.model, table.c.window_start_us, sa.func.count()).group_by(
            table.c.model, table.c.window_start_us
        )
        if model is not None:
            query = query.where(table.c.model == model)
        if since is not None:
            query = query.where(table.c.window_start_us >= to_us(since))
        with self._transaction() as connection:
            result = connection.execute(query).all()
        counts = [
            QuarantineCount(
                model=str(row_model),
                window_start=None if start_us is None else from_us(start_us),
                rows=int(count),
            )
            for row_model, start_us, count in result
        ]
        return sort_quarantine_counts(counts)

    # -- series -------------------------------------------------------------------------------

    def put_series(self, series: Iterable[Series]) -> int:
        points = series_points(series)
        with self._transaction() as connection:
            self._upsert_tuples(
                connection, tables.series_points, SERIES_COLUMNS, points, SERIES_COLUMNS[:6]
            )
        return len(points)

    def get_series(
        self,
        *,
        model: str,
        version: str | None = None,
        family: str | None = None,
        since: datetime | None = None,
    ) -> list[Series]:
        table = tables.series_points
        key_columns = [table.c[name] for name in _SERIES_KEY]
        query = (
            sa.select(*key_columns, table.c.timestamp_us, table.c.value, table.c.support)
            .where(table.c.model == model)
            .order_by(*key_columns, table.c.timestamp_us)
        )
        if version is not None:
            query = query.where(table.c.version == version)
        if family is not None:
            query = query.where(table.c.family == family)
        if since is not None:
            query = query.where(table.c.timestamp_us >= to_us(since))
        with self._transaction() as connection:
            result = connection.execute(query).all()
        return [
            series_from_points(series_key(key), [tuple(row[5:]) for row in rows])
            for key, rows in groupby(result, key=lambda row: tuple(row[:5]))
        ]

    # -- runs ---------------------------------------------------------------------------------

    def put_run(self, run: Run) -> None:
        row = {
            "stage": run.stage,
            "model": run.model,
            "window_start_us": to_us(run.window.start),
            "window_end_us": to_us(run.window.end),
            "status": run.status.value,
            "started_at_us": to_us(run.started_at),
            "finished_at_us": None if run.finished_at is None else to_us(run.finished_at),
            "rows_read": run.rows_read,
            "rows_profiled": run.rows_profiled,
            "rows_quarantined": run.rows_quarantined,
            "message": run.message,
        }
        keys = ("stage", "model", "window_start_us", "window_end_us")
        with self._transaction() as connection:
            self._upsert(connection, tables.runs, [row], keys)

    def get_runs(self, *, stage: str | None = None, status: RunStatus | None = None) -> list[Run]:
        table = tables.runs
        query = sa.select(table).order_by(
            table.c.window_start_us, table.c.window_end_us, table.c.stage, table.c.model
        )
        if stage is not None:
            query = query.where(table.c.stage == stage)
        if status is not None:
            query = query.where(table.c.status == status.value)
        with self._transaction() as connection:
            result = connection.execute(query).mappings().all()
        return [
            Run(
                stage=row["stage"],
                model=row["model"],
                window=Window(
                    start=from_us(row["window_start_us"]), end=from_us(row["window_end_us"])
                ),
                status=RunStatus(row["status"]),
                started_at=from_us(row["started_at_us"]),
                finished_at=None
                if row["finished_at_us"] is None
                else from_us(row["finished_at_us"]),
                rows_read=int(row["rows_read"]),
                rows_profiled=int(row["rows_profiled"]),
                rows_quarantined=int(row["rows_quarantined"]),
                message=row["message"],
            )
            for row in result
        ]


def _create_engine(url: str) -> sa.Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as err:
        raise StoreError(
            f"cannot read store URL {url!r}; write e.g. 'sqlite:///vigil.db' or "
            "'postgresql+psycopg://user@host/db'"
        ) from err
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store URL {parsed.render_as_string(hide_password=True)!r} names an unsupported "
            "database; Vigil supports sqlite:/// and postgresql+psycopg:// URLs"
        )
    try:
        engine = sa.create_engine(parsed)
    except ModuleNotFoundError as err:
        raise MissingExtraError(err.name or "psycopg", "postgres") from err
    except sa.exc.ArgumentError as err:  # e.g. sqlite://x.db (two slashes: a host, not a path)
        raise StoreError(
            f"cannot use store URL {parsed.render_as_string(hide_password=True)!r}; write e.g. "
            "'sqlite:///vigil.db' (three slashes, then the path) or "
            "'postgresql+psycopg://user@host/db'"
        ) from err
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _tune_sqlite)
        sa.event.listen(engine, "begin", _begin_sqlite)
    return engine


def _refuse_missing_file(engine: sa.Engine) -> None:
    """Connecting to SQLite creates the file: check that it is there before connecting."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):
        return  # a URI filename: SQLite's own mode=ro/rw decides
    if not Path(database).is_file():
        engine.dispose()
        raise StoreError(
            f"no Vigil store at {engine.url.render_as_string(hide_password=True)}: there is no "
            f"file {database!r}; check the path (vigil profile or vigil run creates a store)"
        )


def _begin_sqlite(connection: sa.Connection) -> None:
    # pysqlite commits before DDL on its own, so a migration cut short (a killed process) could
    # leave tables without a schema revision. Beginning transactions ourselves (the SQLAlchemy
    # recipe, with isolation_level=None in _tune_sqlite) makes each migration all-or-nothing.
    connection.exec_driver_sql("BEGIN")


def _tune_sqlite(dbapi_connection: Any, _record: object) -> None:
    """Let the server read while the pipeline writes, and wait for a lock instead of failing.

    WAL keeps readers off the writer's lock; ``busy_timeout`` makes a second writer wait up to
    30 s rather than fail at once with "database is locked"; ``synchronous=NORMAL`` is safe in
    WAL mode (a power cut may lose the last commit, never corrupt the file).
    """
    dbapi_connection.isolation_level = None  # transactions begin in _begin_sqlite
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()
