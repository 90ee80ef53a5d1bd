"""The periodic-shapes family: deterministic, one labeled window per anomaly, none without."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vigil.bench.detection import resolve_dataset
from vigil.core import ConfigError
from vigil.lab.simulation.shapes import KINDS, simulate_shapes


def test_a_seed_gives_the_same_series_and_another_seed_others() -> None:
    one, again, other = (simulate_shapes(seed=s, count=6) for s in (1, 1, 2))
    for a, b in zip(one.series, again.series, strict=True):
        assert a.name == b.name and np.array_equal(a.series.values, b.series.values)
    assert not np.array_equal(one.series[0].series.values, other.series[0].series.values)


def test_each_anomaly_is_one_labeled_window_of_its_kind_after_the_prefix() -> None:
    made = simulate_shapes(seed=7, count=60).series
    seen = set()
    for one in made:
        kinds = set(one.window_kinds)
        seen |= kinds
        assert len(one.windows) <= 1
        assert "none" not in kinds
        for start, end in one.windows:
            assert start > 0.15 * len(one.series)
            assert one.labels[start : end + 1].all() and one.labels.sum() == end - start + 1
            if one.window_kinds == ("spike",):
                assert end == start
    assert seen == set(KINDS) - {"none"}
    assert any(not one.windows for one in made)  # "none" series count false alarms only


def test_the_bench_resolves_shapes_by_seed_and_refuses_no_count(tmp_path: Path) -> None:
    dataset = resolve_dataset("shapes:3", tmp_path)
    assert dataset.name == "shapes:3" and len(dataset.series) == 40
    with pytest.raises(ConfigError, match="count must be >= 1"):
        simulate_shapes(seed=1, count=0)
