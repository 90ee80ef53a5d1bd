"""The CLI's shape: where each command lives, one way errors are reported, a light ``--help``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.cli.console import ReportingGroup

runner = CliRunner()


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    found = []
    for name, command in getattr(group, "commands", {}).items():
        if hasattr(command, "commands"):
            found += _commands(command, (*prefix, name))
        else:
            found.append(((*prefix, name), command.callback.__module__))
    return found


def test_each_command_lives_in_the_module_named_after_it() -> None:
    """``vigil NAME`` in ``cli/NAME.py``, ``vigil GROUP NAME`` in ``cli/GROUP.py`` or
    ``cli/GROUP/NAME.py``: a newcomer can find any command from its name alone."""
    commands = _commands(get_command(app))
    assert len(commands) > 20
    for path, module in commands:
        if path == ("version",):
            assert module == "vigil.cli.app"
            continue
        names = [name.replace("-", "_") for name in path]
        expected = {f"vigil.cli.{'.'.join(names)}", f"vigil.cli.{'.'.join(names[:-1])}"}
        assert module in expected, (path, module)


def test_a_vigil_error_is_one_line_on_stderr_with_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "detect", "--dataset", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert result.stdout == ""
    missing = tmp_path / "missing"
    assert result.stderr.splitlines() == [f"error: dataset path '{missing}' is not a folder"]


def test_a_file_error_is_reported_the_same_way(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.write_text("a file where a folder should go")
    result = runner.invoke(app, ["simulate", "series", "--out", str(folder / "series")])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and str(folder) in line


def test_command_line_mistakes_keep_clicks_usage_message_and_exit_2() -> None:
    result = runner.invoke(app, ["demo", "--days", "3"])
    assert result.exit_code == 2
    assert "Usage: vigil demo" in result.output and "--days" in result.output


def test_other_exceptions_are_not_hidden() -> None:
    """A bug is not a user error: it must keep its traceback, not become a tidy one-liner."""
    bugged = typer.Typer(cls=ReportingGroup)

    @bugged.command()
    def broken() -> None:
        raise KeyError("a bug")

    @bugged.command()
    def other() -> None:
        """A second command, so Typer builds a group."""

    result = runner.invoke(bugged, ["broken"])
    assert isinstance(result.exception, KeyError)


def test_assembling_the_app_imports_nothing_heavy() -> None:
    """``vigil --help`` builds every command; the layers below load only when one runs."""
    code = (
        "import json, sys; import vigil.cli.app; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'pandas', 'pyarrow', 'sqlalchemy', 'scipy', 'torch', 'fastapi') "
        "or m.startswith(('vigil.pipeline', 'vigil.store', 'vigil.bench.', 'vigil.lab')))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


@pytest.mark.parametrize("args", [["--help"], ["bench", "--help"], ["train", "--help"]])
def test_help_lists_the_commands(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "Commands" in result.output
