"""DataFrames in: ``vigil.profile_frame``, ``vigil.reference_profile`` and ``vigil.compare``.

Cross-stage (ingest, profile, stats, report through the pipeline's frame calls), so it lives in
the top-level tests.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import vigil
from vigil.core import ConfigError, SchemaError, Window
from vigil.pipeline.watch import DriftRule, WatchPolicy, watch
from vigil.profile import Profile
from vigil.stats import BAND_SUFFIXES as BANDS
from vigil.stats import Reference, StatsSpec, compare_profiles, drift_series

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
N = 4_000


def _frame(seed: int, shift: float = 0.0, n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, n),
            "country": rng.choice(["DE", "FR", "US"], n),
            "prediction": rng.random(n),
        }
    )


def test_a_plain_frame_of_features_and_predictions_is_profiled_not_quarantined() -> None:
    frame = _frame(0)
    profile = vigil.profile_frame(frame, model="churn", outputs=["prediction"], now=NOW)
    assert profile.rows == N
    assert (profile.key.model, profile.key.version) == ("churn", "")
    assert sorted(profile.features) == ["age", "country"]
    assert sorted(profile.outputs) == ["prediction"]
    age = profile.features["age"].moments
    assert age.count == N
    assert math.isclose(age.mean, float(frame["age"].mean()), rel_tol=1e-9)
    assert profile.key.window == Window(
        start=datetime(2026, 11, 20, 12, tzinfo=UTC), end=datetime(2026, 11, 20, 13, tzinfo=UTC)
    )


def test_a_column_mapping_names_any_column_as_any_field() -> None:
    frame = _frame(1).rename(columns={"prediction": "p"})
    frame["m"] = "ranker"
    frame["v"] = "v2"
    frame["ts"] = pd.Timestamp(NOW) + pd.to_timedelta(np.arange(N) * 60, unit="s")
    profile = vigil.profile_frame(
        frame,
        columns={"m": "model", "v": "version", "ts": "timestamp", "p": "outputs.score"},
        features=["age"],
        now=NOW + timedelta(days=5),
    )
    assert (profile.key.model, profile.key.version) == ("ranker", "v2")
    assert sorted(profile.features) == ["age"]  # country is not listed: left out
    assert sorted(profile.outputs) == ["score"]
    # 4,000 minutes from 12:30 span the hours 12:00 to 07:00 three days later, merged into one.
    assert profile.key.window.start == datetime(2026, 11, 20, 12, tzinfo=UTC)
    last = NOW + timedelta(minutes=N - 1)
    assert profile.key.window.end == last.replace(minute=0) + timedelta(hours=1)
    assert profile.rows == N


def test_columns_named_like_record_fields_are_those_fields() -> None:
    frame = _frame(2)
    frame["label"] = (frame["prediction"] > 0.5).astype(float)
    frame["timestamp"] = pd.Timestamp(NOW)
    profile = vigil.profile_frame(frame, model="m", outputs=["prediction"], now=NOW)
    assert sorted(profile.features) == ["age", "country"]
    assert profile.labels.moments.count == N


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "name the model"),
        ({"model": "m", "features": ["agee"]}, "no column 'agee'"),
        ({"model": "m", "columns": {"age": "feature.age"}}, "cannot map a column to"),
        ({"model": "m", "columns": {"age": "outputs.x", "prediction": "outputs.x"}}, "two columns"),
    ],
)
def test_columns_that_cannot_be_understood_are_refused_with_the_fix(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        vigil.profile_frame(_frame(3), now=NOW, **kwargs)  # type: ignore[arg-type]


def test_a_model_given_twice_is_refused() -> None:
    frame = _frame(3)
    frame["model"] = "a"
    with pytest.raises(ConfigError, match="model column too"):
        vigil.profile_frame(frame, model="b", now=NOW)


def test_naive_timestamps_are_refused_with_the_fix() -> None:
    frame = _frame(4)
    frame["ts"] = pd.Timestamp("2026-11-20 10:00")
    with pytest.raises(ConfigError, match=r"tz_localize\('UTC'\)"):
        vigil.profile_frame(frame, model="m", timestamp="ts", now=NOW)


def test_rows_ingest_would_quarantine_fail_the_call_with_their_reasons() -> None:
    table = pa.table({"age": [1.0, 2.0, float("inf")], "note": [["a"], ["b"], ["c"]]})
    with pytest.raises(SchemaError, match=r"3 of 3 rows of the frame would be quarantined"):
        vigil.profile_frame(table, model="m", now=NOW)
    good = pa.table({"age": [1.0, 2.0, 3.0]})
    assert vigil.profile_frame(good, model="m", now=NOW).rows == 3


def test_a_reference_profile_from_parquet_is_written_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pandas(_frame(5), preserve_index=False), path)
    out = tmp_path / "reference.vigilprofile"
    profile = vigil.reference_profile(
        path, model="churn", version="v1", outputs=["prediction"], out=out, now=NOW
    )
    assert out.read_bytes() == profile.to_bytes()
    again = Profile.from_bytes(out.read_bytes())
    assert (again.key, again.rows, sorted(again.features)) == (
        profile.key,
        N,
        ["age", "country"],
    )
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(ConfigError, match="no Parquet file"):
        vigil.reference_profile(tmp_path / "nope.parquet", model="churn")


def test_compare_flags_the_shifted_column_only() -> None:
    report = vigil.compare(_frame(6), _frame(7, shift=10.0), outputs=["prediction"], now=NOW)
    assert report.drifted == ("age",)
    by_name = {c.column: c for c in report.columns}
    age = by_name["age"]
    assert age.decided_by == "mean" and age.value > age.threshold > 40.0
    assert dict(age.statistics)["ks"] > 0.3
    assert by_name["country"].decided_by == "share" and by_name["country"].categorical
    assert not by_name["prediction"].drifted and by_name["prediction"].family == "output"
    assert "age: DRIFT" in str(report)


def test_compare_decides_drift_exactly_as_the_pipeline_does() -> None:
    """Same tested values and bands as the pipeline's drift series with a fixed reference, and
    the same decision as the pipeline's detection on both sides of the minimum support; an
    unchanged column on either side of nothing."""
    reference, current = _frame(8), _frame(9, shift=3.0)
    ref = vigil.profile_frame(reference, model="m", outputs=["prediction"], now=NOW)
    cur = vigil.profile_frame(
        current, model="m", outputs=["prediction"], now=NOW + timedelta(days=1)
    )
    spec = StatsSpec(reference=Reference.fixed(ref.key.window))
    found = drift_series([ref, cur], None, spec, since=cur.key.window.start)
    series = {(s.key.column, s.key.statistic): s for s in found}
    compared = next(c for c in compare_profiles(ref, cur, spec) if c.column == "age")
    for tested in compared.tested:
        piped = [series[("age", tested.statistic + suffix)].values[-1] for suffix in ("", *BANDS)]
        band = tested.band
        assert piped == [tested.value, band.expected, band.lower, band.upper]
    age_series = [s for s in found if s.key.column == "age"]
    support = compared.tested[0].support
    window = cur.key.window
    for min_support, drifted in ((support, True), (support + 1, False)):
        policy = WatchPolicy(drift=DriftRule(min_support=min_support))
        paged = watch(age_series, start=window.start, end=window.end, policy=policy).anomalies
        report = vigil.compare(ref, cur, stats=spec, policy=policy)
        age = next(c for c in report.columns if c.column == "age")
        assert age.drifted is bool(paged) is drifted
        assert age.support == support
    same = vigil.compare(ref, _frame(9), stats=spec, outputs=["prediction"], now=NOW)
    assert not next(c for c in same.columns if c.column == "age").drifted


def test_compare_reads_frames_that_name_their_model() -> None:
    reference, current = _frame(14).assign(model="churn"), _frame(15).assign(model="churn")
    report = vigil.compare(reference, current, outputs=["prediction"], now=NOW)
    assert report.reference.key.model == report.current.key.model == "churn"
    assert report.drifted == ()


def test_quality_signals_show_a_missing_and_a_new_column() -> None:
    reference = _frame(10)
    current = _frame(11).drop(columns=["country"]).assign(device="ios")
    report = vigil.compare(reference, current, outputs=["prediction"], now=NOW)
    signals = {c.column: c.signals for c in report.columns}
    assert signals["country"] == ("missing",)
    assert "new" in signals["device"]
    assert signals["age"] == ()


def test_the_report_renders_in_a_notebook_and_as_a_page(tmp_path: Path) -> None:
    reference = _frame(12).rename(columns={"age": "<b>age</b>"})
    current = _frame(13, shift=10.0).rename(columns={"age": "<b>age</b>"})
    report = vigil.compare(reference, current, now=NOW)
    cell = report._repr_html_()
    assert cell.startswith('<div class="vigil-compare">')
    assert "<body" not in cell and "&lt;b&gt;age&lt;/b&gt;" in cell and "<b>age" not in cell
    assert all(rule.lstrip().startswith(".vigil-compare") for rule in _style_rules(cell))
    page = report.html
    assert page.startswith("<!DOCTYPE html>") and cell in page
    saved = report.save(tmp_path / "drift.html")
    assert saved.read_text(encoding="utf-8") == page


def _style_rules(html: str) -> list[str]:
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    return [rule.split("{")[0] for rule in style.split("}") if "{" in rule]


def test_import_vigil_stays_light_and_the_frame_calls_load_on_use() -> None:
    code = (
        "import json, sys, vigil; heavy = ('numpy', 'pandas', 'pyarrow', 'vigil.pipeline'); "
        "before = sorted(m for m in sys.modules if m.startswith(heavy)); "
        "vigil.compare; print(json.dumps([before, 'vigil.pipeline.frames' in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [[], True]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vigil.nope  # type: ignore[attr-defined]  # noqa: B018
