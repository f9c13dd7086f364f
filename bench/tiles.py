"""Vector tiles of a métropole-sized territory (issue 14 §4): writing time and what a first view fetches.

    python bench/tiles.py [--blocks 50000] [--browser] [--compare]

Synthetic blocks: a square grid of irregular quadrilaterals (about 1 ha each, 100 m pitch) in Lambert-93 around
Lyon, with the territory map's values (surface temperature, risk class, shares, height). Timed with threads
bounded to 1: building the tiles' attributes (:func:`ilots.maps.block_tile_frame`: colours and tooltip texts of
every layer), then GDAL's MVT writing. Reported: tiles and bytes per zoom, and the bytes of the tiles a
1,400 × 1,000 px view of the whole territory needs at the zoom that fits it (what the first map view fetches,
before gzip).

``--browser`` then serves the territory map (:func:`ilots.maps.territory_map` on those tiles, as the Carte page
draws it) and its tiles from 127.0.0.1 to headless Chromium (Playwright, a 1,400 × 1,000 px window) and measures
what a visitor gets: the tiles' bytes and the time until the first view is drawn, then panning: 40 animated pans of
300 px at the whole-territory zoom and at the first zoom that draws every block, with the browser's frame intervals
(requestAnimationFrame) over the pans and the time until the tiles of each new view are drawn.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import math
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from threadpoolctl import threadpool_limits

from ilots.maps import (
    block_tile_frame,
    grid_overview,
    localise_assets,
    territory_map,
    territory_tile_layers,
    write_assets,
)
from ilots.tiles import TileSet, write_tiles

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def synthetic_blocks(n: int, seed: int = 2154) -> gpd.GeoDataFrame:
    side = int(math.ceil(math.sqrt(n)))
    rng = np.random.default_rng(seed)
    i, j = np.divmod(np.arange(side * side), side)
    x0, y0 = 830_000 + i * 100.0, 6_505_000 + j * 100.0
    jitter = rng.uniform(-8, 8, size=(side * side, 4, 2))
    corners = np.stack(
        [np.c_[x0 + 5, y0 + 5], np.c_[x0 + 95, y0 + 5], np.c_[x0 + 95, y0 + 95], np.c_[x0 + 5, y0 + 95]], axis=1
    )
    geoms = shapely.polygons(corners + jitter)[:n]
    k = len(geoms)
    lst = 38 + 4 * np.sin(i[:k] / 15) * np.cos(j[:k] / 11) + rng.normal(0, 1, k)
    df = pd.DataFrame(
        {
            "lst_mean_c": lst,
            "risk_class": np.clip(np.round((lst - 34) / 2), 1, 5).astype(int),
            "tree_frac": rng.uniform(0, 0.6, k),
            "impervious_frac": rng.uniform(0.2, 0.95, k),
            "building_height_m": rng.uniform(3, 30, k),
            "p_high_risk": rng.uniform(0, 1, k),
        },
        index=pd.Index([f"I{v:06d}" for v in range(k)], name="block_id"),
    )
    return gpd.GeoDataFrame(df, geometry=geoms, crs=2154)


def view_tiles(bounds_wgs84, z: int, width: int = 1400, height: int = 1000) -> set[tuple[int, int]]:
    """(x, y) of the zoom-``z`` tiles a ``width`` × ``height`` view centred on the bounds needs."""
    west, south, east, north = bounds_wgs84

    def px(lon, lat):
        s = math.sin(math.radians(lat))
        x = (lon + 180) / 360 * 256 * 2**z
        y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * 256 * 2**z
        return x, y

    cx, cy = px((west + east) / 2, (south + north) / 2)
    xs = range(int((cx - width / 2) // 256), int((cx + width / 2) // 256) + 1)
    ys = range(int((cy - height / 2) // 256), int((cy + height / 2) // 256) + 1)
    return {(x, y) for x in xs for y in ys}


@contextlib.contextmanager
def _serve(folder: Path):
    """Serve ``folder`` over HTTP on a free loopback port (quietly); yield the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# Run in the page: the map, its tile layer, and a promise for « every tile of the view drawn ».
_FIND = """() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  let grid = null; map.eachLayer(l => { if (l instanceof L.VectorGrid) { grid = l; } });
  window.__bench = {map, grid};
  window.__idle = () => new Promise(ok => {
    const done = () => Object.values(grid._tiles).every(t => t.loaded) && !grid._loading;
    if (done()) { ok(); } else { grid.once('load', () => ok()); }
  });
  return map.getZoom();
}"""

_PAN = """async ([zoom, steps, px]) => {
  const {map} = window.__bench;
  const c = map.getCenter();
  map.setView(c, zoom, {animate: false});
  await window.__idle();
  const frames = []; let last = performance.now(), on = true;
  const tick = t => { frames.push(t - last); last = t; if (on) { requestAnimationFrame(tick); } };
  requestAnimationFrame(tick);
  const waits = []; const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const dir = [[px, 0], [0, px], [-px, 0], [0, -px]][Math.floor(i / (steps / 4)) % 4];
    const moved = new Promise(ok => map.once('moveend', ok));
    map.panBy(dir, {animate: true, duration: 0.25});
    await moved;
    const t = performance.now(); await window.__idle(); waits.push(performance.now() - t);
  }
  on = false;
  return {frames: frames.slice(1), waits, total: performance.now() - t0};
}"""


def _quantile(values: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(values), q)) if values else float("nan")


def browser_run(blocks: gpd.GeoDataFrame, tiles: TileSet, tiles_dir: Path) -> None:
    """The map in Chromium: first-view bytes and time, then panning smoothness (see the module's docstring)."""
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        raise SystemExit("--browser needs Chromium (apt-get install chromium)")
    site = Path(tempfile.mkdtemp(prefix="ilots-tiles-site-"))
    shutil.move(str(tiles_dir), site / "t")
    assets = write_assets(site / "vendor", "vendor/")
    m = territory_map(blocks, tiles.bounds_wgs84, ["lst", "risk"], tiles=("t/{z}/{x}/{y}.pbf", tiles))
    m.get_root().height = "1000px"
    localise_assets(m, assets)  # as the dashboard serves them: static files, not data URLs
    m.save(str(site / "map.html"))
    with _serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        got: dict[str, int] = {}

        def finished(request) -> None:
            with contextlib.suppress(Exception):
                got[request.url] = request.sizes()["responseBodySize"]

        page.on("requestfinished", finished)
        t = time.perf_counter()
        page.goto(f"{base}/map.html", wait_until="domcontentloaded")  # not the IGN basemap (offline here)
        page.wait_for_function("() => window.L && Object.values(window).some(v => v instanceof L.Map)")
        zoom = page.evaluate(_FIND)
        page.evaluate("() => window.__idle()")
        first_s = time.perf_counter() - t
        tile_bytes = sum(v for u, v in got.items() if u.endswith(".pbf"))
        n_tiles = sum(1 for u in got if u.endswith(".pbf"))
        page_bytes = sum(got.values())
        print(
            f"browser, first view (zoom {zoom}, 1,400 × 1,000 px): drawn in {first_s:.2f} s; "
            f"{n_tiles} tiles, {tile_bytes / 1e3:,.0f} kB of tiles ({page_bytes / 1e3:,.0f} kB with the page and "
            "Leaflet, fetched once)"
        )
        for z in sorted({zoom, tiles.first_block_zoom}):
            r = page.evaluate(_PAN, [z, 40, 300])
            frames, waits = r["frames"], r["waits"]
            slow = sum(1 for f in frames if f > 50) / max(len(frames), 1)
            print(
                f"  panning at zoom {z} ({'blocks' if z >= tiles.first_block_zoom else 'overview'}), 40 × 300 px: "
                f"frame interval median {_quantile(frames, 0.5):.0f} ms, p95 {_quantile(frames, 0.95):.0f} ms, "
                f"max {max(frames):.0f} ms, {slow:.0%} of frames over 50 ms; new view drawn after the pan: "
                f"median {_quantile(waits, 0.5):.0f} ms, p95 {_quantile(waits, 0.95):.0f} ms; "
                f"{r['total'] / 1e3:.1f} s in all"
            )
        browser.close()
    shutil.rmtree(site, ignore_errors=True)


def tile_set(blocks: gpd.GeoDataFrame, with_overview: bool, browser: bool) -> None:
    """Write the blocks' tiles (with or without the overview), print their sizes and the first view's, and with
    ``browser`` measure them in Chromium."""
    out = Path(tempfile.mkdtemp(prefix="ilots-tiles-")) / "t"
    with threadpool_limits(1):
        t = time.process_time()
        layers = territory_tile_layers(blocks)
        frame = block_tile_frame(blocks, layers)
        overview = grid_overview(blocks, layers) if with_overview else None
        t_frame = time.process_time() - t
        t = time.process_time()
        tiles = write_tiles(frame, out, overview=overview)
        t_write = time.process_time() - t
    below = f"below: {len(overview.frame):,} cells of {overview.cell_m:.0f} m" if overview else "no overview"
    print(
        f"{len(blocks):,} blocks, {blocks.area.sum() / 1e6:,.0f} km²: attributes {t_frame:.2f} s CPU, "
        f"MVT writing {t_write:.2f} s CPU; {tiles.n_tiles:,} tiles, {tiles.n_bytes / 1e6:.1f} MB, "
        f"zooms {tiles.minzoom}–{tiles.maxzoom}, every block from zoom {tiles.first_block_zoom} ({below})"
    )
    for z in range(tiles.minzoom, tiles.maxzoom + 1):
        files = [os.path.join(r, f) for r, _, fs in os.walk(out / str(z)) for f in fs]
        sizes = [os.path.getsize(f) for f in files]
        print(f"  zoom {z}: {len(files):,} tiles, {sum(sizes) / 1e3:,.0f} kB, largest {max(sizes) / 1e3:,.0f} kB")
    # the zoom that shows the whole territory in a 1,400 × 1,000 px view
    west, _, east, _ = tiles.bounds_wgs84
    for z in range(tiles.maxzoom, tiles.minzoom - 1, -1):
        need = view_tiles(tiles.bounds_wgs84, z)
        span_px = 256 * 2**z * (east - west) / 360
        if span_px <= 1400:
            size = sum(
                os.path.getsize(out / str(z) / str(x) / f"{y}.pbf")
                for x, y in need
                if (out / str(z) / str(x) / f"{y}.pbf").exists()
            )
            print(f"first view of the whole territory: zoom {z}, {len(need)} tiles requested, {size / 1e3:,.0f} kB")
            break
    if browser:
        browser_run(blocks, tiles, out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--blocks", type=int, default=50_000)
    p.add_argument("--browser", action="store_true", help="also measure the first view and panning in Chromium")
    p.add_argument("--compare", action="store_true", help="first the same tiles without the overview (before)")
    args = p.parse_args()
    blocks = synthetic_blocks(args.blocks)
    if args.compare:
        print("-- without the overview (every block at every zoom):")
        tile_set(blocks, False, args.browser)
        print("-- with the overview:")
    tile_set(blocks, True, args.browser)


if __name__ == "__main__":
    main()
