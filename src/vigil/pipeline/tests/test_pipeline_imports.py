"""What a working command pays before it does anything: the pipeline and the store load
without the heavy libraries only some of their calls need (issue 22: imports were half the
fixed cost of every command)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "scipy.stats", "alembic", "matplotlib", "statsmodels", "torch")


def test_importing_the_pipeline_and_the_store_loads_nothing_heavy() -> None:
    code = (
        "import json, sys; import vigil.pipeline, vigil.store; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []
