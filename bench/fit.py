"""Benchmark: fitting the heat model on the demo town, on a quiet machine and under load.

    python bench/fit.py [--territory DIR] [--busy 2]

"Under load" starts ``--busy`` processes that each keep a core busy (as other dashboard sessions or a
build would), then fits with the thread pools bounded (Îlots' default, ``ilots.model.FIT_THREADS``) and
with the libraries' default pools. Prints wall and CPU seconds of each fit, measured in one run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ilots.model import FIT_THREADS, fit_models  # noqa: E402


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _fit(blocks, manifest, threads) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fit_models(blocks, manifest["features"], threads=threads)
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--territory", type=Path, default=ROOT / "bench" / "out" / "demo_5km")
    p.add_argument("--busy", type=int, default=2, help="busy processes during the loaded fits")
    args = p.parse_args()
    from ilots.demo import build_demo
    from ilots.store import is_territory, load_territory

    if not is_territory(args.territory):
        build_demo(args.territory)
    terr = load_territory(args.territory)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(terr.blocks)} blocks")
    rows = [("quiet", f"bounded ({FIT_THREADS} thread)", FIT_THREADS), ("quiet", "libraries' defaults", None)]
    for load, label, threads in rows:
        wall, cpu = _fit(terr.blocks, terr.manifest, threads)
        print(f"{load:>6} | {label:<26} | wall {wall:6.1f} s | CPU {cpu:6.1f} s")
    stop = mp.Event()
    spinners = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.busy)]
    for sp in spinners:
        sp.start()
    try:
        for label, threads in ((f"bounded ({FIT_THREADS} thread)", FIT_THREADS), ("libraries' defaults", None)):
            wall, cpu = _fit(terr.blocks, terr.manifest, threads)
            print(f"{'busy':>6} | {label:<26} | wall {wall:6.1f} s | CPU {cpu:6.1f} s  ({args.busy} busy processes)")
    finally:
        stop.set()
        for sp in spinners:
            sp.join()


if __name__ == "__main__":
    main()
