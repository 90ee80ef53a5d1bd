"""Loading labeled data in both on-disk forms, and the simulated benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigil.core import ConfigError, SchemaError
from vigil.lab.labeled import load_dataset, runs, write_labeled_csvs
from vigil.lab.simulation.rows import simulate_rows
from vigil.lab.simulation.series import simulate_series

SHARED = Path(__file__).resolve().parents[4] / ".." / "shared" / "data"


def write_nab(root: Path) -> None:
    (root / "data" / "fam").mkdir(parents=True)
    (root / "labels").mkdir()
    stamps = pd.date_range("2024-01-01", periods=10, freq="5min").strftime("%Y-%m-%d %H:%M:%S")
    rows = ["timestamp,value"] + [f"{s},{i}" for i, s in enumerate(stamps)]
    rows.insert(4, f"{stamps[2]},7")  # a repeated timestamp
    (root / "data" / "fam" / "a.csv").write_text("\n".join(rows) + "\n")
    windows = {"fam/a.csv": [[f"{stamps[5]}.000000", f"{stamps[7]}.000000"]]}
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))


def test_nab_layout_windows_labels_and_merged_duplicates(tmp_path: Path) -> None:
    write_nab(tmp_path)
    dataset = load_dataset(tmp_path)
    assert dataset.form == "nab"
    (one,) = dataset.series
    assert (one.name, one.family, one.merged_duplicates) == ("fam/a.csv", "fam", 1)
    assert len(one.series) == 10
    assert one.windows == ((5, 7),)
    np.testing.assert_array_equal(np.flatnonzero(one.labels), [5, 6, 7])
    assert one.series.values[2] == pytest.approx((2 + 7) / 2)


def test_csv_folder_ignores_metadata_and_keeps_missing_values(tmp_path: Path) -> None:
    folder = tmp_path / "dom"
    folder.mkdir()
    text = 'TimeStamp,Value,Label\n"2024-01-01T00:00:00Z",1,0\n"2024-01-01T01:00:00Z",,1\n'
    (folder / "s.csv").write_text(text + '"2024-01-01T02:00:00Z",3,1\n')
    (folder / "s.csv-metadata.json").write_text("{}")
    dataset = load_dataset(tmp_path)
    (one,) = dataset.series
    assert (dataset.form, one.name, one.family) == ("csv", "dom/s.csv", "dom")
    assert one.windows == ((1, 2),)
    assert one.missing_values == 1 and np.isnan(one.series.values[1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,value\n2024-01-01,1\n", "label"),
        ("timestamp,value,label\n2024-01-01,1,2\n", "0 or 1"),
        ("timestamp,value,label\nyesterday,1,0\n", "timestamp"),
        ("timestamp,value,label,n\n2024-01-01,1,0,many\n", "n must be"),
        ("timestamp,value,label,n\n2024-01-01,1,0,-1\n", "n must be"),
    ],
)
def test_bad_files_are_rejected_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(SchemaError, match=message):
        load_dataset(tmp_path)


def test_folder_without_data_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\*\.csv"):
        load_dataset(tmp_path)


def test_simulated_series_round_trip_through_csv(tmp_path: Path) -> None:
    series = simulate_series(seed=3, count=6)
    write_labeled_csvs(series, tmp_path)
    loaded = load_dataset(tmp_path).series
    assert [s.name for s in loaded] == [s.name for s in series]
    for before, after in zip(series, loaded, strict=True):
        np.testing.assert_array_equal(before.labels, after.labels)
        np.testing.assert_array_equal(before.series.timestamps, after.series.timestamps)
        np.testing.assert_allclose(before.series.values, after.series.values, rtol=1e-5)


def test_the_sample_size_and_standard_error_survive_the_round_trip(tmp_path: Path) -> None:
    series = list(simulate_rows("business", seed=2, count=3).series)
    write_labeled_csvs(series, tmp_path)
    header = (tmp_path / series[0].name).read_text().splitlines()[0]
    assert header == "timestamp,value,label,n,se"
    for before, after in zip(series, load_dataset(tmp_path).series, strict=True):
        assert before.series.support is not None and after.series.support is not None
        np.testing.assert_array_equal(before.series.support, after.series.support)
        assert before.series.stderr is not None and after.series.stderr is not None
        # Written with 6 significant digits; NaN (a count's) stays NaN.
        np.testing.assert_allclose(after.series.stderr, before.series.stderr, rtol=1e-5)


def test_an_se_column_is_read_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(
        "timestamp,value,label,n,se\n2024-01-01T00:00Z,1,0,30,0.5\n2024-01-01T01:00Z,2,0,3,\n"
    )
    (one,) = load_dataset(tmp_path).series
    assert one.series.stderr is not None
    assert one.series.stderr[0] == 0.5 and np.isnan(one.series.stderr[1])
    (tmp_path / "a.csv").write_text("timestamp,value,label,se\n2024-01-01T00:00Z,1,0,-1\n")
    with pytest.raises(SchemaError, match="se must be a standard error >= 0 or empty, got '-1'"):
        load_dataset(tmp_path)


def test_repeated_timestamps_merge_standard_errors_as_a_weighted_mean(tmp_path: Path) -> None:
    rows = ["2024-01-01T00:00Z,0.1,0,10,0.3", "2024-01-01T00:00Z,0.4,1,30,0.1"]
    rows += ["2024-01-01T01:00Z,1,0,5,1", "2024-01-01T01:00Z,3,0,5,"]  # one se unknown
    (tmp_path / "s.csv").write_text("timestamp,value,label,n,se\n" + "\n".join(rows) + "\n")
    (one,) = load_dataset(tmp_path).series
    assert one.series.stderr is not None
    # Weights 10/40 and 30/40: sqrt((0.25 * 0.3)^2 + (0.75 * 0.1)^2) = 0.106.
    assert one.series.stderr[0] == pytest.approx(np.hypot(0.25 * 0.3, 0.75 * 0.1))
    assert np.isnan(one.series.stderr[1])


def test_without_n_there_is_no_support_and_an_empty_n_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "plain.csv").write_text("timestamp,value,label\n2024-01-01T00:00Z,1,0\n")
    (tmp_path / "some.csv").write_text(
        "timestamp,value,label,n\n2024-01-01T00:00Z,1,0,30\n2024-01-01T01:00Z,2,0,\n"
    )
    plain, some = load_dataset(tmp_path).series
    assert plain.series.support is None
    assert some.series.support is not None
    assert some.series.support[0] == 30 and np.isnan(some.series.support[1])


def test_repeated_timestamps_merge_by_sample_size(tmp_path: Path) -> None:
    rows = ["2024-01-01T00:00Z,0.1,0,10", "2024-01-01T00:00Z,0.4,1,30", "2024-01-01T01:00Z,1,0,5"]
    rows += ["2024-01-01T02:00Z,1,0,5", "2024-01-01T02:00Z,3,0,"]  # one repeat's n unknown
    (tmp_path / "s.csv").write_text("timestamp,value,label,n\n" + "\n".join(rows) + "\n")
    (one,) = load_dataset(tmp_path).series
    assert one.series.support is not None
    # 10 rows at 0.1 and 30 at 0.4 are 40 rows at 0.325, not the plain mean 0.25.
    assert one.series.values[0] == pytest.approx(0.325) and one.series.support[0] == 40
    assert one.labels[0] and one.merged_duplicates == 2
    # With an unknown n the merged n is unknown and the mean is plain.
    assert np.isnan(one.series.support[2]) and one.series.values[2] == pytest.approx(2.0)


def test_simulation_is_deterministic_in_its_seed() -> None:
    first, again, other = (simulate_series(seed=s, count=8) for s in (5, 5, 6))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.series.values, b.series.values)
    assert any(
        len(a.series) != len(c.series) or not np.array_equal(a.series.values, c.series.values)
        for a, c in zip(first, other, strict=True)
    )


def test_simulation_shape_matches_the_benchmark_promise() -> None:
    series = simulate_series(seed=9, count=48)
    steps = {int(np.diff(s.series.timestamps[:2])[0].astype(int)) for s in series}
    assert steps == {3600, 86400}
    for one in series:
        days = (one.series.timestamps[-1] - one.series.timestamps[0]).astype("timedelta64[D]")
        assert 59 <= days.astype(int) <= 181
        assert one.windows == runs(one.labels)
        assert not one.labels[: len(one.labels) // 5].any()
    with_incident = sum(1 for s in series if s.windows)
    assert 0 < with_incident < len(series)


@pytest.mark.skipif(not (SHARED / "nab").is_dir(), reason="shared NAB data not present")
def test_real_nab_windows_match_the_label_file() -> None:
    listed = json.loads((SHARED / "nab" / "labels" / "combined_windows.json").read_text())
    dataset = load_dataset(SHARED / "nab")
    assert {s.name for s in dataset.series} == set(listed)
    for one in dataset.series:
        assert len(one.windows) == len(listed[one.name])


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED / "microsoft-cloud-monitoring").is_dir(), reason="shared Microsoft data not present"
)
def test_real_csv_folder_loads_every_file_and_counts_what_it_merged() -> None:
    root = SHARED / "microsoft-cloud-monitoring"
    files = sorted(root.rglob("*.csv"))
    dataset = load_dataset(root)
    assert len(dataset.series) == len(files)
    raw_rows = sum(len(pd.read_csv(f)) for f in files)
    kept = sum(len(s.series) for s in dataset.series)
    assert kept + sum(s.merged_duplicates for s in dataset.series) == raw_rows


def test_simulated_incidents_do_what_their_kind_says() -> None:
    series = simulate_series(seed=20240601, count=48)
    seen = set()
    for one in series:
        values = one.series.values
        for (start, end), kind in zip(one.windows, one.window_kinds, strict=True):
            seen.add(kind)
            inside = values[start : end + 1]
            if kind == "traffic_stop":
                assert np.all(inside == 0.0)
            elif kind == "missing_feature":
                assert np.all(inside == 0.0) or np.all(inside == 1.0)
            elif kind == "constant":
                assert np.all(inside == inside[0])
    assert seen == {
        "spike",
        "level_shift",
        "variance_change",
        "missing_feature",
        "constant",
        "gradual_drift",
        "traffic_drop",
        "traffic_stop",
        "latency_regression",
    }
