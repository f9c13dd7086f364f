"""One large territory tile by tile, in bounded memory.

:func:`build_tiled` builds one territory in square tiles. Each tile first decides which blocks are its own
(those whose representative point it holds), cut from the road network read over a halo around it: cheap, the
roads alone. Then it computes the features of those blocks only, once, from every layer read over them and the
thermal sensor's reach around them. Memory is bounded by the tile size, blocks crossing tile edges are computed
once, whole, and no block's features are computed by two tiles.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..build import BuildInputs, BuiltTerritory, TilePass, compute_territory, write_territory
from ..errors import BuildError, EmptyFileError, NoOverlapError
from ..footprint import REACH_M as FOOTPRINT_REACH_M
from ..progress import Progress, noop
from ..store import staging

__all__ = ["build_tiled"]


def _tiles(bounds: tuple[float, float, float, float], tile_m: float) -> list[tuple[float, float, float, float]]:
    """Equal tiles of about ``tile_m`` a side (from 0.75 to 1.5 times) covering ``bounds``: a 10.4 km wide area
    gets two 5.2 km columns rather than two of 5 km and a 0.4 km sliver that pays a whole tile's fixed costs."""
    x0, y0, x1, y1 = bounds
    nx, ny = (max(1, round((hi - lo) / tile_m)) for lo, hi in ((x0, x1), (y0, y1)))
    xs, ys = np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1)
    return [(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(ny) for i in range(nx)]


def _sides_cut(blocks: gpd.GeoDataFrame, halo: tuple, study: tuple, eps: float = 0.01) -> tuple[bool, bool, bool, bool]:
    """Which edges of ``halo`` (left, bottom, right, top) some of ``blocks`` reach, where that edge is not an edge of
    ``study``: the blocks may be cut there."""
    if blocks.empty:
        return (False, False, False, False)
    b = shapely.bounds(np.asarray(blocks.geometry.values))
    return (
        bool(halo[0] > study[0] + eps and (b[:, 0] <= halo[0] + eps).any()),
        bool(halo[1] > study[1] + eps and (b[:, 1] <= halo[1] + eps).any()),
        bool(halo[2] < study[2] - eps and (b[:, 2] >= halo[2] - eps).any()),
        bool(halo[3] < study[3] - eps and (b[:, 3] >= halo[3] - eps).any()),
    )


@dataclass
class _TileDone:
    """What one tile gives back: its own blocks with their features (None when it owns none), and what the
    territory's manifest adds up."""

    blocks: gpd.GeoDataFrame | None
    streets: gpd.GeoDataFrame | None
    manifest: dict | None
    height_sources: dict[str, int]  # the tile's buildings (by representative point), counted by height source
    widened: int


def _build_tile(
    inputs: BuildInputs, rasters, territory: tuple, tile: tuple, halo_m: float, infos: dict | None = None
) -> _TileDone:
    """One tile: its own blocks (:func:`_own_blocks`), then their features from every layer read over the tile
    and its blocks, plus the thermal band's reach around them; its buildings counted (by representative point)
    even when it owns no block (they stand in the blocks of other tiles)."""
    from ..build import read_vector_layers

    crs, study = territory[0].crs, territory[1]
    own, source, widened = _own_blocks(inputs, territory, tile, halo_m, infos)
    if own is None or own.empty:
        _, buildings, _ = read_vector_layers(inputs, crs, tile, shapely.box(*tile), infos)
        return _TileDone(None, None, None, _count_buildings(buildings, tile, study), widened)
    x0, y0, x1, y1 = own.total_bounds
    reach = FOOTPRINT_REACH_M
    extent = (
        max(min(tile[0], x0) - reach, study[0]),
        max(min(tile[1], y0) - reach, study[1]),
        min(max(tile[2], x1) + reach, study[2]),
        min(max(tile[3], y1) + reach, study[3]),
    )
    pass_ = TilePass(extent, blocks=own, blocks_source=source, territory=territory, infos=infos)
    built: BuiltTerritory = compute_territory(inputs, rasters=rasters.clip(extent), tile=pass_)
    counts = _count_buildings(built.buildings, tile, study)
    return _TileDone(built.blocks, built.streets, built.manifest, counts, widened)


@contextlib.contextmanager
def _tile_runner(workers: int):
    """A ``map(function, argument tuples)`` yielding results in order: in this process, or with ``workers`` > 1
    in that many fresh worker processes (spawned: a server's threads are not forked), each with its BLAS/OpenMP
    pools bounded to one thread so the workers do not oversubscribe the cores."""
    if workers <= 1:
        yield lambda fn, jobs: (fn(*job) for job in jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread) as pool:
        yield lambda fn, jobs: pool.map(fn, *zip(*jobs, strict=True))


def _one_thread() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _merged_features(per_tile: list[dict]) -> dict:
    """The manifest's ``features`` of a tiled build: a column is available where any tile had a source for it (the
    buildings of one arrondissement, an NDVI raster over part of the area), with that tile's source and note."""
    merged = {col: dict(entry) for col, entry in per_tile[0].items()}
    for features in per_tile[1:]:
        for col, entry in features.items():
            if col not in merged or (entry.get("available") and not merged[col].get("available")):
                merged[col] = dict(entry)
    return merged


def _tile_box(tile: tuple, study: tuple) -> tuple[float, float, float, float]:
    """``tile`` opened out to infinity on each side where it lies on the study area's edge: a block or building
    read across the study's edge has its representative point outside every tile, and belongs to the edge tile."""
    eps = 1e-6
    return (
        -np.inf if tile[0] <= study[0] + eps else tile[0],
        -np.inf if tile[1] <= study[1] + eps else tile[1],
        np.inf if tile[2] >= study[2] - eps else tile[2],
        np.inf if tile[3] >= study[3] - eps else tile[3],
    )


def _holds(tile: tuple, study: tuple, geoms: gpd.GeoSeries) -> np.ndarray:
    """Which ``geoms`` belong to ``tile``: those whose representative point is in its box (:func:`_tile_box`,
    left and bottom edges included). The point lies in the geometry's bounding box, so a box wholly inside or
    wholly outside settles it; the point is computed only for the geometries across an edge (a few percent:
    1.2 million buildings at 1,000 km², where it cost 2 s)."""
    x0, y0, x1, y1 = _tile_box(tile, study)
    b = shapely.bounds(np.asarray(geoms.values))
    inside = (b[:, 0] >= x0) & (b[:, 2] < x1) & (b[:, 1] >= y0) & (b[:, 3] < y1)
    outside = (b[:, 2] < x0) | (b[:, 0] >= x1) | (b[:, 3] < y0) | (b[:, 1] >= y1)
    held = inside.copy()
    across = np.flatnonzero(~inside & ~outside & ~np.isnan(b[:, 0]))  # an empty geometry (NaN box) is held nowhere
    if len(across):
        xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(geoms.values)[across]))
        held[across] = (xy[:, 0] >= x0) & (xy[:, 0] < x1) & (xy[:, 1] >= y0) & (xy[:, 1] < y1)
    return held


def _count_buildings(buildings: gpd.GeoDataFrame | None, tile: tuple, study: tuple) -> dict[str, int]:
    """The ``buildings`` whose representative point is in ``tile`` (:func:`_holds`: each building is counted in one
    tile), counted by height source."""
    if buildings is None or buildings.empty:
        return {}
    mine = buildings[_holds(tile, study, buildings.geometry)]
    return {kind: int(n) for kind, n in mine["height_source"].value_counts().items()}


def _own_blocks(
    inputs: BuildInputs, territory: tuple, tile: tuple, halo_m: float, infos: dict | None = None
) -> tuple[gpd.GeoDataFrame | None, str, int]:
    """(the blocks whose representative point lies in ``tile``, how they were made, how many times the halo was
    widened): cut from the roads, railways and water read over a halo of ``halo_m`` around the tile (or taken from
    the user's block file), the halo doubled on each side one of them reaches, until none does. None when the tile
    has no block (no road there). ``territory``: the working CRS and study bounds of the whole territory."""
    from ..build import study_extent, territory_blocks
    from ..sources.bdtopo import read_bdtopo

    crs, study = territory[0].crs, territory[1]
    margins, widened = [halo_m] * 4, 0  # left, bottom, right, top
    while True:
        halo = (
            max(tile[0] - margins[0], study[0]),
            max(tile[1] - margins[1], study[1]),
            min(tile[2] + margins[2], study[2]),
            min(tile[3] + margins[3], study[3]),
        )
        try:
            _, bounds, area_geom = study_extent(inputs, TilePass(halo, territory=territory, infos=infos))
            network = ("troncon_de_route", "troncon_de_voie_ferree", "surface_hydrographique")
            bd = read_bdtopo(inputs.bdtopo, crs, bbox=bounds, only=network, infos=infos) if inputs.bdtopo else None
            blocks, source = territory_blocks(inputs, bd, crs, bounds, area_geom, infos)
        except (NoOverlapError, BuildError, EmptyFileError):
            return None, "roads", widened  # nothing to build in this tile (no road, none of the user's blocks)
        own = blocks[_holds(tile, study, blocks.geometry)]
        cut = _sides_cut(own, halo, study)
        if not any(cut) or halo == tuple(study):
            return own, source, widened
        # widened only towards the edges a block reaches (one large wood or field rarely spans the tile): at
        # 1,000 km², 24 of 36 tiles widened, each on all four sides before, re-reading up to 3 times the area
        margins = [m * 2 if c else m for m, c in zip(margins, cut, strict=True)]
        widened += 1


def build_tiled(
    inputs: BuildInputs,
    out: str | Path,
    *,
    tile_m: float = 5000.0,
    halo_m: float = 500.0,
    progress: Progress | None = None,
    command: list[str] | None = None,
    workers: int = 1,
) -> Path:
    """Build ``inputs`` tile by tile (bounded memory) into one territory at ``out``; ``workers`` > 1 builds that
    many tiles at once, each in its own process (memory: one tile per worker).

    A block belongs to the tile holding its representative point, so a block crossing a tile edge is computed
    once, whole: blocks are first cut from the network read over a halo of ``halo_m`` around the tile, doubled
    while one of the tile's blocks reaches the halo's edge (a block larger than the halo); then only the tile's
    own blocks get their features, from the layers read over them and the thermal band's reach
    (:data:`~ilots.footprint.REACH_M`) around them. Rasters and population grids are read once for the whole
    area (one pixel grid for every tile), and distances to water and green spaces are computed at the end over
    the whole area, so the result does not depend on the tiling.
    """
    from ..blocks import stable_ids
    from ..build import read_shared_sources, source_entries, study_extent, vector_infos  # the untiled rules
    from ..feature_table import BUILDING_COLUMNS, buildings_note, distance_features
    from ..sources.bdtopo import read_bdtopo
    from ..zonal import coverage_weights

    progress = progress or noop
    if not (tile_m >= 500.0 and halo_m >= 0.0):
        raise BuildError(
            f"Tuiles de {tile_m / 1000:g} km : il faut des tuiles d'au moins 0,5 km et une marge positive."
        )
    infos = vector_infos(inputs)  # each layer's metadata read once, not once per tile and layer (~2.6 ms each)
    wcrs, study, _ = study_extent(inputs, infos=infos)  # the untiled rule, found once for every tile
    crs, territory = wcrs.crs, (wcrs, study)
    tiles = _tiles(study, tile_m)
    progress("Lecture des rasters (une fois pour tout le territoire)", 0.0)
    rasters = read_shared_sources(inputs, crs, study)  # small next to the vectors: 1,000 km² at 30 m is 1.1 M pixels
    parts, streets, manifests = [], [], []
    height_sources, widened, n_computed = {}, 0, 0
    t0 = time.perf_counter()
    jobs = [(inputs, rasters, territory, tile, halo_m, infos) for tile in tiles]
    with _tile_runner(workers) as run:
        for k, done in enumerate(run(_build_tile, jobs)):
            progress(f"Tuile {k + 1}/{len(tiles)}", 0.9 * (k + 1) / len(tiles))
            widened += done.widened
            for kind, n in done.height_sources.items():
                height_sources[kind] = height_sources.get(kind, 0) + n
            if done.blocks is None:
                continue
            n_computed += len(done.blocks)
            parts.append(done.blocks)
            if done.streets is not None:
                streets.append(done.streets)
            manifests.append(done.manifest)
    if not parts:
        raise NoOverlapError(
            "Aucun îlot construit sur l'emprise : vérifiez que les fichiers portent sur le même territoire."
        )
    blocks = pd.concat(parts)
    blocks = gpd.GeoDataFrame(blocks, geometry="geometry", crs=parts[0].crs)
    # Distances look beyond any halo: water and vegetation (small layers) are read once for the whole area.
    progress("Distances à l'eau et aux espaces verts", 0.9)
    small = (
        read_bdtopo(inputs.bdtopo, crs, bbox=study, only=("zone_de_vegetation", "surface_hydrographique"), infos=infos)
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
    manifest["sources"] = source_entries(inputs)  # hashed once, here
    manifest["features"] = _merged_features([m["features"] for m in manifests])
    if manifest["features"].get("building_coverage", {}).get("available"):  # footprints known where, over all tiles
        note = buildings_note(int(blocks["building_coverage"].notna().sum()), len(blocks))
        for col in BUILDING_COLUMNS:
            manifest["features"][col].pop("note", None)
            if note:
                manifest["features"][col]["note"] = note
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
            "buildings": {"n": sum(height_sources.values()), "height_source": height_sources}
            if height_sources
            else manifest.get("buildings"),
            "tiling": {
                "tile_m": tile_m,
                "halo_m": halo_m,
                "tiles": len(tiles),
                "tiles_built": len(parts),
                "halo_widened": widened,
                "blocks_computed": n_computed,  # each block's features computed once: equal to n_blocks
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
