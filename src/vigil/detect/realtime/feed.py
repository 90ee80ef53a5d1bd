"""From ingested record batches to monitor events: how the ingest server and the SDK feed monitors.

A :class:`~vigil.ingest.RecordBatch` mixes models and event kinds; monitors want one model and
one kind per batch, as numpy columns. :func:`events_from_batch` splits the rows by (model, kind)
and converts the columns: nulls become NaN (latency, score) or ``""`` (ids, versions, tags), and
monitors count what they cannot use rather than dropping it unseen. The host and the version are
offered as the tags ``host`` and ``version`` next to the free tags, so latency can be ranked by
them. ``label`` rows carry their outcome in ``score``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import ConfigError, EventKind
from vigil.detect.realtime.events import Events, FloatArray, StrArray
from vigil.ingest import RecordBatch


def _strings(values: pa.Array | pa.ChunkedArray) -> StrArray:
    filled = pc.fill_null(values, "")
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.str_)


def _floats(values: pa.Array | pa.ChunkedArray) -> FloatArray:
    return np.asarray(pc.fill_null(values, np.nan).to_numpy(zero_copy_only=False), np.float64)


def events_from_batch(batch: RecordBatch, *, score_output: str = "score") -> list[Events]:
    """One :class:`Events` per (model, event kind) present in ``batch``, rows in batch order.

    ``score_output`` names the output column monitors watch (NaN where a row has none or it is
    not a number).
    """
    if not score_output:
        raise ConfigError("score_output must name an output column, e.g. 'score'")
    if batch.num_rows == 0:
        return []
    meta = batch.meta
    models = _strings(meta.column("model"))
    kinds = _strings(meta.column("event"))
    times = batch.timestamps_us().astype(np.float64) / 1e6
    versions = _strings(meta.column("version"))
    requests = _strings(meta.column("request_id"))
    latency = _floats(meta.column("latency_ms"))
    labels = _floats(meta.column("label"))
    output = batch.outputs.get(score_output)
    scores = np.full(batch.num_rows, np.nan) if output is None else output.numbers
    tags = {name: _strings(values) for name, values in batch.tags.items()}
    tags["host"] = _strings(meta.column("host"))
    tags["version"] = versions
    found = []
    for model in np.unique(models).tolist():
        for kind in np.unique(kinds[models == model]).tolist():
            rows = np.flatnonzero((models == model) & (kinds == kind))
            event_kind = EventKind(kind)
            found.append(
                Events(
                    model=model,
                    kind=event_kind,
                    timestamp_s=times[rows],
                    version=versions[rows],
                    request_id=requests[rows],
                    score=(labels if event_kind == EventKind.LABEL else scores)[rows],
                    latency_ms=latency[rows],
                    tags={name: values[rows] for name, values in tags.items()},
                )
            )
    return found
