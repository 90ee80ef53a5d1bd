"""``Profile``: everything Vigil remembers about one model version in one time window.

A profile is a monoid: :meth:`Profile.empty` is the identity, :meth:`Profile.merge` adds two
profiles of the same model version (any windows: the result covers both) without touching its
inputs, and every statistic the later stages need (health series, drift) can be computed from
it alone, so logs are read once and hourly profiles roll up into days and weeks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from vigil.core import ConfigError, EventKind, IncompatibleSpecError, ProfileKey, Window
from vigil.profile.column import ColumnProfile
from vigil.profile.distinct import DistinctSketch
from vigil.profile.envelope import request_count
from vigil.profile.frequent import FrequentItems
from vigil.profile.histogram import LogHistogram
from vigil.profile.segments import cap_segments
from vigil.profile.spec import ProfileSpec

T = TypeVar("T")
OTHER_HOSTS = "(other)"
"""Where the latency of hosts beyond ``spec.max_hosts`` is counted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """Counts and sketches of one model version's records in one window.

    ``events`` counts rows per :class:`~vigil.core.EventKind` value; ``feature_rows`` counts the
    rows that carry features and ``output_rows`` those that carry outputs, whatever their event
    (see :func:`vigil.profile.build.row_roles`): they are the denominators of coverage.
    :attr:`requests` is derived from the event counts. ``request_ids`` estimates how many
    distinct request ids were seen, so ``rows - request_ids.estimate()`` approximates duplicates
    (an arrival and its completion share an id, so compare like with like).
    ``host_latency`` holds one latency histogram per host (rows without a host are only in
    ``latency``); hosts beyond ``spec.max_hosts`` are folded into ``"(other)"``, keeping the
    busiest hosts by row count (ties by name).
    """

    key: ProfileKey
    spec: ProfileSpec
    rows: int
    events: Mapping[str, int]
    feature_rows: int
    output_rows: int
    first_seen: datetime | None
    last_seen: datetime | None
    request_ids: DistinctSketch
    features: Mapping[str, ColumnProfile]
    outputs: Mapping[str, ColumnProfile]
    latency: ColumnProfile
    host_latency: Mapping[str, LogHistogram]
    tags: Mapping[str, FrequentItems]
    labels: ColumnProfile
    segments: Mapping[str, Profile] = field(default_factory=dict)
    """The profiles of this one's rows per segment (``"region=eu"``; see
    :mod:`vigil.profile.segments`): one per value of each of ``spec.segments``' tags."""

    @classmethod
    def empty(cls, key: ProfileKey, spec: ProfileSpec) -> Profile:
        return cls(
            key=key,
            spec=spec,
            rows=0,
            events=dict.fromkeys((kind.value for kind in EventKind), 0),
            feature_rows=0,
            output_rows=0,
            first_seen=None,
            last_seen=None,
            request_ids=DistinctSketch.empty(spec.hll_lg_k),
            features={},
            outputs={},
            latency=ColumnProfile.empty(spec, with_histogram=True),
            host_latency={},
            tags={},
            labels=ColumnProfile.empty(spec),
        )

    @property
    def requests(self) -> int:
        """Requests in the window: predictions and arrivals, plus completions beyond the
        arrivals.

        Serving code logs a request as one ``prediction``, as an ``arrival`` and a
        ``completion``, or as one ``completion`` line carrying features, outputs and latency.
        A completion with no arrival in the window is a complete request. Counting the excess
        of completions over arrivals (rather than matching request ids) keeps the count a
        function of merged event counts, so it is the same however the rows were chunked: an
        arrival and its completion profiled in two batches are still one request.
        """
        return request_count(self.events)

    def merge(self, other: Profile) -> Profile:
        """Both profiles as one; same model, version and sketch spec; windows may differ."""
        return Profile.merge_all([self, other])

    @classmethod
    def merge_all(cls, profiles: Sequence[Profile]) -> Profile:
        """All profiles as one, merging each sketch once across all of them.

        Equal to folding :meth:`merge` (exactly for counts, registers and histograms; KLL and
        frequent items within their stated error), but each sketch is copied once instead of
        once per step, which is what makes rolling 24 hours into a day cheap.
        """
        if not profiles:
            raise ConfigError("merge_all needs at least one profile")
        first = profiles[0]
        for other in profiles[1:]:
            if (first.key.model, first.key.version) != (other.key.model, other.key.version):
                raise IncompatibleSpecError(
                    f"cannot merge profiles of {first.key.model}@{first.key.version} and "
                    f"{other.key.model}@{other.key.version}; merge only one model version"
                )
            check_same_spec(first.spec, other.spec)
        if len(profiles) == 1:
            return first
        window = Window(
            start=min(p.key.window.start for p in profiles),
            end=max(p.key.window.end for p in profiles),
        )
        spec = max((p.spec for p in profiles), key=lambda spec: spec.window)
        seen = [p.first_seen for p in profiles if p.first_seen is not None]
        last = [p.last_seen for p in profiles if p.last_seen is not None]
        return cls(
            key=replace(first.key, window=window),
            spec=spec,
            rows=sum(p.rows for p in profiles),
            events=_add_counts([p.events for p in profiles]),
            feature_rows=sum(p.feature_rows for p in profiles),
            output_rows=sum(p.output_rows for p in profiles),
            first_seen=min(seen) if seen else None,
            last_seen=max(last) if last else None,
            request_ids=DistinctSketch.merge_all([p.request_ids for p in profiles]),
            features=_merge_named([p.features for p in profiles], ColumnProfile.merge_all),
            outputs=_merge_named([p.outputs for p in profiles], ColumnProfile.merge_all),
            latency=ColumnProfile.merge_all([p.latency for p in profiles]),
            host_latency=cap_hosts(
                _merge_named([p.host_latency for p in profiles], LogHistogram.merge_all),
                spec.max_hosts,
            ),
            tags=_merge_named([p.tags for p in profiles], FrequentItems.merge_all),
            labels=ColumnProfile.merge_all([p.labels for p in profiles]),
            segments=cap_segments(
                _merge_named([p.segments for p in profiles], cls.merge_all),
                spec.max_segment_values,
                cls.merge_all,
            ),
        )

    def to_bytes(self) -> bytes:
        """Compact, versioned bytes (see :mod:`vigil.profile.codec`)."""
        from vigil.profile.codec import encode_profile  # codec imports this module

        return encode_profile(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> Profile:
        from vigil.profile.codec import decode_profile

        return decode_profile(data)


def check_same_spec(a: ProfileSpec, b: ProfileSpec) -> None:
    # Same as comparing fingerprints, without hashing on every merge.
    if (
        replace(a, window=b.window, segments=b.segments, max_segment_values=b.max_segment_values)
        != b
    ):
        raise IncompatibleSpecError(
            f"profiles built with different sketch specs do not merge: {a!r} vs {b!r}; "
            "re-profile the logs with one spec"
        )


def cap_hosts(histograms: Mapping[str, LogHistogram], max_hosts: int) -> dict[str, LogHistogram]:
    """Keep the ``max_hosts`` busiest hosts (ties by name); fold the rest into ``"(other)"``."""
    named = {host: h for host, h in histograms.items() if host != OTHER_HOSTS}
    if len(named) <= max_hosts:
        return dict(histograms)
    ranked = sorted(named, key=lambda host: (-named[host].total, host))
    kept = {host: named[host] for host in ranked[:max_hosts]}
    other = histograms.get(OTHER_HOSTS)
    for host in ranked[max_hosts:]:
        other = named[host] if other is None else other.merge(named[host])
    if other is not None:
        kept[OTHER_HOSTS] = other
    return kept


def _add_counts(counts: Sequence[Mapping[str, int]]) -> dict[str, int]:
    names = sorted({name for mapping in counts for name in mapping})
    return {name: sum(mapping.get(name, 0) for mapping in counts) for name in names}


def _merge_named(
    mappings: Sequence[Mapping[str, T]], merge_all: Callable[[Sequence[T]], T]
) -> dict[str, T]:
    # A name one profile lacks merges as if that profile had it empty: for a column that is
    # "absent in every row", which keeps ``rows - present`` exact.
    names = sorted({name for mapping in mappings for name in mapping})
    return {
        name: merge_all([mapping[name] for mapping in mappings if name in mapping])
        for name in names
    }
