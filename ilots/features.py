"""Per-block features: pure functions of blocks and layers, returning frames indexed by block id.

Every feature is listed in :data:`FEATURES` with its unit and French label (the docs table in
``docs/features.md`` is checked against it by the tests). A feature whose source is missing is
NaN, never 0; a source covering only part of the territory gives NaN for blocks less than half
covered (:data:`MIN_COVERAGE`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
import xarray as xr

from .errors import MissingColumnError
from .footprint import matched_name
from .sources.population import PopulationSource
from .sources.vectors import covered_share as vector_covered_share
from .zonal import class_fractions, zonal_stats

__all__ = [
    "Feature",
    "FEATURES",
    "MATCHED",
    "MIN_COVERAGE",
    "LARGE_GREEN_SPACE_M2",
    "WORLDCOVER_GROUPS",
    "block_area",
    "lst_features",
    "land_lst_features",
    "water_pixels",
    "ndvi_features",
    "landcover_features",
    "polygon_share",
    "building_features",
    "road_surfaces",
    "road_surface_share",
    "impervious_share",
    "distance_to",
    "polygons_from_classes",
    "polygons_from_rings",
    "large_green_spaces",
    "covered_share",
    "population_features",
]

MIN_COVERAGE = 0.5
LARGE_GREEN_SPACE_M2 = 10_000.0  # 1 ha: a park or wood large enough to cool its surroundings


@dataclass(frozen=True)
class Feature:
    unit: str
    label_fr: str
    description: str


FEATURES: dict[str, Feature] = {
    "area_m2": Feature("m²", "Surface de l'îlot", "Block area in the working CRS."),
    "lst_mean_c": Feature("°C", "Température de surface moyenne", "Coverage-weighted mean LST of valid pixels."),
    "lst_median_c": Feature("°C", "Température de surface médiane", "Coverage-weighted median LST."),
    "lst_p90_c": Feature("°C", "Température de surface (90e centile)", "Coverage-weighted 90th percentile of LST."),
    "lst_valid_frac": Feature(
        "0–1", "Part de l'îlot couverte par des pixels valides", "Valid (cloud-free) LST pixel area / block area."
    ),
    "lst_n_dates": Feature(
        "dates", "Nombre moyen de dates valides", "Coverage-weighted mean count of valid dates in the composite."
    ),
    "lst_land_c": Feature(
        "°C", "Température de surface hors eau", "Coverage-weighted mean LST of valid pixels less than half water."
    ),
    "lst_land_valid_frac": Feature(
        "0–1", "Part de l'îlot couverte par des pixels valides hors eau", "Valid land LST pixel area / block area."
    ),
    "lst_fewer_dates": Feature(
        "0/1",
        "Vu par une partie des dates seulement",
        "1 where the block is seen, on average, by at least one date fewer than the dates composited.",
    ),
    "lst_date_spread_c": Feature(
        "°C",
        "Écart entre dates (après mise à niveau)",
        "Coverage-weighted mean of the per-pixel max − min of the levelled dates.",
    ),
    "ndvi_mean": Feature("−1–1", "Indice de végétation (NDVI) moyen", "Coverage-weighted mean NDVI."),
    "tree_frac": Feature("0–1", "Part d'arbres", "Land-cover share of trees (WorldCover 10), or BD TOPO wooded zones."),
    "grass_frac": Feature(
        "0–1",
        "Part d'herbe et d'arbustes",
        "Land-cover share of shrubs, grass, crops, wetland, moss (20, 30, 40, 90, 95, 100).",
    ),
    "built_frac": Feature(
        "0–1",
        "Part bâtie ou revêtue (occupation du sol)",
        "Land-cover share of built-up (WorldCover 50: buildings and pavement).",
    ),
    "water_frac": Feature("0–1", "Part d'eau", "Land-cover share of permanent water (80), or BD TOPO water surfaces."),
    "bare_frac": Feature("0–1", "Part de sol nu", "Land-cover share of bare or sparse vegetation and snow (60, 70)."),
    "building_coverage": Feature(
        "0–1", "Emprise au sol du bâti", "Building footprint area within the block / block area."
    ),
    "building_height_m": Feature("m", "Hauteur moyenne des bâtiments", "Footprint-weighted mean building height."),
    "built_volume_m3_per_m2": Feature("m³/m²", "Volume bâti par m² d'îlot", "Sum of footprint × height / block area."),
    "height_imputed_frac": Feature(
        "0–1", "Part du bâti à hauteur estimée", "Share of footprint whose height was imputed (floors or neighbours)."
    ),
    "road_frac": Feature(
        "0–1", "Part de chaussée", "Road carriageway area (width from BD TOPO) within the block / block area."
    ),
    "impervious_frac": Feature("0–1", "Part imperméabilisée", "Buildings + road carriageway, capped at 1."),
    "dist_water_m": Feature(
        "m", "Distance à l'eau", "Distance from the block edge to the nearest water body (0 if touching)."
    ),
    "dist_green_m": Feature(
        "m", "Distance à un grand espace vert", "Distance to the nearest green space of at least 1 ha."
    ),
    "residents": Feature("habitants", "Habitants", "Residents spread by area from the population source."),
    "elderly_share": Feature(
        "0–1", "Part de personnes âgées", "Elderly residents / residents (age threshold depends on the source)."
    ),
    "low_income_share": Feature(
        "0–1", "Part de ménages pauvres", "Low-income households / households (Filosofi Men_pauv / Men)."
    ),
}

# Shares also stored matched to the thermal band's footprint (column ``<name>_fp``, see ilots/footprint.py):
# the model's inputs, so that its effects are those of a change on the ground.
MATCHED = (
    "ndvi_mean",
    "tree_frac",
    "grass_frac",
    "built_frac",
    "water_frac",
    "bare_frac",
    "building_coverage",
    "road_frac",
    "impervious_frac",
)
for _name in MATCHED:
    _f = FEATURES[_name]
    FEATURES[matched_name(_name)] = Feature(
        _f.unit,
        f"{_f.label_fr} (vue par le capteur thermique)",
        f"Block mean of `{_name}`'s surface blurred like the thermal band (Gaussian, FWHM 100 m): what the "
        "~100 m sensor sees of it (docs/model.md, « Sensor footprint »).",
    )

# ESA WorldCover classes grouped into our land-cover fractions.
WORLDCOVER_GROUPS: dict[str, list[int]] = {
    "tree_frac": [10],
    "grass_frac": [20, 30, 40, 90, 95, 100],
    "built_frac": [50],
    "water_frac": [80],
    "bare_frac": [60, 70],
}


def block_area(blocks: gpd.GeoDataFrame) -> pd.Series:
    """Block area (m²)."""
    return pd.Series(blocks.area.to_numpy(), index=blocks.index, name="area_m2")


def lst_features(
    blocks: gpd.GeoDataFrame,
    lst: xr.DataArray,
    n_dates: xr.DataArray | None = None,
    spread: xr.DataArray | None = None,
    dates_seen: int | None = None,
) -> pd.DataFrame:
    """LST mean, median and 90th percentile (°C), valid-pixel share, mean valid-date count, and with several
    dates the mean spread between levelled dates (°C) and a flag for blocks seen by fewer dates than most
    (``dates_seen``, the most any pixel has; by default read off ``n_dates``)."""
    stats = zonal_stats(lst, blocks, ["mean", "median", "quantile(q=0.9)"], valid_share="lst_valid_frac")
    out = pd.DataFrame(
        {
            "lst_mean_c": stats["mean"],
            "lst_median_c": stats["median"],
            "lst_p90_c": stats["quantile_90"],
            "lst_valid_frac": stats["lst_valid_frac"],
        },
        index=blocks.index,
    )
    if n_dates is not None:
        counts = n_dates.astype("float32").where(n_dates > 0)
        out["lst_n_dates"] = zonal_stats(counts, blocks, ["mean"])["mean"]
        every = float(dates_seen if dates_seen is not None else np.nanmax(n_dates.values))  # the dates composited
        out["lst_fewer_dates"] = (out["lst_n_dates"] < every - 0.5).astype("float64").where(out["lst_n_dates"].notna())
    if spread is not None:
        out["lst_date_spread_c"] = zonal_stats(spread, blocks, ["mean"])["mean"]
    return out


def water_pixels(
    lst: xr.DataArray, water: gpd.GeoSeries | gpd.GeoDataFrame | None = None, landcover: xr.DataArray | None = None
) -> np.ndarray:
    """Boolean mask of the LST grid: pixels at least half water (BD TOPO water surfaces when given, else
    WorldCover class 80 averaged onto the grid). All False when neither is known."""
    from rasterio.enums import Resampling
    from rasterio.features import rasterize

    shape = lst.shape
    if water is not None and len(water):
        geoms = water.geometry.values if isinstance(water, gpd.GeoDataFrame) else water.values
        # 4 × 4 sub-pixels per LST pixel, then the share of water in each pixel.
        t = lst.rio.transform()
        fine = rasterize(
            ((g, 1) for g in geoms if g is not None and not g.is_empty),
            out_shape=(shape[0] * 4, shape[1] * 4),
            transform=t * t.scale(0.25, 0.25),
            fill=0,
            dtype="uint8",
        )
        return fine.reshape(shape[0], 4, shape[1], 4).mean(axis=(1, 3)) >= 0.5
    if landcover is not None:
        is_water = landcover.copy(data=(landcover.values == 80).astype("float32")).rio.write_nodata(np.nan)
        share = is_water.rio.reproject_match(lst, resampling=Resampling.average).values
        return np.nan_to_num(share) >= 0.5
    return np.zeros(shape, dtype=bool)


def land_lst_features(blocks: gpd.GeoDataFrame, lst: xr.DataArray, water: np.ndarray) -> pd.DataFrame:
    """Block LST over land pixels only (°C) and the share of the block covered by valid land pixels: the
    hazard is about where people are, and a river's cool water would otherwise lower a riverside block."""
    stats = zonal_stats(lst.where(~water), blocks, ["mean"], valid_share="lst_land_valid_frac")
    return stats.rename(columns={"mean": "lst_land_c"})[["lst_land_c", "lst_land_valid_frac"]]


def ndvi_features(blocks: gpd.GeoDataFrame, ndvi: xr.DataArray) -> pd.DataFrame:
    """Mean NDVI, NaN where valid NDVI covers less than half of the block."""
    stats = zonal_stats(ndvi, blocks, ["mean"], valid_share="cover")
    mean, cover = stats["mean"], stats["cover"]
    return pd.DataFrame({"ndvi_mean": mean.where(cover >= MIN_COVERAGE)}, index=blocks.index)


def landcover_features(blocks: gpd.GeoDataFrame, landcover: xr.DataArray) -> pd.DataFrame:
    """WorldCover class-group fractions of each block, NaN where less than half is classified."""
    fr = class_fractions(landcover, blocks, WORLDCOVER_GROUPS)
    ok = fr.pop("_coverage") >= MIN_COVERAGE
    return fr.where(ok, np.nan)


def _pairs(blocks: gpd.GeoDataFrame, layer: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(block positions, layer positions, intersection areas m²) of intersecting pairs."""
    if layer is None or layer.empty or blocks.empty:
        return np.array([], int), np.array([], int), np.array([], float)
    layer_idx, block_idx = blocks.sindex.query(layer.geometry.values, predicate="intersects")
    parts, whole = layer.geometry.values[layer_idx], blocks.geometry.values[block_idx]
    # Most pieces (buildings, small polygons) lie wholly inside one block: their own area, no overlay; only the
    # few crossing a block's edge are intersected (bench/RESULTS.md, « geometry work »).
    area = shapely.area(parts)
    crossing = ~shapely.contains_properly(whole, parts)
    if crossing.any():
        area[crossing] = shapely.area(shapely.intersection(parts[crossing], whole[crossing]))
    return block_idx, layer_idx, area


def polygon_share(blocks: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame) -> pd.Series:
    """Share of each block covered by ``polygons`` (dissolved first, so overlaps count once)."""
    if polygons is None or polygons.empty:
        return pd.Series(0.0, index=blocks.index)
    dissolved = gpd.GeoDataFrame(geometry=[shapely.union_all(polygons.geometry.values)], crs=polygons.crs)
    dissolved = dissolved.explode(index_parts=False).reset_index(drop=True)
    bi, _, area = _pairs(blocks, dissolved)
    total = np.bincount(bi, weights=area, minlength=len(blocks))
    return pd.Series(np.clip(total / np.maximum(blocks.area.to_numpy(), 1e-9), 0, 1), index=blocks.index)


def building_features(blocks: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    """Building coverage ratio, footprint-weighted mean height (m), built volume (m³/m²) and the
    share of footprint whose height was imputed. Buildings need ``height_m`` (and optionally
    ``height_source``); the part of a footprint inside each block is what counts."""
    n = len(blocks)
    bi, li, area = _pairs(blocks, buildings)
    height = buildings["height_m"].to_numpy(dtype="float64")[li] if len(li) else np.array([])
    imputed = (
        (buildings["height_source"].to_numpy()[li] != "measured").astype(float)
        if len(li) and "height_source" in buildings
        else np.zeros(len(li))
    )
    foot = np.bincount(bi, weights=area, minlength=n)
    vol = np.bincount(bi, weights=area * height, minlength=n)
    imp = np.bincount(bi, weights=area * imputed, minlength=n)
    block_area_ = np.maximum(blocks.area.to_numpy(), 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_h = np.where(foot > 0, vol / foot, np.nan)
        imputed_share = np.where(foot > 0, imp / foot, np.nan)
    return pd.DataFrame(
        {
            "building_coverage": np.clip(foot / block_area_, 0, 1),
            "building_height_m": mean_h,
            "built_volume_m3_per_m2": vol / block_area_,
            "height_imputed_frac": imputed_share,
        },
        index=blocks.index,
    )


def road_surfaces(roads: gpd.GeoDataFrame) -> np.ndarray:
    """Carriageway polygons: road centre lines buffered by ``width_m`` / 2 (flat ends)."""
    return shapely.buffer(roads.geometry.values, roads["width_m"].to_numpy() / 2.0, cap_style="flat")


def road_surface_share(blocks: gpd.GeoDataFrame, roads: gpd.GeoDataFrame) -> pd.Series:
    """Share of each block covered by road carriageways (roads buffered by ``width_m`` / 2)."""
    if roads is None or roads.empty:
        return pd.Series(0.0, index=blocks.index)
    layer = gpd.GeoDataFrame(geometry=road_surfaces(roads), crs=roads.crs)
    li, bi = blocks.sindex.query(layer.geometry.values, predicate="intersects")
    if len(bi) == 0:
        return pd.Series(0.0, index=blocks.index)
    pieces = shapely.intersection(layer.geometry.values[li], blocks.geometry.values[bi])
    order = np.argsort(bi, kind="stable")
    bi, pieces = bi[order], pieces[order]
    starts = np.flatnonzero(np.r_[True, bi[1:] != bi[:-1]])
    ends = np.r_[starts[1:], len(bi)]
    total = np.zeros(len(blocks))
    for s, e in zip(starts, ends, strict=True):  # union per block so overlapping carriageways count once
        total[bi[s]] = shapely.area(shapely.union_all(pieces[s:e])) if e - s > 1 else shapely.area(pieces[s])
    return pd.Series(np.clip(total / np.maximum(blocks.area.to_numpy(), 1e-9), 0, 1), index=blocks.index)


def impervious_share(building_coverage: pd.Series, road_frac: pd.Series) -> pd.Series:
    """Buildings plus road carriageways, capped at 1 (sidewalks and car parks are not counted)."""
    return (building_coverage + road_frac).clip(upper=1.0)


def distance_to(blocks: gpd.GeoDataFrame, targets: gpd.GeoDataFrame | gpd.GeoSeries | None) -> pd.Series:
    """Distance (m) from each block's edge to the nearest target geometry; NaN if there is none."""
    geoms = targets.geometry if isinstance(targets, gpd.GeoDataFrame) else targets
    if geoms is None or len(geoms) == 0:
        return pd.Series(np.nan, index=blocks.index)
    tree = shapely.STRtree(geoms.values)
    shapes = blocks.geometry.values
    out = np.full(len(blocks), np.nan)
    # blocks touching a target are at 0 m: an intersection test settles them at a fraction of the cost of a
    # nearest-distance search against large traced polygons (Lyon: 102 of 185 IRIS touch a green space)
    hit, _ = tree.query(shapes, predicate="intersects")
    out[hit] = 0.0
    rest = np.flatnonzero(np.isnan(out) & ~shapely.is_missing(shapes) & ~shapely.is_empty(shapes))
    if len(rest):
        (src, _), dist = tree.query_nearest(shapes[rest], return_distance=True, all_matches=False)
        out[rest[src]] = dist
    return pd.Series(out, index=blocks.index)


def polygons_from_rings(polygons: Iterable[list]) -> np.ndarray:
    """Shapely polygons from GeoJSON-like rings (each polygon a list of rings, the shell first, each ring a list
    of (x, y)), as :func:`rasterio.features.shapes` gives them, made in one call from flat coordinates: the same
    polygons as ``shapely.Polygon(shell, holes)`` one by one, vertex for vertex, in a tenth of the time (Lyon's
    land-cover parks: 5,312 polygons with tens of thousands of one-pixel holes, 0.19 → 0.02 s)."""
    rings: list = []
    per_polygon: list[int] = []
    for polygon in polygons:
        rings.extend(polygon)
        per_polygon.append(len(polygon))
    if not per_polygon:
        return np.empty(0, dtype=object)
    ring_offsets = np.zeros(len(rings) + 1, dtype="int64")
    np.cumsum(np.fromiter(map(len, rings), dtype="int64", count=len(rings)), out=ring_offsets[1:])
    polygon_offsets = np.zeros(len(per_polygon) + 1, dtype="int64")
    np.cumsum(per_polygon, out=polygon_offsets[1:])
    flat = itertools.chain.from_iterable(itertools.chain.from_iterable(rings))
    xy = np.fromiter(flat, dtype="float64", count=2 * int(ring_offsets[-1])).reshape(-1, 2)
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy, (ring_offsets, polygon_offsets))


def polygons_from_classes(landcover: xr.DataArray, codes: list[int], min_area_m2: float = 0.0) -> gpd.GeoSeries:
    """Polygons of contiguous pixels whose class is in ``codes``, keeping those ≥ ``min_area_m2``."""
    mask = np.isin(landcover.values, codes)
    transform = landcover.rio.transform()
    if min_area_m2 > 0 and mask.any():
        # groups of pixels too small to be kept are not traced (most of them, for green spaces): a polygon of
        # 8-connected pixels has their count × a pixel's area, and the exact filter below still decides
        from scipy import ndimage

        labels, _ = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
        pixels = np.bincount(labels.ravel()) * abs(transform.a * transform.e)
        big = pixels >= min_area_m2 * (1 - 1e-6)
        big[0] = False
        mask = big[labels]
    if not mask.any():
        return gpd.GeoSeries([], crs=landcover.rio.crs)
    shapes = rasterio.features.shapes(mask.astype("uint8"), mask=mask, transform=transform, connectivity=8)
    series = gpd.GeoSeries(polygons_from_rings(g["coordinates"] for g, _ in shapes), crs=landcover.rio.crs)
    return series[series.area >= min_area_m2].reset_index(drop=True)


def large_green_spaces(vegetation: gpd.GeoDataFrame, min_area_m2: float = LARGE_GREEN_SPACE_M2) -> gpd.GeoSeries:
    """Contiguous vegetation of at least ``min_area_m2`` from BD TOPO zones (hedges excluded)."""
    if vegetation is None or vegetation.empty:
        return gpd.GeoSeries([], crs=None if vegetation is None else vegetation.crs)
    veg = vegetation
    if "nature" in veg:
        veg = veg[veg["nature"].astype("string").str.lower().fillna("") != "haie"]
    merged = gpd.GeoSeries([shapely.union_all(veg.geometry.values)], crs=veg.crs).explode(index_parts=False)
    return merged[merged.area >= min_area_m2].reset_index(drop=True)


def covered_share(blocks: gpd.GeoDataFrame, coverage: shapely.Geometry) -> pd.Series:
    """Share of each block inside the ``coverage`` polygon of a partial layer, indexed by block id
    (:func:`ilots.sources.vectors.covered_share`)."""
    return pd.Series(vector_covered_share(blocks.geometry, coverage), index=blocks.index)


def _match_key(
    table: pd.DataFrame,
    ids: pd.Index,
    key: str | None,
    what: str = "population",
    skip: tuple[str, ...] = ("residents", "elderly", "households", "low_income_households"),
) -> str:
    if key is not None:
        if key not in table.columns:
            raise MissingColumnError(f"Colonne de jointure « {key} » absente du tableau de {what}.")
        return key
    # the column holding most of the blocks' ids (not: whose rows are mostly blocks' ids, which fails when the
    # table covers more than the blocks: a city's table for one tile or one arrondissement)
    best, best_share = None, 0.0
    wanted = pd.Index(map(str, ids))
    for col in table.columns:
        if col in skip:
            continue
        share = wanted.isin(set(table[col].astype(str))).mean() if len(wanted) else 0.0
        if share > best_share:
            best, best_share = col, share
    if best is None or best_share < 0.5:
        raise MissingColumnError(
            f"Tableau de {what} : aucune colonne ne correspond aux identifiants des îlots "
            "(précisez la colonne de jointure, ou fournissez un fichier géographique)."
        )
    return best


def indicator_features(blocks: gpd.GeoDataFrame, source, key: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The user's per-block indicators (:class:`ilots.sources.indicators.IndicatorSource`) on the blocks:
    a table joined on the id, or polygons averaged by intersected area (NaN where they cover less than half
    of a block). Returns the features and a note on the join."""
    feats = list(source.columns)
    if source.kind == "table":
        col = _match_key(source.data, blocks.index, key, "indicateurs", skip=tuple(feats))
        table = source.data.assign(_key=source.data[col].astype(str)).groupby("_key")[feats].mean()
        out = table.reindex(blocks.index.astype(str))
        out.index = blocks.index
        return out, {"join": "table", "key": col, "matched_blocks": int(out.notna().any(axis=1).sum())}
    gdf = source.data
    bi, li, area = _pairs(blocks, gdf)
    out = pd.DataFrame(index=blocks.index)
    covered = np.bincount(bi, weights=area, minlength=len(blocks))
    for f in feats:
        vals = gdf[f].to_numpy(dtype="float64")[li]
        ok = np.isfinite(vals)
        num = np.bincount(bi[ok], weights=vals[ok] * area[ok], minlength=len(blocks))
        den = np.bincount(bi[ok], weights=area[ok], minlength=len(blocks))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f] = np.where(den > 0, num / den, np.nan)
    inside = covered / np.maximum(blocks.area.to_numpy(), 1e-9) >= MIN_COVERAGE
    out = out.where(inside[:, None], np.nan)
    return out, {"join": "area", "matched_blocks": int(inside.sum())}


def population_features(
    blocks: gpd.GeoDataFrame, pop: PopulationSource, key: str | None = None
) -> tuple[pd.DataFrame, dict]:
    """Residents, elderly share and low-income share per block, and a note on how they were joined.

    Tables are joined on the id column matching the block ids; grids and polygons are spread to
    blocks in proportion to the intersected area. Blocks outside the source's extent are NaN.
    """
    data = pop.data
    counts = [c for c in ("residents", "elderly", "households", "low_income_households") if c in data]
    if pop.kind == "table":
        col = _match_key(data, blocks.index, key)
        table = data.assign(_key=data[col].astype(str)).groupby("_key")[counts].sum(min_count=1)
        joined = table.reindex(blocks.index.astype(str))
        joined.index = blocks.index
        note = {"join": "table", "key": col, "matched_blocks": int(joined["residents"].notna().sum())}
    else:
        gdf = data if isinstance(data, gpd.GeoDataFrame) else gpd.GeoDataFrame(data)
        bi, li, area = _pairs(blocks, gdf)
        src_area = np.maximum(gdf.area.to_numpy()[li], 1e-9)
        weight = area / src_area
        joined = pd.DataFrame(index=blocks.index)
        for c in counts:
            vals = gdf[c].to_numpy(dtype="float64")[li]
            joined[c] = np.bincount(bi, weights=np.nan_to_num(vals) * weight, minlength=len(blocks))
        extent = shapely.box(*gdf.total_bounds) if pop.kind == "grid" else shapely.union_all(gdf.geometry.values)
        inside = covered_share(blocks, extent) >= MIN_COVERAGE
        joined = joined.where(inside, np.nan)
        note = {"join": "area", "kind": pop.kind, "matched_blocks": int(inside.sum())}
    out = pd.DataFrame(index=blocks.index)
    out["residents"] = joined["residents"]
    with np.errstate(invalid="ignore", divide="ignore"):
        if "elderly" in joined:
            out["elderly_share"] = (joined["elderly"] / joined["residents"]).where(joined["residents"] > 0).clip(0, 1)
        if "low_income_households" in joined:
            out["low_income_share"] = (
                (joined["low_income_households"] / joined["households"]).where(joined["households"] > 0).clip(0, 1)
            )
    return out, note
