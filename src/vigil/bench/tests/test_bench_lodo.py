"""``vigil bench lodo``: the choice made without a set never looks at that set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vigil.bench.lodo import choose_without, run_lodo
from vigil.bench.tests.test_bench_nab import write_nab
from vigil.cli.app import app
from vigil.core import ConfigError


def test_the_left_out_set_does_not_choose_its_configuration() -> None:
    # Row 0 is best on sets a and b, row 1 on set c, and row 1 is by far best on c alone.
    f1 = np.array([[0.9, 0.8, 0.1], [0.5, 0.5, 1.0]])
    # Without a: row 1 (mean 0.75 vs 0.45); without b: row 1 (0.75 vs 0.5); without c: row 0.
    assert choose_without(f1) == (1, 1, 0)
    # Raising c's score for row 0 changes the choice for a and b, never for c itself.
    f1[0, 2] = 0.9
    assert choose_without(f1) == (0, 0, 0)


def test_ties_go_to_the_earlier_configuration() -> None:
    assert choose_without(np.array([[0.5, 0.5], [0.5, 0.5]])) == (0, 0)


def test_one_set_cannot_be_left_out() -> None:
    with pytest.raises(ConfigError, match="2 data sets"):
        choose_without(np.array([[0.5]]))


def test_two_nab_folders_through_the_cli(tmp_path: Path) -> None:
    write_nab(tmp_path / "a", {"fam1": 700, "fam2": 600})
    write_nab(tmp_path / "b", {"fam1": 650, "fam2": 800})
    result = run_lodo(
        [str(tmp_path / "a"), str(tmp_path / "b")],
        tmp_path / "scratch",
        grid=[(3e-4, 12, 10.0), (1e-3, 12, 5.0)],
        workers=1,
    )
    assert result.f1.shape == (2, 2)
    # A 25-sigma spike in noise is found by every configuration, with nothing else flagged.
    assert np.all(result.f1 == 1.0)
    assert result.held_out == (1.0, 1.0)
    out = CliRunner().invoke(
        app,
        [
            "bench",
            "lodo",
            "--datasets",
            f"{tmp_path / 'a'},{tmp_path / 'b'}",
            "--workers",
            "1",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["default_detector"] == "consensus" and report["worst"] == 1.0
    assert len(report["grid"]) == 8 and [h["dataset"] for h in report["held_out"]] == ["a", "b"]
