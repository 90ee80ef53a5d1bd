"""What Vigil cannot see or vouch for about a model, said in words instead of left green.

Silence is not health. Logs whose rows count no request leave traffic unwatched; a family of
signals with no value in a period (no feature was ever carried) leaves its checks undefined; a
model younger than the watch's history is judged on too little; quarantined rows never reach
the statistics. Each is a sentence for the ``vigil run`` summary, the report and the dashboard,
computed from the same series they show.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import ALL_VERSIONS, Family
from vigil.stats import Series

MIN_DAYS = 2
"""The same-hour detector needs this many earlier days before it judges an hour at all."""


def model_notices(
    series: Sequence[Series],
    *,
    start: datetime,
    end: datetime,
    history: timedelta,
    quarantined: int = 0,
    reasons: Sequence[tuple[str, int]] = (),
) -> tuple[str, ...]:
    """The notices of one model's ``series`` over ``[start, end)`` (see the module docstring)."""
    begin, stop = _datetime64(start), _datetime64(end)
    rows = _total(series, "rows", begin, stop)
    said: list[str] = []
    if rows > 0 and _total(series, "requests", begin, stop) == 0:
        said.append(
            f"{rows:,.0f} rows but no requests: no row was a prediction, an arrival, a completion "
            "or a line carrying features and outputs, so traffic is not watched"
        )
    if rows > 0:
        for family, signals in ((Family.FEATURE, "feature"), (Family.OUTPUT, "output")):
            members = [s for s in series if s.key.family == family]
            if not members:
                said.append(f"no {signals}s logged: nothing about {signals}s is watched")
            elif all(_empty(s, begin, stop) for s in members):
                said.append(
                    f"no {signals} values in this period: every {signals} signal (coverage, "
                    "missing, constant, drift) is undefined"
                )
    first = _first_data(series)
    if first is not None and end - first < history:
        days = (end - first) / timedelta(days=1)
        said.append(
            f"only {days:.1f} days of history (since {first:%Y-%m-%d %H:%M}), less than the "
            f"{history.days} the watch learns from"
            + (
                f"; hours are judged from day {MIN_DAYS + 1} on, so no incident yet means little"
                if days < MIN_DAYS + 1
                else "; its bands are wider than they will be"
            )
        )
    if quarantined:
        top = "; ".join(f"{reason} ({count:,})" for reason, count in reasons[:3])
        said.append(f"{quarantined:,} rows quarantined" + (f", mostly: {top}" if top else ""))
    return tuple(said)


def _model_level(series: Sequence[Series], statistic: str) -> Series | None:
    for one in series:
        if (
            one.key.family == Family.AUXILIARY
            and one.key.version == ALL_VERSIONS
            and one.key.statistic == statistic
        ):
            return one
    return None


def _total(
    series: Sequence[Series], statistic: str, begin: np.datetime64, stop: np.datetime64
) -> float:
    found = _model_level(series, statistic)
    if found is None:
        return 0.0
    inside = (found.timestamps >= begin) & (found.timestamps < stop)
    return float(np.nansum(found.values[inside]))


def _empty(series: Series, begin: np.datetime64, stop: np.datetime64) -> bool:
    inside = (series.timestamps >= begin) & (series.timestamps < stop)
    return not bool(np.any(~np.isnan(series.values[inside])))


def _first_data(series: Sequence[Series]) -> datetime | None:
    rows = _model_level(series, "rows")
    if rows is None:
        return None
    with_data = rows.timestamps[np.nan_to_num(rows.values, nan=0.0) > 0]
    if not len(with_data):
        return None
    moment: datetime = with_data[0].astype("datetime64[us]").astype(datetime)
    return moment.replace(tzinfo=UTC)


def _datetime64(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "s")
