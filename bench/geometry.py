"""Benchmark: the build's geometry work on a built territory, against plain overlays, in one run.

    python bench/geometry.py DIR        # a territory built from a BD TOPO GeoPackage and a land cover (e.g. the
                                        # demo: python -m ilots demo --out /tmp/d10 --size-km 10)

Times, with threads bounded to 1:
- block × building shares: ``features.building_features`` (containment first, intersection only for the
  footprints crossing a block edge) against the same with every pair intersected;
- land-cover class fractions: ``zonal.class_fractions`` (one vectorised pass over exactextract's output)
  against writing each (block, class) cell into the frame one by one.
Checks that both give the same numbers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ilots import features, zonal  # noqa: E402
from ilots.sources.bdtopo import read_bdtopo  # noqa: E402
from ilots.sources.rasters import read_class_raster  # noqa: E402
from ilots.store import load_territory  # noqa: E402


def overlay_shares(blocks, buildings) -> np.ndarray:
    """Building coverage with every intersecting pair intersected (the plain overlay)."""
    li, bi = blocks.sindex.query(buildings.geometry.values, predicate="intersects")
    area = shapely.area(shapely.intersection(buildings.geometry.values[li], blocks.geometry.values[bi]))
    return np.bincount(bi, weights=area, minlength=len(blocks)) / blocks.area.to_numpy()


def cell_by_cell(lc, blocks, groups) -> pd.DataFrame:
    """Class fractions written one (block, class) cell at a time."""
    df = zonal._run(lc, blocks, ["frac", "unique"], nodata=0)
    out = pd.DataFrame(0.0, index=blocks.index, columns=list(groups))
    lookup = {code: name for name, codes in groups.items() for code in codes}
    for i, (fracs, codes) in enumerate(zip(df["frac"], df["unique"], strict=True)):
        for f, code in zip(fracs if fracs is not None else [], codes if codes is not None else [], strict=True):
            if (name := lookup.get(int(code))) is not None:
                out.iat[i, out.columns.get_loc(name)] += float(f)
    return out


def cpu(fn):
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def main() -> None:
    terr = load_territory(sys.argv[1])
    blocks = terr.blocks
    src = terr.path / "sources"
    bd = read_bdtopo(str(next(src.glob("bdtopo*.gpkg"))), blocks.crs)
    buildings = bd.get("batiment")
    lc = read_class_raster(str(next(src.glob("worldcover*.tif"))), blocks.crs, tuple(blocks.total_bounds))
    with threadpool_limits(1):
        _ = blocks.sindex  # built once, for both
        t_new, new = cpu(lambda: features.building_features(blocks, buildings))
        t_old, old = cpu(lambda: overlay_shares(blocks, buildings))
        c_new, lc_new = cpu(lambda: zonal.class_fractions(lc, blocks, features.WORLDCOVER_GROUPS))
        c_old, lc_old = cpu(lambda: cell_by_cell(lc, blocks, features.WORLDCOVER_GROUPS))
    li, bi = blocks.sindex.query(buildings.geometry.values, predicate="intersects")
    crossing = ~shapely.contains_properly(blocks.geometry.values[bi], buildings.geometry.values[li])
    diff = np.nanmax(np.abs(new["building_coverage"].to_numpy() - np.clip(old, 0, 1)))
    lc_diff = np.nanmax(np.abs(lc_new[list(features.WORLDCOVER_GROUPS)].fillna(0).to_numpy() - lc_old.to_numpy()))
    print(
        f"{terr.name}: {len(blocks):,} blocks, {len(buildings):,} buildings, {len(li):,} building–block pairs, "
        f"{crossing.mean():.2%} of them crossing a block edge"
    )
    print(
        f"building shares: {t_new:.2f} s CPU (containment first) vs {t_old:.2f} s (every pair intersected): "
        f"{t_old / t_new:.1f}×; largest difference {diff:.1e}"
    )
    print(
        f"class fractions: {c_new:.2f} s CPU (vectorised) vs {c_old:.2f} s (cell by cell): {c_old / c_new:.1f}×; "
        f"largest difference {lc_diff:.1e}"
    )


if __name__ == "__main__":
    main()
