"""``vigil train deep`` as a value: which corpus, which settings, and the provenance they make.

A recipe names every choice of a training run, so :func:`train_recipe` can write all of them
into the weights' provenance: a weights file says how to make it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vigil.detect.deep import DeepModel, FeatureSpec
from vigil.lab.labeled import LabeledDataset, load_dataset
from vigil.lab.simulation.series import simulate_series
from vigil.lab.training.corpus import Example, examples_from
from vigil.lab.training.generated import generated_series
from vigil.lab.training.minute import minute_series
from vigil.lab.training.trainer import Log, TrainSettings, train_deep


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingRecipe:
    """The corpus (simulated, generated minute-level, generated broad, labeled data sets) and the
    training knobs.

    No defaults for the knobs: ``vigil train deep`` states them, once, in its options.
    """

    simulated: int
    simulated_seed: int
    minute: int
    generated: int
    generated_seed: int
    datasets: Sequence[Path] = field(default_factory=tuple)
    labeled: Sequence[LabeledDataset] = field(default_factory=tuple)
    """Data sets already in memory (``service:1``, the bench's ``simulated``), added like
    ``datasets``."""
    seed: int
    window: int
    hidden: int
    support: bool = False
    omit: int
    normalize: str
    irregularity: bool
    surprise: bool
    epochs: int
    rows: int

    def settings(self) -> TrainSettings:
        return TrainSettings(
            spec=FeatureSpec(
                window=self.window,
                omit=self.omit,
                normalize=self.normalize,
                support=self.support,
            ),
            use_irregularity=self.irregularity,
            surprise=self.surprise,
            stage1_epochs=self.epochs,
            stage2_epochs=self.epochs,
            stage1_rows=self.rows,
            stage2_rows=self.rows,
            seed=self.seed,
            hidden=self.hidden,
        )


def train_recipe(recipe: TrainingRecipe, *, log: Log) -> DeepModel:
    """Assemble the recipe's corpus and train both stages on it (seeded, repeatable)."""
    examples, mix = build_corpus(recipe)
    provenance = (
        f"vigil train deep; corpus: {', '.join(mix)}; seed {recipe.seed}; window {recipe.window}; "
        f"hidden {recipe.hidden}; support {recipe.support}; omit {recipe.omit}; "
        f"normalize {recipe.normalize}; irregularity {recipe.irregularity}; "
        f"surprise {recipe.surprise}; epochs {recipe.epochs}; rows {recipe.rows}"
    )
    return train_deep(examples, recipe.settings(), log=log, provenance=provenance)


def build_corpus(recipe: TrainingRecipe) -> tuple[list[Example], list[str]]:
    """The recipe's training examples, and one phrase per part of the corpus for provenance."""
    examples: list[Example] = []
    mix = []
    if recipe.simulated:
        sim = LabeledDataset(
            name="simulated",
            form="simulated",
            series=tuple(simulate_series(seed=recipe.simulated_seed, count=recipe.simulated)),
        )
        examples += examples_from(sim, "simulated")
        mix.append(f"simulated seed {recipe.simulated_seed} x{recipe.simulated}")
    if recipe.minute:
        examples += minute_series(seed=recipe.simulated_seed, count=recipe.minute)
        mix.append(f"generated minute-level seed {recipe.simulated_seed} x{recipe.minute}")
    if recipe.generated:
        examples += generated_series(seed=recipe.generated_seed, count=recipe.generated)
        mix.append(f"generated broad seed {recipe.generated_seed} x{recipe.generated}")
    for dataset in [*map(load_dataset, recipe.datasets), *recipe.labeled]:
        examples += examples_from(dataset, dataset.name)
        mix.append(f"{dataset.name} ({len(dataset.series)} series)")
    return examples, mix
