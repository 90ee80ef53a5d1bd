"""The lab's forecasting baselines against the Detector protocol's promises
(:mod:`vigil.detect.conformance`), as the product's detectors are."""

from __future__ import annotations

import pytest

from vigil.detect import conformance as check
from vigil.lab import FORECASTING_DETECTORS

CASES = [pytest.param(name, id=name, marks=pytest.mark.slow) for name in FORECASTING_DETECTORS]


@pytest.mark.parametrize("name", CASES)
def test_shapes_one_scores_per_series(name: str) -> None:
    check.check_shapes(FORECASTING_DETECTORS[name])


@pytest.mark.parametrize("name", CASES)
def test_scores_are_causal(name: str) -> None:
    check.check_causal(FORECASTING_DETECTORS[name])


@pytest.mark.parametrize("name", CASES)
def test_missing_values_score_nan_and_never_flag(name: str) -> None:
    check.check_missing_values(FORECASTING_DETECTORS[name])


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("fpr", [0.01, 0.05])
def test_infer_threshold_hits_target_rate_on_calibration(name: str, fpr: float) -> None:
    check.check_threshold_rate(FORECASTING_DETECTORS[name], fpr)


@pytest.mark.parametrize("name", CASES)
def test_anomalies_carry_evidence(name: str) -> None:
    check.check_evidence(FORECASTING_DETECTORS[name], name)
