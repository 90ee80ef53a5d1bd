"""Missing and constant are decided by how improbable the window is for the reference, so a
quiet hour of a feature present in a fifth of the rows, or of a flag true in 12% of them, is
not an outage; a feature in every row and a continuous feature stuck at one value still are."""

from __future__ import annotations

import math

import pytest

from vigil.stats.quality import ColumnSummary, QualityKind, combine, quality_signals
from vigil.stats.spec import StatsSpec

SPEC = StatsSpec()  # change.alpha 1e-6


def _summary(
    rows: int, values: int, *, constant: bool = False, top: float = math.nan
) -> ColumnSummary:
    return ColumnSummary(
        rows=rows, values=values, type_counts={"number": values}, constant=constant, top_share=top
    )


@pytest.mark.parametrize(
    ("share", "rows", "missing"),
    [
        (1.0, 1, True),  # a feature in every row: one row without it is news
        (0.2, 10, False),  # 0.8^10 = 0.11: a quiet hour
        (0.2, 61, False),  # 0.8^61 = 1.2e-6, just above alpha
        (0.2, 62, True),  # 0.8^62 = 9.8e-7, just below
        (0.99, 2, False),  # 0.01^2 = 1e-4
        (0.99, 4, True),  # 0.01^4 = 1e-8
    ],
)
def test_missing_needs_an_improbable_run_of_rows_without_the_feature(
    share: float, rows: int, missing: bool
) -> None:
    reference = _summary(10_000, round(10_000 * share))
    signals = quality_signals(_summary(rows, 0), reference, SPEC)
    assert signals[QualityKind.MISSING] == float(missing)


@pytest.mark.parametrize(
    ("top", "values", "constant"),
    [
        (0.88, 20, False),  # a flag true in 12% of rows, all false in 20: 0.88^20 = 0.08
        (0.88, 108, False),  # 0.88^108 = 1.0e-6
        (0.88, 110, True),  # 0.88^110 = 7.8e-7
        (0.001, 20, True),  # a continuous feature stuck at one value
        (math.nan, 20, True),  # no known reference share: the window alone decides
    ],
)
def test_constant_needs_a_run_of_one_value_improbable_for_the_reference(
    top: float, values: int, constant: bool
) -> None:
    reference = _summary(10_000, 10_000, top=top)
    current = _summary(values, values, constant=True, top=1.0)
    assert quality_signals(current, reference, SPEC)[QualityKind.CONSTANT] == float(constant)


def test_the_reference_share_is_the_windows_share_weighted_by_values() -> None:
    combined = combine([_summary(100, 100, top=0.9), _summary(300, 300, top=0.8), _summary(5, 0)])
    assert combined is not None
    assert combined.top_share == pytest.approx((0.9 * 100 + 0.8 * 300) / 400)
    assert math.isnan(combine([_summary(5, 0)]).top_share)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("share", "reference_rows", "new"),
    [
        (1.0, 1, True),  # a feature in every row of the window, none in the reference's row
        (0.05, 100, False),  # 0.95^100 = 6e-3: a short reference missed a sparse feature
        (0.05, 269, False),  # 0.95^269 = 1.0e-6
        (0.05, 270, True),  # 0.95^270 = 9.6e-7
    ],
)
def test_new_needs_a_reference_improbably_long_without_the_feature(
    share: float, reference_rows: int, new: bool
) -> None:
    current = _summary(1_000, round(1_000 * share))
    signals = quality_signals(current, _summary(reference_rows, 0), SPEC)
    assert signals[QualityKind.NEW] == float(new)


@pytest.mark.parametrize(
    ("kind", "constant"), [("number", True), ("bool", False), ("string", False)]
)
def test_without_a_reference_only_numbers_stuck_at_one_value_are_constant(
    kind: str, constant: bool
) -> None:
    current = ColumnSummary(
        rows=50, values=50, type_counts={kind: 50}, constant=True, top_share=1.0
    )
    assert quality_signals(current, None, SPEC)[QualityKind.CONSTANT] == float(constant)
