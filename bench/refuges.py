"""Benchmark: walking distance from every block of a 100 km² territory to the nearest cool refuge.

    python bench/refuges.py [--side-km 10] [--street-m 40] [--parks 300]

A synthetic street grid (a street every ``--street-m`` metres, each crossing a node, cut into sections
between crossings: about 100,000 road segments for 10 km at 40 m, BD TOPO's density in a dense centre), a
block between every four streets, and ``--parks`` parks of 0,5 to 5 ha. Times, with threads bounded to 1:
building the walkable graph, finding the refuges' entrances, the one Dijkstra, and putting every block on
its nearest street.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ilots.refuges import refuge_access, walk_graph  # noqa: E402


def town(side_km: float, street_m: float, n_parks: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    side = side_km * 1000.0
    ticks = np.arange(0.0, side + 1e-6, street_m)
    a, b = np.meshgrid(ticks[:-1], ticks)
    horizontal = shapely.linestrings(
        np.stack([np.stack([a, b], -1), np.stack([a + street_m, b], -1)], axis=-2).reshape(-1, 2, 2)
    )
    vertical = shapely.linestrings(
        np.stack([np.stack([b, a], -1), np.stack([b, a + street_m], -1)], axis=-2).reshape(-1, 2, 2)
    )
    lines = np.r_[horizontal, vertical]
    roads = gpd.GeoDataFrame({"nature": ["Route à 1 chaussée"] * len(lines)}, geometry=lines, crs=2154)
    x, y = np.meshgrid(ticks[:-1], ticks[:-1])
    blocks = gpd.GeoDataFrame(
        geometry=shapely.box(x.ravel() + 4, y.ravel() + 4, x.ravel() + street_m - 4, y.ravel() + street_m - 4), crs=2154
    )
    cx, cy = rng.uniform(0, side, n_parks), rng.uniform(0, side, n_parks)
    half = np.sqrt(rng.uniform(5_000, 50_000, n_parks)) / 2
    parks = gpd.GeoDataFrame(
        {"kind": ["parc ou bois"] * n_parks, "name": [None] * n_parks},
        geometry=shapely.box(cx - half, cy - half, cx + half, cy + half),
        crs=2154,
    )
    return roads, blocks, parks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side-km", type=float, default=10.0)
    ap.add_argument("--street-m", type=float, default=40.0)
    ap.add_argument("--parks", type=int, default=300)
    args = ap.parse_args()
    roads, blocks, parks = town(args.side_km, args.street_m, args.parks)
    with threadpool_limits(1):
        c0, w0 = time.process_time(), time.perf_counter()
        graph = walk_graph(roads)
        c1 = time.process_time()
        access = refuge_access(blocks, graph, parks)
        c2, w2 = time.process_time(), time.perf_counter()
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"territory: {args.side_km**2:.0f} km², {len(roads):,} road segments, {graph.n_nodes:,} nodes, "
        f"{len(blocks):,} blocks, {len(parks)} parks"
    )
    print(f"walkable graph: {c1 - c0:.2f} s CPU")
    print(f"entrances, Dijkstra and every block onto its street: {c2 - c1:.2f} s CPU")
    print(f"total: {c2 - c0:.2f} s CPU, {w2 - w0:.2f} s wall")
    d = access["refuge_walk_m"]
    print(f"median walk {d.median():.0f} m; blocks beyond 300 m: {(d > 300).mean():.1%}")


if __name__ == "__main__":
    main()
