"""Schema management: migrations from empty, reopening, and refusing a newer schema."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from vigil.core import StoreError
from vigil.ingest import QuarantinedRow
from vigil.store import SqlStore, head_revision
from vigil.store.sql import schema
from vigil.store.sql.tables import metadata


def _revision(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_a_new_database_is_migrated_to_head_with_every_table(store_url: str) -> None:
    SqlStore(store_url).close()
    engine = sa.create_engine(store_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(metadata.tables) <= names
    assert _revision(store_url) == head_revision()


def test_the_migrated_schema_matches_the_tables_the_code_queries(store_url: str) -> None:
    """The migration and ``tables.py`` describe the same columns (a drift here breaks queries)."""
    SqlStore(store_url).close()
    engine = sa.create_engine(store_url)
    try:
        inspector = sa.inspect(engine)
        for table in metadata.tables.values():
            migrated = {column["name"] for column in inspector.get_columns(table.name)}
            assert migrated == set(table.columns.keys()), table.name
    finally:
        engine.dispose()


def test_a_failed_migration_leaves_nothing_behind(store_url: str) -> None:
    """Migrations are all-or-nothing (on SQLite too), so a failure can simply be retried."""
    engine = sa.create_engine(store_url)
    with engine.begin() as connection:  # in the way of the first migration's last table
        connection.execute(sa.text("CREATE TABLE runs (id INTEGER PRIMARY KEY)"))

    with pytest.raises(StoreError, match="cannot open the store"):
        SqlStore(store_url)
    try:
        assert set(sa.inspect(engine).get_table_names()) == {"runs"}
    finally:
        engine.dispose()


def test_reopening_a_current_database_keeps_its_data(store_url: str) -> None:
    first = SqlStore(store_url)
    row = QuarantinedRow(source="a.jsonl", position=1, reason="bad json", raw="{", model=None)
    first.quarantine.put([row], now=datetime(2026, 1, 1, tzinfo=UTC))
    first.close()
    second = SqlStore(store_url)
    assert second.quarantine.get() == [row]
    second.close()


def test_a_database_from_a_newer_vigil_is_refused_clearly(store_url: str) -> None:
    SqlStore(store_url).close()
    engine = sa.create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()

    with pytest.raises(StoreError, match=r"revision '9999'.*newer Vigil"):
        SqlStore(store_url)
    with pytest.raises(StoreError, match="newer Vigil"):
        SqlStore.migrate(store_url)


def test_an_older_schema_is_refused_until_migrated(store_url: str) -> None:
    oldest = schema.revisions()[0]
    if oldest == head_revision():
        pytest.skip("only one schema revision ships so far")
    engine = sa.create_engine(store_url)
    schema.upgrade(engine, oldest)
    engine.dispose()

    with pytest.raises(StoreError, match=f"revision '{oldest}', older than this Vigil"):
        SqlStore(store_url)
    SqlStore.migrate(store_url).close()
    assert _revision(store_url) == head_revision()


def test_sqlite_stores_let_readers_in_while_a_writer_works(tmp_path: Path) -> None:
    SqlStore(f"sqlite:///{tmp_path}/vigil.db").close()
    with sqlite3.connect(tmp_path / "vigil.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_migrate_on_a_current_database_is_a_no_op(store_url: str) -> None:
    SqlStore(store_url).close()
    SqlStore.migrate(store_url).close()
    assert _revision(store_url) == head_revision()


@pytest.mark.parametrize(
    ("url", "message"),
    [("not a url", "cannot read store URL"), ("mysql://u@h/db", "unsupported database")],
)
def test_unusable_urls_get_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        SqlStore(url)


def test_an_unreachable_database_is_a_store_error(tmp_path: object) -> None:
    with pytest.raises(StoreError, match="cannot open the store"):
        SqlStore(f"sqlite:///{tmp_path}/missing-dir/vigil.db")


_OPEN_AT = """
import sys, time
from pathlib import Path
from vigil.store import SqlStore
ready, go = Path(sys.argv[2]), Path(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.001)
SqlStore(sys.argv[1]).close()
"""


@pytest.mark.slow
def test_processes_creating_one_new_sqlite_store_at_once_all_open_it(tmp_path: Path) -> None:
    """Two runners (or a runner and the server) starting on a store that does not exist yet used
    to fail with "database is locked": both saw no schema, and SQLite refused to upgrade either
    one's read lock. Six processes, imported and waiting, open one new file at once; three times.
    """
    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'new-{round_}.db'}"
        go = tmp_path / f"go-{round_}"
        ready = [tmp_path / f"ready-{round_}-{i}" for i in range(6)]
        children = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AT, url, str(flag), str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for flag in ready
        ]
        deadline = time.monotonic() + 120
        while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        errors = [child.communicate(timeout=120)[1] for child in children]
        assert all(child.returncode == 0 for child in children), [e[-3000:] for e in errors if e]
        assert _revision(url) == head_revision()


def test_head_is_the_newest_migration() -> None:
    """``schema.HEAD`` spares opening a current store Alembic's import; it must say what the
    migrations say, or a new migration would never run."""
    assert schema.HEAD == head_revision() == schema.revisions()[-1]


def test_opening_a_current_store_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'current.db'}"
    SqlStore(url).close()  # created (and migrated) here, with Alembic
    code = (
        "import sys\nfrom vigil.store import SqlStore\n"
        f"SqlStore({url!r}).close()\n"
        "print('alembic' in sys.modules)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "False"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))
    finally:
        engine.dispose()
    with pytest.raises(StoreError, match="older than this Vigil"):
        SqlStore(url)  # not at HEAD: Alembic reads the revision and the store is refused
