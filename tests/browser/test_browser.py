"""The dashboard in a real browser: Debian's Chromium driven by Playwright on 127.0.0.1.

Skipped when Chromium is not installed locally; under CI (where .ci/run installs it) a missing
Chromium is a failure. Screenshots go to tests/artifacts/ (git-ignored).
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from ilots.analysis import fit_territory
from ilots.store import load_territory
from tests.browser.conftest import ARTIFACTS, CHROMIUM  # noqa: E402
from tests.conftest import ROOT, free_port  # noqa: E402

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Chromium not installed (apt-get install chromium)", allow_module_level=True)


@contextlib.contextmanager
def serving(data, **env_extra):
    """A Streamlit server of the dashboard on ``data`` (territories folder), on a free local port."""
    port = free_port()
    env = {**os.environ, "ILOTS_DATA_DIR": str(data), **env_extra}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(base + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the Streamlit server did not start")
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(demo_territory, tmp_path_factory):
    data = tmp_path_factory.mktemp("browserdata")
    shutil.copytree(demo_territory, data / "demo")
    fit_territory(load_territory(data / "demo"))
    with serving(data) as base:
        yield base


def _open(browser, url, width=1400, height=1000):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_selector("h1", timeout=90_000)
    return page


def _metric(page, label):
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_map_and_legend_appear(server, browser):
    # The server is fresh and this first visit goes straight to a page URL: the sidebar must still be
    # dashboard.py's navigation, not Streamlit's legacy listing of the pages/ folder.
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    received, tiles = [], []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(f)))
    page.on("requestfinished", lambda r: ".pbf" in r.url and tiles.append(r))
    page.goto(server + "/map")
    page.wait_for_selector("h1", timeout=90_000)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Comprendre" in sidebar and "Café IA" in sidebar and "common" not in sidebar
    frame = page.frame_locator('iframe[title*="st_folium"]').first
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    frame.locator(".ilots-legend", has_text="Température de surface").first.wait_for(timeout=30_000)
    frame.locator(".leaflet-tile-pane canvas").first.wait_for(timeout=30_000)  # blocks drawn from vector tiles
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "map.png"))
    # the blocks came as vector tiles (static files), none of them as GeoJSON over the websocket
    assert tiles and all(r.response().status == 200 for r in tiles)
    sent = b"".join(f if isinstance(f, bytes) else f.encode() for f in received)
    assert b'"coordinates"' not in sent and b"FeatureCollection" not in sent
    # a click on a block opens its card (the tiles give the block's id back to the page)
    box = page.locator('iframe[title*="st_folium"]').first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2 + 2, box["y"] + box["height"] / 2 + 2)
    page.locator("h3", has_text="Îlot ").first.wait_for(timeout=30_000)
    assert "ilot=" in page.url
    page.close()


def test_scenario_slider_changes_the_figure(server, browser):
    page = _open(browser, server + "/scenarios")
    page.locator('[data-testid="stMetric"]', has_text="Température de surface").first.wait_for(timeout=60_000)
    before = _metric(page, "Température de surface")
    slider = page.locator('[data-testid="stSlider"]', has_text="Arbres").get_by_role("slider")
    slider.focus()
    for _ in range(10):
        slider.press("ArrowRight")
    page.wait_for_function(
        "(b) => { const m = [...document.querySelectorAll('[data-testid=stMetric]')]"
        ".find(e => e.innerText.includes('Température de surface'));"
        " return m && !m.innerText.includes(b); }",
        arg=before,
        timeout=10_000,
    )
    after = _metric(page, "Température de surface")
    assert after != before and after.startswith("−")
    page.screenshot(path=str(ARTIFACTS / "scenarios.png"))
    page.close()


def test_cafe_ia_works_at_phone_width(server, browser):
    page = _open(browser, server + "/cafe", width=390, height=844)
    box = page.get_by_label("Votre rue")
    box.fill("Boulevard")
    box.press("Enter")
    page.get_by_text("Votre îlot").wait_for(timeout=30_000)
    big = page.locator(".ilots-big")
    first = big.last.inner_text()
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(8):
        slider.press("ArrowRight")
    page.locator(".ilots-sub", has_text="avec 18 %").wait_for(timeout=10_000)  # 10 + 8 steps
    assert big.last.inner_text() != first
    assert re.match(r"^[−+]?\d", big.last.inner_text())
    # Nothing overflows the phone's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    page.screenshot(path=str(ARTIFACTS / "cafe_390.png"), full_page=True)
    page.close()
