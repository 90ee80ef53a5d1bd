"""``vigil bench deep-lodo``: the deep model trained without each data set, scored on it.

Two corpora are compared, as issue 17 asks:

- **generated only**: one model trained on the recipe's generated corpus, with no development
  set in it, scored on every set (each is unseen);
- **generated + the other sets**: per data set, a model trained on the generated corpus plus
  every *other* set (their labels as positives), scored on the set left out.

Each model is scored by both detectors built on it: ``deep`` (its trained decision) and
``deep-calibrated`` (its forecast behind the calibration layer), under the rules of
``vigil bench detect`` (fit on each series' unlabeled prefix, threshold = the ``1 - fpr``
quantile of the pooled prefix scores, event F1). The shipped weights are scored too, for
reference: their row says what they were trained on, and a set in it is not unseen.
Training needs torch (the ``train`` extra); each model trains in one thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from vigil.bench.detection import judge, resolve_dataset
from vigil.core import ConfigError, VigilError
from vigil.detect import DEFAULT_DETECTOR, Detector
from vigil.detect.deep import (
    CalibratedDeepDetector,
    DeepDetector,
    DeepModel,
    load_model,
    shipped_weights,
)
from vigil.lab import LabeledDataset, nab_probation

if TYPE_CHECKING:
    from vigil.lab.training import TrainingRecipe

FloatArray = npt.NDArray[np.float64]
Log = Callable[[str], None]
DETECTORS: dict[str, Callable[[DeepModel], Detector]] = {
    "deep": DeepDetector,
    "deep-calibrated": CalibratedDeepDetector,
}
SHIPPED = "shipped weights"
GENERATED = "generated only"
WITH_OTHERS = "generated + the other sets"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeepLodoRow:
    """One corpus and detector: event F1 per data set (each left out of that corpus' training,
    except for the shipped weights)."""

    corpus: str
    detector: str
    f1: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.f1))

    @property
    def worst(self) -> float:
        return float(np.min(self.f1))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeepLodoResult:
    datasets: tuple[str, ...]
    rows: tuple[DeepLodoRow, ...]
    fpr: float
    recipe: str
    shipped: str
    trained_on: tuple[str, ...]
    """Per data set, the provenance of the model trained without it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "default_detector": DEFAULT_DETECTOR,
            "fpr": self.fpr,
            "datasets": list(self.datasets),
            "recipe": self.recipe,
            "shipped_weights": self.shipped,
            "trained_without": [
                {"left_out": d, "weights": p}
                for d, p in zip(self.datasets, self.trained_on, strict=True)
            ],
            "rows": [
                {
                    "corpus": row.corpus,
                    "detector": row.detector,
                    "f1": {d: _round(v) for d, v in zip(self.datasets, row.f1, strict=True)},
                    "mean": _round(row.mean),
                    "worst": _round(row.worst),
                }
                for row in self.rows
            ],
        }


def run_deep_lodo(
    specs: Sequence[str],
    scratch: Path,
    *,
    recipe: TrainingRecipe,
    fpr: float = 0.001,
    tolerance: int = 3,
    log: Log,
) -> DeepLodoResult:
    """Train the recipe without each set (and once on its generated corpus alone) and judge."""
    from vigil.lab.training import train_recipe  # torch, on first use

    if len(specs) < 2:
        raise ConfigError(f"give at least two data sets to leave one out, got {list(specs)}")
    if recipe.datasets or recipe.labeled:
        raise ConfigError("the recipe must hold only generated data: the bench adds the sets")
    datasets = [resolve_dataset(spec, scratch / f"set{i}") for i, spec in enumerate(specs)]
    shipped = load_model(shipped_weights())
    log(f"training on the generated corpus alone: {recipe_text(recipe)}")
    alone = train_recipe(recipe, log=lambda _: None)
    f1: dict[tuple[str, str], list[float]] = {}
    trained_on = []
    for index, dataset in enumerate(datasets):
        others = tuple(d for i, d in enumerate(datasets) if i != index)
        log(f"training without {dataset.name} (on {', '.join(d.name for d in others)})")
        without = train_recipe(replace(recipe, labeled=others), log=lambda _: None)
        trained_on.append(without.provenance)
        for corpus, model in ((SHIPPED, shipped), (GENERATED, alone), (WITH_OTHERS, without)):
            for name, factory in DETECTORS.items():
                score = judge_model(factory(model), dataset, fpr=fpr, tolerance=tolerance)
                f1.setdefault((corpus, name), []).append(score)
                log(f"{dataset.name}: {corpus}, {name}: event F1 {score:.3f}")
    rows = tuple(
        DeepLodoRow(corpus=corpus, detector=name, f1=tuple(values))
        for (corpus, name), values in f1.items()
    )
    return DeepLodoResult(
        datasets=tuple(d.name for d in datasets),
        rows=rows,
        fpr=fpr,
        recipe=recipe_text(recipe),
        shipped=shipped.provenance,
        trained_on=tuple(trained_on),
    )


def judge_model(
    detector: Detector, dataset: LabeledDataset, *, fpr: float, tolerance: int
) -> float:
    """Event F1 of ``detector`` on ``dataset`` under ``vigil bench detect``'s rules."""
    scores = []
    for one in dataset.series:
        try:
            detector.fit([one.series.slice(0, nab_probation(len(one.series)))])
            scores.append(detector.score([one.series])[0].score)
        except VigilError:
            scores.append(np.full(len(one.series), np.nan))  # refused: flags nothing
    tally = judge(detector.name, dataset, scores, fpr=fpr, tolerance=tolerance, seconds=0.0).tally
    return 0.0 if math.isnan(tally.f1) else float(tally.f1)


def recipe_text(recipe: TrainingRecipe) -> str:
    return (
        f"generated {recipe.generated} (seed {recipe.generated_seed}), simulated "
        f"{recipe.simulated}, minute {recipe.minute}; window {recipe.window}, hidden "
        f"{recipe.hidden}, support {recipe.support}, epochs {recipe.epochs}, rows {recipe.rows}, "
        f"seed {recipe.seed}"
    )


def format_table(result: DeepLodoResult) -> str:
    head = ["corpus", "detector", *result.datasets, "mean", "worst"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result.rows:
        cells = [row.corpus, row.detector, *(f"{v:.3f}" for v in row.f1)]
        lines.append("| " + " | ".join([*cells, f"{row.mean:.3f}", f"{row.worst:.3f}"]) + " |")
    return "\n".join(lines)


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)
