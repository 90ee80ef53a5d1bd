"""A reference and a current data set side by side: which columns drifted, and by how much.

The values are decided elsewhere (``vigil.compare`` in the pipeline applies the pipeline's own
drift decision); this module only holds and renders them: as a full HTML page (``save``), as a
fragment with scoped styles for a notebook cell (``_repr_html_``), and as plain text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jinja2

from vigil.core import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparedColumn:
    """One column's verdict and the numbers behind it.

    ``drifted`` is decided by ``decided_by`` reaching ``threshold`` on at least ``min_support``
    rows; ``statistics`` are every drift statistic computed (name, value), ``signals`` the raised
    data-quality signals (``missing``, ``new``, ``constant``, ``type_changed``).
    """

    column: str
    family: str
    categorical: bool
    statistics: tuple[tuple[str, float], ...]
    support: float
    decided_by: str
    threshold: float
    drifted: bool
    signals: tuple[str, ...]
    reference_values: int
    current_values: int

    @property
    def value(self) -> float:
        """The value of the deciding statistic (NaN when it was not computed)."""
        return dict(self.statistics).get(self.decided_by, math.nan)

    @property
    def problem(self) -> bool:
        return self.drifted or bool(self.signals)


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonContent:
    """What a comparison report shows: both sides' row counts and every column."""

    title: str
    reference_rows: int
    current_rows: int
    columns: tuple[ComparedColumn, ...]

    def __post_init__(self) -> None:
        if self.reference_rows < 0 or self.current_rows < 0:
            raise ConfigError(
                f"row counts must be >= 0, got {self.reference_rows} and {self.current_rows}"
            )


def _number(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.3g}"


def _count(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:,.0f}"


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("vigil.report", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["number"] = _number
_ENV.filters["count"] = _count


def comparison_fragment(content: ComparisonContent) -> str:
    """The report as one ``<div>`` whose styles apply only inside it (safe in a notebook)."""
    return _ENV.get_template("comparison_fragment.html.j2").render(report=content)


def comparison_page(content: ComparisonContent) -> str:
    """The report as a standalone HTML page."""
    return _ENV.get_template("comparison.html.j2").render(report=content)


def comparison_text(content: ComparisonContent) -> str:
    """One line per column, problems first: for logs, terminals and plain-text mail."""
    drifted = [c for c in content.columns if c.problem]
    lines = [
        f"{content.title}: {content.reference_rows:,} reference rows, "
        f"{content.current_rows:,} current rows; {len(drifted)} of {len(content.columns)} "
        "columns changed"
    ]
    for column in sorted(content.columns, key=lambda c: (not c.problem, c.family, c.column)):
        verdict = "DRIFT" if column.drifted else "ok"
        signals = f" [{', '.join(column.signals)}]" if column.signals else ""
        lines.append(
            f"  {column.family} {column.column}: {verdict} "
            f"({column.decided_by} {_number(column.value)}, threshold {column.threshold:g}, "
            f"n {_count(column.support)}){signals}"
        )
    return "\n".join(lines)
