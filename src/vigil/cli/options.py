"""Options that several commands share, declared once so they read and behave the same.

Every ``VIGIL_*`` environment variable is declared here and only here (the README lists them):

- ``VIGIL_DB``: the store URL of every command that has ``--db`` (not ``vigil bench store``,
  whose ``--db`` is a scratch store it fills with benchmark data);
- ``VIGIL_CONFIG``: the ``vigil.toml`` of ``vigil run``, ``vigil serve --run``, ``vigil report``
  and ``vigil profile`` (its ``[ingest]`` section);
- ``VIGIL_TOKEN`` and ``VIGIL_READ_TOKEN``: the write and read tokens of ``vigil serve``.

A flag beats its variable, which beats the default; Typer resolves that here and nowhere else.
Durations (``--window``, ``--every``, ``--to``, ``--since 2d``) are read by
:func:`vigil.core.parse_duration` everywhere, the one grammar of the configuration file too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from vigil.pipeline.config import VigilConfig

DEFAULT_DB = "sqlite:///vigil.db"

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="VIGIL_DB",
        help="Store URL: sqlite:///vigil.db or postgresql+psycopg://user@host/db.",
    ),
]
OptionalDbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="VIGIL_DB",
        help="Store URL: sqlite:///vigil.db or postgresql+psycopg://user@host/db.",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", envvar="VIGIL_CONFIG", help="vigil.toml; defaults apply without one."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="VIGIL_TOKEN", help="Write token (ingest, feedback)."),
]
ReadTokenOption = Annotated[
    str | None,
    typer.Option("--read-token", envvar="VIGIL_READ_TOKEN", help="Token for reads; open if unset."),
]
SinceOption = Annotated[
    str | None,
    typer.Option(help="Only windows from this time: an ISO time, or a duration ago (2d)."),
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


def channel_secrets(config: VigilConfig) -> dict[str, str]:
    """The passwords the alert channels name (``password_env``), read from the environment."""
    import os

    names = [getattr(channel, "password_env", None) for channel in config.channels]
    return {name: os.environ.get(name, "") for name in names if name}


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
