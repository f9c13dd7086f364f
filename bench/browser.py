"""Dashboard speed in a real browser (Debian Chromium + Playwright) on a ~5,000-block territory.

    python bench/browser.py [--territory DIR] [--size-km 16] [--repeat 5]

Builds (once) a synthetic territory of about 5,000 blocks unless one is given, fits its model,
starts the dashboard on 127.0.0.1 and measures, over several runs:
- map page: navigation → the Leaflet map of blocks is drawn (canvas present in the map iframe);
- scenario slider: key press → the "Température de surface" figure shows a new value.
Targets (issue "The dashboard"): map interactive within 3 s; slider update within 1 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import dashboard_server  # noqa: E402


def ensure_territory(path: Path, size_km: float) -> Path:
    from ilots.analysis import fit_territory
    from ilots.demo import build_demo
    from ilots.store import is_territory, load_territory

    if not is_territory(path):
        build_demo(path, size_km=size_km, seed=2154)
    terr = load_territory(path)
    if terr.model() is None:
        fit_territory(terr)
    return path


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--territory", type=Path, default=ROOT / "bench" / "out" / "town_5000")
    p.add_argument("--size-km", type=float, default=16.0)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    terr_dir = ensure_territory(args.territory, args.size_km)
    from ilots.store import load_territory

    n_blocks = len(load_territory(terr_dir).blocks)
    data = Path(tempfile.mkdtemp(prefix="ilots-bench-data-"))
    os.symlink(terr_dir.resolve(), data / "demo")
    from playwright.sync_api import sync_playwright

    map_times, slider_times, base_times = [], [], []
    try:
        with dashboard_server(data) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            warm = browser.new_page()
            warm.goto(base + "/map")
            warm.frame_locator('iframe[title*="st_folium"]').first.locator(
                ".leaflet-overlay-pane canvas"
            ).first.wait_for(timeout=300_000)
            warm.goto(base + "/scenarios")
            warm.wait_for_selector('[data-testid="stMetric"]', timeout=300_000)
            warm.close()
            for _ in range(args.repeat):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t0 = time.perf_counter()
                page.goto(base + "/transparency")  # baseline: a page without a map
                page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
                base_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                page.goto(base + "/map")
                page.frame_locator('iframe[title*="st_folium"]').first.locator(
                    ".leaflet-overlay-pane canvas"
                ).first.wait_for(timeout=60_000)
                map_times.append(time.perf_counter() - t0)
                page.goto(base + "/scenarios")
                metric = page.locator('[data-testid="stMetric"]', has_text="Température de surface").first
                metric.wait_for(timeout=60_000)
                slider = page.get_by_role("slider").nth(1)
                slider.focus()
                for _ in range(3):
                    before = metric.inner_text()
                    t0 = time.perf_counter()
                    slider.press("ArrowRight")
                    page.wait_for_function(
                        "(b) => { const m = [...document.querySelectorAll('[data-testid=stMetric]')]"
                        ".find(e => e.innerText.includes('Température de surface')); return m && m.innerText !== b; }",
                        arg=before,
                        timeout=30_000,
                    )
                    slider_times.append(time.perf_counter() - t0)
                page.close()
            browser.close()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; {n_blocks} blocks"
    )
    print(f"page without map (baseline): median {np.median(base_times):.2f} s, max {max(base_times):.2f} s")
    print(f"map page interactive: median {np.median(map_times):.2f} s, max {max(map_times):.2f} s (n={len(map_times)})")
    print(
        f"scenario slider update: median {np.median(slider_times):.2f} s, max {max(slider_times):.2f} s "
        f"(n={len(slider_times)})"
    )


if __name__ == "__main__":
    main()
