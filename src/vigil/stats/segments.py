"""``segment_series``: drift and data-quality series of every segment of a model's profiles.

A segment profile (:mod:`vigil.profile.segments`, ``region=eu``) is compared with the same
segment's profiles in its reference windows by the very code that compares whole profiles
(:func:`~vigil.stats.drift.drift_series`, :func:`~vigil.stats.drift_day.drift_day_series`, the
data-quality events of :func:`~vigil.stats.health.health_series`), so a segment's band is the
same test with the same smallest changes. Its series are named like the whole model's, with the
segment after the column: ``drift/num_a@region=eu/mean``, ``output/score@region=eu/drift_ks``
(as performance names its segments).

**Multiple testing.** A model with ``m`` segments would test every column's statistics ``m``
more times per window, so each segment is tested at ``alpha / m`` (Bonferroni over all the
model's segments, every tag together): the chance that any segment of one column falsely leaves
its band in a window stays at most ``alpha``, as for the whole model's test, and segments add
at most the whole model's false-alarm rate again. The price is power, small at these levels:
at ``alpha = 1e-6`` the two-sided z of the band goes from 4.89 to 5.10 with 3 segments, 5.29
with 8 and 5.45 with 20 (and the smallest changes, ``min_mean_sd`` and the rest, are the same).

A tag all of whose rows fell in one segment (a model without the tag: only ``region=(none)``)
says nothing its whole profile does not, and is not tested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from vigil.core import segment_column
from vigil.profile import Profile, segment_tag
from vigil.profile.labels import Tally, TallyKey
from vigil.stats.drift import drift_series
from vigil.stats.drift_day import changed_windows, drift_day_series
from vigil.stats.health import health_series
from vigil.stats.performance_series import performance_series
from vigil.stats.quality import QualityKind
from vigil.stats.series import Series
from vigil.stats.spec import StatsSpec

QUALITY = frozenset(kind.value for kind in QualityKind)


def segments_to_test(profiles: Sequence[Profile]) -> list[str]:
    """The segments worth testing: those of tags with at least two segments in ``profiles``."""
    names = {name for profile in profiles for name in profile.segments}
    by_tag: dict[str, set[str]] = {}
    for name in names:
        by_tag.setdefault(segment_tag(name), set()).add(name)
    return sorted(name for found in by_tag.values() if len(found) > 1 for name in found)


def segment_spec(spec: StatsSpec, segments: int) -> StatsSpec:
    """``spec`` with its change test at ``alpha / segments`` (see the module docstring)."""
    if segments <= 1:
        return spec
    return replace(spec, change=replace(spec.change, alpha=spec.change.alpha / segments))


def performance_by_segment(
    tallies: Mapping[TallyKey, Tally],
    spec: StatsSpec,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Series]:
    """:func:`~vigil.stats.performance_series.performance_series` of the whole model's tallies
    at ``spec``, and of its segments' at the Bonferroni share of alpha, as their drift."""
    whole = {k: t for k, t in tallies.items() if not k.segment}
    parts = {k: t for k, t in tallies.items() if k.segment}
    tested = segment_spec(spec, len({k.segment for k in parts}))
    return performance_series(whole, spec, since=since, until=until) + performance_series(
        parts, tested, since=since, until=until
    )


def segment_series(
    profiles: Sequence[Profile],
    spec: StatsSpec,
    *,
    since: datetime | None = None,
    drift_since: datetime | None = None,
) -> list[Series]:
    """Per tested segment (:func:`segments_to_test`): its hourly and day-long drift and its
    data-quality events, at the Bonferroni share of ``spec.change.alpha``; ``since`` and
    ``drift_since`` as for the whole model's series."""
    names = segments_to_test(profiles)
    tested = segment_spec(spec, len(names))
    found: list[Series] = []
    for name in names:
        parts = [p.segments[name] for p in profiles if name in p.segments]
        events = [
            one for one in health_series(parts, tested, since=since) if one.key.statistic in QUALITY
        ]
        hourly = drift_series(parts, None, tested, since=drift_since)
        daily = drift_day_series(
            parts, tested, since=drift_since, excluded=changed_windows(hourly, tested)
        )
        found += [
            replace(one, key=replace(one.key, column=segment_column(one.key.column, name)))
            for one in (*events, *hourly, *daily)
        ]
    return found
