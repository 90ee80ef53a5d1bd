"""The dashboard in real headless Chromium (Debian's ``chromium``, driven by Playwright).

Loads the models page on the sample data set, opens a model, opens its incident, logs in with
the write token, marks the incident a false alarm and checks the page and the API both show the
new state. Along the way: a feature named ``<img src=x onerror=alert(1)>`` is shown as text
(no element, no dialog), and the browser never requests anything outside the server.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from vigil.incidents import IncidentState
from vigil.lab.simulation.sample import HOSTILE_FEATURE, seed_sample
from vigil.server import ServerSettings, create_app, serve_in_background
from vigil.store import SqlStore

sync_api = pytest.importorskip("playwright.sync_api")
if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog

CHROMIUM = "/usr/bin/chromium"
NOW = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
TOKEN = "browser-write-token"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"),
]


def _recorder(dialogs: list[str]) -> Callable[[Dialog], None]:
    """Records and dismisses any dialog: a script injected through a name would open one."""

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    return record


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'vigil.db'}"
    store = SqlStore(url)
    try:
        seed_sample(store, now=NOW)
    finally:
        store.close()
    settings = ServerSettings(
        store_url=url, spool_dir=folder / "spool", token=TOKEN, clock=lambda: NOW
    )
    with serve_in_background(create_app(settings)) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def test_open_a_model_and_an_incident_then_mark_it_a_false_alarm(
    base_url: str, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("dialog", _recorder(dialogs))

    page.goto(base_url + "/")
    rows = page.locator("tr.model-row")
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.model)")) == [
        "fraud",
        "ranker",
    ]
    ranker_row = page.locator('tr.model-row[data-model="ranker"]')
    assert ranker_row.locator(".open-incidents").inner_text() == "1"
    assert "Red" in ranker_row.inner_text()
    page.screenshot(path=str(tmp_path / "models.png"), full_page=True)

    ranker_row.locator("a.model-link").click()
    page.wait_for_url("**/models/ranker")
    assert page.locator("h1.model-name").inner_text().startswith("ranker")
    assert page.locator("#feature svg.chart").count() >= 4
    assert page.locator("#feature svg.chart .band").count() >= 1
    assert page.locator("table.heat td").count() > 0
    assert page.locator("#drift table.heat td.heat-2").count() >= 1  # age's shift, decided there
    page.screenshot(path=str(tmp_path / "model.png"), full_page=True)

    page.locator("table.list a[href^='/incidents/']").first.click()
    page.wait_for_url("**/incidents/inc-*")
    incident_id = page.url.rsplit("/", 1)[1]
    assert page.locator("#verdict").inner_text().startswith("No verdict yet")
    assert page.locator("svg.chart circle.anomaly").count() >= 1

    page.get_by_role("link", name="Log in with the write token").click()
    page.wait_for_url("**/login?next=*")
    page.fill("input[name=token]", TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/incidents/{incident_id}")

    page.fill("input[name=by]", "browser test")
    page.get_by_role("button", name="False alarm").click()
    page.wait_for_url(f"**/incidents/{incident_id}")
    assert page.locator("#verdict").inner_text().startswith("Marked false alarm by browser test")
    assert "false alarm" in page.locator("#incident-state").inner_text()
    page.screenshot(path=str(tmp_path / "incident.png"), full_page=True)
    detail = httpx.get(f"{base_url}/v1/incidents/{incident_id}").json()
    assert detail["verdict"] == "false_alarm"
    assert detail["state"] == IncidentState.RESOLVED.value  # a false alarm stops paging

    assert not dialogs
    assert all(url.startswith(base_url) for url in requested), requested


def test_a_feature_named_like_html_shows_as_text(base_url: str, browser: Browser) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", _recorder(dialogs))
    page.goto(base_url + "/models/fraud?all=1")
    titles = page.locator(".chart-title").all_inner_texts()
    assert any(title.startswith(HOSTILE_FEATURE) for title in titles)
    assert page.locator("img").count() == 0
    page.goto(base_url + "/incidents")
    assert any(HOSTILE_FEATURE in text for text in page.locator("td.summary").all_inner_texts())
    assert page.locator("img").count() == 0
    page.wait_for_timeout(200)  # an onerror handler would have fired by now
    assert not dialogs


def test_silences_page_adds_and_deletes_a_silence(base_url: str, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(base_url + "/login?next=/silences")
    page.fill("input[name=token]", TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/silences")
    page.fill("input[name=model]", "ranker")
    page.fill("input[name=hours]", "2")
    page.fill("input[name=reason]", "<b>planned</b> deploy")
    page.get_by_role("button", name="Add silence").click()
    page.wait_for_url("**/silences")
    row = page.locator("tr.silence-row").filter(has_text="planned")
    assert row.count() == 1
    assert "<b>planned</b> deploy" in row.inner_text()
    assert "active" in row.inner_text()
    row.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/silences")
    assert page.locator("tr.silence-row").filter(has_text="planned").count() == 0
    context.close()
