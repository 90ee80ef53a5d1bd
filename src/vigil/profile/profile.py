"""``Profile``: everything Vigil remembers about one model version in one time window.

A profile is a monoid: :meth:`Profile.empty` is the identity, :meth:`Profile.merge` adds two
profiles of the same model version (any windows: the result covers both) without touching its
inputs, and every statistic the later stages need (health series, drift) can be computed from
it alone, so logs are read once and hourly profiles roll up into days and weeks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from vigil.core import EventKind, IncompatibleSpecError, ProfileKey, Window
from vigil.profile.column import ColumnProfile
from vigil.profile.distinct import DistinctSketch
from vigil.profile.frequent import FrequentItems
from vigil.profile.histogram import LogHistogram
from vigil.profile.spec import ProfileSpec

OTHER_HOSTS = "(other)"
"""Where the latency of hosts beyond ``spec.max_hosts`` is counted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """Counts and sketches of one model version's records in one window.

    ``events`` counts rows per :class:`~vigil.core.EventKind` value; ``requests`` counts rows
    that start a request (``prediction`` or ``arrival``); ``request_ids`` estimates how many
    distinct request ids were seen, so ``rows - request_ids.estimate()`` approximates
    duplicates (an arrival and its completion share an id, so compare like with like).
    ``host_latency`` holds one latency histogram per host (rows without a host are only in
    ``latency``); hosts beyond ``spec.max_hosts`` are folded into ``"(other)"``, keeping the
    busiest hosts by row count (ties by name).
    """

    key: ProfileKey
    spec: ProfileSpec
    rows: int
    events: Mapping[str, int]
    requests: int
    first_seen: datetime | None
    last_seen: datetime | None
    request_ids: DistinctSketch
    features: Mapping[str, ColumnProfile]
    outputs: Mapping[str, ColumnProfile]
    latency: ColumnProfile
    host_latency: Mapping[str, LogHistogram]
    tags: Mapping[str, FrequentItems]
    labels: ColumnProfile

    @classmethod
    def empty(cls, key: ProfileKey, spec: ProfileSpec) -> Profile:
        return cls(
            key=key,
            spec=spec,
            rows=0,
            events=dict.fromkeys((kind.value for kind in EventKind), 0),
            requests=0,
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

    def merge(self, other: Profile) -> Profile:
        """Both profiles as one; same model, version and sketch spec; windows may differ."""
        if (self.key.model, self.key.version) != (other.key.model, other.key.version):
            raise IncompatibleSpecError(
                f"cannot merge profiles of {self.key.model}@{self.key.version} and "
                f"{other.key.model}@{other.key.version}; merge only one model version"
            )
        check_same_spec(self.spec, other.spec)
        window = Window(
            start=min(self.key.window.start, other.key.window.start),
            end=max(self.key.window.end, other.key.window.end),
        )
        spec = self.spec if self.spec.window >= other.spec.window else other.spec
        return Profile(
            key=replace(self.key, window=window),
            spec=spec,
            rows=self.rows + other.rows,
            events=_add_counts(self.events, other.events),
            requests=self.requests + other.requests,
            first_seen=_earliest(self.first_seen, other.first_seen),
            last_seen=_latest(self.last_seen, other.last_seen),
            request_ids=self.request_ids.merge(other.request_ids),
            features=_merge_columns(self.features, other.features, spec),
            outputs=_merge_columns(self.outputs, other.outputs, spec),
            latency=self.latency.merge(other.latency),
            host_latency=cap_hosts(
                _merge_histograms(self.host_latency, other.host_latency), spec.max_hosts
            ),
            tags=_merge_tags(self.tags, other.tags),
            labels=self.labels.merge(other.labels),
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
    if a.fingerprint() != b.fingerprint():
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


def _add_counts(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {name: a.get(name, 0) + b.get(name, 0) for name in sorted(a.keys() | b.keys())}


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _merge_columns(
    a: Mapping[str, ColumnProfile], b: Mapping[str, ColumnProfile], spec: ProfileSpec
) -> dict[str, ColumnProfile]:
    # A column one side never saw merges as if that side had it absent in every row.
    merged: dict[str, ColumnProfile] = {}
    for name in sorted(a.keys() | b.keys()):
        left, right = a.get(name), b.get(name)
        if left is None or right is None:
            merged[name] = left or right or ColumnProfile.empty(spec)
        else:
            merged[name] = left.merge(right)
    return merged


def _merge_histograms(
    a: Mapping[str, LogHistogram], b: Mapping[str, LogHistogram]
) -> dict[str, LogHistogram]:
    return {
        host: a[host].merge(b[host]) if host in a and host in b else a.get(host) or b[host]
        for host in sorted(a.keys() | b.keys())
    }


def _merge_tags(
    a: Mapping[str, FrequentItems], b: Mapping[str, FrequentItems]
) -> dict[str, FrequentItems]:
    return {
        name: a[name].merge(b[name]) if name in a and name in b else a.get(name) or b[name]
        for name in sorted(a.keys() | b.keys())
    }
