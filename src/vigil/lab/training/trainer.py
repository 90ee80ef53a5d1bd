"""Train both stages in PyTorch and export them to the numpy :class:`DeepModel`.

Stage 1 learns the "normal next value" from unlabeled steps (labeled and injected anomalies are
masked out of its loss): squared error on the baseline plus pinball loss at 0.005 / 0.995 on
the bounds. Stage 1 is then frozen; stage 2 learns from injected and real labels with binary
cross-entropy. Decision thresholds are chosen by event-wise F1 on series held out of both
stages (a split by series). Everything is seeded; torch runs single-process with ``threads``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vigil.core import ConfigError, MissingExtraError
from vigil.detect.deep.detector import DeepDetector
from vigil.detect.deep.features import CLIP, F32, FeatureSpec, build_features
from vigil.detect.deep.model import (
    DecisionDefaults,
    DeepModel,
    Layers,
    series_evidence,
    stage2_width,
)
from vigil.lab.ablation import AblatedDeepDetector
from vigil.lab.labeled import runs
from vigil.lab.scoring import Tally, tally
from vigil.lab.training.corpus import Example, inject, split_by_series

try:
    import torch
    from torch import nn
except ImportError as err:  # pragma: no cover - exercised only without the [train] extra
    raise MissingExtraError("torch", "train") from err

Log = Callable[[str], None]
GRID_THRESHOLD = (0.3, 0.5, 0.7, 0.85, 0.95)
GRID_SEVERITY = (0.0, 0.5, 1.0, 2.0)
GRID_DURATION = ((1, 1), (2, 3))


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainSettings:
    """What to train and how long; ``seed`` makes the run repeatable."""

    spec: FeatureSpec = field(default_factory=FeatureSpec)
    use_irregularity: bool = True
    surprise: bool = True
    hidden: int = 64
    stage1_rows: int = 200_000
    stage1_epochs: int = 8
    stage2_rows: int = 120_000
    stage2_epochs: int = 4
    validation: float = 0.2
    seed: int = 7
    threads: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.validation < 1.0:
            raise ConfigError(f"validation must be in (0, 1), got {self.validation!r}")
        if min(self.stage1_rows, self.stage2_rows, self.stage1_epochs, self.stage2_epochs) < 1:
            raise ConfigError("row counts and epochs must be >= 1")


class Stage1Net(nn.Module):
    """The torch twin of :func:`vigil.detect.deep.model.forecast`."""

    def __init__(self, width: int, hidden: int, use_irregularity: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(width, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 3),
        )
        self.irr_w = nn.Parameter(torch.zeros(2))
        self.irr_b = nn.Parameter(torch.zeros(()))
        self.use_irregularity = use_irregularity

    def forward(self, inputs: Any, irregularity: Any) -> tuple[Any, Any, Any, Any]:
        raw = self.body(inputs)
        if self.use_irregularity:
            multiplier = 0.5 + 2.5 * torch.sigmoid(irregularity @ self.irr_w + self.irr_b)
        else:
            multiplier = torch.ones_like(raw[:, 0])
        base = torch.clamp(raw[:, 0], -CLIP, CLIP)
        lower = base - multiplier * nn.functional.softplus(raw[:, 1])
        upper = base + multiplier * nn.functional.softplus(raw[:, 2])
        return base, lower, upper, multiplier


def stage2_net(hidden: int, width: int) -> Any:
    return nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, 1))


def export_layers(sequential: Any) -> Layers:
    """The Linear layers of a ``nn.Sequential`` as numpy ``(W^T, b)`` float32 pairs."""
    return tuple(
        (
            layer.weight.detach().cpu().numpy().T.astype(np.float32).copy(),
            layer.bias.detach().cpu().numpy().astype(np.float32).copy(),
        )
        for layer in sequential
        if isinstance(layer, nn.Linear)
    )


def pinball(prediction: Any, target: Any, quantile: float) -> Any:
    error = target - prediction
    return torch.mean(torch.maximum(quantile * error, (quantile - 1.0) * error))


def train_deep(
    examples: Sequence[Example], settings: TrainSettings, *, log: Log, provenance: str = ""
) -> DeepModel:
    """Train both stages on ``examples`` (split by series for validation) and export them."""
    if len(examples) < 2:
        raise ConfigError(f"need at least 2 training series, got {len(examples)}")
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = np.random.default_rng(settings.seed)
    train, valid = split_by_series(list(examples), settings.validation, settings.seed)
    log(f"series: {len(train)} train, {len(valid)} validation")
    stage1 = _train_stage1(train, settings, rng, log)
    model = _empty_model(settings, stage1)
    injected_train = [inject(one, rng) for one in train]
    stage2 = _train_stage2(model, train + injected_train, settings, rng, log)
    model = replace(model, stage2=export_layers(stage2), provenance=provenance)
    # Validation anomalies at a realistic rate (about one per 2,000 steps, like the real data
    # sets), so the chosen thresholds pay for false alarms as they will in production.
    injected_valid = [inject(one, rng, per_1000=0.5) for one in valid]
    decision = choose_decision(model, injected_valid, log)
    return replace(model, decision=decision)


def _empty_model(settings: TrainSettings, stage1: Stage1Net) -> DeepModel:
    placeholder = stage2_net(settings.hidden // 2, stage2_width(settings.surprise))
    return DeepModel(
        spec=settings.spec,
        stage1=export_layers(stage1.body),
        stage2=export_layers(placeholder),
        irregularity_w=stage1.irr_w.detach().numpy().astype(np.float32).copy(),
        irregularity_b=float(stage1.irr_b.detach()),
        use_irregularity=settings.use_irregularity,
        surprise=settings.surprise,
    )


def _stage1_rows(examples: Sequence[Example], spec: FeatureSpec) -> tuple[F32, F32, F32]:
    inputs, irregular, targets = [], [], []
    for one in examples:
        feats = build_features(one.series, spec)
        values = one.series.values
        keep = feats.valid & ~np.isnan(values) & ~one.positive & ~one.ignore
        target = np.clip((values - feats.mean) / feats.scale, -CLIP, CLIP)
        inputs.append(feats.inputs[keep])
        irregular.append(feats.irregularity[keep])
        targets.append(target[keep].astype(np.float32))
    return np.concatenate(inputs), np.concatenate(irregular), np.concatenate(targets)


def _train_stage1(
    examples: Sequence[Example], settings: TrainSettings, rng: np.random.Generator, log: Log
) -> Stage1Net:
    inputs, irregular, targets = _stage1_rows(examples, settings.spec)
    pick = _subsample(len(targets), settings.stage1_rows, rng)
    x, r, y = (torch.from_numpy(a[pick]) for a in (inputs, irregular, targets))
    net = Stage1Net(settings.spec.width, settings.hidden, settings.use_irregularity)
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    for epoch in range(settings.stage1_epochs):
        total = 0.0
        for batch in _batches(len(y)):
            base, lower, upper, _ = net(x[batch], r[batch])
            target = y[batch]
            loss = torch.mean((base - target) ** 2)
            loss = loss + 4.0 * (pinball(lower, target, 0.005) + pinball(upper, target, 0.995))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        log(f"stage 1 epoch {epoch + 1}: loss {total / len(y):.4f} on {len(y)} steps")
    return net


def stage2_rows(
    model: DeepModel, examples: Sequence[Example]
) -> tuple[F32, np.ndarray[Any, np.dtype[np.float32]]]:
    rows, labels = [], []
    for one in examples:
        feats = build_features(one.series, model.spec)
        values = one.series.values
        evidence = series_evidence(model, one.series, feats)
        keep = feats.valid & ~np.isnan(values) & ~one.ignore
        rows.append(evidence[keep])
        labels.append(one.positive[keep].astype(np.float32))
    return np.concatenate(rows), np.concatenate(labels)


def _train_stage2(
    model: DeepModel,
    examples: Sequence[Example],
    settings: TrainSettings,
    rng: np.random.Generator,
    log: Log,
) -> Any:
    rows, labels = stage2_rows(model, examples)
    positives = np.flatnonzero(labels > 0)
    negatives = _subsample(len(labels), settings.stage2_rows, rng)
    pick = np.union1d(positives, negatives[labels[negatives] == 0])
    x, y = torch.from_numpy(rows[pick]), torch.from_numpy(labels[pick])
    weight = float((y == 0).sum()) / max(float(y.sum()), 1.0)
    log(f"stage 2: {int(y.sum())} positive, {int((y == 0).sum())} negative steps")
    net = stage2_net(settings.hidden // 2, stage2_width(model.surprise))
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(math.sqrt(weight)))
    for epoch in range(settings.stage2_epochs):
        total = 0.0
        for batch in _batches(len(y)):
            loss = criterion(net(x[batch])[:, 0], y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        log(f"stage 2 epoch {epoch + 1}: loss {total / len(y):.4f}")
    return net


def choose_decision(model: DeepModel, examples: Sequence[Example], log: Log) -> DecisionDefaults:
    """The grid point with the best event-wise F1 on held-out ``examples``."""
    outputs = []
    for one in examples:
        result = AblatedDeepDetector(model, use_filters=False, use_classifier=False).explain(
            one.series
        )
        labels = one.positive | one.ignore
        outputs.append((result, labels, runs(labels)))
    best: tuple[float, DecisionDefaults] = (-1.0, model.decision)
    for threshold in GRID_THRESHOLD:
        for severity in GRID_SEVERITY:
            for k, n in GRID_DURATION:
                # The routine test is part of the design, not a tuned threshold: it stays on.
                decision = DecisionDefaults(
                    threshold=threshold, severity=severity, duration_k=k, duration_n=n
                )
                f1 = _held_out_f1(DeepDetector(model, decision=decision), outputs)
                if f1 > best[0]:
                    best = (f1, decision)
    log(f"validation event F1 {best[0]:.3f} at {best[1]}")
    return best[1]


def _held_out_f1(detector: DeepDetector, outputs: Sequence[Any]) -> float:
    total = Tally()
    for result, labels, windows in outputs:
        # Without classifier and filters, ``passed`` is "valid and outside the band".
        flags = detector.decide(result.probability, result.severity, result.passed, result.excess)
        total = total + tally(labels, windows, flags, probation=0, tolerance=3)
    return 0.0 if math.isnan(total.f1) else total.f1


def torch_stage2(model: DeepModel) -> Any:
    """A torch module holding ``model``'s stage-2 weights (parity test, fine-tuning)."""
    net = stage2_net(model.stage2[0][0].shape[1], model.stage2[0][0].shape[0])
    _load_linears(net, model.stage2)
    return net


def _load_linears(sequential: Any, layers: Layers) -> None:
    linears = [layer for layer in sequential if isinstance(layer, nn.Linear)]
    with torch.no_grad():
        for layer, (weight, bias) in zip(linears, layers, strict=True):
            layer.weight.copy_(torch.from_numpy(weight.T.copy()))
            layer.bias.copy_(torch.from_numpy(bias))


def torch_stage1(model: DeepModel) -> Stage1Net:
    """A torch module holding ``model``'s stage-1 weights (for the parity test)."""
    width = model.stage1[0][0].shape[0]
    hidden = model.stage1[0][0].shape[1]
    net = Stage1Net(width, hidden, model.use_irregularity)
    _load_linears(net.body, model.stage1)
    with torch.no_grad():
        net.irr_w.copy_(torch.from_numpy(model.irregularity_w))
        net.irr_b.fill_(model.irregularity_b)
    return net


def _batches(total: int, size: int = 1024) -> list[Any]:
    order = torch.randperm(total)
    return [order[i : i + size] for i in range(0, total, size)]


def _subsample(total: int, limit: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    if total <= limit:
        return np.arange(total)
    return np.sort(rng.choice(total, size=limit, replace=False))
