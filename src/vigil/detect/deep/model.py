"""The two networks in numpy, and the ``.npz`` file that carries their weights.

Training happens in PyTorch (:mod:`vigil.lab.training`), but a monitoring process
should not need a 700 MB dependency to score a series: the weights are a dozen small matrices,
and a ReLU MLP is three matrix products. Inference computes in float32, like the trainer, and a
test holds it to the trainer's outputs within 1e-5.

Stage 1 maps the normalised inputs to ``(baseline, lower, upper)`` in window stds; the band's
half-widths are ``softplus`` outputs times a multiplier ``0.5 + 2.5·sigmoid(w·irregularity + b)``
with learned ``w, b``, so irregular series get wider bands. Stage 2 maps evidence features to
the log-odds that a step is worth an alert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, SerializationError
from vigil.detect.deep.features import (
    CLIP,
    F32,
    SURPRISE_COLUMNS,
    Features,
    FeatureSpec,
    memory_steps,
    surprise_features,
)
from vigil.stats.series import Series

Layers = tuple[tuple[F32, F32], ...]
HISTORY = 6  # recent deviations fed to stage 2
STAGE2_WIDTH = 9 + HISTORY  # without the surprise columns


def stage2_width(surprise: bool) -> int:
    """Stage 2's input width, with or without the per-series surprise columns."""
    return STAGE2_WIDTH + (SURPRISE_COLUMNS if surprise else 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionDefaults:
    """Decision thresholds chosen on a validation split when the model was trained.

    A step alerts when the classifier probability is ``>= threshold`` and the value is outside
    the band with ``severity >= severity`` (``|value - baseline| / band width``), and, with
    ``beyond_routine``, that severity is above the 99th percentile of the series' own
    severities over its memory (about a week, see :func:`memory_steps`), and at least
    ``duration_k`` of the last ``duration_n`` steps passed those tests.

    ``beyond_routine`` is what keeps a series whose spikes are normal (a query rate that jumps
    every few hours) from paging on each one: the fixed ``severity`` is in band widths, the
    same for every series, while this test asks whether the excursion is large *for this
    series*.
    """

    threshold: float = 0.5
    severity: float = 0.5
    duration_k: int = 1
    duration_n: int = 1
    beyond_routine: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {self.threshold!r}")
        if self.severity < 0:
            raise ConfigError(f"severity must be >= 0, got {self.severity!r}")
        if not 1 <= self.duration_k <= self.duration_n:
            raise ConfigError(
                f"need 1 <= duration_k <= duration_n, got {self.duration_k}/{self.duration_n}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeepModel:
    """Both stages' weights, the feature spec they expect, and where they came from."""

    spec: FeatureSpec
    stage1: Layers
    stage2: Layers
    irregularity_w: F32
    irregularity_b: float
    use_irregularity: bool = True
    surprise: bool = False
    decision: DecisionDefaults = field(default_factory=DecisionDefaults)
    provenance: str = ""

    def __post_init__(self) -> None:
        if self.stage1[0][0].shape[0] != self.spec.width:
            raise ConfigError(
                f"stage 1 takes {self.stage1[0][0].shape[0]} inputs, spec says {self.spec.width}"
            )
        if self.stage1[-1][0].shape[1] != 3 or self.stage2[-1][0].shape[1] != 1:
            raise ConfigError("stage 1 must output 3 values and stage 2 one logit")
        if self.stage2[0][0].shape[0] != stage2_width(self.surprise):
            raise ConfigError(
                f"stage 2 takes {self.stage2[0][0].shape[0]} inputs, "
                f"need {stage2_width(self.surprise)} (surprise={self.surprise})"
            )


def mlp(inputs: F32, layers: Layers) -> F32:
    """A ReLU multilayer perceptron in float32 (the last layer is linear)."""
    out = inputs.astype(np.float32, copy=False)
    for weight, bias in layers[:-1]:
        out = np.maximum(out @ weight + bias, np.float32(0.0))
    weight, bias = layers[-1]
    result: F32 = out @ weight + bias
    return result


def softplus(x: F32) -> F32:
    out: F32 = np.logaddexp(np.float32(0.0), x).astype(np.float32)
    return out


def sigmoid(x: F32) -> F32:
    out: F32 = (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)
    return out


def band_multiplier(model: DeepModel, irregularity: F32) -> F32:
    """``0.5 + 2.5·sigmoid(w·irr + b)``, or 1 when the irregularity score is ablated."""
    if not model.use_irregularity:
        return np.ones(len(irregularity), dtype=np.float32)
    logit = irregularity @ model.irregularity_w + np.float32(model.irregularity_b)
    return (0.5 + 2.5 * sigmoid(logit)).astype(np.float32)


@dataclass(frozen=True, slots=True, kw_only=True)
class Forecast:
    """Stage 1's output per step, in window stds around the window mean (see
    :func:`band_in_units` for the series' own units)."""

    baseline: F32
    lower: F32
    upper: F32
    multiplier: F32
    """The band multiplier learned from the window's irregularity (1 when ablated)."""

    def split(self, cuts: npt.NDArray[np.intp]) -> list[Forecast]:
        """One forecast per series of a stacked batch, cut at ``cuts`` (as ``np.split``)."""
        parts = zip(
            *(np.split(a, cuts) for a in (self.baseline, self.lower, self.upper, self.multiplier)),
            strict=True,
        )
        return [Forecast(baseline=b, lower=lo, upper=up, multiplier=m) for b, lo, up, m in parts]


def forecast(model: DeepModel, inputs: F32, irregularity: F32) -> Forecast:
    """Stage 1: the normalised baseline, band and band multiplier per step."""
    raw = mlp(inputs, model.stage1)
    multiplier = band_multiplier(model, irregularity)
    base = np.clip(raw[:, 0], -CLIP, CLIP)
    lower = base - multiplier * softplus(raw[:, 1])
    upper = base + multiplier * softplus(raw[:, 2])
    return Forecast(baseline=base, lower=lower, upper=upper, multiplier=multiplier)


def classify(model: DeepModel, evidence: F32) -> F32:
    """Stage 2: the probability that each step is worth an alert."""
    return sigmoid(mlp(evidence, model.stage2)[:, 0])


def save_model(model: DeepModel, path: Path) -> None:
    """Write ``model`` as one compressed ``.npz`` (arrays + a JSON header)."""
    arrays: dict[str, Any] = {}
    for stage, layers in (("s1", model.stage1), ("s2", model.stage2)):
        for i, (weight, bias) in enumerate(layers):
            arrays[f"{stage}_w{i}"] = weight.astype(np.float32)
            arrays[f"{stage}_b{i}"] = bias.astype(np.float32)
    arrays["irr_w"] = model.irregularity_w.astype(np.float32)
    header = {
        "format": 1,
        "spec": {
            "window": model.spec.window,
            "omit": model.spec.omit,
            "lags": model.spec.lags,
            "normalize": model.spec.normalize,
            "support": model.spec.support,
        },
        "irregularity_b": model.irregularity_b,
        "use_irregularity": model.use_irregularity,
        "surprise": model.surprise,
        "layers": [len(model.stage1), len(model.stage2)],
        "decision": {
            "threshold": model.decision.threshold,
            "severity": model.decision.severity,
            "duration_k": model.decision.duration_k,
            "duration_n": model.decision.duration_n,
            "beyond_routine": model.decision.beyond_routine,
        },
        "provenance": model.provenance,
    }
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)


def load_model(path: Path) -> DeepModel:
    """Read a weights file written by :func:`save_model`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            stages: list[Layers] = []
            for stage, count in zip(("s1", "s2"), header["layers"], strict=True):
                stages.append(
                    tuple(
                        (
                            np.asarray(data[f"{stage}_w{i}"], dtype=np.float32),
                            np.asarray(data[f"{stage}_b{i}"], dtype=np.float32),
                        )
                        for i in range(count)
                    )
                )
            irr_w = np.asarray(data["irr_w"], dtype=np.float32)
    except (OSError, KeyError, ValueError) as err:
        raise SerializationError(f"cannot read deep-detector weights {path}: {err}") from err
    if header.get("format") != 1:
        raise SerializationError(f"{path}: unknown weights format {header.get('format')!r}")
    return DeepModel(
        spec=FeatureSpec(**header["spec"]),
        stage1=stages[0],
        stage2=stages[1],
        irregularity_w=irr_w,
        irregularity_b=float(header["irregularity_b"]),
        use_irregularity=bool(header["use_irregularity"]),
        surprise=bool(header.get("surprise", False)),
        # Files written before the routine test existed decided without it.
        decision=DecisionDefaults(**{"beyond_routine": False, **header["decision"]}),
        provenance=str(header.get("provenance", "")),
    )


def band_in_units(
    feats: Features, stage1: Forecast
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Stage 1's baseline and bounds, forecast in window stds, back in the series' own units."""
    return (
        feats.mean + feats.scale * stage1.baseline,
        feats.mean + feats.scale * stage1.lower,
        feats.mean + feats.scale * stage1.upper,
    )


def raw_severity(
    values: npt.NDArray[np.float64],
    base: npt.NDArray[np.float64],
    lower: npt.NDArray[np.float64],
    upper: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """``|value - baseline| / band width``, unclipped (NaN where the value is missing)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: npt.NDArray[np.float64] = np.abs(values - base) / np.maximum(upper - lower, 1e-12)
    return out


def memory_severity(
    values: npt.NDArray[np.float64],
    base: npt.NDArray[np.float64],
    lower: npt.NDArray[np.float64],
    upper: npt.NDArray[np.float64],
    valid: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float64]:
    """The severities a series' memory is made of: :func:`raw_severity`, NaN on warm-up steps.

    A warm-up step's window is mostly empty, its scale can be the 1e-6 floor, and its severity
    then reaches 1e7: one such step in the memory made every later excursion of the next week
    look routine (the surprise columns pinned at their -8 floor)."""
    return np.where(valid, raw_severity(values, base, lower, upper), np.nan)


def evidence_features(
    values: npt.NDArray[np.float64],
    base: npt.NDArray[np.float64],
    lower: npt.NDArray[np.float64],
    upper: npt.NDArray[np.float64],
    scale: npt.NDArray[np.float64],
    multiplier: F32,
    calendar: F32,
    surprise: npt.NDArray[np.float64] | None = None,
) -> F32:
    """Stage-2 inputs: deviation, distance beyond each bound, severity, irregularity, calendar
    and the last ``HISTORY`` deviations (all in window stds or band widths, clipped), and the
    given ``surprise`` columns (:func:`surprise_features` of :func:`memory_severity`)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        width = np.maximum(upper - lower, 1e-12)
        deviation = np.clip(np.nan_to_num((values - base) / scale), -CLIP, CLIP)
        below = np.clip(np.nan_to_num((lower - values) / width), 0.0, CLIP)
        above = np.clip(np.nan_to_num((values - upper) / width), 0.0, CLIP)
        severity = np.log1p(np.clip(np.nan_to_num(np.abs(values - base) / width), 0.0, 1e6))
        log_width = np.log(np.clip(width / scale, 1e-3, 1e3))
    n = len(values)
    history = np.zeros((n, HISTORY))
    for h in range(1, HISTORY + 1):
        history[h:, h - 1] = deviation[:-h] if n > h else history[h:, h - 1]
    missing = np.isnan(values).astype(np.float64)
    columns = [deviation, below, above, severity, log_width, multiplier, missing]
    head = np.stack(columns, axis=1)
    # Day of week carries little for stage 2; hour of day (2 columns) is kept.
    blocks = [head, calendar[:, :2], history]
    if surprise is not None:
        blocks.append(surprise)
    out: F32 = np.concatenate(blocks, axis=1).astype(np.float32)
    return out


def series_evidence(model: DeepModel, series: Series, feats: Features) -> F32:
    """Stage-2 inputs of every step of one series (training and tests; the detector batches
    the same computation across series)."""
    stage1 = forecast(model, feats.inputs, feats.irregularity)
    band = band_in_units(feats, stage1)
    surprise = None
    if model.surprise:
        memory = memory_steps(series.timestamps)
        surprise = surprise_features(memory_severity(series.values, *band, feats.valid), memory)
    return evidence_features(
        series.values, *band, feats.scale, stage1.multiplier, feats.calendar, surprise=surprise
    )
