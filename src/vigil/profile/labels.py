"""Late labels joined to their predictions by ``request_id``, and the tallies they add up to.

A label arrives hours or days after its prediction, in another file and another window, so a
window's performance cannot be known when the window is profiled. :class:`LabelJoin` keeps
what the join needs and nothing else: per prediction, its model, version, window, output values
and segment tags; per label, its value. Both are keyed by ``(model, request_id)`` (the first
one seen wins, so re-reading a file changes nothing) and kept for ``horizon`` after the newest
row seen, so state stays bounded; a model none of whose labels has been seen keeps only its
newest ``max_unlabelled`` predictions (most models never send labels, and their predictions
would be kept for nothing). The join is done when tallies are asked for
(:meth:`LabelJoin.tallies`), so predictions and labels can be fed in any order.

:meth:`LabelJoin.tallies` gives one tally per model, version, prediction window, output and
segment (``""`` for all rows): a :class:`~vigil.profile.performance.ClassifierTally` when an
output's values lie in ``[0, 1]`` and its labels are 0 or 1, otherwise a
:class:`~vigil.profile.performance.RegressorTally`. Tallies are monoids, so the same numbers
come from a Spark job that joins and reduces partitions.

Segments: ``segments`` names tags whose values split the tallies (``region=eu``), each tag
keeping its ``max_segment_values`` most frequent values; the rest count as ``(other)``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from vigil.core import ConfigError, EventKind, SerializationError, ValueKind, Window
from vigil.ingest import RecordBatch
from vigil.profile.performance import DEFAULT_BINS, ClassifierTally, RegressorTally

if TYPE_CHECKING:
    import pandas as pd

Tally = ClassifierTally | RegressorTally
OTHER_SEGMENT = "(other)"
_KEYS = ["model", "request_id"]


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class TallyKey:
    """Where a tally belongs: the prediction's model, version and window, the output, and the
    segment (``""`` for every row, else ``"tag=value"``)."""

    model: str
    version: str
    window: Window
    output: str
    segment: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelJoin:
    """Predictions and labels waiting to meet (see the module docstring). A value: feeding
    returns a new join."""

    predictions: pd.DataFrame
    labels: pd.DataFrame
    window: timedelta = timedelta(hours=1)
    horizon: timedelta = timedelta(days=35)
    segments: tuple[str, ...] = ()
    max_unlabelled: int = 100_000

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.horizon < self.window:
            raise ConfigError(
                f"label join needs a positive window and horizon >= window, got {self.window} "
                f"and {self.horizon}"
            )

    @classmethod
    def empty(
        cls,
        *,
        window: timedelta = timedelta(hours=1),
        horizon: timedelta = timedelta(days=35),
        segments: Sequence[str] = (),
        max_unlabelled: int = 100_000,
    ) -> LabelJoin:
        import pandas as pd  # on first use: only a label join needs it (0.2 CPU s)

        return cls(
            max_unlabelled=max_unlabelled,
            predictions=pd.DataFrame(
                {
                    "model": pd.Series(dtype=object),
                    "request_id": pd.Series(dtype=object),
                    "version": pd.Series(dtype=object),
                    "at_us": pd.Series(dtype=np.int64),
                }
            ),
            labels=pd.DataFrame(
                {
                    "model": pd.Series(dtype=object),
                    "request_id": pd.Series(dtype=object),
                    "label": pd.Series(dtype=np.float64),
                    "at_us": pd.Series(dtype=np.int64),
                }
            ),
            window=window,
            horizon=horizon,
            segments=tuple(segments),
        )

    def feed(self, batch: RecordBatch) -> LabelJoin:
        """The join that has also seen ``batch``'s predictions (rows with outputs) and labels."""
        import pandas as pd  # on first use: only a label join needs it (0.2 CPU s)

        if batch.num_rows == 0:
            return self
        meta = batch.meta
        ids = meta.column("request_id").to_pandas()
        events = meta.column("event").to_pandas()
        at_us = batch.timestamps_us()
        has_id = ids.notna().to_numpy()
        label_values = meta.column("label").to_pandas().to_numpy(dtype=np.float64, na_value=np.nan)
        is_label = has_id & (events == EventKind.LABEL.value).to_numpy() & ~np.isnan(label_values)
        outputs = {
            name: np.where(column.kinds == ValueKind.NUMBER, column.numbers, np.nan)
            for name, column in batch.outputs.items()
        }
        with_output = np.zeros(batch.num_rows, dtype=bool)
        for values in outputs.values():
            with_output |= np.isfinite(values)
        is_prediction = has_id & with_output & (events != EventKind.LABEL.value).to_numpy()
        predictions = self.predictions
        if is_prediction.any():
            frame = pd.DataFrame(
                {
                    "model": meta.column("model").to_pandas()[is_prediction].to_numpy(),
                    "request_id": ids[is_prediction].to_numpy(),
                    "version": meta.column("version").to_pandas()[is_prediction].to_numpy(),
                    "at_us": at_us[is_prediction],
                }
            )
            for name, values in outputs.items():
                frame[f"out:{name}"] = values[is_prediction]
            for tag in self.segments:
                found = batch.tags.get(tag)
                frame[f"tag:{tag}"] = (
                    found.to_pandas()[is_prediction].to_numpy() if found is not None else None
                )
            predictions = _append(predictions, frame)
        labels = self.labels
        if is_label.any():
            frame = pd.DataFrame(
                {
                    "model": meta.column("model").to_pandas()[is_label].to_numpy(),
                    "request_id": ids[is_label].to_numpy(),
                    "label": label_values[is_label],
                    "at_us": at_us[is_label],
                }
            )
            labels = _append(labels, frame)
        newest = int(max(at_us.max(), _newest(predictions), _newest(labels)))
        cut = newest - int(self.horizon.total_seconds() * 1_000_000)
        predictions = predictions[predictions["at_us"] >= cut]
        unlabelled = ~predictions["model"].isin(labels["model"].unique())
        if int(unlabelled.sum()) > self.max_unlabelled:
            waiting = predictions[unlabelled].groupby("model", sort=False).tail(self.max_unlabelled)
            predictions = pd.concat([predictions[~unlabelled], waiting])
        return LabelJoin(
            predictions=predictions.reset_index(drop=True),
            labels=labels[labels["at_us"] >= cut].reset_index(drop=True),
            window=self.window,
            horizon=self.horizon,
            segments=self.segments,
            max_unlabelled=self.max_unlabelled,
        )

    def tallies(
        self, *, bins: int = DEFAULT_BINS, max_segment_values: int = 20
    ) -> dict[TallyKey, Tally]:
        """Every prediction window's tallies (see the module docstring)."""
        if self.predictions.empty:
            return {}
        joined = self.predictions.merge(
            self.labels[["model", "request_id", "label"]], on=_KEYS, how="left"
        )
        step = int(self.window.total_seconds() * 1_000_000)
        joined["window_us"] = (joined["at_us"].to_numpy() // step) * step
        outputs = [c.removeprefix("out:") for c in joined.columns if c.startswith("out:")]
        result: dict[TallyKey, Tally] = {}
        groupings: list[tuple[str, str | None]] = [("", None)]
        for tag in self.segments:
            name = f"tag:{tag}"
            if name in joined.columns:
                joined[name] = _capped(joined[name], max_segment_values)
                groupings.append((tag, name))
        for model, rows in joined.groupby("model", sort=True):
            for output in outputs:
                values = rows[f"out:{output}"].to_numpy(dtype=np.float64)
                present = np.isfinite(values)
                if not present.any():
                    continue
                classifier = _is_classifier(values[present], rows["label"].to_numpy())
                for tag, column in groupings:
                    keys = ["version", "window_us"] + ([column] if column else [])
                    for group, part in rows[present].groupby(keys, sort=True):
                        version, window_us = str(group[0]), int(group[1])
                        segment = f"{tag}={group[2]}" if column else ""
                        key = TallyKey(
                            model=str(model),
                            version=version,
                            window=Window(start=_utc(window_us), end=_utc(window_us) + self.window),
                            output=output,
                            segment=segment,
                        )
                        result[key] = _tally(part, output, classifier=classifier, bins=bins)
        return dict(sorted(result.items()))

    def to_bytes(self) -> bytes:
        sink = io.BytesIO()
        for frame in (self.predictions, self.labels):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            buffer = io.BytesIO()
            with pa.ipc.new_stream(buffer, table.schema) as writer:
                writer.write_table(table)
            data = buffer.getvalue()
            sink.write(len(data).to_bytes(8, "little"))
            sink.write(data)
        return sink.getvalue()

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        window: timedelta = timedelta(hours=1),
        horizon: timedelta = timedelta(days=35),
        segments: Sequence[str] = (),
        max_unlabelled: int = 100_000,
    ) -> LabelJoin:
        frames = []
        offset = 0
        try:
            for _ in range(2):
                size = int.from_bytes(data[offset : offset + 8], "little")
                chunk = data[offset + 8 : offset + 8 + size]
                frames.append(pa.ipc.open_stream(chunk).read_all().to_pandas())
                offset += 8 + size
        except (pa.ArrowInvalid, ValueError) as err:
            raise SerializationError(f"corrupt label join bytes: {err}") from err
        return cls(
            predictions=frames[0],
            labels=frames[1],
            window=window,
            horizon=horizon,
            segments=tuple(segments),
            max_unlabelled=max_unlabelled,
        )

    def models(self) -> list[str]:
        return sorted(set(self.predictions["model"]) | set(self.labels["model"]))

    def of_model(self, model: str) -> LabelJoin:
        """The part of the join that belongs to ``model``."""
        return LabelJoin(
            predictions=self.predictions[self.predictions["model"] == model].reset_index(drop=True),
            labels=self.labels[self.labels["model"] == model].reset_index(drop=True),
            window=self.window,
            horizon=self.horizon,
            segments=self.segments,
            max_unlabelled=self.max_unlabelled,
        )

    def with_model(self, part: LabelJoin) -> LabelJoin:
        """This join with ``part``'s predictions and labels added (see :meth:`feed`)."""
        return LabelJoin(
            predictions=_append(self.predictions, part.predictions),
            labels=_append(self.labels, part.labels),
            window=self.window,
            horizon=self.horizon,
            segments=self.segments,
            max_unlabelled=self.max_unlabelled,
        )


def _append(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``new`` rows added after ``old``'s, the first row per key kept."""
    import pandas as pd

    combined = new if old.empty else pd.concat([old, new], ignore_index=True)
    return combined.drop_duplicates(subset=_KEYS, keep="first")


def _newest(frame: pd.DataFrame) -> int:
    return int(frame["at_us"].max()) if not frame.empty else np.iinfo(np.int64).min


def _capped(values: pd.Series, keep: int) -> pd.Series:
    """The ``keep`` most frequent values (ties by name), the rest as ``(other)``."""
    text = values.astype(object).where(values.notna(), "(none)").astype(str)
    counts = text.value_counts()
    ranked = sorted(counts.index, key=lambda v: (-counts[v], v))[:keep]
    return text.where(text.isin(ranked), OTHER_SEGMENT)


def _is_classifier(values: np.ndarray, labels: np.ndarray) -> bool:
    known = labels[~np.isnan(labels)]
    in_unit = bool(np.all((values >= 0.0) & (values <= 1.0)))
    binary = known.size == 0 or bool(np.all((known == 0.0) | (known == 1.0)))
    return in_unit and binary


def _tally(part: pd.DataFrame, output: str, *, classifier: bool, bins: int) -> Tally:
    values = part[f"out:{output}"].to_numpy(dtype=np.float64)
    labels = part["label"].to_numpy(dtype=np.float64)
    labelled = ~np.isnan(labels)
    if classifier:
        return ClassifierTally.of_predictions(values, bins=bins).merge(
            ClassifierTally.of_labels(values[labelled], labels[labelled], bins=bins)
        )
    return RegressorTally.of_predictions(values).merge(
        RegressorTally.of_labels(values[labelled], labels[labelled])
    )


def _utc(micros: int) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
