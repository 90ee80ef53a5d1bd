"""DataFrames in: a frame of features and predictions -> a profile; two frames -> a drift report.

Notebooks and batch jobs hold data as a pandas DataFrame, an Arrow table or a Parquet file, not
as inference logs. These calls turn such a frame into the records ingest expects and run the
same stages the pipeline runs:

- :func:`profile_frame`: one :class:`~vigil.profile.Profile` of every row (the habit of
  whylogs' ``why.log(df)``);
- :func:`reference_profile`: the same from a frame or a Parquet file, optionally written to a
  file (``Profile.to_bytes``) that the configuration can name as a fixed reference;
- :func:`compare`: reference vs current frame (or profile) -> :class:`DriftReport`, with the
  pipeline's drift statistics and its drift decision, as HTML that also renders in Jupyter (the
  habit of Evidently's ``Report(...).run(ref, cur)``).

Which column is what: columns named like a record field (``model``, ``version``, ``timestamp``,
``request_id``, ``host``, ``event``, ``latency_ms``, ``label``) are that field; ``outputs``
names the prediction columns; ``features`` names the feature columns (default: every other
column); ``columns`` maps any column to any field (``{"pred": "outputs.score"}``) and wins over
the rest. ``model`` and ``version`` name the whole frame when it has no such columns; rows without
a ``timestamp`` column are stamped ``timestamp`` (a time) or ``now``. Rows ingest would quarantine
make the call fail with their reasons: nothing is dropped without a word.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from vigil.core import ConfigError, SchemaError, ensure_utc
from vigil.ingest import EARLIEST, IngestChunk, IngestLimits, table_to_chunk
from vigil.pipeline.policy import DriftRule, WatchPolicy
from vigil.profile import Profile, ProfileSpec, profile_batch
from vigil.report import (
    ComparedColumn,
    ComparisonContent,
    comparison_fragment,
    comparison_page,
    comparison_text,
)
from vigil.stats import ColumnComparison, StatsSpec, compare_profiles

RECORD_FIELDS = ("model", "version", "timestamp", "request_id", "host", "event", "latency_ms")
LABEL = "label"
GROUPS = ("features.", "outputs.", "tags.")

Frame = Any
"""A pandas DataFrame, a pyarrow Table, or anything with ``to_arrow()`` (polars)."""


FRAME_LIMITS = IngestLimits(earliest=EARLIEST.replace(year=1970))
"""A frame is a data set, not live logs: its rows may be stamped any time since 1970 (no runner
plans windows from them); the other limits are those of every reader."""


def profile_frame(
    frame: Frame,
    *,
    model: str | None = None,
    version: str | None = None,
    timestamp: str | datetime | None = None,
    features: Sequence[str] | None = None,
    outputs: Sequence[str] = (),
    columns: Mapping[str, str] | None = None,
    spec: ProfileSpec | None = None,
    now: datetime | None = None,
) -> Profile:
    """One profile of every row of ``frame`` (see the module docstring for which column is what).

    ``timestamp`` is the name of the time column, or one time for every row; without either,
    rows are stamped ``now`` (default: the current time). The profile's window spans the windows
    of its rows. Raises :class:`~vigil.core.SchemaError` listing the reasons when a row would be
    quarantined, and :class:`~vigil.core.ConfigError` when the columns are not understood.
    """
    moment = ensure_utc(now) if now is not None else datetime.now(UTC)
    table = frame_records(
        frame,
        model=model,
        version=version,
        timestamp=timestamp,
        features=features,
        outputs=outputs,
        columns=columns,
        now=moment,
    )
    chunk = table_to_chunk(table, source="frame", rules=FRAME_LIMITS.rules(moment))
    _refuse_quarantined(chunk)
    profiles = list(profile_batch(chunk.batch, spec or ProfileSpec()).values())
    versions = sorted({(p.key.model, p.key.version) for p in profiles})
    if len(versions) > 1:
        shown = ", ".join(f"{m}@{v}" if v else m for m, v in versions[:5])
        raise ConfigError(
            f"the frame holds {len(versions)} model versions ({shown}); profile one at a time"
        )
    return Profile.merge_all(profiles)


def reference_profile(
    source: Frame | str | os.PathLike[str],
    *,
    model: str | None = None,
    out: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Profile:
    """The profile of a training or validation set, to serve as a fixed drift reference.

    ``source`` is a frame or a Parquet file (or folder of them); the other keywords are those of
    :func:`profile_frame`. With ``out``, the profile's bytes (:meth:`Profile.to_bytes`) are also
    written there, all at once, so a reader never sees half a file.
    """
    if isinstance(source, str | os.PathLike):
        import pyarrow.parquet as pq

        path = Path(source)
        if not path.exists():
            raise ConfigError(f"no Parquet file or folder at {path}")
        source = pq.read_table(path)
    profile = profile_frame(source, model=model, **options)
    if out is not None:
        target = Path(out)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(profile.to_bytes())
        partial.replace(target)
    return profile


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    """Every column of a reference and a current data set: drifted or not, and by how much.

    Shows itself in Jupyter (``_repr_html_``), prints as text, and saves as one HTML file.
    """

    content: ComparisonContent
    reference: Profile
    current: Profile

    @property
    def columns(self) -> tuple[ComparedColumn, ...]:
        return self.content.columns

    @property
    def drifted(self) -> tuple[str, ...]:
        """Names of the columns whose drift reached the pipeline's threshold."""
        return tuple(c.column for c in self.columns if c.drifted)

    @property
    def html(self) -> str:
        """A standalone HTML page (nothing loads from the network)."""
        return comparison_page(self.content)

    def _repr_html_(self) -> str:
        return comparison_fragment(self.content)

    def __str__(self) -> str:
        return comparison_text(self.content)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :attr:`html` to ``path``; returns the path."""
        target = Path(path)
        target.write_text(self.html, encoding="utf-8")
        return target


def compare(
    reference: Frame | Profile,
    current: Frame | Profile,
    *,
    model: str = "data",
    title: str = "Drift: reference vs current",
    stats: StatsSpec | None = None,
    policy: WatchPolicy | None = None,
    **options: Any,
) -> DriftReport:
    """Compare two data sets column by column, as the pipeline compares a window with its
    reference: the same drift statistics, the same data-quality signals and the same decision
    (a tested statistic outside its band, on at least ``policy.drift.min_support`` rows).

    Each side is a frame (read with :func:`profile_frame` and the keywords given; ``model``
    names it unless it has a model column) or a profile (one from :func:`reference_profile`).
    """
    decide = (policy or WatchPolicy()).drift
    ref = reference if isinstance(reference, Profile) else _profile(reference, model, options)
    cur = current if isinstance(current, Profile) else _profile(current, model, options)
    compared = compare_profiles(ref, cur, stats or StatsSpec())
    content = ComparisonContent(
        title=title,
        reference_rows=ref.rows,
        current_rows=cur.rows,
        columns=tuple(_verdict(one, decide) for one in compared),
    )
    return DriftReport(content=content, reference=ref, current=cur)


def _profile(frame: Frame, model: str, options: Mapping[str, Any]) -> Profile:
    """``model`` names a frame that has no model column of its own (nor one mapped)."""
    names = getattr(frame, "column_names", None) or list(getattr(frame, "columns", []))
    mapped = "model" in (options.get("columns") or {}).values()
    if "model" in names or mapped:
        return profile_frame(frame, **options)
    return profile_frame(frame, **{"model": model, **options})


def _verdict(compared: ColumnComparison, rule: DriftRule) -> ComparedColumn:
    """The pipeline's decision on one column: drift where a tested statistic leaves its band
    (:meth:`DriftRule.tested_flags`) or an untested one reaches an absolute level the
    policy sets (:meth:`DriftRule.flags`, none by default)."""
    shown: tuple[str, float, float] | None = None  # statistic, support, the bound it is read by
    flagged = False
    for one in compared.tested:
        band = one.band
        hit = bool(
            rule.tested_flags(
                np.array([one.value]),
                np.array([band.lower]),
                np.array([band.upper]),
                np.array([one.support]),
            )[0]
        )
        bound = band.lower if one.value < band.expected else band.upper
        if hit and not flagged:
            shown, flagged = (one.statistic, one.support, bound), True
        elif shown is None and one.statistic in ("ks", "share"):
            shown = (one.statistic, one.support, bound)
    for d in compared.drift:
        if d.statistic in rule.thresholds and not flagged:
            hit = bool(rule.flags(d.statistic, np.array([d.value]), np.array([d.support]))[0])
            if hit or shown is None:
                shown = (d.statistic, d.support, rule.thresholds[d.statistic])
                flagged = hit
    values = {d.statistic: d.value for d in compared.drift}
    values.update((t.statistic, t.value) for t in compared.tested if t.statistic not in values)
    decided_by = shown[0] if shown else ("share" if compared.categorical else "ks")
    return ComparedColumn(
        column=compared.column,
        family=compared.family.value,
        categorical=compared.categorical,
        statistics=tuple(values.items()),
        support=shown[1] if shown else math.nan,
        decided_by=decided_by,
        threshold=shown[2] if shown else math.nan,
        drifted=flagged,
        signals=tuple(kind.value for kind in compared.signals),
        reference_values=compared.reference_values,
        current_values=compared.current_values,
    )


def frame_records(
    frame: Frame,
    *,
    model: str | None,
    version: str | None,
    timestamp: str | datetime | None,
    features: Sequence[str] | None,
    outputs: Sequence[str],
    columns: Mapping[str, str] | None,
    now: datetime,
) -> pa.Table:
    """``frame`` as an Arrow table in the record layout ingest reads (``features.age``…)."""
    table = _as_table(frame)
    if table.num_rows == 0:
        raise ConfigError("the frame has no rows")
    fields = _fields(table.column_names, timestamp, features, outputs, columns)
    arrays = {field: table.column(name) for name, field in fields.items()}
    rows = table.num_rows
    for name, value in (("model", model), ("version", version)):
        if value is not None and name in arrays:
            raise ConfigError(f"{name}={value!r} given, but the frame has a {name} column too")
        if value is not None:
            arrays[name] = pa.chunked_array([pa.array([value] * rows, pa.string())])
    if "model" not in arrays:
        raise ConfigError("name the model: model='churn', or map a column to 'model'")
    if "timestamp" in arrays:
        _check_zoned(arrays["timestamp"], fields)
    else:
        stamp = ensure_utc(timestamp) if isinstance(timestamp, datetime) else now
        arrays["timestamp"] = pa.chunked_array(
            [pa.array([stamp] * rows, pa.timestamp("us", tz="UTC"))]
        )
    return pa.table(arrays)


def _as_table(frame: Frame) -> pa.Table:
    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return pa.Table.from_pandas(frame, preserve_index=False)
    to_arrow = getattr(frame, "to_arrow", None)
    if callable(to_arrow):
        table = to_arrow()
        if isinstance(table, pa.Table):
            return table
    raise ConfigError(
        f"cannot read a {type(frame).__name__} as a frame; pass a pandas DataFrame or a "
        "pyarrow Table"
    )


def _fields(
    names: Sequence[str],
    timestamp: str | datetime | None,
    features: Sequence[str] | None,
    outputs: Sequence[str],
    columns: Mapping[str, str] | None,
) -> dict[str, str]:
    """Frame column -> record field, from the explicit mapping first, then the conventions."""
    chosen: dict[str, str] = {}
    for name, field in (columns or {}).items():
        chosen[name] = _checked_field(field)
    if isinstance(timestamp, str):
        chosen.setdefault(timestamp, "timestamp")
    for name in outputs:
        chosen.setdefault(name, f"outputs.{name}")
    for name in features or ():
        chosen.setdefault(name, f"features.{name}")
    for name in names:
        if name in chosen:
            continue
        if name in (*RECORD_FIELDS, LABEL):
            chosen[name] = name
        elif features is None:
            chosen[name] = f"features.{name}"
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        raise ConfigError(f"no column {unknown[0]!r} in the frame; it has {list(names)}")
    taken = Counter(chosen.values())
    twice = sorted(field for field, count in taken.items() if count > 1)
    if twice:
        raise ConfigError(f"two columns are mapped to {twice[0]!r}; map one column per field")
    return chosen


def _checked_field(field: str) -> str:
    if field in (*RECORD_FIELDS, LABEL):
        return field
    group = next((g for g in GROUPS if field.startswith(g)), None)
    if group is None or field == group:
        raise ConfigError(
            f"cannot map a column to {field!r}; map to one of {[*RECORD_FIELDS, LABEL]} or to "
            "features.NAME, outputs.NAME or tags.NAME"
        )
    return field


def _check_zoned(array: pa.ChunkedArray, fields: Mapping[str, str]) -> None:
    kind = array.type
    if pa.types.is_timestamp(kind) and kind.tz is None:
        name = next(n for n, f in fields.items() if f == "timestamp")
        raise ConfigError(
            f"timestamp column {name!r} has no time zone; say which it is, e.g. "
            f"df[{name!r}] = df[{name!r}].dt.tz_localize('UTC')"
        )


def _refuse_quarantined(chunk: IngestChunk) -> None:
    if not chunk.quarantined:
        return
    reasons = Counter(row.reason for row in chunk.quarantined)
    first = chunk.quarantined[0]
    listed = "; ".join(f"{count} x {reason}" for reason, count in reasons.most_common(3))
    raise SchemaError(
        f"{len(chunk.quarantined)} of {chunk.rows_read} rows of the frame would be quarantined "
        f"({listed}); the first is row {first.position}"
    )
