"""Per-block indicators a territory already has (its own canopy or imperviousness map, a planning
office's table): read as model features, with their provenance.

Two shapes: a table without geometry joined to the blocks on an id (CSV as French Excel saves it, or any
tabular file GDAL reads), or polygons with numeric columns, averaged over each block by area. Columns are
recognised by the feature names of :data:`ilots.features.FEATURES` or by common French names (« part
d'arbres », « canopée », « imperméabilisation »…). Shares may be given in 0–1 or in %; a column with
values above 100 % is refused, naming it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from ..errors import MissingColumnError, UnreadableFileError
from .population import _numeric, checked_table
from .vectors import read_vector

__all__ = ["IndicatorSource", "INDICATOR_ALIASES", "read_indicators"]

# Model features a user may provide, by normalised column name (lower case, no accents, "_" separators).
INDICATOR_ALIASES: dict[str, str] = {
    **{
        f: f
        for f in (
            "tree_frac",
            "grass_frac",
            "water_frac",
            "bare_frac",
            "ndvi_mean",
            "building_coverage",
            "building_height_m",
            "built_volume_m3_per_m2",
            "road_frac",
            "impervious_frac",
        )
    },
    "part_arbres": "tree_frac",
    "arbres": "tree_frac",
    "canopee": "tree_frac",
    "canopy": "tree_frac",
    "couvert_arbore": "tree_frac",
    "tree_cover": "tree_frac",
    "part_canopee": "tree_frac",
    "herbe": "grass_frac",
    "part_herbe": "grass_frac",
    "pelouse": "grass_frac",
    "grass": "grass_frac",
    "eau": "water_frac",
    "part_eau": "water_frac",
    "water": "water_frac",
    "sol_nu": "bare_frac",
    "ndvi": "ndvi_mean",
    "emprise_batie": "building_coverage",
    "emprise_bati": "building_coverage",
    "cos": "building_coverage",
    "hauteur": "building_height_m",
    "hauteur_moyenne": "building_height_m",
    "hauteur_m": "building_height_m",
    "impermeabilisation": "impervious_frac",
    "part_impermeable": "impervious_frac",
    "impermeable": "impervious_frac",
    "impervious": "impervious_frac",
    "sols_impermeables": "impervious_frac",
    "chaussees": "road_frac",
}
SHARES = {"tree_frac", "grass_frac", "water_frac", "bare_frac", "building_coverage", "road_frac", "impervious_frac"}


@dataclass
class IndicatorSource:
    """Indicators renamed to feature names (shares in 0–1). ``kind`` is "table" or "polygons"; ``columns``
    maps each feature to the column it came from (and "… %" when it was given in percent)."""

    kind: str
    data: pd.DataFrame
    columns: dict[str, str] = field(default_factory=dict)
    path: str = ""


_STOP = {"d", "de", "des", "du", "l", "la", "le", "les", "en", "pct", "pourcent", "percent"}


def _norm(name: str) -> str:
    """``"Part d'arbres (%)"`` → ``"part_arbres"``: lower case, no accents, no French articles nor units."""
    ascii_ = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    return "_".join(w for w in "".join(c if c.isalnum() else " " for c in ascii_).split() if w not in _STOP)


def _features(df: pd.DataFrame, name: str, decimal_comma: bool) -> tuple[pd.DataFrame, dict[str, str]]:
    out, mapping = pd.DataFrame(index=df.index), {}
    for col in df.columns:
        feature = INDICATOR_ALIASES.get(_norm(col))
        if feature is None or feature in out:
            continue
        values = _numeric(df, col, name, decimal_comma)
        label = col
        if feature in SHARES and values.max(skipna=True) > 1.5:
            if values.max(skipna=True) > 100.0 + 1e-9 or values.min(skipna=True) < 0:
                raise UnreadableFileError(
                    f"Colonne « {col} » de {name} : des parts hors de 0 à 100 % ({values.min():g} à {values.max():g})."
                )
            values, label = values / 100.0, f"{col} (%)"
        elif feature in SHARES and values.min(skipna=True) < 0:
            raise UnreadableFileError(f"Colonne « {col} » de {name} : des parts négatives.")
        out[feature], mapping[feature] = values, label
    if not mapping:
        raise MissingColumnError(
            f"{name} : aucun indicateur reconnu (colonnes attendues : tree_frac ou « part d'arbres », "
            "impervious_frac ou « imperméabilisation », building_height_m ou « hauteur »…)."
        )
    return out, mapping


def read_indicators(
    path: str | Path, dst_crs: CRS | int | str, bbox: tuple[float, float, float, float] | None = None
) -> IndicatorSource:
    """Read an indicator table (CSV or tabular file, kept with its other columns for the join) or polygon layer."""
    path = Path(path)
    csv = checked_table(path, "d'indicateurs")
    if csv is not None:
        df, decimal_comma = csv
        feats, mapping = _features(df, path.name, decimal_comma)
        keys = df.drop(
            columns=list(mapping.values()) + [m.removesuffix(" (%)") for m in mapping.values()], errors="ignore"
        )
        return IndicatorSource("table", pd.concat([keys, feats], axis=1), mapping, str(path))
    gdf = read_vector(path, dst_crs, bbox=bbox, allow_empty=False)
    feats, mapping = _features(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), path.name, False)
    if gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        return IndicatorSource(
            "polygons", gpd.GeoDataFrame(feats, geometry=gdf.geometry.values, crs=gdf.crs), mapping, str(path)
        )
    table = pd.concat(
        [
            pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).drop(columns=list(mapping.values()), errors="ignore"),
            feats,
        ],
        axis=1,
    )
    return IndicatorSource("table", table, mapping, str(path))
