"""Benchmark: applying a greening scenario to 1,000, 10,000 and 100,000 blocks.

    python bench/scenario.py [--sizes 1000 10000 100000] [--repeat 20]

Blocks are synthetic (a grid with realistic feature ranges); the ridge is fitted on them with its
200-sample spatial bootstrap, as `ilots fit` does. Only `ScenarioEngine.apply` is timed (the engine
is built once per territory, as the dashboard caches it). Prints the median and 95th percentile.
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
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ilots.model import N_BOOTSTRAP, fit_linear  # noqa: E402
from ilots.risk import RiskParams, hazard_anomaly, risk_draws, risk_index  # noqa: E402
from ilots.scenarios import Intervention, Scenario, ScenarioEngine, Target  # noqa: E402


def synthetic(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x, y = (i % side) * 100.0, (i // side) * 100.0
    tree = rng.beta(1.5, 4, n)
    grass = rng.beta(1.2, 6, n) * (1 - tree)
    cover = rng.uniform(0.05, 0.6, n)
    built = np.clip(1 - tree - grass, cover, 1)
    df = pd.DataFrame(
        {
            "area_m2": 8100.0,
            "tree_frac": tree,
            "grass_frac": grass,
            "built_frac": built,
            "bare_frac": 0.0,
            "water_frac": 0.0,
            "building_coverage": cover,
            "building_height_m": rng.gamma(2, 6, n),
            "road_frac": rng.uniform(0.05, 0.2, n),
            "residents": rng.gamma(2, 80, n),
            "elderly_share": rng.uniform(0.1, 0.35, n),
            "lst_valid_frac": 1.0,
        }
    )
    df["impervious_frac"] = np.clip(df["building_coverage"] + df["road_frac"], 0, 1)
    df["lst_mean_c"] = 36 + 6 * df["impervious_frac"] - 6 * tree - 2 * grass + rng.normal(0, 0.8, n)
    df.index = pd.Index([f"B{k:06d}" for k in range(n)], name="block_id")
    return gpd.GeoDataFrame(df, geometry=shapely.box(x, y, x + 90, y + 90), crs=2154)


def engine_for(blocks: gpd.GeoDataFrame) -> ScenarioEngine:
    feats = ["tree_frac", "grass_frac", "building_coverage", "building_height_m", "road_frac", "impervious_frac"]
    y = blocks["lst_mean_c"].to_numpy()
    w = np.ones(len(blocks))
    lin = fit_linear(blocks, y, w, feats)
    rng = np.random.default_rng(1)
    sample = rng.choice(len(blocks), size=min(len(blocks), 5000), replace=False)
    for _ in range(N_BOOTSTRAP):
        idx = rng.choice(sample, size=len(sample), replace=True)
        b = fit_linear(blocks.iloc[idx], y[idx], w[idx], feats, alpha=lin.alpha)
        lin.boot_coef.append(b.coef)
        lin.boot_intercept.append(b.intercept)
    pred = pd.Series(lin.predict(blocks), index=blocks.index)
    anomaly, ref, _ = hazard_anomaly(blocks["lst_mean_c"], pred, blocks["lst_valid_frac"])
    risk, note = risk_index(blocks, anomaly)
    note["reference_median_c"] = ref
    # A per-block temperature SD, as the fit stores it: the engine then simulates « habitants sortis du risque
    # élevé » with its interval (200 draws), which is part of what is timed.
    table = pd.DataFrame(
        {"lst_used_c": anomaly + ref, "risk_class": risk["risk_class"], "lst_sd_c": 0.5}, index=blocks.index
    )
    scores = risk_draws(table["lst_sd_c"], RiskParams(**note["params"])).scores(blocks, anomaly.to_numpy())
    table["p_high_risk"] = (scores >= 60).mean(axis=0)  # as the fit stores it
    return ScenarioEngine(blocks, {"linear": lin.to_dict(), "risk": note}, table)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", nargs="+", type=int, default=[1000, 10_000, 100_000])
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    scenario = Scenario(
        "bench",
        [
            Intervention("trees", 10, Target("risk", min_class=3)),
            Intervention("depave", 20),
            Intervention("green_roofs", 50),
            Intervention("cool_roofs", 30),
        ],
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'blocks':>8} {'median ms':>10} {'p95 ms':>8} {'changed':>8}")
    for n in args.sizes:
        eng = engine_for(synthetic(n))
        eng.apply(scenario)  # warm-up
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            _, summary = eng.apply(scenario)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"{n:>8} {np.median(times):>10.1f} {np.percentile(times, 95):>8.1f} {summary['n_blocks_changed']:>8}",
            flush=True,
        )


if __name__ == "__main__":
    main()
