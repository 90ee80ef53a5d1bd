"""``vigil serve`` in a child process, for load tests that must not share the server's GIL.

A load test whose clients run in the server's own process measures the clients as much as the
server: both fight over one interpreter lock. So the server here is the real command line
(``vigil serve``, the same code path an operator starts) in a separate process on a free
loopback port, with a SQLite store and a spool in a folder the caller owns. The write token
goes through the child's environment, not its argument list (which other users can read in
``ps``). The server's log goes to a file in that folder, never to a pipe: a pipe nobody reads
fills up and blocks the server mid-request.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from vigil.core import ConfigError

_LAUNCH = "from vigil.cli.app import main; main()"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerProcess:
    """A running ``vigil serve`` child: where to reach it and where its files are."""

    url: str
    pid: int
    token: str
    store_url: str
    spool_dir: Path
    log_path: Path

    def rss_bytes(self) -> int | None:
        """The child's resident memory now (Linux ``/proc``); ``None`` where unavailable."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the child has used so far; ``None`` where unavailable."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return None
        # Fields after the ")" closing the command name; utime and stime are the 14th and 15th.
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerExit:
    """How the child ended: its exit code and whether it stopped on the polite signal."""

    returncode: int
    clean: bool
    stop_seconds: float


@contextmanager
def server_process(
    folder: Path,
    *,
    token: str,
    queue_size: int,
    max_body_mb: float = 16.0,
    environ: Mapping[str, str] | None = None,
    start_timeout_s: float = 60.0,
    stop_timeout_s: float = 30.0,
    exits: list[ServerExit] | None = None,
) -> Iterator[ServerProcess]:
    """Run ``vigil serve`` on a free loopback port while the block runs, then stop it.

    ``environ`` is the child's environment before ``VIGIL_TOKEN`` is added (the CLI passes its
    own); the store is ``folder/server.db`` and the spool ``folder/spool``. On exit the child
    gets SIGINT, which uvicorn answers by finishing the requests in flight; only if it has
    not ended after ``stop_timeout_s`` is it killed. How it ended is appended to ``exits``.
    """
    if not token:
        raise ConfigError("the load-test server needs a non-empty token")
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    store_url = f"sqlite:///{folder / 'server.db'}"
    spool_dir = folder / "spool"
    log_path = folder / "server.log"
    command = [
        sys.executable, "-c", _LAUNCH, "serve",
        "--db", store_url, "--spool", str(spool_dir),
        "--host", "127.0.0.1", "--port", str(port),
        "--queue-size", str(queue_size), "--max-body-mb", str(max_body_mb),
    ]  # fmt: skip
    env = {**(environ or {}), "VIGIL_TOKEN": token}
    with log_path.open("ab") as log:
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    handle = ServerProcess(
        url=f"http://127.0.0.1:{port}",
        pid=child.pid,
        token=token,
        store_url=store_url,
        spool_dir=spool_dir,
        log_path=log_path,
    )
    try:
        _wait_until_ready(child, handle, start_timeout_s)
        yield handle
    finally:
        ended = _stop(child, stop_timeout_s)
        if exits is not None:
            exits.append(ended)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(
    child: subprocess.Popen[bytes], handle: ServerProcess, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise ConfigError(
                f"vigil serve exited with code {child.returncode} before answering; "
                f"its log ends with:\n{_tail(handle.log_path)}"
            )
        try:
            if httpx.get(f"{handle.url}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ConfigError(
        f"vigil serve did not answer /v1/health within {timeout:.0f} s; "
        f"its log ends with:\n{_tail(handle.log_path)}"
    )


def _stop(child: subprocess.Popen[bytes], timeout: float) -> ServerExit:
    started = time.monotonic()
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            return ServerExit(
                returncode=child.returncode, clean=False, stop_seconds=time.monotonic() - started
            )
    return ServerExit(
        returncode=child.returncode,
        clean=child.returncode == 0,
        stop_seconds=time.monotonic() - started,
    )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return os.linesep.join(text.splitlines()[-lines:])
