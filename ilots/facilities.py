"""Sensitive facilities in the heat: schools, crèches, nursing homes and hospitals, and how hot their place is.

Facilities come from BD TOPO (``zone_d_activite_ou_d_interet``: its ``nature`` — « Enseignement primaire »,
« Hôpital », « Maison de retraite », …) and from files the territory gives: points or polygons (GeoPackage,
GeoJSON, shapefile) or a CSV with coordinates, such as the FINESS health and social facilities (Lambert-93
``coordxet``/``coordyet``) or INSEE's BPE (``LAMBERT_X``/``LAMBERT_Y``, ``TYPEQU``). Each is classed by
keywords of its type (:data:`KIND_WORDS`) and, for BPE, by its equipment code (:data:`BPE_CODES`).

For each facility (:func:`facility_exposure`): the surface temperature and heat-risk class of its block, the
mean surface temperature within 100 m around it (blocks weighted by the area they have in that disc), the
probability of high risk, and the walking distance to the nearest cool refuge when given. Working CRS (m), °C.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import EmptyFileError, MissingColumnError

__all__ = [
    "BPE_CODES",
    "KINDS",
    "KIND_WORDS",
    "export_frame",
    "facilities_from_bdtopo",
    "facility_exposure",
    "hot_facilities_sentence",
    "read_facilities",
]

KINDS = {
    "creche": "crèche ou accueil du jeune enfant",
    "ecole": "école maternelle ou élémentaire",
    "college_lycee": "collège ou lycée",
    "personnes_agees": "EHPAD ou maison de retraite",
    "sante": "hôpital ou clinique",
}
# Keywords (lower case, no accents) of each kind, searched in BD TOPO natures and in the type columns of files.
KIND_WORDS = {
    "creche": ("creche", "jeune enfant", "halte garderie", "garderie", "petite enfance"),
    "ecole": ("enseignement primaire", "ecole maternelle", "ecole elementaire", "ecole primaire", "groupe scolaire"),
    "college_lycee": ("enseignement secondaire", "college", "lycee"),
    "personnes_agees": ("maison de retraite", "ehpad", "personnes agees", "residence autonomie", "foyer logement"),
    "sante": ("hopital", "hospitalier", "clinique", "etablissement de soins", "centre de sante"),
}
# INSEE BPE equipment codes of the kinds (TYPEQU).
BPE_CODES = {
    "C107": "ecole",  # école maternelle
    "C108": "ecole",  # école élémentaire
    "C109": "ecole",  # regroupement pédagogique
    "C201": "college_lycee",  # collège
    "C301": "college_lycee",  # lycée d'enseignement général et/ou technologique
    "C302": "college_lycee",  # lycée d'enseignement professionnel
    "D101": "sante",  # établissement de santé de court séjour
    "D102": "sante",  # moyen séjour
    "D103": "sante",  # long séjour
}
_NAME_COLS = ("nom", "name", "toponyme", "rs", "rslongue", "raison_sociale", "nomrs", "libelle", "nom_etablissement")
_TYPE_COLS = ("nature", "typequ", "libcategetab", "categorie", "type", "nat_detail", "libcategagretab", "activite")
_XY_COLS = (
    ("coordxet", "coordyet", 2154),
    ("lambert_x", "lambert_y", 2154),
    ("x", "y", 2154),
    ("lon", "lat", 4326),
    ("longitude", "latitude", 4326),
)
MAX_FACILITIES = 200_000


def _norm(text) -> str:
    ascii_ = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return " ".join("".join(c if c.isalnum() else " " for c in ascii_).split())


def _kind(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    raw = str(value).strip()
    if raw.upper() in BPE_CODES:
        return BPE_CODES[raw.upper()]
    text = _norm(raw)
    return next((k for k, words in KIND_WORDS.items() if any(w in text for w in words)), None)


def _classify(frame: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    cols = {_norm(c).replace(" ", "_"): c for c in frame.columns if c != frame.geometry.name}
    type_cols = [cols[c] for c in _TYPE_COLS if c in cols]
    if not type_cols:
        raise MissingColumnError(
            f"{source} : aucune colonne de type d'établissement (attendu l'une de : {', '.join(_TYPE_COLS)})."
        )
    kinds = pd.Series(None, index=frame.index, dtype="object")
    for col in type_cols:  # the first column that says what the place is wins
        kinds = kinds.fillna(frame[col].map(_kind))
    name_col = next((cols[c] for c in _NAME_COLS if c in cols), None)
    names = frame[name_col].astype("string") if name_col else pd.Series(pd.NA, index=frame.index, dtype="string")
    keep = kinds.notna()
    return gpd.GeoDataFrame(
        {"kind": kinds[keep].to_numpy(), "name": names[keep].to_numpy(), "source": source},
        geometry=frame.geometry[keep].values,
        crs=frame.crs,
    )


def facilities_from_bdtopo(zones: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """The sensitive facilities among BD TOPO's ``zone_d_activite_ou_d_interet`` (polygons)."""
    if zones is None or zones.empty:
        return gpd.GeoDataFrame({"kind": [], "name": [], "source": []}, geometry=[], crs=getattr(zones, "crs", None))
    return _classify(zones, "BD TOPO")


def read_facilities(path: str | Path, crs) -> gpd.GeoDataFrame:
    """Sensitive facilities from a vector file or a CSV with coordinates (FINESS, BPE, or any with ``lon``/``lat``
    or ``x``/``y`` in Lambert-93), classed, in ``crs``. Raises :class:`MissingColumnError` (French) when neither
    coordinates nor a type column are found, :class:`EmptyFileError` when no row is a sensitive facility."""
    from .sources.vectors import read_vector

    path = Path(path)
    if path.suffix.lower() in (".csv", ".txt"):
        table = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding_errors="replace", nrows=MAX_FACILITIES)
        lower = {_norm(c).replace(" ", "_"): c for c in table.columns}
        found = next(((lower[x], lower[y], epsg) for x, y, epsg in _XY_COLS if x in lower and y in lower), None)
        if found is None:
            raise MissingColumnError(
                f"{path.name} : coordonnées introuvables (attendu coordxet/coordyet, LAMBERT_X/LAMBERT_Y, x/y "
                "ou lon/lat)."
            )
        x, y = (pd.to_numeric(table[c].str.replace(",", ".", regex=False), errors="coerce") for c in found[:2])
        ok = x.notna() & y.notna()
        frame = gpd.GeoDataFrame(table[ok], geometry=shapely.points(x[ok], y[ok]), crs=found[2]).to_crs(crs)
    else:
        frame = read_vector(path, crs)
    out = _classify(frame, path.name)
    if out.empty:
        raise EmptyFileError(
            f"{path.name} : aucun établissement sensible reconnu (crèches, écoles, collèges et lycées, EHPAD, "
            "hôpitaux)."
        )
    return out


def facility_exposure(
    facilities: gpd.GeoDataFrame,
    blocks: gpd.GeoDataFrame,
    radius_m: float = 100.0,
    walk_m: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per facility (same index): its block, the block's surface temperature (``lst_used_c`` else
    ``lst_mean_c``), risk class and probability of high risk, the mean surface temperature within
    ``radius_m`` around it, and ``walk_m`` (walking distance to the nearest refuge) when given."""
    lst_col = "lst_used_c" if "lst_used_c" in blocks else "lst_mean_c"
    spots = facilities.geometry.representative_point().values
    hit, block = blocks.sindex.query(spots, predicate="within")
    which = pd.Series(pd.NA, index=range(len(facilities)), dtype="object")
    which.iloc[hit] = blocks.index.to_numpy()[block]
    lonely = which.isna().to_numpy()
    if lonely.any() and len(blocks):  # a point on a street between blocks: its nearest block
        _, nearest = blocks.sindex.nearest(spots[lonely], return_all=False)
        which.iloc[np.flatnonzero(lonely)] = blocks.index.to_numpy()[nearest]
    discs = shapely.buffer(spots, radius_m)
    di, bi = blocks.sindex.query(discs, predicate="intersects")
    share = shapely.area(shapely.intersection(discs[di], blocks.geometry.values[bi]))
    values = blocks[lst_col].to_numpy(dtype="float64")[bi]
    ok = np.isfinite(values)
    num = np.bincount(di[ok], weights=(share * values)[ok], minlength=len(facilities))
    den = np.bincount(di[ok], weights=share[ok], minlength=len(facilities))
    with np.errstate(invalid="ignore", divide="ignore"):
        around = np.where(den > 0, num / den, np.nan)
    ids = which.to_numpy()
    get = lambda col: blocks[col].reindex(ids).to_numpy() if col in blocks else np.full(len(ids), np.nan)  # noqa: E731
    out = pd.DataFrame(
        {
            "kind": facilities["kind"].to_numpy(),
            "name": facilities["name"].to_numpy(),
            "block_id": ids,
            "lst_block_c": get(lst_col),
            "lst_around_c": around,
            "risk_class": get("risk_class"),
            "p_high_risk": get("p_high_risk"),
        },
        index=facilities.index,
    )
    if walk_m is not None:
        out["refuge_walk_m"] = np.where(np.isfinite(walk_m), walk_m, np.nan)
    return out


def hot_facilities_sentence(exposure: pd.DataFrame) -> str | None:
    """« Établissements sensibles dans les îlots à risque élevé ou très élevé : 2 écoles …, 1 EHPAD … (sur 9
    connus). » — None when no facility is known (never « 0 » for unknown)."""
    if exposure is None or exposure.empty or "risk_class" not in exposure:
        return None
    hot = exposure["risk_class"].fillna(0) >= 4
    counts = exposure.loc[hot, "kind"].map(KINDS).value_counts()
    listed = ", ".join(f"{n} {k}" for k, n in counts.items()) if len(counts) else "aucun"
    return (
        f"Établissements sensibles dans les îlots à risque élevé ou très élevé : {listed} "
        f"(sur {len(exposure)} connus : BD TOPO, FINESS ou BPE)."
    )


def export_frame(facilities: gpd.GeoDataFrame, exposure: pd.DataFrame) -> gpd.GeoDataFrame:
    """One point a facility (inside its place; BD TOPO gives polygons, files points) with its heat and its
    kind in French (``kind_fr``): the table the CSV and GeoPackage exports write, working CRS."""
    out = gpd.GeoDataFrame(
        exposure.assign(kind_fr=exposure["kind"].map(KINDS)),
        geometry=facilities.geometry.reindex(exposure.index).representative_point().values,
        crs=facilities.crs,
    )
    return out.reset_index(drop=True)
