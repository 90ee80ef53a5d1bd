"""Fine-tune stage 2 from user feedback: confirmed alerts are positives, false alarms negatives.

Stage 1 stays frozen (what is *normal* does not change because a user disliked an alert); only
the classifier that decides what is *worth an alert* moves. Steps of the same series that no
one flagged are added as negatives, sub-sampled, so a handful of verdicts nudges the classifier
without erasing what it learned from the synthetic corpus. Training receives plain arrays:
:func:`vigil.pipeline.gather_feedback` turns stored incidents and verdicts into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import torch

from vigil.core import ConfigError
from vigil.detect.deep.model import DeepModel
from vigil.lab.training.corpus import Example
from vigil.lab.training.trainer import Log, export_layers, stage2_rows, torch_stage2
from vigil.pipeline.feedback import FeedbackSeries

BoolArray = npt.NDArray[np.bool_]


def fine_tune_stage2(
    model: DeepModel,
    feedback: Sequence[FeedbackSeries],
    *,
    seed: int,
    log: Log,
    epochs: int = 20,
    unlabeled_per_label: int = 20,
) -> DeepModel:
    """``model`` with stage 2 trained further on ``feedback`` (stage 1 and decision unchanged)."""
    labeled = sum(int(f.confirmed.sum() + f.rejected.sum()) for f in feedback)
    if labeled == 0:
        raise ConfigError("no feedback labels on the given series: nothing to fine-tune on")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    examples = [
        Example(
            name=str(f.series.key),
            series=f.series,
            positive=f.confirmed,
            ignore=np.zeros(len(f.series), dtype=bool),
            source="feedback",
        )
        for f in feedback
    ]
    rows, labels = stage2_rows(model, examples)
    # stage2_rows keeps scorable steps only: mark the judged ones on the same rows.
    judged = _judged_rows(model, feedback)
    others = np.flatnonzero(~judged)
    extra = rng.choice(others, size=min(len(others), unlabeled_per_label * labeled), replace=False)
    pick = np.union1d(np.flatnonzero(judged), extra)
    x, y = torch.from_numpy(rows[pick]), torch.from_numpy(labels[pick])
    net = torch_stage2(model)
    optimiser = torch.optim.Adam(net.parameters(), lr=5e-4)
    criterion = torch.nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        loss = criterion(net(x)[:, 0], y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    log(
        f"fine-tuned stage 2 on {int(judged.sum())} judged + {len(extra)} unjudged steps, "
        f"loss {float(loss.detach()):.4f}"
    )
    return replace(
        model,
        stage2=export_layers(net),
        provenance=model.provenance + f"; stage 2 fine-tuned on {labeled} feedback labels",
    )


def _judged_rows(model: DeepModel, feedback: Sequence[FeedbackSeries]) -> BoolArray:
    examples = [
        Example(
            name="",
            series=f.series,
            positive=f.confirmed | f.rejected,
            ignore=np.zeros(len(f.series), dtype=bool),
            source="feedback",
        )
        for f in feedback
    ]
    _, marks = stage2_rows(model, examples)
    return marks > 0
