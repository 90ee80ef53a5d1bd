"""Attribution: the host or tag value that carries an incident's excess, by Dunning's LLR."""

from __future__ import annotations

import numpy as np

from vigil.incidents import attribute_latency, attribute_traffic
from vigil.profile import LogHistogram

RATIO = 0.01


def _latency(ms: float, n: int, seed: int) -> LogHistogram:
    values = np.random.default_rng(seed).lognormal(np.log(ms), 0.3, n)
    return LogHistogram.empty(RATIO).update(values)


def _fleet(slow: dict[str, float]) -> dict[str, LogHistogram]:
    return {f"h{i}": _latency(10.0 * slow.get(f"h{i}", 1.0), 400, i) for i in range(6)}


REFERENCE = LogHistogram.merge_all(list(_fleet({}).values()))


def test_the_slow_host_is_named_with_most_of_the_excess() -> None:
    (found,) = attribute_latency(_fleet({"h3": 5.0}), REFERENCE)
    assert (found.dimension, found.value) == ("host", "h3")
    assert found.share > 0.9 and found.rate > 0.9 and found.others < 0.05
    assert found.root_llr > 5


def test_a_fleet_that_slows_down_together_names_no_host() -> None:
    assert attribute_latency(_fleet({f"h{i}": 3.0 for i in range(6)}), REFERENCE) == []
    assert attribute_latency(_fleet({}), REFERENCE) == []


def test_a_host_slightly_slower_than_the_rest_is_not_named() -> None:
    """Evidence of a small effect is not what to read first: the rate must be twice the rest's."""
    assert attribute_latency(_fleet({"h2": 1.15}), REFERENCE) == []


def test_the_region_that_lost_its_traffic_is_named() -> None:
    before = {"eu": 4500, "us": 4000, "apac": 1500}
    after = {"eu": 450, "us": 4000, "apac": 1500}
    (found,) = attribute_traffic("tag:region", after, before)
    assert (found.dimension, found.value, str(found)) == ("tag:region", "eu", "region eu")
    assert attribute_traffic("tag:region", {k: v // 3 for k, v in before.items()}, before) == []
    assert attribute_traffic("tag:region", {}, before) == []  # a stop is the whole model's
