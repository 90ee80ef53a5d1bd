"""Combining stored profiles: merge equal keys, or roll windows up into longer ones.

Both reduce many profiles into few with :meth:`Profile.merge_all`, which merges each sketch
across all profiles at once: a left fold of ``merge`` would copy every KLL sketch once per step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from vigil.core import ConfigError, ProfileKey, Window
from vigil.profile.profile import Profile


def merge_profiles(profiles: Iterable[Profile]) -> dict[ProfileKey, Profile]:
    """Merge the profiles that share a key (model, version and window)."""
    groups: dict[ProfileKey, list[Profile]] = {}
    for profile in profiles:
        groups.setdefault(profile.key, []).append(profile)
    return {key: Profile.merge_all(group) for key, group in sorted(groups.items())}


def rollup(profiles: Iterable[Profile], to: timedelta) -> dict[ProfileKey, Profile]:
    """Re-window profiles into aligned windows of length ``to`` (e.g. hourly -> daily)."""
    groups: dict[ProfileKey, list[Profile]] = {}
    for profile in profiles:
        window = Window.containing(profile.key.window.start, to)
        if not window.covers(profile.key.window):
            raise ConfigError(
                f"profile window {profile.key.window} does not fit in one {to} window; "
                "roll up only into windows longer than (and aligned with) the profiles'"
            )
        key = replace(profile.key, window=window)
        groups.setdefault(key, []).append(
            replace(profile, key=key, spec=replace(profile.spec, window=to))
        )
    return {key: Profile.merge_all(group) for key, group in sorted(groups.items())}
