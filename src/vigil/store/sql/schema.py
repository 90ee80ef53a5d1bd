"""Schema versions of the SQL store, managed by Alembic migrations shipped in the package.

The migrations live in ``vigil/store/sql/migrations`` and run programmatically (no ``alembic.ini``):
a new, empty database is migrated to the head revision when it is opened; a database at an older
known revision is migrated by :meth:`SqlStore.migrate`; a database at a revision this code does
not know was written by a newer Vigil and is refused, since guessing its layout could corrupt it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from vigil.core import StoreError
from vigil.store.sql.database import BEGIN_OPTION

_MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaState:
    """Where a database stands against the migrations this code ships."""

    current: str | None
    """The database's revision, ``None`` when it has never been migrated."""
    head: str
    """The newest revision this code knows."""
    known: bool
    """Whether ``current`` is one of this code's revisions (``True`` for an empty database)."""

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest schema revision shipped with this code."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError(f"no migrations found in {_MIGRATIONS}")
    return head


def revisions() -> list[str]:
    """Every schema revision shipped with this code, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def schema_state(engine: sa.Engine) -> SchemaState:
    """Read the database's revision and compare it with the shipped migrations."""
    script = ScriptDirectory.from_config(_config())
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    known_revisions = {revision.revision for revision in script.walk_revisions()}
    head = head_revision()
    return SchemaState(
        current=current, head=head, known=current is None or current in known_revisions
    )


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (a no-op when it is already there).

    On SQLite the migration's transaction takes the write lock when it begins (``BEGIN
    IMMEDIATE``): two processes creating one new store used to both read "no schema", then
    dead-lock on upgrading their read locks ("database is locked"). Now the second waits, then
    finds the schema there and does nothing."""
    state = schema_state(engine)
    if not state.known:
        raise newer_schema_error(state)
    config = _config()
    with engine.connect() as plain:
        connection = plain.execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"})
        with connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, revision)


def newer_schema_error(state: SchemaState) -> StoreError:
    return StoreError(
        f"the database is at schema revision {state.current!r}, which this Vigil does not know "
        f"(its newest is {state.head!r}): it was written by a newer Vigil; upgrade Vigil "
        "(pip install -U vigil-ml) or point --db at another database"
    )
