"""Alembic environment for Vigil's store.

Run programmatically by :mod:`vigil.store.schema`, which hands over an open connection in
``config.attributes["connection"]``. Unlike Alembic's template this never configures logging:
the library leaves logging to the application.
"""

from __future__ import annotations

from alembic import context

from vigil.store.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Vigil's migrations run through vigil.store.SqlStore.migrate(), not the alembic CLI"
    )
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
