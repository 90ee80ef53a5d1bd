"""Which kurtosis should the standard deviation's test use? Flags of ``std_band`` at Vigil's
alpha (1e-6) on simulated windows, for four readings of the kurtosis:

- ``reference``: the reference's own (main before issue 20's fix);
- ``layard``: both samples' raw fourth and second moments pooled, each about its own mean;
- ``by_n``: the mean of the two samples' own kurtosis, weighted by their values;
- ``heavier``: the larger of the two samples' own (``vigil.stats.kurtosis.heavier_kurtosis``);
- ``extremes``: ``heavier``, or more where a side's farthest value alone says so: one value
  ``d`` from the mean makes the kurtosis at least ``(d / sd)^4 / n``
  (``vigil.stats.kurtosis.extreme_kurtosis``, read from the exact moments: min, max, mean, sd).

``--sketch`` reads each side's kurtosis from a KLL sketch of Vigil's default ``k`` (what the
product reads: beyond a few hundred values a sketch keeps about half of each compacted level,
so a window's largest value may not be among its items), else from the exact values.
``student-t`` draws both sides from Student's t with ``--df`` degrees of freedom.

    python benchmarks/std_kurtosis.py --case lognormal --current 200 --reference 1400 --draws 20000
    python benchmarks/std_kurtosis.py --case student-t --df 3 --sketch --current 500 ...

(``--current 500 --reference 3500``: an hour of calm seed 60's model calm-1 against its week.)
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from vigil.profile import Moments, QuantileSketch
from vigil.profile.spec import DEFAULT_KLL_K
from vigil.stats.change import ChangeTest, std_band
from vigil.stats.kurtosis import extreme_kurtosis, heavier_kurtosis, kurtosis_of
from vigil.stats.sketches import ExactQuantiles

CASES = {
    "lognormal": (lambda r, n: r.lognormal(3.0, 1.0, n), lambda r, n: r.lognormal(3.0, 1.0, n)),
    "normal": (lambda r, n: r.normal(0.0, 1.0, n), lambda r, n: r.normal(0.0, 1.0, n)),
    "variance-x2": (
        lambda r, n: r.normal(0.0, math.sqrt(2.0), n),
        lambda r, n: r.normal(0.0, 1.0, n),
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=[*sorted(CASES), "student-t"], required=True)
    parser.add_argument("--current", type=int, required=True)
    parser.add_argument("--reference", type=int, required=True)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--df", type=float, default=3.0)
    parser.add_argument("--sketch", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.case == "student-t":
        draw_current = draw_reference = lambda r, n: r.standard_t(args.df, n)
    else:
        draw_current, draw_reference = CASES[args.case]
    test = ChangeTest()
    flags = dict.fromkeys(("reference", "layard", "by_n", "heavier", "extremes"), 0)
    for _ in range(args.draws):
        current = draw_current(rng, args.current)
        reference = draw_reference(rng, args.reference)
        if args.sketch:
            cur = QuantileSketch.empty(DEFAULT_KLL_K).update(current)
            ref = QuantileSketch.empty(DEFAULT_KLL_K).update(reference)
        else:
            cur, ref = ExactQuantiles.of(current), ExactQuantiles.of(reference)
        moments_cur, moments_ref = Moments.of(current), Moments.of(reference)
        k_cur, k_ref = kurtosis_of(cur), kurtosis_of(ref)
        readings = {
            "reference": k_ref,
            "layard": _layard(current, reference),
            "by_n": (current.size * k_cur + reference.size * k_ref)
            / (current.size + reference.size),
            "heavier": heavier_kurtosis(cur, ref),
            "extremes": max(
                heavier_kurtosis(cur, ref),
                extreme_kurtosis(moments_cur),
                extreme_kurtosis(moments_ref),
            ),
        }
        for name, kurtosis in readings.items():
            band = std_band(moments_cur, moments_ref, test, kurtosis=kurtosis)
            flags[name] += not band.contains(moments_cur.std)
    print(
        f"{args.case}{f' df {args.df:g}' if args.case == 'student-t' else ''}"
        f"{' (sketched)' if args.sketch else ''}, {args.current} vs {args.reference} values, "
        f"{args.draws} draws: flagged "
        + ", ".join(f"{name} {count}" for name, count in flags.items())
    )


def _layard(current: np.ndarray, reference: np.ndarray) -> float:
    """Both samples' central moments, each about its own mean, pooled (Layard 1973)."""
    parts = [values - values.mean() for values in (current, reference)]
    total = sum(part.size for part in parts)
    m2 = sum(float(np.sum(part**2)) for part in parts) / total
    m4 = sum(float(np.sum(part**4)) for part in parts) / total
    return m4 / m2**2


if __name__ == "__main__":
    main()
