"""Everything the CLI shows: consoles, progress bars, log lines, JSON, and errors.

**Errors are reported one way.** A command lets a :class:`~vigil.core.VigilError` (or an
``OSError``: a file that cannot be read or written) propagate; :class:`ReportingGroup`, the
class of the ``vigil`` app, catches it at the top and :func:`fail` prints it as one line,
``error: <message>``, on stderr, and exits with code 1. No traceback: the message says what to do.
A command that finds a problem itself calls :func:`fail` with the message. Click's own checks of
the command line (an unknown option, a value out of range, a missing token) keep Click's usage
message and exit with code 2.

Rich is imported inside the functions, so assembling the app for ``vigil --help`` stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console
    from typer._click import Context  # Typer's own copy of Click, the type its groups take

    from vigil.pipeline import ProfilingProgress


def new_console(*, stderr: bool = False) -> Console:
    """A Rich console on stdout (results) or stderr (progress next to ``--json`` output)."""
    from rich.console import Console

    return Console(stderr=stderr)


def echo_json(data: object, *, indent: int | None = 2) -> None:
    """Print ``data`` as JSON on stdout, nothing else on the line (for ``--json``)."""
    typer.echo(json.dumps(data, indent=indent))


def report_error(problem: Exception | str) -> None:
    """Print ``problem`` as one clear line on stderr, ``error: <message>``, and go on (a command
    that outlives its errors, as ``vigil run`` outlives a failed cycle).

    Soft wrap keeps a long path in one piece for copying, and the message is text, not markup,
    so brackets in it (``[a, b]``) print as they are.
    """
    from rich.console import Console
    from rich.text import Text

    message = Text.assemble(("error:", "red"), " ", str(problem))
    Console(stderr=True, soft_wrap=True).print(message, highlight=False)


def fail(problem: Exception | str) -> NoReturn:
    """Print ``problem`` as :func:`report_error` does and exit with code 1."""
    report_error(problem)
    if isinstance(problem, Exception):
        raise typer.Exit(1) from problem
    raise typer.Exit(1)


class ReportingGroup(TyperGroup):
    """The ``vigil`` group: a Vigil or file error from any command is reported by :func:`fail`."""

    def invoke(self, ctx: Context) -> Any:
        from vigil.core import VigilError

        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the reader went away (``vigil … | head``): Click handles that quietly
        except (VigilError, OSError) as err:
            fail(err)


def log_to_stderr(verbose: bool) -> None:
    """With ``--verbose``, show the library's INFO lines (one per source, model, rollup)."""
    if not verbose:
        return
    import logging

    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)


def log_server_lines() -> None:
    """``vigil serve`` logs every INFO line with its time, as a long-running service should."""
    import logging

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@contextmanager
def source_progress(out: Console, total: int) -> Iterator[SourceProgress]:
    """A transient bar over the sources of ``vigil profile``, with the rows read so far."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        console=out,
        transient=True,
    ) as progress:
        bar = SourceProgress(progress, progress.add_task("profiling", total=total, rows=0), total)
        yield bar
        bar.finish()


class SourceProgress:
    """The callback side of :func:`source_progress`."""

    def __init__(self, progress: Any, task: Any, total: int) -> None:
        self._progress, self._task, self._total = progress, task, total

    def update(self, step: ProfilingProgress) -> None:
        self._progress.update(
            self._task, completed=step.sources_done, description=step.source, rows=step.rows_read
        )

    def finish(self) -> None:
        self._progress.update(self._task, completed=self._total)


class PhaseProgress:
    """One Rich bar, reset for each phase of a timed run; on stderr so ``--json`` stays clean."""

    def __init__(self, first_phase: str) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TextColumn("{task.completed:>4.0f}/{task.total:.0f} s"),
            console=new_console(stderr=True),
        )
        self._task = self._progress.add_task(first_phase, total=1.0)

    def __enter__(self) -> PhaseProgress:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def start_phase(self, name: str, seconds: float) -> None:
        self._progress.reset(self._task, total=seconds, description=name)

    def advance(self, elapsed: float, total: float) -> None:
        self._progress.update(self._task, completed=elapsed, total=total)
