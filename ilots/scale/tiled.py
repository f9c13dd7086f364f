"""One large territory tile by tile, in bounded memory.

:func:`build_tiled` builds one territory in square tiles with a halo, keeping each block in the
one tile that holds its representative point, so memory is bounded by the tile size and blocks
crossing tile edges are computed once, whole.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..build import BuildInputs, BuiltTerritory, TilePass, compute_territory, write_territory
from ..errors import BuildError, NoOverlapError
from ..footprint import REACH_M as FOOTPRINT_REACH_M
from ..progress import Progress, noop
from ..store import staging

__all__ = ["build_tiled"]


def _tiles(bounds: tuple[float, float, float, float], tile_m: float) -> list[tuple[float, float, float, float]]:
    x0, y0, x1, y1 = bounds
    xs = np.arange(x0, x1, tile_m)
    ys = np.arange(y0, y1, tile_m)
    return [(x, y, min(x + tile_m, x1), min(y + tile_m, y1)) for y in ys for x in xs]


def _cut_by_halo(
    blocks: gpd.GeoDataFrame, halo: tuple, study: tuple, eps: float = 0.01, reach: float = FOOTPRINT_REACH_M
) -> bool:
    """Whether a block comes within ``reach`` of an edge of ``halo`` that is not an edge of ``study``: it may
    be cut there, or its footprint-matched shares would miss surfaces beyond the halo (the thermal band's
    blur reaches :data:`FOOTPRINT_REACH_M` around a block)."""
    if blocks.empty:
        return False
    b = blocks.geometry.bounds
    r = reach + eps
    return bool(
        ((halo[0] > study[0] + eps) & (b["minx"] <= halo[0] + r)).any()
        or ((halo[1] > study[1] + eps) & (b["miny"] <= halo[1] + r)).any()
        or ((halo[2] < study[2] - eps) & (b["maxx"] >= halo[2] - r)).any()
        or ((halo[3] < study[3] - eps) & (b["maxy"] >= halo[3] - r)).any()
    )


def build_tiled(
    inputs: BuildInputs,
    out: str | Path,
    *,
    tile_m: float = 5000.0,
    halo_m: float = 500.0,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> Path:
    """Build ``inputs`` tile by tile (bounded memory) into one territory at ``out``.

    Each tile is built with a halo of ``halo_m`` around it; a block is kept by the tile holding
    its representative point, so a block crossing a tile edge is computed once, whole: when a
    kept block reaches the halo's edge (a block larger than the halo), the tile is built again
    with a halo twice as wide. Rasters and population grids are read once for the whole area (one pixel
    grid for every tile), and distances to water and green spaces are computed at the end over
    the whole area, so the result does not depend on the tiling.
    """
    from ..blocks import stable_ids
    from ..build import (  # the untiled rules
        intersect_bounds,
        lst_bounds,
        read_shared_sources,
        vector_extent,
    )
    from ..crs import choose_working_crs
    from ..feature_table import distance_features
    from ..sources.bdtopo import read_bdtopo
    from ..zonal import coverage_weights

    progress = progress or noop
    if not (tile_m >= 500.0 and halo_m >= 0.0):
        raise BuildError(
            f"Tuiles de {tile_m / 1000:g} km : il faut des tuiles d'au moins 0,5 km et une marge positive."
        )
    probe = vector_extent(inputs, 4326) or lst_bounds(inputs.lst[0], 4326)
    crs = choose_working_crs((probe[0] + probe[2]) / 2, (probe[1] + probe[3]) / 2).crs
    study = intersect_bounds(lst_bounds(inputs.lst[0], crs), vector_extent(inputs, crs))
    tiles = _tiles(study, tile_m)
    progress("Lecture des rasters (une fois pour tout le territoire)", 0.0)
    rasters = read_shared_sources(inputs, crs, study)  # small next to the vectors: 1,000 km² at 30 m is 1.1 M pixels
    parts, streets, manifests = [], [], []
    n_buildings, height_sources, widened = 0, {}, 0
    t0 = time.perf_counter()
    for k, tile in enumerate(tiles):
        progress(f"Tuile {k + 1}/{len(tiles)}", 0.9 * k / len(tiles))
        h = halo_m
        while True:  # widen the halo until no block of this tile is cut by it
            halo = (
                max(tile[0] - h, study[0]),
                max(tile[1] - h, study[1]),
                min(tile[2] + h, study[2]),
                min(tile[3] + h, study[3]),
            )
            try:
                built: BuiltTerritory = compute_territory(
                    inputs, rasters=rasters.clip(halo), tile=TilePass(halo, hash_sources=not manifests)
                )
            except (NoOverlapError, BuildError):
                built = None  # nothing to build in this tile (no road, no valid pixel)
                break
            b = built.blocks
            pts = b.geometry.representative_point()
            own = (pts.x >= tile[0]) & (pts.x < tile[2]) & (pts.y >= tile[1]) & (pts.y < tile[3])
            if not _cut_by_halo(b[own], halo, study) or halo == tuple(study):
                break
            h *= 2
            widened += 1
        if built is None:
            continue
        parts.append(b[own])
        if built.buildings is not None and not built.buildings.empty:  # each building counted in one tile
            bp = built.buildings.geometry.representative_point()
            mine = built.buildings[(bp.x >= tile[0]) & (bp.x < tile[2]) & (bp.y >= tile[1]) & (bp.y < tile[3])]
            n_buildings += len(mine)
            for k_, v in mine["height_source"].value_counts().items():
                height_sources[k_] = height_sources.get(k_, 0) + int(v)
        if built.streets is not None:
            streets.append(built.streets)
        manifests.append(built.manifest)
        del built  # the tile's vectors go before the next tile is read
    if not parts:
        raise NoOverlapError(
            "Aucun îlot construit sur l'emprise : vérifiez que les fichiers portent sur le même territoire."
        )
    blocks = pd.concat(parts)
    blocks = gpd.GeoDataFrame(blocks, geometry="geometry", crs=parts[0].crs)
    # Distances look beyond any halo: water and vegetation (small layers) are read once for the whole area.
    progress("Distances à l'eau et aux espaces verts", 0.9)
    small = (
        read_bdtopo(inputs.bdtopo, crs, bbox=study, only=("zone_de_vegetation", "surface_hydrographique"))
        if inputs.bdtopo
        else None
    )
    dist, dist_sources = distance_features(blocks, small, rasters.landcover)
    for col in dist.columns:
        blocks[col] = dist[col]
    if inputs.blocks is None:  # ids from the same rule as an untiled build, over the whole set
        blocks.index = pd.Index(stable_ids(blocks.geometry), name="block_id")
    blocks = blocks.sort_index()
    lst, n_dates = rasters.lst, rasters.n_dates
    manifest = dict(manifests[0])
    manifest["features"] = {k: dict(v) for k, v in manifest["features"].items()}
    for col, src in dist_sources.items():
        manifest["features"][col].update(available=src is not None, source=src)
    bounds = tuple(float(v) for v in blocks.total_bounds)
    from ..crs import bounds_to_wgs84

    manifest.update(
        {
            "bounds": bounds,
            "bounds_wgs84": bounds_to_wgs84(bounds, crs),
            "study_area": tuple(float(v) for v in study),
            "area_km2": round(float(blocks.area.sum()) / 1e6, 3),
            "n_blocks": int(len(blocks)),
            "buildings": {"n": n_buildings, "height_source": height_sources}
            if n_buildings
            else manifest.get("buildings"),
            "tiling": {
                "tile_m": tile_m,
                "halo_m": halo_m,
                "tiles": len(tiles),
                "tiles_built": len(parts),
                "halo_widened": widened,
            },
        }
    )
    manifest["build"] = {
        **manifest.get("build", {}),
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "command": command,
    }
    street_table = None
    if streets:
        merged = pd.concat(streets, ignore_index=True)
        key = [c for c in ("name", "kind") if c in merged]
        street_table = gpd.GeoDataFrame(
            merged.drop_duplicates(key) if key else merged, geometry="geometry", crs=streets[0].crs
        )
    progress("Écriture du territoire", 0.96)
    with staging(out) as tmp:
        write_territory(
            tmp,
            BuiltTerritory(
                blocks=blocks,
                lst=lst,
                n_dates=n_dates,
                manifest=manifest,
                streets=street_table,
                coverage=coverage_weights(lst, blocks),
            ),
        )
    progress("Territoire prêt", 1.0)
    return Path(out)
