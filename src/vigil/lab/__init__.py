"""Vigil's laboratory: everything that simulates, judges or trains. Product code never imports it.

- ``simulation``: synthetic data (labeled health series, real-time streams, inference logs of a
  whole platform, the dashboard's sample store);
- ``labeled`` and ``scoring``: labeled data sets (NAB, labeled CSVs) and how flags are judged
  against labels (event-wise, point-wise, NAB);
- ``forecasting``: the forecasting baselines (AR, ARIMA, SARIMAX, Prophet, MSTL, DeepAR);
- ``training``: PyTorch training of the deep detector (the ``train`` extra; imported on demand);
- ``demo`` and ``evaluation``: ``vigil demo`` and how its incidents are scored;
- ``loadtest``: the ingest load tester;
- ``registry``: the bench's detectors, the product's plus the baselines.

Importing this package imports no optional dependency: forecasters import their libraries
inside the function that needs them, and ``training`` is imported only by whoever trains.
"""

from vigil.lab.labeled import (
    LabeledDataset,
    LabeledSeries,
    load_dataset,
    load_labeled_csvs,
    load_nab,
    runs,
    write_labeled_csvs,
)
from vigil.lab.registry import BENCH_DETECTORS, FORECASTING_DETECTORS, make_bench_detector
from vigil.lab.scoring import (
    MISSED,
    NAB_PROFILES,
    PROBATION,
    NabProfile,
    Tally,
    nab_probation,
    nab_raw_score,
    tally,
    window_delays,
)
from vigil.lab.simulation.series import simulate_series

__all__ = [
    "BENCH_DETECTORS",
    "FORECASTING_DETECTORS",
    "MISSED",
    "NAB_PROFILES",
    "PROBATION",
    "LabeledDataset",
    "LabeledSeries",
    "NabProfile",
    "Tally",
    "load_dataset",
    "load_labeled_csvs",
    "load_nab",
    "make_bench_detector",
    "nab_probation",
    "nab_raw_score",
    "runs",
    "simulate_series",
    "tally",
    "window_delays",
    "write_labeled_csvs",
]
