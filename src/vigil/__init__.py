"""Vigil: health monitoring for machine-learning models in production.

Data flows one way: ``ingest -> profile -> stats -> detect -> incidents -> report -> alert``,
then ``store``, then ``pipeline`` (the only code that calls stages in sequence), then ``lab``,
``server``, ``bench`` and ``cli``.

The DataFrame calls are here for notebooks (see ``docs/integrations.md``):
:func:`profile_frame`, :func:`reference_profile` and :func:`compare`. Importing :mod:`vigil`
imports nothing heavy: they load on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Names -> the module that defines them, imported on first use. Typed code can import them from
# there (vigil.pipeline.frames); importing it here, even for type checkers only, would make the
# root package depend on the pipeline, and any stage reading ``vigil.__version__`` break the layers.
_LAZY = {
    "DriftReport": "vigil.pipeline.frames",
    "compare": "vigil.pipeline.frames",
    "profile_frame": "vigil.pipeline.frames",
    "reference_profile": "vigil.pipeline.frames",
}

__all__ = ["DriftReport", "__version__", "compare", "profile_frame", "reference_profile"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vigil' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
