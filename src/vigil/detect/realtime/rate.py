"""Request arrivals: a rate model, and a monitor that notices silence and odd rates.

Following Dunning, the log of the hourly request count is predicted by linear regression on the
log counts of the previous four hours and of the same hour 24 h and 48 h ago; the model is
refitted periodically on a bounded history. Under normal operation arrivals are close to a
Poisson process, so ``predicted rate x time since the last request`` is exponentially
distributed: a threshold on it *is* a false-alarm probability, and a stream that stops is
flagged after ``ln(1/p)`` expected inter-arrival times. Arrivals and completions are tracked
apart, so "no response" (requests keep coming, nothing completes) is told from "no requests".
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, EventKind, NotFittedError
from vigil.detect.realtime.base import MonitorAlert
from vigil.detect.realtime.events import Events, epoch_seconds, utc_datetime
from vigil.detect.realtime.statistics import poisson_deviation
from vigil.detect.realtime.threshold import (
    AlarmRate,
    ScoreThreshold,
    exponential_quantile,
    two_sided_normal_quantile,
)

FloatArray = npt.NDArray[np.float64]
HOUR_S = 3600.0
LAGS_H = (1, 2, 3, 4, 24, 48)


def _lagged_design(log_counts: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Rows ``[1, y[t-1], .., y[t-4], y[t-24], y[t-48]]`` and targets ``y[t]``, ``t >= 48``."""
    start = max(LAGS_H)
    rows = np.arange(start, log_counts.size)
    design = np.column_stack([np.ones(rows.size)] + [log_counts[rows - lag] for lag in LAGS_H])
    return design, log_counts[rows]


class RateModel:
    """Linear regression of log hourly request count on its lags (1-4 h, 24 h, 48 h).

    ``fit(counts)`` takes consecutive hourly counts (oldest first, at least 48 + ``min_rows``
    hours) and forgets earlier fits. ``predict(recent)`` forecasts the next hour's count from
    the last 48 hourly counts. ``relative_error_`` is the residual spread in log space, i.e.
    the typical relative forecast error.
    """

    def __init__(self, *, ridge: float = 1e-3, min_rows: int = 48) -> None:
        self.ridge = ridge
        self.min_rows = min_rows

    def fit(self, counts: npt.ArrayLike) -> RateModel:
        log_counts = np.log1p(np.asarray(counts, dtype=np.float64))
        if log_counts.size < max(LAGS_H) + self.min_rows:
            raise ConfigError(
                f"rate model needs >= {max(LAGS_H) + self.min_rows} hourly counts, "
                f"got {log_counts.size}"
            )
        design, target = _lagged_design(log_counts)
        gram = design.T @ design + self.ridge * np.eye(design.shape[1])
        self.coef_: FloatArray = np.asarray(np.linalg.solve(gram, design.T @ target), np.float64)
        residuals = target - design @ self.coef_
        # In-sample residuals understate the error of a forecast; correct for the fitted terms.
        dof = max(target.size - design.shape[1], 1)
        self.relative_error_ = float(np.sqrt(np.sum(residuals**2) / dof))
        return self

    def predict(self, recent: npt.ArrayLike) -> float:
        """Expected count of the hour after ``recent`` (its last >= 48 hourly counts)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("RateModel.predict before fit; fit it on >= 96 hourly counts")
        history = np.log1p(np.asarray(recent, dtype=np.float64))
        if history.size < max(LAGS_H):
            raise ConfigError(
                f"rate prediction needs the last 48 hourly counts, got {history.size}"
            )
        row = np.array([1.0] + [history[-lag] for lag in LAGS_H])
        return float(np.expm1(row @ self.coef_))


def one_hour_ahead_errors(
    counts: npt.ArrayLike, *, train_hours: int, refit_every: int = 6
) -> FloatArray:
    """Walk forward over hourly ``counts``: relative error of each one-hour-ahead forecast.

    The model is fitted on the hours before ``train_hours`` and refitted every ``refit_every``
    hours on everything seen so far, as the monitor does.
    """
    series = np.asarray(counts, dtype=np.float64)
    model = RateModel()
    errors = []
    for hour in range(train_hours, series.size):
        if (hour - train_hours) % refit_every == 0:
            model.fit(series[:hour])
        predicted = model.predict(series[:hour])
        errors.append(abs(predicted - series[hour]) / max(series[hour], 1.0))
    return np.asarray(errors)


class ArrivalMonitor:
    """Watches one model's request stream for silence and for rates far from the forecast.

    Scores three statistics:

    - ``gap``: predicted rate x time since the last arrival (``arrival``/``prediction`` events);
    - ``completion_gap``: the same for completions, while requests keep arriving;
    - ``rate``: each closed ``rate_interval``'s count against the forecast, in standard
      deviations (Poisson plus the model's own error), both directions.

    Until the rate model has ``48 + 48`` hours of history, the forecast is the mean rate of the
    last four complete hours.
    """

    name = "arrivals"

    def __init__(
        self,
        model: str,
        *,
        alarm_rate: AlarmRate | None = None,
        rate_interval: timedelta = timedelta(minutes=15),
        refit_every: timedelta = timedelta(hours=6),
        history: timedelta = timedelta(days=14),
        min_relative_error: float = 0.05,
    ) -> None:
        if rate_interval <= timedelta(0) or HOUR_S % rate_interval.total_seconds() != 0:
            raise ConfigError(f"rate interval must divide one hour, got {rate_interval!r}")
        self.model = model
        self.alarm_rate = alarm_rate or AlarmRate()
        self.interval_s = rate_interval.total_seconds()
        self.refit_every_h = max(1, int(refit_every / timedelta(hours=1)))
        self.history_h = max(max(LAGS_H) + 48, int(history / timedelta(hours=1)))
        self.min_relative_error = min_relative_error
        self.rate_model_ = RateModel()
        self.fitted_at_hour_: int | None = None
        self.hour_counts_: dict[int, int] = {}
        self.forecasts_: dict[int, float] = {}
        self.disturbed_hours_: set[int] = set()
        self.interval_counts_: dict[int, int] = {}
        self.first_s_: float | None = None
        self.last_arrival_s_: float | None = None
        self.last_completion_s_: float | None = None
        self.next_interval_: int | None = None
        self._alarmed_gap: dict[str, float] = {}
        self.gap_threshold_ = ScoreThreshold(exponential_quantile, memory=200_000)
        self.rate_threshold_ = ScoreThreshold(two_sided_normal_quantile, memory=5_000)

    def update(self, events: Events) -> None:
        if events.model != self.model or len(events) == 0:
            return
        times = np.sort(events.timestamp_s)
        if events.kind in (EventKind.ARRIVAL, EventKind.PREDICTION):
            self._count_arrivals(times)
        if events.kind in (EventKind.COMPLETION, EventKind.PREDICTION):
            last = self.last_completion_s_
            self.last_completion_s_ = (
                float(times[-1]) if last is None else max(last, float(times[-1]))
            )

    def _count_arrivals(self, times: FloatArray) -> None:
        rate = self._cautious_rate(float(times[0]))
        previous = self.last_arrival_s_
        if previous is not None and not math.isnan(rate):
            gaps = np.diff(times, prepend=previous)
            self.gap_threshold_.update(rate * gaps[gaps >= 0])
        self.last_arrival_s_ = (
            float(times[-1]) if previous is None else max(previous, float(times[-1]))
        )
        self.first_s_ = (
            float(times[0]) if self.first_s_ is None else min(self.first_s_, float(times[0]))
        )
        for table, width in ((self.hour_counts_, HOUR_S), (self.interval_counts_, self.interval_s)):
            slots = (times // width).astype(np.int64)
            low = int(slots[0])
            counts = np.bincount(slots - low)
            for offset in np.flatnonzero(counts).tolist():
                table[low + offset] = table.get(low + offset, 0) + int(counts[offset])
        newest_hour = int(self.last_arrival_s_ // HOUR_S)
        self._forget(self.hour_counts_, newest_hour - self.history_h)
        self._forget(self.forecasts_, newest_hour - self.history_h)
        self.disturbed_hours_ = {
            h for h in self.disturbed_hours_ if h >= newest_hour - self.history_h
        }
        self._forget(self.interval_counts_, int((newest_hour - 8) * HOUR_S // self.interval_s))

    @staticmethod
    def _forget(table: dict[int, int] | dict[int, float], oldest: int) -> None:
        if table and min(table) < oldest:  # a few hundred keys at most
            for slot in [slot for slot in table if slot < oldest]:
                del table[slot]

    def hourly_counts(self, before_hour: int, hours: int) -> FloatArray:
        """Counts of the ``hours`` hours before ``before_hour`` (0 where none arrived).

        An hour in which the rate alarmed is replaced by its forecast: a surge or an outage
        fed back as a lag would make the next hours' forecasts echo it (and alarm again once
        traffic is back to normal), and would be learned at the next refit.
        """
        return np.array(
            [
                self.forecasts_[h]
                if h in self.disturbed_hours_ and h in self.forecasts_
                else self.hour_counts_.get(h, 0)
                for h in range(before_hour - hours, before_hour)
            ],
            dtype=np.float64,
        )

    def forecast(self, moment_s: float) -> tuple[float, float]:
        """Forecast request rate (per second) for the hour containing ``moment_s`` and its
        relative error; NaN before a full hour was seen. Refits the rate model when due."""
        if self.first_s_ is None:
            return math.nan, math.nan
        hour = int(moment_s // HOUR_S)
        observed_hours = hour - math.ceil(self.first_s_ / HOUR_S)
        if observed_hours >= max(LAGS_H) + self.rate_model_.min_rows:
            due = self.fitted_at_hour_ is None or hour - self.fitted_at_hour_ >= self.refit_every_h
            if due:
                span = min(observed_hours, self.history_h)
                self.rate_model_.fit(self.hourly_counts(hour, span))
                self.fitted_at_hour_ = hour
            predicted = max(self.rate_model_.predict(self.hourly_counts(hour, max(LAGS_H))), 0.0)
            self.forecasts_[hour] = predicted
            error = max(self.rate_model_.relative_error_, self.min_relative_error)
            return predicted / HOUR_S, error
        if observed_hours >= 1:
            # Before the model: the mean of the last hours, trusted to within a quarter.
            recent = self.hourly_counts(hour, min(4, observed_hours))
            return float(recent.mean()) / HOUR_S, 0.25
        return math.nan, math.nan

    def _cautious_rate(self, moment_s: float) -> float:
        """The forecast lowered by two relative errors: a gap score on an over-forecast rate
        would raise false alarms in every quiet hour, so silence is judged against the rate the
        model is still fairly sure of."""
        rate, error = self.forecast(moment_s)
        return rate * math.exp(-2.0 * error)

    def alerts(self, now: datetime) -> list[MonitorAlert]:
        now_s = epoch_seconds(now)
        rate = self._cautious_rate(now_s)
        if math.isnan(rate) or rate <= 0:
            return []
        found = self._gap_alerts(now_s, rate)
        found.extend(self._rate_alerts(now_s))
        return found

    def _gap_alerts(self, now_s: float, rate: float) -> list[MonitorAlert]:
        expected_per_period = rate * self.alarm_rate.per.total_seconds()
        p = self.alarm_rate.probability(expected_per_period)
        threshold = self.gap_threshold_.threshold(p)
        found = []
        arrival_gap = math.inf if self.last_arrival_s_ is None else now_s - self.last_arrival_s_
        completion_gap = (
            math.inf if self.last_completion_s_ is None else now_s - self.last_completion_s_
        )
        checks = [("gap", self.last_arrival_s_, arrival_gap)]
        if self.last_completion_s_ is not None and completion_gap > arrival_gap:
            checks.append(("completion_gap", self.last_completion_s_, completion_gap))
        for statistic, last_s, gap_s in checks:
            score = rate * gap_s
            if last_s is None or score <= threshold or self._alarmed_gap.get(statistic) == last_s:
                continue
            self._alarmed_gap[statistic] = last_s
            minutes = gap_s / 60.0
            if statistic == "gap":
                message = f"no requests for {minutes:.1f} min; expected one every {1 / rate:.2f} s"
            else:
                message = (
                    f"requests keep arriving but none completed for {minutes:.1f} min; "
                    f"expected a completion every {1 / rate:.2f} s"
                )
            found.append(
                self._alert(
                    statistic,
                    now_s,
                    score,
                    threshold,
                    message,
                    {"observed": gap_s, "expected": 1 / rate},
                )
            )
        return found

    def _rate_alerts(self, now_s: float) -> list[MonitorAlert]:
        current = int(now_s // self.interval_s)
        if self.next_interval_ is None:
            self.next_interval_ = current
        found = []
        p = self.alarm_rate.probability_per_interval(timedelta(seconds=self.interval_s))
        for interval in range(max(self.next_interval_, current - 8), current):
            start_s = interval * self.interval_s
            rate, error = self.forecast(start_s + self.interval_s / 2)
            if math.isnan(rate):
                continue
            expected = rate * self.interval_s
            observed = self.interval_counts_.get(interval, 0)
            z = poisson_deviation(observed, expected, error)
            threshold = self.rate_threshold_.threshold(p)
            self.rate_threshold_.update([abs(z)])
            if abs(z) > threshold:
                self.disturbed_hours_.add(int(start_s // HOUR_S))
                word = "above" if z > 0 else "below"
                message = (
                    f"request rate {observed / self.interval_s:.3g}/s is far {word} the forecast "
                    f"{expected / self.interval_s:.3g}/s ({z:+.1f} sd)"
                )
                found.append(
                    self._alert(
                        "rate",
                        start_s + self.interval_s,
                        abs(z),
                        threshold,
                        message,
                        {"observed": float(observed), "expected": expected},
                    )
                )
        self.next_interval_ = current
        return found

    def _alert(
        self,
        statistic: str,
        at_s: float,
        score: float,
        threshold: float,
        message: str,
        evidence: dict[str, float | str],
    ) -> MonitorAlert:
        return MonitorAlert(
            monitor=self.name,
            model=self.model,
            version="",
            statistic=statistic,
            timestamp=utc_datetime(at_s),
            score=score,
            threshold=threshold,
            message=message,
            evidence=evidence,
        )
