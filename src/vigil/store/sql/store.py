"""The SQL store: SQLite by default, PostgreSQL by URL, through SQLAlchemy Core.

The store is its parts (one per stored aggregate, see :mod:`vigil.store.protocols`) over one
shared :class:`~vigil.store.sql.database.Database`. The schema is created and versioned by the
Alembic migrations in ``migrations/`` (see :mod:`.schema`).
"""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from vigil.core import ConfigError, StoreError
from vigil.store.sql import schema
from vigil.store.sql.checkpoints import SqlCheckpoints
from vigil.store.sql.database import Database, create_engine
from vigil.store.sql.incidents import (
    SqlAnomalies,
    SqlFeedback,
    SqlIncidents,
    SqlNotifications,
    SqlSilences,
)
from vigil.store.sql.leases import SqlLeases
from vigil.store.sql.profiles import SqlProfiles
from vigil.store.sql.quarantine import SqlQuarantine
from vigil.store.sql.runs import SqlRuns
from vigil.store.sql.series import SqlSeries

DEFAULT_WORKERS = 2
"""Processes the pipeline may run on one SQL store at once (each opens its own connection)."""


class SqlStore:
    """A :class:`~vigil.store.Store` in a SQL database.

    ``url`` is a SQLAlchemy URL: ``sqlite:///vigil.db`` (a file next to you) or
    ``postgresql+psycopg://user@host/db`` (needs the ``postgres`` extra). A database without
    Vigil's tables gets them on open; one at an older schema must be upgraded with
    :meth:`migrate` (never silently: it may be shared); one at a newer schema is refused.
    With ``create=False`` (what read-only commands open), a missing SQLite file or a database
    without Vigil's tables is an error instead: a mistyped path must not leave an empty store.
    ``workers`` is how many processes the pipeline may run on it at once (``[store] workers``).
    """

    def __init__(self, url: str, *, create: bool = True, workers: int = DEFAULT_WORKERS) -> None:
        if workers < 1:
            raise ConfigError(f"a store needs at least 1 worker, got workers={workers}")
        self._url = url
        self._workers = workers
        self._database = Database(create_engine(url))
        _open_schema(self._database, create=create)
        self.profiles = SqlProfiles(self._database)
        self.quarantine = SqlQuarantine(self._database)
        self.series = SqlSeries(self._database)
        self.runs = SqlRuns(self._database)
        self.anomalies = SqlAnomalies(self._database)
        self.incidents = SqlIncidents(self._database)
        self.notifications = SqlNotifications(self._database)
        self.silences = SqlSilences(self._database)
        self.feedback = SqlFeedback(self._database)
        self.leases = SqlLeases(self._database)
        self.checkpoints = SqlCheckpoints(self._database)

    @classmethod
    def migrate(cls, url: str, *, workers: int = DEFAULT_WORKERS) -> SqlStore:
        """Upgrade the database at ``url`` to this code's schema, then open it."""
        engine = create_engine(url)
        try:
            schema.upgrade(engine)
        except sa.exc.SQLAlchemyError as err:
            shown = engine.url.render_as_string(hide_password=True)
            raise StoreError(f"cannot migrate the store at {shown}: {err}") from err
        finally:
            engine.dispose()
        return cls(url, workers=workers)

    @property
    def url(self) -> str:
        return self._url

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for messages."""
        return self._database.display_url

    def close(self) -> None:
        self._database.dispose()


def _open_schema(database: Database, *, create: bool) -> None:
    """Create the schema of an empty database (unless ``create`` is false: then refuse it);
    refuse one at another revision than ours."""
    try:
        if not create:
            _refuse_missing_file(database)
        if schema.is_at_head(database.engine):
            return
        state = schema.schema_state(database.engine)
        if not state.known:
            raise schema.newer_schema_error(state)
        if state.current is None and not create:
            raise StoreError(
                f"no Vigil store at {database.display_url}: the database has no Vigil tables; "
                "check the URL (vigil profile or vigil run creates a store)"
            )
        if state.current is None:
            _create_schema(database)
        elif not state.is_current:
            raise StoreError(
                f"the database at {database.display_url} is at schema revision "
                f"{state.current!r}, older than this Vigil's {state.head!r}; back it up, then "
                "upgrade it with vigil.store.SqlStore.migrate()"
            )
    except sa.exc.SQLAlchemyError as err:
        database.dispose()
        raise StoreError(f"cannot open the store at {database.display_url}: {err}") from err
    except StoreError:
        database.dispose()
        raise


def _create_schema(database: Database, *, attempts: int = 5) -> None:
    """Migrate a new database to the head. Processes creating one new SQLite store at once
    queue on its write lock; one whose read snapshot went stale meanwhile is refused at once
    ("database is locked", no busy wait): it reads the schema again and, when another process
    finished it, is done, else tries again."""
    for attempt in range(attempts):
        try:
            schema.upgrade(database.engine)
            return
        except sa.exc.OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
        time.sleep(0.05 * (attempt + 1))
        if schema.is_at_head(database.engine):
            return


def _refuse_missing_file(database: Database) -> None:
    """Connecting to SQLite creates the file: check that it is there before connecting."""
    engine = database.engine
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:":
        return
    if name.startswith("file:"):
        return  # a URI filename: SQLite's own mode=ro/rw decides
    if not Path(name).is_file():
        raise StoreError(
            f"no Vigil store at {database.display_url}: there is no file {name!r}; check the "
            "path (vigil profile or vigil run creates a store)"
        )
