"""Reports render real charts, escape every data-derived name and load nothing from the network."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import GroupingSettings, co_movements, update_incidents
from vigil.report import (
    Chart,
    DriftTable,
    ImageMode,
    IncidentEvidence,
    Light,
    ModelReport,
    family_lights,
    render_digest,
    render_model_report,
)
from vigil.stats.series import Series

HOSTILE = "<script>alert(1)</script>"
T0 = datetime(2026, 11, 20, tzinfo=UTC)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _series(column: str = HOSTILE) -> Series:
    times = np.arange(
        np.datetime64("2026-11-20T00:00"), np.datetime64("2026-11-22T00:00"), np.timedelta64(1, "h")
    ).astype("datetime64[s]")
    values = np.sin(np.arange(len(times)) / 3.0)
    values[30] = 8.0
    key = SeriesKey(model=HOSTILE, version="v1", family="feature", column=column, statistic="mean")
    return Series(key=key, timestamps=times, values=values)


def _report() -> ModelReport:
    series = _series()
    anomaly = Anomaly(
        key=series.key,
        timestamp=T0 + timedelta(hours=30),
        value=8.0,
        expected=0.0,
        lower=-1.0,
        upper=1.0,
        score=8.0,
        severity=4.0,
        detector="test",
    )
    other = Anomaly(
        key=SeriesKey(
            model=HOSTILE,
            version="v1",
            family="feature",
            column="<img src=x onerror=alert(1)>",
            statistic="p99",
        ),
        timestamp=T0 + timedelta(hours=30),
        value=3.0,
        expected=0.0,
        lower=-1.0,
        upper=1.0,
        score=3.0,
        severity=1.5,
        detector="test",
    )
    incident = update_incidents(
        [], [anomaly], now=T0 + timedelta(hours=31), settings=GroupingSettings()
    )[0]
    flags = np.zeros(len(series), dtype=bool)
    flags[30] = True
    chart = Chart(
        title=str(series.key),
        series=series,
        expected=np.zeros(len(series)),
        lower=-np.ones(len(series)),
        upper=np.ones(len(series)),
        anomalous=flags,
    )
    drift = DriftTable(
        statistic="psi",
        columns=(HOSTILE, "age"),
        windows=tuple(T0 + timedelta(hours=h) for h in range(4)),
        values=np.array([[0.0, 0.1, 0.9, np.nan], [0.0, 0.0, 0.05, 0.02]]),
    )
    return ModelReport(
        model=HOSTILE,
        generated_at=T0,
        period_start=T0,
        period_end=T0 + timedelta(days=2),
        lights=family_lights(["feature", "output"], [incident]),
        incidents=(
            IncidentEvidence(
                incident=incident,
                charts=(chart,),
                co_movements=tuple(co_movements(incident, [other])),
            ),
        ),
        drift=drift,
        traffic=(chart,),
        versions=("v1",),
    )


def test_hostile_names_are_escaped_everywhere() -> None:
    html = render_model_report(_report()).html
    assert HOSTILE not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_charts_are_embedded_pngs_and_nothing_loads_from_the_network() -> None:
    rendered = render_model_report(_report())
    sources = re.findall(r'src="([^"]+)"', rendered.html)
    assert len(sources) == 3  # incident chart, drift heat map, traffic chart
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert not re.search(r"(src|href)=\"(https?:)?//", rendered.html)


def test_cid_mode_returns_the_png_parts() -> None:
    rendered = render_model_report(_report(), mode=ImageMode.CID)
    sources = set(re.findall(r'src="cid:([^"]+)"', rendered.html))
    assert sources == set(rendered.images)
    assert all(png.startswith(PNG_MAGIC) for png in rendered.images.values())


def test_lights_and_text_twin() -> None:
    report = _report()
    assert report.lights == {"feature": Light.RED, "output": Light.GREEN}
    rendered = render_model_report(report)
    assert "feature: red" in rendered.text
    assert report.incidents[0].incident.summary in rendered.text


def test_digest_lists_worst_models_first() -> None:
    healthy = ModelReport(
        model="calm",
        generated_at=T0,
        period_start=T0,
        period_end=T0,
        lights={"feature": Light.GREEN},
    )
    digest = render_digest([healthy, _report()], owner="ml-team")
    assert digest.html.index("&lt;script&gt;") < digest.html.index("calm")
    assert "none" in digest.html


def test_the_digest_links_each_model_to_its_report() -> None:
    report = _report()
    links = {report.model: "reports/model%20one.html"}
    digest = render_digest([report], links=links)
    assert 'href="reports/model%20one.html"' in digest.html
    assert "report: reports/model%20one.html" in digest.text
    assert "href" not in render_digest([report]).html
