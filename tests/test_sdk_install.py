"""The SDK (``vigil-ml-sdk``) installs where models are served: fresh venvs, other Pythons.

Each test builds a new venv with a real interpreter of another Python version, installs the SDK
wheel there from this checkout (with pip, from the package index for anything else), and runs
it. Python 3.12 beside ``numpy==1.26.4`` is where ``vigil-ml`` was refused (Python 3.11 only,
numpy pinned to 2.x); 3.9 and 3.13 are the ends of the range the SDK promises, and run the
SDK's own test suite.

The interpreters come from the machine (``python3.X`` on ``PATH``, or pyenv's versions); a
missing one fails the test rather than skipping it.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SDK = ROOT / "sdk"

pytestmark = pytest.mark.slow


def interpreter(version: str) -> str:
    """The first ``python{version}`` that runs: pyenv's builds, then ``PATH`` (not pyenv's shims,
    which answer only for the selected version)."""
    pattern = os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")
    candidates = [*sorted(glob.glob(pattern), reverse=True), shutil.which(f"python{version}")]
    for candidate in candidates:
        probe = [candidate, "-c", ""] if candidate else []
        if probe and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return candidate
    pytest.fail(f"python{version} is not on this machine (~/.pyenv/versions or PATH)")


def run(*command: str, cwd: Path | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        f"{' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--wheel-dir",
        str(out),
        str(SDK),
    )
    (built,) = out.glob("vigil_ml_sdk-*.whl")
    return built


def fresh_venv(version: str, where: Path) -> Path:
    run(interpreter(version), "-m", "venv", str(where))
    python = where / "bin" / "python"
    assert run(str(python), "-c", "import sys; print(sys.version_info[:2])") == (
        f"({version.replace('.', ', ')})\n"
    )
    return python


SMOKE = textwrap.dedent(
    """
    import json, sys, tempfile, pathlib
    import numpy as np
    from vigil_sdk import JsonLinesSink, Logger

    root = pathlib.Path(tempfile.mkdtemp())
    logger = Logger("ranker", "v3", sink=JsonLinesSink(root), close_at_exit=False)
    logger.log({"age": np.int64(31), "emb": np.arange(3, dtype=np.float32)},
               {"score": np.float32(0.5)}, latency_ms=2.0)
    report = logger.close()
    lines = [json.loads(line) for path in root.rglob("*.jsonl")
             for line in path.read_text().splitlines()]
    print(json.dumps({"numpy": np.__version__, "delivered": report.delivered, "ok": bool(report),
                      "records": lines}))
    """
)


def test_installs_on_python_3_12_beside_numpy_1_26_4(wheel: Path, tmp_path: Path) -> None:
    python = fresh_venv("3.12", tmp_path / "venv")
    run(str(python), "-m", "pip", "install", "--quiet", "numpy==1.26.4", str(wheel))
    run(str(python), "-m", "pip", "check")
    out = json.loads(run(str(python), "-c", SMOKE))
    assert out["numpy"] == "1.26.4" and out["ok"] and out["delivered"] == 1
    (record,) = out["records"]
    assert record["features"] == {"age": 31, "emb": [0.0, 1.0, 2.0]}
    assert record["outputs"] == {"score": 0.5}
    # the SDK asks for nothing, so it can never be what pip refuses
    metadata = "from importlib.metadata import requires; print(requires('vigil-ml-sdk'))"
    requires = run(str(python), "-c", metadata)
    assert requires.strip() == "None"


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_its_test_suite_passes_on_the_oldest_and_newest_python(
    version: str, wheel: Path, tmp_path: Path
) -> None:
    python = fresh_venv(version, tmp_path / "venv")
    run(str(python), "-m", "pip", "install", "--quiet", str(wheel), "pytest")
    tests = tmp_path / "tests"
    shutil.copytree(SDK / "tests", tests)  # away from sdk/src: the installed wheel is tested
    out = run(
        str(python),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-W",
        "error",
        str(tests),
        cwd=tmp_path,
    )
    assert " passed" in out and "failed" not in out


def test_the_sdk_imports_only_the_standard_library() -> None:
    stdlib = sys.stdlib_module_names
    for path in sorted((SDK / "src" / "vigil_sdk").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in stdlib or top in {"vigil_sdk", "__future__"}, f"{path.name}: {name}"
