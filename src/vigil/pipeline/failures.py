"""One model's stage failing in a cycle, recorded instead of stopping every other model.

A watch that one bad input can blind is the worst failure a monitoring system has, so the
runner calls each model's work apart (profiling a model's folder, building its series,
detecting on them, writing its report) and turns an error there into a :class:`ModelFailure`:
logged with the model and the object that failed, kept in the cycle's summary and stored as a
failed run. The other models go on. Errors that are not one model's (the store is away, the
lease is lost) still stop the cycle, since nothing could go on after them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vigil.core import VigilError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class ModelFailure:
    """``stage`` of ``model`` failed with ``error`` (which names the object when it is known)."""

    model: str
    stage: str
    error: str


def model_failure(model: str, stage: str, err: BaseException) -> ModelFailure:
    """The failure of ``stage`` for ``model``, logged once with its traceback."""
    kind = "" if isinstance(err, VigilError) else f"{type(err).__name__}: "
    failure = ModelFailure(model=model, stage=stage, error=f"{kind}{err}")
    logger.error(
        "model=%s stage=%s failed, other models go on: %s",
        model,
        stage,
        failure.error,
        exc_info=err,
    )
    return failure
