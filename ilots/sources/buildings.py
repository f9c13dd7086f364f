"""Building footprints: column normalisation (BD TOPO gpkg/shp, OSM-like files) and heights.

Heights (m) come from ``hauteur``; where it is null or not positive they are imputed from the
number of floors × 3 m, else from the median height of the 10 nearest buildings with a known
height, else from the territory median; ``height_source`` records which.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["FLOOR_HEIGHT_M", "normalise_buildings", "impute_heights"]

FLOOR_HEIGHT_M = 3.0
DEFAULT_HEIGHT_M = 6.0  # used only when no building of the territory has a height or floor count
_LOCAL_NEIGHBOURS = 10

_ALIASES = {
    "hauteur": ["hauteur", "HAUTEUR", "height", "building:height", "HEIGHT"],
    "nombre_d_etages": ["nombre_d_etages", "NB_ETAGES", "building:levels", "levels", "etages"],
    "usage_1": ["usage_1", "USAGE1", "building", "usage"],
    "nature": ["nature", "NATURE"],
}


def _pick(gdf: pd.DataFrame, names: list[str]) -> pd.Series | None:
    for name in names:
        if name in gdf.columns:
            return gdf[name]
    lower = {c.lower(): c for c in gdf.columns}
    for name in names:
        if name.lower() in lower:
            return gdf[lower[name.lower()]]
    return None


def normalise_buildings(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return footprints with the columns ``hauteur`` (m), ``nombre_d_etages``, ``usage_1``, ``nature``."""
    out = gpd.GeoDataFrame(geometry=gdf.geometry.values, crs=gdf.crs)
    for target, names in _ALIASES.items():
        col = _pick(gdf, names)
        if target in ("hauteur", "nombre_d_etages"):
            out[target] = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64") if col is not None else np.nan
        else:
            out[target] = col.astype("string").to_numpy() if col is not None else pd.NA
    return out


def impute_heights(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``height_m`` and ``height_source`` ("measured", "floors", "local_median", "default")."""
    out = buildings.copy()
    n = len(out)
    height = out["hauteur"].to_numpy(dtype="float64", copy=True) if "hauteur" in out else np.full(n, np.nan)
    source = np.full(n, "measured", dtype=object)
    missing = ~(height > 0)
    floors = out["nombre_d_etages"].to_numpy(dtype="float64") if "nombre_d_etages" in out else np.full(n, np.nan)
    # BD TOPO v3 nombre_d_etages counts every level, ground floor included (IGN descriptive notice).
    use_floors = missing & (floors > 0)
    height[use_floors] = floors[use_floors] * FLOOR_HEIGHT_M
    source[use_floors] = "floors"
    missing &= ~use_floors
    known = ~missing
    if missing.any():
        if known.any():
            pts = out.geometry.representative_point()
            xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
            from scipy.spatial import cKDTree  # here: 0.05 s of imports a build without missing heights skips

            tree = cKDTree(xy[known])
            k = int(min(_LOCAL_NEIGHBOURS, known.sum()))
            _, idx = tree.query(xy[missing], k=k)
            idx = np.asarray(idx).reshape(missing.sum(), k)
            height[missing] = np.median(height[known][idx], axis=1)
            source[missing] = "local_median"
        else:
            height[missing] = DEFAULT_HEIGHT_M
            source[missing] = "default"
    out["height_m"] = height
    out["height_source"] = source
    return out
