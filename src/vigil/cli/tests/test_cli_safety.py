"""A safe and consistent CLI: nothing deleted that Vigil did not make, read-only commands that
create nothing, one-line errors for bad URLs, one duration grammar, and every ``VIGIL_*``
variable honoured by every command that has its option, and documented once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.main import get_command
from typer.testing import CliRunner

import vigil
from vigil.cli.app import app
from vigil.core import ConfigError
from vigil.ingest import records_to_chunk
from vigil.lab import demo as demo_module
from vigil.profile import ProfileSpec, profile_batch
from vigil.store import SqlStore

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[4]
START = datetime(2026, 11, 1, tzinfo=UTC)


def _store_with_hours(url: str, days: int = 9) -> None:
    rng = np.random.default_rng(0)
    records = [
        {
            "model": "m",
            "version": "v1",
            "timestamp": (START + timedelta(hours=h, minutes=i)).isoformat(),
            "features": {"age": float(rng.normal(40, 10))},
            "outputs": {"score": float(rng.random())},
        }
        for h in range(24 * days)
        for i in range(0, 60, 3)
    ]
    chunk = records_to_chunk(records, source="test", now=None)
    store = SqlStore(url)
    store.profiles.put(profile_batch(chunk.batch, ProfileSpec()).values(), now=START)
    store.close()


class _FakeDemo:
    """Stands in for the simulation: records what the command passed and stops there."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        raise ConfigError("stopped by the test")


@pytest.fixture
def fake_demo(monkeypatch: pytest.MonkeyPatch) -> _FakeDemo:
    fake = _FakeDemo()
    monkeypatch.setattr(demo_module, "run_demo", fake)
    return fake


def test_demo_refuses_a_folder_it_did_not_make_and_deletes_nothing(
    tmp_path: Path, fake_demo: _FakeDemo
) -> None:
    out = tmp_path / "mine"
    (out / "logs").mkdir(parents=True)
    (out / "logs" / "production.jsonl").write_text("{}\n")
    (out / "vigil.db").write_text("my own store")
    result = runner.invoke(app, ["demo", "--out", str(out), "--models", "1", "--days", "8"])
    assert result.exit_code == 1
    assert "not made by vigil demo" in result.stderr
    assert (out / "logs" / "production.jsonl").read_text() == "{}\n"
    assert (out / "vigil.db").read_text() == "my own store"
    assert fake_demo.calls == []


def test_demo_takes_a_new_folder_and_honours_vigil_db(tmp_path: Path, fake_demo: _FakeDemo) -> None:
    out = tmp_path / "new"
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    result = runner.invoke(app, ["demo", "--out", str(out), "--days", "8"], env={"VIGIL_DB": url})
    assert result.exit_code == 1 and "stopped by the test" in result.stderr
    (call,) = fake_demo.calls
    assert call["db_url"] == url
    assert (out / demo_module.MARKER).is_file()
    default = runner.invoke(app, ["demo", "--out", str(out), "--days", "8"], env={"VIGIL_DB": ""})
    assert default.exit_code == 1
    assert fake_demo.calls[1]["db_url"] == f"sqlite:///{(out / 'vigil.db').resolve()}"


def test_a_demo_folder_is_reused_removing_only_what_the_demo_wrote(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    demo_module.claim_folder(out)
    for name in ("logs", "reports", "spool"):
        (out / name).mkdir()
        (out / name / "old").write_text("x")
    (out / "vigil.db").write_text("old store")
    (out / "notes.txt").write_text("mine")
    demo_module.claim_folder(out)
    assert sorted(p.name for p in out.iterdir()) == [demo_module.MARKER, "notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    demo_module.claim_folder(empty)
    assert (empty / demo_module.MARKER).is_file()
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        demo_module.claim_folder(file)


def test_version_flag_prints_the_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == vigil.__version__


@pytest.mark.parametrize(
    "command",
    [
        ["stats", "m"],
        ["profiles", "m"],
        ["report", "--out", "{tmp}/r.html"],
        ["incidents"],
        ["train", "deep", "--out", "{tmp}/w.npz", "--from-feedback"],
    ],
)
def test_read_only_commands_on_a_mistyped_path_create_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    if command[0] == "train":
        pytest.importorskip("torch")
    typo = tmp_path / "vigli.db"
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    result = runner.invoke(app, [*args, "--db", f"sqlite:///{typo}"])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: no Vigil store at") and "check the path" in line
    assert not typo.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_command_refuses_a_database_without_vigil_tables(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).close()
    result = runner.invoke(app, ["stats", "m", "--db", f"sqlite:///{other}"])
    assert result.exit_code == 1 and "has no Vigil tables" in result.stderr


@pytest.mark.parametrize("command", [["stats", "m"], ["profile", "x.jsonl"], ["rollup"]])
def test_a_bad_store_url_is_one_line(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--db", "sqlite://x.db"])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: cannot use store URL 'sqlite://x.db'")
    assert "sqlite:///vigil.db" in line


def test_rollup_reads_since_as_a_duration_like_stats(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    _store_with_hours(url)
    # Some hours into 2026-11-07: the days from the one holding it are the 7th, 8th and 9th.
    ago = (datetime.now(UTC) - START).days - 6
    rolled = runner.invoke(app, ["rollup", "--db", url, "--since", f"{ago}d"])
    assert rolled.exit_code == 0, rolled.output
    assert "rolled 72 profiles up into 3 profiles of 1d" in rolled.stdout
    iso = runner.invoke(app, ["rollup", "--db", url, "--since", "2026-11-08"])
    assert "rolled 48 profiles up into 2 profiles of 1d" in iso.stdout
    for command in (["rollup"], ["stats", "m"]):
        bad = runner.invoke(app, [*command, "--db", url, "--since", "soon"])
        assert bad.exit_code == 1
        assert "--since 'soon' is neither a duration (2d) nor an ISO time" in bad.stderr


def test_stats_works_on_a_store_rolled_up_to_days(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    _store_with_hours(url)
    assert runner.invoke(app, ["rollup", "--db", url, "--to", "1d"]).exit_code == 0
    hourly = runner.invoke(app, ["stats", "m", "--db", url], env={"COLUMNS": "200"})
    assert hourly.exit_code == 0, hourly.output
    assert "feature (latest window 2026-11-09 23:00 UTC)" in hourly.stdout
    daily = runner.invoke(app, ["stats", "m", "--db", url, "--window", "1d"])
    assert daily.exit_code == 0, daily.output
    assert "latest window 2026-11-09 00:00 UTC" in daily.stdout


def _options(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, str, Any]]:
    found = []
    for name, command in getattr(group, "commands", {}).items():
        where = " ".join((*path, name))
        if hasattr(command, "commands"):
            found += _options(command, (*path, name))
            continue
        for param in command.params:
            for flag in param.opts:
                found.append((where, flag, param.envvar))
    return found


ENVIRONMENT = {"--db": "VIGIL_DB", "--config": "VIGIL_CONFIG", "--token": "VIGIL_TOKEN"}
SCRATCH = {("bench store", "--db")}  # a scratch store filled with benchmark rows, never VIGIL_DB


def test_every_command_honours_the_variable_of_its_option() -> None:
    options = _options(get_command(app))
    checked = 0
    for where, flag, envvar in options:
        if flag in ENVIRONMENT and (where, flag) not in SCRATCH:
            assert envvar == ENVIRONMENT[flag], (where, flag)
            checked += 1
    assert checked >= 10
    assert [e for w, f, e in options if (w, f) in SCRATCH] == [None]


def test_each_variable_is_documented_once_in_the_readme() -> None:
    read = {e for _, _, e in _options(get_command(app)) if e}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(VIGIL_[A-Z_]+)` \|", readme, flags=re.MULTILINE)
    assert sorted(rows) == sorted(read)
