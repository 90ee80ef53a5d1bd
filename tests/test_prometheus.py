"""Vigil's metrics in Debian's real Prometheus, and the shipped Grafana dashboard against them.

``vigil run --metrics-port`` and ``vigil serve``'s ``/metrics`` are scraped by a ``prometheus``
server this test starts on a free loopback port with a generated config (every second); the
test then asks Prometheus' HTTP API what it stored, and runs every query of the dashboard.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from vigil.lab.simulation.logs import simulate_platform
from vigil.pipeline.metrics import MODEL_METRICS, PIPELINE_METRICS
from vigil.server import ServerSettings, create_app, serve_in_background
from vigil.server.metrics import SERVER_METRICS

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "vigil.json"
EXPORTED = set(MODEL_METRICS) | set(PIPELINE_METRICS) | set(SERVER_METRICS)
_SERIES_SUFFIXES = ("_bucket", "_count", "_sum")  # a histogram's series


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    queries += [v["query"]["query"] for v in board["templating"]["list"]]
    return queries


def metric_names(query: str) -> set[str]:
    names = set()
    for found in re.findall(r"\bvigil_[a-z0-9_]+", query):
        bases = [found.removesuffix(s) for s in _SERIES_SUFFIXES if found.endswith(s)]
        names.add(next((base for base in bases if base in EXPORTED), found))
    return names


def test_every_dashboard_query_names_a_metric_vigil_exports() -> None:
    queries = dashboard_queries()
    assert len(queries) >= 20
    for query in queries:
        names = metric_names(query)
        assert names, f"{query!r} names no Vigil metric"
        assert names <= EXPORTED, f"{query!r} names {sorted(names - EXPORTED)}"
    shown = set().union(*(metric_names(q) for q in queries))
    assert shown == EXPORTED, f"exported but on no panel: {sorted(EXPORTED - shown)}"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _prometheus(tmp_path: Path, targets: dict[str, str]) -> Iterator[str]:
    binary = "/usr/bin/prometheus"
    if not Path(binary).exists():
        pytest.fail(
            f"{binary} is not installed; run the tests with `bash scripts/dev.sh test`, which "
            "installs the Debian package prometheus"
        )
    jobs = "".join(
        f"  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
        for job, target in targets.items()
    )
    config = tmp_path / "prometheus.yml"
    # A scrape reads the store; on a loaded machine that can take a few seconds.
    config.write_text(
        f"global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\nscrape_configs:\n{jobs}"
    )
    port = _free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _ready(url), 30, f"prometheus not ready: {log.read_text()[-2000:]}")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _until(condition: Any, timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.5)


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


@pytest.mark.slow
def test_prometheus_scrapes_vigil_run_and_vigil_serve(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=8)
    simulate_platform(tmp_path / "logs", start=start, days=8, models=1, rate_scale=0.2, seed=5)
    db = f"sqlite:///{tmp_path / 'vigil.db'}"
    (tmp_path / "vigil.toml").write_text(
        f'[store]\nurl = "{db}"\n[ingest]\nsources = ["{tmp_path / "logs"}"]\n'
    )
    run_port = _free_port()
    runner = subprocess.Popen(
        [sys.executable, "-c", "from vigil.cli.app import main; main()", "run",
         "--config", str(tmp_path / "vigil.toml"), "--reports", str(tmp_path / "reports"),
         "--metrics-port", str(run_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    settings = ServerSettings(store_url=db, spool_dir=tmp_path / "spool", token="t")
    try:
        with serve_in_background(create_app(settings)) as server:
            targets = {"vigil-run": f"127.0.0.1:{run_port}", "vigil-serve": server[7:]}
            with _prometheus(tmp_path, targets) as prometheus:
                done = 'vigil_pipeline_cycles_total{outcome="succeeded"} > 0'
                _until(lambda: _query(prometheus, done), 600, "no cycle succeeded")
                # the cycle's values are in the store: both jobs scraped since, successfully
                after = time.time() + 1
                _until(lambda: _scraped_since(prometheus, after), 60, _targets(prometheus))
                _check_stored(prometheus, now)
    finally:
        runner.terminate()
        output, _ = runner.communicate(timeout=30)
    assert "metrics on http://127.0.0.1:" in output, output


def _targets(prometheus: str) -> str:
    return httpx.get(f"{prometheus}/api/v1/targets", timeout=10).text


def _scraped_since(prometheus: str, moment: float) -> bool:
    targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=10).json()["data"]
    return all(
        t["health"] == "up"
        and datetime.fromisoformat(t["lastScrape"][:19]).replace(tzinfo=UTC).timestamp() > moment
        for t in targets["activeTargets"]
    )


def _check_stored(prometheus: str, now: datetime) -> None:
    up = {r["metric"]["job"]: r["value"][1] for r in _query(prometheus, "up")}
    assert up == {"vigil-run": "1", "vigil-serve": "1"}
    (last,) = _query(prometheus, "vigil_pipeline_last_success_timestamp_seconds")
    assert abs(float(last["value"][1]) - now.timestamp()) < 900
    assert _query(prometheus, "vigil_pipeline_windows_behind")[0]["value"][1] == "0"
    (count,) = _query(prometheus, "vigil_pipeline_cycle_duration_seconds_count")
    assert float(count["value"][1]) >= 1
    for job in ("vigil-run", "vigil-serve"):  # both read the same store, so agree
        rows = _query(prometheus, f'vigil_model_rows{{job="{job}"}}')
        assert rows and all(float(r["value"][1]) > 0 for r in rows), (job, rows)
        assert {r["metric"]["version"] for r in rows} >= {"v1"}
        latency = _query(prometheus, f'vigil_model_latency_ms{{job="{job}",quantile="0.99"}}')
        assert latency and all(float(r["value"][1]) > 0 for r in latency)
    # Every dashboard query is valid PromQL on the stored data (variables at "every value").
    for query in dashboard_queries():
        expr = query.replace('"$model"', '~".*"').replace('"$version"', '".*"')
        variable = re.fullmatch(r"label_values\((.*), (\w+)\)", expr)
        _query(prometheus, variable[1] if variable else expr)
