"""A column pooled over windows, as the day-long drift reads it: its quantiles, moments and
categories (:class:`Pooled`), a trailing day's pool slid from one window to the next
(:class:`TrailingItems`), and a reference weighted to a trailing day's mix of slots of the day
(:func:`mixed`). :mod:`vigil.stats.drift_day` builds its references and tests from these.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import numpy as np

from vigil.core import Window
from vigil.profile import ColumnProfile, FrequentItems, Moments
from vigil.stats.sketches import PooledQuantiles

Items = tuple[np.ndarray, np.ndarray]
"""A quantile sketch's retained values, sorted, and their weights."""


class Pooled:
    """One column over several windows: what the tests read.

    ``slots`` (optional, one per column) says which slot of the day each column's window held, so
    the pool can be weighted to another mix of the day's slots (:meth:`mixed_like`). The merged
    frequent items and whether the column reads as categorical are worked out when first asked:
    a numeric trailing day never asks for its frequent items."""

    __slots__ = (
        "_by_slot",
        "_categorical",
        "_columns",
        "_frequent",
        "_pairs",
        "_parts",
        "_sorted",
        "moments",
        "quantiles",
        "slot_values",
    )

    def __init__(
        self,
        columns: Sequence[ColumnProfile],
        slots: Sequence[int] = (),
        *,
        items: Sequence[Items] | None = None,
        pooled: Items | None = None,
        runs: Sequence[Pooled] | None = None,
    ) -> None:
        """``items``, one per column, are the columns' quantile items when the caller holds them
        (:func:`_items`); they are read from the sketches otherwise. ``pooled``: those items
        already pooled, as :meth:`TrailingItems.slide` keeps them (no ``slots`` then).
        ``runs``: pools (made from items) whose columns, in order, are ``columns``: their sorted
        items are merged instead of sorting every column's items again (:func:`_merged_runs`)."""
        self._columns = tuple(columns)
        self.moments: Moments = Moments.merge_all([c.moments for c in columns])
        sketches = [c.quantiles for c in columns]
        rank_error = max((q.normalized_rank_error for q in sketches if q.n > 0), default=0.0)
        self._pairs: tuple[Items, ...] = ()
        self._sorted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if pooled is not None:
            values, weights = pooled
        else:
            if runs is not None:
                self._pairs = tuple(pair for run in runs for pair in run._pairs)
                self._sorted = _merged_runs(runs)
            else:
                pairs = list(items) if items is not None else [q.weighted_items() for q in sketches]
                self._pairs = tuple(pairs)
                self._sorted = _sorted_pairs(pairs)
            values, weights, _ = self._sorted
        # As PooledQuantiles.of_weighted_items pools them (a stable sort of the listed items).
        self.quantiles = PooledQuantiles(
            values=values, cumulative=np.cumsum(weights), rank_error=rank_error
        )
        self._frequent: FrequentItems | None = None
        self._categorical: bool | None = None
        self._parts = tuple(zip(slots, columns, strict=True)) if slots else ()
        self._by_slot: dict[int, Moments] | None = None
        # Values per slot of the day, counted once: every trailing day of the reference's
        # windows compares its own mix with it. Empty when the slots are not known.
        self.slot_values: dict[int, int] = {}
        for slot, column in self._parts:
            self.slot_values[slot] = self.slot_values.get(slot, 0) + column.moments.count

    @property
    def frequent(self) -> FrequentItems:
        if self._frequent is None:
            self._frequent = FrequentItems.merge_all([c.frequent for c in self._columns])
        return self._frequent

    @property
    def categorical(self) -> bool:
        if self._categorical is None:
            self._categorical = categorical(self._columns)
        return self._categorical

    def slot_moments(self) -> dict[int, Moments]:
        """The moments of each slot of the day, its windows merged; empty when the slots are
        not known. Merged once: every window of a day asks."""
        if self._by_slot is None:
            parts: dict[int, list[Moments]] = {}
            for slot, column in self._parts:
                parts.setdefault(slot, []).append(column.moments)
            self._by_slot = {slot: Moments.merge_all(found) for slot, found in parts.items()}
        return self._by_slot

    def mixed_like(self, shares: Mapping[int, float]) -> Pooled:
        """This pool with each window's values weighted so that the slots of the day hold the
        shares ``shares`` gives them (slots it does not name weigh nothing), the total kept.

        The trailing day of a window that starts on a Sunday noon holds half a Sunday and half a
        Monday; when a feature follows the hour of the day and Sundays are quieter, its mean
        moves with that mix alone, against a reference of whole days. Weighting the reference
        to the window's mix (post-stratification by slot of the day) compares like with like.
        Moments and quantiles are weighted; the category shares are not."""
        own = self.slot_values
        total = sum(own.values())
        if total == 0:
            return self
        scale = {s: shares.get(s, 0.0) * total / n for s, n in own.items() if n > 0}
        factors = np.array([scale.get(slot, 0.0) for slot, _ in self._parts])
        mixed = copy.copy(self)
        mixed.moments = weighted_moments(
            [column.moments for _, column in self._parts], factors, self.moments
        )
        values, weights, part = self._sorted_items()
        mixed.quantiles = PooledQuantiles(
            values=values,
            cumulative=np.cumsum(weights * factors[part]),
            rank_error=self.quantiles.rank_error,
        )
        return mixed

    def _sorted_items(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._sorted is None:
            self._sorted = _sorted_pairs(self._pairs)
        return self._sorted


def _sorted_pairs(pairs: Sequence[Items]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs' values and weights in a stable sort of the values as listed, and the pair each
    came from."""
    values = np.concatenate([v for v, _ in pairs]) if pairs else np.zeros(0)
    weights = np.concatenate([w for _, w in pairs]) if pairs else np.zeros(0)
    part = np.repeat(np.arange(len(pairs)), [len(v) for v, _ in pairs])
    order = np.argsort(values, kind="stable")
    return values[order], weights[order], part[order]


def _merged_runs(runs: Sequence[Pooled]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_sorted_pairs` of the runs' pairs, all listed in order, from the runs' own sorted
    items. A stable sort orders by (value, place in the listing); each run is already in that
    order within itself, so a stable sort of the runs laid end to end gives the same order as
    sorting every pair's items afresh (tested), and sorts a few long runs, not many short ones.
    """
    parts = [run._sorted_items() for run in runs]
    if not parts:
        return _sorted_pairs(())
    offsets = np.cumsum([0, *(len(run._pairs) for run in runs[:-1])])
    values = np.concatenate([v for v, _, _ in parts])
    weights = np.concatenate([w for _, w, _ in parts])
    part = np.concatenate([p + offset for (_, _, p), offset in zip(parts, offsets, strict=True)])
    order = np.argsort(values, kind="stable")
    return values[order], weights[order], part[order]


class TrailingItems:
    """One column's quantile items over the trailing day, kept pooled as the day slides.

    The trailing day of the next window is this one's without its oldest window and with one
    newer window: its pool is this pool with the oldest window's items taken out and the new
    window's merged in, not 24 windows' items sorted again. The pool comes out exactly as a
    stable sort of the windows' items, newest window first, would give it (equal values in
    the order of their windows, newest first, and in their window's own order), so the
    statistics read from it are the same to the last bit (tested)."""

    __slots__ = ("_starts", "_tags", "_values", "_weights")

    def __init__(self) -> None:
        self._starts: list[datetime] = []
        self._values = np.zeros(0)
        self._weights = np.zeros(0)
        self._tags = np.zeros(0, dtype=np.int64)
        """Per pooled value, its window's place in ``_starts`` counted from the oldest."""

    def slide(self, starts: Sequence[datetime], items: Callable[[int], Items]) -> Items:
        """The pooled values and weights of the windows starting at ``starts`` (newest first);
        ``items(i)`` gives window ``i``'s sorted items, asked only for windows not yet pooled."""
        old = self._starts
        new = 1 if len(starts) > 1 and starts[1:] == old[: len(starts) - 1] else 0
        if new == 0 and not (starts and starts == old[: len(starts)]):
            return self._rebuild(starts, items)
        keep = self._tags >= len(old) - (len(starts) - new)
        values, weights = self._values[keep], self._weights[keep]
        tags = self._tags[keep] - (len(old) - (len(starts) - new))
        if new:
            added, added_weights = items(0)
            # Before equal, older values; the k-th added item lands k places further on, as
            # np.insert places sorted indices (without its argsort and three copies of them).
            at = np.searchsorted(values, added, side="left") + np.arange(added.size)
            old_at = np.ones(values.size + added.size, dtype=bool)
            old_at[at] = False
            values = _placed(values, old_at, at, added)
            weights = _placed(weights, old_at, at, added_weights)
            tags = _placed(tags, old_at, at, len(starts) - 1)
        self._starts, self._values, self._weights, self._tags = list(starts), values, weights, tags
        return values, weights

    def _rebuild(self, starts: Sequence[datetime], items: Callable[[int], Items]) -> Items:
        parts = [items(i) for i in range(len(starts))]
        values = np.concatenate([v for v, _ in parts]) if parts else np.zeros(0)
        weights = np.concatenate([w for _, w in parts]) if parts else np.zeros(0)
        tags = np.repeat(np.arange(len(parts) - 1, -1, -1), [len(v) for v, _ in parts])
        order = np.argsort(values, kind="stable")
        self._starts = list(starts)
        self._values, self._weights, self._tags = values[order], weights[order], tags[order]
        return self._values, self._weights


def _placed(
    old: np.ndarray, old_at: np.ndarray, at: np.ndarray, added: np.ndarray | int
) -> np.ndarray:
    """``old`` with ``added`` at the places ``at`` (the rest, ``old_at``, keep ``old`` in order)."""
    found = np.empty(old_at.size, dtype=old.dtype)
    found[old_at] = old
    found[at] = added
    return found


def weighted_moments(parts: Sequence[Moments], factors: np.ndarray, whole: Moments) -> Moments:
    """The moments of ``parts`` with each part's values counted ``factors[i]`` times."""
    counts = np.array([m.count for m in parts], dtype=np.float64) * factors
    count = float(counts.sum())
    if count <= 0:
        return Moments()
    means = np.array([m.mean if m.count else 0.0 for m in parts])
    mean = float(np.sum(counts * means) / count)
    m2 = float(np.sum(factors * np.array([m.m2 for m in parts]) + counts * (means - mean) ** 2))
    return Moments(count=round(count), mean=mean, m2=max(m2, 0.0), min=whole.min, max=whole.max)


MIX_TOLERANCE = 0.02
"""Total-variation distance between a trailing day's mix of slots and its reference's below
which the reference is used as it is."""


def window_slot(window: Window) -> int:
    """Which slot of its UTC day a window starts in, in seconds since midnight."""
    start = window.start
    return start.hour * 3600 + start.minute * 60 + start.second


def mixed(reference: Pooled, trailing: Sequence[tuple[int, ColumnProfile]]) -> Pooled:
    """``reference`` weighted to the trailing day's mix of slots when the two differ by more
    than :data:`MIX_TOLERANCE`, and the reference knows every slot the trailing day has."""
    own = reference.slot_values
    total_ref = sum(own.values())
    current: dict[int, float] = {}
    for slot, column in trailing:
        current[slot] = current.get(slot, 0.0) + column.moments.count
    total_cur = sum(current.values())
    if not own or total_ref == 0 or total_cur == 0:
        return reference
    if any(n > 0 and own.get(slot, 0) == 0 for slot, n in current.items()):
        return reference
    shares = {slot: n / total_cur for slot, n in current.items()}
    distance = 0.5 * sum(
        abs(shares.get(slot, 0.0) - own.get(slot, 0) / total_ref) for slot in set(shares) | set(own)
    )
    return reference if distance <= MIX_TOLERANCE else reference.mixed_like(shares)


def categorical(columns: Sequence[ColumnProfile]) -> bool:
    """More text (string or bool) values than numbers over ``columns``."""
    counts = [c.type_counts for c in columns]
    text = sum(c.get("string", 0) + c.get("bool", 0) for c in counts)
    return text > sum(c.get("number", 0) for c in counts)
