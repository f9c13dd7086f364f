"""Orchestration: sources → blocks → features → territory on disk.

:func:`compute_territory` does the work in memory and returns the blocks with their features,
the LST raster and the manifest; :func:`build_territory` writes them atomically. Progress is
reported through an optional callback ``progress(message_fr, fraction)``.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import resource
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from pyproj import CRS

from . import features
from .blocks import blocks_from_network, blocks_from_polygons
from .crs import WorkingCRS, bounds_to_wgs84, choose_working_crs
from .errors import BuildError, NoOverlapError, UnreadableFileError
from .feature_table import FeatureTable, distance_features
from .progress import Progress, noop
from .search import streets_from_roads
from .sources import landsat
from .sources.bdtopo import LAYERS as BDTOPO_LAYERS
from .sources.bdtopo import BdTopo, known_bdtopo_layers, read_bdtopo
from .sources.buildings import impute_heights, normalise_buildings
from .sources.population import read_population
from .sources.rasters import (
    DateComposite,
    LstLayer,
    clip_box,
    composite_dates,
    raster_bounds,
    read_class_raster,
    read_continuous_raster,
    read_lst_geotiff,
)
from .sources.vectors import known_layer_info, read_vector, require_polygons
from .store import (
    COVERAGE,
    FORMAT_VERSION,
    MANIFEST,
    STREETS,
    sha256_file,
    staging,
    write_blocks,
    write_json_atomic,
    write_lst,
)
from .zonal import CoverageWeights, coverage_weights

__all__ = [
    "BuildInputs",
    "BuiltTerritory",
    "SharedSources",
    "TilePass",
    "compute_territory",
    "build_territory",
    "read_shared_sources",
    "read_lst_layers",
    "write_territory",
    "lst_bounds",
    "vector_extent",
    "intersect_bounds",
]

_PACKAGES = (
    "ilots",
    "numpy",
    "pandas",
    "geopandas",
    "shapely",
    "pyogrio",
    "rasterio",
    "rioxarray",
    "exactextract",
    "scikit-learn",
    "xarray",
    "pyproj",
)


@dataclass
class BuildInputs:
    """What a territory is built from (paths as the user gave them)."""

    name: str
    lst: list[str]
    landcover: str | None = None
    ndvi: str | None = None
    bdtopo: str | None = None
    buildings: str | None = None
    blocks: str | None = None
    blocks_id: str | None = None
    population: list[str] = field(default_factory=list)
    population_key: str | None = None
    area: str | None = None
    bbox_wgs84: tuple[float, float, float, float] | None = None
    # The temperature band of multi-band LST rasters (number or description): one per ``lst``, or one for all.
    lst_bands: list[str] = field(default_factory=list)
    # The territory's own per-block indicators (tables or polygons) and vegetation polygons (→ tree cover).
    indicators: list[str] = field(default_factory=list)
    indicators_key: str | None = None
    vegetation: str | None = None
    synthetic: bool = False


@dataclass(frozen=True)
class TilePass:
    """How a tiled build (:mod:`ilots.scale`) runs one tile: its study area restricted to ``study_bounds``
    (working CRS, metres), distances, coverage weights and the source files' hashes left to the whole-territory
    pass. ``blocks``, when given, are the tile's own blocks, already cut (``blocks_source``: ``roads`` or
    ``file``): only their features are computed, from the layers read over ``study_bounds``."""

    study_bounds: tuple[float, float, float, float]
    blocks: gpd.GeoDataFrame | None = field(default=None, compare=False)
    blocks_source: str = "roads"
    # the whole territory's working CRS and study bounds (:func:`study_extent` without a tile), found once
    territory: tuple[WorkingCRS, tuple] | None = None
    # the vector layers' metadata, read once for every tile (``infos`` of :func:`~ilots.sources.vectors.read_vector`)
    infos: dict | None = field(default=None, compare=False)


@dataclass
class BuiltTerritory:
    blocks: gpd.GeoDataFrame
    lst: xr.DataArray
    n_dates: xr.DataArray
    manifest: dict
    streets: gpd.GeoDataFrame | None = None
    coverage: CoverageWeights | None = None
    buildings: gpd.GeoDataFrame | None = None  # kept in memory only (a tiled build counts them per tile)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _check_exists(inputs: BuildInputs) -> None:
    if not inputs.lst:
        raise BuildError("Il faut au moins un raster de température de surface (--lst).")
    resolved = [str(Path(p).resolve()) for p in inputs.lst]
    twice = sorted({p for p in resolved if resolved.count(p) > 1})
    if twice:
        raise BuildError(
            f"Le même fichier de température est donné deux fois ({Path(twice[0]).name}) : "
            "chaque date ne doit compter qu'une fois."
        )
    if len(inputs.lst_bands) not in (0, 1, len(inputs.lst)):
        raise BuildError(
            f"{len(inputs.lst_bands)} bandes de température (--lst-band) pour {len(inputs.lst)} "
            "rasters (--lst) : donnez-en une seule, valable pour tous, ou une par raster."
        )
    paths = list(inputs.lst) + [
        p
        for p in (
            inputs.landcover,
            inputs.ndvi,
            inputs.bdtopo,
            inputs.buildings,
            inputs.blocks,
            inputs.area,
            inputs.vegetation,
        )
        if p
    ]
    paths += list(inputs.population) + list(inputs.indicators)
    for p in paths:
        if not Path(p).exists():
            raise UnreadableFileError(f"Fichier ou dossier introuvable : {p}")


def lst_bounds(source: str, crs) -> tuple:
    if landsat.is_landsat_source(source):
        return raster_bounds(landsat.find_scenes(source)[0].st_b10, crs)
    return raster_bounds(source, crs)


def vector_extent(inputs: BuildInputs, crs, infos: dict | None = None) -> tuple | None:
    """Bounds (in ``crs``) of the vector data that defines the territory, if any. ``infos``: the layers' metadata
    kept across reads (:func:`~ilots.sources.vectors.known_layer_info`)."""

    def info_bounds(path, layer=None):
        info = known_layer_info(path, layer, infos)
        if info.get("features", 0) == 0 or info.get("total_bounds") is None or info.get("crs") is None:
            return None
        from rasterio.warp import transform_bounds

        return tuple(
            transform_bounds(CRS.from_user_input(info["crs"]), CRS.from_user_input(crs), *info["total_bounds"])
        )

    if inputs.area:
        return info_bounds(inputs.area)
    if inputs.bbox_wgs84:
        from rasterio.warp import transform_bounds

        return tuple(transform_bounds(CRS.from_epsg(4326), CRS.from_user_input(crs), *inputs.bbox_wgs84))
    if inputs.blocks:
        return info_bounds(inputs.blocks)
    if inputs.buildings:
        return info_bounds(inputs.buildings)
    if inputs.bdtopo:
        layers = known_bdtopo_layers(inputs.bdtopo, infos)
        boxes = [b for name in ("troncon_de_route", "batiment") if name in layers and (b := info_bounds(*layers[name]))]
        if boxes:
            arr = np.array(boxes)
            return (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
    return None


def intersect_bounds(a: tuple, b: tuple | None) -> tuple:
    if b is None:
        return a
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    if box[0] >= box[2] or box[1] >= box[3]:
        raise NoOverlapError(
            "Le raster de température ne recouvre pas les données vectorielles (bâtiments, routes ou îlots) : "
            "vérifiez que les fichiers portent sur le même territoire."
        )
    return box


def read_lst_layers(
    sources: list[str],
    crs,
    bounds,
    progress: Progress | None = None,
    with_ndvi: bool = True,
    bands: list[str] | None = None,
) -> tuple[list[LstLayer], list[xr.DataArray]]:
    """Each date of each LST source (Landsat scenes, LST GeoTIFFs), masked, in °C, in ``crs`` over
    ``bounds``; and the NDVI of the Landsat scenes with SR bands (when ``with_ndvi``). ``bands``: the
    temperature band of multi-band GeoTIFFs, one per source or one for all."""
    progress = progress or noop
    bands = list(bands or [])
    band_of = (lambda i: bands[0]) if len(bands) == 1 else (lambda i: bands[i] if bands else None)
    layers: list[LstLayer] = []
    ndvis: list[xr.DataArray] = []
    for i, src in enumerate(sources):
        progress(f"Lecture des températures ({i + 1}/{len(sources)})", 0.05 + 0.15 * i / len(sources))
        if landsat.is_landsat_source(src):
            for scene in landsat.find_scenes(src):  # a folder may hold several dates
                layer, ndvi = landsat.read_scene(scene, crs, bounds, with_ndvi=with_ndvi)
                if ndvi is not None:
                    ndvis.append(ndvi)
                layer.source["input"] = str(src)
                layers.append(layer)
        else:
            layer = read_lst_geotiff(src, crs, bounds, band=band_of(i))
            layer.source["input"] = str(src)
            layers.append(layer)
    return layers, ndvis


def _read_lst(inputs: BuildInputs, crs, bounds, progress: Progress):
    layers, ndvis = read_lst_layers(inputs.lst, crs, bounds, progress, bands=inputs.lst_bands)
    dates = None
    if len(layers) == 1:
        lst = layers[0].data
        n_dates = xr.ones_like(lst, dtype="uint8").where(np.isfinite(lst), 0).astype("uint8")
    else:
        dates = composite_dates(layers)
        lst, n_dates = dates.lst, dates.n_dates
    ndvi = None
    if ndvis:
        if len(ndvis) == 1:
            ndvi = ndvis[0]
        else:
            stack = np.stack([n.rio.reproject_match(ndvis[0], nodata=np.nan).values for n in ndvis])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
                ndvi = ndvis[0].copy(data=np.nanmedian(stack, axis=0).astype("float32"))
    return layers, lst, n_dates, ndvi, dates


def _source_entry(role: str, path: str, **extra) -> dict:
    p = Path(path).resolve()
    files = [str(f) for f in sorted(p.rglob("*")) if f.is_file()] if p.is_dir() else [str(p)]
    entry = {"role": role, "path": str(p), "files": []}
    for f in files:
        entry["files"].append({"path": f, "sha256": sha256_file(f), "bytes": Path(f).stat().st_size})
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


@dataclass
class SharedSources:
    """What a tiled build reads once for the whole territory and its tiles share: the rasters on the working
    grid and the (small) population tables."""

    lst_layers: list
    lst: xr.DataArray
    n_dates: xr.DataArray
    landsat_ndvi: xr.DataArray | None
    ndvi: xr.DataArray | None
    landcover: xr.DataArray | None
    populations: list | None = None  # the population tables (small too), one per input
    dates: DateComposite | None = None  # how several dates were levelled (None for one date)
    # the most dates seen at any pixel of the whole area: a tile's « fewer dates than most » compares with it
    dates_seen: int | None = None

    def clip(self, bounds: tuple[float, float, float, float], margin: float = 200.0) -> SharedSources:
        """The same rasters cut to ``bounds`` (+ margin), on the same pixel grid (views, no resampling)."""
        box = (bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin)

        def cut(da):
            if da is None:
                return None
            try:
                return clip_box(da, box)
            except Exception:  # no pixel there: keep the whole raster, the zonal code copes
                return da

        dates = (
            None
            if self.dates is None
            else replace(
                self.dates, lst=cut(self.dates.lst), n_dates=cut(self.dates.n_dates), spread=cut(self.dates.spread)
            )
        )
        return SharedSources(
            self.lst_layers,
            cut(self.lst),
            cut(self.n_dates),
            cut(self.landsat_ndvi),
            cut(self.ndvi),
            cut(self.landcover),
            self.populations,
            dates,
            self.dates_seen,
        )


def read_shared_sources(inputs: BuildInputs, crs, study: tuple, progress: Progress | None = None) -> SharedSources:
    """Read LST (masked, composited), NDVI and land cover over ``study`` (working-CRS bounds)."""
    progress = progress or noop
    lst_layers, lst, n_dates, landsat_ndvi, dates = _read_lst(inputs, crs, study, progress)
    ndvi = read_continuous_raster(inputs.ndvi, crs, study, valid_range=(-1.0, 1.0)) if inputs.ndvi else None
    landcover = read_class_raster(inputs.landcover, crs, study) if inputs.landcover else None
    populations = [read_population(path, crs, bbox=study) for path in inputs.population]
    seen = int(np.nanmax(n_dates.values)) if n_dates.size else None
    return SharedSources(lst_layers, lst, n_dates, landsat_ndvi, ndvi, landcover, populations, dates, seen)


def _duplicate_block_warnings(blocks: gpd.GeoDataFrame) -> list[str]:
    """A sentence when some blocks have exactly the same geometry as another (counted twice)."""
    keys = pd.Series(shapely.to_wkb(shapely.normalize(blocks.geometry.values)), index=blocks.index)
    dup = keys.duplicated(keep=False)
    if not dup.any():
        return []
    ids = ", ".join(str(i) for i in blocks.index[dup][:4])
    return [
        f"{int(dup.sum())} îlots ont exactement la même géométrie qu'un autre ({ids}…) : leurs surfaces et "
        "habitants sont comptés deux fois ; vérifiez le fichier d'îlots."
    ]


def study_extent(
    inputs: BuildInputs, tile: TilePass | None = None, infos: dict | None = None
) -> tuple[WorkingCRS, tuple, shapely.Geometry]:
    """Where a build works: the working CRS chosen from where the data lie (vector data first: they define the
    territory), the study bounds (the first LST's footprint restricted to the vector data, and to the tile), and
    the study polygon (those bounds cut by ``--area`` when given). Raises :class:`NoOverlapError` when the area
    misses the temperature raster. ``infos``: the layers' metadata kept across reads (a tile's own when given)."""
    if tile is not None:
        infos = tile.infos
    if tile is not None and tile.territory is not None:
        wcrs, study = tile.territory
    else:
        probe = vector_extent(inputs, 4326, infos) or lst_bounds(inputs.lst[0], 4326)
        wcrs = choose_working_crs((probe[0] + probe[2]) / 2, (probe[1] + probe[3]) / 2)
        study = intersect_bounds(lst_bounds(inputs.lst[0], wcrs.crs), vector_extent(inputs, wcrs.crs, infos))
    if tile is not None:
        study = intersect_bounds(study, tile.study_bounds)
    area_geom = shapely.box(*study)
    if inputs.area:
        area = require_polygons(read_vector(inputs.area, wcrs.crs, allow_empty=False, infos=infos), "Zone d'étude")
        area_geom = shapely.intersection(shapely.union_all(area.geometry.values), area_geom)
        if area_geom.is_empty:
            raise NoOverlapError("La zone d'étude (--area) ne recouvre pas le raster de température.")
    return wcrs, study, area_geom


# Places of interest are for the facilities (ilots.facilities), read on demand: the build does not use them.
BUILD_LAYERS = tuple(n for n in BDTOPO_LAYERS if n != "zone_d_activite_ou_d_interet")


def vector_infos(inputs: BuildInputs) -> dict:
    """The metadata of every vector layer a build reads (the BD TOPO's list of layers too), as ``infos`` of
    :func:`~ilots.sources.vectors.read_vector` takes them: found once for all the tiles of a tiled build."""
    infos: dict = {}
    if inputs.bdtopo:
        for name, (file, layer) in known_bdtopo_layers(inputs.bdtopo, infos).items():
            if name in BUILD_LAYERS:  # not the places of interest, which the build does not read
                known_layer_info(file, layer, infos)
    for path in (inputs.buildings, inputs.blocks, inputs.area):
        if path:
            known_layer_info(path, None, infos)
    return infos


def read_vector_layers(
    inputs: BuildInputs, crs, study: tuple, area_geom: shapely.Geometry, infos: dict | None = None
) -> tuple[BdTopo | None, gpd.GeoDataFrame | None, shapely.Geometry | None]:
    """The BD TOPO layers over ``study``, the buildings (the user's footprint file overrides BD TOPO's, heights
    imputed where missing) and where those buildings are known (the study area for BD TOPO; a footprint file
    may cover only part of the territory, so its hull + 20 m). ``infos``: the layers' metadata kept across reads."""
    bd = read_bdtopo(inputs.bdtopo, crs, bbox=study, only=BUILD_LAYERS, infos=infos) if inputs.bdtopo else None
    buildings = bd.get("batiment") if bd else None
    known_where = area_geom if buildings is not None else None
    if inputs.buildings:
        raw = require_polygons(read_vector(inputs.buildings, crs, bbox=study, infos=infos), "Bâtiments")
        buildings = impute_heights(normalise_buildings(raw)) if not raw.empty else None
        if buildings is not None:
            # the hull of the footprints as a collection: the same polygon as the hull of their union, without
            # the union (0.2 s for Lyon's 2,576 buildings, most of that build's vector reading)
            known_where = shapely.convex_hull(shapely.geometrycollections(buildings.geometry.values)).buffer(20.0)
    return bd, buildings, known_where


def territory_blocks(
    inputs: BuildInputs,
    bd: BdTopo | None,
    crs,
    study: tuple,
    area_geom: shapely.Geometry,
    infos: dict | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """The blocks and how they were made: the user's polygons (``file``, kept where they lie in ``--area``) or
    the enclosures of the BD TOPO road, rail and water network (``roads``)."""
    if inputs.blocks:
        raw_blocks = read_vector(inputs.blocks, crs, bbox=study, allow_empty=False, infos=infos)
        blocks = blocks_from_polygons(raw_blocks, inputs.blocks_id)
        if inputs.area:
            blocks = blocks[features.covered_share(blocks, area_geom) >= features.MIN_COVERAGE]
            if blocks.empty:
                raise NoOverlapError("Aucun îlot fourni ne se trouve dans la zone d'étude (--area).")
        return blocks, "file"
    if bd is None:
        raise BuildError(
            "Pour découper les îlots, fournissez la BD TOPO (--bdtopo, réseau routier) "
            "ou vos propres polygones (--blocks FICHIER --blocks-id COLONNE)."
        )
    roads, rail, water = bd.get("troncon_de_route"), bd.get("troncon_de_voie_ferree"), bd.get("surface_hydrographique")
    return blocks_from_network(roads, area_geom, rail, water), "roads"


def lst_manifest(lst_layers: list, lst: xr.DataArray, dates: DateComposite | None) -> dict:
    """The manifest's ``lst`` section: dates, how several were composited, resolution, valid share, scenes."""
    return {
        "n_dates": len(lst_layers),
        "composite": None
        if dates is None
        else {
            "how": "médiane par pixel des dates ramenées au même niveau (médiane de chaque date sur la zone "
            "vue par toutes, décalée vers la médiane de ces niveaux)",
            "method": dates.method,
            "common_share": round(dates.common_share, 3),
            "offsets_c": {
                (layer.date.isoformat() if layer.date else str(i)): round(o, 2)
                for i, (layer, o) in enumerate(zip(lst_layers, dates.offsets_c, strict=True))
            },
        },
        "resolution_m": float(abs(lst.rio.resolution()[0])),
        "valid_share": float(np.isfinite(lst.values).mean()),
        "scenes": [{**layer.source, "date": layer.date.isoformat() if layer.date else None} for layer in lst_layers],
        "unit": "°C",
        "what": "température de surface (LST), pas température de l'air",
    }


def source_entries(inputs: BuildInputs, hashed: bool = True) -> list[dict]:
    """Provenance of every input file (role, path and, when ``hashed``, size and SHA-256)."""
    entry = _source_entry if hashed else (lambda role, p, **kw: {"role": role, "path": str(Path(p).resolve())})
    sources = [entry("lst", p) for p in inputs.lst]
    for role, p in (
        ("landcover", inputs.landcover),
        ("ndvi", inputs.ndvi),
        ("bdtopo", inputs.bdtopo),
        ("buildings", inputs.buildings),
        ("blocks", inputs.blocks),
        ("area", inputs.area),
        ("vegetation", inputs.vegetation),
    ):
        if p:
            sources.append(entry(role, p))
    sources += [entry("population", p) for p in inputs.population]
    sources += [entry("indicators", p) for p in inputs.indicators]
    return sources


def block_features(
    inputs: BuildInputs,
    rasters: SharedSources,
    blocks: gpd.GeoDataFrame,
    bd: BdTopo | None,
    buildings: gpd.GeoDataFrame | None,
    buildings_known: shapely.Geometry | None,
    crs,
    study: tuple,
    tile: TilePass | None,
    progress: Progress,
) -> tuple[FeatureTable, dict[str, list]]:
    """Every feature column of ``blocks`` (in ``crs``, the working CRS), from the sources the user gave, in the
    build's order; returns the table (with each column's source) and the notes on the population and indicator
    files."""
    ft = FeatureTable(blocks)
    progress("Statistiques zonales de température", 0.45)
    lst, n_dates = rasters.lst, rasters.n_dates
    spread = rasters.dates.spread if rasters.dates is not None else None
    ft.temperature(lst, n_dates if len(rasters.lst_layers) > 1 else None, spread, rasters.dates_seen)
    ndvi, ndvi_src = (rasters.ndvi, "ndvi") if inputs.ndvi else (rasters.landsat_ndvi, "landsat_sr")
    ft.vegetation_index(ndvi, ndvi_src if ndvi is not None else None)
    progress("Occupation du sol", 0.55)
    landcover = rasters.landcover if inputs.landcover else None
    ft.land_cover(landcover, bd)
    if inputs.vegetation:
        ft.vegetation_file(inputs.vegetation, crs, study)
    progress("Morphologie urbaine", 0.65)
    roads = bd.get("troncon_de_route") if bd else None
    ft.morphology(buildings, buildings_known, "buildings" if inputs.buildings else "bdtopo:batiment", roads)
    progress("Empreinte du capteur thermique", 0.70)
    ft.thermal_footprint(landcover, ndvi, study)
    notes = {"indicators": ft.indicators(inputs.indicators, inputs.indicators_key, crs, study)}
    progress("Température hors eau", 0.72)
    ft.temperature_off_water(lst, bd, landcover)
    progress("Distances à l'eau et aux espaces verts", 0.75)
    if tile is None:
        ft.distances(*distance_features(blocks, bd, landcover))
    else:  # a tiled build computes them at the end, over the whole area
        ft.distances(
            pd.DataFrame(np.nan, index=blocks.index, columns=["dist_water_m", "dist_green_m"]),
            {"dist_water_m": "tiled", "dist_green_m": "tiled"},
        )
    progress("Population", 0.85)
    notes["population"] = ft.population(inputs.population, rasters.populations, inputs.population_key)
    return ft, notes


def compute_territory(
    inputs: BuildInputs,
    progress: Progress | None = None,
    rasters: SharedSources | None = None,
    tile: TilePass | None = None,
) -> BuiltTerritory:
    """Read every source, build blocks and compute their features (see :mod:`ilots.features`).

    ``rasters`` (from :func:`read_shared_sources` over a larger area) skips reading them again: a tiled
    build reads them once, so every tile uses the same pixel grid; ``tile`` says how one tile is built
    (:class:`TilePass`). ``inputs`` are only what the user gave.
    """
    progress = progress or noop
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    _check_exists(inputs)
    progress("Analyse des fichiers", 0.02)

    # 1–2. Working CRS and study area. Each vector layer's metadata is read once for the whole build (a tile's
    # were read once for all the tiles), not again by each step that needs its extent or reads it.
    infos = tile.infos if tile is not None else {}
    wcrs, study, area_geom = study_extent(inputs, tile, infos)
    crs = wcrs.crs

    # 3. Temperatures (masked, converted, composited), and NDVI from Landsat SR where present.
    if rasters is None:
        rasters = read_shared_sources(inputs, crs, study, progress)
    lst_layers, lst, n_dates = rasters.lst_layers, rasters.lst, rasters.n_dates

    # 4–5. Vector layers, then blocks.
    progress("Lecture des couches vectorielles", 0.25)
    bd, buildings, buildings_known = read_vector_layers(inputs, crs, study, area_geom, infos)
    progress("Découpage des îlots", 0.35)
    if tile is not None and tile.blocks is not None:
        blocks, blocks_source = tile.blocks, tile.blocks_source
    else:
        blocks, blocks_source = territory_blocks(inputs, bd, crs, study, area_geom, infos)
    warnings_fr = [note for layer in lst_layers for note in layer.source.get("notes", [])]
    warnings_fr += _duplicate_block_warnings(blocks)

    # 6. Features, theme by theme.
    ft, notes = block_features(inputs, rasters, blocks, bd, buildings, buildings_known, crs, study, tile, progress)
    out = ft.blocks_with_features(crs)

    bounds = tuple(float(v) for v in out.total_bounds)
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": inputs.name,
        "synthetic": inputs.synthetic,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "crs": {"epsg": wcrs.epsg, "label": wcrs.label, "region": wcrs.region},
        "bounds": bounds,
        "bounds_wgs84": bounds_to_wgs84(bounds, crs),
        "study_area": tuple(float(v) for v in study),
        "study_area_source": "area" if inputs.area else ("bbox" if inputs.bbox_wgs84 else "data"),
        "area_km2": round(float(out.area.sum()) / 1e6, 3),
        "n_blocks": int(len(out)),
        "blocks": {"source": blocks_source, "id_column": inputs.blocks_id, "path": inputs.blocks},
        "acquisition_dates": sorted({layer.date.isoformat() for layer in lst_layers if layer.date}),
        "lst": lst_manifest(lst_layers, lst, rasters.dates),
        "buildings": None
        if buildings is None
        else {
            "n": int(len(buildings)),
            "height_source": {k: int(v) for k, v in buildings["height_source"].value_counts().items()},
        },
        "bdtopo": None
        if bd is None
        else {"format": bd.fmt, "missing_layers": bd.missing, "counts": {k: int(len(v)) for k, v in bd.layers.items()}},
        "population": notes["population"],
        "indicators": notes["indicators"],
        "warnings": warnings_fr,
        "features": ft.manifest_features(),
        "software": _versions(),
    }
    progress("Empreintes des fichiers sources", 0.92)
    sources = source_entries(inputs, hashed=tile is None)
    manifest["sources"] = sources
    manifest["build"] = {
        "wall_seconds": round(time.perf_counter() - t_wall, 2),
        "cpu_seconds": round(time.process_time() - t_cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "command": None,
    }
    roads = bd.get("troncon_de_route") if bd else None
    streets = streets_from_roads(roads, bd.get("commune") if bd else None)
    manifest["streets"] = 0 if streets is None else int(len(streets))
    progress("Poids de couverture îlots × pixels", 0.94)
    coverage = None if tile is not None else coverage_weights(lst, out)
    return BuiltTerritory(
        blocks=out, lst=lst, n_dates=n_dates, manifest=manifest, streets=streets, coverage=coverage, buildings=buildings
    )


def _relativise(obj, prefix: str):
    if isinstance(obj, dict):
        return {k: _relativise(v, prefix) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_relativise(v, prefix) for v in obj]
    if isinstance(obj, str) and prefix in obj:
        return obj.replace(prefix, "")
    return obj


def write_territory(folder: Path, built: BuiltTerritory) -> None:
    """Write a computed territory into ``folder`` (the manifest last: it marks completion).

    Paths of sources stored inside the folder itself (the demo's) are made relative to it.
    """
    folder = Path(folder)
    write_blocks(folder, built.blocks)
    write_lst(folder, built.lst, built.n_dates)
    if built.streets is not None and len(built.streets):
        built.streets.to_parquet(folder / STREETS)
    if built.coverage is not None:
        built.coverage.save(folder / COVERAGE)
    manifest = _relativise(built.manifest, str(folder.resolve()) + "/")
    write_json_atomic(folder / MANIFEST, manifest)


def build_territory(
    inputs: BuildInputs | Callable[[Path], BuildInputs],
    out_dir: str | Path,
    progress: Progress | None = None,
    command: list[str] | None = None,
    replace: bool = True,
    finish: Callable[[Path], None] | None = None,
    manifest_extra: Callable[[], dict] | None = None,
) -> Path:
    """Build a territory from ``inputs`` and write it atomically to ``out_dir``: the one build path of the
    command line, the demo, ``fetch`` and the pages.

    ``inputs`` may be a function of the staging folder that first puts the sources there (the demo generates
    its town, ``fetch`` downloads) and returns the inputs. ``replace=False`` refuses an existing territory;
    ``manifest_extra()`` adds sections to the manifest (e.g. ``fetch``'s provenance); ``finish(folder)`` runs
    on the complete staging folder before it is published (see :func:`ilots.store.staging`)."""
    progress = progress or noop
    with staging(out_dir, replace=replace, finish=finish) as tmp:
        if callable(inputs):
            inputs = inputs(Path(tmp))
        built = compute_territory(inputs, progress)
        built.manifest["build"]["command"] = command
        if manifest_extra is not None:
            built.manifest.update(manifest_extra())
        progress("Écriture du territoire", 0.96)
        write_territory(tmp, built)
    progress("Territoire prêt", 1.0)
    return Path(out_dir)
