"""Training the deep detector in PyTorch (the ``[train]`` extra); importing this package
without torch raises :class:`vigil.core.MissingExtraError`."""

from vigil.detect.deep.training.corpus import Example, examples_from, inject, split_by_series
from vigil.detect.deep.training.finetune import FeedbackSeries, fine_tune_stage2
from vigil.detect.deep.training.minute import minute_series
from vigil.detect.deep.training.trainer import (
    TrainSettings,
    choose_decision,
    torch_stage1,
    train_deep,
)

__all__ = [
    "Example",
    "FeedbackSeries",
    "TrainSettings",
    "choose_decision",
    "examples_from",
    "fine_tune_stage2",
    "inject",
    "minute_series",
    "split_by_series",
    "torch_stage1",
    "train_deep",
]
