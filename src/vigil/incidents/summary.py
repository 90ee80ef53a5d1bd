"""One-line incident summaries that read like what a person would write.

The summary names the kind of problem first (:func:`~vigil.incidents.kinds.classify`: a schema
change, a missing or constant feature, a traffic stop, a latency regression, a drift) because
that is what decides who looks at it, then the feature or host it is about, plainly: "feature
`plan` missing since …", "feature `age` is constant at 0 since …".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from vigil.core import ALL_VERSIONS, Family
from vigil.detect import Anomaly
from vigil.incidents.incident import Attribution, anomaly_weight
from vigil.incidents.kinds import IncidentKind, features_of, kind_of, segments_of


def summarize(
    model: str,
    version: str,
    anomalies: Sequence[Anomaly],
    since: datetime,
    attribution: Sequence[Attribution] = (),
) -> str:
    """Describe the incident formed by ``anomalies`` of ``model``/``version``; ``attribution``
    names where its excess lies."""
    text = _describe(model, version, anomalies, since)
    if attribution:
        top = attribution[0]
        text += f", on {top} ({top.share:.0%} of the excess)" + "".join(
            f", {more} ({more.share:.0%})" for more in attribution[1:]
        )
    return text


def _describe(model: str, version: str, anomalies: Sequence[Anomaly], since: datetime) -> str:
    name = model if version in ("", ALL_VERSIONS) else f"{model}-{version}"
    when = since.strftime("%Y-%m-%d %H:%M")
    kind = kind_of(anomalies)
    features = features_of(anomalies)
    if kind is IncidentKind.SCHEMA:
        return (
            f"schema change in {name} since {when}: {len(features)} features changed at once "
            f"({_listed(features)})"
        )
    if kind is IncidentKind.MISSING_FEATURE:
        missing = _columns_with(anomalies, "missing")
        where = _only_in(anomalies, "missing", missing[0])
        return f"feature `{missing[0]}` of {name} missing{where} since {when}" + _and_more(missing)
    if kind is IncidentKind.CONSTANT_FEATURE:
        constant = _columns_with(anomalies, "constant")
        note = next((a.note for a in anomalies if a.key.statistic == "constant" and a.note), "")
        what = f"is {note}" if note else "has the same value for every request"
        where = _only_in(anomalies, "constant", constant[0])
        return f"feature `{constant[0]}` of {name}{where} {what} since {when}" + _and_more(constant)
    if kind is IncidentKind.NEW_FEATURE:
        new = _columns_with(anomalies, "new")
        where = _only_in(anomalies, "new", new[0])
        return f"new feature `{new[0]}` in {name}{where} since {when}" + _and_more(new)
    worst = _worst(anomalies)
    if kind is IncidentKind.TRAFFIC:
        traffic = [a for a in anomalies if a.key.family == Family.AUXILIARY] or [worst]
        top = max(traffic, key=anomaly_weight)
        if top.value == 0:
            expected = max(top.expected, 0.0)
            return f"traffic stopped for {name} since {when} (expected about {expected:.0f})"
        drop = _relative_change(top)
        return f"traffic {top.direction} {abs(drop):.0%} vs expected for {name} since {when}"
    if kind is IncidentKind.LATENCY:
        latency = max((a for a in anomalies if "latency" in a.key.statistic), key=anomaly_weight)
        label = latency.key.statistic.replace("latency_", "")
        ratio = latency.value / latency.expected if latency.expected > 0 else math.nan
        if not math.isfinite(ratio):
            how = "anomalous"
        elif ratio >= 1:
            how = f"up {ratio:.1f}×"
        else:  # faster than expected: said as a drop, not as "up 0.3×"
            how = f"down {1 - ratio:.0%}"
        return f"{label} latency {how} for {name} since {when}"
    if kind is IncidentKind.PERFORMANCE:
        performance = [a for a in anomalies if a.key.family == Family.PERFORMANCE] or [worst]
        top = _worst(performance)
        where = _segment_of(top, performance)
        return (
            f"{top.key.statistic} of `{top.key.base_column}`{where} {top.direction} to "
            f"{top.value:.3g} from {top.expected:.3g} for {name} since {when}"
        )
    if kind is IncidentKind.DRIFT:
        drifting = [
            a
            for a in anomalies
            if a.key.family in (Family.FEATURE, Family.DRIFT) and a.key.base_column == features[0]
        ]
        top = _worst(drifting)
        return (
            f"feature `{features[0]}` of {name} drifted{_segment_of(top, drifting)} since {when} "
            f"({top.key.statistic} {top.value:.3g}, expected {top.expected:.3g})"
            + _and_more(list(features))
        )
    column = worst.key.base_column
    subject = f"{worst.key.family} `{column}`" if column else worst.key.family
    subject += _segment_of(worst, [a for a in anomalies if a.key.base_column == column])
    relative = _relative_change(worst)
    size = f" {abs(relative):.0%}" if math.isfinite(relative) else ""
    return (
        f"{subject} {worst.key.statistic} {worst.direction}{size} vs expected for {name} "
        f"since {when}"
    )


def _worst(anomalies: Sequence[Anomaly]) -> Anomaly:
    """The most severe anomaly; on a tie the whole model's, then the earliest listed: a change
    of every segment is the model's, not its first segment's."""
    return max(anomalies, key=lambda a: (anomaly_weight(a), not a.key.segment))


def _segment_of(top: Anomaly, related: Sequence[Anomaly]) -> str:
    """`` in segment region=eu`` when the most severe anomaly is a segment's (a change confined
    to it is diluted in the whole model), with how many other segments moved too."""
    if not top.key.segment:
        return ""
    others = len(segments_of(related)) - 1
    more = f" (and {others} more segment{'s' if others > 1 else ''})" if others > 0 else ""
    return f" in segment {top.key.segment}{more}"


def _only_in(anomalies: Sequence[Anomaly], statistic: str, column: str) -> str:
    """`` in segment region=eu`` when a data-quality event of ``column`` came from segments
    only (the whole model did not show it)."""
    found = [a for a in anomalies if a.key.statistic == statistic and a.key.base_column == column]
    if not found or any(not a.key.segment for a in found):
        return ""
    return _segment_of(_worst(found), found)


def _columns_with(anomalies: Sequence[Anomaly], statistic: str) -> list[str]:
    return list(features_of(a for a in anomalies if a.key.statistic == statistic))


def _listed(columns: Sequence[str]) -> str:
    return ", ".join(f"`{c}`" for c in columns[:3]) + (", …" if len(columns) > 3 else "")


def _and_more(columns: Sequence[str]) -> str:
    return f" (and {len(columns) - 1} more)" if len(columns) > 1 else ""


def _relative_change(anomaly: Anomaly) -> float:
    if anomaly.expected == 0 or not math.isfinite(anomaly.expected):
        return math.nan
    return (anomaly.value - anomaly.expected) / abs(anomaly.expected)
