"""The ``payments`` family: a held-out check written in the session that fixed the default
detector's combination, *before* any tuning for goal 3 and without running a detector on it
(seeds 1 and 2 are the judged ones; nothing was chosen on them).

Shapes the other families lack: two daily peaks (lunch and evening), paydays (the 1st and the
15th, busy and routine), traffic growing or shrinking over the series, a daylight-saving shift
of the whole day by an hour, 1-minute, 30-minute and 2-hour steps, traffic from a few rows a
day to hundreds of thousands. Statistics from rows: mean of heavy-tailed amounts, mean of a
bounded fraud score, an approval rate lower at night, one issuer's share of declines among five,
a p95 latency with garbage-collection pauses, a field's null rate mixed from two upstreams, the
number of distinct merchants (not linear in ``n``), and the request count.

Incidents, sized in relative terms (some subtle): an upstream filling a default value for part
of the rows, a bot burst (more rows from a different population), a flapping outage, a slow
calibration drift, one issuer's outage, a latency creep, nulls from one upstream, a merchant
partner leaving, a delayed batch (a step empty, the next doubled). See
:mod:`vigil.lab.simulation.rows`.
"""

from __future__ import annotations

import numpy as np

from vigil.lab.labeled import LabeledSeries
from vigil.lab.simulation.rows import (
    BoolArray,
    FloatArray,
    IntArray,
    Rng,
    calendar,
    labeled_series,
    sample_mean_stderr,
    sample_quantile_stderr,
)
from vigil.stats.standard_errors import proportion_stderr

STATS = (
    "amount_mean",
    "fraud_score_mean",
    "approval_rate",
    "issuer_decline_share",
    "latency_p95",
    "null_rate",
    "distinct_merchants",
    "requests",
)
KINDS = {
    "amount_mean": ["default_fill", "bot_burst", "level_shift"],
    "fraud_score_mean": ["default_fill", "calibration_drift", "bot_burst"],
    "approval_rate": ["bot_burst", "issuer_outage", "calibration_drift"],
    "issuer_decline_share": ["issuer_outage", "bot_burst"],
    "latency_p95": ["latency_creep", "bot_burst", "flapping_outage"],
    "null_rate": ["upstream_nulls", "flapping_outage"],
    "distinct_merchants": ["merchant_loss", "flapping_outage", "delayed_batch"],
    "requests": ["flapping_outage", "bot_burst", "delayed_batch", "merchant_loss"],
}


def payments_series(rng: Rng, index: int) -> LabeledSeries:
    stat = STATS[index % len(STATS)]
    step_s, days = [
        (60, int(rng.integers(2, 6))),
        (1800, int(rng.integers(20, 60))),
        (7200, int(rng.integers(60, 120))),
    ][int(rng.choice(3, p=[0.25, 0.5, 0.25]))]
    n_steps = days * 86400 // step_s
    start = np.datetime64("2026-02-02T00:00:00") + np.timedelta64(int(rng.integers(0, 200)), "D")
    ts = start + np.arange(n_steps) * np.timedelta64(step_s, "s")
    hours, _ = calendar(ts)
    dst = ts >= ts[int(rng.integers(n_steps // 3, n_steps))]  # the local day moves an hour
    local = (hours + np.where(dst, 1.0, 0.0) + rng.uniform(-3, 3)) % 24
    peaks = (
        0.15
        + np.exp(-0.5 * ((local - 12.5) / 1.5) ** 2)
        + 1.3 * np.exp(-0.5 * ((local - 19.5) / 2.0) ** 2)
    )
    day_of_month = (ts.astype("datetime64[D]") - ts.astype("datetime64[M]")).astype(int) + 1
    payday = np.where(np.isin(day_of_month, [1, 15]), rng.uniform(1.4, 2.2), 1.0)
    growth = np.exp(np.linspace(0, np.log(rng.uniform(0.6, 2.5)), n_steps))
    per_day = rng.lognormal(np.log(5000), 1.8)
    lam = per_day * step_s / 86400 * peaks / peaks.mean() * payday * growth
    labels = np.zeros(n_steps, bool)
    spans: list[tuple[int, int, str]] = []
    mult = np.ones(n_steps)
    effect = {k: np.zeros(n_steps) for k in ("fill", "bot", "drift", "issuer", "creep", "nulls")}
    shift = np.ones(n_steps)
    spd = max(1, 86400 // step_s)
    if rng.random() >= 0.2:
        kinds = KINDS[stat]
        for kind in rng.choice(
            kinds, size=int(rng.integers(1, min(3, len(kinds)) + 1)), replace=False
        ):
            span = _place(rng, n_steps, spd, step_s, labels, str(kind))
            if span is None:
                continue
            a, b = span
            _inject(rng, str(kind), a, b, mult, effect, shift)
            labels[a:b] = True
            spans.append((a, b, str(kind)))
    n = rng.poisson(rng.gamma(8.0, lam * mult / 8.0))
    for a, _, kind in spans:
        if kind == "delayed_batch":  # the rows of step a arrive with step a + 1
            n[a + 1] += n[a]
            n[a] = 0
    values, stderr = _statistic(rng, stat, n, local, effect, shift)
    gran = {60: "1min", 1800: "30min", 7200: "2h"}[step_s]
    return labeled_series(
        f"{index:03d}_{stat}_{gran}.csv",
        stat,
        ts.astype("datetime64[s]"),
        values,
        n,
        labels,
        spans,
        model="payments",
        stderr=stderr,
    )


def _place(
    rng: Rng, n: int, spd: int, step_s: int, taken: BoolArray, kind: str
) -> tuple[int, int] | None:
    hours = {
        "bot_burst": rng.uniform(1, 4),
        "flapping_outage": rng.uniform(6, 24),
        "delayed_batch": 0.0,
        "issuer_outage": rng.uniform(1, 8),
        "latency_creep": rng.uniform(12, 48),
    }.get(kind, rng.uniform(24, 24 * 6))
    if kind == "calibration_drift":
        hours = rng.uniform(3, 10) * 24
    length = 2 if kind == "delayed_batch" else max(2, int(hours * 3600 / step_s))
    length = min(length, max(2, n // 5))
    for _ in range(30):
        a = int(rng.integers(n // 4, max(n // 4 + 1, n - length)))
        if not taken[max(0, a - spd) : a + length + spd].any():
            return a, a + length
    return None


def _inject(
    rng: Rng,
    kind: str,
    a: int,
    b: int,
    mult: FloatArray,
    effect: dict[str, FloatArray],
    shift: FloatArray,
) -> None:
    length = b - a
    if kind == "default_fill":
        effect["fill"][a:b] = rng.uniform(0.1, 0.6)
    elif kind == "bot_burst":
        share = rng.uniform(0.3, 0.8)
        mult[a:b] *= 1.0 / (1.0 - share)
        effect["bot"][a:b] = share
    elif kind == "level_shift":
        shift[a:b] = rng.choice([0.8, 0.85, 1.2, 1.3])
    elif kind == "calibration_drift":
        effect["drift"][a:b] = np.linspace(0, rng.uniform(0.5, 1.5), length)
    elif kind == "issuer_outage":
        effect["issuer"][a:b] = rng.uniform(0.3, 0.9)
    elif kind == "latency_creep":
        effect["creep"][a:b] = np.linspace(0, np.log(rng.uniform(1.3, 2.0)), length)
    elif kind == "upstream_nulls":
        effect["nulls"][a:b] = rng.uniform(0.02, 0.1)
    elif kind == "merchant_loss":
        mult[a:b] *= rng.uniform(0.6, 0.8)
        shift[a:b] = rng.uniform(0.6, 0.8)
    elif kind == "flapping_outage":
        down = rng.random(length) < 0.35
        mult[a:b] *= np.where(down, rng.uniform(0.0, 0.2), 1.0)


def _statistic(
    rng: Rng,
    stat: str,
    n: IntArray,
    local: FloatArray,
    effect: dict[str, FloatArray],
    shift: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """The statistic per step from its rows, and its standard error (NaN for counts)."""
    out = np.full(n.size, np.nan)
    se = np.full(n.size, np.nan)
    night = (local < 6) | (local >= 23)
    merchants = int(rng.integers(50, 5000))
    for i in range(n.size):
        k = int(n[i])
        if stat == "requests":
            out[i] = k
            continue
        if k == 0:
            continue
        m = min(k, 20000)
        bots = rng.random(m) < effect["bot"][i]
        if stat == "amount_mean":
            x = rng.lognormal(3.5, 1.1, m) * shift[i]
            x = np.where(bots, rng.uniform(1, 5, m), x)
            x = np.where(rng.random(m) < effect["fill"][i], 0.0, x)
            out[i], se[i] = x.mean(), sample_mean_stderr(x)
        elif stat == "fraud_score_mean":
            x = rng.beta(1.2 + effect["drift"][i], 12.0, m)
            x = np.where(bots, rng.beta(6, 4, m), x)
            x = np.where(rng.random(m) < effect["fill"][i], 0.5, x)
            out[i], se[i] = x.mean(), sample_mean_stderr(x)
        elif stat == "approval_rate":
            p = (0.93 if not night[i] else 0.85) - 0.05 * effect["drift"][i]
            p = np.where(bots, 0.4, p - 0.1 * effect["issuer"][i])
            out[i] = float(np.mean(rng.random(m) < p))
            se[i] = proportion_stderr(out[i], m)
        elif stat == "issuer_decline_share":
            share = 0.2 + 0.3 * effect["issuer"][i]
            share = np.where(bots, 0.05, share)
            out[i] = float(np.mean(rng.random(m) < share))
            se[i] = proportion_stderr(out[i], m)
        elif stat == "latency_p95":
            x = rng.lognormal(np.log(40) + effect["creep"][i], 0.35, m)
            x = np.where(rng.random(m) < 0.01 + 0.05 * bots, x + rng.exponential(400, m), x)
            out[i], se[i] = np.quantile(x, 0.95), sample_quantile_stderr(x, 0.95)
        elif stat == "null_rate":
            upstream_b = rng.random(m) < (0.7 if night[i] else 0.3)
            p = np.where(upstream_b, 0.02 + effect["nulls"][i], 0.005)
            out[i] = float(np.mean(rng.random(m) < p))
            se[i] = proportion_stderr(out[i], m)
        elif stat == "distinct_merchants":
            ranks = rng.zipf(1.3, m)
            ranks = ranks[ranks <= merchants * shift[i]]
            out[i] = float(np.unique(ranks).size)
    return out, se
