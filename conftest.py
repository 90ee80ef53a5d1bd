"""Fixtures shared by every test: real services the tests talk to.

PostgreSQL tests need a real server. ``postgres_url`` starts a throwaway cluster from the Debian
package (``scripts/dev.sh test`` installs it when missing) and *fails* when it cannot: a CI that
cannot reach PostgreSQL must go red, not quietly skip the shared-deployment path. Alertmanager
and Prometheus come from Debian's packages the same way and are started by the tests that use
them (``alertmanager`` here; Prometheus by its test with a generated scrape config).
"""

from __future__ import annotations

import contextlib
import glob
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The SDK is its own distribution (sdk/); the installed copy may be another checkout's, so the
# tests of this checkout import this checkout's SDK, as they import its src/ through PYTHONPATH.
sys.path.insert(0, str(Path(__file__).resolve().parent / "sdk" / "src"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(
            f"PostgreSQL's {name} is not installed; run the tests with `bash scripts/dev.sh test`, "
            "which installs the Debian package"
        )
    return found[-1]


def _as_postgres_user(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; CI and the developers' machines run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh database on a throwaway PostgreSQL cluster on loopback."""
    data_dir = tempfile.mkdtemp(prefix="vigil-pg-")
    if os.geteuid() == 0:
        shutil.chown(data_dir, user="postgres", group="postgres")
    port = _free_port()
    initdb = _as_postgres_user(
        [_postgres_bin("initdb"), "-D", data_dir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    )
    subprocess.run(initdb, check=True, capture_output=True)
    options = f"-p {port} -k {data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = _postgres_bin("pg_ctl")
    start = [pg_ctl, "-D", data_dir, "-o", options, "-l", f"{data_dir}/server.log", "-w", "start"]
    subprocess.run(_as_postgres_user(start), check=True, capture_output=True)
    try:
        createdb = [_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        subprocess.run([*createdb, "vigil_test"], check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/vigil_test"
    finally:
        stop = [pg_ctl, "-D", data_dir, "-m", "immediate", "stop"]
        subprocess.run(_as_postgres_user(stop), check=False, capture_output=True)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Run a test once on SQLite and once on PostgreSQL (a fresh schema each time)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/vigil.db"
    base: str = request.getfixturevalue("postgres_url")
    schema_db = f"t{abs(hash(request.node.nodeid)) % 10**12}"
    port = base.rsplit(":", 1)[1].split("/")[0]
    createdb = [_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", port, "-U", "postgres"]
    subprocess.run([*createdb, schema_db], check=True, capture_output=True)
    return base.rsplit("/", 1)[0] + f"/{schema_db}"


# -- Prometheus and Alertmanager: Debian's packages, started per test on loopback ----------------


def _debian_binary(path: str, package: str) -> str:
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"{path} is not installed; run the tests with `bash scripts/dev.sh test`, which "
            f"installs the Debian package {package}"
        )
    return path


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} was not ready after 30 s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def run_service(command: list[str], ready_url: str, log: Path) -> Iterator[None]:
    """Start ``command`` (output to ``log``), wait until ``ready_url`` answers; stop it after."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_ready(ready_url, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Debian's prometheus-alertmanager on a free loopback port, grouping by model and kind
    within a second and notifying a webhook receiver run by this fixture (resolved ones too).

    Yields its URL and the notifications the receiver got (what a pager would get)."""
    binary = _debian_binary("/usr/bin/prometheus-alertmanager", "prometheus-alertmanager")
    received: list[dict[str, Any]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean."""

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=receiver.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    port = _free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route:\n"
        "  receiver: pager\n"
        "  group_by: [model, kind]\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: pager\n"
        "    webhook_configs:\n"
        f"      - url: http://127.0.0.1:{receiver.server_address[1]}/\n"
        "        send_resolved: true\n"
    )
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # one replica: no gossip port
        "--log.level=warn",
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        with run_service(command, f"{url}/-/ready", tmp_path / "alertmanager.log"):
            yield url, received
    finally:
        receiver.shutdown()
        receiver.server_close()
