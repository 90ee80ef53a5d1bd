"""The in-process ingest benchmark reads back every row the server accepted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from vigil.bench.server_ingest import measure_ingest

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_measure_ingest_reads_back_every_accepted_row(tmp_path: Path) -> None:
    result = measure_ingest(tmp_path, now=NOW, requests=5, rows_per_request=20, clients=2)
    assert result.rows_accepted == 100 == result.rows_spooled
    assert result.latency_p99_ms >= result.latency_p50_ms > 0
