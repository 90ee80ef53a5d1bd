"""The project's promises about its own code: layers, lint and strict types.

These run the same tools a developer runs by hand, so a green suite means the import-linter
contracts (stages never import the store or later stages), ruff and ``mypy --strict`` all hold.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_layer_contracts_hold() -> None:
    result = _run(str(BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_ruff_is_clean() -> None:
    result = _run(str(BIN / "ruff"), "check", "src", "tests", "sdk")
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    result = _run(str(BIN / "mypy"), "src/vigil", "sdk/src/vigil_sdk")
    assert result.returncode == 0, result.stdout[-5000:]


def test_architecture_picture_matches_the_code() -> None:
    result = _run(sys.executable, "scripts/architecture.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
