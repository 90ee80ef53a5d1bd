"""The ``Sketch`` protocol: what every mergeable piece of a profile promises.

Four verbs, as in DataSketches: build it (``empty`` and ``update``, whose signatures differ by
sketch), ``merge`` two into a new one without touching either, and ``to_bytes``/``from_bytes``
for storage. ``tests/test_profile_conformance.py`` runs every sketch, and :class:`Profile`
itself, through the same checks: empty is an identity, merge is commutative and associative
and pure, and bytes round-trip exactly.
"""

from __future__ import annotations

from typing import Protocol, Self, runtime_checkable


@runtime_checkable
class Sketch(Protocol):
    def merge(self, other: Self) -> Self:
        """Both inputs summarised as one; neither input changes."""
        ...

    def to_bytes(self) -> bytes: ...

    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...
