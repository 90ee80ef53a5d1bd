"""``recent_mean``: the trailing day's mean weighted toward its latest windows, for a slow drift.

A feature that drifts linearly (issue 20: 1 sd over ten days) has moved the trailing day's
plain mean by only half of where it is now: the day's first hours barely drifted. A test that
knew the drift began a day ago would weigh each hour by how far it has drifted, linearly in its
age (the likelihood ratio's weights); against the same reference, at the same false-alarm rate
per column-day, that is the best any test of the hourly means does within a day.

Measured (``benchmarks/drift_delay.py``, normal columns, 6,500 rows a day, the day-long
reference): at 1e-4 false alarms per calm column-day the trailing day's mean is first over its
threshold after 25 h (median), the linearly weighted trailing day after 22-23 h; multi-length
windows (12/24/48 h, Bonferroni), CUSUMs and a within-window slope did no better. Beside the
plain mean at ``alpha``, this test is run at ``alpha * recent_mean_alpha_ratio`` (1e-5 by
default, ``z`` 4.42): about 1e-4 false alarms per calm column-day, 30 times under the goal of 1
in 300, and the drift's median delay goes from 28 h to 23 h.

Weighting hours unequally would turn a daily rhythm of the column's mean into apparent drift,
so every window is compared with the reference's own windows of the same slot of the day (the
same hour on days ``D-8..D-2``); a reference without slots (profiles of training data), or one
missing a slot, is compared as a whole. The standard error takes the larger of the two sides'
variances, as :func:`~vigil.stats.change.mean_band` does (a skewed column's low days have low
variances too).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vigil.profile import Moments
from vigil.stats.change import ChangeBand, ChangeTest, Tested
from vigil.stats.kurtosis import MIN_VALUES

STATISTIC = "recent_mean"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentWindow:
    """One window of the trailing day: how many windows before the latest it starts (0 for the
    latest), its slot of the day (:func:`~vigil.stats.day_pools.window_slot`) and its column's
    moments."""

    age: int
    slot: int
    moments: Moments


def recent_mean_change(
    windows: Sequence[RecentWindow],
    reference: Moments,
    reference_slots: Mapping[int, Moments],
    test: ChangeTest,
    *,
    span: int,
    merged: Moments | None = None,
) -> Tested | None:
    """The trailing ``span`` windows' mean, window ``age`` weighted ``span - age``, against the
    reference's mean weighted the same way, slot by slot; ``None`` when there is nothing to
    weigh (a span of one window would repeat the plain mean at a looser alpha).

    Value ``sum(w n x) / sum(w n)``; expected the same with each window's slot's reference mean;
    half-width ``max(min_mean_sd * sd_ref, z * se)``, ``z`` at ``alpha *
    recent_mean_alpha_ratio`` and ``se = sd * sqrt(sum(w² n) + sum_slot(W_slot² / n_slot)) /
    sum(w n)`` (``W_slot`` the weighted rows compared with slot ``n_slot``'s mean), ``sd`` the
    larger of the two sides'. ``merged``: the moments of ``windows`` merged in their order,
    when the caller holds them (every window within the span)."""
    used = [w for w in windows if 0 <= w.age < span and w.moments.count > 0]
    if span < 2 or len(used) < 2 or reference.count < MIN_VALUES:
        return None
    by_slot = all(reference_slots.get(w.slot, Moments()).count >= MIN_VALUES for w in used)
    total = sum((span - w.age) * w.moments.count for w in used)
    value = sum((span - w.age) * w.moments.count * w.moments.mean for w in used) / total
    own = sum((span - w.age) ** 2 * w.moments.count for w in used)
    compared: dict[int, float] = {}
    for w in used:
        slot = w.slot if by_slot else -1
        compared[slot] = compared.get(slot, 0.0) + (span - w.age) * w.moments.count
    base = {s: reference_slots[s] for s in compared} if by_slot else {-1: reference}
    expected = sum(weight * base[s].mean for s, weight in compared.items()) / total
    theirs = sum(weight**2 / base[s].count for s, weight in compared.items())
    current = merged if merged is not None else Moments.merge_all([w.moments for w in used])
    sd = math.sqrt(max(current.variance, reference.variance))
    se = sd * math.sqrt(own + theirs) / total
    z = recent_z(test)
    half = max(test.min_mean_sd * reference.std, z * se)
    band = ChangeBand(expected=expected, lower=expected - half, upper=expected + half)
    support = float(min(current.count, reference.count))
    return Tested(statistic=STATISTIC, value=value, band=band, support=support)


def recent_z(test: ChangeTest) -> float:
    """The two-sided normal quantile of ``alpha * recent_mean_alpha_ratio``, that alpha at most
    0.1 (or ``alpha`` itself when larger)."""
    alpha = min(test.alpha * test.recent_mean_alpha_ratio, max(test.alpha, 0.1))
    return ChangeTest(alpha=alpha).z
