"""Stored verdicts on incidents -> per-step labels on the stored series the incidents are about.

Fine-tuning the deep detector (in the lab) learns from plain arrays: one series and two masks,
the steps users confirmed and the steps they called false alarms. This module reads the store
to build them, so neither the detector nor the trainer ever touches the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, SeriesKey
from vigil.incidents import FeedbackLabel, feedback_labels
from vigil.stats import Series
from vigil.store import Store

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackSeries:
    """One series with the steps users confirmed (``confirmed``) or rejected (``rejected``)."""

    series: Series
    confirmed: BoolArray
    rejected: BoolArray

    def __post_init__(self) -> None:
        n = len(self.series)
        if self.confirmed.shape != (n,) or self.rejected.shape != (n,):
            raise ConfigError(f"feedback masks must have shape ({n},) for {self.series.key}")


@dataclass(frozen=True, slots=True, kw_only=True)
class GatheredFeedback:
    """Every stored verdict as step labels on stored series.

    ``labels`` counts the step labels the verdicts give; ``unmatched`` those that fall on no
    stored series step (counted and reported, never silently dropped).
    """

    series: tuple[FeedbackSeries, ...]
    labels: int
    unmatched: int


def gather_feedback(store: Store) -> GatheredFeedback:
    """The store's feedback on its incidents, as masks over the series the anomalies were on."""
    labels: list[FeedbackLabel] = []
    for feedback in store.feedback.get():
        incident = store.incidents.find(feedback.incident_id)
        if incident is not None:
            labels += feedback_labels(incident, feedback)
    by_key = {
        one.key: one
        for model in sorted({label.key.model for label in labels})
        for one in store.series.get(model=model)
    }
    masks: dict[SeriesKey, tuple[BoolArray, BoolArray]] = {}
    unmatched = 0
    for label in labels:
        series = by_key.get(label.key)
        stamp = np.datetime64(label.timestamp.replace(tzinfo=None), "s")
        where = -1 if series is None else int(np.searchsorted(series.timestamps, stamp))
        if series is None or where >= len(series) or series.timestamps[where] != stamp:
            unmatched += 1
            continue
        confirmed, rejected = masks.setdefault(
            label.key, (np.zeros(len(series), bool), np.zeros(len(series), bool))
        )
        (confirmed if label.label else rejected)[where] = True
    return GatheredFeedback(
        series=tuple(
            FeedbackSeries(series=by_key[key], confirmed=c, rejected=r)
            for key, (c, r) in masks.items()
        ),
        labels=len(labels),
        unmatched=unmatched,
    )
