"""No single input can stop the watch: a model whose stage fails is reported, naming the model
and the object, and every other model goes on; ``vigil doctor`` isolates corrupt objects;
names never become raw file names (issue 19)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.core import file_stem
from vigil.pipeline.config import parse_config
from vigil.pipeline.doctor import examine_store, isolate
from vigil.pipeline.reports import write_reports
from vigil.pipeline.runner import run_cycle
from vigil.report import ModelReport
from vigil.sdk import JsonLinesSink
from vigil.store import RunStatus, SqlStore

START = datetime(2026, 11, 20, tzinfo=UTC)
HOURS = 6
CJK = "模" * 256  # 256 characters, 768 bytes of UTF-8: the longest name a record may carry


def _logs(root: Path, models: tuple[str, ...]) -> Path:
    """``HOURS`` hours of a few rows per model, written by the SDK's sink (the Hive layout)."""
    sink = JsonLinesSink(root)
    for model in models:
        lines = [
            json.dumps(
                {
                    "model": model,
                    "version": "v1",
                    "timestamp": (START + timedelta(minutes=20 * i)).isoformat(),
                    "features": {"x": i % 7, "country": "DE" if i % 2 else "FR"},
                }
            ).encode()
            for i in range(3 * HOURS)
        ]
        sink.write(lines)
    sink.close()
    return root


def _cycle(
    store: SqlStore, logs: Path | None, out: Path | None = None, hours: int = HOURS
) -> object:
    """One cycle at ``START + hours`` (``logs=None``: from the stored profiles only)."""
    return run_cycle(
        config=parse_config({}),
        store=store,
        now=START + timedelta(hours=hours),
        channels={},
        sources=[] if logs is None else [str(logs)],
        reports_out=out,
    )


def _corrupt(url: str, model: str) -> None:
    """Overwrite the blob of one of ``model``'s stored profiles with garbage."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        first = connection.execute(
            sa.text("select min(id) from profiles where model = :m"), {"m": model}
        ).scalar_one()
        connection.execute(
            sa.text("update profiles set blob = :b where id = :i"),
            {"b": b"VGLP\x00\x01garbage", "i": first},
        )
    engine.dispose()


def test_a_corrupt_blob_fails_its_model_by_name_and_the_others_go_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    logs = _logs(tmp_path / "logs", ("alpha", "beta"))
    store = SqlStore(url, workers=1)
    try:
        profiled = _cycle(store, logs, hours=2)
        assert not profiled.failures  # type: ignore[attr-defined]
        _corrupt(url, "alpha")
        summary = _cycle(store, None)  # re-reading the logs would replace the corrupt profile
        assert len(summary.windows) == HOURS - 2  # type: ignore[attr-defined]
        (failure,) = summary.failures  # type: ignore[attr-defined]
        assert (failure.model, failure.stage) == ("alpha", "statistics")
        assert "the stored profile of model 'alpha' version 'v1' window [" in failure.error
        assert "vigil doctor" in failure.error
        watched = {s.key.model for s in store.series.get(model="beta")}
        assert watched == {"beta"} and store.series.get(model="alpha", since=START) != []
        failed = store.runs.get(status=RunStatus.FAILED)
        assert [(run.stage, run.model) for run in failed] == [("statistics", "alpha")]
    finally:
        store.close()


def test_doctor_finds_the_corrupt_profile_and_isolates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    logs = _logs(tmp_path / "logs", ("alpha", "beta"))
    store = SqlStore(url, workers=1)
    try:
        _cycle(store, logs, hours=2)
        _corrupt(url, "alpha")
        found = examine_store(store)
        assert found.profiles_checked == 2 * HOURS and not found.unreadable
        (corrupt,) = found.corrupt
        assert corrupt.key.model == "alpha" and "is corrupt" in corrupt.reason
        index = isolate(store, found.corrupt, out=tmp_path / "isolated", now=START)
        (entry,) = json.loads(index.read_text())
        assert entry["model"] == "alpha" and entry["reason"] == corrupt.reason
        assert (tmp_path / "isolated" / entry["file"]).read_bytes().endswith(b"garbage")
        assert examine_store(store).healthy
        assert not _cycle(store, None).failures  # type: ignore[attr-defined]
    finally:
        store.close()


def test_vigil_doctor_exits_1_until_the_corrupt_profile_is_isolated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    store = SqlStore(url, workers=1)
    try:
        _cycle(store, _logs(tmp_path / "logs", ("alpha",)), hours=2)
    finally:
        store.close()
    runner = CliRunner()
    assert runner.invoke(app, ["doctor", "--db", url]).exit_code == 0
    _corrupt(url, "alpha")
    found = runner.invoke(app, ["doctor", "--db", url])
    assert found.exit_code == 1 and "corrupt profile: the stored profile of model 'alpha'" in (
        found.output
    )
    fixed = runner.invoke(app, ["doctor", "--db", url, "--isolate", str(tmp_path / "away")])
    assert fixed.exit_code == 0, fixed.output
    assert "isolated 1 profiles" in fixed.output
    assert runner.invoke(app, ["doctor", "--db", url]).exit_code == 0


def test_a_report_that_cannot_be_written_fails_only_its_model(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    out = tmp_path / "reports"
    (out / "beta.html").mkdir(parents=True)  # in the way of beta's report
    store = SqlStore(url, workers=1)
    try:
        summary = _cycle(store, _logs(tmp_path / "logs", ("alpha", "beta")), out)
    finally:
        store.close()
    (failure,) = summary.failures  # type: ignore[attr-defined]
    assert (failure.model, failure.stage) == ("beta", "report")
    assert "beta.html" in failure.error
    assert sorted(p.name for p in summary.reports) == ["alpha.html", "index.html"]  # type: ignore[attr-defined]
    assert 'href="alpha.html"' in (out / "index.html").read_text()


def _report(model: str) -> ModelReport:
    return ModelReport(model=model, generated_at=START, period_start=START, period_end=START)


def test_reports_of_names_that_are_no_file_names_coexist(tmp_path: Path) -> None:
    names = ["a/b", "a_b", "index", CJK, "Ranker", "ranker"]
    written = write_reports([_report(name) for name in names], tmp_path)
    files = {path.name for path in written}
    assert len(files) == len(names) + 1 and "index.html" in files
    digest = (tmp_path / "index.html").read_text(encoding="utf-8")
    for name in names:
        page = tmp_path / f"{file_stem(name)}.html"
        assert len(page.name.encode()) <= 100
        assert name.replace("/", "&#x2F;") in page.read_text(encoding="utf-8") or (
            name in page.read_text(encoding="utf-8")
        )
        assert f'href="{page.name.replace("~", "%7E")}"' in digest or (
            f'href="{page.name}"' in digest
        )


@pytest.mark.parametrize(
    "name",
    ["a/b", "a_b", "index", CJK[:28], CJK, "x" * 251],
    ids=["slash", "underscore", "index", "cjk-28", "cjk-256", "251"],
)
def test_names_too_long_for_a_folder_reach_the_store_and_a_report(
    name: str, tmp_path: Path
) -> None:
    """The SDK's sink, the pipeline and the reports with names a folder cannot hold as they are
    (255 bytes a file name): every record lands, is profiled under its full name and reported."""
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    logs = _logs(tmp_path / "logs", (name, "bystander"))
    store = SqlStore(url, workers=1)
    try:
        summary = _cycle(store, logs, tmp_path / "reports", hours=HOURS)
        assert not summary.failures  # type: ignore[attr-defined]
        assert store.profiles.models() == sorted([name, "bystander"])
        rows = {m.model: m.rows_profiled for m in summary.profiling.models}  # type: ignore[attr-defined]
        assert rows == {name: 3 * HOURS, "bystander": 3 * HOURS}
    finally:
        store.close()
    assert (tmp_path / "reports" / f"{file_stem(name)}.html").exists()
