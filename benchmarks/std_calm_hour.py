"""The hour that paged "std 4.74, expected 1.7" on calm seed 60 (model calm-1, feature f4, a
Student-t; 2026-05-16 14:00) against its reference hours (the same hour of the 7 days before):
how often a KLL sketch of the hour loses its largest value from its items, and how often the
standard deviation's test flags it with the sketches' heavier kurtosis reading
(``heavier_kurtosis``) and with the farthest value's bound (``spread_kurtosis``).

    python benchmarks/std_calm_hour.py --sketches 200
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vigil.lab.simulation.calm_logs import simulate_calm_logs
from vigil.profile import Moments, QuantileSketch
from vigil.profile.spec import DEFAULT_KLL_K
from vigil.stats.change import ChangeTest, std_band
from vigil.stats.kurtosis import heavier_kurtosis, spread_kurtosis
from vigil.stats.sketches import ExactQuantiles

START = datetime(2026, 5, 4, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sketches", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        simulate_calm_logs(Path(folder) / "logs", start=START, days=14, seed=60)
        tables = [
            pq.read_table(f, columns=["timestamp", "features.f4"])
            for f in sorted(Path(folder).rglob("*.parquet"))
            if "calm-1" in str(f) and "features.f4" in pq.read_schema(f).names
        ]
    table = pa.concat_tables(tables)
    stamps = table["timestamp"].to_numpy().astype("datetime64[h]")
    values = table["features.f4"].to_numpy(zero_copy_only=False).astype(float)
    hour = np.datetime64("2026-05-16T14", "h")
    cur = values[stamps == hour]
    ref = np.concatenate(
        [values[stamps == hour - np.timedelta64(24 * d, "h")] for d in range(1, 8)]
    )
    m_cur, m_ref = Moments.of(cur), Moments.of(ref)
    exact = heavier_kurtosis(ExactQuantiles.of(cur), ExactQuantiles.of(ref))
    print(
        f"hour: {cur.size} values, sd {m_cur.std:.2f}, largest |x| {np.abs(cur).max():.1f}; "
        f"reference {ref.size} values, sd {m_ref.std:.2f}; exact kurtosis reading {exact:.0f}"
    )
    lost = flagged = flagged_bound = 0
    for _ in range(args.sketches):
        s_cur = QuantileSketch.empty(DEFAULT_KLL_K).update(cur)
        s_ref = QuantileSketch.empty(DEFAULT_KLL_K).update(ref)
        items, _ = s_cur.weighted_items()
        lost += bool(np.abs(items).max() < np.abs(cur).max())
        test = ChangeTest()
        old = std_band(m_cur, m_ref, test, kurtosis=heavier_kurtosis(s_cur, s_ref))
        new = std_band(m_cur, m_ref, test, kurtosis=spread_kurtosis(s_cur, m_cur, s_ref, m_ref))
        flagged += not old.contains(m_cur.std)
        flagged_bound += not new.contains(m_cur.std)
    print(
        f"{args.sketches} sketches of the hour: largest value lost {lost}; std flagged with the "
        f"heavier reading {flagged}, with the farthest value's bound {flagged_bound}"
    )


if __name__ == "__main__":
    main()
