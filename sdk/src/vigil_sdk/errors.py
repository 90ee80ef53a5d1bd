"""The SDK's errors, drawn once.

The SDK installs without Vigil, so its errors cannot derive from ``vigil.core.VigilError``; they
derive from :class:`SdkError` and from the built-in a caller already catches::

    SdkError
    ├── ConfigError(SdkError, ValueError)   a constructor argument is wrong; the message quotes it
    ├── SchemaError(SdkError, ValueError)   a line is not an inference record (JsonLinesSink)
    └── SinkError(SdkError, OSError)        a sink could not deliver a batch

Only constructors raise into serving code; a sink's failure is counted by the logger, never
raised from ``log()``.
"""

from __future__ import annotations


class SdkError(Exception):
    """Root of every error the SDK raises on purpose."""


class ConfigError(SdkError, ValueError):
    """A setting or argument is invalid; the message quotes the bad value."""


class SchemaError(SdkError, ValueError):
    """A line does not fit the inference-record schema."""


class SinkError(SdkError, OSError):
    """A sink could not deliver a batch (the endpoint refused it, or retries ran out)."""
