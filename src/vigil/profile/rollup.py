"""Combining stored profiles: merge equal keys, or roll windows up into longer ones.

Both reduce many profiles into few; with 24 hourly profiles of ~25 columns a naive left fold
would copy every KLL sketch 23 times, so profiles are merged in a balanced tree (each sketch is
copied ~log2(n) times, and the fold stays associative by construction).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import timedelta

from vigil.core import ConfigError, ProfileKey, Window
from vigil.profile.profile import Profile


def merge_profiles(profiles: Iterable[Profile]) -> dict[ProfileKey, Profile]:
    """Merge the profiles that share a key (model, version and window)."""
    groups: dict[ProfileKey, list[Profile]] = {}
    for profile in profiles:
        groups.setdefault(profile.key, []).append(profile)
    return {key: _merge_all(group) for key, group in sorted(groups.items())}


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
    return {key: _merge_all(group) for key, group in sorted(groups.items())}


def _merge_all(profiles: Sequence[Profile]) -> Profile:
    if len(profiles) == 1:
        return profiles[0]
    middle = len(profiles) // 2
    return _merge_all(profiles[:middle]).merge(_merge_all(profiles[middle:]))
