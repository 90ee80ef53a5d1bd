"""Commands for the deep detector: ``vigil train deep``, ``vigil bench deep``, ``deep-speed``.

Heavy imports (torch, the store) happen inside the commands so ``import vigil`` stays light.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.detection_commands import CalibrationOption

if TYPE_CHECKING:
    from vigil.core import SeriesKey
    from vigil.lab.training import Example

SIM_TRAIN_SEED = 1  # never the bench's seed (20240601): the simulated row stays held out


def train_deep(
    out: Annotated[Path, typer.Option("--out", help="Where to write the weights (.npz).")],
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Labeled data set folder to add to the corpus (repeatable)."),
    ] = None,
    simulated: Annotated[
        int, typer.Option("--simulated", help="Simulated series in the corpus (0 = none).")
    ] = 96,
    simulated_seed: Annotated[int, typer.Option("--simulated-seed")] = SIM_TRAIN_SEED,
    minute: Annotated[
        int,
        typer.Option(
            "--minute",
            help="Generated 1-/5-minute heavy-tailed series in the corpus (0 = none).",
        ),
    ] = 48,
    seed: Annotated[int, typer.Option("--seed", help="Seed for torch and sampling.")] = 7,
    omit: Annotated[int, typer.Option("--omit", help="Most recent steps left out.")] = 3,
    normalize: Annotated[str, typer.Option("--normalize", help="window or series.")] = "window",
    irregularity: Annotated[bool, typer.Option("--irregularity/--no-irregularity")] = True,
    surprise: Annotated[
        bool,
        typer.Option(
            "--surprise/--no-surprise",
            help="Stage 2 sees each step's severity against the series' own recent ones.",
        ),
    ] = True,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs per stage.")] = 6,
    rows: Annotated[
        int, typer.Option("--rows", help="Training steps sampled per stage.")
    ] = 200_000,
    from_feedback: Annotated[
        bool, typer.Option("--from-feedback", help="Fine-tune stage 2 on stored feedback.")
    ] = False,
    db: Annotated[
        str | None, typer.Option("--db", help="Store URL (with --from-feedback).")
    ] = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", help="Model to fine-tune (default: shipped).")
    ] = None,
) -> None:
    """Train the two-stage deep detector (PyTorch, the "train" extra) and write its weights."""
    from vigil.core import VigilError

    try:
        if from_feedback:
            _fine_tune(out, db, weights, seed)
            return
        _train(
            out,
            data or [],
            simulated,
            simulated_seed,
            minute,
            seed,
            omit,
            normalize,
            irregularity,
            surprise,
            epochs,
            rows,
        )
    except VigilError as err:
        raise typer.BadParameter(str(err)) from err


def _train(
    out: Path,
    data: list[Path],
    simulated: int,
    simulated_seed: int,
    minute: int,
    seed: int,
    omit: int,
    normalize: str,
    irregularity: bool,
    surprise: bool,
    epochs: int,
    rows: int,
) -> None:
    from vigil.detect.deep import FeatureSpec, save_model
    from vigil.lab.labeled import LabeledDataset, load_dataset
    from vigil.lab.simulation.series import simulate_series
    from vigil.lab.training import TrainSettings, examples_from, train_deep

    started, cpu = time.perf_counter(), time.process_time()
    examples: list[Example] = []
    mix = []
    if simulated:
        sim = LabeledDataset(
            name="simulated",
            form="simulated",
            series=tuple(simulate_series(seed=simulated_seed, count=simulated)),
        )
        examples += examples_from(sim, "simulated")
        mix.append(f"simulated seed {simulated_seed} x{simulated}")
    if minute:
        from vigil.lab.training import minute_series

        examples += minute_series(seed=simulated_seed, count=minute)
        mix.append(f"generated minute-level seed {simulated_seed} x{minute}")
    for folder in data:
        dataset = load_dataset(folder)
        examples += examples_from(dataset, dataset.name)
        mix.append(f"{dataset.name} ({len(dataset.series)} series)")
    settings = TrainSettings(
        spec=FeatureSpec(omit=omit, normalize=normalize),
        use_irregularity=irregularity,
        surprise=surprise,
        stage1_epochs=epochs,
        stage2_epochs=epochs,
        stage1_rows=rows,
        stage2_rows=rows,
        seed=seed,
    )
    provenance = (
        f"vigil train deep; corpus: {', '.join(mix)}; seed {seed}; omit {omit}; "
        f"normalize {normalize}; irregularity {irregularity}; surprise {surprise}; "
        f"epochs {epochs}; rows {rows}"
    )
    model = train_deep(examples, settings, log=typer.echo, provenance=provenance)
    save_model(model, out)
    typer.echo(
        f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB) in "
        f"{time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU"
    )
    typer.echo(f"decision defaults: {model.decision}")


def _fine_tune(out: Path, db: str | None, weights: Path | None, seed: int) -> None:
    import numpy as np

    from vigil.core import ConfigError
    from vigil.detect.deep import load_model, save_model, shipped_weights
    from vigil.incidents import feedback_labels
    from vigil.lab.training import FeedbackSeries, fine_tune_stage2
    from vigil.store import SqlStore

    if db is None:
        raise ConfigError("--from-feedback needs --db URL (the store holding the feedback)")
    store = SqlStore(db)
    labels = []
    for feedback in store.get_feedback():
        incident = store.get_incident(feedback.incident_id)
        if incident is not None:
            labels += feedback_labels(incident, feedback)
    if not labels:
        raise ConfigError(f"no feedback with incidents in {db}: nothing to fine-tune on")
    by_key = {}
    for model_name in sorted({label.key.model for label in labels}):
        for one in store.get_series(model=model_name):
            by_key[one.key] = one
    masks: dict[SeriesKey, tuple[np.ndarray, np.ndarray]] = {}
    unmatched = 0
    for label in labels:
        series = by_key.get(label.key)
        stamp = np.datetime64(label.timestamp.replace(tzinfo=None), "s")
        where = -1 if series is None else int(np.searchsorted(series.timestamps, stamp))
        if series is None or where >= len(series) or series.timestamps[where] != stamp:
            unmatched += 1  # counted and reported, never silently dropped
            continue
        confirmed, rejected = masks.setdefault(
            label.key, (np.zeros(len(series), bool), np.zeros(len(series), bool))
        )
        (confirmed if label.label else rejected)[where] = True
    feedback_series = [
        FeedbackSeries(series=by_key[key], confirmed=c, rejected=r) for key, (c, r) in masks.items()
    ]
    if unmatched:
        typer.echo(f"{unmatched} of {len(labels)} feedback labels match no stored series step")
    base = load_model(weights or shipped_weights())
    tuned = fine_tune_stage2(base, feedback_series, seed=seed, log=typer.echo)
    save_model(tuned, out)
    typer.echo(f"fine-tuned stage 2 on {len(labels) - unmatched} feedback labels; wrote {out}")


def bench_deep(
    dataset: Annotated[str, typer.Option("--dataset", help="Data set folder or 'simulated'.")],
    weights: Annotated[
        Path | None, typer.Option("--weights", help="Weights file (default: shipped).")
    ] = None,
    fpr: Annotated[float, typer.Option("--fpr")] = 0.01,
    tolerance: Annotated[int, typer.Option("--tolerance")] = 3,
    classifier: Annotated[bool, typer.Option("--classifier/--no-classifier")] = True,
    filters: Annotated[bool, typer.Option("--filters/--no-filters")] = True,
    routine: Annotated[
        bool,
        typer.Option(
            "--routine/--no-routine",
            help="Keep the decision's test that an excursion is beyond the series' routine.",
        ),
    ] = True,
    alert_only: Annotated[
        bool,
        typer.Option(
            "--alert-only/--fpr-scores",
            help="Score 0 off the decision's alerts (default) or the protocol's scores.",
        ),
    ] = True,
    name: Annotated[str, typer.Option("--name", help="Row name in the table.")] = "deep",
    wide: Annotated[bool, typer.Option("--wide")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    calibration: CalibrationOption = "prefix",
) -> None:
    """Score the deep detector (given weights) like ``vigil bench detect`` scores baselines."""
    import tempfile

    from vigil.bench.detection import CALIBRATIONS, format_table, judge, resolve_dataset
    from vigil.core import VigilError
    from vigil.detect.deep import load_model, shipped_weights
    from vigil.lab.ablation import AblatedDeepDetector

    try:
        model = load_model(weights or shipped_weights())
        decision = model.decision if routine else replace(model.decision, beyond_routine=False)
        detector = AblatedDeepDetector(
            model,
            decision=decision,
            use_classifier=classifier,
            use_filters=filters,
            alert_only=alert_only,
        )
        with tempfile.TemporaryDirectory(prefix="vigil-simulated-") as scratch:
            data = resolve_dataset(dataset, Path(scratch))
        started = time.perf_counter()
        scored = [s.score for s in detector.score([one.series for one in data.series])]
        seconds = time.perf_counter() - started
        result = judge(
            name,
            data,
            scored,
            fpr=fpr,
            tolerance=tolerance,
            seconds=seconds,
            calibration=calibration,
        )
    except VigilError as err:
        raise typer.BadParameter(str(err)) from err
    if as_json:
        typer.echo(
            json.dumps(
                {"dataset": data.name, "weights": model.provenance, "result": result.to_json()},
                indent=2,
            )
        )
        return
    typer.echo(f"dataset {data.name}: {len(data.series)} series; weights: {model.provenance}")
    typer.echo(f"calibration: {CALIBRATIONS[calibration]}; fpr={fpr}, tolerance={tolerance} steps")
    typer.echo(format_table([result], wide=wide))


def bench_deep_speed(
    series: Annotated[int, typer.Option("--series", help="Series to score.")] = 1000,
    points: Annotated[int, typer.Option("--points", help="Steps per series (hourly).")] = 720,
    arima_sample: Annotated[
        int, typer.Option("--arima-sample", help="Series ARIMA scores (its time is scaled up).")
    ] = 10,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Time the deep detector on ``series`` x ``points`` against ARIMA on the same series."""
    import numpy as np

    from vigil.core import SeriesKey
    from vigil.detect.deep import DeepDetector
    from vigil.lab import make_bench_detector, nab_probation
    from vigil.stats import Series

    rng = np.random.default_rng(seed)
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(points) * np.timedelta64(3600, "s")
    daily = np.sin(2 * np.pi * np.arange(points) / 24)
    batch = [
        Series(
            key=SeriesKey(model="speed", version="", family="f", column=f"c{i}", statistic="mean"),
            timestamps=stamps,
            values=rng.uniform(1, 1000) * (1 + 0.2 * daily + 0.05 * rng.normal(size=points)),
        )
        for i in range(series)
    ]
    detector = DeepDetector()
    started, cpu = time.perf_counter(), time.process_time()
    detector.score(batch)
    deep_s, deep_cpu = time.perf_counter() - started, time.process_time() - cpu
    typer.echo(
        f"deep: {series} series x {points} steps in {deep_s:.2f} s wall, {deep_cpu:.2f} s CPU "
        f"(one process)"
    )
    sample = batch[: max(1, min(arima_sample, series))]
    started, cpu = time.perf_counter(), time.process_time()
    for one in sample:
        arima = make_bench_detector("arima")
        arima.fit([one.slice(0, nab_probation(points))])
        arima.score([one])
    arima_s, arima_cpu = time.perf_counter() - started, time.process_time() - cpu
    scale = series / len(sample)
    typer.echo(
        f"arima: {len(sample)} series in {arima_s:.2f} s wall, {arima_cpu:.2f} s CPU; "
        f"scaled to {series}: {arima_s * scale:.0f} s wall, {arima_cpu * scale:.0f} s CPU"
    )
    typer.echo(f"deep / arima CPU time: {deep_cpu / max(arima_cpu * scale, 1e-9):.4f}")
