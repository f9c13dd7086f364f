"""Benchmark of the territory build on synthetic towns of about 25, 100, 400 and 1,000 km².

    python bench/build.py [--sizes 5 10 20 31.6] [--tiled 5] [--keep DIR] [--floor]

Each size (side in km) is generated first (not timed), then built in a fresh subprocess that
reports its own wall time, CPU time and peak resident memory, so sizes do not share caches.
Prints one line per size; record the figures in bench/RESULTS.md with the machine.

``--floor`` also runs ``bench/floor.py`` (the same inputs read and the same geometry and zonal work in one
straight script) on each town, in its own fresh subprocess, and prints the build's CPU time over the floor's:
whole processes (interpreter, imports and work, user + system CPU) and the work alone (after the imports).
BLAS/OpenMP pools are bounded to one thread in both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one(src: Path, out: Path, tile_km: float = 0.0, workers: int = 1) -> dict:
    """Build one generated town and return its measurements (runs inside the subprocess). CPU time counts the
    tile workers too; peak memory is the largest of this process and each worker."""
    from ilots.build import BuildInputs, build_territory
    from ilots.store import load_territory

    inputs = BuildInputs(
        name="bench",
        lst=[str(next((src / "landsat").iterdir()))],  # the scene folder (not ilots.demo's name: no extra import)
        landcover=str(src / "worldcover_ilotville_10m.tif"),
        bdtopo=str(src / "bdtopo_ilotville.gpkg"),
        population=[str(src / "filosofi_200m_ilotville.csv")],
    )
    from threadpoolctl import threadpool_limits

    t0, c0 = time.perf_counter(), time.process_time()

    limits = threadpool_limits(1)
    if tile_km:
        from ilots.scale import build_tiled

        build_tiled(inputs, out, tile_m=tile_km * 1000.0, workers=workers)
    else:
        build_territory(inputs, out)
    workers_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0 + workers_cpu.ru_utime + workers_cpu.ru_stime
    limits.restore_original_limits()
    terr = load_territory(out)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(max(_peak_rss_mb(), workers_cpu.ru_maxrss / 1024), 0),
        "n_blocks": len(terr.blocks),
        "n_buildings": terr.manifest["buildings"]["n"],
        "area_km2": terr.manifest["area_km2"],
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", nargs="+", type=float, default=[5.0, 10.0, 20.0], help="town sides in km")
    p.add_argument("--keep", help="keep generated towns in this folder")
    p.add_argument(
        "--tiled", type=float, default=0.0, help="build tile by tile, tiles of this side in km (ilots.scale)"
    )
    p.add_argument("--floor", action="store_true", help="also run bench/floor.py and print the ratio")
    p.add_argument("--both", action="store_true", help="with --tiled: the untiled build too, and the ratio")
    p.add_argument("--workers", type=int, default=1, help="with --tiled: also build with this many tile workers")
    p.add_argument("--one", nargs=2, metavar=("SRC", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(Path(args.one[0]), Path(args.one[1]), args.tiled, args.workers)))
        return
    from ilots.demo import generate_demo_sources

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ilots-bench-"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"{'side km':>8} {'km²':>7} {'buildings':>10} {'blocks':>7} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} "
        f"{'s/km²':>6}"
    )
    for side in args.sizes:
        src = work / f"town_{side:g}km"
        t0 = time.perf_counter()
        if not (src / "bdtopo_ilotville.gpkg").exists():
            generate_demo_sources(src, size_km=side, seed=2154)
        gen = time.perf_counter() - t0
        modes = [(0.0, 1)] if args.both and args.tiled else []
        modes += [(args.tiled, 1)] + ([(args.tiled, args.workers)] if args.tiled and args.workers > 1 else [])
        untiled: dict = {}
        for tile_km, n in modes:
            out = work / f"terr_{side:g}km"
            command = [sys.executable, __file__, "--one", str(src), str(out), "--tiled", str(tile_km)]
            r, build_cpu = _child([*command, "--workers", str(n)])
            _row(side, r, gen, tile_km, n)
            if untiled and tile_km:
                ratio_cpu, ratio_wall = r["cpu_s"] / untiled["cpu_s"], r["wall_s"] / untiled["wall_s"]
                print(f"{'':>8} tiled / untiled: {ratio_cpu:.2f}× CPU, {ratio_wall:.2f}× wall", flush=True)
            untiled = r if not tile_km else untiled
        if args.floor:
            f, floor_cpu = _child([sys.executable, str(ROOT / "bench" / "floor.py"), str(src), str(work / "floor")])
            same = "same blocks" if f["n_blocks"] == r["n_blocks"] else f"floor: {f['n_blocks']} blocks"
            print(
                f"{'':>8} floor: {floor_cpu:.2f} s CPU whole process, {f['cpu_s'] - f['imports_cpu_s']:.2f} s of work; "
                f"build: {build_cpu:.2f} s, {r['cpu_s']:.2f} s of work → build / floor {build_cpu / floor_cpu:.2f}× "
                f"(work alone {r['cpu_s'] / (f['cpu_s'] - f['imports_cpu_s']):.2f}×; {same})",
                flush=True,
            )
            print(f"{'':>8} floor stages (CPU s): " + ", ".join(f"{k} {v}" for k, v in f.items() if "cpu" not in k))


def _peak_rss_mb() -> float:
    """This process's peak resident memory (MB). Linux's VmHWM belongs to the process's own address space;
    ru_maxrss is kept across exec, so a child started after the parent generated a 1,000 km² town would report
    the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _row(side: float, r: dict, gen: float, tile_km: float, workers: int = 1) -> None:
    how = (f", tiles of {tile_km:g} km" + (f", {workers} workers" if workers > 1 else "")) if tile_km else ""
    print(
        f"{side:>8g} {r['area_km2']:>7.1f} {r['n_buildings']:>10} {r['n_blocks']:>7} {r['wall_s']:>7.1f} "
        f"{r['cpu_s']:>7.1f} {r['peak_rss_mb']:>8.0f} {r['wall_s'] / r['area_km2']:>6.2f}   (generation {gen:.0f} s"
        f"{how})",
        flush=True,
    )


def _child(command: list[str]) -> tuple[dict, float]:
    """Run ``command`` (printing a JSON line last); its result and its whole CPU time (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = subprocess.run(command, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(res.stdout.strip().splitlines()[-1]), cpu


if __name__ == "__main__":
    main()
