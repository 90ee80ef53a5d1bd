"""A month of labelled inference logs with known changes: what ``vigil bench quality`` judges.

One classifier (``quality``, version ``v1``) serves ``rows_per_day`` requests a day with a daily
rhythm; each request carries 20 features (normal, heavy-tailed, integer, uniform, categorical
with 3 to 2,000 values, a flag), a region tag and a calibrated score ``s = P(y = 1 | x)``. Its
label arrives later (log-normal delay, median ``label_delay_hours``) for ``label_share`` of the
requests; labels that would arrive after the month are never seen.

The changes (:func:`month_changes`), each on its own column so every other column is a control:

- ``mean_shift``: ``num_mean`` moves up by 0.5 standard deviation and stays there;
- ``variance``: ``num_spread``'s variance doubles and stays so;
- ``new_category``: ``cat_device`` gets a value never seen before, on 10% of requests;
- ``gradual``: ``num_slow`` drifts linearly to 1 standard deviation over ten days, then stays;
- ``constant``: ``num_const`` is one value for every request, for a day;
- ``all_null``: ``num_null`` is null in every request, for a day;
- ``concept``: for three days the labels follow another rule (accuracy 0.76 -> 0.62) while
  every feature and the score keep their distributions: only realised performance can see it;
- with ``segment_shift``, one more feature, ``num_local`` (drawn from its own random stream,
  so every other column is the same as without it), and ``segment_shift``: ``num_local`` moves
  up by 1 standard deviation in region ``apac`` only (a fifth of the requests) from day 11,
  05:00 on; the whole model sees +0.2 sd. The change's column is ``num_local@region=apac``.

The score uses ``num_a``, ``num_b``, ``num_c`` and ``flag_returning``, none of which changes, so
the score's distribution is stable and label-free estimation is judged on sampling alone.
Everything is vectorized numpy and deterministic given the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from vigil.core import ConfigError

FloatArray = npt.NDArray[np.float64]
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MODEL = "quality"
VERSION = "v1"
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
REGIONS = np.array(["eu", "us", "apac"])
COUNTRIES = np.array(["US", "DE", "FR", "GB", "IN", "BR", "JP", "CA", "ES", "IT", "MX", "NL"])
DEVICES = np.array(["ios", "android", "web", "tablet"])
PLANS = np.array(["free", "basic", "pro"])
NEW_DEVICE = "vr-headset"
CONCEPT_NOISE = 0.54
"""Share of labels drawn by a fair coin during the concept shift: 0.76 (1 - π) + 0.5 π = 0.62."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthChange:
    """One change put into the month: which column, what, from when to when."""

    kind: str
    column: str
    start: datetime
    end: datetime
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityMonth:
    """What :func:`simulate_quality_month` wrote and put in."""

    root: Path
    start: datetime
    end: datetime
    rows_per_day: int
    predictions: int
    labels: int
    features: tuple[str, ...]
    changes: tuple[MonthChange, ...] = field(default_factory=tuple)

    @property
    def changed_columns(self) -> frozenset[str]:
        return frozenset(change.column for change in self.changes)


SEGMENT_FEATURE = "num_local"
SEGMENT_REGION = "apac"
SEGMENT_STREAM = 20
"""``num_local`` is drawn from ``default_rng([seed, SEGMENT_STREAM])``."""


def month_changes(
    start: datetime = START, *, segment_shift: bool = False
) -> tuple[MonthChange, ...]:
    """The changes of :mod:`this module <vigil.lab.simulation.quality_month>`'s month."""

    def day(n: float) -> datetime:
        return start + n * DAY

    segment = MonthChange(
        kind="segment_shift",
        column=f"{SEGMENT_FEATURE}@region={SEGMENT_REGION}",
        start=day(11) + 5 * HOUR,
        end=day(30),
        detail=f"+1 sd in region {SEGMENT_REGION!r} only (20% of requests)",
    )
    return (*_changes(day), *((segment,) if segment_shift else ()))


def _changes(day: Callable[[float], datetime]) -> tuple[MonthChange, ...]:
    return (
        MonthChange(
            kind="gradual",
            column="num_slow",
            start=day(8),
            end=day(30),
            detail="drifts linearly to +1 sd over days 8-18, then stays",
        ),
        MonthChange(
            kind="mean_shift",
            column="num_mean",
            start=day(10) + 9 * HOUR,
            end=day(30),
            detail="+0.5 sd",
        ),
        MonthChange(
            kind="variance",
            column="num_spread",
            start=day(12) + 15 * HOUR,
            end=day(30),
            detail="variance x2",
        ),
        MonthChange(
            kind="new_category",
            column="cat_device",
            start=day(14) + 3 * HOUR,
            end=day(30),
            detail=f"{NEW_DEVICE!r} on 10% of requests",
        ),
        MonthChange(
            kind="constant",
            column="num_const",
            start=day(16) + 11 * HOUR,
            end=day(17) + 11 * HOUR,
            detail="one value for every request",
        ),
        MonthChange(
            kind="all_null",
            column="num_null",
            start=day(18) + 20 * HOUR,
            end=day(19) + 20 * HOUR,
            detail="null in every request",
        ),
        MonthChange(
            kind="concept",
            column="score",
            start=day(21),
            end=day(24),
            detail="labels follow another rule: accuracy 0.76 -> 0.62",
        ),
    )


FEATURES = (
    "num_a",
    "num_b",
    "num_c",
    "num_mean",
    "num_spread",
    "num_slow",
    "num_const",
    "num_null",
    "num_big",
    "num_heavy",
    "num_skew",
    "num_count",
    "num_small_count",
    "num_uniform",
    "num_rate",
    "cat_country",
    "cat_device",
    "cat_plan",
    "cat_merchant",
    "flag_returning",
)


def simulate_quality_month(
    root: Path,
    *,
    rows_per_day: int = 6500,
    days: int = 30,
    seed: int = 0,
    start: datetime = START,
    label_share: float = 0.9,
    label_delay_hours: float = 6.0,
    segment_shift: bool = False,
) -> QualityMonth:
    """Write the month as Parquet under ``root`` (a folder per day, predictions and labels in
    separate files) and return what was put in; ``segment_shift`` adds ``num_local`` and its
    change confined to one region (see the module docstring)."""
    if rows_per_day < 24 or days < 8:
        raise ConfigError(f"need rows_per_day >= 24 and days >= 8, got {rows_per_day}, {days}")
    if not 0.0 < label_share <= 1.0:
        raise ConfigError(f"label_share must be in (0, 1], got {label_share!r}")
    rng = np.random.default_rng(seed)
    local = np.random.default_rng([seed, SEGMENT_STREAM]) if segment_shift else None
    changes = tuple(
        c for c in month_changes(start, segment_shift=segment_shift) if c.start < start + days * DAY
    )
    end = start + days * DAY
    predictions = labels = 0
    pending: list[pa.Table] = []
    for day in range(days):
        day_start = start + day * DAY
        table, label_table = _day(day_start, rows_per_day, changes, rng, label_share, local)
        delays = rng.lognormal(np.log(label_delay_hours * 3600.0), 1.0, label_table.num_rows)
        arrival = _micros(label_table["timestamp"]) + (delays * 1e6).astype(np.int64)
        label_table = label_table.set_column(
            label_table.schema.get_field_index("timestamp"),
            "timestamp",
            pa.array(arrival, type=pa.timestamp("us", tz="UTC")),
        )
        pending.append(label_table)
        folder = root / f"date={day_start:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "predictions.parquet")
        predictions += table.num_rows
        due = _labels_before(pending, day_start + DAY)
        if due.num_rows:
            pq.write_table(due, folder / "labels.parquet")
            labels += due.num_rows
        pending = [_labels_from(t, day_start + DAY) for t in pending]
        pending = [t for t in pending if t.num_rows]
    return QualityMonth(
        root=root,
        start=start,
        end=end,
        rows_per_day=rows_per_day,
        predictions=predictions,
        labels=labels,
        features=(*FEATURES, SEGMENT_FEATURE) if segment_shift else FEATURES,
        changes=changes,
    )


def _micros(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    return np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)


def _labels_before(tables: list[pa.Table], moment: datetime) -> pa.Table:
    cut = int(moment.timestamp() * 1_000_000)
    parts = [t.filter(pa.array(_micros(t["timestamp"]) < cut)) for t in tables]
    merged = pa.concat_tables(parts)
    order = np.argsort(_micros(merged["timestamp"]), kind="stable")
    return merged.take(pa.array(order))


def _labels_from(table: pa.Table, moment: datetime) -> pa.Table:
    cut = int(moment.timestamp() * 1_000_000)
    return table.filter(pa.array(_micros(table["timestamp"]) >= cut))


def _day(
    day_start: datetime,
    rows_per_day: int,
    changes: tuple[MonthChange, ...],
    rng: np.random.Generator,
    label_share: float,
    local: np.random.Generator | None = None,
) -> tuple[pa.Table, pa.Table]:
    hours = np.arange(24)
    diurnal = 1.0 + 0.6 * np.sin(2 * np.pi * (hours - 9) / 24)
    counts = rng.poisson(rows_per_day / 24 * diurnal)
    n = int(counts.sum())
    offsets = np.concatenate(
        [
            h * 3_600_000_000 + np.sort(rng.integers(0, 3_600_000_000, c))
            for h, c in enumerate(counts)
        ]
    ).astype(np.int64)
    micros = int(day_start.timestamp() * 1_000_000) + offsets
    columns = _features(n, rng)
    score = _score(columns)
    truth = score.copy()
    inside_of = {}
    for change in changes:
        begin, stop = change.start.timestamp() * 1e6, change.end.timestamp() * 1e6
        inside_of[change.kind] = inside = (micros >= begin) & (micros < stop)
        if inside.any() and change.kind != "segment_shift":
            _apply(change, inside, columns, truth, micros, rng)
    label = (rng.random(n) < truth).astype(np.float64)
    ids = np.array([f"q-{m}-{i}" for i, m in enumerate(micros)])
    stamps = pa.array(micros, type=pa.timestamp("us", tz="UTC"))
    regions = rng.choice(REGIONS, size=n, p=[0.5, 0.3, 0.2])
    if local is not None:  # its own stream: the other columns are as without it
        shifted = inside_of.get("segment_shift", np.zeros(n, dtype=bool))
        columns[SEGMENT_FEATURE] = local.normal(30.0, 6.0, n) + np.where(
            shifted & (regions == SEGMENT_REGION), 6.0, 0.0
        )
    table: dict[str, pa.Array] = {
        "model": pa.array(np.full(n, MODEL)),
        "version": pa.array(np.full(n, VERSION)),
        "timestamp": stamps,
        "request_id": pa.array(ids),
        "event": pa.array(np.full(n, "prediction")),
        "outputs.score": pa.array(score),
        "tags.region": pa.array(regions),
    }
    for name in (*FEATURES, *((SEGMENT_FEATURE,) if local is not None else ())):
        values = columns[name]
        table[f"features.{name}"] = pa.array(values.tolist() if values.dtype == object else values)
    labelled = rng.random(n) < label_share
    labels = pa.table(
        {
            "model": pa.array(np.full(int(labelled.sum()), MODEL)),
            "version": pa.array(np.full(int(labelled.sum()), VERSION)),
            "timestamp": stamps.filter(pa.array(labelled)),
            "request_id": pa.array(ids[labelled]),
            "event": pa.array(np.full(int(labelled.sum()), "label")),
            "label": pa.array(label[labelled]),
        }
    )
    return pa.table(table), labels


def _features(n: int, rng: np.random.Generator) -> dict[str, npt.NDArray[np.generic]]:
    merchants = 1.0 / np.arange(1, 2001)
    return {
        "num_a": rng.normal(0.0, 1.0, n),
        "num_b": rng.normal(10.0, 3.0, n),
        "num_c": rng.normal(-5.0, 2.0, n),
        "num_mean": rng.normal(50.0, 10.0, n),
        "num_spread": rng.normal(0.0, 1.0, n),
        "num_slow": rng.normal(100.0, 15.0, n),
        "num_const": rng.normal(20.0, 4.0, n).round(2),
        "num_null": rng.normal(5.0, 1.0, n),
        "num_big": rng.normal(1000.0, 50.0, n),
        "num_heavy": rng.lognormal(3.0, 1.0, n),
        "num_skew": rng.gamma(2.0, 200.0, n).round(),
        "num_count": rng.poisson(12.0, n).astype(np.float64),
        "num_small_count": rng.poisson(1.5, n).astype(np.float64),
        "num_uniform": rng.uniform(0.0, 1.0, n),
        "num_rate": rng.beta(2.0, 8.0, n),
        "cat_country": rng.choice(COUNTRIES, size=n, p=_zipf(len(COUNTRIES))),
        "cat_device": rng.choice(DEVICES, size=n, p=[0.4, 0.35, 0.2, 0.05]),
        "cat_plan": rng.choice(PLANS, size=n, p=[0.6, 0.3, 0.1]),
        "cat_merchant": np.array(
            [f"m{i}" for i in rng.choice(2000, size=n, p=merchants / merchants.sum())]
        ),
        "flag_returning": rng.random(n) < 0.7,
    }


def _score(columns: dict[str, npt.NDArray[np.generic]]) -> FloatArray:
    """A calibrated score: the true ``P(y = 1 | x)``; accuracy at 0.5 is about 0.76."""
    logit = 0.85 * (
        1.6 * np.asarray(columns["num_a"], dtype=np.float64)
        + 0.35 * (np.asarray(columns["num_b"], dtype=np.float64) - 10.0)
        - 0.4 * (np.asarray(columns["num_c"], dtype=np.float64) + 5.0)
        + 0.8 * np.asarray(columns["flag_returning"], dtype=np.float64)
        - 0.55
    )
    score: FloatArray = 1.0 / (1.0 + np.exp(-logit))
    return score


def _apply(
    change: MonthChange,
    inside: npt.NDArray[np.bool_],
    columns: dict[str, npt.NDArray[np.generic]],
    truth: FloatArray,
    micros: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> None:
    name = change.column
    if change.kind == "mean_shift":
        columns[name] = np.where(inside, np.asarray(columns[name]) + 5.0, columns[name])
    elif change.kind == "variance":
        columns[name] = np.where(inside, np.asarray(columns[name]) * np.sqrt(2.0), columns[name])
    elif change.kind == "gradual":
        elapsed = (micros - change.start.timestamp() * 1e6) / (10 * DAY).total_seconds() / 1e6
        progress = np.clip(elapsed, 0.0, 1.0)
        columns[name] = np.where(inside, np.asarray(columns[name]) + 15.0 * progress, columns[name])
    elif change.kind == "new_category":
        devices = np.asarray(columns[name]).astype(object)
        devices[inside & (rng.random(inside.size) < 0.1)] = NEW_DEVICE
        columns[name] = devices
    elif change.kind == "constant":
        columns[name] = np.where(inside, 20.0, columns[name])
    elif change.kind == "all_null":
        values = np.asarray(columns[name]).astype(object)
        values[inside] = None
        columns[name] = values
    elif change.kind == "concept":
        truth[inside] = (1.0 - CONCEPT_NOISE) * truth[inside] + CONCEPT_NOISE * 0.5


def _zipf(size: int) -> FloatArray:
    weights = 1.0 / np.arange(1, size + 1)
    shares: FloatArray = weights / weights.sum()
    return shares
