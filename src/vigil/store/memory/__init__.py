"""The in-memory implementation of the store: the fake every test and notebook may use."""

from vigil.store.memory.store import MemoryStore

__all__ = ["MemoryStore"]
