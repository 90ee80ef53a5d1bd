"""``vigil bench quality``: a labelled month through the whole pipeline, judged.

Cross-stage (lab simulation, every pipeline stage, the bench's judge and the CLI), so it lives in
the top-level tests. 1,000 predictions a day is the quiet end: what an hour of ~40 rows can
decide (a constant feature, an all-null one) within hours, the concept shift through realised
performance on the labels, no false alarm on the unchanged columns; what needs more rows (a
0.5 sd shift, a doubled variance, a new category, a gradual drift) through the day-long tests.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vigil.cli.app import app


def test_a_quiet_month_is_judged_end_to_end() -> None:
    result = CliRunner().invoke(
        app, ["bench", "quality", "--rows", "1000", "--seed", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    (month,) = json.loads(result.output)
    assert (month["rows_per_day"], month["seed"]) == (1000, 3)
    assert abs(month["predictions"] - 30_000) < 300  # a Poisson-like rhythm around 1,000 a day
    assert 0.8 * month["predictions"] < month["labels"] < 0.9 * month["predictions"]
    changes = {c["kind"]: c for c in month["changes"]}
    assert len(changes) == 7
    for kind in ("constant", "all_null"):
        assert changes[kind]["caught"] and changes[kind]["delay_h"] <= 3.0
    assert changes["concept"]["caught"] and changes["concept"]["column"] == "score"
    for kind in ("mean_shift", "variance", "new_category"):
        assert changes[kind]["caught"] and changes[kind]["delay_h"] <= 24.0
    assert changes["gradual"]["caught"]
    assert month["false_alarm_column_days"] <= 1
    assert month["unchanged_column_days"] > 300
    assert month["estimation_days"] >= 15
    assert 0.0 < month["estimation_mae"]["accuracy"] < 0.02
