"""How soon can any test see ``vigil bench quality``'s gradual drift, at a false-alarm budget?

A Monte Carlo of hourly sample means of a normal column (sd 1) with the month's daily rhythm
(``rows/24 * (1 + 0.6 sin(2π(h - 9)/24))`` rows in hour ``h``) and a drift of 0.1 sd a day from
a day's start (the simulator's ``num_slow``: +1 sd over ten days). The day-long reference of
day ``D`` is days ``D-8..D-2`` pooled, as ``drift_day_series`` has it. Tests, each evaluated
every hour:

- ``day``: the trailing 24 h's mean against the reference (Vigil's ``mean_1d``, with its
  0.05 sd floor), two-sided; ``day1s`` the same one-sided (the drift's direction known);
- ``cusumK``: a two-sided CUSUM of the hourly ``z`` against the reference, allowance ``K``;
- ``rampL``: the trailing ``L`` hours weighted linearly (the likelihood ratio's weights for a
  drift that began ``L`` hours ago), against the reference (``D-9..D-3`` for 48 h);
- ``ramp24s``: ``ramp24`` with each hour compared with the reference's mean of the same hour of
  the day (days ``D-8..D-2``), so a daily rhythm in the column's mean cancels, with the 0.05 sd
  floor on the weighted shift (what ``vigil.stats`` builds as ``recent_mean_1d``);
- ``ramp12``, ``ramp36``: the same weights for a drift 12 or 36 h old (whole-day reference);
  ``multi``: the largest of ``ramp12``, ``ramp24``, ``ramp48`` (at ``z`` = 4.89 each is taken at
  Bonferroni's alpha / 3, z 5.10);
- ``slope48``: the weighted least-squares slope of the last 48 hourly means over its standard
  error (a trend within the window, no reference);
- ``oracle``: knows the start, slope and direction; its ``z`` is computed, not simulated.

Each test's threshold is the ``1 - FA`` quantile of its largest value over a calm column-day
(``FA`` the false alarms per column-day), so all are compared at the same rate; the last block
uses Vigil's own ``z`` = 4.89 (alpha 1e-6). Printed: the median delay to the first hour over
the threshold, its 10th-90th percentiles and the share caught within 24 h. The ``pair`` block
tests ``ramp24s`` beside Vigil's ``day`` (at z 4.89), ``ramp24s`` at the threshold that gives it
alone the stated false rate per calm column-day; the pair's own calm rate is printed with it.

    python benchmarks/drift_delay.py --rows 1000 --streams 10000 --calm-days 40 --seed 2
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.special import ndtr, ndtri

SLOPE = 0.1 / 24  # sd per hour
ALLOWANCES = (0.25, 0.5, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--streams", type=int, default=10000)
    parser.add_argument("--calm-days", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    hours = np.arange(24)
    per_hour = args.rows / 24 * (1 + 0.6 * np.sin(2 * np.pi * (hours - 9) / 24))

    def stream(days: int, drift_day: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        n = np.tile(per_hour, days)
        x = rng.standard_normal((args.streams, days * 24)) / np.sqrt(n)
        if drift_day is not None:
            x += SLOPE * np.clip(np.arange(days * 24) - drift_day * 24 + 0.5, 0, None)
        return x, n

    calm_x, calm_n = stream(10 + args.calm_days)
    calm = _statistics(calm_x, calm_n, 10, args.calm_days)
    daily_max = {k: v.reshape(len(v), args.calm_days, 24).max(2).ravel() for k, v in calm.items()}
    drift_x, drift_n = stream(15, drift_day=10)
    drift = _statistics(drift_x, drift_n, 10, 5)

    def oracle_z(t: int) -> float:
        n = per_hour[np.arange(t) % 24]
        shift = SLOPE * (np.arange(t) + 0.5)
        signal = float((n * shift * shift).sum())
        return signal / np.sqrt(signal + float((n * shift).sum()) ** 2 / (7 * args.rows))

    print(
        f"{args.rows} rows/day: oracle z at 24 h {oracle_z(24):.2f}, 36 h {oracle_z(36):.2f}, "
        f"48 h {oracle_z(48):.2f}"
    )
    for budget in (1 / 300, 1e-3, 1e-4, None):
        label = "z 4.89 (alpha 1e-6)" if budget is None else f"{budget:.1e} false per column-day"
        print(label)
        for name, values in drift.items():
            if budget is None:
                if name.startswith("cusum"):
                    continue
                threshold = {"day1s": 4.75, "multi": 5.10}.get(name, 4.89)
            else:
                threshold = float(np.quantile(daily_max[name], 1 - budget))
            hit = values > threshold
            first = np.where(hit.any(1), hit.argmax(1) + 1, np.inf)
            low, mid, high = np.percentile(first, [10, 50, 90])
            print(
                f"  {name:10s} threshold {threshold:6.2f}  median {mid:3.0f} h "
                f"({low:.0f}-{high:.0f})  within 24 h {np.mean(first <= 24):.2f}"
            )
        if budget is not None:
            z = float(ndtri(1 - budget))
            cross = next((t for t in range(1, 200) if oracle_z(t) >= z), None)
            print(
                f"  oracle, one look at z {z:.2f}: mean z reaches it at {cross} h, "
                f"over it at 24 h with chance {ndtr(oracle_z(24) - z):.2f}"
            )
    print("pair: day at z 4.89 and ramp24s at the threshold of its own calm rate")
    calm_day = daily_max["day"] > 4.89
    for budget in (1e-3, 3e-4, 1e-4, 3e-5, 1e-5):
        threshold = float(np.quantile(daily_max["ramp24s"], 1 - budget))
        pair_calm = np.mean(calm_day | (daily_max["ramp24s"] > threshold))
        hit = (drift["day"] > 4.89) | (drift["ramp24s"] > threshold)
        first = np.where(hit.any(1), hit.argmax(1) + 1, np.inf)
        low, mid, high = np.percentile(first, [10, 50, 90])
        print(
            f"  ramp24s {budget:.0e} per column-day: z {threshold:.2f} (alpha per test "
            f"{2 * ndtr(-threshold):.1e}); pair calm {pair_calm:.1e}; median {mid:.0f} h "
            f"({low:.0f}-{high:.0f}), within 24 h {np.mean(first <= 24):.2f}"
        )


def _statistics(x: np.ndarray, n: np.ndarray, first_day: int, days: int) -> dict[str, np.ndarray]:
    """Per stream and hour from ``first_day`` on, each test's statistic (larger: more change)."""
    streams = x.shape[0]
    names = (
        "day",
        "day1s",
        *(f"cusum{k:g}" for k in ALLOWANCES),
        "ramp12",
        "ramp24",
        "ramp36",
        "ramp48",
        "ramp24s",
        "multi",
        "slope48",
    )
    out = {name: np.zeros((streams, days * 24)) for name in names}
    total, count = np.cumsum(x * n, axis=1), np.cumsum(n)
    upper = {k: np.zeros(streams) for k in ALLOWANCES}
    lower = {k: np.zeros(streams) for k in ALLOWANCES}
    for day in range(first_day, first_day + days):
        reference, n_reference = _reference(x, n, day, 8, 2)
        earlier, n_earlier = _reference(x, n, day, 9, 3)
        span = slice((day - 8) * 24, (day - 1) * 24)
        by_slot = x[:, span].reshape(streams, 7, 24).mean(1)
        for hour in range(24):
            w, j = day * 24 + hour, (day - first_day) * 24 + hour
            n_day = count[w] - count[w - 24]
            diff = (total[:, w] - total[:, w - 24]) / n_day - reference
            se = np.sqrt(1 / n_day + 1 / n_reference)
            out["day"][:, j] = np.where(np.abs(diff) > 0.05, np.abs(diff) / se, 0.0)
            out["day1s"][:, j] = np.where(diff > 0.05, diff / se, 0.0)
            z = (x[:, w] - reference) / np.sqrt(1 / n[w] + 1 / n_reference)
            for k in ALLOWANCES:
                upper[k] = np.maximum(0.0, upper[k] + z - k)
                lower[k] = np.maximum(0.0, lower[k] - z - k)
                out[f"cusum{k:g}"][:, j] = np.maximum(upper[k], lower[k])
            for span in (12, 24, 36, 48):
                base, n_base = (reference, n_reference) if span <= 24 else (earlier, n_earlier)
                rows = n[w - 23 - (span > 24) * 24 : w + 1]
                weights = np.clip(np.arange(len(rows)) - (len(rows) - span) + 1, 0, None) * rows
                signal = ((x[:, w - len(rows) + 1 : w + 1] - base[:, None]) * weights).sum(1)
                noise = (weights**2 / rows).sum() + weights.sum() ** 2 / n_base
                out[f"ramp{span}"][:, j] = np.abs(signal) / np.sqrt(noise)
            rows = n[w - 23 : w + 1]
            weights = np.arange(1, 25) * rows
            slots = np.arange(w - 23, w + 1) % 24
            gap = x[:, w - 23 : w + 1] - by_slot[:, slots]
            shift = (gap * weights).sum(1) / weights.sum()
            noise = (weights**2 / rows).sum() + (weights**2 / (7 * rows)).sum()
            z_slot = np.abs((gap * weights).sum(1)) / np.sqrt(noise)
            out["ramp24s"][:, j] = np.where(np.abs(shift) > 0.05, z_slot, 0.0)
            out["multi"][:, j] = np.maximum.reduce([out[f"ramp{s}"][:, j] for s in (12, 24, 48)])
            rows = n[w - 47 : w + 1]
            t = np.arange(48) - np.average(np.arange(48), weights=rows)
            slope = (x[:, w - 47 : w + 1] * rows * t).sum(1) / (rows * t * t).sum()
            out["slope48"][:, j] = np.abs(slope) * np.sqrt((rows * t * t).sum())
    return out


def _reference(
    x: np.ndarray, n: np.ndarray, day: int, first: int, last: int
) -> tuple[np.ndarray, float]:
    """Days ``day - first`` .. ``day - last`` pooled: their mean per stream and their rows."""
    span = slice((day - first) * 24, (day - last + 1) * 24)
    return (x[:, span] * n[span]).sum(1) / n[span].sum(), float(n[span].sum())


if __name__ == "__main__":
    main()
