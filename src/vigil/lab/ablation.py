"""The deep detector with parts of its decision switched off, for ablation benchmarks and
training (``vigil bench deep --no-classifier``, ``--no-filters``, ``--fpr-scores``).

The product's :class:`~vigil.detect.deep.DeepDetector` always runs its whole decision and scores
only its alerts. Here:

- ``use_classifier=False`` drops the classifier's probability test, and the strength of an
  alert becomes ``severity / (1 + severity)`` (monotone, in ``(0, 1)``);
- ``use_filters=False`` drops the severity, routine and duration filters;
- ``alert_only=False`` is the earlier, budget-filling score encoding: an alerting step scores
  ``2 + strength`` and any other step ``strength``, so an fpr above the decision's alert rate
  fills the budget with the most probable steps *inside* the band.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vigil.detect.base import FloatArray
from vigil.detect.deep import DecisionDefaults, DeepDetector, DeepModel, DeepOutput

ALERT = 1.5  # budget-filling scores above it are the decision's alerts


class AblatedDeepDetector(DeepDetector):
    """:class:`DeepDetector` with the classifier, the filters or alert-only scores switchable."""

    def __init__(
        self,
        model: DeepModel | None = None,
        *,
        decision: DecisionDefaults | None = None,
        use_classifier: bool = True,
        use_filters: bool = True,
        alert_only: bool = True,
    ) -> None:
        super().__init__(model, decision=decision)
        self.use_classifier = use_classifier
        self.use_filters = use_filters
        self.alert_only = alert_only
        self.threshold_ = 0.0 if alert_only else ALERT

    def decide(
        self,
        probability: FloatArray,
        severity: FloatArray,
        outside: npt.NDArray[np.bool_],
        excess: FloatArray,
    ) -> npt.NDArray[np.bool_]:
        hit = outside.copy()
        if self.use_classifier:
            hit &= probability >= self.decision.threshold
        return self.filter(hit, severity, excess) if self.use_filters else hit

    def encode(self, output: DeepOutput) -> FloatArray:
        if self.use_classifier:
            strength = output.probability
        else:
            strength = output.severity / (1.0 + output.severity)
        if self.alert_only:
            score = np.where(output.passed, strength, 0.0)
        else:
            score = np.where(output.passed, 2.0 + strength, strength)
        out: FloatArray = np.where(np.isnan(output.probability), np.nan, score)
        return out
