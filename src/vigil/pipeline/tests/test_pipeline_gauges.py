"""The gauges Prometheus is shown are the stored series' values at the latest window, bounded."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from vigil.core import Family, SeriesKey, StoreError, Window
from vigil.incidents import IncidentState, opening_problem
from vigil.ingest import QuarantinedRow
from vigil.lab.simulation.sample import seed_sample
from vigil.pipeline.gauges import ModelGauges, read_gauges
from vigil.pipeline.metrics import MODEL_METRICS, ModelCollector
from vigil.stats import Series
from vigil.store import MemoryStore

NOW = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
LATEST = datetime(2026, 11, 25, 2, tzinfo=UTC)  # the sample's last whole hour


def seeded() -> MemoryStore:
    store = MemoryStore()
    seed_sample(store, now=NOW)
    return store


def value_at(store: MemoryStore, key: SeriesKey, at: datetime) -> float:
    (series,) = [s for s in store.series.get(model=key.model, family=key.family) if s.key == key]
    hit = np.flatnonzero(series.timestamps == np.datetime64(at.replace(tzinfo=None), "s"))
    return float(series.values[hit[0]])


def test_each_gauge_is_the_stored_value_of_the_latest_window() -> None:
    store = seeded()
    (ranker,) = [m for m in read_gauges(store, now=NOW) if m.model == "ranker"]
    (v2,) = ranker.versions
    assert v2.window_start == LATEST

    def stored(family: str, column: str, statistic: str) -> float:
        key = SeriesKey(model="ranker", version="v2", family=family, column=column,
                        statistic=statistic)  # fmt: skip
        return value_at(store, key, LATEST)

    assert v2.rows == stored(Family.AUXILIARY, "", "rows") == 40.0
    assert v2.requests == stored(Family.AUXILIARY, "", "requests")
    assert v2.latency_ms["0.99"] == stored(Family.AUXILIARY, "", "latency_p99")
    assert v2.latency_ms["0.999"] == stored(Family.AUXILIARY, "", "latency_p99.9")
    psi = dict(v2.drift)
    assert psi["age"] == stored(Family.DRIFT, "age", "psi")
    assert [value for _, value in v2.drift] == sorted(psi.values(), reverse=True)
    kinds = [
        opening_problem(i).kind.value
        for i in store.incidents.get(model="ranker")
        if i.state is not IncidentState.RESOLVED
    ]
    assert v2.open_incidents == {kind: kinds.count(kind) for kind in kinds}


def test_labels_stay_bounded_however_many_features_are_flagged() -> None:
    store = seeded()
    stamps = np.array([np.datetime64(LATEST.replace(tzinfo=None), "s")])
    flagged = [
        Series(
            key=SeriesKey(
                model="ranker",
                version="v2",
                family=Family.FEATURE,
                column=f"f{i:02d}",
                statistic=flag,
            ),
            timestamps=stamps,
            values=np.array([1.0 if i % 2 == 0 else 0.0]),  # even features flagged
        )
        for i in range(30)
        for flag in ("missing", "constant")
    ]
    store.series.put(flagged)
    (ranker,) = [m for m in read_gauges(store, now=NOW, top_features=2) if m.model == "ranker"]
    (v2,) = ranker.versions
    assert len(v2.drift) == 2
    assert v2.missing == ("f00", "f02") and v2.missing_count == 15
    assert v2.constant == ("f00", "f02") and v2.constant_count == 15


def test_quarantined_rows_are_the_model_s_count_in_its_latest_window() -> None:
    store = seeded()
    window = Window(start=LATEST, end=LATEST + timedelta(hours=1))
    rows = [QuarantinedRow(source="s", position=i, reason="bad", raw="{}", model="ranker")
            for i in range(7)]  # fmt: skip
    store.quarantine.put(rows, now=NOW, window=window)
    earlier = Window(start=LATEST - timedelta(hours=1), end=LATEST)
    store.quarantine.put(rows[:2], now=NOW, window=earlier)
    gauges = {m.model: m for m in read_gauges(store, now=NOW)}
    assert gauges["ranker"].quarantined_rows == 7.0
    assert gauges["fraud"].quarantined_rows == 0.0


def test_a_store_that_cannot_be_read_is_a_gauge_not_a_failed_scrape() -> None:
    def broken() -> list[ModelGauges]:
        raise StoreError("database is locked")

    registry = CollectorRegistry()
    registry.register(ModelCollector(broken))
    families = list(text_string_to_metric_families(generate_latest(registry).decode()))
    assert [(s.name, s.value) for f in families for s in f.samples] == [("vigil_store_up", 0.0)]


def test_the_collector_exports_only_the_names_it_declares() -> None:
    registry = CollectorRegistry()
    registry.register(ModelCollector(lambda: read_gauges(seeded(), now=NOW)))
    families = list(text_string_to_metric_families(generate_latest(registry).decode()))
    exported = {family.name for family in families if family.samples}
    assert exported == set(MODEL_METRICS) - {"vigil_feature_missing", "vigil_feature_constant"}
    values = [s.value for f in families for s in f.samples]
    assert len(values) > 20 and not any(math.isnan(v) for v in values)
