"""``Outbox``: sends off the caller's thread, so a slow receiver never holds the pipeline.

A webhook that hangs used to hold a cycle for every attempt of every message (95 s for two
messages). Here each destination, every channel and Alertmanager, has its own worker thread and
queue: ``submit`` returns at once, a hanging receiver delays only its own later messages, and
each send still has its channel's timeout and the delivery loop's retries.

What was sent is still the caller's record: ``collect()`` hands back the finished
:class:`~vigil.alert.DeliveryRecord` values for the caller to store, and ``pending()`` names the
notifications queued or in flight so the next plan does not queue them twice. A process that
dies with sends in flight re-sends them after restart (at least once; receivers get the same
idempotency key). Alertmanager takes the whole set of alerts each time, so only the latest set
waits in its queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from vigil.alert.alertmanager import Alert, Alertmanager
from vigil.alert.channels import Channel, DeliveryError
from vigil.alert.delivery import DeliveryRecord, Notification, NotificationKey, deliver_one
from vigil.core import ConfigError

logger = logging.getLogger(__name__)


class _Worker:
    """One daemon thread running the jobs of one destination in order."""

    def __init__(self, name: str) -> None:
        self._jobs: list[Callable[[], None]] = []
        self._ready = threading.Condition()
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"vigil-outbox-{name}", daemon=True)
        self._thread.start()

    def put(self, job: Callable[[], None], *, replace: bool = False) -> None:
        with self._ready:
            if replace:
                self._jobs.clear()
            self._jobs.append(job)
            self._ready.notify_all()

    def idle(self) -> bool:
        with self._ready:
            return not self._jobs and not self._busy

    def wait_idle(self, deadline: float) -> bool:
        with self._ready:
            return self._ready.wait_for(
                lambda: not self._jobs and not self._busy,
                timeout=max(0.0, deadline - time.monotonic()),
            )

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: bool(self._jobs))
                job = self._jobs.pop(0)
                self._busy = True
            try:
                job()
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify_all()


class Outbox:
    """Queues notifications and alert sets, one worker per destination (see module docstring)."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        *,
        alertmanager: Alertmanager | None = None,
        max_attempts: int = 4,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._channels = dict(channels)
        self._alertmanager = alertmanager
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._sleep = sleep
        self._lock = threading.Lock()
        self._workers: dict[str, _Worker] = {}
        self._pending: set[NotificationKey] = set()
        self._finished: list[DeliveryRecord] = []
        self.alert_posts = 0
        self.alert_failures = 0
        self.last_alert_error = ""

    def submit(self, notifications: Sequence[Notification]) -> int:
        """Queue what is not queued already; returns how many were queued."""
        queued = 0
        for notification in notifications:
            channel = self._channels.get(notification.key.channel)
            if channel is None:
                known = sorted(self._channels)
                raise ConfigError(f"no channel named {notification.key.channel!r}; known: {known}")
            with self._lock:
                if notification.key in self._pending:
                    continue
                self._pending.add(notification.key)
            self._worker(f"channel:{channel.name}").put(self._send_job(notification, channel))
            queued += 1
        return queued

    def post_alerts(self, alerts: Sequence[Alert]) -> None:
        """Queue the current alert set for Alertmanager, replacing a set not yet sent."""
        if self._alertmanager is None:
            raise ConfigError("this outbox has no Alertmanager; configure [alertmanager]")
        alertmanager, snapshot = self._alertmanager, list(alerts)

        def job() -> None:
            try:
                alertmanager.post(snapshot)
            except DeliveryError as err:
                with self._lock:
                    self.alert_failures += 1
                    self.last_alert_error = str(err)
                logger.warning("alertmanager: %d alerts not delivered: %s", len(snapshot), err)
            else:
                with self._lock:
                    self.alert_posts += 1

        self._worker("alertmanager").put(job, replace=True)

    def pending(self) -> frozenset[NotificationKey]:
        """Notifications queued or being sent."""
        with self._lock:
            return frozenset(self._pending)

    def collect(self) -> list[DeliveryRecord]:
        """The sends finished since the last call, delivered or given up on."""
        with self._lock:
            finished, self._finished = self._finished, []
        return finished

    def wait(self, timeout_s: float) -> bool:
        """Wait until every queued send finished; ``False`` when ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            workers = list(self._workers.values())
        return all(worker.wait_idle(deadline) for worker in workers)

    def _worker(self, name: str) -> _Worker:
        with self._lock:
            worker = self._workers.get(name)
            if worker is None:
                worker = self._workers[name] = _Worker(name)
            return worker

    def _send_job(self, notification: Notification, channel: Channel) -> Callable[[], None]:
        def job() -> None:
            record = deliver_one(
                notification,
                channel,
                max_attempts=self._max_attempts,
                backoff_s=self._backoff_s,
                sleep=self._sleep,
            )
            if not record.delivered:
                logger.warning(
                    "alert: %s to %s failed after %d attempts: %s",
                    notification.key.incident_id,
                    notification.key.channel,
                    record.attempts,
                    record.error,
                )
            with self._lock:
                self._pending.discard(notification.key)
                self._finished.append(record)

        return job
