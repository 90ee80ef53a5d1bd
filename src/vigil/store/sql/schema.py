"""Schema versions of the SQL store, managed by Alembic migrations shipped in the package.

The migrations live in ``vigil/store/sql/migrations`` and run programmatically (no ``alembic.ini``):
a new, empty database is migrated to the head revision when it is opened; a database at an older
known revision is migrated by :meth:`SqlStore.migrate`; a database at a revision this code does
not know was written by a newer Vigil and is refused, since guessing its layout could corrupt it.

Alembic costs about 0.3 CPU s to import, more than most commands' own work on a small store, so
it is imported only when a migration runs or a database is not at :data:`HEAD`: opening a
current store reads its revision with one query (:func:`stored_revision`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from vigil.core import StoreError
from vigil.store.sql.database import BEGIN_OPTION

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0007"
"""The newest revision in ``migrations/versions`` (a test checks it against Alembic's head)."""
_VERSION_TABLE = "alembic_version"


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest schema revision shipped with this code, as Alembic reads the migrations."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError(f"no migrations found in {_MIGRATIONS}")
    return head


def revisions() -> list[str]:
    """Every schema revision shipped with this code, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def schema_state(engine: sa.Engine) -> SchemaState:
    """Read the database's revision and compare it with the shipped migrations."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

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
    from alembic import command

    state = schema_state(engine)
    if not state.known:
        raise newer_schema_error(state)
    config = _config()
    with engine.connect() as plain:
        connection = plain.execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"})
        with connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, revision)


def is_at_head(engine: sa.Engine) -> bool:
    """Whether the database holds exactly one revision, :data:`HEAD`: one query, no Alembic."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(_VERSION_TABLE):
            return False
        found = connection.exec_driver_sql(f"SELECT version_num FROM {_VERSION_TABLE}").all()  # noqa: S608
    return [row[0] for row in found] == [HEAD]


def newer_schema_error(state: SchemaState) -> StoreError:
    return StoreError(
        f"the database is at schema revision {state.current!r}, which this Vigil does not know "
        f"(its newest is {state.head!r}): it was written by a newer Vigil; upgrade Vigil "
        "(pip install -U vigil-ml) or point --db at another database"
    )
