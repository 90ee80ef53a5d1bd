"""``DeepDetector``: the two-stage global detector (after LinkedIn's AlerTiger), numpy only.

One model, trained once across many series, scores a brand-new series with no per-series
fitting: stage 1 forecasts a baseline and band from the normalised recent past, stage 2 judges
from the evidence whether a step is worth an alert. The decision is deliberately conjunctive,
so every alert can explain itself:

1. the classifier probability is at least ``threshold``, **and**
2. the value lies outside the band, with severity ``|value - baseline| / band width`` at least
   ``severity``, **and**
3. that severity is beyond the series' routine: above the 99th percentile of its own
   severities over the last week or so (``DecisionDefaults.beyond_routine``), **and**
4. at least ``duration_k`` of the last ``duration_n`` steps passed 1 to 3.

Scores (``alert_only=True``, the default and the registered detector's mode): an alerting
step scores its strength (the classifier probability, or ``severity / (1 + severity)`` without
the classifier, in ``(0, 1]``), every other step 0. So ``infer_threshold(calibration, fpr)``
makes the fpr a *cap* on the alarm rate: when the decision alerts on more than ``fpr`` of the
calibration steps the weakest alerts are dropped, and when it alerts on fewer nothing is
added. Every flag has crossed a bound, as the design requires. This flags *at most* about
``fpr`` of the calibration steps, where the Detector protocol says "about": a detector with a
decision of its own should not invent alarms to fill a budget.

``alert_only=False`` keeps the earlier mode for comparison (``vigil bench deep --fpr-scores``):
an alerting step scores ``2 + strength`` and any other step ``strength``, so an fpr above the
decision's alert rate fills the budget with the most probable steps *inside* the band.

NaN marks warm-up steps and missing values in both modes. ``use_classifier`` and
``use_filters`` exist for the ablation benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Self

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError
from vigil.detect.base import Detection, FloatArray, Scores
from vigil.detect.deep.features import Features, build_features, memory_steps, surprise_many
from vigil.detect.deep.model import (
    DecisionDefaults,
    DeepModel,
    band_in_units,
    classify,
    evidence_features,
    forecast,
    load_model,
    memory_severity,
    raw_severity,
)
from vigil.detect.interval import flag, threshold_for_fpr
from vigil.stats.series import Series

SHIPPED = "deep.npz"
ALERT = 1.5  # default-mode scores above it are the decision's alerts
CHUNK = 64  # series scored per batched pass


def shipped_weights(name: str = SHIPPED) -> Path:
    """Path of a weights file shipped in ``vigil/detect/deep/weights/``."""
    path = Path(str(resources.files("vigil.detect.deep").joinpath("weights", name)))
    if not path.is_file():
        raise ConfigError(f"no shipped deep-detector weights named {name!r} at {path}")
    return path


@dataclass(frozen=True, slots=True, kw_only=True)
class DeepOutput:
    """Everything the two stages computed for one series (all arrays of the series' length).

    ``excess`` is the log ratio of the step's severity to the 99th percentile of the series'
    own recent severities: above 0 the excursion is beyond the series' routine.
    """

    expected: FloatArray
    lower: FloatArray
    upper: FloatArray
    probability: FloatArray
    severity: FloatArray
    excess: FloatArray
    passed: npt.NDArray[np.bool_]


class DeepDetector:
    """The two-stage detector on a trained :class:`DeepModel` (the shipped one by default).

    ``fit`` learns nothing: the model is global and pre-trained (fine-tune stage 2 with
    ``vigil train deep --from-feedback``). ``decision`` overrides the thresholds chosen at
    training time.
    """

    name = "deep"

    def __init__(
        self,
        model: DeepModel | None = None,
        *,
        decision: DecisionDefaults | None = None,
        use_classifier: bool = True,
        use_filters: bool = True,
        alert_only: bool = True,
    ) -> None:
        self.model = model if model is not None else load_model(shipped_weights())
        self.decision = decision if decision is not None else self.model.decision
        self.use_classifier = use_classifier
        self.use_filters = use_filters
        self.alert_only = alert_only
        self.threshold_ = 0.0 if alert_only else ALERT

    @classmethod
    def from_file(cls, path: Path) -> DeepDetector:
        """A detector on the weights in ``path`` (see ``vigil train deep``)."""
        return cls(load_model(path))

    def fit(self, history: Sequence[Series]) -> Self:
        del history  # a global pre-trained model: nothing to learn per series
        return self

    def explain(self, series: Series) -> DeepOutput:
        """Run both stages and the decision on one series."""
        return self.explain_many([series])[0]

    def explain_many(self, series: Sequence[Series]) -> list[DeepOutput]:
        """Both stages on many series, batched: one matrix product per layer for all steps.

        Small matrix products cost BLAS more in start-up than in arithmetic, so scoring series
        one by one is ~30x slower than stacking their steps.
        """
        if not series:
            return []
        model = self.model
        feats = [build_features(one, model.spec) for one in series]
        cuts = np.cumsum([len(one) for one in series])[:-1]
        stacked = forecast(
            model,
            np.concatenate([f.inputs for f in feats]),
            np.concatenate([f.irregularity for f in feats]),
        )
        parts = [np.split(array, cuts) for array in stacked]
        bands = [
            band_in_units(feat, parts[0][i], parts[1][i], parts[2][i])
            for i, feat in enumerate(feats)
        ]
        # The surprise columns feed stage 2 (when the model was trained with them) and the
        # decision's routine test (always).
        surprises = surprise_many(
            [
                memory_severity(one.values, *band, feat.valid)
                for one, band, feat in zip(series, bands, feats, strict=True)
            ],
            [memory_steps(one.timestamps) for one in series],
        )
        evidence = [
            evidence_features(
                one.values,
                *band,
                feat.scale,
                parts[3][i],
                feat.calendar,
                surprise=surprises[i] if model.surprise else None,
            )
            for i, (one, feat, band) in enumerate(zip(series, feats, bands, strict=True))
        ]
        probabilities = np.split(classify(model, np.concatenate(evidence)).astype(np.float64), cuts)
        return [
            self._output(one, feat, band, probability, surprise[:, 0])
            for one, feat, band, probability, surprise in zip(
                series, feats, bands, probabilities, surprises, strict=True
            )
        ]

    def _output(
        self,
        series: Series,
        feats: Features,
        band: tuple[FloatArray, FloatArray, FloatArray],
        probability: FloatArray,
        excess: FloatArray,
    ) -> DeepOutput:
        expected, lower, upper = band
        values = series.values
        severity = raw_severity(values, expected, lower, upper)
        outside = (values < lower) | (values > upper)
        invalid = ~feats.valid | np.isnan(values)
        passed = self.decide(probability, severity, outside, excess) & ~invalid
        nan = np.where(feats.valid, 0.0, np.nan)
        return DeepOutput(
            expected=expected + nan,
            lower=lower + nan,
            upper=upper + nan,
            probability=np.where(invalid, np.nan, probability),
            severity=np.where(invalid, np.nan, severity),
            excess=np.where(invalid, np.nan, excess),
            passed=passed,
        )

    def decide(
        self,
        probability: FloatArray,
        severity: FloatArray,
        outside: npt.NDArray[np.bool_],
        excess: FloatArray,
    ) -> npt.NDArray[np.bool_]:
        """Steps outside the band that pass the classifier, severity, routine and duration
        tests."""
        decision = self.decision
        hit = outside.copy()
        if self.use_classifier:
            hit &= probability >= decision.threshold
        if not self.use_filters:
            return hit
        hit &= np.nan_to_num(severity, nan=0.0) >= decision.severity
        if decision.beyond_routine:
            hit &= np.nan_to_num(excess, nan=0.0) > 0.0
        if decision.duration_n > 1:
            counts = np.convolve(hit.astype(np.int64), np.ones(decision.duration_n, np.int64))
            hit &= counts[: len(hit)] >= decision.duration_k
        elif decision.duration_k > 1:
            hit[:] = False
        return hit

    def score(self, series: Sequence[Series]) -> list[Scores]:
        out = []
        # Chunks of series keep the stacked matrices (and memory) small while still amortising
        # the per-call cost of the matrix products.
        results = [
            result
            for start in range(0, len(series), CHUNK)
            for result in self.explain_many(series[start : start + CHUNK])
        ]
        for one, result in zip(series, results, strict=True):
            # Without the classifier the evidence is the severity; keep it monotone and > 0.
            if self.use_classifier:
                strength = result.probability
            else:
                strength = result.severity / (1.0 + result.severity)
            if self.alert_only:
                score = np.where(result.passed, strength, 0.0)
            else:
                score = np.where(result.passed, 2.0 + strength, strength)
            score = np.where(np.isnan(result.probability), np.nan, score)
            out.append(
                Scores(
                    series=one,
                    score=score.astype(np.float64),
                    expected=result.expected,
                    lower=result.lower,
                    upper=result.upper,
                )
            )
        return out

    def infer_threshold(self, calibration: Sequence[Series], fpr: float) -> Self:
        """Set ``threshold_`` to the ``1 - fpr`` quantile of the calibration scores.

        In ``alert_only`` mode that can only raise the bar above the decision's own alerts.
        """
        self.threshold_ = threshold_for_fpr([s.score for s in self.score(calibration)], fpr)
        return self

    def predict(self, series: Sequence[Series]) -> list[Detection]:
        return [flag(scores, self.threshold_) for scores in self.score(series)]
