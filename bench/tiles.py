"""Vector tiles of a métropole-sized territory (issue 14 §4): writing time and what a first view fetches.

    python bench/tiles.py [--blocks 50000]

Synthetic blocks: a square grid of irregular quadrilaterals (about 1 ha each, 100 m pitch) in Lambert-93 around
Lyon, with the territory map's values (surface temperature, risk class, shares, height). Timed with threads
bounded to 1: building the tiles' attributes (:func:`ilots.maps.block_tile_frame`: colours and tooltip texts of
every layer), then GDAL's MVT writing. Reported: tiles and bytes per zoom, and the bytes of the tiles a
1,400 × 1,000 px view of the whole territory needs at the zoom that fits it (what the first map view fetches,
before gzip).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from threadpoolctl import threadpool_limits

from ilots.maps import block_tile_frame, territory_tile_layers
from ilots.tiles import write_tiles


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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--blocks", type=int, default=50_000)
    args = p.parse_args()
    blocks = synthetic_blocks(args.blocks)
    out = Path(tempfile.mkdtemp(prefix="ilots-tiles-")) / "t"
    with threadpool_limits(1):
        t = time.process_time()
        frame = block_tile_frame(blocks, territory_tile_layers(blocks))
        t_frame = time.process_time() - t
        t = time.process_time()
        tiles = write_tiles(frame, out)
        t_write = time.process_time() - t
    print(
        f"{len(blocks):,} blocks, {blocks.area.sum() / 1e6:,.0f} km²: attributes {t_frame:.2f} s CPU, "
        f"MVT writing {t_write:.2f} s CPU; {tiles.n_tiles:,} tiles, {tiles.n_bytes / 1e6:.1f} MB, "
        f"zooms {tiles.minzoom}–{tiles.maxzoom}"
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


if __name__ == "__main__":
    main()
