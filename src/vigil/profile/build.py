"""``profile_batch``: record batches -> one profile per (model, version, window), in one pass.

Rows are grouped without a Python loop over rows: model and version are dictionary-encoded by
arrow, timestamps floored to window starts by numpy, and the three codes combined into one group
id. Almost every batch holds a single group (one model, one hour), which skips the grouping
copies entirely; otherwise each group's rows are taken once and profiled column by column.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import EventKind, ProfileKey, Window, window_start_us
from vigil.ingest import RecordBatch
from vigil.profile.column import profile_column, profile_measurements
from vigil.profile.distinct import DistinctSketch
from vigil.profile.frequent import FrequentItems
from vigil.profile.histogram import LogHistogram, histograms_by_group
from vigil.profile.profile import Profile, cap_hosts
from vigil.profile.spec import ProfileSpec

Int64Array = npt.NDArray[np.int64]
_log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def profile_batch(batch: RecordBatch, spec: ProfileSpec) -> dict[ProfileKey, Profile]:
    """Profile every row of ``batch``, one :class:`Profile` per model, version and window."""
    profiles: dict[ProfileKey, Profile] = {}
    for key, indices in _group_rows(batch, spec):
        rows = batch if indices is None else batch.take(indices)
        profiles[key] = _profile_rows(rows, key, spec)
        _log.info(
            "profiled model=%s version=%s window=%s rows=%d",
            key.model,
            key.version,
            key.window,
            rows.num_rows,
        )
    return dict(sorted(profiles.items()))


def _codes(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int32], list[str]]:
    """Dictionary codes and values of a non-null string column.

    Nearly every batch holds one model and one version: an equality test against the first
    value is 4x cheaper than hashing every row, so it goes first.
    """
    array = column.combine_chunks()
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


def _group_rows(
    batch: RecordBatch, spec: ProfileSpec
) -> list[tuple[ProfileKey, Int64Array | None]]:
    if batch.num_rows == 0:
        return []
    starts = np.asarray(window_start_us(batch.timestamps_us(), spec.window), dtype=np.int64)
    models, model_names = _codes(batch.meta.column("model"))
    versions, version_names = _codes(batch.meta.column("version"))
    if len(model_names) == 1 and len(version_names) == 1 and starts.min() == starts.max():
        key = ProfileKey(
            model=model_names[0], version=version_names[0], window=_window(int(starts[0]), spec)
        )
        return [(key, None)]
    window_starts, window_codes = np.unique(starts, return_inverse=True)
    combined = (
        models.astype(np.int64) * len(version_names) + versions
    ) * window_starts.size + window_codes
    group_ids, inverse = np.unique(combined, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=group_ids.size))])
    groups: list[tuple[ProfileKey, Int64Array | None]] = []
    for position, group_id in enumerate(group_ids.tolist()):
        model_version, window_code = divmod(group_id, window_starts.size)
        model_code, version_code = divmod(model_version, len(version_names))
        key = ProfileKey(
            model=model_names[model_code],
            version=version_names[version_code],
            window=_window(int(window_starts[window_code]), spec),
        )
        groups.append((key, order[bounds[position] : bounds[position + 1]].astype(np.int64)))
    return groups


def _profile_rows(batch: RecordBatch, key: ProfileKey, spec: ProfileSpec) -> Profile:
    meta = batch.meta
    events = dict.fromkeys((kind.value for kind in EventKind), 0)
    codes, names = _codes(meta.column("event"))
    for name, count in zip(names, np.bincount(codes, minlength=len(names)).tolist(), strict=True):
        events[name] = events.get(name, 0) + count
    timestamps = meta.column("timestamp")
    return Profile(
        key=key,
        spec=spec,
        rows=batch.num_rows,
        events=events,
        requests=events[EventKind.PREDICTION.value] + events[EventKind.ARRIVAL.value],
        first_seen=pc.min(timestamps).as_py(),
        last_seen=pc.max(timestamps).as_py(),
        request_ids=DistinctSketch.empty(spec.hll_lg_k).update(meta.column("request_id")),
        features={name: profile_column(column, spec) for name, column in batch.features.items()},
        outputs={name: profile_column(column, spec) for name, column in batch.outputs.items()},
        latency=profile_measurements(meta.column("latency_ms"), spec, with_histogram=True),
        host_latency=_host_latency(meta, spec),
        tags={
            name: FrequentItems.empty(spec.frequent_lg_max).update(values)
            for name, values in batch.tags.items()
        },
        labels=profile_measurements(meta.column("label"), spec),
    )


def _host_latency(meta: pa.Table, spec: ProfileSpec) -> dict[str, LogHistogram]:
    hosts = meta.column("host").combine_chunks()
    latency = meta.column("latency_ms").combine_chunks()
    usable = pc.and_(hosts.is_valid(), pc.is_finite(latency)).fill_null(False)
    if not pc.any(usable).as_py():
        return {}
    if not pc.all(usable).as_py():  # copying only when some rows lack a host or a latency
        hosts, latency = hosts.filter(usable), latency.filter(usable)
    encoded = hosts.dictionary_encode()
    values = np.asarray(latency.to_numpy(zero_copy_only=False), dtype=np.float64)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
    names = encoded.dictionary.to_pylist()
    histograms = histograms_by_group(values, codes, len(names), spec.latency_bucket_ratio)
    return cap_hosts(dict(zip(names, histograms, strict=True)), spec.max_hosts)
