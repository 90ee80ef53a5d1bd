"""The one error tree of Vigil.

Every error Vigil raises on purpose derives from :class:`VigilError`, so a caller can catch them
all with one clause. The tree is kept shallow; each message says what to do about it::

    VigilError
    ├── ConfigError(VigilError, ValueError)        a setting or argument is wrong
    ├── SchemaError(VigilError, ValueError)        input data does not fit the inference record
    ├── IncompatibleSpecError(VigilError, ValueError) merging values built with different specs
    ├── SerializationError(VigilError, ValueError) unreadable bytes (unknown version, corrupt)
    ├── NotFittedError(VigilError, ValueError, AttributeError)  a learner used before ``fit``
    ├── StoreError(VigilError)                     the store cannot be reached or is out of date
    │   └── ConflictError(StoreError)              a row changed since it was read: read again
    └── MissingExtraError(VigilError, ImportError) an optional dependency is not installed

The logging SDK (``vigil_sdk``, re-exported as ``vigil.sdk``) installs without Vigil, so its
errors have a root of their own, ``vigil_sdk.SdkError``, beside ``ValueError``/``OSError``.
"""

from __future__ import annotations


class VigilError(Exception):
    """Root of every error Vigil raises on purpose."""


class ConfigError(VigilError, ValueError):
    """A setting or argument is invalid; the message quotes the bad value."""


class SchemaError(VigilError, ValueError):
    """Input data does not fit the inference-record schema."""


class IncompatibleSpecError(VigilError, ValueError):
    """Two mergeable values were built with different specs and cannot be merged."""


class SerializationError(VigilError, ValueError):
    """Bytes could not be decoded: an unknown format version or corrupt data."""


class NotFittedError(VigilError, ValueError, AttributeError):
    """A learner was used before ``fit`` (like scikit-learn's error of the same name)."""


class StoreError(VigilError):
    """The store cannot be reached, or its schema is older than this code expects."""


class ConflictError(StoreError):
    """A write was based on a row another writer has changed since it was read (an incident a
    person dismissed while a pipeline cycle was deciding it): nothing was written. Read the rows
    again and apply the change to what they hold now; ``ids`` names the rows that changed."""

    def __init__(self, message: str, ids: tuple[str, ...]) -> None:
        super().__init__(message)
        self.ids = ids


class MissingExtraError(VigilError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package!r} is not installed; install it with: pip install 'vigil-ml[{extra}]'"
        )
        self.package = package
        self.extra = extra
