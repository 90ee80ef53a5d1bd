"""The SQL implementation of the store: SQLite or PostgreSQL through SQLAlchemy Core."""

from vigil.store.sql.store import SqlStore

__all__ = ["SqlStore"]
