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


class MissingExtraError(VigilError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package!r} is not installed; install it with: pip install 'vigil-ml[{extra}]'"
        )
        self.package = package
        self.extra = extra
