"""Labeled series for measuring detectors, and the two on-disk forms they come in.

- **NAB layout**: ``data/<family>/<file>.csv`` with ``timestamp,value`` and
  ``labels/combined_windows.json`` mapping ``"<family>/<file>.csv"`` to ``[start, end]`` windows
  (ends included).
- **Labeled CSV folder**: any ``*.csv`` below a folder with ``timestamp,value,label[,n][,se]``
  columns (names case-insensitive, label 0/1 per row); other files (e.g. metadata JSON) are
  ignored. The optional ``n`` is the sample size behind each value (the rows a null rate or a
  mean was computed from); it becomes the series' ``support``, which detectors use to expect a
  noisier value from fewer rows. The optional ``se`` is the value's standard error from those
  rows (``Series.stderr``: a mean's ``s/sqrt(n)``, a rate's binomial one). Empty is unknown.

Real files are messy, and a benchmark must not hide how it cleaned them: rows that repeat a
timestamp are merged (mean value weighted by ``n`` when it is known, label = any, ``n`` summed,
``se`` that of the weighted mean of independent estimates),
unreadable values become NaN (a missing step),
and both are counted on the :class:`LabeledSeries` so the bench can report them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from vigil.core import ConfigError, SchemaError, SeriesKey
from vigil.detect.base import BoolArray
from vigil.stats.series import Series

NAB_LABELS = Path("labels") / "combined_windows.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class LabeledSeries:
    """One series with point-wise labels and its anomaly windows (inclusive index ranges).

    ``windows`` are the events scoring counts: NAB's windows, or runs of consecutive labeled
    rows for point-labeled data. ``window_kinds`` names each window's incident kind when the
    data says (the simulator does; the on-disk forms do not), else it is empty.
    """

    name: str
    family: str
    series: Series
    labels: BoolArray
    windows: tuple[tuple[int, int], ...]
    window_kinds: tuple[str, ...] = ()
    merged_duplicates: int = 0
    missing_values: int = 0

    def __post_init__(self) -> None:
        n = len(self.series)
        if self.window_kinds and len(self.window_kinds) != len(self.windows):
            raise ConfigError(
                f"{self.name}: {len(self.window_kinds)} window kinds "
                f"for {len(self.windows)} windows"
            )
        if self.labels.shape != (n,):
            raise ConfigError(f"{self.name}: labels have shape {self.labels.shape}, need ({n},)")
        for start, end in self.windows:
            if not 0 <= start <= end < n:
                raise ConfigError(f"{self.name}: window ({start}, {end}) outside 0..{n - 1}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LabeledDataset:
    """A named collection of labeled series, in a stable (sorted by name) order."""

    name: str
    form: str
    series: tuple[LabeledSeries, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.form not in {"nab", "csv", "simulated"}:
            raise ConfigError(f"dataset form must be nab, csv or simulated, got {self.form!r}")


def runs(labels: BoolArray) -> tuple[tuple[int, int], ...]:
    """Runs of consecutive ``True`` as inclusive ``(start, end)`` index pairs."""
    padded = np.concatenate([[False], labels.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return tuple((int(s), int(e) - 1) for s, e in zip(edges[::2], edges[1::2], strict=True))


def load_dataset(path: Path) -> LabeledDataset:
    """Load ``path`` in whichever form it is: NAB layout if it has the labels file, else CSVs."""
    if not path.is_dir():
        raise ConfigError(f"dataset path {str(path)!r} is not a folder")
    if (path / NAB_LABELS).is_file():
        return load_nab(path)
    return load_labeled_csvs(path)


def load_nab(path: Path) -> LabeledDataset:
    """Load the NAB layout: every series listed in ``labels/combined_windows.json``."""
    try:
        windows_by_file: dict[str, list[list[str]]] = json.loads((path / NAB_LABELS).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise SchemaError(f"cannot read NAB labels {path / NAB_LABELS}: {err}") from err
    loaded = []
    for relative in sorted(windows_by_file):
        file = path / "data" / relative
        if not file.is_file():
            raise SchemaError(f"NAB labels list {relative!r} but {file} does not exist")
        frame = _read_frame(file, need_label=False)
        frame["label"] = False
        stamps = frame["timestamp"]
        for start, end in windows_by_file[relative]:
            inside = (stamps >= _to_utc(start)) & (stamps <= _to_utc(end))
            frame.loc[inside, "label"] = True
        family = relative.split("/")[0] if "/" in relative else ""
        loaded.append(_labeled(relative, family, frame, nab_windows=windows_by_file[relative]))
    return LabeledDataset(name=path.name, form="nab", series=tuple(loaded))


def load_labeled_csvs(path: Path) -> LabeledDataset:
    """Load every ``*.csv`` below ``path`` (``timestamp,value,label``)."""
    files = sorted(path.rglob("*.csv"))
    if not files:
        raise ConfigError(
            f"{str(path)!r} has neither {NAB_LABELS} (NAB layout) nor any *.csv (labeled CSVs)"
        )
    loaded = []
    for file in files:
        relative = file.relative_to(path).as_posix()
        family = file.parent.relative_to(path).as_posix()
        loaded.append(_labeled(relative, family, _read_frame(file, need_label=True), None))
    return LabeledDataset(name=path.name, form="csv", series=tuple(loaded))


def write_labeled_csvs(series: Sequence[LabeledSeries], out: Path) -> list[Path]:
    """Write each series as ``<out>/<name>`` with ``timestamp,value,label`` (ISO UTC stamps),
    and ``n`` / ``se`` when the series carries its sample size (``Series.support``) / standard
    error (``Series.stderr``)."""
    written = []
    for one in series:
        file = out / one.name
        file.parent.mkdir(parents=True, exist_ok=True)
        stamps = np.datetime_as_string(one.series.timestamps.astype("datetime64[s]"), unit="s")
        frame = pd.DataFrame(
            {
                "timestamp": np.char.add(stamps.astype(str), "Z"),
                "value": one.series.values,
                "label": one.labels.astype(np.int8),
            }
        )
        if one.series.support is not None:
            frame["n"] = one.series.support
        if one.series.stderr is not None:
            frame["se"] = one.series.stderr
        frame.to_csv(file, index=False, float_format="%.6g")
        written.append(file)
    return written


def _to_utc(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _read_frame(file: Path, *, need_label: bool) -> pd.DataFrame:
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise SchemaError(f"cannot read {file}: {err}") from err
    columns = {c.strip().lower(): c for c in raw.columns}
    needed = ["timestamp", "value"] + (["label"] if need_label else [])
    missing = [c for c in needed if c not in columns]
    if missing:
        raise SchemaError(f"{file}: missing column(s) {missing}; have {list(raw.columns)}")
    stamps = pd.to_datetime(raw[columns["timestamp"]], utc=True, errors="coerce", format="mixed")
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise SchemaError(f"{file}: unreadable timestamp {raw[columns['timestamp']].iloc[row]!r}")
    frame = pd.DataFrame(
        {"timestamp": stamps, "value": pd.to_numeric(raw[columns["value"]], errors="coerce")}
    )
    if need_label:
        labels = pd.to_numeric(raw[columns["label"]], errors="coerce")
        bad = ~labels.isin([0, 1])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SchemaError(
                f"{file}: label must be 0 or 1, got {raw[columns['label']].iloc[row]!r}"
            )
        frame["label"] = labels.astype(bool)
    if "n" in columns:
        text = raw[columns["n"]].str.strip()
        n = pd.to_numeric(text, errors="coerce")
        bad = (n.isna() & (text != "")) | (n < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SchemaError(
                f"{file}: n must be a count >= 0 or empty, got {raw[columns['n']].iloc[row]!r}"
            )
        frame["n"] = n.astype(np.float64)
    if "se" in columns:
        text = raw[columns["se"]].str.strip()
        se = pd.to_numeric(text, errors="coerce")
        bad = (se.isna() & (text != "") & (text.str.lower() != "nan")) | (se < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SchemaError(
                f"{file}: se must be a standard error >= 0 or empty, "
                f"got {raw[columns['se']].iloc[row]!r}"
            )
        frame["se"] = se.astype(np.float64)
    return frame


def _labeled(
    name: str, family: str, frame: pd.DataFrame, nab_windows: list[list[str]] | None
) -> LabeledSeries:
    rows = len(frame)
    merged = _merge_repeats(frame)
    stamps = merged["timestamp"].dt.tz_convert(None).to_numpy().astype("datetime64[s]")
    values = merged["value"].to_numpy(dtype=np.float64)
    support = merged["n"].to_numpy(dtype=np.float64) if "n" in merged else None
    stderr = merged["se"].to_numpy(dtype=np.float64) if "se" in merged else None
    labels = merged["label"].to_numpy(dtype=bool)
    if nab_windows is None:
        windows = runs(labels)
    else:
        windows = tuple(
            _window_indices(merged["timestamp"], _to_utc(start), _to_utc(end), name)
            for start, end in nab_windows
        )
    key = SeriesKey(model="bench", version="", family=family, column=name, statistic="value")
    return LabeledSeries(
        name=name,
        family=family,
        series=Series(key=key, timestamps=stamps, values=values, support=support, stderr=stderr),
        labels=labels,
        windows=windows,
        merged_duplicates=rows - len(merged),
        missing_values=int(np.isnan(values).sum()),
    )


def _merge_repeats(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per timestamp: mean value (weighted by ``n`` where every repeat has it), any
    label, ``n`` summed (unknown if any repeat's is), ``se`` of that weighted mean of
    independent estimates, ``sqrt(Σ (w se)²) / Σ w`` (unknown if any repeat's is)."""
    grouped = frame.groupby("timestamp", sort=True)
    merged = grouped.agg(value=("value", "mean"), label=("label", "max"))
    if "n" in frame:
        weighted = frame.assign(
            weight=frame["n"].where(frame["value"].notna()),
            product=frame["value"] * frame["n"],
        ).groupby("timestamp", sort=True)
        n = weighted["n"].sum(min_count=1).where(grouped["n"].count() == grouped.size())
        total = weighted["weight"].sum(min_count=1)
        by_n = weighted["product"].sum(min_count=1) / total
        merged["value"] = by_n.where(n.notna() & (total > 0), merged["value"])
        merged["n"] = n
    if "se" in frame:
        weight = frame["n"] if "n" in frame else pd.Series(1.0, index=frame.index)
        weight = weight.where(weight.notna() & (weight > 0), 1.0)
        if "n" in frame:  # the value is weighted by n only where every repeat has one
            complete = frame.groupby("timestamp")["n"].transform("count") == frame.groupby(
                "timestamp"
            )["n"].transform("size")
            weight = weight.where(complete, 1.0)
        parts = frame.assign(w=weight, wse2=(weight * frame["se"]) ** 2).groupby(
            "timestamp", sort=True
        )
        known = parts["se"].count() == parts.size()
        merged["se"] = (np.sqrt(parts["wse2"].sum()) / parts["w"].sum()).where(known)
    return merged.reset_index()


def _window_indices(
    stamps: pd.Series, start: pd.Timestamp, end: pd.Timestamp, name: str
) -> tuple[int, int]:
    inside = np.flatnonzero(((stamps >= start) & (stamps <= end)).to_numpy())
    if inside.size == 0:
        raise SchemaError(f"{name}: label window [{start}, {end}] holds no row")
    return int(inside[0]), int(inside[-1])
