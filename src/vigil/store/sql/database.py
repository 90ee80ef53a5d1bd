"""One SQL database as every part of :class:`~vigil.store.SqlStore` uses it: an engine, its
transactions, and the bulk upsert both dialects support.

Writes are bulk upserts (``INSERT ... ON CONFLICT DO UPDATE``) sent as one parameterized
executemany per table and transaction; values are always bound parameters.
"""

from __future__ import annotations

import importlib
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from vigil.core import MissingExtraError, StoreError

BATCH_ROWS = 5_000
"""Rows per executemany: bounds memory for large writes while keeping round trips few."""


class Database:
    """An engine and the few ways Vigil talks through it; shared by every part of a store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One transaction; database errors become :class:`StoreError` naming the store."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except sa.exc.SQLAlchemyError as err:
            raise StoreError(f"store {self.display_url}: {err}") from err

    def rows(self, query: sa.Select[Any]) -> list[Mapping[str, Any]]:
        """The rows of ``query`` as plain mappings."""
        with self.transaction() as connection:
            return [dict(row) for row in connection.execute(query).mappings().all()]

    def insert(self, connection: sa.Connection, table: sa.Table) -> Any:
        """The dialect's ``INSERT`` (both have ``on_conflict_do_update``). Its module is imported
        here, so a SQLite store never loads PostgreSQL's dialect (and its asyncpg dialect)."""
        name = "sqlite" if connection.dialect.name == "sqlite" else "postgresql"
        return importlib.import_module(f"sqlalchemy.dialects.{name}").insert(table)

    def upsert(
        self,
        connection: sa.Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        keys: Sequence[str],
    ) -> None:
        """Insert ``rows``, replacing the non-key columns of rows already stored under ``keys``."""
        if not rows:
            return
        insert = self.insert(connection, table)
        updated = {
            column.name: insert.excluded[column.name]
            for column in table.columns
            if column.name not in keys and not (column.primary_key and column.name == "id")
        }
        statement = insert.on_conflict_do_update(index_elements=list(keys), set_=updated)
        for offset in range(0, len(rows), BATCH_ROWS):
            connection.execute(statement, list(rows[offset : offset + BATCH_ROWS]))

    def upsert_tuples(
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
        for offset in range(0, len(rows), BATCH_ROWS):
            connection.exec_driver_sql(statement, list(rows[offset : offset + BATCH_ROWS]))


def create_engine(url: str) -> sa.Engine:
    """An engine for a SQLite or PostgreSQL ``url``; anything else is refused with the fix."""
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


BEGIN_OPTION = "vigil_sqlite_begin"
"""Execution option naming the statement that begins a SQLite transaction (``BEGIN`` unless
set): migrations use ``BEGIN IMMEDIATE``."""


def _begin_sqlite(connection: sa.Connection) -> None:
    # pysqlite commits before DDL on its own, so a migration cut short (a killed process) could
    # leave tables without a schema revision. Beginning transactions ourselves (the SQLAlchemy
    # recipe, with isolation_level=None in _tune_sqlite) makes each migration all-or-nothing.
    connection.exec_driver_sql(connection.get_execution_options().get(BEGIN_OPTION, "BEGIN"))


def _tune_sqlite(dbapi_connection: Any, _record: object) -> None:
    """Let the server read while the pipeline writes, and wait for a lock instead of failing.

    WAL keeps readers off the writer's lock; ``busy_timeout`` makes a second writer wait up to
    30 s rather than fail at once with "database is locked"; ``synchronous=NORMAL`` is safe in
    WAL mode (a power cut may lose the last commit, never corrupt the file).
    """
    dbapi_connection.isolation_level = None  # transactions begin in _begin_sqlite
    cursor = dbapi_connection.cursor()
    try:
        # The timeout first: switching a new file to WAL takes a lock that another process
        # opening the same new store may hold, and without a timeout that failed at once.
        cursor.execute("PRAGMA busy_timeout=30000")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any, *, patience_s: float = 30.0) -> None:
    """Switch the file to WAL (persistent, so a no-op on every later open). While another
    process opening the same new file holds its lock, SQLite refuses the switch at once
    ("database is locked") without calling the busy handler: wait and try again, up to the
    same 30 s a busy writer gets."""
    deadline = time.monotonic() + patience_s
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
