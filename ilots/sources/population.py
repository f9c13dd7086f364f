"""Population and vulnerability sources.

Three shapes are accepted:

- an INSEE Filosofi 200 m grid (columns ``Ind``, ``Ind_65_79``, ``Ind_80p``, ``Men``,
  ``Men_pauv``), as a vector file or as the CSV INSEE distributes, whose ``Idcar_200m`` ids
  (``CRS3035RES200mN2029800E3790800``) give each square's lower-left corner in EPSG:3035;
- polygons with a population column (IRIS, communes), spread to blocks by area;
- a table without geometry joined to blocks on an id (e.g. INSEE IRIS census tables).

Counts are persons; shares are fractions in [0, 1].
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import EmptyFileError, MissingColumnError, UnreadableFileError
from .vectors import read_vector, require_polygons

__all__ = ["PopulationSource", "read_population", "filosofi_squares"]

_RESIDENTS = ["Ind", "ind", "residents", "population", "total_population", "pop", "habitants",
              "P22_POP", "P21_POP", "P20_POP", "P19_POP", "PMUN"]
_ELDERLY_COUNT = ["elderly", "elderly_55_plus", "P22_POP65P", "P21_POP65P", "P20_POP65P", "P19_POP65P"]
_ELDERLY_PCT = ["pct_elderly", "pct_elderly_55", "elderly_pct", "pct_65p"]
_IDCAR = re.compile(r"N(\d+)E(\d+)")
_CELL_M = 200.0


@dataclass
class PopulationSource:
    """Normalised population data: ``residents``, ``elderly`` (persons), ``households``,
    ``low_income_households`` where known. ``kind`` is "grid", "polygons" or "table"."""

    kind: str
    data: pd.DataFrame
    columns: dict[str, str] = field(default_factory=dict)
    path: str = ""


def _first(df: pd.DataFrame, names: list[str]) -> str | None:
    lower = {c.lower(): c for c in df.columns}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def filosofi_squares(ids: pd.Series) -> gpd.GeoSeries:
    """200 m squares (EPSG:3035) from Filosofi ``Idcar_200m`` ids."""
    parsed = ids.astype(str).str.extract(_IDCAR)
    if parsed.isna().any().any():
        bad = ids[parsed.isna().any(axis=1)].iloc[0]
        raise UnreadableFileError(f"Identifiant de carreau Filosofi illisible : {bad!r}")
    north = parsed[0].astype("float64").to_numpy()
    east = parsed[1].astype("float64").to_numpy()
    return gpd.GeoSeries(shapely.box(east, north, east + _CELL_M, north + _CELL_M), crs=3035, index=ids.index)


def _normalise(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    mapping: dict[str, str] = {}
    out = pd.DataFrame(index=df.index)
    res = _first(df, _RESIDENTS)
    if res is None:
        raise MissingColumnError(
            "Fichier de population : aucune colonne d'habitants reconnue "
            f"(attendu l'une de {', '.join(_RESIDENTS[:6])}…)."
        )
    out["residents"] = pd.to_numeric(df[res], errors="coerce")
    mapping["residents"] = res
    a, b = _first(df, ["Ind_65_79"]), _first(df, ["Ind_80p"])
    if a and b:
        out["elderly"] = pd.to_numeric(df[a], errors="coerce") + pd.to_numeric(df[b], errors="coerce")
        mapping["elderly"] = f"{a} + {b}"
    elif (col := _first(df, _ELDERLY_COUNT)) is not None:
        out["elderly"] = pd.to_numeric(df[col], errors="coerce")
        mapping["elderly"] = col
    elif (col := _first(df, _ELDERLY_PCT)) is not None:
        out["elderly"] = pd.to_numeric(df[col], errors="coerce") / 100.0 * out["residents"]
        mapping["elderly"] = f"{col} / 100 × {res}"
    men, pauv = _first(df, ["Men"]), _first(df, ["Men_pauv"])
    if men and pauv:
        out["households"] = pd.to_numeric(df[men], errors="coerce")
        out["low_income_households"] = pd.to_numeric(df[pauv], errors="coerce")
        mapping["low_income_households"] = pauv
    return out, mapping


def read_population(
    path: str | Path,
    dst_crs: CRS | int | str,
    bbox: tuple[float, float, float, float] | None = None,
) -> PopulationSource:
    """Read a population file (Filosofi grid, polygons or id-keyed table) in ``dst_crs``."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(f"Fichier de population introuvable : {path}")
    if path.stat().st_size == 0:
        raise EmptyFileError(f"Le fichier {path.name} est vide (0 octet).")
    if path.suffix.lower() in (".csv", ".txt"):
        try:
            df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding_errors="replace")
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise UnreadableFileError(f"Tableau de population illisible ({path.name}) : un CSV à séparateur "
                                      "« , » ou « ; » est attendu.") from exc
        if df.empty:
            raise EmptyFileError(f"Le tableau {path.name} ne contient aucune ligne.")
        idcar = _first(df, ["Idcar_200m", "IdINSPIRE", "idcar_200m"])
        norm, mapping = _normalise(df)
        if idcar is not None:
            squares = filosofi_squares(df[idcar]).to_crs(dst_crs)
            gdf = gpd.GeoDataFrame(norm, geometry=squares.values, crs=squares.crs)
            if bbox is not None:
                gdf = gdf[gdf.intersects(shapely.box(*bbox))]
            return PopulationSource("grid", gdf.reset_index(drop=True), mapping, str(path))
        keys = df.drop(columns=[c for c in df.columns if c in mapping.values()], errors="ignore")
        table = pd.concat([keys, norm], axis=1)
        return PopulationSource("table", table, mapping, str(path))
    gdf = require_polygons(read_vector(path, dst_crs, bbox=bbox), f"Population ({path.name})")
    norm, mapping = _normalise(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)))
    kind = "grid" if _first(gdf, ["Ind"]) is not None else "polygons"
    out = gpd.GeoDataFrame(norm, geometry=gdf.geometry.values, crs=gdf.crs)
    return PopulationSource(kind, out, mapping, str(path))
