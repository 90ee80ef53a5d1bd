"""``vigil.toml``: the one configuration file, validated at the trust boundary with pydantic.

Everything below the pipeline takes plain settings values; this module is where text from a file
becomes those values, with errors that name the key and the bad value. The file is resolved
once, when it is read: durations parsed, the watch policy built, filters and routes checked
against each other (a route to a channel that does not exist, a history the watch policy cannot
use) into frozen :class:`Resolved` values, so a mistake stops ``vigil run`` before any work,
not after a cycle of it. Precedence, written once: command-line flag > environment (read only
by the CLI) > this file > the defaults here (:meth:`VigilConfig.with_overrides` re-resolves).

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from vigil.alert import (
    Alertmanager,
    AlertmanagerSettings,
    Channel,
    Links,
    Route,
    SmtpChannel,
    WebhookChannel,
)
from vigil.core import (
    ConfigError,
    SerializationError,
    Window,
    format_duration,
    parse_duration,
)
from vigil.detect import DEFAULT_DETECTOR, DETECTORS
from vigil.incidents import FilterSettings, GroupingSettings
from vigil.ingest import EARLIEST, IngestLimits
from vigil.pipeline.labels import LabelSettings
from vigil.pipeline.watch import WatchPolicy
from vigil.stats import ChangeTest, Reference


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
    detector: str = DEFAULT_DETECTOR
    _check = field_validator("history")(_duration)


class FilterSection(_Section):
    min_severity: float = Field(default=1.0, ge=0)
    duration: str = "2/3"
    urgent_severity: float = Field(default=3.0, gt=0)
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


class ReferenceSection(_Section):
    """A fixed reference for the models matching ``models``: a date range of their own logs
    (``start`` and ``end``), or a reference profile file made from training or validation data
    by ``vigil.reference_profile`` (``profile``, a path relative to the working directory).

    Drift and the data-quality signals compare every window with it instead of the trailing
    same hours of the last week, so a change that lasts cannot become its own reference, and a
    new model is compared with what it was validated on from its first day."""

    models: str = "*"
    start: str | None = None
    end: str | None = None
    profile: str | None = None


class ReportSection(_Section):
    out: str = "vigil-reports"


ChannelSection = Annotated[SmtpSection | WebhookSection, Field(discriminator="type")]


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """The file's values as the pipeline uses them, resolved and cross-checked once."""

    window: timedelta
    late_data: timedelta
    policy: WatchPolicy
    filters: FilterSettings
    grouping: GroupingSettings
    routes: tuple[Route, ...]
    references: tuple[tuple[str, Reference], ...] = ()
    """``(models pattern, reference)``, the first match wins."""

    def reference_for(self, model: str) -> Reference | None:
        """The fixed reference configured for ``model``, or ``None`` (the trailing default)."""
        return next((r for pattern, r in self.references if fnmatch(model, pattern)), None)


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
    references: list[ReferenceSection] = Field(default_factory=list)
    _resolved: Resolved = PrivateAttr()

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        self._resolved = _resolve(self)
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


def _resolve(config: VigilConfig) -> Resolved:
    """Every value the file implies, and every check between its keys (errors name the key)."""
    window = _parse("profile.window", config.profile.window)
    if timedelta(days=1) % window:
        raise ValueError(
            f"profile.window must divide a day (the watch compares the same hour of earlier "
            f"days), got {config.profile.window!r}"
        )
    history = _parse("detect.history", config.detect.history)
    if config.detect.detector not in DETECTORS:
        known = ", ".join(sorted(DETECTORS))
        raise ValueError(
            f"detect.detector: unknown detector {config.detect.detector!r}; known: {known}"
        )
    try:
        policy = WatchPolicy(
            detector=config.detect.detector, history=history, fpr=config.detect.fpr
        )
    except ConfigError as err:
        raise ValueError(f"detect.history: {err}") from err
    names = [channel.name for channel in config.channels]
    if len(set(names)) != len(names):
        raise ValueError(f"channels: names must be unique, got {names}")
    for index, route in enumerate(config.routes):
        if route.channel not in names:
            raise ValueError(
                f"routes[{index}].channel: route for {route.owner!r} names channel "
                f"{route.channel!r}, but the channels are {sorted(names)}"
            )
    k, _, n = config.filters.duration.partition("/")
    cooldown = config.filters.cooldown.strip()
    references = tuple(
        (section.models, _reference(index, section, window))
        for index, section in enumerate(config.references)
    )
    return Resolved(
        window=window,
        late_data=_parse("ingest.late_data", config.ingest.late_data),
        policy=policy,
        filters=FilterSettings(
            min_severity=config.filters.min_severity,
            duration_k=int(k),
            duration_n=int(n),
            urgent_severity=config.filters.urgent_severity,
            step=window,
            cooldown=timedelta(0) if cooldown in ("0", "0s") else parse_duration(cooldown),
            min_traffic_share=config.filters.min_traffic_share,
        ),
        grouping=GroupingSettings(
            gap=_parse("grouping.gap", config.grouping.gap),
            resolve_after=_parse("grouping.resolve_after", config.grouping.resolve_after),
            platform_fraction=config.grouping.platform_fraction,
        ),
        routes=tuple(
            Route(owner=r.owner, models=r.models, channel=r.channel, min_severity=r.min_severity)
            for r in config.routes
        ),
        references=references,
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
