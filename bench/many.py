"""Dask speed-up of build-many: the same communes built with a LocalCluster of 1, then 2 workers.

    python bench/many.py [--side-km 6] [--grid 3]

A synthetic town (ilots.demo) is cut into grid × grid square "communes", built from the shared
sources (one task per commune). Each run starts from an empty output folder; wall time includes
the cluster start.
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

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from ilots.build import BuildInputs
    from ilots.demo import generate_demo_sources
    from ilots.scale import build_many

    p = argparse.ArgumentParser()
    p.add_argument("--side-km", type=float, default=6.0)
    p.add_argument("--grid", type=int, default=3)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ilots-bench-many-"))
    src = generate_demo_sources(work / "src", size_km=args.side_km, seed=2154)
    roads = gpd.read_file(src.bdtopo, layer="troncon_de_route")
    x0, y0, x1, y1 = roads.total_bounds
    dx, dy = (x1 - x0) / args.grid, (y1 - y0) / args.grid
    communes = gpd.GeoDataFrame(
        {"code_insee": [f"99{i:03d}" for i in range(args.grid**2)], "nom": [f"C{i}" for i in range(args.grid**2)]},
        geometry=[
            shapely.box(x0 + i * dx, y0 + j * dy, x0 + (i + 1) * dx, y0 + (j + 1) * dy)
            for j in range(args.grid)
            for i in range(args.grid)
        ],
        crs=roads.crs,
    )
    inputs = BuildInputs(
        name="",
        lst=[str(src.landsat)],
        landcover=str(src.landcover),
        bdtopo=str(src.bdtopo),
        population=[str(src.population)],
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{len(communes)} communes from a {args.side_km:g} km town")
    times = {}
    for workers in (1, 2):
        out = work / f"out{workers}"
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        summary = build_many(communes, out, inputs=inputs, n_workers=workers)
        times[workers] = time.perf_counter() - t0
        built = int((summary["status"] == "built").sum())
        print(
            f"{workers} worker(s): {times[workers]:.1f} s, {built} communes built, "
            f"{int(summary['n_blocks'].sum())} blocks",
            flush=True,
        )
    print(f"speed-up with 2 workers: {times[1] / times[2]:.2f}×")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
