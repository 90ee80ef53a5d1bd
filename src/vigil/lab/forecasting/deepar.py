"""DeepAR (GluonTS, torch backend): one network trained across every series' history.

Unlike the per-series baselines, DeepAR learns from many series at once: ``fit(history)`` trains
one network per sampling step (GluonTS needs one frequency per model: 1-minute and hourly series
cannot share time features) on all the history series of that step, each cut to its last
``max_fit_points`` steps. Training is small on purpose (``epochs`` x ``batches_per_epoch``
batches, CPU, one thread, seeded), so it takes seconds to minutes, and nothing is downloaded.

Scoring rolls over each series in blocks of ``prediction_length`` steps: the forecast of a block
sees only the values before it. The likelihood is Gaussian, not GluonTS's default Student-t:
Student-t sampling draws a data-dependent number of random numbers (gamma rejection), so a
changed future value in one window of a prediction batch would shift the random stream of the
earlier windows in that batch and break causality; normal sampling draws a fixed number.

DeepAR gives sample paths, and ``num_samples`` samples cannot resolve a 99.9% quantile, so the
band is ``median +- z(level) * sigma`` with sigma half the distance between the samples' 15.9%
and 84.1% quantiles: a Gaussian reading of the predictive distribution at the matched nominal
level.

The random state of Python, NumPy and torch and torch's thread count are saved before training
and restored after, so seeding here does not reseed the caller.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

import numpy as np

from vigil.core import ConfigError, MissingExtraError, NotFittedError
from vigil.detect.interval import Band, IntervalDetector, scale_floor, z_for_level
from vigil.lab.forecasting.inputs import (
    TimeArray,
    daily_period,
    empty_band,
    median_step_seconds,
)
from vigil.lab.forecasting.prophet_core import quiet_loggers
from vigil.lab.forecasting.statespace import quiet_fit
from vigil.stats.series import Series

# The sample median and the 15.9%/84.1% sample quantiles: one Gaussian sigma either side,
# robust to the few extreme paths that multi-step sampling compounds.
_SIGMA_QUANTILES = (0.15865525393145707, 0.5, 0.8413447460685429)

# Lightning announces the (absent) accelerators at INFO on every fit.
_LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning")


def frequency_of(timestamps: TimeArray) -> str:
    """A pandas frequency for the median step: ``"1h"``, ``"5min"``, or seconds (``"90s"``)."""
    step = round(median_step_seconds(timestamps))
    if step <= 0:
        raise ConfigError(f"timestamps have a median step of {step} s; need a positive step")
    if step % 3600 == 0:
        return f"{step // 3600}h"
    if step % 60 == 0:
        return f"{step // 60}min"
    return f"{step}s"


@contextmanager
def _seeded_torch(seed: int) -> Iterator[Any]:
    """Seed Python, NumPy and torch, one torch thread; restore all of it afterwards."""
    import torch

    python_state = random.getstate()
    numpy_state = np.random.get_state()
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        try:
            yield torch
        finally:
            torch.set_num_threads(threads)
            random.setstate(python_state)
            np.random.set_state(numpy_state)


class DeepARDetector(IntervalDetector):
    """Flags values outside DeepAR's rolling block forecasts (one network per sampling step)."""

    name = "deepar"

    def __init__(
        self,
        *,
        level: float = 0.999,
        prediction_length: int = 24,
        context_length: int = 48,
        epochs: int = 10,
        batches_per_epoch: int = 50,
        batch_size: int = 32,
        hidden_size: int = 20,
        num_samples: int = 100,
        max_fit_points: int = 2000,
        seed: int = 0,
    ) -> None:
        super().__init__(level=level)
        for label, value in (
            ("prediction_length", prediction_length),
            ("context_length", context_length),
            ("epochs", epochs),
            ("batches_per_epoch", batches_per_epoch),
            ("batch_size", batch_size),
            ("hidden_size", hidden_size),
            ("max_fit_points", max_fit_points),
        ):
            if value < 1:
                raise ConfigError(f"{label} must be >= 1, got {value!r}")
        if num_samples < 2:
            raise ConfigError(f"num_samples must be >= 2 to estimate a spread, got {num_samples!r}")
        self.prediction_length = prediction_length
        self.context_length = context_length
        self.epochs = epochs
        self.batches_per_epoch = batches_per_epoch
        self.batch_size = batch_size
        self.hidden_size = hidden_size
        self.num_samples = num_samples
        self.max_fit_points = max_fit_points
        self.seed = seed
        self.predictors_: dict[str, Any] = {}
        self.short_steps_: set[str] = set()

    def fit(self, history: Sequence[Series]) -> Self:
        """Train one network per sampling step on all history series of that step.

        A step whose histories are all too short to train on (``context_length`` values or
        fewer, e.g. daily series with a few weeks of history) is remembered in ``short_steps_``:
        its series score NaN (no opinion) rather than fail.
        """
        groups: dict[str, list[Series]] = {}
        seen: set[str] = set()
        for one in history:
            if len(one) < 2:
                continue
            freq = frequency_of(one.timestamps)
            seen.add(freq)
            if np.isfinite(one.values).sum() > self.context_length:
                groups.setdefault(freq, []).append(one)
        if not groups:
            raise ConfigError(
                f"no history series has more than context_length={self.context_length} values"
            )
        self.predictors_ = {freq: self._train(freq, members) for freq, members in groups.items()}
        self.short_steps_ = seen - set(groups)
        return self

    def band(self, series: Series) -> Band:
        if not self.predictors_:
            raise NotFittedError("DeepARDetector is not fitted: call fit(history) first")
        n = len(series)
        if n < 2:
            return empty_band(n)
        freq = frequency_of(series.timestamps)
        predictor = self.predictors_.get(freq)
        if predictor is None and freq in self.short_steps_:
            return empty_band(n)
        if predictor is None:
            raise NotFittedError(
                f"DeepAR was trained for steps {sorted(self.predictors_)}, not {freq!r} "
                f"({series.key}): include series with this step in fit(history)"
            )
        raw = self._roll(predictor, freq, series)
        floor = scale_floor(series.values)
        with np.errstate(invalid="ignore"):
            lower = np.minimum(raw.lower, raw.expected - floor)
            upper = np.maximum(raw.upper, raw.expected + floor)
        return Band(expected=raw.expected, lower=lower, upper=upper)

    def _train(self, freq: str, members: list[Series]) -> Any:
        gluonts = _import_gluonts()
        period = daily_period(members[0].timestamps)
        shortest = min(min(len(s), self.max_fit_points) for s in members)
        lags = list(range(1, 8))
        if period is not None and period + 1 < shortest // 2:
            lags += [period - 1, period, period + 1]
        entries = [
            {
                "start": _period(s.timestamps[max(0, len(s) - self.max_fit_points)], freq),
                "target": s.values[-self.max_fit_points :].astype(np.float32),
            }
            for s in members
        ]
        with (
            quiet_loggers(_LIGHTNING_LOGGERS),
            quiet_fit(),
            _seeded_torch(self.seed),
            tempfile.TemporaryDirectory(prefix="vigil-deepar-") as scratch,
        ):
            estimator = gluonts["DeepAREstimator"](
                freq=freq,
                prediction_length=self.prediction_length,
                context_length=self.context_length,
                hidden_size=self.hidden_size,
                distr_output=gluonts["NormalOutput"](),
                lags_seq=lags,
                batch_size=self.batch_size,
                num_batches_per_epoch=self.batches_per_epoch,
                num_parallel_samples=self.num_samples,
                trainer_kwargs={
                    "max_epochs": self.epochs,
                    "accelerator": "cpu",
                    "devices": 1,
                    "logger": False,
                    "enable_progress_bar": False,
                    "enable_model_summary": False,
                    "deterministic": True,
                    "default_root_dir": scratch,
                },
            )
            return estimator.train(gluonts["ListDataset"](entries, freq=freq))

    def _roll(self, predictor: Any, freq: str, series: Series) -> Band:
        """Forecast every block ``[b, b + prediction_length)`` from the values before ``b``."""
        gluonts = _import_gluonts()
        n = len(series)
        band = empty_band(n)
        starts = list(range(self.context_length, n, self.prediction_length))
        if not starts:
            return band
        start = _period(series.timestamps[0], freq)
        windows = [{"start": start, "target": series.values[:b].astype(np.float32)} for b in starts]
        z = z_for_level(self.level)
        with quiet_loggers(_LIGHTNING_LOGGERS), quiet_fit(), _seeded_torch(self.seed):
            forecasts = predictor.predict(gluonts["ListDataset"](windows, freq=freq))
            for b, forecast in zip(starts, forecasts, strict=True):
                samples = np.asarray(forecast.samples, dtype=np.float64)
                steps = slice(b, min(b + self.prediction_length, n))
                width = steps.stop - steps.start
                low, middle, high = np.quantile(samples[:, :width], _SIGMA_QUANTILES, axis=0)
                spread = (high - low) / 2.0
                band.expected[steps] = middle
                band.lower[steps] = middle - z * spread
                band.upper[steps] = middle + z * spread
        return band


def _import_gluonts() -> dict[str, Any]:
    """GluonTS's estimator and dataset, or the install hint for the ``bench`` extra."""
    try:
        with quiet_loggers(_LIGHTNING_LOGGERS), quiet_fit():
            from gluonts.dataset.common import ListDataset
            from gluonts.torch import DeepAREstimator
            from gluonts.torch.distributions import NormalOutput
    except ImportError as err:
        raise MissingExtraError("gluonts", "bench") from err
    return {
        "DeepAREstimator": DeepAREstimator,
        "ListDataset": ListDataset,
        "NormalOutput": NormalOutput,
    }


def _period(moment: np.datetime64, freq: str) -> Any:
    import pandas as pd

    return pd.Period(pd.Timestamp(moment), freq=freq)
