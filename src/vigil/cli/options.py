"""Options that several commands share, declared once so they read and behave the same.

The store URL comes from ``--db``, else the ``VIGIL_DB`` environment variable, else
``sqlite:///vigil.db`` (flag > env > default, resolved by Typer here and nowhere else).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

DEFAULT_DB = "sqlite:///vigil.db"

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="VIGIL_DB",
        help="Store URL: sqlite:///vigil.db or postgresql+psycopg://user@host/db.",
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log one line per source and model to stderr.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
FprsOption = Annotated[
    list[float] | None,
    typer.Option(
        "--fpr",
        help="Target false-alarm rate on the calibration prefixes (default 0.01); "
        "repeat it for one table per rate from a single scoring pass.",
    ),
]
CalibrationOption = Annotated[
    str,
    typer.Option(
        "--calibration",
        help="Threshold from every prefix step ('prefix') or only its unlabeled ones "
        "('normal-prefix'; prefix labels are never scored).",
    ),
]


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """``--since``: a duration ago (``2d``) or an ISO date or time (UTC unless zoned)."""
    from vigil.core import ConfigError, ensure_utc, parse_duration

    if text is None:
        return None
    try:
        return now - parse_duration(text)
    except ConfigError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ConfigError(f"--since {text!r} is neither a duration (2d) nor an ISO time") from err
    return ensure_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
