"""``vigil bench e2e``: from log files to stored profiles and to alerts, timed as whole processes.

What a user pays is a whole process: interpreter start, imports, reading, validating,
profiling, compressing and storing. So every contender here runs as its own process, and its
cost is the CPU time (user + system) the kernel reports for it and every process it waited for
(``os.wait4`` in a small launcher process), with its peak resident memory. On a shared machine
CPU time, unlike wall time, does not grow with the neighbours' load; the load average is
reported with the numbers anyway.

Contenders, on the same generated folders (:mod:`vigil.bench.e2e_data`):

- ``floor``: pyarrow reads every file and does nothing else (``pq.read_table`` for Parquet,
  ``pyarrow.json.read_json`` for JSON lines): no tool that reads the files can cost less.
- ``vigil_profile``: ``vigil profile FOLDER --db sqlite:///…`` into a fresh store.
- ``whylogs``: every file read with pandas, as whylogs' documentation does, then one
  ``why.log`` profile per model, version and hour of every column but the timestamp (whylogs
  1.6.4 cannot type one under numpy 2), serialized to disk (skipped when whylogs, the ``bench``
  extra, is not installed).
- ``vigil_run``: ``vigil run --once`` on a fresh store over the small-windows folder: profiles,
  statistics, detection, incidents and reports for every window.
- startup: ``vigil --help``, ``vigil version`` and ``vigil profiles MODEL``.

``vigil_src`` times the Vigil of another checkout (its ``src`` folder, put first on the
child's path) with the same data, floor and whylogs: a before/after pair is two bench runs on
the same machine, each with its own same-run ratios.

Every contender runs ``repeats`` times, round-robin so a change in load does not land on one of
them; medians are reported, and every ratio divides two medians of the same bench run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vigil.bench.e2e_data import DataSet, write_data_set
from vigil.core import ConfigError, VigilError

VIGIL = "from vigil.cli.app import main; main()"
FLOOR = {
    "parquet": "import sys, pyarrow.parquet as pq\nfor p in sys.argv[1:]: pq.read_table(p)",
    "jsonl": "import sys, pyarrow.json as pj\nfor p in sys.argv[1:]: pj.read_json(p)",
}
WHYLOGS = """
import sys
from pathlib import Path
import pandas as pd
import whylogs as why

fmt, out, paths = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
written = 0
for path in paths:
    if fmt == "parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.json_normalize(pd.read_json(path, lines=True).to_dict("records"))
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    hours = frame["timestamp"].dt.floor("h")
    # whylogs 1.6.4 cannot type a datetime column under numpy 2 (np.unicode_ is gone): the
    # hour is the profile's key instead, as in Vigil.
    columns = frame.drop(columns=["timestamp"])
    for (model, version, hour), rows in columns.groupby(["model", "version", hours]):
        view = why.log(pandas=rows).view()
        (out / f"{written}.bin").write_bytes(view.serialize())
        written += 1
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessRun:
    """One run of one contender: CPU seconds of it and its children, peak memory."""

    cpu_s: float
    max_rss_mb: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Contender:
    """A command to time, and a fresh-state hook run before each of its runs."""

    name: str
    argv: tuple[str, ...]
    before: Callable[[], None] = field(default=lambda: None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    name: str
    runs: tuple[ProcessRun, ...]

    @property
    def cpu_s(self) -> float:
        return statistics.median(run.cpu_s for run in self.runs)

    @property
    def max_rss_mb(self) -> float:
        return max(run.max_rss_mb for run in self.runs)


LAUNCHER = """
import json, os, subprocess, sys
report, argv = sys.argv[1], sys.argv[2:]
with open(report + ".log", "wb") as output:
    child = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
with open(report, "w") as out:
    json.dump({"code": os.waitstatus_to_exitcode(status), "cpu_s": usage.ru_utime + usage.ru_stime,
               "max_rss_kib": usage.ru_maxrss}, out)
"""
"""Runs the timed command as its child. A process forked from the bench would carry the bench's
own resident memory into its peak (Linux keeps the pre-``exec`` peak); forked from this small
launcher, it carries only the launcher's."""


def run_process(argv: Sequence[str], *, log: Path) -> ProcessRun:
    """Run ``argv`` to the end; its CPU time and peak memory as the kernel counted them."""
    env = {**os.environ, "WHYLOGS_NO_ANALYTICS": "True"}
    subprocess.run([sys.executable, "-c", LAUNCHER, str(log), *argv], env=env, check=True)
    report = json.loads(log.read_text())
    if report["code"] != 0:
        tail = Path(f"{log}.log").read_text(errors="replace")[-2000:]
        raise VigilError(f"{list(argv[:4])} failed with exit code {report['code']}:\n{tail}")
    # ru_maxrss is in KiB on Linux.
    return ProcessRun(cpu_s=report["cpu_s"], max_rss_mb=report["max_rss_kib"] / 1024)


def time_round_robin(contenders: Sequence[Contender], *, repeats: int, logs: Path) -> list[Timing]:
    runs: dict[str, list[ProcessRun]] = {c.name: [] for c in contenders}
    for _ in range(repeats):
        for contender in contenders:
            contender.before()
            runs[contender.name].append(
                run_process(contender.argv, log=logs / f"{contender.name}.json")
            )
    return [Timing(name=name, runs=tuple(found)) for name, found in runs.items()]


def vigil_argv(*args: str, src: Path | None = None) -> tuple[str, ...]:
    """The command line of ``vigil ARGS``: this Vigil, or the one in the ``src`` folder."""
    code = VIGIL if src is None else f"import sys; sys.path.insert(0, {str(src)!r}); {VIGIL}"
    return (sys.executable, "-c", code, *args)


def fresh_sqlite(path: Path) -> Callable[[], None]:
    def remove() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    return remove


def profile_contenders(
    data: DataSet, fmt: str, *, work: Path, whylogs: bool, src: Path | None = None
) -> list[Contender]:
    """Floor, ``vigil profile`` and (optionally) whylogs on one format of ``data``."""
    files = [str(path) for path in data.files(fmt)]
    root = data.parquet if fmt == "parquet" else data.jsonl
    db = work / f"{data.name}-{fmt}.db"
    found = [
        Contender(name=f"{data.name}.{fmt}.floor", argv=(sys.executable, "-c", FLOOR[fmt], *files)),
        Contender(
            name=f"{data.name}.{fmt}.vigil_profile",
            argv=vigil_argv("profile", str(root), "--db", f"sqlite:///{db}", src=src),
            before=fresh_sqlite(db),
        ),
    ]
    if whylogs:
        out = work / f"whylogs-{data.name}-{fmt}"
        out.mkdir(exist_ok=True)
        found.append(
            Contender(
                name=f"{data.name}.{fmt}.whylogs",
                argv=(sys.executable, "-c", WHYLOGS, fmt, str(out), *files),
            )
        )
    return found


def run_contenders(data: DataSet, *, work: Path, src: Path | None = None) -> list[Contender]:
    """``vigil run --once`` on the small-windows Parquet folder, and ``vigil profile`` on half of
    its days (the memory check: profiles are written as windows close, so the peak should not
    grow with the number of windows)."""
    db = work / "run.db"
    config = work / "vigil.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{db}"\n\n[ingest]\nsources = ["{data.parquet}"]\n\n'
        f'[report]\nout = "{work / "reports"}"\n'
    )
    half_db = work / "half.db"
    days = sorted({path.parent.name for path in data.files("parquet")})
    first_days = days[: max(1, len(days) // 2)]
    half = [str(p.parent) for p in data.files("parquet") if p.parent.name in first_days]
    return [
        Contender(
            name=f"{data.name}.parquet.vigil_profile_half",
            argv=vigil_argv("profile", *half, "--db", f"sqlite:///{half_db}", src=src),
            before=fresh_sqlite(half_db),
        ),
        Contender(
            name=f"{data.name}.parquet.vigil_run",
            argv=vigil_argv("run", "--config", str(config), "--once", src=src),
            before=fresh_sqlite(db),
        ),
    ]


def startup_contenders(*, db: Path, src: Path | None = None) -> list[Contender]:
    return [
        Contender(name="startup.help", argv=vigil_argv("--help", src=src)),
        Contender(name="startup.version", argv=vigil_argv("version", src=src)),
        Contender(
            name="startup.profiles",
            argv=vigil_argv("profiles", "model-00", "--db", f"sqlite:///{db}", src=src),
        ),
    ]


def whylogs_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("whylogs") is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Goal:
    """One goal of issue 22 against this run's medians: ``value`` compared with ``target``."""

    name: str
    value: float
    target: float
    at_most: bool
    """True when the value must not exceed the target (a ratio of costs), False for a floor."""

    @property
    def met(self) -> bool:
        return self.value <= self.target if self.at_most else self.value >= self.target


@dataclass(frozen=True, slots=True, kw_only=True)
class E2eResult:
    data: tuple[DataSet, ...]
    timings: tuple[Timing, ...]
    goals: tuple[Goal, ...]
    load_average: tuple[float, float]
    """1-minute load average before and after (the machine has ``cores`` cores)."""
    cores: int


def run_e2e_bench(
    *,
    work: Path,
    now: datetime,
    repeats: int = 3,
    large: tuple[int, int, int] = (4, 24, 15_625),
    small: tuple[int, int, int] = (20, 336, 200),
    whylogs: bool = True,
    seed: int = 0,
    vigil_src: Path | None = None,
) -> E2eResult:
    """Generate both data sets under ``work``, time every contender, judge the goals.

    ``large`` and ``small`` are (models, hours, rows per model-hour); the data ends at the hour
    of ``now``, so every window is due for ``vigil run``. ``vigil_src``: time the Vigil in
    that ``src`` folder instead of this one.
    """
    if repeats < 1:
        raise ConfigError(f"repeats must be >= 1, got {repeats!r}")
    end = now.replace(minute=0, second=0, microsecond=0)
    data = []
    for name, (models, hours, rows) in (("large", large), ("small", small)):
        data.append(
            write_data_set(
                work / name,
                name=name,
                models=models,
                hours=hours,
                rows_per_window=rows,
                end=end,
                seed=seed,
            )
        )
    big, little = data
    whylogs = whylogs and whylogs_installed()
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    contenders = [
        *profile_contenders(big, "parquet", work=work, whylogs=whylogs, src=vigil_src),
        *profile_contenders(big, "jsonl", work=work, whylogs=False, src=vigil_src),
        *profile_contenders(little, "parquet", work=work, whylogs=False, src=vigil_src),
        *run_contenders(little, work=work, src=vigil_src),
    ]
    load_before = os.getloadavg()[0]
    timings = time_round_robin(contenders, repeats=repeats, logs=logs)
    store = work / f"{little.name}-parquet.db"  # left by the last small-windows profile run
    startup = startup_contenders(db=store, src=vigil_src)
    timings += time_round_robin(startup, repeats=repeats, logs=logs)
    return E2eResult(
        data=tuple(data),
        timings=tuple(timings),
        goals=tuple(judge(big, little, {t.name: t for t in timings})),
        load_average=(load_before, os.getloadavg()[0]),
        cores=os.cpu_count() or 1,
    )


def judge(large: DataSet, small: DataSet, timings: dict[str, Timing]) -> list[Goal]:
    """Issue 22's goals, each from medians of this one run."""

    def cpu(name: str) -> float:
        return timings[name].cpu_s

    parquet = cpu("large.parquet.vigil_profile")
    jsonl = cpu("large.jsonl.vigil_profile")
    profile_small = cpu("small.parquet.vigil_profile")
    goals = [
        Goal(
            name="parquet_rows_per_cpu_s", value=large.rows / parquet, target=500e3, at_most=False
        ),
        Goal(
            name="parquet_vs_floor",
            value=parquet / cpu("large.parquet.floor"),
            target=2.0,
            at_most=True,
        ),
        Goal(name="jsonl_rows_per_cpu_s", value=large.rows / jsonl, target=150e3, at_most=False),
        Goal(
            name="jsonl_vs_floor", value=jsonl / cpu("large.jsonl.floor"), target=1.5, at_most=True
        ),
        Goal(
            name="small_windows_rows_per_cpu_s",
            value=small.rows / profile_small,
            target=100e3,
            at_most=False,
        ),
        Goal(
            name="memory_full_vs_half_history",
            value=timings["small.parquet.vigil_profile"].max_rss_mb
            / timings["small.parquet.vigil_profile_half"].max_rss_mb,
            target=1.2,
            at_most=True,
        ),
        Goal(
            name="run_cycle_vs_profiling",
            value=(cpu("small.parquet.vigil_run") - profile_small) / profile_small,
            target=1.0,
            at_most=True,
        ),
        Goal(name="help_cpu_s", value=cpu("startup.help"), target=0.5, at_most=True),
        Goal(name="profiles_cpu_s", value=cpu("startup.profiles"), target=0.5, at_most=True),
    ]
    if "large.parquet.whylogs" in timings:
        goals.insert(
            0,
            Goal(
                name="parquet_vs_whylogs",
                value=cpu("large.parquet.whylogs") / parquet,
                target=10.0,
                at_most=False,
            ),
        )
    return goals


def result_json(result: E2eResult) -> dict[str, object]:
    return {
        "machine": {"cores": result.cores, "load_average": list(result.load_average)},
        "data": {
            data.name: {
                "rows": data.rows,
                "models": data.models,
                "hours": data.hours,
                "rows_per_window": data.rows_per_window,
                "parquet_bytes": data.folder_bytes("parquet"),
                "jsonl_bytes": data.folder_bytes("jsonl"),
            }
            for data in result.data
        },
        "timings": {
            t.name: {
                "cpu_s": round(t.cpu_s, 3),
                "runs_cpu_s": [round(run.cpu_s, 3) for run in t.runs],
                "max_rss_mb": round(t.max_rss_mb, 1),
            }
            for t in result.timings
        },
        "goals": {
            g.name: {"value": g.value, "target": g.target, "at_most": g.at_most, "met": g.met}
            for g in result.goals
        },
    }
