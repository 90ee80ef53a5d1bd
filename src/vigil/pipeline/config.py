"""``vigil.toml``: the one configuration file, validated at the trust boundary with pydantic.

Everything below the pipeline takes plain settings values; this module is where text from a file
becomes those values, with errors that name the key and the bad value. Precedence, written once:
command-line flag > environment (read only by the CLI) > this file > the defaults here.

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
    segments = ["region"]                # tags whose values split performance (bounded)

    [drift]                              # when a window's column differs from its reference
    alpha = 1e-6                         # false-alarm probability of one test of one window
    min_mean_sd = 0.1                    # and the smallest change worth a page: a mean shift
    min_std_ratio = 0.1                  # in reference sds, a spread change as a ratio,
    min_rank_shift = 0.05                # a quantile move in ranks, a KS distance, a
    min_ks = 0.05                        # category's share in share points
    min_share = 0.03

    [performance]                        # from labels joined to predictions by request_id
    threshold = 0.5                      # a score at or above it predicts the positive class
    label_horizon = "35d"                # how long a prediction waits for its label
    min_change = 0.02                    # smallest change of accuracy, AUC, ... worth a page
    min_error_ratio = 0.1                # smallest relative change of a regressor's errors

    [detect]
    history = "7d"                       # what detectors learn "normal" from
    fpr = 0.001                          # target false-alarm rate per series step
    detector = "consensus"               # the default; or "same-hour", or "deep" (pre-trained)

    [filters]
    min_severity = 1.0                   # band widths away from the expected value
    duration = "2/3"                     # k anomalous steps in n (default: 2 of the last 3)

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
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
from vigil.ingest import EARLIEST, IngestLimits
from vigil.pipeline.labels import LabelSettings
from vigil.stats import ChangeTest


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(text: str) -> str:
    parse_duration(text)
    return text


def _utc_day(text: str) -> datetime:
    """``"2000-01-01"`` (or a full ISO time) as a UTC datetime; a zone-less time is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"cannot read date {text!r}; write e.g. '2000-01-01'") from err
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not EARLIEST.replace(year=1970) <= moment < EARLIEST.replace(year=2200):
        raise ValueError(f"date {text!r} must lie between 1970 and 2200")
    return moment


class StoreSection(_Section):
    url: str = "sqlite:///vigil.db"
    workers: int = Field(default=2, ge=1, le=64)


class IngestSection(_Section):
    sources: list[str] = Field(default_factory=list)
    chunk_rows: int = Field(default=100_000, gt=0)
    late_data: str = "1d"
    earliest: str = f"{EARLIEST:%Y-%m-%d}"
    ahead: str = "1d"
    max_nesting: int = Field(default=64, ge=3, le=1000)
    max_features: int = Field(default=2_000, ge=1, le=100_000)
    _check = field_validator("late_data", "ahead")(_duration)

    @field_validator("earliest")
    @classmethod
    def _earliest(cls, text: str) -> str:
        _utc_day(text)
        return text


class ProfileSection(_Section):
    window: str = "1h"
    max_windows_per_cycle: int = Field(default=10_000, ge=1)
    segments: list[str] = Field(default_factory=list)
    max_segment_values: int = Field(default=20, ge=1, le=1000)
    _check = field_validator("window")(_duration)


_TEST = ChangeTest()


class DriftSection(_Section):
    """Defaults chosen on generated months (``vigil bench quality``, docs/stats.md)."""

    alpha: float = Field(default=_TEST.alpha, gt=0, lt=0.5)
    min_mean_sd: float = Field(default=_TEST.min_mean_sd, ge=0)
    min_std_ratio: float = Field(default=_TEST.min_std_ratio, ge=0)
    min_rank_shift: float = Field(default=_TEST.min_rank_shift, ge=0, lt=0.5)
    min_ks: float = Field(default=_TEST.min_ks, ge=0, lt=1)
    min_share: float = Field(default=_TEST.min_share, ge=0, lt=1)


class PerformanceSection(_Section):
    threshold: float = Field(default=0.5, ge=0, le=1)
    label_horizon: str = "35d"
    min_change: float = Field(default=_TEST.min_performance, ge=0)
    min_error_ratio: float = Field(default=_TEST.min_error_ratio, ge=0)
    _check = field_validator("label_horizon")(_duration)


class DetectSection(_Section):
    history: str = "7d"
    fpr: float = Field(default=0.001, gt=0, lt=0.5)
    detector: Literal["consensus", "same-hour", "deep"] = "consensus"
    _check = field_validator("history")(_duration)


class FilterSection(_Section):
    min_severity: float = Field(default=1.0, ge=0)
    duration: str = "2/3"
    cooldown: str = "0s"
    min_traffic_share: float = Field(default=0.05, ge=0, le=1)

    @field_validator("duration")
    @classmethod
    def _k_of_n(cls, text: str) -> str:
        k, _, n = text.partition("/")
        if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
            raise ValueError(f"duration must read 'k/n' with 1 <= k <= n, got {text!r}")
        return text

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, text: str) -> str:
        if text.strip() not in ("0", "0s"):
            parse_duration(text)
        return text


class GroupingSection(_Section):
    gap: str = "3h"
    resolve_after: str = "6h"
    platform_fraction: float = Field(default=0.5, gt=0, le=1)
    _check = field_validator("gap", "resolve_after")(_duration)


class SmtpSection(_Section):
    type: Literal["smtp"]
    name: str
    host: str
    port: int = 25
    sender: str
    recipients: list[str]
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    """Name of an environment variable holding the password (read by the CLI, never stored)."""
    timeout: str = "10s"
    _check = field_validator("timeout")(_duration)


class WebhookSection(_Section):
    type: Literal["webhook", "slack"]
    name: str
    url: str
    timeout: str = "10s"
    _check = field_validator("timeout")(_duration)


class LinksSection(_Section):
    vigil: str = ""
    dashboard: str = ""


class AlertmanagerSection(_Section):
    urls: list[str] = Field(min_length=1)
    hold: str = "3h"
    critical_severity: float = Field(default=3.0, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
    timeout: str = "5s"
    _check = field_validator("hold", "timeout")(_duration)


class RouteSection(_Section):
    owner: str
    models: str = "*"
    channel: str
    min_severity: float = 0.0


class ServerSection(_Section):
    """Bounds of ``vigil serve`` (see :class:`vigil.server.ServerSettings`)."""

    header_timeout: str = "10s"
    body_timeout: str = "60s"
    max_uploads_per_client: int = Field(default=4, ge=1)
    max_models_per_request: int = Field(default=100, ge=1)
    _check = field_validator("header_timeout", "body_timeout")(_duration)


class ReportSection(_Section):
    out: str = "vigil-reports"


ChannelSection = Annotated[SmtpSection | WebhookSection, Field(discriminator="type")]


class VigilConfig(_Section):
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

    @property
    def window(self) -> timedelta:
        return parse_duration(self.profile.window)

    @property
    def late_data(self) -> timedelta:
        return parse_duration(self.ingest.late_data)

    @property
    def history(self) -> timedelta:
        return parse_duration(self.detect.history)

    @property
    def earliest(self) -> datetime:
        """No row before it is plausible, and no window before it is planned."""
        return _utc_day(self.ingest.earliest)

    def ingest_limits(self) -> IngestLimits:
        return IngestLimits(
            earliest=self.earliest,
            ahead=parse_duration(self.ingest.ahead),
            max_nesting=self.ingest.max_nesting,
            max_features=self.ingest.max_features,
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
            min_performance=performance.min_change,
            min_error_ratio=performance.min_error_ratio,
        )

    def label_settings(self) -> LabelSettings:
        return LabelSettings(
            window=self.window,
            horizon=parse_duration(self.performance.label_horizon),
            segments=tuple(self.profile.segments),
            max_segment_values=self.profile.max_segment_values,
        )

    def filter_settings(self) -> FilterSettings:
        k, _, n = self.filters.duration.partition("/")
        cooldown = self.filters.cooldown.strip()
        return FilterSettings(
            min_severity=self.filters.min_severity,
            duration_k=int(k),
            duration_n=int(n),
            step=self.window,
            cooldown=timedelta(0) if cooldown in ("0", "0s") else parse_duration(cooldown),
            min_traffic_share=self.filters.min_traffic_share,
        )

    def grouping_settings(self) -> GroupingSettings:
        return GroupingSettings(
            gap=parse_duration(self.grouping.gap),
            resolve_after=parse_duration(self.grouping.resolve_after),
            platform_fraction=self.grouping.platform_fraction,
        )

    def build_routes(self) -> list[Route]:
        names = {channel.name for channel in self.channels}
        for route in self.routes:
            if route.channel not in names:
                raise ConfigError(
                    f"route for {route.owner!r} names channel {route.channel!r}, "
                    f"but the channels are {sorted(names)}"
                )
        return [
            Route(owner=r.owner, models=r.models, channel=r.channel, min_severity=r.min_severity)
            for r in self.routes
        ]

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
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"{source}: {problems}") from err
