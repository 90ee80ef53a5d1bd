"""The sections of ``vigil.toml`` as pydantic models: the file's text checked at the trust boundary,
key by key (types, ranges, durations that parse). What the keys mean together, and the values the
pipeline uses, are resolved from them by :mod:`vigil.pipeline.resolved`; the whole file and its
example are :mod:`vigil.pipeline.config`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vigil.core import parse_duration
from vigil.detect import DEFAULT_DETECTOR
from vigil.ingest import EARLIEST
from vigil.stats import ChangeTest


class Section(BaseModel):
    """A table of the file: unknown keys are refused (a typo must not pass as a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(text: str) -> str:
    parse_duration(text)
    return text


def utc_day(text: str) -> datetime:
    """``"2000-01-01"`` (or a full ISO time) as a UTC datetime; a zone-less time is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"cannot read date {text!r}; write e.g. '2000-01-01'") from err
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if not EARLIEST.replace(year=1970) <= moment < EARLIEST.replace(year=2200):
        raise ValueError(f"date {text!r} must lie between 1970 and 2200")
    return moment


class StoreSection(Section):
    url: str = "sqlite:///vigil.db"
    workers: int = Field(default=2, ge=1, le=64)


class IngestSection(Section):
    sources: list[str] = Field(default_factory=list)
    chunk_rows: int = Field(default=100_000, gt=0)
    late_data: str = "1d"
    earliest: str = f"{EARLIEST:%Y-%m-%d}"
    ahead: str = "1d"
    max_nesting: int = Field(default=64, ge=3, le=1000)
    max_features: int = Field(default=2_000, ge=1, le=100_000)
    fields: dict[str, Any] | None = None
    """``[ingest.fields]``: where the record's fields are in logs of another shape
    (:class:`vigil.ingest.FieldMap`), resolved and checked once, at load."""
    _check = field_validator("late_data", "ahead")(_duration)

    @field_validator("earliest")
    @classmethod
    def _earliest(cls, text: str) -> str:
        utc_day(text)
        return text


class ProfileSection(Section):
    window: str = "1h"
    max_windows_per_cycle: int = Field(default=10_000, ge=1)
    segments: list[str] = Field(default_factory=list)
    max_segment_values: int = Field(default=20, ge=1, le=1000)
    _check = field_validator("window")(_duration)


_TEST = ChangeTest()


class DriftSection(Section):
    """Defaults chosen on generated months (``vigil bench quality``, docs/stats.md)."""

    alpha: float = Field(default=_TEST.alpha, gt=0, lt=0.5)
    min_mean_sd: float = Field(default=_TEST.min_mean_sd, ge=0)
    min_std_ratio: float = Field(default=_TEST.min_std_ratio, ge=0)
    min_rank_shift: float = Field(default=_TEST.min_rank_shift, ge=0, lt=0.5)
    min_ks: float = Field(default=_TEST.min_ks, ge=0, lt=1)
    min_share: float = Field(default=_TEST.min_share, ge=0, lt=1)
    recent_mean_alpha_ratio: float = Field(default=_TEST.recent_mean_alpha_ratio, gt=0)


class PerformanceSection(Section):
    threshold: float = Field(default=0.5, ge=0, le=1)
    label_horizon: str = "35d"
    min_change: float = Field(default=_TEST.min_performance, ge=0)
    min_error_ratio: float = Field(default=_TEST.min_error_ratio, ge=0)
    _check = field_validator("label_horizon")(_duration)


class DetectSection(Section):
    history: str = "7d"
    fpr: float = Field(default=0.001, gt=0, lt=0.5)
    detector: str = DEFAULT_DETECTOR
    _check = field_validator("history")(_duration)


class FilterSection(Section):
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


class GroupingSection(Section):
    gap: str = "3h"
    resolve_after: str = "6h"
    platform_fraction: float = Field(default=0.5, gt=0, le=1)
    _check = field_validator("gap", "resolve_after")(_duration)


class SmtpSection(Section):
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


class WebhookSection(Section):
    type: Literal["webhook", "slack"]
    name: str
    url: str
    timeout: str = "10s"
    _check = field_validator("timeout")(_duration)


class LinksSection(Section):
    vigil: str = ""
    dashboard: str = ""


class AlertmanagerSection(Section):
    urls: list[str] = Field(min_length=1)
    hold: str = "3h"
    critical_severity: float = Field(default=3.0, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
    timeout: str = "5s"
    _check = field_validator("hold", "timeout")(_duration)


class RouteSection(Section):
    owner: str
    models: str = "*"
    channel: str
    min_severity: float = 0.0


class ServerSection(Section):
    """Bounds of ``vigil serve`` (see :class:`vigil.server.ServerSettings`)."""

    header_timeout: str = "10s"
    body_timeout: str = "60s"
    max_uploads_per_client: int = Field(default=4, ge=1)
    max_models_per_request: int = Field(default=100, ge=1)
    _check = field_validator("header_timeout", "body_timeout")(_duration)


class ReferenceSection(Section):
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


class ReportSection(Section):
    out: str = "vigil-reports"


ChannelSection = Annotated[SmtpSection | WebhookSection, Field(discriminator="type")]
