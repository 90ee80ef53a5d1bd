"""``vigil bench nab``: detectors under NAB's scoring rules, with NAB's threshold optimiser.

Each detector is fit on every series' probationary prefix and scores the whole series, as in
``vigil bench detect``; from there on NAB's rules decide (:mod:`vigil.lab.nab`):

- one score per *row* of each NAB file (rows that repeat a timestamp, which the loaded series
  merges, get their step's score), mapped into NAB's ``[0, 1]`` by the monotone
  ``0.5 + atan(score)/π`` (NaN, where a detector cannot score, is 0). The optimiser only ranks
  scores, so the map changes no number;
- per profile, the optimiser picks the threshold that maximises the corpus total, and the
  normalised score (null 0, perfect 100) is reported with it;
- ``families``: each NAB family's normalised score at that corpus threshold;
- ``held_out``: leave one family out: the threshold is optimised on the other families and
  scores the one left out. It is the bench's estimate of the score on families nobody tuned
  on; the corpus number is NAB's rule (threshold tuned on the labels scored).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.bench.detection import parse_detectors, score_detectors
from vigil.core import ConfigError
from vigil.detect import DEFAULT_DETECTOR
from vigil.lab import LabeledDataset, load_dataset
from vigil.lab.nab import (
    PROFILE_NAMES,
    NabFile,
    NabScore,
    nab_rows,
    optimise,
    profile_weights,
    score_at,
)

FloatArray = npt.NDArray[np.float64]
PROFILE_KEYS: dict[str, str] = {
    "standard": "standard",
    "reward_low_FP_rate": "reward_low_fp",
    "reward_low_FN_rate": "reward_low_fn",
}
"""NAB's profile names and the keys of ``--json`` results."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NabResult:
    """One detector's NAB scores: the corpus, per family, and per family held out."""

    detector: str
    corpus: dict[str, NabScore]
    families: dict[str, dict[str, NabScore]] = field(default_factory=dict)
    held_out: dict[str, dict[str, NabScore]] = field(default_factory=dict)
    seconds: float = 0.0
    refused: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        def normalised(by_profile: dict[str, NabScore]) -> dict[str, float | None]:
            return {PROFILE_KEYS[p]: _number(s.normalised) for p, s in by_profile.items()}

        return {
            "detector": self.detector,
            **normalised(self.corpus),
            "thresholds": {
                PROFILE_KEYS[p]: {
                    "unit": _number(s.threshold),
                    "score": _number(from_unit(s.threshold)),
                }
                for p, s in self.corpus.items()
            },
            "families": {name: normalised(scores) for name, scores in self.families.items()},
            "held_out": {name: normalised(scores) for name, scores in self.held_out.items()},
            "seconds": round(self.seconds, 3),
            "refused_series": list(self.refused),
        }


def to_unit(score: FloatArray) -> FloatArray:
    """NAB wants scores in ``[0, 1]``: ``0.5 + atan(score)/π`` keeps their order; NaN is 0."""
    unit = 0.5 + np.arctan(np.asarray(score, dtype=np.float64)) / math.pi
    return np.where(np.isnan(unit), 0.0, unit)


def from_unit(unit: float) -> float:
    """The detector's own score at a threshold given in NAB's ``[0, 1]``."""
    if unit <= 0.0 or unit >= 1.0 or math.isinf(unit):
        return math.inf if unit >= 1.0 else -math.inf
    return math.tan(math.pi * (unit - 0.5))


def nab_results(
    name: str,
    files: Sequence[NabFile],
    scores: Sequence[FloatArray],
    *,
    seconds: float = 0.0,
    refused: tuple[str, ...] = (),
) -> NabResult:
    """Score one detector's row scores under every profile, per family and held out."""
    families = sorted({file.family for file in files})
    corpus: dict[str, NabScore] = {}
    per_family: dict[str, dict[str, NabScore]] = {}
    held_out: dict[str, dict[str, NabScore]] = {}
    for profile in PROFILE_NAMES:
        weights = profile_weights(profile)
        corpus[profile] = optimise(files, scores, weights)
        for family in families:
            inside = [i for i, f in enumerate(files) if f.family == family]
            rest = [i for i, f in enumerate(files) if f.family != family]
            mine = ([files[i] for i in inside], [scores[i] for i in inside])
            per_family.setdefault(family, {})[profile] = score_at(
                *mine, weights, corpus[profile].threshold
            )
            if rest:
                chosen = optimise([files[i] for i in rest], [scores[i] for i in rest], weights)
                held_out.setdefault(family, {})[profile] = score_at(
                    *mine, weights, chosen.threshold
                )
    return NabResult(
        detector=name,
        corpus=corpus,
        families=per_family if len(families) > 1 else {},
        held_out=held_out if len(families) > 1 else {},
        seconds=seconds,
        refused=refused,
    )


def run_nab_bench(
    path: Path, detectors: str | None, *, workers: int = 2
) -> tuple[LabeledDataset, list[NabResult]]:
    """Load a NAB-layout folder, score each detector on it, judge it by NAB's rules."""
    dataset = load_dataset(path)
    if dataset.form != "nab":
        raise ConfigError(
            f"{str(path)!r} is not a NAB-layout folder (data/<family>/*.csv and "
            "labels/combined_windows.json)"
        )
    rows = [nab_rows(path, one) for one in dataset.series]
    files = [file for file, _ in rows]
    results = []
    for scored in score_detectors(dataset, parse_detectors(detectors), workers=workers):
        per_row = [
            to_unit(score[step_of_row])
            for score, (_, step_of_row) in zip(scored.scores, rows, strict=True)
        ]
        results.append(
            nab_results(
                scored.detector,
                files,
                per_row,
                seconds=scored.seconds,
                refused=scored.refused,
            )
        )
    return dataset, results


def report_json(dataset: LabeledDataset, results: Sequence[NabResult]) -> dict[str, Any]:
    return {
        "dataset": dataset.name,
        "default_detector": DEFAULT_DETECTOR,
        "series": len(dataset.series),
        "rules": "NAB v1.1 scoring, threshold optimised per profile over the whole corpus; "
        "held_out: threshold optimised on the other families",
        "results": [result.to_json() for result in results],
    }


def format_table(results: Sequence[NabResult]) -> str:
    """``Algorithm | Standard | Low FP | Low FN | <family> … | held out <family> … | Time``."""
    families = sorted({name for r in results for name in r.families})
    head = ["Algorithm", "Standard", "Low FP", "Low FN"]
    head += families + [f"{name} held out" for name in families] + ["Time"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r.detector] + [_fmt(r.corpus[p].normalised) for p in PROFILE_NAMES]
        cells += [_fmt(r.families[f]["standard"].normalised) for f in families]
        cells += [_fmt(r.held_out[f]["standard"].normalised) for f in families]
        cells.append(f"{r.seconds:.1f} s")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def _number(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 6)
