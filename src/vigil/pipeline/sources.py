"""A cycle's sources -> profiles in the store, one model folder at a time, each on its own.

A Hive folder's models are independent (windows are keyed by model), so each ``model=``
folder is profiled apart: in its own process when the store can be opened by other processes
(``store.workers`` at a time, in a pool whose workers die with the runner), and with its own
failure. A folder that cannot be profiled (a bug a bad file uncovered, a worker that died) is
reported as that model's failure and every other model's rows are still profiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path

from vigil.ingest import IngestLimits
from vigil.pipeline.failures import ModelFailure, model_failure
from vigil.pipeline.labels import LabelSettings
from vigil.pipeline.profiling import ProfilingSummary, profile_paths
from vigil.pipeline.workers import worker_pool
from vigil.profile import ProfileSpec
from vigil.sdk import partition_value
from vigil.store import SqlStore, Store


def profile_sources(
    sources: Sequence[str],
    store: Store,
    *,
    spec: ProfileSpec,
    now: datetime,
    chunk_rows: int,
    since: datetime | None,
    limits: IngestLimits,
    on_failure: Callable[[ModelFailure], None],
    labels: LabelSettings | None = None,
) -> ProfilingSummary | None:
    """Profile every source (from ``since`` on) model folder by model folder; ``None`` when
    there are no sources."""
    if not sources:
        return None
    parts = [part for source in sources for part in model_folders(Path(source))]
    options = (spec, now, chunk_rows, since, limits, labels)
    summaries: list[ProfilingSummary] = []
    if store.url is not None and store.workers > 1 and len(parts) > 1:
        with worker_pool(store.workers) as pool:
            futures: list[Future[ProfilingSummary]] = [
                pool.submit(_profile_at, store.url, str(part), *options) for part in parts
            ]
            for part, future in zip(parts, futures, strict=True):
                try:
                    summaries.append(future.result())
                except Exception as err:  # one model's failure must not blind the others
                    on_failure(model_failure(_model_of(part), "profile", err))
    else:
        for part in parts:
            try:
                summaries.append(_profile_part(store, str(part), *options))
            except Exception as err:  # one model's failure must not blind the others
                on_failure(model_failure(_model_of(part), "profile", err))
    return ProfilingSummary(
        sources=tuple(sources),
        models=tuple(sorted(m for summary in summaries for m in summary.models)),
        profiles_written=sum(summary.profiles_written for summary in summaries),
    )


def model_folders(source: Path) -> list[Path]:
    """The ``model=`` folders of a Hive source, or the source itself."""
    if source.is_dir():
        folders = sorted(p for p in source.iterdir() if p.is_dir() and p.name.startswith("model="))
        if folders:
            return folders
    return [source]


def _model_of(part: Path) -> str:
    """The model a part holds, for a failure's message: the folder's model, else the path."""
    if part.name.startswith("model="):
        return partition_value(part.name) or part.name
    return str(part)


def _profile_part(
    store: Store,
    part: str,
    spec: ProfileSpec,
    now: datetime,
    chunk_rows: int,
    since: datetime | None,
    limits: IngestLimits,
    labels: LabelSettings | None,
) -> ProfilingSummary:
    return profile_paths(
        [part],
        store=store,
        spec=spec,
        now=now,
        chunk_rows=chunk_rows,
        since=since,
        limits=limits,
        labels=labels,
    )


def _profile_at(
    url: str,
    part: str,
    spec: ProfileSpec,
    now: datetime,
    chunk_rows: int,
    since: datetime | None,
    limits: IngestLimits,
    labels: LabelSettings | None,
) -> ProfilingSummary:
    """:func:`_profile_part` in a worker process, on its own connection to the store."""
    store = SqlStore(url, workers=1)
    try:
        return _profile_part(store, part, spec, now, chunk_rows, since, limits, labels)
    finally:
        store.close()
