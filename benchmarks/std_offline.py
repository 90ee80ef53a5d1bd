"""The spread test's kurtosis on a ``vigil bench quality`` month, paired: main's reading (the
reference's kurtosis) against ``heavier_kurtosis``, on the same profiles.

Simulates the month with ``--segment-shift`` and profiles it split by ``region`` (as
``vigil bench quality --segment-shift --segment region``), keeps the named feature columns, then
runs the pipeline's drift calls (``drift_series``, ``changed_windows``, ``drift_day_series``, for
the whole model and each region at alpha / 3) once per reading. Prints, per reading, the
unchanged column-days (days 7-29, no change that day or the day before) with a raw ``std`` or
``std_1d`` flag (outside its band, on >= 30 rows; before the watch and the filters), and the
hours to each change's first such flag.

    python benchmarks/std_offline.py --rows 1000 --seed 8801 \\
        --columns num_heavy,num_spread,num_skew,num_small_count
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from vigil.bench.quality_judging import CLEAN_DAYS, _changed
from vigil.lab.simulation.quality_month import MODEL, simulate_quality_month
from vigil.pipeline.config import parse_config
from vigil.pipeline.profiling import profile_paths
from vigil.profile import Profile
from vigil.stats import Series, StatsSpec, drift, drift_day, kurtosis
from vigil.stats.change import numeric_changes
from vigil.stats.drift import drift_series
from vigil.stats.drift_day import changed_windows, drift_day_series
from vigil.stats.segments import segment_spec, segments_to_test
from vigil.store import MemoryStore

DAY = timedelta(days=1)


def _one_at_a_time(pairs: Any, test: Any) -> list[Any]:
    return [
        numeric_changes(c, cm, r, rm, test, ks=ks.value, ks_sketch_error=ks.sketch_error)
        for c, cm, r, rm, ks in pairs
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--columns", required=True)
    args = parser.parse_args()
    kept = set(args.columns.split(","))
    with tempfile.TemporaryDirectory() as folder:
        month = simulate_quality_month(
            Path(folder) / "logs", rows_per_day=args.rows, seed=args.seed, segment_shift=True
        )
        config = parse_config({"profile": {"segments": ["region"]}}, source="std_offline")
        store = MemoryStore()
        profile_paths([str(month.root)], store=store, spec=config.profile_spec(), now=month.end)
        profiles = [_keep(p, kept) for p in store.profiles.get(model=MODEL)]
    spec = StatsSpec(change=config.change_test(), exclude_changed=True)
    heavier = kurtosis.heavier_kurtosis
    batched = drift.numeric_changes_batch
    # The batched bands read the kurtosis themselves: test one pair at a time, through
    # numeric_changes, which reads heavier_kurtosis from its module (the same answers).
    drift.numeric_changes_batch = drift_day.numeric_changes_batch = _one_at_a_time
    out: dict[str, object] = {"rows": args.rows, "seed": args.seed}
    for name, reading in (("main", lambda c, r: kurtosis.kurtosis_of(r)), ("heavier", heavier)):
        kurtosis.heavier_kurtosis = reading
        false_days: set[tuple[str, str, str]] = set()
        first: dict[str, float] = {}
        for column, statistic, stamp in _std_flags(profiles, spec):
            moment = stamp.astype("datetime64[s]").astype(object).replace(tzinfo=month.start.tzinfo)
            day = month.start + ((moment - month.start) // DAY) * DAY
            for c in month.changes:
                if _names(c.column, column) and c.start <= moment < c.end + timedelta(hours=6):
                    hours = (moment + timedelta(hours=1) - c.start).total_seconds() / 3600
                    first[c.kind] = min(first.get(c.kind, hours), hours)
            if day >= month.start + CLEAN_DAYS * DAY and not _changed(month.changes, column, day):
                false_days.add((column, statistic, f"{day:%Y-%m-%d}"))
        out[name] = {"false_std_column_days": sorted(false_days), "first_std_flag_h": first}
    kurtosis.heavier_kurtosis = heavier
    drift.numeric_changes_batch = drift_day.numeric_changes_batch = batched
    print(json.dumps(out))


def _keep(profile: Profile, columns: set[str]) -> Profile:
    return replace(
        profile,
        features={k: v for k, v in profile.features.items() if k in columns},
        outputs={},
        segments={n: _keep(s, columns) for n, s in profile.segments.items()},
    )


def _names(changed: str, column: str) -> bool:
    if "@" in changed:
        return column == changed
    return column.partition("@")[0] == changed


def _std_flags(profiles: list[Profile], spec: StatsSpec) -> list[tuple[str, str, np.datetime64]]:
    hourly = drift_series(profiles, None, spec)
    daily = drift_day_series(profiles, spec, excluded=changed_windows(hourly, spec))
    found = _flags(hourly + daily, "")
    names = segments_to_test(profiles)
    tested = segment_spec(spec, len(names))
    for name in names:
        parts = [p.segments[name] for p in profiles if name in p.segments]
        hourly = drift_series(parts, None, tested)
        daily = drift_day_series(parts, tested, excluded=changed_windows(hourly, tested))
        found += _flags(hourly + daily, f"@{name}")
    return found


def _flags(series: list[Series], segment: str) -> list[tuple[str, str, np.datetime64]]:
    by_key = {s.key: s for s in series}
    found = []
    for key, one in by_key.items():
        if key.statistic not in ("std", "std_1d") or one.support is None:
            continue
        lower = by_key[replace(key, statistic=key.statistic + "_lower")].values
        upper = by_key[replace(key, statistic=key.statistic + "_upper")].values
        with np.errstate(invalid="ignore"):
            hit = ((one.values < lower) | (one.values > upper)) & (one.support >= 30)
        for stamp in one.timestamps[np.nan_to_num(hit, nan=0).astype(bool)]:
            found.append((key.column + segment, key.statistic, stamp))
    return found


if __name__ == "__main__":
    main()
