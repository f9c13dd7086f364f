"""The dashboard in a real browser: Debian's Chromium driven by Playwright on 127.0.0.1.

Skipped when Chromium is not installed locally; under CI (where .ci/run installs it) a missing
Chromium is a failure. Screenshots go to tests/artifacts/ (git-ignored).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ilots.analysis import fit_territory
from ilots.store import load_territory
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "tests" / "artifacts"
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Chromium not installed (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_territory, tmp_path_factory):
    data = tmp_path_factory.mktemp("browserdata")
    shutil.copytree(demo_territory, data / "demo")
    fit_territory(load_territory(data / "demo"))
    port = _free_port()
    env = {**os.environ, "ILOTS_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
    yield base
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM, "Chromium is required under CI: .ci/run installs Debian's chromium"
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                              "--disable-background-networking"])
        yield b
        b.close()


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
    page = _open(browser, server + "/map")
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Comprendre" in sidebar and "Café IA" in sidebar and "common" not in sidebar
    frame = page.frame_locator('iframe[title*="st_folium"]').first
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    frame.locator(".ilots-legend", has_text="Température de surface").first.wait_for(timeout=30_000)
    frame.locator(".leaflet-overlay-pane canvas").first.wait_for(timeout=30_000)  # blocks drawn on a canvas
    page.screenshot(path=str(ARTIFACTS / "map.png"))
    page.close()


def test_scenario_slider_changes_the_figure(server, browser):
    page = _open(browser, server + "/scenarios")
    page.locator('[data-testid="stMetric"]', has_text="Température de surface").first.wait_for(timeout=60_000)
    before = _metric(page, "Température de surface")
    slider = page.get_by_role("slider").nth(1)  # 0 is the risk class, 1 the trees slider
    slider.focus()
    for _ in range(10):
        slider.press("ArrowRight")
    page.wait_for_function(
        "(b) => { const m = [...document.querySelectorAll('[data-testid=stMetric]')]"
        ".find(e => e.innerText.includes('Température de surface'));"
        " return m && !m.innerText.includes(b); }", arg=before, timeout=10_000)
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


def _upload_page(server, browser, name):
    page = _open(browser, server + "/new_territory", height=1400)
    page.get_by_label("Nom du territoire").fill(name)
    page.keyboard.press("Enter")
    return page, page.locator('input[type="file"]')


def _alert_after_submit(page, n_files: int) -> str:
    # Submit only once the server has received every upload (Streamlit lists each received file).
    page.wait_for_function(
        "(n) => document.querySelectorAll('[data-testid=stFileChip]').length >= n"
        " && !document.querySelector('[data-testid=stFileUploader] [role=progressbar]')",
        arg=n_files, timeout=120_000)
    page.get_by_role("button", name="Préparer le territoire").click()
    alert = page.locator('[data-testid="stAlertContentSuccess"], [data-testid="stAlertContentError"]').first
    alert.wait_for(timeout=240_000)
    return alert.inner_text()


def test_upload_rejects_a_zip_with_parent_paths(server, browser, demo_territory, tmp_path):
    import zipfile

    evil = tmp_path / "bdtopo.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("BDTOPO/BATIMENT.shp", b"x")
        zf.writestr("../../evil.txt", b"boom")
    page, files = _upload_page(server, browser, "Archive piégée")
    files.nth(0).set_input_files(str(evil))
    files.nth(1).set_input_files(str(next((demo_territory / "sources" / "landsat").iterdir()) / "LC09_L2SP_199027_20230822_20230823_02_T1_ST_B10.TIF"))
    text = _alert_after_submit(page, 2)
    assert "chemin dangereux" in text
    assert not (tmp_path.parent / "evil.txt").exists()
    page.close()


def test_upload_rejects_a_fake_tif(server, browser, demo_territory, tmp_path):
    fake = tmp_path / "LST_2023-08-22.tif"
    fake.write_text("<html><body>ceci n'est pas un raster</body></html>")
    page, files = _upload_page(server, browser, "Faux raster")
    files.nth(0).set_input_files(str(demo_territory / "sources" / "bdtopo_ilotville.gpkg"))
    files.nth(1).set_input_files(str(fake))
    text = _alert_after_submit(page, 2)
    assert "LST_2023-08-22.tif" in text and "raster lisible" in text
    page.close()


def test_upload_builds_a_new_territory(server, browser, demo_territory):
    src = demo_territory / "sources"
    page, files = _upload_page(server, browser, "Ville déposée")
    files.nth(0).set_input_files(str(src / "bdtopo_ilotville.gpkg"))
    landsat = sorted(str(p) for p in next((src / "landsat").iterdir()).iterdir())
    files.nth(1).set_input_files(landsat)
    files.nth(2).set_input_files(str(src / "worldcover_ilotville_10m.tif"))
    text = _alert_after_submit(page, 2 + len(landsat))
    assert "prêt" in text, text
    page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)
    page.close()
