"""The config file is resolved once, at load: every key parsed, every cross-check made then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil.core import ConfigError
from vigil.pipeline.config import parse_config, parse_moment
from vigil.stats import ReferenceMode


@pytest.mark.parametrize("history", ["36h", "1d", "60h"])
def test_a_history_the_watch_cannot_use_is_refused_at_load_naming_the_key(history: str) -> None:
    with pytest.raises(ConfigError, match=rf"detect\.history: .*got '{history}'"):
        parse_config({"detect": {"history": history}})


@pytest.mark.parametrize("history", ["2d", "3d", "14d", "2w"])
def test_whole_days_of_history_load(history: str) -> None:
    assert parse_config({"detect": {"history": history}}).history.days >= 2


def test_a_route_to_a_missing_channel_is_refused_at_load() -> None:
    with pytest.raises(ConfigError, match=r"routes\[0\]\.channel: .*'pager'"):
        parse_config({"routes": [{"owner": "ml", "channel": "pager"}]})
    hook = {"type": "webhook", "name": "pager", "url": "http://127.0.0.1:9/x"}
    config = parse_config({"channels": [hook], "routes": [{"owner": "ml", "channel": "pager"}]})
    assert [r.channel for r in config.build_routes()] == ["pager"]


def test_fpr_and_detector_reach_the_watch_policy() -> None:
    policy = parse_config({"detect": {"fpr": 0.01, "detector": "deep"}}).watch_policy()
    assert (policy.fpr, policy.detector) == (0.01, "deep")
    with pytest.raises(ConfigError, match=r"detect\.detector: unknown detector 'prophet'"):
        parse_config({"detect": {"detector": "prophet"}})


def test_a_window_must_divide_a_day() -> None:
    with pytest.raises(ConfigError, match=r"profile\.window must divide a day"):
        parse_config({"profile": {"window": "7h"}})
    assert parse_config({"profile": {"window": "30m"}}).window == timedelta(minutes=30)


def test_overrides_are_checked_like_the_file() -> None:
    config = parse_config({})
    assert config.with_overrides(profile={"window": "2h"}).window == timedelta(hours=2)
    with pytest.raises(ConfigError, match="must divide a day"):
        config.with_overrides(profile={"window": "5h"})


def test_a_fixed_reference_is_a_date_range_per_model_pattern() -> None:
    config = parse_config(
        {"references": [{"models": "loan-*", "start": "2026-02-02", "end": "2026-02-09"}]}
    )
    reference = config.resolved.reference_for("loan-approval")
    assert reference is not None and reference.mode is ReferenceMode.FIXED
    assert reference.baseline is not None
    assert reference.baseline.start == datetime(2026, 2, 2, tzinfo=UTC)
    assert config.resolved.reference_for("search") is None
    with pytest.raises(ConfigError, match=r"references\[0\]: the reference"):
        parse_config({"references": [{"start": "2026-02-02T10:00Z", "end": "2026-02-02T10:30Z"}]})


def test_moments_need_a_zone_unless_they_are_dates() -> None:
    assert parse_moment("2026-03-16") == datetime(2026, 3, 16, tzinfo=UTC)
    assert parse_moment("2026-03-16T12:00Z") == datetime(2026, 3, 16, 12, tzinfo=UTC)
    with pytest.raises(ConfigError, match="no zone"):
        parse_moment("2026-03-16T12:00")


def test_profile_segments_reach_the_profile_spec() -> None:
    config = parse_config({"profile": {"segments": ["region"], "max_segment_values": 5}})
    spec = config.profile_spec()
    assert (spec.segments, spec.max_segment_values, spec.window) == (("region",), 5, config.window)
    assert parse_config({}).profile_spec().segments == ()
    with pytest.raises(ConfigError):
        parse_config({"profile": {"max_segment_values": 0}})


def test_the_recent_means_alpha_ratio_reaches_the_change_test() -> None:
    assert parse_config({}).change_test().recent_mean_alpha_ratio == 10.0
    test = parse_config({"drift": {"recent_mean_alpha_ratio": 1}}).change_test()
    assert test.recent_mean_alpha_ratio == 1.0
    with pytest.raises(ConfigError, match=r"drift\.recent_mean_alpha_ratio"):
        parse_config({"drift": {"recent_mean_alpha_ratio": 0}})
