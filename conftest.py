"""Fixtures shared by every test: real services the tests talk to.

PostgreSQL tests need a real server. ``postgres_url`` starts a throwaway cluster from the Debian
package (``scripts/dev.sh test`` installs it when missing) and *fails* when it cannot: a CI that
cannot reach PostgreSQL must go red, not quietly skip the shared-deployment path.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
