"""Raw request logs as a serving fleet writes them: one JSON line per request, known incidents.

Where :mod:`vigil.lab.simulation.logs` writes the demo's tidy Hive folders of ``prediction``
rows, this writes what a new user points Vigil at: a folder of daily JSON-lines files, every
line a ``completion`` carrying features, outputs, latency, host and tags, a few malformed lines
among them, for three models whose traffic follows different clocks (office hours with quiet
weekends, lunch and dinner peaks, a flat global service). One model rolls out a new version.

Six incidents of six kinds are injected after a clean first week, some inside others:

- ``schema``: several numeric features of ``loan-approval`` arrive in cents;
- ``missing_feature``: three days into that, one of its features stops arriving;
- ``traffic``: ``delivery-eta`` receives nothing for two hours;
- ``latency``: one ``delivery-eta`` host turns several times slower;
- ``constant_feature``: ``search-ranking``'s new version sends one feature as 0 for every request;
- ``drift``: a ``search-ranking`` feature drifts slowly, reaching about 1.5 sd within half a day.

Start times, sizes and the affected feature or host move with the seed, so a check on a fresh
seed is not a check on data anybody tuned for. Everything is vectorized numpy per model-day.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from vigil.core import ConfigError

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
CLEAN_DAYS = 7
_Rng = np.random.Generator
_Columns = dict[str, np.ndarray]


@dataclass(frozen=True, slots=True, kw_only=True)
class RawIncident:
    """A problem put into the logs on purpose, and what a good incident would name.

    ``kind`` uses the product's incident kinds; ``subject`` is the feature or host an incident
    should name (``""`` when the model is all there is to name)."""

    model: str
    kind: str
    start: datetime
    end: datetime
    subject: str = ""
    version: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RawLogs:
    root: Path
    start: datetime
    end: datetime
    rows: int
    malformed: int
    models: tuple[str, ...]
    injected: tuple[RawIncident, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Model:
    name: str
    peak_per_hour: float
    traffic: Callable[[np.ndarray, np.ndarray], np.ndarray]
    """Relative traffic at fractional UTC hours of day and weekday numbers."""
    hosts: tuple[str, ...]
    host_ms: tuple[float, ...]
    features: Callable[[int, _Rng], _Columns]
    output: Callable[[_Columns, _Rng], np.ndarray]
    output_name: str


def simulate_raw_logs(
    root: Path, *, start: datetime, days: int = 14, seed: int = 11, rate_scale: float = 1.0
) -> RawLogs:
    """Write ``days`` daily ``.jsonl`` files under ``root`` and return what was injected."""
    if days < CLEAN_DAYS + 6:
        raise ConfigError(f"raw logs need at least {CLEAN_DAYS + 6} days, got {days!r}")
    if start.tzinfo is None or start != start.replace(hour=0, minute=0, second=0, microsecond=0):
        raise ConfigError(f"start must be a UTC midnight, got {start!r}")
    rng = np.random.default_rng(seed)
    models = _models(rng, rate_scale)
    injected = _incidents(start, rng, {m.name: m for m in models})
    rollout = next(i.start for i in injected if i.kind == "constant_feature")
    root.mkdir(parents=True, exist_ok=True)
    rows = malformed = 0
    for day in range(days):
        day_start = start + day * DAY
        lines: list[tuple[int, str]] = []
        for model in models:
            mine = [i for i in injected if i.model == model.name]
            lines.extend(_model_day(model, day_start, mine, rollout, rng))
        bad = _malformed(day_start, rng)
        lines.extend(bad)
        lines.sort(key=lambda line: line[0])
        with (root / f"{day_start:%Y-%m-%d}.jsonl").open("w", encoding="utf-8") as out:
            out.writelines(text + "\n" for _, text in lines)
        rows += len(lines)
        malformed += len(bad)
    return RawLogs(
        root=root,
        start=start,
        end=start + days * DAY,
        rows=rows,
        malformed=malformed,
        models=tuple(m.name for m in models),
        injected=injected,
    )


def _hours(rng: _Rng, low: int, high: int) -> timedelta:
    return timedelta(hours=int(rng.integers(low, high + 1)), minutes=int(rng.integers(0, 60)))


def _models(rng: _Rng, scale: float) -> list[_Model]:
    def office(hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
        day = 0.15 + 0.85 * np.exp(-0.5 * ((hour - 14.0) / 3.5) ** 2)
        return np.asarray(day * np.where(weekday >= 5, 0.65, 1.0))

    def meals(hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
        lunch = np.exp(-0.5 * ((hour - 11.5) / 1.5) ** 2)
        dinner = 1.2 * np.exp(-0.5 * ((hour - 18.5) / 2.0) ** 2)
        return np.asarray((0.25 + lunch + dinner) / 1.45 * np.where(weekday >= 5, 1.15, 1.0))

    def flat(hour: np.ndarray, weekday: np.ndarray) -> np.ndarray:
        del weekday
        return np.asarray(0.8 + 0.2 * np.cos(2 * np.pi * (hour - 20.0) / 24))

    eta_hosts = tuple(f"eta-{i:02d}" for i in range(6))
    return [
        _Model(
            name="loan-approval",
            peak_per_hour=scale * float(rng.uniform(260, 340)),
            traffic=office,
            hosts=("loan-a", "loan-b", "loan-c"),
            host_ms=(38.0, 41.0, 44.0),
            features=_loan_features,
            output=_loan_output,
            output_name="approve_prob",
        ),
        _Model(
            name="delivery-eta",
            peak_per_hour=scale * float(rng.uniform(380, 480)),
            traffic=meals,
            hosts=eta_hosts,
            host_ms=tuple(float(v) for v in rng.uniform(9.0, 14.0, size=len(eta_hosts))),
            features=_eta_features,
            output=_eta_output,
            output_name="eta_minutes",
        ),
        _Model(
            name="search-ranking",
            peak_per_hour=scale * float(rng.uniform(500, 650)),
            traffic=flat,
            hosts=("sr-1", "sr-2", "sr-3", "sr-4"),
            host_ms=(22.0, 22.0, 25.0, 27.0),
            features=_search_features,
            output=_search_output,
            output_name="relevance",
        ),
    ]


def _incidents(start: datetime, rng: _Rng, models: dict[str, _Model]) -> tuple[RawIncident, ...]:
    def at(day: int, low: int = 0, high: int = 23) -> datetime:
        return start + day * DAY + _hours(rng, low, high)

    schema_start = at(8, 6, 12)
    missing_start = schema_start + 3 * DAY + _hours(rng, 0, 5)
    stop_start = at(9, 11, 19)
    slow_host = str(rng.choice(models["delivery-eta"].hosts))
    slow_start = at(11, 8, 20)
    drift_feature = str(rng.choice(["query_len", "user_tenure_days"]))
    drift_start = at(11, 2, 12)
    rollout = at(CLEAN_DAYS, 9, 14)
    return (
        RawIncident(
            model="loan-approval",
            kind="schema",
            start=schema_start,
            end=schema_start + 4 * DAY + _hours(rng, 0, 6),
            subject="income",
            detail="income and loan_amount arrive in cents (x100)",
        ),
        RawIncident(
            model="loan-approval",
            kind="missing_feature",
            start=missing_start,
            end=missing_start + _hours(rng, 8, 20),
            subject="employment",
            detail="employment stops arriving, inside the schema incident",
        ),
        RawIncident(
            model="delivery-eta",
            kind="traffic",
            start=stop_start,
            end=stop_start + 2 * HOUR,
            detail="no requests for 2 hours",
        ),
        RawIncident(
            model="delivery-eta",
            kind="latency",
            start=slow_start,
            end=slow_start + _hours(rng, 5, 9),
            subject=slow_host,
            detail=f"host {slow_host} answers {rng.uniform(4, 7):.1f}x slower",
        ),
        RawIncident(
            model="search-ranking",
            kind="constant_feature",
            start=rollout,
            end=rollout + _hours(rng, 28, 40),
            subject="ctr_prior",
            version="v2",
            detail="the new version v2 sends ctr_prior as 0 for every request",
        ),
        RawIncident(
            model="search-ranking",
            kind="drift",
            start=drift_start,
            end=drift_start + DAY + _hours(rng, 0, 12),
            subject=drift_feature,
            detail=f"{drift_feature} drifts up over 12 hours to about 1.5 sd",
        ),
    )


CANARY = timedelta(hours=10)
CANARY_SHARE = 0.15


def _model_day(
    model: _Model,
    day_start: datetime,
    incidents: list[RawIncident],
    rollout: datetime,
    rng: _Rng,
) -> Iterator[tuple[int, str]]:
    """One model's lines of one day, as ``(timestamp_us, json)``."""
    stamps = _arrivals(model, day_start, incidents, rng)
    n = len(stamps)
    if n == 0:
        return
    columns = model.features(n, rng)
    output = model.output(columns, rng)
    host = rng.integers(0, len(model.hosts), size=n)
    latency = np.asarray(model.host_ms)[host] * rng.lognormal(0.0, 0.3, size=n)
    versions = np.full(n, "v1", dtype=object)
    if model.name == "search-ranking":
        since = stamps >= _us(rollout)
        canary = stamps < _us(rollout + CANARY)
        versions[since & (~canary | (rng.random(n) < CANARY_SHARE))] = "v2"
    for incident in incidents:
        inside = (stamps >= _us(incident.start)) & (stamps < _us(incident.end))
        _inject(incident, inside, stamps, columns, latency, host, model, versions)
    output = np.where(np.isfinite(output), output, 0.0)
    region = rng.choice(["eu", "us", "apac"], size=n, p=[0.45, 0.4, 0.15])
    names = list(columns)
    for i in range(n):
        moment = datetime.fromtimestamp(int(stamps[i]) / 1e6, UTC)
        features = {name: _plain(columns[name][i]) for name in names}
        record = {
            "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "model": model.name,
            "version": str(versions[i]),
            "request_id": f"{model.name[:3]}-{int(stamps[i])}-{i}",
            "event": "completion",
            "host": model.hosts[int(host[i])],
            "latency_ms": round(float(latency[i]), 3),
            "features": {k: v for k, v in features.items() if v is not _ABSENT},
            "outputs": {model.output_name: round(float(output[i]), 5)},
            "tags": {"region": str(region[i])},
        }
        yield int(stamps[i]), json.dumps(record, separators=(",", ":"))


def _arrivals(
    model: _Model, day_start: datetime, incidents: list[RawIncident], rng: _Rng
) -> np.ndarray:
    """Request times (µs) of one day: an overdispersed Poisson process on the model's clock."""
    minutes = np.arange(24 * 60)
    weekday = np.full(minutes.size, day_start.weekday())
    rate = model.peak_per_hour / 60.0 * model.traffic(minutes / 60.0, weekday)
    rate = rate * rng.gamma(20.0, 1.0 / 20.0, size=24).repeat(60)  # hour-to-hour wobble
    counts = rng.poisson(rate)
    first = _us(day_start)
    stamps = first + np.repeat(minutes, counts) * 60_000_000
    stamps = stamps + rng.integers(0, 60_000_000, size=stamps.size)
    for incident in incidents:
        if incident.kind == "traffic":
            stamps = stamps[(stamps < _us(incident.start)) | (stamps >= _us(incident.end))]
    return np.sort(stamps)


_ABSENT = object()


def _plain(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        number = float(value)
        return _ABSENT if np.isnan(number) else round(number, 4)
    if isinstance(value, str) and value == "":
        return _ABSENT
    return value


def _inject(
    incident: RawIncident,
    inside: np.ndarray,
    stamps: np.ndarray,
    columns: _Columns,
    latency: np.ndarray,
    host: np.ndarray,
    model: _Model,
    versions: np.ndarray,
) -> None:
    if not inside.any():
        return
    if incident.kind == "schema":
        for name in ("income", "loan_amount"):
            columns[name] = np.where(inside, columns[name] * 100.0, columns[name])
    elif incident.kind == "missing_feature":
        values = columns[incident.subject].astype(object)
        values[inside] = ""  # the key is absent from the line
        columns[incident.subject] = values
    elif incident.kind == "latency":
        factor = float(incident.detail.split(" answers ")[1].split("x")[0])
        latency[inside & (host == model.hosts.index(incident.subject))] *= factor
    elif incident.kind == "constant_feature":
        broken = inside & (versions == incident.version)
        columns[incident.subject] = np.where(broken, 0.0, columns[incident.subject])
    elif incident.kind == "drift":
        hours = (stamps - _us(incident.start)) / 3.6e9
        ramp = np.clip(hours / 12.0, 0.0, 1.0) * inside
        values = columns[incident.subject]
        columns[incident.subject] = values + 1.5 * float(np.std(values)) * ramp


def _malformed(day_start: datetime, rng: _Rng) -> list[tuple[int, str]]:
    """A few lines a real log holds: truncated writes, a missing model, a bad timestamp."""
    lines = []
    for _ in range(int(rng.poisson(4))):
        moment = _us(day_start) + int(rng.integers(0, 86_400_000_000))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            text = '{"timestamp":"' + datetime.fromtimestamp(moment / 1e6, UTC).isoformat()
        elif kind == 1:
            stamp = datetime.fromtimestamp(moment / 1e6, UTC).isoformat()
            text = json.dumps({"timestamp": stamp, "event": "completion", "features": {}})
        else:
            text = json.dumps({"timestamp": "yesterday", "model": "delivery-eta"})
        lines.append((moment, text))
    return lines


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _loan_features(n: int, rng: _Rng) -> _Columns:
    employment = rng.choice(
        ["salaried", "self-employed", "contractor", "retired", "student"],
        size=n,
        p=[0.55, 0.18, 0.12, 0.1, 0.05],
    ).astype(object)
    states = np.array([f"S{i:02d}" for i in range(30)])
    weights = 1.0 / np.arange(1, 31) ** 0.9
    return {
        "income": rng.lognormal(np.log(52_000.0), 0.45, size=n).round(-2),
        "loan_amount": rng.gamma(3.0, 4_000.0, size=n).round(-1),
        "debt_ratio": rng.beta(2.0, 5.0, size=n),
        "age": rng.normal(41.0, 12.0, size=n).clip(18, 90).round(),
        "credit_lines": rng.poisson(4.0, size=n).astype(np.float64),
        "employment": employment,
        "state": rng.choice(states, size=n, p=weights / weights.sum()).astype(object),
        "has_cosigner": rng.random(n) < 0.12,
    }


def _loan_output(columns: _Columns, rng: _Rng) -> np.ndarray:
    income = np.asarray(columns["income"], dtype=np.float64)
    logit = 1.2 * np.log(np.maximum(income, 1.0) / 52_000.0) - 3.0 * columns["debt_ratio"] + 0.6
    return np.asarray(1.0 / (1.0 + np.exp(-(logit + rng.normal(0, 0.5, size=len(logit))))))


def _eta_features(n: int, rng: _Rng) -> _Columns:
    rating = rng.normal(4.6, 0.25, size=n).clip(1.0, 5.0)
    rating[rng.random(n) < 0.03] = np.nan  # new couriers have no rating yet
    return {
        "distance_km": rng.gamma(2.2, 1.8, size=n),
        "items": (rng.poisson(2.0, size=n) + 1).astype(np.float64),
        "courier_rating": rating,
        "weather": rng.choice(
            ["clear", "rain", "snow", "wind"], size=n, p=[0.7, 0.2, 0.03, 0.07]
        ).astype(object),
        "zone": rng.choice([f"z{i}" for i in range(40)], size=n).astype(object),
        "priority": rng.random(n) < 0.08,
    }


def _eta_output(columns: _Columns, rng: _Rng) -> np.ndarray:
    return np.asarray(
        8.0
        + 4.0 * columns["distance_km"]
        + 1.5 * columns["items"]
        + rng.gamma(2.0, 2.0, len(columns["items"]))
    )


def _search_features(n: int, rng: _Rng) -> _Columns:
    return {
        "query_len": (rng.poisson(3.0, size=n) + 1).astype(np.float64),
        "user_tenure_days": rng.exponential(200.0, size=n).round(),
        "ctr_prior": rng.beta(1.5, 30.0, size=n),
        "lang": rng.choice(
            ["en", "de", "fr", "es", "ja", "pt"], size=n, p=[0.5, 0.15, 0.1, 0.1, 0.08, 0.07]
        ).astype(object),
        "is_logged_in": rng.random(n) < 0.6,
    }


def _search_output(columns: _Columns, rng: _Rng) -> np.ndarray:
    score = (
        2.0 * columns["ctr_prior"] * 30 - 0.1 * columns["query_len"] + 0.4 * columns["is_logged_in"]
    )
    return np.asarray(1.0 / (1.0 + np.exp(-(score + rng.normal(0, 0.7, size=len(score))))))
