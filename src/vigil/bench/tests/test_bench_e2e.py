"""bench e2e: its folders hold the same records in both formats, processes are timed by the
kernel, and each goal is judged on the right side of its bound."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vigil.bench.e2e import Goal, ProcessRun, Timing, judge, run_process, vigil_argv
from vigil.bench.e2e_data import write_data_set
from vigil.core import VigilError
from vigil.ingest import open_reader

END = datetime(2026, 11, 21, 5, tzinfo=UTC)


def test_both_formats_hold_the_same_valid_records(tmp_path: Path) -> None:
    data = write_data_set(tmp_path, name="t", models=2, hours=30, rows_per_window=7, end=END)
    assert data.rows == 2 * 30 * 7 and data.windows == 60
    assert len(data.files("parquet")) == len(data.files("jsonl")) == 2 * 2  # a file a day
    counts = {}
    for fmt, root in (("parquet", data.parquet), ("jsonl", data.jsonl)):
        chunks = list(open_reader(root, now=END).read())
        assert sum(len(chunk.quarantined) for chunk in chunks) == 0
        batches = [chunk.batch for chunk in chunks]
        counts[fmt] = sum(batch.num_rows for batch in batches)
        first = batches[0]
        assert len(first.features) == 25 and set(first.outputs) == {"score"}
        stamps = first.timestamps_us()
        assert stamps.min() >= int(END.timestamp() * 1e6) - 30 * 3_600_000_000
    assert counts == {"parquet": data.rows, "jsonl": data.rows}


def test_a_process_is_timed_by_the_kernel_and_a_failure_says_why(tmp_path: Path) -> None:
    spin = "s = 0\nfor i in range(3_000_000): s += i"
    run = run_process([sys.executable, "-c", spin], log=tmp_path / "spin.json")
    assert run.cpu_s > 0.05 and run.max_rss_mb > 1
    with pytest.raises(VigilError, match="exit code 3"):
        run_process(
            [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"],
            log=tmp_path / "fail.json",
        )


def test_goals_are_judged_at_their_bounds() -> None:
    assert Goal(name="floor", value=10.0, target=10.0, at_most=False).met
    assert not Goal(name="floor", value=9.99, target=10.0, at_most=False).met
    assert Goal(name="cap", value=2.0, target=2.0, at_most=True).met
    assert not Goal(name="cap", value=2.01, target=2.0, at_most=True).met


def test_judge_divides_medians_of_one_run(tmp_path: Path) -> None:
    large = write_data_set(
        tmp_path / "l", name="large", models=1, hours=1, rows_per_window=10, end=END
    )
    small = write_data_set(
        tmp_path / "s", name="small", models=1, hours=1, rows_per_window=10, end=END
    )

    def timing(name: str, *cpu: float, rss: float = 100.0) -> Timing:
        return Timing(name=name, runs=tuple(ProcessRun(cpu_s=c, max_rss_mb=rss) for c in cpu))

    timings = [
        timing("large.parquet.floor", 1.0, 1.0, 9.0),
        timing("large.parquet.vigil_profile", 2.0, 2.5, 1.9),  # median 2.0
        timing("large.parquet.whylogs", 20.0, 30.0, 10.0),  # median 20.0
        timing("large.jsonl.floor", 2.0),
        timing("large.jsonl.vigil_profile", 3.0),
        timing("small.parquet.vigil_profile", 4.0, rss=110.0),
        timing("small.parquet.vigil_profile_half", 3.0, rss=100.0),
        timing("small.parquet.vigil_run", 8.0),
        timing("startup.help", 0.3),
        timing("startup.profiles", 0.6),
    ]
    goals = {g.name: g for g in judge(large, small, {t.name: t for t in timings})}
    assert goals["parquet_vs_whylogs"].value == 10.0 and goals["parquet_vs_whylogs"].met
    assert goals["parquet_vs_floor"].value == 2.0 and goals["parquet_vs_floor"].met
    assert goals["jsonl_vs_floor"].value == 1.5 and goals["jsonl_vs_floor"].met
    assert goals["run_cycle_vs_profiling"].value == 1.0 and goals["run_cycle_vs_profiling"].met
    assert goals["memory_full_vs_half_history"].value == pytest.approx(1.1)
    assert goals["help_cpu_s"].met and not goals["profiles_cpu_s"].met
    assert not goals["small_windows_rows_per_cpu_s"].met  # 10 rows in 4 CPU s


def test_vigil_src_runs_the_vigil_of_another_checkout(tmp_path: Path) -> None:
    """``--vigil-src`` (a before figure): the child imports Vigil from that folder first."""
    cli = tmp_path / "src" / "vigil" / "cli"
    cli.mkdir(parents=True)
    for folder in (cli.parent, cli):
        (folder / "__init__.py").write_text("")
    (cli / "app.py").write_text(
        "import sys\ndef main():\n    sys.exit(7 if sys.argv[1:] == ['version'] else 0)\n"
    )
    with pytest.raises(VigilError, match="exit code 7"):
        run_process(vigil_argv("version", src=tmp_path / "src"), log=tmp_path / "other.json")
    assert run_process(vigil_argv("version"), log=tmp_path / "this.json").cpu_s > 0
