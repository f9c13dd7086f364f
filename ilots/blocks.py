"""City blocks ("îlots"): built from the road network, or taken from a user's polygons.

Blocks from roads are the enclosures of the road, railway and water network inside the study area: the faces
of the noded road network and study-area boundary, each then split by the railways and water edges that cross
it, kept when their representative point lies in the study area (the method of momepy's ``enclosures``,
Fleischmann et al. 2021, done here with shapely alone: the same polygons, tested against momepy, without the
1.2 s of imports momepy brings through libpysal). Slivers (under 500 m², or strips whose mean width
2 × area / perimeter is under 10 m, such as the space between a road and a parallel railway) and blocks that
are mostly water are dropped. Ids are stable for the same inputs: ``I00001``, ``I00002``, … numbered north to
south, then west to east, by representative point.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import BuildError, EmptyFileError, MissingColumnError, NoOverlapError
from .sources.vectors import covered_share, require_polygons

__all__ = [
    "MIN_BLOCK_AREA_M2",
    "blocks_from_network",
    "enclosures",
    "blocks_from_polygons",
    "stable_ids",
    "barrier_roads",
]

MIN_BLOCK_AREA_M2 = 500.0
MIN_MEAN_WIDTH_M = 10.0  # 2A/P: the width of a long thin strip
MAX_WATER_SHARE = 0.5
# Paths and links that do not cut the urban fabric into blocks.
_NON_BARRIER_NATURES = {"sentier", "escalier", "bac ou liaison maritime", "piste cyclable", "bac auto", "bac piéton"}


def barrier_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Road sections that bound blocks: ground-level roads, without footpaths, stairs or ferries."""
    keep = np.ones(len(roads), dtype=bool)
    if "nature" in roads:
        nature = roads["nature"].astype("string").str.lower().fillna("")
        keep &= ~nature.isin(_NON_BARRIER_NATURES).to_numpy()
    if "position_par_rapport_au_sol" in roads:
        pos = pd.to_numeric(roads["position_par_rapport_au_sol"], errors="coerce").fillna(0).to_numpy()
        keep &= pos >= 0  # tunnels do not cut blocks
    return roads[keep]


def stable_ids(geoms: gpd.GeoSeries) -> list[str]:
    pts = geoms.representative_point()
    order = np.lexsort((np.round(pts.x.to_numpy()), -np.round(pts.y.to_numpy())))
    ids = np.empty(len(geoms), dtype=object)
    ids[order] = [f"I{i + 1:05d}" for i in range(len(geoms))]
    return list(ids)


def enclosures(barriers: np.ndarray, area: shapely.Geometry, splitters: np.ndarray | None = None) -> np.ndarray:
    """The polygons enclosed by the ``barriers`` lines and the boundary of ``area`` (any polygon), each split by the
    ``splitters`` lines that cross it (railways, water edges), keeping those whose representative point lies in
    ``area``. Same CRS for all; returns shapely polygons."""
    network = shapely.union_all(np.concatenate([np.asarray(barriers, dtype=object), [shapely.boundary(area)]]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(network)))
    if splitters is not None and len(splitters):
        splitters = np.asarray(splitters, dtype=object)
        crossing, face = shapely.STRtree(faces).query(splitters, predicate="intersects")
        split = np.unique(face)
        parts = []
        for i in split:
            # a hair wider than the face, so that a splitter running along its edge still reaches it
            around = shapely.buffer(faces[i], 0.01)
            pieces = shapely.intersection(around, splitters[crossing[face == i]])
            lines = shapely.union_all(np.append(pieces, shapely.boundary(faces[i])))
            cut = shapely.get_parts(shapely.polygonize([lines]))
            parts.append(cut[shapely.covered_by(cut, around)])
        faces = np.concatenate([np.delete(faces, split), *parts])
    inside = shapely.contains(area, shapely.point_on_surface(faces))
    return faces[inside]


def blocks_from_network(
    roads: gpd.GeoDataFrame,
    study_area: shapely.Geometry,
    railways: gpd.GeoDataFrame | None = None,
    water: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Blocks enclosed by roads (plus railways and water edges) within ``study_area``.

    All inputs in the working (projected) CRS. Returns a GeoDataFrame indexed by ``block_id``.
    """
    if roads is None or roads.empty:
        raise BuildError(
            "Impossible de découper des îlots : aucun tronçon de route dans la zone d'étude. "
            "Fournissez la BD TOPO (couche troncon_de_route) ou vos propres îlots (--blocks)."
        )
    crs = roads.crs
    barriers = barrier_roads(roads)
    splitters = [  # railway lines and the edges of water surfaces
        (layer.geometry.boundary if layer.geom_type.str.contains("Polygon").any() else layer.geometry).to_numpy()
        for layer in (railways, water)
        if layer is not None and not layer.empty
    ]
    geoms = enclosures(barriers.geometry.to_numpy(), study_area, np.concatenate(splitters) if splitters else None)
    geoms = gpd.GeoSeries(geoms, crs=crs)
    geoms = geoms[geoms.geom_type.isin(["Polygon", "MultiPolygon"]) & ~geoms.is_empty]
    area = geoms.area
    perimeter = geoms.length
    mean_width = 2 * area / np.maximum(perimeter, 1e-9)
    keep = (area >= MIN_BLOCK_AREA_M2) & (mean_width >= MIN_MEAN_WIDTH_M)
    geoms = geoms[keep]
    if water is not None and not water.empty and len(geoms):
        share = covered_share(geoms, shapely.union_all(water.geometry.values))
        geoms = geoms[share <= MAX_WATER_SHARE]
    if geoms.empty:
        raise NoOverlapError("Aucun îlot n'a pu être formé dans la zone d'étude à partir du réseau routier.")
    blocks = gpd.GeoDataFrame(geometry=geoms.values, crs=crs)
    blocks.index = pd.Index(stable_ids(blocks.geometry), name="block_id")
    return blocks.sort_index()


def blocks_from_polygons(gdf: gpd.GeoDataFrame, id_column: str | None = None) -> gpd.GeoDataFrame:
    """User-provided block polygons (IRIS, cadastral sections, ...) indexed by ``block_id``.

    ``id_column`` must exist and be unique; without it, stable ids are generated.
    """
    if gdf.empty:
        raise EmptyFileError("Le fichier d'îlots ne contient aucun polygone dans la zone d'étude.")
    if id_column is not None and id_column not in gdf.columns:
        cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise MissingColumnError(
            f"Colonne d'identifiant « {id_column} » absente du fichier d'îlots (colonnes : {cols})."
        )
    polys = require_polygons(gdf, "Îlots", strict=True)
    if id_column is not None:
        ids = polys[id_column].astype("string")
        if ids.isna().any():
            raise MissingColumnError(f"La colonne « {id_column} » a des identifiants vides.")
        dup = ids[ids.duplicated()]
        if len(dup):
            raise MissingColumnError(
                f"La colonne « {id_column} » n'identifie pas les îlots de façon unique (ex. « {dup.iloc[0]} » en "
                "double)."
            )
        keep = [c for c in polys.columns if c not in (polys.geometry.name, id_column)]
        blocks = gpd.GeoDataFrame(polys[keep].copy(), geometry=polys.geometry.values, crs=polys.crs)
        blocks.index = pd.Index(ids.to_numpy(dtype=object), name="block_id")
    else:
        keep = [c for c in polys.columns if c != polys.geometry.name]
        blocks = gpd.GeoDataFrame(polys[keep].copy(), geometry=polys.geometry.values, crs=polys.crs)
        blocks.index = pd.Index(stable_ids(blocks.geometry), name="block_id")
    # Attribute names from the user's file are kept with a prefix so they never shadow features.
    blocks = blocks.rename(columns={c: f"attr_{c}" for c in keep})
    return blocks.sort_index()
