"""Completed greening works (« réalisations »): a vector file of projects, read and checked.

One polygon per project, with its kind of measure, its completion date, and optionally its name, its area
and its cost. Column names are matched without case, accents or French articles, so the files a
collectivité already keeps work as they are:

============ =====================================================================================
column       accepted names (any of)
============ =====================================================================================
name         nom, name, projet, libelle, intitule
kind         mesure, type, nature, kind, type_mesure, action
completed    date_fin, date_achevement, achevement, fin_travaux, date, completed, annee, year
area_m2      surface_m2, surface, area_m2, area, superficie (else the polygon's own area)
cost_eur     cout_eur, cout, cost, montant, budget (euros)
============ =====================================================================================

Kinds (French or English): ``trees`` (arbres, plantation, boisement, ombrage), ``depave``
(désimperméabilisation, dépavage, cour oasis), ``green_roofs`` (toiture végétalisée), ``cool_roofs``
(toiture fraîche, cool roof, peinture réfléchissante), ``water`` (eau, fontaine, bassin, brumisation).
A date is ``2021-06-30``, ``30/06/2021`` or a year alone (``2021``: completed during that year, whose summer
is then left out).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import EmptyFileError, InputFileError, MissingColumnError, NoOverlapError
from .vectors import read_vector, require_polygons

__all__ = ["KINDS", "KIND_LABELS", "COLUMNS", "read_works", "check_works", "parse_completion"]

KINDS = ("trees", "depave", "green_roofs", "cool_roofs", "water")
KIND_LABELS = {
    "trees": "plantation d'arbres",
    "depave": "désimperméabilisation",
    "green_roofs": "toiture végétalisée",
    "cool_roofs": "toiture fraîche (réfléchissante)",
    "water": "eau (bassin, fontaine, brumisation)",
}
_KIND_WORDS = {
    "trees": ("arbre", "arbres", "plantation", "boisement", "ombrage", "tree", "trees", "foret urbaine", "micro foret"),
    "depave": ("desimpermeabilisation", "depavage", "depave", "depaving", "cour oasis", "oasis", "permeable"),
    "green_roofs": ("toiture vegetalisee", "toit vegetalise", "green roof", "green roofs", "green_roofs"),
    "cool_roofs": ("toiture fraiche", "cool roof", "cool roofs", "cool_roofs", "peinture reflechissante", "albedo"),
    "water": ("eau", "fontaine", "bassin", "brumisation", "water", "miroir d eau", "noue"),
}
COLUMNS = {
    "name": ("nom", "name", "projet", "libelle", "intitule"),
    "kind": ("mesure", "type", "nature", "kind", "type_mesure", "action"),
    "completed": (
        "date_fin",
        "date_achevement",
        "achevement",
        "fin_travaux",
        "date",
        "completed",
        "annee",
        "year",
        "date_fin_travaux",
    ),
    "area_m2": ("surface_m2", "surface", "area_m2", "area", "superficie", "superficie_m2"),
    "cost_eur": ("cout_eur", "cout", "cost", "cost_eur", "montant", "budget", "montant_eur"),
}
MAX_PROJECTS = 5000


def _norm(text: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return " ".join("".join(c if c.isalnum() else " " for c in ascii_).split())


def _column(frame: pd.DataFrame, role: str) -> str | None:
    by_norm = {_norm(c).replace(" ", "_"): c for c in frame.columns if c != frame.geometry.name}
    return next((by_norm[a] for a in COLUMNS[role] if a in by_norm), None)


def _kind(value) -> str | None:
    text = _norm(value)
    for kind, words in _KIND_WORDS.items():
        if text in words or any(w in text for w in words if len(w) > 4):
            return kind
    return None


def parse_completion(value) -> dt.date | None:
    """A completion date from a date, ``2021-06-30``, ``30/06/2021`` or a year alone (then 1 July: the works'
    own summer, when they may have been under way, counts as neither before nor after)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | np.integer | float | np.floating) and float(value).is_integer():
        year = int(value)
        return dt.date(year, 7, 1) if 1950 <= year <= 2100 else None
    text = str(value).strip()
    if re.fullmatch(r"\d{4}", text):
        return parse_completion(int(text))
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(text[:19], fmt).date()
        except ValueError:
            continue
    return None


def check_works(raw: gpd.GeoDataFrame, where: str = "le fichier des réalisations") -> gpd.GeoDataFrame:
    """Validated projects: ``name``, ``kind`` (one of :data:`KINDS`), ``completed`` (date), ``area_m2``,
    ``cost_eur`` (NaN when unknown) and the polygon, same CRS as ``raw`` (metres). Raises a precise
    :class:`~ilots.errors.InputFileError` in French naming the row and the column at fault."""
    if raw.empty:
        raise EmptyFileError(f"{where} ne contient aucun projet.")
    if len(raw) > MAX_PROJECTS:
        raise InputFileError(f"{where} compte {len(raw)} projets : au plus {MAX_PROJECTS} à la fois.")
    kind_col, date_col = _column(raw, "kind"), _column(raw, "completed")
    missing = [
        f"« {COLUMNS[r][0]} » ({label})"
        for r, c, label in (("kind", kind_col, "type de mesure"), ("completed", date_col, "date d'achèvement"))
        if c is None
    ]
    if missing:
        raise MissingColumnError(
            f"{where} : colonne {' et '.join(missing)} introuvable ; colonnes présentes : "
            f"{', '.join(str(c) for c in raw.columns if c != raw.geometry.name) or 'aucune'}."
        )
    polys = require_polygons(raw.reset_index(drop=True), "Réalisations", strict=True)
    if len(polys) < len(raw):
        raise InputFileError(f"{where} : {len(raw) - len(polys)} projet(s) sans surface (polygone vide ou plat).")
    name_col, area_col, cost_col = _column(polys, "name"), _column(polys, "area_m2"), _column(polys, "cost_eur")
    rows = []
    for i, row in polys.iterrows():
        label = f"ligne {i + 1}"
        name = str(row[name_col]).strip() if name_col and pd.notna(row[name_col]) else f"Projet {i + 1}"
        kind = _kind(row[kind_col]) if pd.notna(row[kind_col]) else None
        if kind is None:
            raise InputFileError(
                f"{where}, {label} ({name}) : mesure « {row[kind_col]} » inconnue ; attendu l'une de : "
                + ", ".join(KIND_LABELS.values())
                + "."
            )
        completed = parse_completion(row[date_col])
        if completed is None:
            raise InputFileError(
                f"{where}, {label} ({name}) : date d'achèvement « {row[date_col]} » illisible "
                "(attendu 2021-06-30, 30/06/2021 ou 2021)."
            )
        area = _number(row[area_col]) if area_col else None
        cost = _number(row[cost_col]) if cost_col else None
        if (area is not None and area <= 0) or (cost is not None and cost < 0):
            raise InputFileError(f"{where}, {label} ({name}) : surface ou coût négatif ou nul.")
        rows.append(
            {
                "name": name[:120],
                "kind": kind,
                "completed": completed,
                "area_m2": area if area is not None else float(row.geometry.area),
                "cost_eur": np.nan if cost is None else cost,
            }
        )
    out = gpd.GeoDataFrame(rows, geometry=polys.geometry.values, crs=polys.crs)
    out.index = pd.Index([f"p{i + 1}" for i in range(len(out))], name="project_id")
    return out


def _number(value) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value).strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace("€", "")
    text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def read_works(path: str | Path, crs, territory_area: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """The projects of a GeoPackage, GeoJSON or shapefile, in ``crs`` (the territory's working CRS), checked
    (:func:`check_works`); with ``territory_area``, raises :class:`NoOverlapError` when none lies on it."""
    path = Path(path)
    works = check_works(read_vector(path, crs), f"Le fichier {path.name}")
    if territory_area is not None:
        inside = works.geometry.intersects(territory_area)
        if not inside.any():
            raise NoOverlapError(f"Aucun projet de {path.name} ne se trouve sur le territoire.")
        works = works[inside]
    return works
