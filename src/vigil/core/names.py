"""Names as data, and the file names made from them: safe, collision-free and length-bounded.

A model may be called ``a/b``, ``index``, ``Ranker`` or 256 characters of Chinese; none of
those is a usable file name as it stands (a path separator, the digest page's own name, a name
that case-insensitive disks confuse with ``ranker``, 768 bytes where a file name allows 255).
Names therefore stay data (in records, rows and page text), and every file or folder named after
one goes through :func:`file_stem`:

- a name that is already a plain file name (lowercase letters, digits, ``.``, ``_`` and ``-``,
  at most 100 characters, not reserved) is its own stem, so the usual names stay readable;
- any other name becomes a readable slug of it, ``~``, and 16 hex digits of its SHA-256.
  A plain stem never holds ``~``, so a hashed stem cannot equal a plain one, and two names
  share a hashed stem only if their hashes collide in 64 bits.

Where the names must be read back (an index page, a folder listing), keep a readable index
beside the files rather than parsing the stems.
"""

from __future__ import annotations

import hashlib
import re

MAX_PLAIN_CHARS = 100
"""Longest name used as its own file-name stem."""

SLUG_CHARS = 60
"""Characters of a hashed stem's readable slug."""

HASH_HEX = 16

_PLAIN = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9_-])?")
_UNSAFE = re.compile(r"[^a-z0-9._-]+")
RESERVED = frozenset(
    {"index", "con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
"""Stems no name may take as they are: the digest page, and names Windows refuses."""


def name_hash(name: str) -> str:
    """16 hex digits of the SHA-256 of ``name`` (UTF-8; lone surrogates kept as they are)."""
    data = name.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:HASH_HEX]


def is_plain(name: str) -> bool:
    """Whether ``name`` is its own file-name stem (see the module docstring)."""
    return (
        len(name) <= MAX_PLAIN_CHARS
        and _PLAIN.fullmatch(name) is not None
        and name.split(".", maxsplit=1)[0] not in RESERVED
    )


_HASHED = re.compile(rf"~[0-9a-f]{{{HASH_HEX}}}$")


def is_hashed(stem: str) -> bool:
    """Whether ``stem`` ends the way a hashed stem does (``~`` and the hash): its name cannot
    be read back from it."""
    return _HASHED.search(stem) is not None


def file_stem(name: str) -> str:
    """A file-name stem for ``name`` that no other name maps to, at most 77 ASCII characters
    for a hashed name (100 for a plain one)."""
    if is_plain(name):
        return name
    slug = _UNSAFE.sub("_", name.lower()).strip("._")[:SLUG_CHARS].rstrip("._") or "name"
    return f"{slug}~{name_hash(name)}"
