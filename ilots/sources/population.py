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

import io
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

_RESIDENTS = [
    "Ind",
    "ind",
    "residents",
    "population",
    "total_population",
    "pop",
    "habitants",
    "P22_POP",
    "P21_POP",
    "P20_POP",
    "P19_POP",
    "PMUN",
]
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


_MISSING = {"", "na", "nan", "n/a", "nd", "n.d.", "s", "-", "null", "none", "secret"}


def _numeric(df: pd.DataFrame, col: str, name: str, decimal_comma: bool) -> pd.Series:
    """A column as numbers; empty cells and INSEE's missing marks are NaN (unknown, never 0). A value that
    is not a number raises :class:`UnreadableFileError` naming the column."""
    series = df[col]
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    text = series.astype("string").str.strip().str.replace("[\u00a0\u202f ]", "", regex=True)
    missing = text.isna() | text.str.lower().isin(_MISSING)
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        example = series[bad].iloc[0]
        raise UnreadableFileError(
            f"Colonne « {col} » de {name} : {int(bad.sum())} valeur(s) non numérique(s) (par exemple « {example} ») ; "
            + (
                "un nombre est attendu."
                if decimal_comma
                else "un nombre à point décimal est attendu (avec le séparateur « , », la virgule ne peut pas "
                "être décimale)."
            )
        )
    return values.astype("float64")


def _read_csv(path: Path) -> tuple[pd.DataFrame, bool]:
    """A CSV as text columns, whatever Excel saved: UTF-8 (with or without BOM) or Windows-1252, separated
    by ``;``, ``,``, tab or ``|``. Returns (table, whether the decimal mark is a comma)."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly anything
        raise UnreadableFileError(f"Tableau de population illisible ({path.name}) : encodage inconnu.")
    header = text.lstrip().splitlines()[0] if text.strip() else ""
    sep = max((";", ",", "\t", "|"), key=header.count)
    if not header.count(sep):
        raise UnreadableFileError(
            f"Tableau de population illisible ({path.name}) : une seule colonne ; un CSV à "
            "séparateur « ; » ou « , » est attendu."
        )
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise UnreadableFileError(
            f"Tableau de population illisible ({path.name}) : un CSV à séparateur « , » ou « ; » est attendu."
        ) from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df, sep in (";", "\t", "|")


def checked_table(path: Path, what: str) -> tuple[pd.DataFrame, bool] | None:
    """Refuse a missing or empty file; for a CSV (``.csv``, ``.txt``) return :func:`_read_csv`'s (table, decimal
    comma), refusing one without rows; None for any other format (read as a vector file by the caller)."""
    if not path.exists():
        raise UnreadableFileError(f"Fichier {what} introuvable : {path}")
    if path.stat().st_size == 0:
        raise EmptyFileError(f"Le fichier {path.name} est vide (0 octet).")
    if path.suffix.lower() not in (".csv", ".txt"):
        return None
    df, decimal_comma = _read_csv(path)
    if df.empty:
        raise EmptyFileError(f"Le tableau {path.name} ne contient aucune ligne.")
    return df, decimal_comma


def _normalise(
    df: pd.DataFrame, name: str = "la population", decimal_comma: bool = False
) -> tuple[pd.DataFrame, dict[str, str]]:
    mapping: dict[str, str] = {}

    def number(col: str) -> pd.Series:
        return _numeric(df, col, name, decimal_comma)

    out = pd.DataFrame(index=df.index)
    res = _first(df, _RESIDENTS)
    if res is None:
        raise MissingColumnError(
            "Fichier de population : aucune colonne d'habitants reconnue "
            f"(attendu l'une de {', '.join(_RESIDENTS[:6])}…)."
        )
    out["residents"] = number(res)
    mapping["residents"] = res
    a, b = _first(df, ["Ind_65_79"]), _first(df, ["Ind_80p"])
    if a and b:
        out["elderly"] = number(a) + number(b)
        mapping["elderly"] = f"{a} + {b}"
    elif (col := _first(df, _ELDERLY_COUNT)) is not None:
        out["elderly"] = number(col)
        mapping["elderly"] = col
    elif (col := _first(df, _ELDERLY_PCT)) is not None:
        out["elderly"] = number(col) / 100.0 * out["residents"]
        mapping["elderly"] = f"{col} / 100 × {res}"
    men, pauv = _first(df, ["Men"]), _first(df, ["Men_pauv"])
    if men and pauv:
        out["households"] = number(men)
        out["low_income_households"] = number(pauv)
        mapping["low_income_households"] = pauv
    return out, mapping


def read_population(
    path: str | Path,
    dst_crs: CRS | int | str,
    bbox: tuple[float, float, float, float] | None = None,
) -> PopulationSource:
    """Read a population file (Filosofi grid, polygons or id-keyed table) in ``dst_crs``."""
    path = Path(path)
    csv = checked_table(path, "de population")
    if csv is not None:
        df, decimal_comma = csv
        idcar = _first(df, ["Idcar_200m", "IdINSPIRE", "idcar_200m"])
        norm, mapping = _normalise(df, path.name, decimal_comma)
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
    norm, mapping = _normalise(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), path.name)
    kind = "grid" if _first(gdf, ["Ind"]) is not None else "polygons"
    out = gpd.GeoDataFrame(norm, geometry=gdf.geometry.values, crs=gdf.crs)
    return PopulationSource(kind, out, mapping, str(path))
