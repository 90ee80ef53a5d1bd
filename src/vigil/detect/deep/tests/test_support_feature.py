"""Stage 1's optional sample-size input: ``log((n_t + 1) / (window mean n + 1))``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vigil.core import SeriesKey
from vigil.detect.deep import FeatureSpec, build_features, load_model, save_model, shipped_weights
from vigil.stats.series import Series


def series(values: np.ndarray, support: np.ndarray | None) -> Series:
    stamps = np.datetime64("2024-03-04T00:00:00") + np.arange(len(values)) * np.timedelta64(
        3600, "s"
    )
    key = SeriesKey(model="m", version="1", family="f", column="c", statistic="null_rate")
    return Series(key=key, timestamps=stamps, values=values, support=support)


def test_the_column_compares_the_steps_rows_with_its_window() -> None:
    spec = FeatureSpec(window=8, omit=0, lags=1, support=True)
    assert spec.width == FeatureSpec(window=8, omit=0, lags=1).width + 1
    n = np.full(40, 99.0)
    n[30], n[35] = 9.0, 999.0
    feats = build_features(series(np.full(40, 0.1), n), spec)
    column = feats.inputs[:, -1]
    assert column[20] == pytest.approx(0.0)  # as many rows as the window's steps had
    assert column[30] == pytest.approx(np.log(10.0 / 100.0), rel=1e-5)  # a quiet step
    # A busy step, against a window holding the quiet one: mean n = (7 * 99 + 9) / 8.
    assert column[35] == pytest.approx(np.log(1000.0 / ((7 * 99 + 9) / 8 + 1.0)), rel=1e-5)


def test_without_rows_the_column_is_zero_and_without_the_flag_absent() -> None:
    values = np.linspace(0.0, 1.0, 40)
    with_flag = build_features(series(values, None), FeatureSpec(window=8, lags=1, support=True))
    assert np.all(with_flag.inputs[:, -1] == 0.0)
    plain = build_features(series(values, np.full(40, 5.0)), FeatureSpec(window=8, lags=1))
    np.testing.assert_array_equal(with_flag.inputs[:, :-1], plain.inputs)


def test_weights_without_the_flag_in_their_header_load_without_it(tmp_path: Path) -> None:
    model = load_model(shipped_weights())
    save_model(model, tmp_path / "copy.npz")
    with np.load(tmp_path / "copy.npz") as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(bytes(arrays["header"]).decode())
    assert header["spec"]["support"] is False
    del header["spec"]["support"]  # as written before the flag existed
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(tmp_path / "old.npz", **arrays)
    assert load_model(tmp_path / "old.npz").spec == model.spec
