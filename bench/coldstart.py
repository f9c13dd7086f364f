"""Cold start and map transfer of the dashboard in a real browser (issue 14 §4 and §5).

    python bench/coldstart.py [--size-km 5] [--port 8765]

1. Cold start: an empty data folder and no tiles written yet, as on a fresh clone's first start. The clock starts
   when ``streamlit run dashboard.py`` is launched; Chromium (Playwright) opens the home page as soon as the
   server answers. Reported: the observed map drawn (blocks on the Leaflet canvas, from vector tiles), then the
   model's figures shown (the fit runs in a worker meanwhile).
2. Map page transfer, same server, a new browser: bytes received over Streamlit's websocket, bytes of the vector
   tiles and of the map's JavaScript and CSS (static files), for the first view of the map page and for a rerun
   that does not change the map (the « Image satellite » toggle switched on then off), and whether any websocket
   frame carries GeoJSON geometry.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Transfer:
    """Bytes a page receives, by kind."""

    def __init__(self, page) -> None:
        self.ws: list[bytes] = []
        self.files: dict[str, int] = {}
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        page.on("requestfinished", self._finished)

    def _frame(self, frame) -> None:
        self.ws.append(frame if isinstance(frame, bytes) else frame.encode())

    def _finished(self, request) -> None:
        try:
            size = request.sizes()["responseBodySize"]
        except Exception:  # noqa: BLE001 — a request without a body
            size = 0
        self.files[request.url] = size

    def mark(self) -> tuple[int, int, int]:
        return len(self.ws), len(self.files), 0

    def since(self, mark) -> dict:
        ws = self.ws[mark[0] :]
        urls = list(self.files)[mark[1] :]
        return {
            "websocket": sum(len(f) for f in ws),
            "geometry_in_websocket": any(b'"coordinates"' in f or b"FeatureCollection" in f for f in ws),
            "tiles": sum(self.files[u] for u in urls if u.endswith(".pbf")),
            "n_tiles": sum(1 for u in urls if u.endswith(".pbf")),
            "map_assets": sum(self.files[u] for u in urls if "/app/static/vendor/" in u),
        }


def main() -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-km", type=float, default=5.0, help="side of the demo town built at first start")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    if CHROMIUM is None:
        sys.exit("Chromium is needed: apt-get install chromium")
    data = Path(tempfile.mkdtemp(prefix="ilots-cold-"))
    shutil.rmtree(ROOT / "static" / "tiles", ignore_errors=True)  # no tiles yet, as on a fresh clone
    port = args.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ILOTS_DATA_DIR": str(data), "ILOTS_DEMO_SIZE_KM": str(args.size_km)}
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.port", str(port)]
        + ["--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            while True:
                try:
                    if urllib.request.urlopen(base + "/_stcore/health", timeout=1).read() == b"ok":
                        break
                except OSError:
                    time.sleep(0.1)
            t_server = time.perf_counter() - t0
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(base + "/")
            frame = page.frame_locator('iframe[title*="st_folium"]').first
            frame.locator(".leaflet-container canvas").first.wait_for(timeout=300_000)  # tiles, or (before) GeoJSON
            t_map = time.perf_counter() - t0
            page.locator('[data-testid="stMetric"]', has_text="Précision du modèle").first.wait_for(timeout=300_000)
            t_model = time.perf_counter() - t0
            page.close()
            print(f"server answering:            {t_server:5.1f} s after launch")
            print(f"first map drawn (observed):  {t_map:5.1f} s")
            print(f"model figures shown:         {t_model:5.1f} s")

            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            seen = Transfer(page)
            page.goto(base + "/map")
            frame = page.frame_locator('iframe[title*="st_folium"]').first
            frame.locator(".leaflet-tile-pane canvas").first.wait_for(timeout=120_000)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1500)
            first = seen.since((0, 0, 0))
            mark = (len(seen.ws), len(seen.files), 0)
            toggle = page.get_by_text("Image satellite de température (°C)")
            toggle.click()
            page.wait_for_timeout(2500)
            toggle.click()
            page.wait_for_timeout(2500)
            rerun = seen.since(mark)
            for name, t in (("map page, first view", first), ("two reruns back to the same map", rerun)):
                print(
                    f"{name}: websocket {t['websocket'] / 1e3:.0f} kB (geometry: {t['geometry_in_websocket']}), "
                    f"{t['n_tiles']} tiles {t['tiles'] / 1e3:.0f} kB, map JS/CSS {t['map_assets'] / 1e3:.0f} kB"
                )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
