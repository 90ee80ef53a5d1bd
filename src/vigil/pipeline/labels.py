"""The label join's state in the store: one checkpoint per model, read and written whole.

:class:`~vigil.profile.labels.LabelJoin` is a value; profiling feeds it every chunk it reads
(:func:`~vigil.pipeline.profiling.profile_paths`), and the stats of a cycle read its tallies
(:func:`~vigil.pipeline.series.build_series`). Between runs it lives in the store's checkpoints
as ``label-join/<model>``, so a label that arrives days after its prediction, in a later run,
still finds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.profile.labels import LabelJoin
from vigil.store import Store

PREFIX = "label-join/"


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelSettings:
    """How predictions wait for labels (``[performance]`` and ``[profile] segments``)."""

    window: timedelta = timedelta(hours=1)
    horizon: timedelta = timedelta(days=35)
    segments: tuple[str, ...] = field(default_factory=tuple)
    max_segment_values: int = 20

    def empty(self) -> LabelJoin:
        return LabelJoin.empty(window=self.window, horizon=self.horizon, segments=self.segments)


def load_join(store: Store, model: str, settings: LabelSettings) -> LabelJoin:
    """The stored join of ``model`` (empty when it has none)."""
    found = store.checkpoints.get(PREFIX + model)
    if found is None:
        return settings.empty()
    return LabelJoin.from_bytes(
        found[0], window=settings.window, horizon=settings.horizon, segments=settings.segments
    )


def save_join(store: Store, join: LabelJoin, *, now: datetime) -> None:
    """Store each model's part of ``join`` (models without labels yet are not stored: their
    predictions are only waiting within one run)."""
    labelled = set(join.labels["model"])
    for model in join.models():
        if model in labelled:
            store.checkpoints.put(PREFIX + model, join.of_model(model).to_bytes(), now=now)
