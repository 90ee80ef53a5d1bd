"""Run records in memory, one per (stage, model, window)."""

from __future__ import annotations

from vigil.core import Window
from vigil.store.values import Run, RunStatus


class MemoryRuns:
    """The :class:`~vigil.store.RunStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str, Window], Run] = {}

    def put(self, run: Run) -> None:
        self._runs[(run.stage, run.model, run.window)] = run

    def get(self, *, stage: str | None = None, status: RunStatus | None = None) -> list[Run]:
        return [
            run
            for (run_stage, _model, _window), run in sorted(
                self._runs.items(), key=lambda item: (item[0][2], item[0][0], item[0][1])
            )
            if (stage is None or run_stage == stage) and (status is None or run.status == status)
        ]
