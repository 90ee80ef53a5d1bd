"""The ``Store`` plug-in point: one small protocol per stored aggregate, and the store that holds
one of each.

Stages never import the store: they take values and return values. The pipeline loads values
from a :class:`Store`, calls the stages and saves their results back through the store's parts
(``store.profiles``, ``store.series``, ``store.incidents``, ...). Each part has one
responsibility and a tiny vocabulary: ``put`` writes, ``get`` reads in a stable order (by key,
then time). Every ``put`` is an idempotent upsert keyed by what the value *is* (a profile by
model, version and window; a series point by series key and timestamp; a run by stage, model
and window), so re-running a window replaces its results instead of adding to them.

Two implementations ship with Vigil, one folder each, and pass the same conformance suite:
:class:`~vigil.store.SqlStore` (``sql/``: SQLite or PostgreSQL through SQLAlchemy Core) and
:class:`~vigil.store.MemoryStore` (``memory/``: dicts, for tests and notebooks). Adding a stored
aggregate means a protocol here, a part in each folder, a table and a migration.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vigil.alert import DeliveryRecord, NotificationKey
from vigil.core import ProfileKey, Window
from vigil.detect import Anomaly
from vigil.incidents import Feedback, Incident, IncidentState, Silence
from vigil.ingest import QuarantinedRow
from vigil.store.values import QuarantineCount, Run, RunStatus, StoredProfile

if TYPE_CHECKING:
    from vigil.profile import Profile
    from vigil.stats.series import Series


class ProfileStore(Protocol):
    """Profiles, one per (model, version, window)."""

    def put(self, profiles: Iterable[Profile], *, now: datetime) -> int:
        """Store profiles; one already stored under the same key is replaced, never merged."""
        ...

    def get(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[Profile]:
        """Profiles whose windows lie inside ``[start, end)``, optionally of one ``duration``."""
        ...

    def records(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[StoredProfile]:
        """Like :meth:`get` without decoding: for listings and sizes."""
        ...

    def first_window_start(self, *, duration: timedelta) -> datetime | None:
        """Start of the earliest stored profile of that window length (``None`` when none):
        one aggregate, where :meth:`records` would load every blob."""
        ...

    def last_window_end(
        self, *, duration: timedelta | None = None, model: str | None = None
    ) -> datetime | None:
        """End of the latest stored profile (of that window length, of that model; ``None``
        when none): where the data ends, which is where a replay stops and what screens show
        by default."""
        ...

    def models(self) -> list[str]:
        """Models that have at least one stored profile, sorted."""
        ...

    def delete(self, keys: Iterable[ProfileKey]) -> int:
        """Remove the profiles stored under ``keys`` (``vigil doctor`` isolating corrupt ones);
        returns how many there were."""
        ...


class QuarantineStore(Protocol):
    """Rows that could not be used, with their reasons, kept for inspection and replay."""

    def put(
        self, rows: Iterable[QuarantinedRow], *, now: datetime, window: Window | None = None
    ) -> int:
        """Append quarantined rows (with their reasons) ingested at ``now``."""
        ...

    def delete(self, sources: Sequence[str]) -> int:
        """Forget the quarantined rows of ``sources``, before those sources are read again."""
        ...

    def get(self, *, model: str | None = None, limit: int = 1000) -> list[QuarantinedRow]:
        """Quarantined rows, oldest first."""
        ...

    def counts(
        self, *, model: str | None = None, since: datetime | None = None
    ) -> list[QuarantineCount]:
        """Quarantined rows per model and window (windows at or after ``since`` when given)."""
        ...


class SeriesStore(Protocol):
    """Points of health and drift series, one per (series key, timestamp)."""

    def put(self, series: Iterable[Series]) -> int:
        """Upsert every point of every series; returns the number of points written."""
        ...

    def get(
        self,
        *,
        model: str,
        version: str | None = None,
        family: str | None = None,
        since: datetime | None = None,
    ) -> list[Series]:
        """The stored series of ``model``, each with its points at or after ``since``."""
        ...


class RunStore(Protocol):
    """How the latest attempt at each (stage, model, window) went."""

    def put(self, run: Run) -> None:
        """Record (or replace) how processing one window went."""
        ...

    def get(self, *, stage: str | None = None, status: RunStatus | None = None) -> list[Run]:
        """Run records ordered by window start."""
        ...


class AnomalyStore(Protocol):
    """The queryable log of every anomaly the detectors raised."""

    def replace(self, anomalies: Iterable[Anomaly], *, start: datetime, end: datetime) -> int:
        """Make ``anomalies`` the stored anomalies of ``[start, end)``: earlier ones of that
        period are removed first, so re-running a window replaces its anomalies."""
        ...

    def get(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Anomaly]:
        """Anomalies in time order."""
        ...


class IncidentStore(Protocol):
    """Incidents, read and written whole, keyed by id."""

    def put(self, incidents: Iterable[Incident]) -> int:
        """Write incidents by id, each only while its stored row is still at the revision it
        was read at (:attr:`Incident.revision`; 0 for an incident not stored yet), all or none.

        A written row is one revision further: read it again before writing it again. Raises
        :class:`~vigil.core.ConflictError` naming the incidents another writer changed
        meanwhile (the server's verdicts, another cycle), having written nothing.
        """
        ...

    def get(
        self,
        *,
        model: str | None = None,
        states: Collection[IncidentState] | None = None,
        resolved_after: datetime | None = None,
    ) -> list[Incident]:
        """Incidents ordered by opening time, then id; with ``resolved_after``, only those
        resolved after that moment."""
        ...

    def find(self, incident_id: str) -> Incident | None:
        """The incident ``incident_id``, or ``None``."""
        ...


class NotificationStore(Protocol):
    """What was sent, so a re-run never sends a message twice."""

    def put(self, record: DeliveryRecord, *, at: datetime) -> None:
        """Record one attempt to notify (delivered or not)."""
        ...

    def delivered(self) -> set[NotificationKey]:
        """The notifications a channel accepted."""
        ...


class SilenceStore(Protocol):
    """Silences, keyed by id."""

    def put(self, silence: Silence) -> None: ...

    def get(self) -> list[Silence]:
        """Silences ordered by start, then id."""
        ...

    def delete(self, silence_id: str) -> bool:
        """Remove a silence; ``False`` when there was none."""
        ...


class FeedbackStore(Protocol):
    """People's verdicts on incidents, keyed by (incident, time)."""

    def put(self, feedback: Feedback) -> None: ...

    def get(self, incident_id: str | None = None) -> list[Feedback]:
        """Verdicts in time order, of one incident when given."""
        ...


class LeaseStore(Protocol):
    """A named, expiring lock held in the store itself.

    Two ``vigil run`` processes on one store must not process the same windows (they would send
    notifications twice and race on incidents). The store is the only thing both see, so the
    lock lives there; it expires so that a holder killed mid-cycle cannot block the next run
    forever.
    """

    def acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take (or renew) lease ``name`` for ``holder`` until ``now + ttl``; atomic. Refused
        (``False``) while another holder's lease has not expired."""
        ...

    def release(self, name: str, holder: str) -> bool:
        """Give lease ``name`` up if ``holder`` holds it; ``False`` if it did not."""
        ...

    def expiry(self, name: str) -> datetime | None:
        """When lease ``name`` expires unless renewed (``None`` when nobody holds it), so a
        runner that was refused can say how long it may wait."""
        ...


class CheckpointStore(Protocol):
    """Named blobs a long-running process saves so a restart resumes where it stopped.

    The real-time monitors learn rates, histograms and thresholds over days; a server restart
    that dropped them would leave the models unwatched (or watched by cold monitors) for that
    long. The store is what survives a restart, so the state is saved there, as one opaque blob
    per name. The store neither reads nor trusts the bytes; their owner signs and versions them.
    """

    def put(self, name: str, blob: bytes, *, now: datetime) -> None:
        """Save ``blob`` as checkpoint ``name``, replacing the previous one."""
        ...

    def get(self, name: str) -> tuple[bytes, datetime] | None:
        """The latest checkpoint ``name`` and when it was saved, or ``None``."""
        ...


@runtime_checkable
class Store(Protocol):
    """Where profiles, quarantined rows, health series, run records, incidents and their
    companions persist: one part per aggregate.

    ``workers`` is how many processes may work on the store at once. It is a setting of stores
    that other processes can open (at ``url``) and always 1 for a store that lives in this
    process only (``url`` is ``None``); the pipeline sizes its process pools by it rather than
    by the store's type.
    """

    @property
    def profiles(self) -> ProfileStore: ...

    @property
    def quarantine(self) -> QuarantineStore: ...

    @property
    def series(self) -> SeriesStore: ...

    @property
    def runs(self) -> RunStore: ...

    @property
    def anomalies(self) -> AnomalyStore: ...

    @property
    def incidents(self) -> IncidentStore: ...

    @property
    def notifications(self) -> NotificationStore: ...

    @property
    def silences(self) -> SilenceStore: ...

    @property
    def feedback(self) -> FeedbackStore: ...

    @property
    def leases(self) -> LeaseStore: ...

    @property
    def checkpoints(self) -> CheckpointStore: ...

    @property
    def url(self) -> str | None:
        """Where another process opens this same store; ``None`` when none can."""
        ...

    @property
    def workers(self) -> int:
        """How many processes may work on this store at once (1 when ``url`` is ``None``)."""
        ...

    def close(self) -> None:
        """Release connections; the store cannot be used afterwards."""
        ...
