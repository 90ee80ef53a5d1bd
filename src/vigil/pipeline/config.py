"""``vigil.toml``: the one configuration file, validated at the trust boundary with pydantic.

Everything below the pipeline takes plain settings values; this module is where text from a file
becomes those values, with errors that name the key and the bad value. The file is resolved
once, when it is read: durations parsed, the watch policy built, filters and routes checked
against each other (a route to a channel that does not exist, a history the watch policy cannot
use) into frozen :class:`Resolved` values, so a mistake stops ``vigil run`` before any work,
not after a cycle of it. Precedence, written once: command-line flag > environment (read only
by the CLI) > this file > the defaults here (:meth:`VigilConfig.with_overrides` re-resolves).
The tables are checked key by key in :mod:`vigil.pipeline.config_sections`; what they mean together
is resolved in :mod:`vigil.pipeline.resolved`.

Example::

    [store]
    url = "sqlite:///vigil.db"
    workers = 2                          # processes `vigil run` profiles and computes series
                                         # in at once (1: all in the runner's own process)

    [ingest]
    sources = ["/var/log/inference"]      # files or Hive-partitioned folders
    late_data = "1d"                     # how late rows may arrive; older date= folders are
                                         # not read again by the next `vigil run` cycle
    earliest = "2000-01-01"              # rows stamped before are quarantined, and no window
                                         # before it is ever planned
    ahead = "1d"                         # rows stamped later than now + ahead are quarantined
    max_nesting = 64                     # JSON nested deeper is quarantined before any parser
    max_features = 2000                  # features (outputs, tags) per row

    [profile]
    window = "1h"
    max_windows_per_cycle = 10000        # a cycle processes at most this many windows (the
                                         # oldest due); the next cycles take the rest
    segments = ["region"]                # tags whose values split profiles, drift and
                                         # performance per value (region=eu), each judged at
                                         # drift alpha / its number of segments
    max_segment_values = 20              # per tag; the rest are counted in region=(other)

    [drift]                              # when a window's column differs from its reference
    alpha = 1e-6                         # false-alarm probability of one test of one window
    min_mean_sd = 0.05                   # and the smallest change worth a page: a mean shift
    min_std_ratio = 0.1                  # in reference sds, a spread change as a ratio,
    min_rank_shift = 0.05                # a quantile move in ranks, a KS distance, a
    min_ks = 0.05                        # category's share in share points
    min_share = 0.03
    recent_mean_alpha_ratio = 10         # the day-long recent_mean (a slow drift's test) is
                                         # tested at alpha x this (1e-5)

    [performance]                        # from labels joined to predictions by request_id
    threshold = 0.5                      # a score at or above it predicts the positive class
    label_horizon = "35d"                # how long a prediction waits for its label
    min_change = 0.02                    # smallest change of accuracy, AUC, ... worth a page
    min_error_ratio = 0.1                # smallest relative change of a regressor's errors

    [detect]
    history = "7d"                       # what detectors learn "normal" from: whole days, >= 2
    fpr = 0.001                          # target false-alarm rate per series step
    detector = "consensus"               # the default; any name in vigil.detect.DETECTORS

    [filters]
    min_severity = 1.0                   # half-widths of the band that decided (1: its edge)
    duration = "2/3"                     # k anomalous steps in n (default: 2 of the last 3)
    urgent_severity = 3.0                # this far outside, one step is enough

    [grouping]
    gap = "3h"
    resolve_after = "6h"

    [server]                             # vigil serve --config: bounds on every client
    header_timeout = "10s"               # a request head must arrive within it, else closed
    body_timeout = "60s"                 # an ingest body must arrive within it, else 408
    max_uploads_per_client = 4           # ingest bodies one client address sends at once
    max_models_per_request = 100         # models in one ingest request (more: 400)

    [links]                              # where alerts link to
    vigil = "https://vigil.example.org"  # the Vigil server: its /incidents/<id> pages
    dashboard = "https://grafana.example.org/d/vigil-models/vigil?var-model={model}"

    [alertmanager]                       # every incident goes to Alertmanager as an alert
    urls = ["http://alertmanager:9093"]  # the replicas of one cluster
    hold = "3h"                          # an open incident stays firing this long per post
    critical_severity = 3.0              # opening severity from which severity="critical"
    labels = { team = "ml-platform" }    # static labels for Alertmanager's routes

    [[channels]]                         # Vigil's own channels, for teams without Alertmanager
    name = "mail"
    type = "smtp"
    host = "smtp.example.org"
    port = 25
    sender = "vigil@example.org"
    recipients = ["ml-oncall@example.org"]
    timeout = "10s"                      # per attempt; sends run off the pipeline's thread

    [[routes]]
    owner = "ranking-team"
    models = "rank*"
    channel = "mail"

    [[references]]                       # a fixed reference instead of last week's same hours
    models = "loan-*"
    start = "2026-02-02"                 # the validation week
    end = "2026-02-09"

    [[references]]                       # or a profile of the training data, made by
    models = "churn"                     # vigil.reference_profile(frame, ..., out=PATH)
    profile = "references/churn-v3.vigilprofile"
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Self

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from vigil.alert import (
    Alertmanager,
    AlertmanagerSettings,
    Channel,
    Links,
    Route,
    SmtpChannel,
    WebhookChannel,
)
from vigil.core import ConfigError, parse_duration
from vigil.incidents import FilterSettings, GroupingSettings
from vigil.ingest import IngestLimits
from vigil.pipeline.config_sections import (
    AlertmanagerSection,
    ChannelSection,
    DetectSection,
    DriftSection,
    FilterSection,
    GroupingSection,
    IngestSection,
    LinksSection,
    PerformanceSection,
    ProfileSection,
    ReferenceSection,
    ReportSection,
    RouteSection,
    Section,
    ServerSection,
    SmtpSection,
    StoreSection,
    utc_day,
)
from vigil.pipeline.labels import LabelSettings
from vigil.pipeline.policy import WatchPolicy
from vigil.pipeline.resolved import Resolved, parse_moment, resolve
from vigil.profile import ProfileSpec
from vigil.stats import ChangeTest

__all__ = ["Resolved", "VigilConfig", "load_config", "parse_config", "parse_moment"]


class VigilConfig(Section):
    """The whole file; every section is optional and defaults are usable as they are."""

    store: StoreSection = StoreSection()
    ingest: IngestSection = IngestSection()
    profile: ProfileSection = ProfileSection()
    drift: DriftSection = DriftSection()
    performance: PerformanceSection = PerformanceSection()
    detect: DetectSection = DetectSection()
    filters: FilterSection = FilterSection()
    grouping: GroupingSection = GroupingSection()
    report: ReportSection = ReportSection()
    server: ServerSection = ServerSection()
    channels: list[ChannelSection] = Field(default_factory=list)
    routes: list[RouteSection] = Field(default_factory=list)
    links: LinksSection = LinksSection()
    alertmanager: AlertmanagerSection | None = None
    references: list[ReferenceSection] = Field(default_factory=list)
    _resolved: Resolved = PrivateAttr()

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        self._resolved = resolve(
            ingest=self.ingest,
            profile=self.profile,
            detect=self.detect,
            filters=self.filters,
            grouping=self.grouping,
            channels=self.channels,
            routes=self.routes,
            references=self.references,
        )
        return self

    @property
    def resolved(self) -> Resolved:
        return self._resolved

    @property
    def window(self) -> timedelta:
        return self._resolved.window

    @property
    def late_data(self) -> timedelta:
        return self._resolved.late_data

    @property
    def history(self) -> timedelta:
        return self._resolved.policy.history

    def watch_policy(self) -> WatchPolicy:
        return self._resolved.policy

    @property
    def earliest(self) -> datetime:
        """No row before it is plausible, and no window before it is planned."""
        return utc_day(self.ingest.earliest)

    def ingest_limits(self) -> IngestLimits:
        return IngestLimits(
            earliest=self.earliest,
            ahead=parse_duration(self.ingest.ahead),
            max_nesting=self.ingest.max_nesting,
            max_features=self.ingest.max_features,
            fields=self._resolved.fields,
        )

    def change_test(self) -> ChangeTest:
        """``[drift]`` and ``[performance]`` as the test every tested statistic is decided by."""
        drift, performance = self.drift, self.performance
        return ChangeTest(
            alpha=drift.alpha,
            min_mean_sd=drift.min_mean_sd,
            min_std_ratio=drift.min_std_ratio,
            min_rank_shift=drift.min_rank_shift,
            min_ks=drift.min_ks,
            min_share=drift.min_share,
            recent_mean_alpha_ratio=drift.recent_mean_alpha_ratio,
            min_performance=performance.min_change,
            min_error_ratio=performance.min_error_ratio,
        )

    def profile_spec(self) -> ProfileSpec:
        """How profiles are built: the window and the segments (``[profile]``)."""
        return ProfileSpec(
            window=self.window,
            segments=tuple(self.profile.segments),
            max_segment_values=self.profile.max_segment_values,
        )

    def label_settings(self) -> LabelSettings:
        return LabelSettings(
            window=self.window,
            horizon=parse_duration(self.performance.label_horizon),
            segments=tuple(self.profile.segments),
            max_segment_values=self.profile.max_segment_values,
        )

    def filter_settings(self) -> FilterSettings:
        return self._resolved.filters

    def grouping_settings(self) -> GroupingSettings:
        return self._resolved.grouping

    def build_routes(self) -> list[Route]:
        return list(self._resolved.routes)

    def with_overrides(self, **sections: dict[str, object]) -> VigilConfig:
        """This config with some keys of some sections replaced, resolved again (a
        ``model_copy`` would skip the checks)."""
        data = self.model_dump()
        for section, values in sections.items():
            data[section] = {**data[section], **values}
        return parse_config(data, source="the command line")

    def build_channels(self, secrets: dict[str, str] | None = None) -> dict[str, Channel]:
        """Channels by name; ``secrets`` maps ``password_env`` names to values (from the CLI)."""
        built: dict[str, Channel] = {}
        for section in self.channels:
            if isinstance(section, SmtpSection):
                password = (secrets or {}).get(section.password_env or "")
                built[section.name] = SmtpChannel(
                    name=section.name,
                    host=section.host,
                    port=section.port,
                    sender=section.sender,
                    recipients=tuple(section.recipients),
                    starttls=section.starttls,
                    username=section.username,
                    password=password,
                    timeout_s=parse_duration(section.timeout).total_seconds(),
                )
            else:
                built[section.name] = WebhookChannel(
                    name=section.name,
                    url=section.url,
                    slack=section.type == "slack",
                    timeout_s=parse_duration(section.timeout).total_seconds(),
                )
        return built

    def build_links(self) -> Links:
        return Links(vigil_url=self.links.vigil, dashboard=self.links.dashboard)

    def build_alertmanager(self) -> Alertmanager | None:
        """The Alertmanager client of ``[alertmanager]``, or ``None`` without that section."""
        section = self.alertmanager
        if section is None:
            return None
        return Alertmanager(
            settings=AlertmanagerSettings(
                urls=tuple(section.urls),
                hold=parse_duration(section.hold),
                critical_severity=section.critical_severity,
                labels=dict(section.labels),
                timeout_s=parse_duration(section.timeout).total_seconds(),
            )
        )


def load_config(path: Path | None) -> VigilConfig:
    """Read and validate ``path``; ``None`` gives the defaults."""
    if path is None:
        return VigilConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"config file {str(path)!r} does not exist") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {err}") from err
    return parse_config(data, source=str(path))


def parse_config(data: dict[str, object], *, source: str = "<config>") -> VigilConfig:
    try:
        return VigilConfig.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(_problem(e["loc"], e["msg"]) for e in err.errors())
        raise ConfigError(f"{source}: {problems}") from err


def _problem(location: tuple[int | str, ...], message: str) -> str:
    where = ".".join(str(part) for part in location)
    text = message.removeprefix("Value error, ")
    return f"{where}: {text}" if where else text
