"""Every registered product detector (and the shipped fake) against the Detector protocol's
promises (:mod:`vigil.detect.conformance`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vigil.detect import DETECTORS, Detector, ThresholdDetector
from vigil.detect import conformance as check

STATISTICAL = {"zscore", "mad", "seasonal", "same-hour"}
# Detectors with a decision of their own: the fpr caps their alarm rate and adds no flags.
CAPPED = {"deep", "deep-calibrated", "consensus"}
FACTORIES: dict[str, Callable[[], Detector]] = {**DETECTORS, "threshold-fake": ThresholdDetector}
CASES = [
    pytest.param(
        name, id=name, marks=() if name in STATISTICAL | {"threshold-fake"} else pytest.mark.slow
    )
    for name in FACTORIES
]


@pytest.mark.parametrize("name", CASES)
def test_shapes_one_scores_per_series(name: str) -> None:
    check.check_shapes(FACTORIES[name])


@pytest.mark.parametrize("name", CASES)
def test_scores_are_causal(name: str) -> None:
    check.check_causal(FACTORIES[name])


@pytest.mark.parametrize("name", CASES)
def test_a_prefix_scores_as_the_whole_series_first_steps(name: str) -> None:
    check.check_prefix(FACTORIES[name])


@pytest.mark.parametrize("name", CASES)
def test_missing_values_score_nan_and_never_flag(name: str) -> None:
    check.check_missing_values(FACTORIES[name])


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("fpr", [0.01, 0.05])
def test_infer_threshold_hits_target_rate_on_calibration(name: str, fpr: float) -> None:
    check.check_threshold_rate(FACTORIES[name], fpr, capped=name in CAPPED)


@pytest.mark.parametrize("name", CASES)
def test_anomalies_carry_evidence(name: str) -> None:
    check.check_evidence(FACTORIES[name], name)
