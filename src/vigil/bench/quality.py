"""``vigil bench quality``: a labelled month with known changes through the pipeline, judged.

For each traffic level and seed, :func:`~vigil.lab.simulation.quality_month.simulate_quality_month`
writes a month of logs, one :func:`~vigil.pipeline.runner.run_cycle` runs every window through
every stage into an in-memory store, and the stored anomalies and series are scored
(:mod:`vigil.bench.quality_judging`). Only anomalies that made it into an incident count (what
pages a person):

- per change: caught when such an anomaly on its column (the score's performance series for the
  concept shift) falls in ``[start, end + slack)``; the delay is from the change's start to
  that anomaly's window end (when the pipeline could have said it);
- false alarms: column-days of the evaluated days (after the first clean week) with at least
  one anomaly on a column that had no change then, out of all such column-days;
- estimation: the label-free estimate of each day's predictions against the day's realised
  value (the ``_1d`` points of the day's last window: the day as one chunk, as NannyML's daily
  chunks are judged), on days without concept shift whose labels have arrived (MAE);
  ``estimation_mae_hourly`` is the earlier measure, the support-weighted mean of the hourly
  points (for AUC a mean of hourly AUCs on ~40 labels each, a noisier quantity than the day's).

``reference`` chooses what drift compares with (:data:`REFERENCES`): the default trailing
references, the month's clean first week as a fixed ``[[references]]`` date range, or a
reference profile of "training data" (another clean week drawn with another seed, profiled by
:func:`vigil.reference_profile`), as a user who names their training set would have it.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from vigil.bench.quality_judging import (
    CLEAN_DAYS,
    DAY,
    ESTIMATED,
    MonthResult,
    judge_month,
)
from vigil.core import ConfigError
from vigil.lab.simulation.quality_month import (
    MODEL,
    QualityMonth,
    simulate_quality_month,
)
from vigil.pipeline.config import VigilConfig, parse_config
from vigil.pipeline.runner import run_cycle
from vigil.profile.performance import DEFAULT_BINS
from vigil.stats.performance import binned_auc
from vigil.store import MemoryStore

REFERENCES = ("trailing", "first-week", "training")
TRAINING_SEED_OFFSET = 1_000_003
"""The training week is drawn with ``seed + TRAINING_SEED_OFFSET``: the same world, other rows."""


def run_quality_month(
    *,
    rows_per_day: int,
    seed: int,
    config: VigilConfig | None = None,
    reference: str = "trailing",
    workdir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    segment_shift: bool = False,
    segments: Sequence[str] = (),
) -> MonthResult:
    """Simulate one month, run the pipeline over it once, and judge what it found.

    ``reference`` (one of :data:`REFERENCES`) adds its ``[[references]]`` to the defaults, and
    ``segments`` its ``[profile] segments``; neither can be combined with a ``config``.
    ``segment_shift`` adds the month's change confined to one region."""
    import time

    if reference not in REFERENCES:
        raise ConfigError(f"unknown reference {reference!r}; known: {', '.join(REFERENCES)}")
    if config is not None and (reference != "trailing" or segments):
        raise ConfigError("give either a config or a reference and segments, not both")
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        say(f"simulate a month at {rows_per_day} predictions a day (seed {seed})")
        month = simulate_quality_month(
            Path(folder) / "logs", rows_per_day=rows_per_day, seed=seed, segment_shift=segment_shift
        )
        settings = _references(reference, month, Path(folder), seed=seed)
        if segments:
            settings["profile"] = {"segments": list(segments)}
        chosen = config or parse_config(settings, source=f"{reference} reference")
        store = MemoryStore()
        began = time.perf_counter()
        cycle = run_cycle(
            config=chosen, store=store, now=month.end, channels={}, sources=[str(month.root)]
        )
        seconds = time.perf_counter() - began
        series = store.series.get(model=MODEL)
        expected = expected_performance(month)
    paged = [a for incident in cycle.incidents for a in incident.anomalies]
    judged = judge_month(
        month,
        paged,
        series,
        seed=seed,
        incidents=len(cycle.incidents),
        seconds=seconds,
        expected=expected,
    )
    return replace(judged, reference=reference)


def expected_performance(month: QualityMonth) -> dict[datetime, dict[str, float]]:
    """Per day, the accuracy (at 0.5) and ROC AUC of its predictions expected from their true
    chance of a positive, which the simulated score is outside the concept shift: what a
    perfect label-free estimate would say (AUC over the same 200 score bins as the realised)."""
    import pyarrow.parquet as pq

    found: dict[datetime, dict[str, float]] = {}
    for day in range((month.end - month.start).days):
        start = month.start + day * DAY
        path = month.root / f"date={start:%Y-%m-%d}" / "predictions.parquet"
        if not path.exists():
            continue
        chance = np.asarray(
            pq.read_table(path, columns=["outputs.score"]).column(0).to_numpy(), dtype=np.float64
        )
        bins = np.minimum((chance * DEFAULT_BINS).astype(np.int64), DEFAULT_BINS - 1)
        positives = np.bincount(bins, weights=chance, minlength=DEFAULT_BINS).astype(np.float64)
        negatives = np.bincount(bins, weights=1.0 - chance, minlength=DEFAULT_BINS).astype(
            np.float64
        )
        found[start] = {
            "accuracy": float(np.mean(np.where(chance >= 0.5, chance, 1.0 - chance))),
            "roc_auc": binned_auc(positives, negatives).value,
        }
    return found


def _references(
    reference: str, month: QualityMonth, folder: Path, *, seed: int
) -> dict[str, object]:
    """The configuration's ``[[references]]`` for ``reference`` (none for ``trailing``)."""
    if reference == "first-week":
        end = month.start + CLEAN_DAYS * DAY
        return {"references": [{"start": month.start.isoformat(), "end": end.isoformat()}]}
    if reference == "training":
        import pyarrow as pa
        import pyarrow.parquet as pq

        from vigil.pipeline.frames import reference_profile

        training = simulate_quality_month(
            folder / "training",
            rows_per_day=month.rows_per_day,
            days=CLEAN_DAYS + 1,
            seed=seed + TRAINING_SEED_OFFSET,
        )
        days = sorted(training.root.glob("*/predictions.parquet"))
        out = folder / "training.vigilprofile"
        table = pa.concat_tables([pq.read_table(day) for day in days])
        grouped = {
            n: n for n in table.column_names if n.startswith(("features.", "outputs.", "tags."))
        }
        reference_profile(table, columns=grouped, out=out)
        return {"references": [{"profile": str(out)}]}
    return {}


def run_quality_bench(
    *,
    rows_per_day: Sequence[int],
    seeds: Sequence[int],
    config: VigilConfig | None = None,
    reference: str = "trailing",
    progress: Callable[[str], None] | None = None,
    segment_shift: bool = False,
    segments: Sequence[str] = (),
) -> list[MonthResult]:
    """One judged month per traffic level and seed."""
    return [
        run_quality_month(
            rows_per_day=rows,
            seed=seed,
            config=config,
            reference=reference,
            progress=progress,
            segment_shift=segment_shift,
            segments=segments,
        )
        for rows in rows_per_day
        for seed in seeds
    ]


def result_json(result: MonthResult) -> dict[str, object]:
    """One month as plain JSON (NaN delays and errors as ``null``)."""

    def number(value: float) -> float | None:
        return round(value, 4) if math.isfinite(value) else None

    return {
        "rows_per_day": result.rows_per_day,
        "seed": result.seed,
        "reference": result.reference,
        "predictions": result.predictions,
        "labels": result.labels,
        "caught": result.caught,
        "changes": [
            {
                "kind": c.kind,
                "column": c.column,
                "caught": c.caught,
                "delay_h": number(c.delay_h),
            }
            for c in result.changes
        ],
        "false_alarm_column_days": result.false_alarm_days,
        "unchanged_column_days": result.unchanged_column_days,
        "false_alarm_columns": list(result.false_alarm_columns),
        "whole_false_alarm_column_days": result.whole_false_alarm_days,
        "segment_false_alarm_column_days": result.segment_false_alarm_days,
        "segment_column_days": result.segment_column_days,
        "segment_false_alarm_columns": list(result.segment_false_alarm_columns),
        "estimation_mae": {name: number(v) for name, v in result.estimation_mae.items()},
        "estimation_mae_hourly": {
            name: number(v) for name, v in result.estimation_mae_hourly.items()
        },
        "estimation_floor": {name: number(v) for name, v in result.estimation_floor.items()},
        "estimation_days": result.estimation_days,
        "incidents": result.incidents,
        "seconds": round(result.seconds, 1),
    }


def format_results(results: Sequence[MonthResult]) -> str:
    """A table: one row per month, a column per change (delay in hours, or ``missed``)."""
    if not results:
        return "no months run"
    kinds = [c.kind for c in results[0].changes]
    head = ["rows/day", "seed", *kinds, "false alarms", "segment false alarms", "MAE acc"]
    head += ["MAE auc", "floor acc/auc"]
    lines = [" | ".join(head)]
    for r in results:
        delays = [f"{c.delay_h:.0f} h" if c.caught else "missed" for c in r.changes]
        alarms = [f"{r.false_alarm_days}/{r.unchanged_column_days}"]
        alarms.append(f"{r.segment_false_alarm_days}/{r.segment_column_days}")
        maes = [f"{r.estimation_mae.get(m, math.nan):.4f}" for m in ESTIMATED]
        maes.append("/".join(f"{r.estimation_floor.get(m, math.nan):.4f}" for m in ESTIMATED))
        lines.append(" | ".join([str(r.rows_per_day), str(r.seed), *delays, *alarms, *maes]))
    return "\n".join(lines)
