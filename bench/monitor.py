"""Benchmark: before/after monitoring of 50 projects over 10 summers on a 100 km² territory.

    python bench/monitor.py [--side-km 10] [--projects 50] [--summers 10] [--boot 2000]

A synthetic territory (100 m blocks on a 30 m LST grid, so about 10,000 blocks and 110,000 pixels for
100 km²) with its coverage weights computed once, as a build stores them (not timed: that is the build's
work). Timed, in one run: the projects' own coverage weights, the block and project means of every summer
(one sparse product a summer), and the estimates (anomalies, controls, difference in differences, 2,000
resamples each). BLAS/OpenMP threads are bounded to 1 (threadpoolctl) so nothing oversubscribes the 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ilots.monitor import monitor_projects  # noqa: E402
from ilots.zonal import coverage_weights, sparse_mean  # noqa: E402
from tests.conftest import make_raster  # noqa: E402

X0, Y0, RES = 840_000.0, 6_520_000.0, 30.0


def territory(side_km: float, n_projects: int, n_summers: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    side = side_km * 1000.0
    n_px = int(side // RES)
    grid = make_raster(np.zeros((n_px, n_px), "float32"), res=RES, x0=X0, y0=Y0 + n_px * RES)
    step = 100.0
    xs, ys = np.meshgrid(np.arange(0, side - step, step), np.arange(0, side - step, step))
    xs, ys = X0 + xs.ravel(), Y0 + ys.ravel()
    n = len(xs)
    blocks = gpd.GeoDataFrame(
        {
            "building_coverage": rng.uniform(0.1, 0.6, n),
            "building_height_m": rng.uniform(4, 25, n),
            "tree_frac": rng.uniform(0.0, 0.4, n),
            "impervious_frac": rng.uniform(0.3, 0.9, n),
        },
        geometry=shapely.box(xs + 4, ys + 4, xs + step - 4, ys + step - 4),
        crs=2154,
    )
    blocks.index = pd.Index([f"b{i}" for i in range(n)], name="block_id")
    cx = rng.uniform(X0 + 500, X0 + side - 500, n_projects)
    cy = rng.uniform(Y0 + 500, Y0 + side - 500, n_projects)
    half = np.sqrt(rng.uniform(5_000, 80_000, n_projects)) / 2
    works = gpd.GeoDataFrame(
        {
            "name": [f"Projet {i + 1}" for i in range(n_projects)],
            "kind": rng.choice(["trees", "depave", "green_roofs"], n_projects),
            "completed": [dt.date(2015 + n_summers // 2, 3, 1)] * n_projects,
            "area_m2": (2 * half) ** 2,
            "cost_eur": np.nan,
        },
        geometry=shapely.box(cx - half, cy - half, cx + half, cy + half),
        crs=2154,
    )
    works.index = pd.Index([f"p{i + 1}" for i in range(n_projects)], name="project_id")
    base = 38 + 3 * ndimage.gaussian_filter(rng.normal(size=(n_px, n_px)), 6) / 0.05
    summers = {}
    for k in range(n_summers):
        noise = ndimage.gaussian_filter(rng.normal(size=(n_px, n_px)), 3)
        summers[2015 + k] = grid.copy(data=(base + rng.normal(0, 1.5) + 0.3 * noise / noise.std()).astype("float32"))
    return grid, blocks, works, summers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side-km", type=float, default=10.0)
    ap.add_argument("--projects", type=int, default=50)
    ap.add_argument("--summers", type=int, default=10)
    ap.add_argument("--boot", type=int, default=2000)
    args = ap.parse_args()
    grid, blocks, works, summers = territory(args.side_km, args.projects, args.summers)
    block_weights = coverage_weights(grid, blocks)  # stored by the build: not timed
    with threadpool_limits(1):
        c0, w0 = time.process_time(), time.perf_counter()
        project_weights = coverage_weights(grid, works)
        c1 = time.process_time()
        block_lst = pd.DataFrame(
            {y: sparse_mean(block_weights, da).to_numpy() for y, da in summers.items()}, index=blocks.index
        )
        works_lst = pd.DataFrame(
            {y: sparse_mean(project_weights, da).to_numpy() for y, da in summers.items()}, index=works.index
        )
        c2 = time.process_time()
        result = monitor_projects(blocks, block_lst, works, works_lst, n_boot=args.boot)
        c3, w3 = time.process_time(), time.perf_counter()
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"territory: {args.side_km**2:.0f} km², {len(blocks):,} blocks, {grid.size:,} pixels; "
        f"{len(works)} projects, {len(summers)} summers, {args.boot} resamples each"
    )
    print(f"project weights (exactextract): {c1 - c0:.2f} s CPU")
    print(f"block and project means of {len(summers)} summers (sparse products): {c2 - c1:.2f} s CPU")
    print(f"estimates of {len(works)} projects: {c3 - c2:.2f} s CPU ({(c3 - c2) / len(works) * 1000:.0f} ms a project)")
    print(f"total: {c3 - c0:.2f} s CPU, {w3 - w0:.2f} s wall")
    verdicts = pd.Series([p.verdict for p in result.projects]).value_counts().to_dict()
    print(f"verdicts (no effect was introduced): {verdicts}")


if __name__ == "__main__":
    main()
