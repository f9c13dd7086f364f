"""A territory's feature table: which source fills which column of the blocks, and what is known of each.

:mod:`ilots.features` computes one kind of feature from one source (zonal statistics, shares of
polygons, morphology); this module assembles them for a build, theme by theme, in the order the
build runs: surface temperature, vegetation index, land cover, morphology, the thermal footprint,
the territory's own indicators, temperature off water, distances and population. Each column is
recorded in :attr:`FeatureTable.availability` with its source (None when no input gives it) and a
French note, which the manifest then carries (:func:`ilots.build.compute_territory`).

Blocks are in the working CRS (metres); temperatures in °C, shares in [0, 1], distances in m.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from . import features
from . import footprint as FP
from .errors import NoOverlapError
from .sources.bdtopo import BdTopo
from .sources.indicators import read_indicators
from .sources.vectors import read_vector, require_polygons

__all__ = [
    "FeatureTable",
    "buildings_note",
    "distance_features",
    "water_geometries",
]

BUILDING_COLUMNS = ["building_coverage", "building_height_m", "built_volume_m3_per_m2", "height_imputed_frac"]
POPULATION_COLUMNS = ["residents", "elderly_share", "low_income_share"]


def buildings_note(known: int, total: int) -> str | None:
    """The note of the building columns when footprints are known on only ``known`` of ``total`` blocks."""
    return None if known >= total else f"bâti connu sur {known} îlot{'s' if known > 1 else ''} sur {total}"


@dataclass
class FeatureTable:
    """The blocks' feature columns as they are filled, with the source and note of each column."""

    blocks: gpd.GeoDataFrame
    table: pd.DataFrame = None  # type: ignore[assignment]  (set in __post_init__)
    availability: dict[str, dict] = field(default_factory=dict)
    # the vector geometries behind each share, for the footprint-matched columns
    shapes: dict[str, object] = field(default_factory=dict)

    def __post_init__(self):
        if self.table is None:
            self.table = pd.DataFrame(index=self.blocks.index)

    def mark(self, cols, source: str | None, note: str | None = None) -> None:
        for c in cols:
            self.availability[c] = {
                "available": source is not None,
                "source": source,
                **({"note": note} if note else {}),
            }

    def join(self, frame: pd.DataFrame, source: str | None, note: str | None = None) -> None:
        self.table = self.table.join(frame)
        self.mark(list(frame.columns), source, note)

    def unknown(self, cols) -> None:
        """Columns no input gives: NaN, marked unavailable."""
        for c in cols:
            self.table[c] = np.nan
        self.mark(cols, None)

    # -- themes, in the order of a build ------------------------------------------------------------------

    def temperature(
        self,
        lst: xr.DataArray,
        n_dates: xr.DataArray | None,
        spread: xr.DataArray | None,
        dates_seen: int | None = None,
    ) -> None:
        """Block area, surface-temperature statistics and the number of dates behind them (``dates_seen``: the
        most dates any pixel of the whole area has, when ``lst`` is a tile of it). Raises :class:`NoOverlapError`
        when no block covers a valid pixel."""
        self.table["area_m2"] = features.block_area(self.blocks)
        self.mark(["area_m2"], "geometry")
        lst_feats = features.lst_features(self.blocks, lst, n_dates, spread, dates_seen)
        if not lst_feats["lst_mean_c"].notna().any():
            raise NoOverlapError("Aucun îlot ne recouvre un pixel de température valide (nuages ou emprise disjointe).")
        self.join(lst_feats, "lst")
        if "lst_n_dates" not in self.table:
            self.table["lst_n_dates"] = np.where(self.table["lst_mean_c"].notna(), 1.0, np.nan)
            self.mark(["lst_n_dates"], "lst")

    def vegetation_index(self, ndvi: xr.DataArray | None, source: str | None) -> None:
        if ndvi is not None:
            self.table = self.table.join(features.ndvi_features(self.blocks, ndvi))
        else:
            self.table["ndvi_mean"] = np.nan
        self.mark(["ndvi_mean"], source)

    def land_cover(self, landcover: xr.DataArray | None, bd: BdTopo | None) -> None:
        """WorldCover class shares; without it, tree and water shares from the BD TOPO polygons."""
        lc_cols = list(features.WORLDCOVER_GROUPS)
        if landcover is not None:
            self.table = self.table.join(features.landcover_features(self.blocks, landcover))
            self.mark(lc_cols, "landcover")
            return
        self.unknown(lc_cols)
        veg = bd.get("zone_de_vegetation") if bd else None
        water = bd.get("surface_hydrographique") if bd else None
        if veg is not None:
            wooded = veg[~veg["nature"].astype("string").str.lower().fillna("").isin(["haie", "lande ligneuse"])]
            self.share("tree_frac", wooded, "bdtopo:zone_de_vegetation", "zones boisées BD TOPO (haies exclues)")
        if water is not None:
            self.share("water_frac", water, "bdtopo:surface_hydrographique")

    def share(self, col: str, polygons: gpd.GeoDataFrame, source: str, note: str | None = None) -> None:
        """``col`` as the share of each block covered by ``polygons`` (kept for the footprint match)."""
        self.table[col] = features.polygon_share(self.blocks, polygons)
        self.shapes[col] = polygons.geometry.values
        self.mark([col], source, note)

    def vegetation_file(self, path: str, crs, study: tuple) -> None:
        """The user's own vegetation polygons: they override the tree share."""
        layer = require_polygons(read_vector(path, crs, bbox=study), "Végétation")
        self.share("tree_frac", layer, f"vegetation:{Path(path).name}", "polygones de végétation fournis")

    def morphology(
        self,
        buildings: gpd.GeoDataFrame | None,
        known_where,
        source: str,
        roads: gpd.GeoDataFrame | None,
    ) -> None:
        """Building coverage, height and volume (NaN where the footprints are not known), road surface share
        and the impervious share (buildings + carriageways)."""
        blocks = self.blocks
        if buildings is not None and not buildings.empty:
            covered = features.covered_share(blocks, known_where) >= features.MIN_COVERAGE
            self.table = self.table.join(features.building_features(blocks, buildings).where(covered, np.nan))
            self.shapes["building_coverage"] = buildings.geometry.values
            note = buildings_note(int(covered.sum()), len(blocks))
            self.mark(BUILDING_COLUMNS, source, note)
        else:
            self.unknown(BUILDING_COLUMNS)
        if roads is not None:
            self.table["road_frac"] = features.road_surface_share(blocks, roads)
            self.shapes["road_frac"] = features.road_surfaces(roads)
            self.mark(["road_frac"], "bdtopo:troncon_de_route")
        else:
            self.unknown(["road_frac"])
        if roads is not None and buildings is not None:
            t = self.table
            t["impervious_frac"] = features.impervious_share(t["building_coverage"], t["road_frac"])
            self.mark(["impervious_frac"], "buildings+roads", "bâti + chaussées (trottoirs et parkings non comptés)")
        else:
            self.unknown(["impervious_frac"])

    def thermal_footprint(self, landcover, ndvi, study: tuple) -> None:
        """Each share also smoothed like the thermal band sees it (:mod:`ilots.footprint`)."""
        matched = FP.block_footprint_features(
            self.blocks, self.table, landcover, features.WORLDCOVER_GROUPS, ndvi, self.shapes, study
        )
        self.table = self.table.join(matched)
        for col in matched.columns:
            base = col[: -len(FP.SUFFIX)]
            self.mark(
                [col],
                self.availability[base]["source"],
                f"« {features.FEATURES[base].label_fr} » lissé comme la bande thermique "
                f"(gaussienne de largeur à mi-hauteur {FP.THERMAL_FWHM_M:.0f} m)",
            )

    def indicators(self, paths: list[str], key: str | None, crs, study: tuple) -> list[dict]:
        """The territory's own indicators override what was derived above; returns a note per file."""
        notes = []
        for path in paths:
            source = read_indicators(path, crs, bbox=study)
            values, note = features.indicator_features(self.blocks, source, key)
            for col in values.columns:
                t = self.table
                t[col] = values[col].combine_first(t[col]) if col in t else values[col]
                if FP.matched_name(col) in t:  # the territory's own value has no footprint to match
                    self.table = t.drop(columns=FP.matched_name(col))
                    self.mark([FP.matched_name(col)], None)
                self.mark([col], f"indicators:{Path(path).name}", f"colonne « {source.columns[col]} »")
            notes.append({"path": str(path), "columns": source.columns, **note})
        return notes

    def temperature_off_water(self, lst: xr.DataArray, bd: BdTopo | None, landcover) -> None:
        water = water_geometries(bd)
        self.table = self.table.join(
            features.land_lst_features(self.blocks, lst, features.water_pixels(lst, water, landcover))
        )
        which = (
            "BD TOPO surface_hydrographique"
            if water is not None
            else "WorldCover classe 80"
            if landcover is not None
            else "aucune couche d'eau : identique à la température de l'îlot"
        )
        self.mark(["lst_land_c", "lst_land_valid_frac"], "lst", f"pixels à moins de moitié d'eau ({which})")

    def distances(self, dist: pd.DataFrame, sources: dict[str, str | None]) -> None:
        for col, src in sources.items():
            self.table[col] = dist[col]
            self.mark([col], src)

    def population(self, paths: list[str], tables: list, key: str | None) -> list[dict]:
        """Residents and the shares of elderly and low-income residents; returns a note per file."""
        notes = []
        self.unknown(POPULATION_COLUMNS)
        for path, pop in zip(paths, tables, strict=True):
            pfeat, note = features.population_features(self.blocks, pop, key)
            for c in pfeat.columns:
                t = self.table
                t[c] = t[c].fillna(pfeat[c]) if t[c].notna().any() else pfeat[c]
                self.mark([c], f"population:{Path(path).name}")
            notes.append({"path": str(path), "columns": pop.columns, **note})
        return notes

    def blocks_with_features(self, crs) -> gpd.GeoDataFrame:
        """The blocks with every column, in ``crs`` (the working CRS); a column that came out empty everywhere
        is marked unavailable."""
        blocks = self.blocks
        out = gpd.GeoDataFrame(self.table, geometry=blocks.geometry, crs=crs)
        out = out.join(blocks.drop(columns=blocks.geometry.name))
        for col in features.FEATURES:
            known = self.availability.get(col)
            if known and known["available"] and not out[col].notna().any():
                known["available"] = False
        return out

    def manifest_features(self) -> dict[str, dict]:
        """The manifest's ``features`` section: every feature with its unit, label, source and note."""
        return {
            name: {
                "unit": features.FEATURES[name].unit,
                "label_fr": features.FEATURES[name].label_fr,
                **self.availability.get(name, {"available": False, "source": None}),
                # a model input derived from another feature, not a source of its own
                **({"matched_of": name[: -len(FP.SUFFIX)]} if name.endswith(FP.SUFFIX) else {}),
            }
            for name in features.FEATURES
        }


def water_geometries(bd: BdTopo | None) -> gpd.GeoDataFrame | None:
    """BD TOPO water surfaces when the build has them (None otherwise: the land cover then tells)."""
    if bd is not None and bd.get("surface_hydrographique") is not None and len(bd.get("surface_hydrographique")):
        return bd.get("surface_hydrographique")
    return None


def distance_features(
    blocks: gpd.GeoDataFrame, bd: BdTopo | None, landcover: xr.DataArray | None
) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """Distances (m) from each block to water and to large green spaces, and the source of each.

    BD TOPO water surfaces and vegetation zones when present, else the land-cover classes.
    """
    water_geoms, green_geoms, wsrc, gsrc = None, None, None, None
    if bd is not None and bd.get("surface_hydrographique") is not None:
        water_geoms, wsrc = bd.get("surface_hydrographique"), "bdtopo:surface_hydrographique"
    elif landcover is not None:
        water_geoms, wsrc = features.polygons_from_classes(landcover, [80], min_area_m2=1_000.0), "landcover"
    if bd is not None and bd.get("zone_de_vegetation") is not None:
        green_geoms, gsrc = features.large_green_spaces(bd.get("zone_de_vegetation")), "bdtopo:zone_de_vegetation"
    elif landcover is not None:
        green_geoms, gsrc = (
            features.polygons_from_classes(landcover, [10, 20, 30], min_area_m2=features.LARGE_GREEN_SPACE_M2),
            "landcover",
        )
    out = pd.DataFrame(
        {
            "dist_water_m": features.distance_to(blocks, water_geoms),
            "dist_green_m": features.distance_to(blocks, green_geoms),
        },
        index=blocks.index,
    )
    sources = {
        "dist_water_m": wsrc if out["dist_water_m"].notna().any() else None,
        "dist_green_m": gsrc if out["dist_green_m"].notna().any() else None,
    }
    return out, sources
