"""Vigil's NAB scorer against NAB's published per-file scores, on the 30 files we have.

``results/windowedGaussian/windowedGaussian_standard_scores.csv`` and
``…_reward_low_FN_rate_scores.csv`` in numenta/NAB list the score NAB's own scorer gave each data
file at the detector's optimised threshold (1.0 in both profiles). Rebuilding the detector's
detections (:mod:`vigil.lab.windowed_gaussian`) and scoring them with :func:`score_at` must give
the same 60 numbers: windows, probation, sigmoid weights and the earliest-detection rule all
enter them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigil.lab.labeled import load_nab
from vigil.lab.nab import nab_rows, profile_weights, score_at
from vigil.lab.windowed_gaussian import windowed_gaussian_flags

NAB = Path(__file__).resolve().parents[4] / "../shared/data/nab"

PUBLISHED: dict[str, tuple[float, float]] = {
    # file: (standard, reward_low_FN_rate), NAB's results at threshold 1.0
    "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv": (-1.266678759349383, -2.26667875935),
    "realAWSCloudwatch/ec2_cpu_utilization_53ea38.csv": (-0.14142319611668508, -0.141423196117),
    "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv": (-2.0, -4.0),
    "realAWSCloudwatch/ec2_cpu_utilization_77c1ca.csv": (-1.0, -2.0),
    "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv": (-1.0, -2.0),
    "realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv": (0.8606718242697022, 0.86067182427),
    "realAWSCloudwatch/ec2_cpu_utilization_c6585a.csv": (-1.3200000000000003, -1.32),
    "realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv": (0.6387577917723906, -0.361242208228),
    "realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv": (-4.190896785522053, -4.19089678552),
    "realAWSCloudwatch/ec2_disk_write_bytes_c0d644.csv": (-1.0959985303155564, -2.09599853032),
    "realAWSCloudwatch/ec2_network_in_257a54.csv": (0.8606718242697022, 0.86067182427),
    "realAWSCloudwatch/ec2_network_in_5abac7.csv": (-3.5219322351911635, -3.52193223519),
    "realAWSCloudwatch/elb_request_count_8c0756.csv": (-0.13844919792440225, -1.13844919792),
    "realAWSCloudwatch/grok_asg_anomaly.csv": (-1.247930964293478, -3.24793096429),
    "realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv": (-2.0, -4.0),
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv": (-0.13844919792440225, -1.13844919792),
    "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv": (-0.13844919792440225, -1.13844919792),
    "realAdExchange/exchange-2_cpc_results.csv": (-1.0, -2.0),
    "realAdExchange/exchange-2_cpm_results.csv": (-2.0, -4.0),
    "realAdExchange/exchange-3_cpc_results.csv": (2.5026632611866138, 2.50266326119),
    "realAdExchange/exchange-3_cpm_results.csv": (0.862098587352162, 0.862098587352),
    "realAdExchange/exchange-4_cpc_results.csv": (0.2922884634276035, -0.707711536572),
    "realAdExchange/exchange-4_cpm_results.csv": (1.274710362684976, 0.274710362685),
    "realTraffic/TravelTime_387.csv": (-1.7959813307852819, -3.79598133079),
    "realTraffic/TravelTime_451.csv": (-1.0, -2.0),
    "realTraffic/occupancy_6005.csv": (-1.0, -2.0),
    "realTraffic/occupancy_t4013.csv": (1.725221520228401, 1.72522152023),
    "realTraffic/speed_6005.csv": (-1.0, -2.0),
    "realTraffic/speed_7578.csv": (-4.0, -8.0),
    "realTraffic/speed_t4013.csv": (-2.0, -4.0),
}


@pytest.mark.skipif(not NAB.is_dir(), reason="shared NAB data not present")
def test_every_file_scores_what_nab_published() -> None:
    dataset = load_nab(NAB)
    assert sorted(one.name for one in dataset.series) == sorted(PUBLISHED)
    mismatched = []
    for one in dataset.series:
        file, _ = nab_rows(NAB, one)
        values = pd.read_csv(NAB / "data" / one.name)["value"].to_numpy(np.float64)
        flags = windowed_gaussian_flags(values)
        for profile, published in zip(
            ("standard", "reward_low_FN_rate"), PUBLISHED[one.name], strict=True
        ):
            got = score_at([file], [flags], profile_weights(profile), 1.0).raw
            # NAB printed the low-FN file with 12 significant digits.
            if got != pytest.approx(published, abs=1e-9 if profile == "standard" else 1e-10):
                mismatched.append((one.name, profile, got, published))
    assert mismatched == []


def test_a_row_is_flagged_only_beyond_the_cut() -> None:
    base = np.tile([0.0, 1.0], 50)  # mean 0.5, population deviation 0.5
    for tenths, flagged in ((71.4, 0.0), (71.6, 1.0)):
        values = np.r_[base, 0.5 + 0.5 * tenths / 10]
        assert windowed_gaussian_flags(values)[-1] == flagged
    assert windowed_gaussian_flags(np.r_[base, -100.0])[-1] == 0.0  # a drop is not flagged


def test_the_window_forgets_old_rows() -> None:
    values = np.r_[np.full(10, 1000.0), np.tile([0.0, 1.0], 5), 5.0]
    assert windowed_gaussian_flags(values, window=10)[-1] == 1.0
    assert windowed_gaussian_flags(values, window=21)[-1] == 0.0
