"""The ``business`` family: business-hours traffic near zero at night and on weekends, bursty
regime-switching and overdispersed (gamma-Poisson) arrivals, 5-minute or hourly steps with about
1% of timestamps dropped, heavy-tailed features; incidents sized in sampling errors at a busy
step, some only in busy hours, slow multi-week drifts. See :mod:`vigil.lab.simulation.rows`."""

from __future__ import annotations

import numpy as np

from vigil.lab.labeled import LabeledSeries
from vigil.lab.simulation.rows import (
    BoolArray,
    FloatArray,
    Params,
    Rng,
    calendar,
    labeled_series,
    statistic_from_rows,
)

STATS = (
    "traffic",
    "latency_p50",
    "feature_mean_heavy",
    "rare_rate",
    "segment_share",
    "null_rate",
    "feature_std",
)


def business_series(rng: Rng, index: int) -> LabeledSeries:
    stat = STATS[index % len(STATS)]
    r = rng.random()
    if r < 0.35:
        step_s, days = 300, int(rng.integers(6, 16))
    else:
        step_s, days = 3600, int(rng.integers(30, 80))
    n_steps = days * 86400 // step_s
    start = np.datetime64("2025-01-06T00:00:00") + np.timedelta64(int(rng.integers(0, 120)), "D")
    ts = start + np.arange(n_steps) * np.timedelta64(step_s, "s")
    hours, weekday = calendar(ts)
    shape_kind = rng.choice(["business", "bursty", "flat"])
    per_step = rng.lognormal(np.log(300), 1.3) * step_s / 3600
    if shape_kind == "business":
        open_ = ((hours >= 8) & (hours < 18)).astype(float)
        prof = 0.03 + open_ * (1 - 0.5 * np.abs(hours - 13) / 5)
        prof = prof * np.where(weekday >= 5, rng.uniform(0.02, 0.2), 1.0)
    elif shape_kind == "bursty":
        state = np.zeros(n_steps)
        s = 0
        for i in range(n_steps):
            if rng.random() < (0.01 if s == 0 else 0.05):
                s = 1 - s
            state[i] = s
        prof = (1 + 0.6 * np.sin(2 * np.pi * (hours - 6) / 24)) * (1 + 1.5 * state)
    else:
        prof = np.ones(n_steps) * (1 + 0.2 * np.sin(2 * np.pi * hours / 24))
    lam = np.maximum(per_step * prof, 0.05)
    spd = 86400 // step_s
    labels = np.zeros(n_steps, bool)
    spans = []
    params = _base_params(rng, stat, n_steps, hours)
    lam_mult = np.ones(n_steps)
    override: dict[tuple[int, int], str] = {}
    if rng.random() >= 0.25:
        kinds = [
            "spike",
            "level_shift",
            "slow_drift",
            "variance_change",
            "stuck",
            "traffic_stop",
            "busy_hours_shift",
            "missing",
        ]
        if stat == "traffic":
            kinds = ["spike", "level_shift", "traffic_stop", "slow_drift", "segment_drop", "stuck"]
        for kind in rng.choice(kinds, size=int(rng.integers(1, 4)), replace=False):
            span = _place(rng, n_steps, spd, labels, str(kind))
            if span is None:
                continue
            a, b = span
            mask = _inject(rng, str(kind), stat, params, lam_mult, override, a, b, lam, hours)
            if mask is not None:
                labels[a:b] |= mask
                spans.append((a, b, str(kind)))
    # overdispersed arrivals: negative binomial via gamma-Poisson
    shape_k = rng.uniform(3, 30)
    mean = lam * lam_mult
    n = rng.poisson(rng.gamma(shape_k, mean / shape_k))
    values, stderr = statistic_from_rows(rng, _stat_kind(stat), n, params)
    for (a, b), how in override.items():
        if how == "stuck":
            last = values[a - 1]
            values[a:b] = last if not np.isnan(last) else np.nanmedian(values[:a])
            if _stat_kind(stat) != "traffic":  # every row reads the one value: no spread
                stderr[a:b] = 0.0
        elif how == "missing":
            values[a:b] = np.nan
            stderr[a:b] = np.nan
    # dropped timestamps (irregular steps): remove ~1% of steps outside labeled spans
    keep = rng.random(n_steps) > 0.01
    keep |= labels
    gran = {300: "5min", 3600: "hourly"}[step_s]
    return labeled_series(
        f"{index:03d}_{stat}_{gran}.csv",
        stat,
        ts[keep].astype("datetime64[s]"),
        values[keep],
        n[keep],
        labels[keep],
        _respan(spans, keep),
        model="business",
        stderr=stderr[keep],
    )


def _respan(spans: list[tuple[int, int, str]], keep: BoolArray) -> list[tuple[int, int, str]]:
    pos = np.cumsum(keep) - 1
    out = []
    for a, b, k in spans:
        out.append((int(pos[a]), int(pos[min(b, len(keep)) - 1]) + 1, k))
    return out


def _stat_kind(stat: str) -> str:
    return {
        "latency_p50": "latency_p50",
        "feature_mean_heavy": "feature_mean_heavy",
        "rare_rate": "rare_rate",
        "segment_share": "segment_share",
        "null_rate": "null_rate",
        "feature_std": "feature_std",
        "traffic": "traffic",
    }[stat]


def _base_params(rng: Rng, stat: str, n: int, hours: FloatArray) -> Params:
    if stat == "rare_rate":
        return {"p": np.full(n, rng.uniform(0.0005, 0.01))}
    if stat in ("segment_share", "null_rate"):
        base = rng.uniform(0.05, 0.5) if stat == "segment_share" else rng.uniform(0.01, 0.3)
        # share varies by hour (different users at night)
        return {"p": np.clip(base * (1 + 0.3 * np.cos(2 * np.pi * hours / 24)), 0, 1)}
    if stat == "latency_p50":
        return {
            "mu": np.log(rng.uniform(5, 80)) + 0.1 * np.cos(2 * np.pi * hours / 24),
            "sd": np.full(n, rng.uniform(0.4, 1.2)),
        }
    if stat == "feature_mean_heavy":
        return {
            "mu": np.full(n, rng.uniform(1, 50)),
            "sd": np.ones(n),
            "alpha": np.full(n, rng.uniform(2.2, 4.0)),
        }
    if stat == "feature_std":
        return {"mu": np.zeros(n), "sd": np.full(n, rng.uniform(0.5, 20))}
    return {}


def _place(rng: Rng, n: int, spd: int, taken: BoolArray, kind: str) -> tuple[int, int] | None:
    if kind == "spike":
        length = int(rng.integers(1, 3))
    elif kind == "slow_drift":
        length = int(rng.integers(5, 21)) * spd
    elif kind in ("traffic_stop", "stuck", "missing"):
        length = max(2, int(rng.integers(2, 12)) * spd // 24)
    else:
        length = max(3, int(rng.integers(12, 96)) * spd // 24)
    length = min(length, max(1, n // 4))
    for _ in range(30):
        start = int(rng.integers(n // 5, max(n // 5 + 1, n - length)))
        stop = min(n, start + length)
        if not taken[max(0, start - spd) : stop + spd].any():
            return start, stop
    return None


def _inject(
    rng: Rng,
    kind: str,
    stat: str,
    params: Params,
    lam_mult: FloatArray,
    override: dict[tuple[int, int], str],
    a: int,
    b: int,
    lam: FloatArray,
    hours: FloatArray,
) -> BoolArray | None:
    length = b - a
    mask = np.ones(length, bool)
    sign = rng.choice([-1.0, 1.0])
    if kind == "traffic_stop":
        lam_mult[a:b] = 0.0
        return mask
    if kind == "segment_drop":
        lam_mult[a:b] *= rng.uniform(0.4, 0.7)
        return mask
    if kind == "stuck":
        override[(a, b)] = "stuck"
        return mask
    if kind == "missing":
        if "p" in params and stat == "null_rate":
            params["p"][a:b] = 1.0
        else:
            override[(a, b)] = "missing"
        return mask
    ramp = np.linspace(0, 1, length) if kind == "slow_drift" else np.ones(length)
    if kind == "busy_hours_shift":
        busy = lam[a:b] >= np.quantile(lam, 0.5)
        if busy.sum() < 2:
            return None
        mask = busy
        ramp = busy.astype(float)
    big = rng.uniform(4, 10) if kind == "spike" else rng.uniform(2.5, 6)
    typical_n = float(np.quantile(lam, 0.75))
    if stat == "traffic":
        if kind == "spike":
            lam_mult[a:b] *= rng.uniform(2.5, 5) if sign > 0 else 0.1
        elif kind == "level_shift":
            lam_mult[a:b] *= rng.uniform(1.6, 2.5) if sign > 0 else rng.uniform(0.3, 0.55)
        elif kind == "slow_drift":
            lam_mult[a:b] *= np.linspace(1, rng.uniform(0.25, 0.5), length)
        else:
            return None
        return mask
    if "p" in params:
        p = params["p"]
        base = float(np.median(p[:a]))
        se = np.sqrt(base * (1 - base) / max(typical_n, 1))
        if kind == "variance_change":
            p[a:b] = np.clip(p[a:b] * np.exp(rng.normal(0, 0.7, length)), 0, 1)
            return mask
        p[a:b] = np.clip(p[a:b] + sign * ramp * (big * se + 0.15 * base), 0, 1)
        return mask
    if stat == "latency_p50":
        if kind == "variance_change":
            params["sd"][a:b] *= rng.uniform(1.5, 2.5)
        else:
            params["mu"][a:b] += sign * ramp * rng.uniform(0.15, 0.6)
        return mask
    if stat == "feature_mean_heavy":
        if kind == "variance_change":
            params["alpha"][a:b] = rng.uniform(1.3, 1.7)
        else:
            params["sd"][a:b] *= 1 + sign * ramp * rng.uniform(0.2, 0.5)
        return mask
    if stat == "feature_std":
        if kind == "variance_change":
            params["sd"][a:b] *= rng.uniform(1.5, 3)
        else:
            params["sd"][a:b] *= 1 + sign * ramp * rng.uniform(0.3, 0.6)
        return mask
    return None
