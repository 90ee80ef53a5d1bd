"""Training the deep detector in PyTorch (the ``[train]`` extra); importing this package
without torch raises :class:`vigil.core.MissingExtraError`."""

from vigil.lab.training.corpus import Example, examples_from, inject, split_by_series
from vigil.lab.training.finetune import fine_tune_stage2
from vigil.lab.training.minute import minute_series
from vigil.lab.training.recipe import TrainingRecipe, build_corpus, train_recipe
from vigil.lab.training.trainer import (
    TrainSettings,
    choose_decision,
    torch_stage1,
    train_deep,
)
from vigil.pipeline import FeedbackSeries

__all__ = [
    "Example",
    "FeedbackSeries",
    "TrainSettings",
    "TrainingRecipe",
    "build_corpus",
    "choose_decision",
    "examples_from",
    "fine_tune_stage2",
    "inject",
    "minute_series",
    "split_by_series",
    "torch_stage1",
    "train_deep",
    "train_recipe",
]
