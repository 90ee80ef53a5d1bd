"""``profile_batch``: record batches -> one profile per (model, version, window), in one pass.

What a row carries is decided here, once (:func:`row_roles`), because serving systems log
requests in different shapes: one ``prediction`` line per request, an ``arrival`` and a
``completion`` per request, or one ``completion`` line per request carrying features, outputs
and latency. Reading the event alone took the third shape for no traffic and no features, and
left coverage and the data-quality signals undefined.

Rows are grouped without a Python loop over rows: model and version are dictionary-encoded by
arrow, timestamps floored to window starts by numpy, and the three codes combined into one group
id. Every column is then profiled for all groups at once (:mod:`vigil.profile.column_stats`),
so a batch of 24 hourly windows of 200 rows costs little more than one window of 4,800: the
fixed cost of each numpy and arrow call is paid once per batch and column, not once per window.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import EventKind, ProfileKey, ValueKind, Window, window_start_us
from vigil.ingest import RecordBatch
from vigil.profile.column_stats import (
    frequent_groups,
    profile_columns,
    profile_measurement_groups,
)
from vigil.profile.distinct import DistinctSketch, hash_strings
from vigil.profile.groups import RowGroups
from vigil.profile.histogram import LogHistogram, histograms_by_group
from vigil.profile.profile import Profile, cap_hosts
from vigil.profile.segments import segment_name, segment_rows
from vigil.profile.spec import ProfileSpec

Int64Array = npt.NDArray[np.int64]
_log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def profile_batch(batch: RecordBatch, spec: ProfileSpec) -> dict[ProfileKey, Profile]:
    """Profile every row of ``batch``, one :class:`Profile` per model, version and window."""
    if batch.num_rows == 0:
        return {}
    keys, groups = _group_rows(batch, spec)
    profiles = _profile_groups(batch, keys, groups, spec)
    if spec.segments:
        profiles = _with_segments(batch, keys, profiles, spec)
    for key, profile in zip(keys, profiles, strict=True):
        _log.info(
            "profiled model=%s version=%s window=%s rows=%d",
            key.model,
            key.version,
            key.window,
            profile.rows,
        )
    return dict(sorted(zip(keys, profiles, strict=True)))


def _with_segments(
    batch: RecordBatch, keys: list[ProfileKey], profiles: list[Profile], spec: ProfileSpec
) -> list[Profile]:
    """Each profile with its segment profiles (:mod:`vigil.profile.segments`): the rows of
    every kept value of every segment tag, profiled like the whole batch."""
    inner = replace(spec, segments=())
    found: dict[ProfileKey, dict[str, Profile]] = {key: {} for key in keys}
    for tag in spec.segments:
        rows = segment_rows(batch.tags.get(tag), batch.num_rows, max_values=spec.max_segment_values)
        for value, indices in rows.items():
            part = batch.take(indices)
            part_keys, groups = _group_rows(part, inner)
            parts = _profile_groups(part, part_keys, groups, inner)
            for key, profile in zip(part_keys, parts, strict=True):
                found[key][segment_name(tag, value)] = profile
    return [
        replace(profile, segments=dict(sorted(found[key].items())))
        for key, profile in zip(keys, profiles, strict=True)
    ]


def _codes(column: pa.Array | pa.ChunkedArray) -> tuple[npt.NDArray[np.int32], list[str]]:
    """Dictionary codes and values of a non-null string column.

    Nearly every batch holds one model and one version: an equality test against the first
    value is 4x cheaper than hashing every row, so it goes first.
    """
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(array) and pc.all(pc.equal(array, array[0])).as_py():
        return np.zeros(len(array), dtype=np.int32), [array[0].as_py()]
    encoded = array.dictionary_encode()
    return (
        np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32),
        encoded.dictionary.to_pylist(),
    )


def _window(start_us: int, spec: ProfileSpec) -> Window:
    start = _EPOCH + timedelta(microseconds=start_us)
    return Window(start=start, end=start + spec.window)


def _group_rows(batch: RecordBatch, spec: ProfileSpec) -> tuple[list[ProfileKey], RowGroups]:
    starts = np.asarray(window_start_us(batch.timestamps_us(), spec.window), dtype=np.int64)
    models, model_names = _codes(batch.meta.column("model"))
    versions, version_names = _codes(batch.meta.column("version"))
    if len(model_names) == 1 and len(version_names) == 1 and starts.min() == starts.max():
        key = ProfileKey(
            model=model_names[0], version=version_names[0], window=_window(int(starts[0]), spec)
        )
        return [key], RowGroups.one(batch.num_rows)
    window_starts, window_codes = np.unique(starts, return_inverse=True)
    combined = (
        models.astype(np.int64) * len(version_names) + versions
    ) * window_starts.size + window_codes
    group_ids, inverse = np.unique(combined, return_inverse=True)
    keys = []
    for group_id in group_ids.tolist():
        model_version, window_code = divmod(group_id, window_starts.size)
        model_code, version_code = divmod(model_version, len(version_names))
        keys.append(
            ProfileKey(
                model=model_names[model_code],
                version=version_names[version_code],
                window=_window(int(window_starts[window_code]), spec),
            )
        )
    return keys, RowGroups.of(inverse.astype(np.int64), group_ids.size)


def row_roles(batch: RecordBatch) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per row, whether it carries features and whether it carries outputs, whatever its
    ``event`` says.

    A row carries features when it is a ``prediction`` or an ``arrival`` or mentions a feature;
    it carries outputs when it is a ``prediction`` or a ``completion`` or mentions an output.
    Profiles count them per window, so the counts add up exactly when profiles merge.
    """
    event = batch.meta.column("event").combine_chunks()
    prediction = _is(event, EventKind.PREDICTION)
    with_features = prediction | _is(event, EventKind.ARRIVAL)
    with_outputs = prediction | _is(event, EventKind.COMPLETION)
    for column in batch.features.values():
        with_features |= column.kinds != ValueKind.ABSENT
    for column in batch.outputs.values():
        with_outputs |= column.kinds != ValueKind.ABSENT
    return with_features, with_outputs


def _is(event: pa.Array, kind: EventKind) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.equal(event, kind.value).fill_null(False), dtype=bool)


def _profile_groups(
    batch: RecordBatch, keys: list[ProfileKey], groups: RowGroups, spec: ProfileSpec
) -> list[Profile]:
    meta = batch.meta
    codes, names = _codes(groups.arrange_arrow(meta.column("event")))
    counted = groups.code_counts(codes, len(names))
    kinds = [kind.value for kind in EventKind]
    events = [
        {**dict.fromkeys(kinds, 0), **dict(zip(names, row, strict=True))}
        for row in counted.tolist()
    ]
    stamps = groups.arrange(batch.timestamps_us())
    first = np.minimum.reduceat(stamps, groups.bounds[:-1]).tolist()
    last = np.maximum.reduceat(stamps, groups.bounds[:-1]).tolist()
    features = {n: profile_columns(c, groups, spec) for n, c in batch.features.items()}
    outputs = {n: profile_columns(c, groups, spec) for n, c in batch.outputs.items()}
    tags = {n: frequent_groups(values, groups, spec) for n, values in batch.tags.items()}
    latency = profile_measurement_groups(
        meta.column("latency_ms"), groups, spec, with_histogram=True
    )
    labels = profile_measurement_groups(meta.column("label"), groups, spec)
    request_ids = _request_ids(meta.column("request_id"), groups, spec)
    host_latency = _host_latency(meta, groups, spec)
    sizes = groups.sizes.tolist()
    with_features, with_outputs = row_roles(batch)
    feature_rows = groups.counts(groups.arrange(with_features)).tolist()
    output_rows = groups.counts(groups.arrange(with_outputs)).tolist()
    return [
        Profile(
            key=key,
            spec=spec,
            rows=sizes[g],
            events=events[g],
            feature_rows=feature_rows[g],
            output_rows=output_rows[g],
            first_seen=_EPOCH + timedelta(microseconds=first[g]),
            last_seen=_EPOCH + timedelta(microseconds=last[g]),
            request_ids=request_ids[g],
            features={name: found[g] for name, found in features.items()},
            outputs={name: found[g] for name, found in outputs.items()},
            latency=latency[g],
            host_latency=host_latency[g],
            tags={name: found[g] for name, found in tags.items()},
            labels=labels[g],
        )
        for g, key in enumerate(keys)
    ]


def _request_ids(
    values: pa.ChunkedArray, groups: RowGroups, spec: ProfileSpec
) -> list[DistinctSketch]:
    arranged = groups.arrange_arrow(values)
    owners = groups.ids()
    if arranged.null_count:
        owners = owners[np.asarray(arranged.is_valid().to_numpy(zero_copy_only=False), bool)]
    return DistinctSketch.of_groups(hash_strings(arranged), owners, groups.count, spec.hll_lg_k)


def _host_latency(
    meta: pa.Table, groups: RowGroups, spec: ProfileSpec
) -> list[dict[str, LogHistogram]]:
    """Per group, a latency histogram per host (busiest ``spec.max_hosts`` kept)."""
    found: list[dict[str, LogHistogram]] = [{} for _ in range(groups.count)]
    hosts = groups.arrange_arrow(meta.column("host"))
    latency = groups.arrange_arrow(meta.column("latency_ms"))
    usable = pc.and_(hosts.is_valid(), pc.is_finite(latency)).fill_null(False)
    if not pc.any(usable).as_py():
        return found
    owners = groups.ids()
    if not pc.all(usable).as_py():  # copying only when some rows lack a host or a latency
        owners = owners[np.asarray(usable.to_numpy(zero_copy_only=False), dtype=bool)]
        hosts, latency = hosts.filter(usable), latency.filter(usable)
    encoded = hosts.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    # Histograms only for the (group, host) pairs that occur, numbered densely.
    pairs = owners * len(names) + codes
    occupied = np.flatnonzero(np.bincount(pairs, minlength=groups.count * len(names)))
    dense = np.zeros(groups.count * len(names), dtype=np.int64)
    dense[occupied] = np.arange(occupied.size)
    values = np.asarray(latency.to_numpy(zero_copy_only=False), dtype=np.float64)
    histograms = histograms_by_group(values, dense[pairs], occupied.size, spec.latency_bucket_ratio)
    for pair, histogram in zip(occupied.tolist(), histograms, strict=True):
        group, host = divmod(pair, len(names))
        found[group][names[host]] = histogram
    # Named in sorted order, as merged profiles name them, not in the order the batch met
    # them: a window's bytes do not depend on the rows that shared its batch.
    return [cap_hosts(dict(sorted(by_host.items())), spec.max_hosts) for by_host in found]
