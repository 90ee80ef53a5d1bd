"""The distribution version, in one place (hatch reads it; the HTTP User-Agent sends it)."""

__version__ = "0.2.0"
