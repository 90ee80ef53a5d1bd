"""``vigil report`` writes a model's report and the digest from a real store, escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.lab.simulation.sample import HOSTILE_FEATURE, seed_sample
from vigil.store import SqlStore


def test_report_for_a_model_and_the_digest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    store = SqlStore(url)
    incidents = seed_sample(store, now=datetime.now(UTC))
    store.close()
    model = incidents[0].model
    single = tmp_path / "model.html"
    result = CliRunner().invoke(
        app, ["report", "--db", url, "--model", model, "--out", str(single)]
    )
    assert result.exit_code == 0, result.output
    html = single.read_text()
    assert f"Model health: {model}" in html
    assert "data:image/png;base64," in html
    assert HOSTILE_FEATURE not in html
    digest = tmp_path / "digest.html"
    result = CliRunner().invoke(app, ["report", "--db", url, "--out", str(digest)])
    assert result.exit_code == 0, result.output
    assert model in digest.read_text()
    missing = CliRunner().invoke(app, ["report", "--db", url, "--model", "nope"])
    assert missing.exit_code == 1
