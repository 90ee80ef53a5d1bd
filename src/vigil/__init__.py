"""Vigil: health monitoring for machine-learning models in production.

Data flows one way: ``ingest -> profile -> stats -> detect -> incidents -> report -> alert``,
then ``store``, then ``pipeline`` (the only code that calls stages in sequence), then ``server``,
``bench`` and ``cli``. Importing :mod:`vigil` imports nothing heavy.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
