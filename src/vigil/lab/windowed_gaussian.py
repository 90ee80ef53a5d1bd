"""NAB's ``windowedGaussian`` detections, rebuilt to check Vigil's NAB scorer against NAB's own.

NAB publishes, per detector and profile, the score its scorer gave every data file at the
detector's optimised threshold (``results/windowedGaussian/windowedGaussian_<profile>_scores.csv``
in numenta/NAB). ``windowedGaussian`` is simple enough to rebuild: it scores each row by the
Gaussian tail of the row's value against the mean and population standard deviation of the rows
before it (at most ``window`` of them; a zero deviation counts as 1e-6). Its published thresholds
are 1.0 (standard and low-FN profiles) and 2.0 (low-FP: nothing detected), so only the rows it
scores exactly 1.0 matter, and those are what this module returns.

Two constants were fitted to the published files rather than read from NAB's current detector
code (which says a window of 1,000 and an upper cut of 7.05 deviations): the published results
come from a window of 6,400 rows and flag a row when ``round(10·z) > 71``, i.e. ``z ≥ 7.15``.
With those two numbers every one of the 30 files in ``../shared/data/nab`` gets NAB's published
score in both profiles, to 1e-9 (``vigil/lab/tests/test_nab_published.py``). Two constants
cannot fit 60 numbers by chance, so the check stands on the scorer's side: windows, probation,
the sigmoid weights and the earliest-detection rule.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

WINDOW_ROWS = 6400
CUT_TENTHS = 71
"""A row is flagged when its value is above the earlier rows' mean by ``round(10·z) > 71``."""


def windowed_gaussian_flags(
    values: FloatArray, *, window: int = WINDOW_ROWS, cut_tenths: int = CUT_TENTHS
) -> FloatArray:
    """1.0 where NAB's ``windowedGaussian`` scores a row 1.0, else 0.0 (the first row is 0).

    Row ``i`` is compared with rows ``max(0, i - window) … i - 1``; ``round`` is half up, as
    in the Python 2 NAB ran on. A loop, not running sums: the check needs NAB's arithmetic,
    and a cancelling running variance could move a borderline row across the cut.
    """
    values = np.asarray(values, dtype=np.float64)
    flags = np.zeros(values.shape)
    for i in range(1, values.size):
        before = values[max(0, i - window) : i]
        spread = float(np.std(before)) or 1e-6
        tenths = 10.0 * (values[i] - float(np.mean(before))) / spread
        flags[i] = float(np.floor(tenths + 0.5) > cut_tenths)
    return flags
