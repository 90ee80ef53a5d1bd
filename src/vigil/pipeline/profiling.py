"""Files -> profiles in the store, and finer profiles -> coarser ones (rollup).

Re-running never double-counts, because what is written *replaces* what it stands for:

- A window's profile is built from every input row of that window in this run, then replaces
  the stored profile of the same ``(model, version, window)``; it is never merged into it. So a
  window is profiled from all of its files at once: profiling ``a.jsonl`` and then ``b.jsonl``
  separately leaves the windows both touch holding ``b``'s rows only. Profile the whole set of
  files (or folder) that covers a window in one call.
- Profiles are written as their windows close, so memory does not grow with the history read:
  at most ``max_pending`` windows are held, and when one more arrives the windows touched
  longest ago are written. Logs come in time order nearly always, so those windows are done;
  when rows of a written window turn up later in the same run, its profile is read back,
  merged with them and written again, so the stored profile is still the whole run's.
- A source's quarantined rows replace that source's earlier quarantined rows.
- A rolled-up window is rebuilt from all the stored finer profiles it covers and replaces the
  stored coarse profile.

``since`` makes a re-run cheap: Hive ``date=`` folders before its day are not opened, and rows
of windows before it are counted as *skipped*, not profiled, so no earlier window is replaced by
a partial profile. A skipped row was either profiled by the run that first read its file (a
plain file is read whole every time) or arrived too late for its window's run. ``vigil run``
uses it to read only what arrived since its last cycle, minus a margin for late data.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vigil.core import ConfigError, ProfileKey, VigilError, Window, format_duration
from vigil.ingest import (
    DEFAULT_LIMITS,
    IngestChunk,
    IngestLimits,
    QuarantinedRow,
    RecordBatch,
    RowRules,
    concatenate_batches,
    open_reader,
    quarantined_at,
)
from vigil.pipeline.labels import LabelSettings, load_join, save_join
from vigil.profile import Profile, ProfileSpec, profile_batch, rollup
from vigil.store import Store, StoredProfile

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class ModelCounts:
    """Rows of one model in one profiling run; ``model`` is ``""`` for rows with no readable model.

    Invariant: ``rows_read == rows_profiled + rows_quarantined + rows_skipped``; skipped rows
    belong to windows before the run's ``since`` and are counted, not profiled.
    """

    model: str
    rows_read: int
    rows_profiled: int
    rows_quarantined: int
    rows_skipped: int = 0
    reasons: tuple[tuple[str, int], ...] = ()
    """Why rows were quarantined, the commonest first, with how many (values in the reasons
    are elided, so one reason counts once however many bad values it was met with)."""

    def __post_init__(self) -> None:
        if self.rows_read != self.rows_profiled + self.rows_quarantined + self.rows_skipped:
            raise VigilError(
                f"model {self.model!r}: read {self.rows_read} rows but profiled "
                f"{self.rows_profiled}, quarantined {self.rows_quarantined} and found "
                f"{self.rows_skipped} skipped"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfilingSummary:
    """What one :func:`profile_paths` call read and wrote."""

    sources: tuple[str, ...]
    models: tuple[ModelCounts, ...]
    profiles_written: int

    @property
    def rows_read(self) -> int:
        return sum(counts.rows_read for counts in self.models)

    @property
    def rows_profiled(self) -> int:
        return sum(counts.rows_profiled for counts in self.models)

    @property
    def rows_quarantined(self) -> int:
        return sum(counts.rows_quarantined for counts in self.models)

    @property
    def rows_skipped(self) -> int:
        return sum(counts.rows_skipped for counts in self.models)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfilingProgress:
    """Reported after every chunk, so a front end can draw a progress bar."""

    source: str
    sources_done: int
    sources_total: int
    rows_read: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RollupSummary:
    """What one :func:`rollup_store` call read and wrote."""

    to: timedelta
    profiles_read: int
    profiles_written: int


def store_quarantined(
    store: Store,
    rows: Sequence[QuarantinedRow],
    *,
    window: timedelta,
    now: datetime,
    rules: RowRules | None = None,
) -> None:
    """Store quarantined rows under the window they belong to when it can be told (a plausible
    time by ``rules``), so the stats stage can turn them into a per-window ``quarantine_rate``."""
    rules = rules or DEFAULT_LIMITS.rules(now)
    by_window: dict[Window | None, list[QuarantinedRow]] = {}
    for row in rows:
        moment = quarantined_at(row, rules)
        slot = None if moment is None else Window.containing(moment, window)
        by_window.setdefault(slot, []).append(row)
    for slot, members in by_window.items():
        store.quarantine.put(members, now=now, window=slot)


def profile_paths(
    paths: Sequence[str | Path],
    *,
    store: Store,
    spec: ProfileSpec,
    now: datetime,
    chunk_rows: int = 100_000,
    on_progress: Callable[[ProfilingProgress], None] | None = None,
    since: datetime | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
    labels: LabelSettings | None = None,
    max_pending: int = 256,
) -> ProfilingSummary:
    """Read every path, profile it per ``spec`` and store the profiles and quarantined rows.

    Memory holds one chunk plus at most ``max_pending`` profiles (see the module docstring).
    With ``since``, older ``date=`` folders are skipped and rows of earlier windows are counted
    as skipped instead of profiled (see the module docstring). Rows outside ``limits`` (an
    implausible time, too many features, ...) are quarantined with the reason. With ``labels``,
    every chunk also feeds the models' label joins (:mod:`vigil.pipeline.labels`), whatever its
    windows: a re-read row is already there and changes nothing.
    """
    if not paths:
        raise ConfigError("no input paths given; name at least one file or folder")
    if max_pending < 1:
        raise ConfigError(f"max_pending must be >= 1, got {max_pending!r}")
    paths = distinct_sources(paths)
    pending = _PendingProfiles(store=store, now=now, limit=max_pending)
    rows_profiled: Counter[str] = Counter()
    rows_quarantined: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    rows_skipped: Counter[str] = Counter()
    sources = tuple(str(path) for path in paths)
    since_day = None if since is None else since.date()
    rows_read_total = 0
    rules = limits.rules(now)
    cleared: set[str] = set()  # a folder's chunks name its files, so clear per chunk source
    join = labels.empty() if labels is not None else None
    joined_models: set[str] = set()
    waiting = _WaitingRows(limit=min(chunk_rows, JOINED_ROWS))

    def profile_waiting() -> None:
        batch, sources_waiting = waiting.take()
        if batch.num_rows == 0:
            return
        profiles = profile_batch(batch, spec)
        _check_all_rows_profiled(sources_waiting, batch.num_rows, profiles.values())
        if since is not None:
            older = [p for p in profiles.values() if p.key.window.start < since]
            rows_skipped.update(_rows_per_model(older))
            profiles = {k: p for k, p in profiles.items() if k.window.start >= since}
        pending.add(profiles.values())
        rows_profiled.update(_rows_per_model(profiles.values()))

    for done, source in enumerate(sources):
        reader = open_reader(source, chunk_rows=chunk_rows, now=now, since=since_day, limits=limits)
        for chunk in reader.read():
            if chunk.source not in cleared:
                store.quarantine.delete([chunk.source])
                cleared.add(chunk.source)
            if join is not None and labels is not None and chunk.batch.num_rows:
                chunk_models = set(chunk.batch.meta.column("model").unique().to_pylist())
                for model in chunk_models - joined_models:
                    join = join.with_model(load_join(store, model, labels))
                    joined_models.add(model)
                join = join.feed(chunk.batch)
            if not waiting.fits(chunk.batch):
                profile_waiting()
            if waiting.add(chunk):
                profile_waiting()
            rows_quarantined.update(row.model or "" for row in chunk.quarantined)
            for row in chunk.quarantined:
                reasons.setdefault(row.model or "", Counter())[reason_kind(row.reason)] += 1
            store_quarantined(store, chunk.quarantined, window=spec.window, now=now, rules=rules)
            rows_read_total += chunk.rows_read
            if on_progress is not None:
                on_progress(
                    ProfilingProgress(
                        source=source,
                        sources_done=done,
                        sources_total=len(sources),
                        rows_read=rows_read_total,
                    )
                )
        logger.info("read %s: %d rows so far", source, rows_read_total)
    profile_waiting()
    written = pending.close()
    if join is not None:
        save_join(store, join, now=now)
    models = tuple(
        sorted(
            ModelCounts(
                model=model,
                rows_read=rows_profiled[model] + rows_quarantined[model] + rows_skipped[model],
                rows_profiled=rows_profiled[model],
                rows_quarantined=rows_quarantined[model],
                rows_skipped=rows_skipped[model],
                reasons=tuple(reasons.get(model, Counter()).most_common(TOP_REASONS)),
            )
            for model in set(rows_profiled) | set(rows_quarantined) | set(rows_skipped)
        )
    )
    summary = ProfilingSummary(sources=sources, models=models, profiles_written=written)
    if summary.rows_read != rows_read_total:
        raise VigilError(
            f"read {rows_read_total} rows but accounted for {summary.rows_read} "
            f"({summary.rows_profiled} profiled + {summary.rows_quarantined} quarantined + "
            f"{summary.rows_skipped} skipped)"
        )
    for counts in models:
        logger.info(
            "profiled model=%s window=%s rows_read=%d rows_profiled=%d rows_quarantined=%d "
            "rows_skipped=%d",
            counts.model,
            format_duration(spec.window),
            counts.rows_read,
            counts.rows_profiled,
            counts.rows_quarantined,
            counts.rows_skipped,
        )
    return summary


def distinct_sources(paths: Sequence[str | Path]) -> list[str | Path]:
    """Each source once, in the order given: a path named twice (``vigil profile f f``), or a
    file inside a folder also named, would have its rows counted twice. Dropped ones are logged."""
    resolved = [Path(path).resolve() for path in paths]
    folders = {path for path in resolved if path.is_dir()}
    kept: list[str | Path] = []
    seen: set[Path] = set()
    for path, where in zip(paths, resolved, strict=True):
        inside = next((folder for folder in folders if folder in where.parents), None)
        if where in seen or inside is not None:
            logger.info(
                "not reading %s twice: %s",
                path,
                "named again" if inside is None else f"inside {inside}",
            )
            continue
        seen.add(where)
        kept.append(path)
    return kept


def rollup_store(
    store: Store,
    *,
    to: timedelta = timedelta(days=1),
    now: datetime,
    since: datetime | None = None,
) -> RollupSummary:
    """Roll stored profiles up into windows of ``to``, for every model and version.

    Each long window is rebuilt from the stored profiles of one length only: the longest stored
    length shorter than ``to`` that divides it, chosen per long window. Hourly profiles make a
    day even when 5-minute ones of the same hours are also stored (using both would count every
    row twice), and a day that only has 5-minute profiles is still rolled up from those.
    ``since`` limits the work to the long windows from the one containing it onwards.
    """
    start = None if since is None else Window.containing(since, to).start
    read = written = 0
    for model in store.profiles.models():
        groups: dict[tuple[str, Window], dict[timedelta, list[StoredProfile]]] = {}
        for record in store.profiles.records(model=model, start=start):
            length = record.key.window.duration
            if length < to and to % length == timedelta(0):
                target = Window.containing(record.key.window.start, to)
                by_length = groups.setdefault((record.key.version, target), {})
                by_length.setdefault(length, []).append(record)
        finer = [
            Profile.from_bytes(record.blob)
            for by_length in groups.values()
            for record in by_length[max(by_length)]
        ]
        if not finer:
            continue
        coarse = rollup(finer, to=to)
        read += len(finer)
        written += store.profiles.put(coarse.values(), now=now)
        logger.info(
            "rolled up model=%s to=%s profiles_in=%d profiles_out=%d",
            model,
            format_duration(to),
            len(finer),
            len(coarse),
        )
    return RollupSummary(to=to, profiles_read=read, profiles_written=written)


class _WaitingRows:
    """Valid rows of consecutive chunks, profiled together once ``limit`` rows wait.

    A folder of small files (a day of one model's logs each) reads as many small chunks, and
    profiling pays every numpy and DataSketches call's fixed cost once per batch and column:
    profiling 14 files of 4,800 rows as one batch costs a third less than one by one. Only
    chunks with the same features, outputs and tags wait together: a profile lists every column
    of its batch, so joining a chunk with others that have more columns would give its windows
    columns their rows never mentioned.
    """

    def __init__(self, *, limit: int) -> None:
        self._limit = limit
        self._batches: list[RecordBatch] = []
        self._sources: list[str] = []
        self._rows = 0

    def fits(self, batch: RecordBatch) -> bool:
        """Whether ``batch`` may wait with the rows already waiting (the same columns)."""
        return not (batch.num_rows and self._batches) or _columns(batch) == _columns(
            self._batches[0]
        )

    def add(self, chunk: IngestChunk) -> bool:
        """Keep ``chunk``'s valid rows; whether ``limit`` rows now wait."""
        if chunk.batch.num_rows:
            if not self.fits(chunk.batch):
                raise VigilError("a chunk of other columns joined the waiting rows; this is a bug")
            self._batches.append(chunk.batch)
            self._rows += chunk.batch.num_rows
            if chunk.source not in self._sources:
                self._sources.append(chunk.source)
        return self._rows >= self._limit

    def take(self) -> tuple[RecordBatch, str]:
        """The waiting rows as one batch, with the sources they came from; none wait after."""
        batch = concatenate_batches(self._batches)
        sources = ", ".join(self._sources)
        self._batches, self._sources, self._rows = [], [], 0
        return batch, sources


def _columns(batch: RecordBatch) -> tuple[tuple[str, ...], ...]:
    return tuple(batch.features), tuple(batch.outputs), tuple(batch.tags)


class _PendingProfiles:
    """The profiles of the windows still open in one profiling run, written as they close.

    Held in the order they were last touched; past ``limit``, the least recently touched half
    is written in one store call. A window met again after its profile was written is read
    back and merged, so what the store holds at the end is every row of the run, whatever the
    order of the input.
    """

    def __init__(self, *, store: Store, now: datetime, limit: int) -> None:
        self._store, self._now, self._limit = store, now, limit
        self._open: dict[ProfileKey, Profile] = {}
        self._written: set[ProfileKey] = set()

    def add(self, profiles: Iterable[Profile]) -> None:
        for profile in profiles:
            key = profile.key
            earlier = self._open.pop(key, None)
            if earlier is None and key in self._written:
                earlier = self._stored(key)
            self._open[key] = profile if earlier is None else earlier.merge(profile)
        if len(self._open) > self._limit:
            self._write(len(self._open) - self._limit // 2)

    def close(self) -> int:
        """Write every open window; how many distinct windows the run wrote in all."""
        self._write(len(self._open))
        return len(self._written)

    def _write(self, count: int) -> None:
        if not count:
            return
        oldest = list(self._open)[:count]
        self._store.profiles.put([self._open.pop(key) for key in oldest], now=self._now)
        self._written.update(oldest)

    def _stored(self, key: ProfileKey) -> Profile | None:
        found = self._store.profiles.get(
            model=key.model,
            version=key.version,
            start=key.window.start,
            end=key.window.end,
            duration=key.window.duration,
        )
        return found[0] if found else None


TOP_REASONS = 3
JOINED_ROWS = 20_000
"""Rows of small chunks profiled together (:class:`_WaitingRows`). Joining four files of 4,800
rows (96 windows of 200 rows) takes a fifth off profiling them, fourteen a quarter; the profiles
of a joined batch are all held at once, so more rows would raise the peak memory for little."""
_QUOTED = re.compile(r"('[A-Za-z_][\w.]{0,63}')|'[^']*'|\"[^\"]*\"")
_COUNTED = re.compile(r"\b(got|line|column|char) -?[\d.]+(e[+-]?\d+)?")


def reason_kind(reason: str) -> str:
    """A quarantine reason with its values elided and its field names kept:
    ``timestamp '03/01 10:00' is not ISO 8601`` and ``timestamp '1 Mar' is not ISO 8601`` are one
    reason, ``missing field 'model'`` stays what it is."""
    names_kept = _QUOTED.sub(lambda found: found.group(1) or "…", reason)
    return _COUNTED.sub(r"\1 …", names_kept)


def _rows_per_model(profiles: Iterable[Profile]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for profile in profiles:
        counts[profile.key.model] += profile.rows
    return counts


def _check_all_rows_profiled(source: str, batch_rows: int, profiles: Iterable[Profile]) -> None:
    profiled = sum(profile.rows for profile in profiles)
    if profiled != batch_rows:
        raise VigilError(
            f"{source}: a batch of {batch_rows} valid rows gave profiles of {profiled} rows; "
            "this is a bug in Vigil, please report it with the input file"
        )
