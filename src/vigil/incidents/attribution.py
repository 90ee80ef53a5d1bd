"""Where an incident's excess lies: the hosts or tag values that carry it.

A latency regression on one host of six moves the model's p99; the incident should say which
host. The profiles keep a latency histogram per host, so for the incident's windows each host's
requests above the normal p99 (the reference's) are counted, and each host is set against the
rest in a 2x2 table (slow or not, this host or another) scored by Dunning's signed root
log-likelihood ratio (:func:`~vigil.detect.realtime.statistics.signed_root_llr`). A host is named
when that score is beyond chance (``min_root_llr``) and its rate of slow requests is several
times the others'. A traffic drop is attributed the same way, with "this window or the
reference" in place of "slow or not": the tag values (and hosts) whose share fell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vigil.detect.realtime.statistics import signed_root_llr
from vigil.incidents.incident import Attribution
from vigil.profile import LogHistogram

MIN_ROOT_LLR = 5.0
"""Like a z-score of 5: an over-representation no chance fluctuation explains."""
MIN_RATIO = 2.0
"""A named value's rate is at least twice the others' (strong evidence of a small effect is
not what an on-call engineer needs to read first)."""
MAX_NAMED = 3


def slow_requests(histogram: LogHistogram, threshold: float) -> int:
    """Requests of ``histogram`` at or above ``threshold`` (within the bucket ratio)."""
    return sum(
        count
        for index, count in histogram.counts().items()
        if histogram.bucket_bounds(index)[0] >= threshold
    )


def attribute_latency(
    current: Mapping[str, LogHistogram], reference: LogHistogram, *, quantile: float = 0.99
) -> list[Attribution]:
    """The hosts whose requests are slow beyond the reference's ``quantile`` more than the
    other hosts' are, most of the excess first."""
    threshold = reference.quantile(quantile)
    if not np.isfinite(threshold) or not current:
        return []
    hosts = sorted(current)
    totals = np.array([current[h].total for h in hosts], dtype=np.float64)
    slow = np.array([slow_requests(current[h], threshold) for h in hosts], dtype=np.float64)
    return _named("host", hosts, slow, totals - slow)


def attribute_traffic(
    dimension: str, current: Mapping[str, int], reference: Mapping[str, int]
) -> list[Attribution]:
    """The values (hosts, or one tag's values) whose share of traffic fell against the
    reference, most of the lost traffic first."""
    values = sorted(set(current) | set(reference))
    if not values:
        return []
    now = np.array([current.get(v, 0) for v in values], dtype=np.float64)
    before = np.array([reference.get(v, 0) for v in values], dtype=np.float64)
    if now.sum() <= 0 or before.sum() <= 0:
        return []  # nothing left to compare shares with: a stop is the whole model's
    # "Lost" requests: what the reference's share says should have come, minus what did.
    expected = before / before.sum() * now.sum()
    return _named(dimension, values, np.maximum(expected - now, 0.0), now)


def _named(
    dimension: str, values: Sequence[str], hits: np.ndarray, misses: np.ndarray
) -> list[Attribution]:
    """Values whose hits are over-represented against the rest (Dunning), ranked."""
    total_hits, total_misses = hits.sum(), misses.sum()
    if total_hits <= 0:
        return []
    others_hits, others_misses = total_hits - hits, total_misses - misses
    scores = signed_root_llr(hits, misses, others_hits, others_misses)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = hits / (hits + misses)
        others = others_hits / (others_hits + others_misses)
    excess = np.maximum(hits - (hits + misses) * np.nan_to_num(others), 0.0)
    found = [
        Attribution(
            dimension=dimension,
            value=values[i],
            share=float(min(1.0, excess[i] / max(excess.sum(), 1e-12))),
            rate=float(rate[i]),
            others=float(others[i]),
            root_llr=float(scores[i]),
        )
        for i in range(len(values))
        if scores[i] >= MIN_ROOT_LLR and rate[i] >= MIN_RATIO * np.nan_to_num(others[i])
    ]
    return sorted(found, key=lambda a: (-a.share, a.value))[:MAX_NAMED]
