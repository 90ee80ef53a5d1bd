"""The configuration file's values as the pipeline uses them (:class:`Resolved`), resolved and
cross-checked once, when the file is read: durations parsed, the watch policy built, routes checked
against the channels, references read. Errors name the key and the bad value; they are raised as
``ValueError`` so the file's validation (:mod:`vigil.pipeline.config`) reports them with the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path

from vigil.alert import Route
from vigil.core import ConfigError, SerializationError, Window, format_duration, parse_duration
from vigil.detect import DETECTORS
from vigil.incidents import FilterSettings, GroupingSettings
from vigil.ingest import FieldMap
from vigil.pipeline.config_sections import (
    ChannelSection,
    DetectSection,
    FilterSection,
    GroupingSection,
    IngestSection,
    ProfileSection,
    ReferenceSection,
    RouteSection,
)
from vigil.pipeline.policy import WatchPolicy
from vigil.stats import Reference


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """The file's values as the pipeline uses them, resolved and cross-checked once."""

    window: timedelta
    late_data: timedelta
    policy: WatchPolicy
    filters: FilterSettings
    grouping: GroupingSettings
    routes: tuple[Route, ...]
    fields: FieldMap | None = None
    """Where the record's fields are in the logs (``[ingest.fields]``), or ``None``."""
    references: tuple[tuple[str, Reference], ...] = ()
    """``(models pattern, reference)``, the first match wins."""

    def reference_for(self, model: str) -> Reference | None:
        """The fixed reference configured for ``model``, or ``None`` (the trailing default)."""
        return next((r for pattern, r in self.references if fnmatch(model, pattern)), None)


def resolve(
    *,
    ingest: IngestSection,
    profile: ProfileSection,
    detect: DetectSection,
    filters: FilterSection,
    grouping: GroupingSection,
    channels: Sequence[ChannelSection],
    routes: Sequence[RouteSection],
    references: Sequence[ReferenceSection],
) -> Resolved:
    """Every value the file implies, and every check between its keys (errors name the key)."""
    window = _parse("profile.window", profile.window)
    if timedelta(days=1) % window:
        raise ValueError(
            f"profile.window must divide a day (the watch compares the same hour of earlier "
            f"days), got {profile.window!r}"
        )
    history = _parse("detect.history", detect.history)
    if detect.detector not in DETECTORS:
        known = ", ".join(sorted(DETECTORS))
        raise ValueError(f"detect.detector: unknown detector {detect.detector!r}; known: {known}")
    try:
        policy = WatchPolicy(detector=detect.detector, history=history, fpr=detect.fpr)
    except ConfigError as err:
        raise ValueError(f"detect.history: {err}") from err
    names = [channel.name for channel in channels]
    if len(set(names)) != len(names):
        raise ValueError(f"channels: names must be unique, got {names}")
    for index, route in enumerate(routes):
        if route.channel not in names:
            raise ValueError(
                f"routes[{index}].channel: route for {route.owner!r} names channel "
                f"{route.channel!r}, but the channels are {sorted(names)}"
            )
    k, _, n = filters.duration.partition("/")
    cooldown = filters.cooldown.strip()
    fixed = tuple(
        (section.models, _reference(index, section, window))
        for index, section in enumerate(references)
    )
    try:
        fields = None if ingest.fields is None else FieldMap.from_table(ingest.fields)
    except ConfigError as err:
        raise ValueError(f"ingest.fields: {err}") from err
    return Resolved(
        fields=fields,
        window=window,
        late_data=_parse("ingest.late_data", ingest.late_data),
        policy=policy,
        filters=FilterSettings(
            min_severity=filters.min_severity,
            duration_k=int(k),
            duration_n=int(n),
            urgent_severity=filters.urgent_severity,
            step=window,
            cooldown=timedelta(0) if cooldown in ("0", "0s") else parse_duration(cooldown),
            min_traffic_share=filters.min_traffic_share,
        ),
        grouping=GroupingSettings(
            gap=_parse("grouping.gap", grouping.gap),
            resolve_after=_parse("grouping.resolve_after", grouping.resolve_after),
            platform_fraction=grouping.platform_fraction,
        ),
        routes=tuple(
            Route(owner=r.owner, models=r.models, channel=r.channel, min_severity=r.min_severity)
            for r in routes
        ),
        references=fixed,
    )


def _reference(index: int, section: ReferenceSection, window: timedelta) -> Reference:
    key = f"references[{index}]"
    dates = (section.start, section.end)
    if section.profile is not None:
        if dates != (None, None):
            raise ValueError(f"{key}: give either a profile or start and end, not both")
        return _reference_file(key, Path(section.profile))
    if section.start is None or section.end is None:
        raise ValueError(f"{key}: give start and end (a date range of the logs), or a profile")
    try:
        start, end = parse_moment(section.start), parse_moment(section.end)
    except ConfigError as err:
        raise ValueError(f"{key}: {err}") from err
    if end - start < window:
        raise ValueError(
            f"{key}: the reference {section.start!r} .. {section.end!r} must span at least one "
            f"window ({format_duration(window)})"
        )
    return Reference.fixed(Window(start=start, end=end))


def _reference_file(key: str, path: Path) -> Reference:
    """The profile file at ``path`` as a reference, read once when the configuration is."""
    from vigil.profile import Profile

    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{key}.profile: cannot read {str(path)!r}: {err.strerror}") from err
    try:
        profile = Profile.from_bytes(data)
    except SerializationError as err:
        raise ValueError(f"{key}.profile: {str(path)!r} is not a Vigil profile: {err}") from err
    return Reference.of_profiles([profile], source=str(path))


def _parse(key: str, text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ConfigError as err:
        raise ValueError(f"{key}: {err}") from err


def parse_moment(text: str) -> datetime:
    """An ISO 8601 time with a zone (``2026-03-16T00:00Z``), or a date (midnight UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise ConfigError(
            f"cannot read time {text!r}; write e.g. 2026-03-16 or 2026-03-16T12:00Z"
        ) from err
    if moment.tzinfo is None:
        if moment.time() != datetime.min.time():
            raise ConfigError(f"time {text!r} has no zone; add Z for UTC, e.g. {text}Z")
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
