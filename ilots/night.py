"""Night-time heat beside the daytime surface: a layer kept apart from the daytime model.

Two sources, each optional:

* **Sentinel-3 SLSTR night land-surface temperature** (:mod:`ilots.sources.slstr`): about 1 km pixels at
  about 22 h local solar time. A block takes, each night, the clear pixel whose footprint covers it (the
  nearest pixel centre within three quarters of the pixel spacing), and its night value is the median over
  the nights. At 1 km the pixel is coarser than the block: neighbouring blocks share a value, and the
  night map shows districts, not streets. Surface temperature again, not air temperature.
* **Local Climate Zones (LCZ)** (Stewart & Oke 2012, *BAMS* 93:1879; Cerema « LCZ » 2022 for the 88 largest
  French urban areas): the zone covering most of each block, and the nocturnal heat-island tendency of its
  class. Measured at screen height on calm, clear nights, air-temperature differences between zones of very
  different structure reach about 10 °C, and between zones of similar structure average 1 to 3 °C (Stewart &
  Oke 2010, AMS Symposium on the Urban Environment, paper 1.1): the class gives an order, not a temperature.

Nothing here enters the daytime model, its risk index or its scenarios: the night table is computed and
stored on its own (``night/``, written by :func:`add_night_inputs`) and read only by the pages and verbs that
show it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from .errors import AllPixelsMaskedError, EmptyFileError, MissingColumnError, NoOverlapError

__all__ = [
    "FEW_NIGHT_PIXELS",
    "SLSTR_COLLECTION",
    "NIGHT_SOURCE_FR",
    "LCZ_CLASSES",
    "LCZ_TENDENCY_FR",
    "LCZ_COLUMNS",
    "DAY_NIGHT_LABELS",
    "NightBlocks",
    "scene_points",
    "pixel_spacing",
    "block_night",
    "lcz_codes",
    "check_lcz",
    "block_lcz",
    "day_night_classes",
    "day_night_summary",
    "add_night_inputs",
]

SLSTR_COLLECTION = "sentinel-3-slstr-lst-l2-netcdf"
NIGHT_SOURCE_FR = "Sentinel-3 SLSTR, température de surface de nuit (≈ 22 h solaires), pixels de ≈ 1 km"
# Below this many night pixels over the territory, thirds of blocks by night tell little (a 2 km town holds 4).
FEW_NIGHT_PIXELS = 12
COVER_FRACTION = 0.75  # a pixel covers a block whose centre lies within this share of the pixel spacing

# Stewart & Oke (2012) classes, French names as the Cerema uses them, and their nocturnal heat-island tendency:
# compact or paved and massive fabrics keep the day's heat (forte), open fabrics less (moyenne), sparse
# building and natural covers least (faible). Water (G) is cool by day but often warmer than land at night.
LCZ_CLASSES: dict[str, tuple[str, str]] = {
    "1": ("Ensemble compact de tours", "forte"),
    "2": ("Ensemble compact d'immeubles", "forte"),
    "3": ("Ensemble compact de maisons", "forte"),
    "4": ("Ensemble ouvert de tours", "moyenne"),
    "5": ("Ensemble ouvert d'immeubles", "moyenne"),
    "6": ("Ensemble ouvert de maisons", "moyenne"),
    "7": ("Habitat léger", "moyenne"),
    "8": ("Grands bâtiments bas (zones d'activité)", "forte"),
    "9": ("Bâti épars", "faible"),
    "10": ("Industrie lourde", "forte"),
    "A": ("Espace densément boisé", "faible"),
    "B": ("Espace boisé clairsemé", "faible"),
    "C": ("Broussailles, buissons", "faible"),
    "D": ("Végétation basse (prairies, cultures)", "faible"),
    "E": ("Sol imperméable nu (roche, revêtement)", "moyenne"),
    "F": ("Sol nu perméable (sable, terre)", "faible"),
    "G": ("Eau", "faible"),
}
LCZ_TENDENCY_FR = {
    "forte": "îlot de chaleur nocturne fort (tissu compact ou minéral)",
    "moyenne": "îlot de chaleur nocturne moyen (tissu ouvert)",
    "faible": "îlot de chaleur nocturne faible (bâti épars, végétation, eau)",
}
# An already grouped class (e.g. the IRIS « heat_score » of the Lyon extract, from Cerema LCZ 2022).
_TENDENCY_WORDS = {
    "forte": ("forte", "fort", "high", "tres forte", "very high", "eleve", "elevee"),
    "moyenne": ("moyenne", "moyen", "medium", "moderate", "moderee"),
    "faible": ("faible", "low", "tres faible", "very low"),
}
LCZ_COLUMNS = ("lcz", "lcz_primary", "lcz1", "lcz_1", "code_lcz", "classe_lcz", "lcz_code", "type_lcz")
CLASS_COLUMNS = ("heat_score", "sensibilite", "sensibilite_chaleur", "classe_chaleur", "icu", "tendance")
# GeoClimate writes A–G as 101–107; WUDAPT as 11–17.
_NUMERIC_NATURAL = {str(base + i): c for base in (10, 100) for i, c in enumerate("ABCDEFG", 1)}

DAY_NIGHT_LABELS = {
    "both": "chaud de jour et de nuit",
    "day_only": "chaud de jour, plus frais la nuit",
    "night_only": "frais de jour, chaud la nuit",
    "neither": "frais de jour et de nuit",
    "middle": "intermédiaire",
    "unknown": "nuit ou jour inconnu",
}


@dataclass
class NightBlocks:
    """Per-block night surface temperature (index: block id) and the nights it comes from."""

    table: pd.DataFrame  # night_lst_c, night_n, night_spread_c, night_anomaly_c
    nights: list[dict] = field(default_factory=list)  # one summary per night (ilots.sources.slstr.SlstrScene)
    spacing_m: float = float("nan")
    pixels: int = 0  # most distinct pixels that covered the blocks in one night


def scene_points(scenes) -> pd.DataFrame:
    """The clear pixels of ``scenes`` (:class:`~ilots.sources.slstr.SlstrScene`) as one table: scene_id, x, y
    (m, working CRS), lst_c (°C). This is what a territory stores of each night."""
    frames = [
        pd.DataFrame({"scene_id": s.scene_id, "x": s.x, "y": s.y, "lst_c": s.lst_c.astype("float32")}) for s in scenes
    ]
    if not frames:
        return pd.DataFrame({"scene_id": pd.Series(dtype="string"), "x": [], "y": [], "lst_c": []})
    return pd.concat(frames, ignore_index=True)


def pixel_spacing(x: np.ndarray, y: np.ndarray) -> float:
    """Median distance (m) between a pixel centre and its nearest neighbour: the swath's pixel spacing."""
    if len(x) < 2:
        return float("nan")
    d, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    return float(np.median(d[:, 1]))


def block_night(points: pd.DataFrame, blocks: gpd.GeoDataFrame, nights: list[dict] | None = None) -> NightBlocks:
    """Each block's night surface temperature: per night the clear pixel covering its representative point,
    then the median over nights (``night_lst_c``, °C), how many nights saw it (``night_n``), their range
    (``night_spread_c``) and the difference to the territory's median block (``night_anomaly_c``)."""
    anchor = blocks.geometry.representative_point()
    at = np.column_stack([anchor.x.to_numpy(), anchor.y.to_numpy()])
    ids = list(points["scene_id"].drop_duplicates())
    values = np.full((len(ids), len(blocks)), np.nan)
    spacings, used = [], [0]
    for k, sid in enumerate(ids):
        pts = points[points["scene_id"] == sid]
        spacing = pixel_spacing(pts["x"].to_numpy(), pts["y"].to_numpy())
        if not np.isfinite(spacing):
            continue
        spacings.append(spacing)
        d, i = cKDTree(pts[["x", "y"]].to_numpy()).query(at)
        near = d <= COVER_FRACTION * spacing
        values[k, near] = pts["lst_c"].to_numpy()[i[near]]
        used.append(len(np.unique(i[near])))
    n = np.isfinite(values).sum(axis=0)
    med = np.full(len(blocks), np.nan)
    spread = np.full(len(blocks), np.nan)
    some = n > 0
    if some.any():
        med[some] = np.nanmedian(values[:, some], axis=0)
        spread[some] = np.nanmax(values[:, some], axis=0) - np.nanmin(values[:, some], axis=0)
    spread[n < 2] = np.nan
    table = pd.DataFrame(
        {"night_lst_c": med, "night_n": n.astype("int64"), "night_spread_c": spread}, index=blocks.index
    )
    if not table["night_lst_c"].notna().any():
        raise NoOverlapError("Aucune nuit claire ne couvre les îlots du territoire.")
    table["night_anomaly_c"] = table["night_lst_c"] - float(table["night_lst_c"].median())
    spacing = float(np.median(spacings)) if spacings else float("nan")
    return NightBlocks(table, list(nights or []), spacing, int(max(used)))


def _plain(text: object) -> str:
    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower().strip()
    return re.sub(r"[^a-z0-9]+", " ", s).strip()


def lcz_codes(values: pd.Series) -> pd.Series:
    """LCZ codes normalised to ``1``–``10`` and ``A``–``G`` (accepts ``LCZ 2``, ``2.0``, ``a``, GeoClimate's
    101–107 and WUDAPT's 11–17 for A–G); anything else becomes missing."""

    def one(v: object) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        s = str(v).strip().upper().removeprefix("LCZ").strip().removesuffix(".0")
        s = _NUMERIC_NATURAL.get(s, s)
        return s if s in LCZ_CLASSES else None

    return pd.Series([one(v) for v in values], index=values.index, dtype="object")


def _tendency(values: pd.Series) -> pd.Series:
    words = {_plain(w): k for k, ws in _TENDENCY_WORDS.items() for w in ws}
    return pd.Series([words.get(_plain(v)) for v in values], index=values.index, dtype="object")


def check_lcz(gdf: gpd.GeoDataFrame, what: str = "La couche LCZ") -> gpd.GeoDataFrame:
    """A Local Climate Zone layer reduced to ``lcz`` (code or None), ``tendency`` (forte / moyenne / faible) and
    polygons. The code column is found among :data:`LCZ_COLUMNS`; a layer that holds only a grouped class
    (:data:`CLASS_COLUMNS`, e.g. ``heat_score`` = High / Medium / Low) gives the tendency alone."""
    if gdf.empty:
        raise EmptyFileError(f"{what} ne contient aucun polygone.")
    names = {_plain(c).replace(" ", "_"): c for c in gdf.columns if c != gdf.geometry.name}
    code_col = next((names[c] for c in LCZ_COLUMNS if c in names), None)
    class_col = next((names[c] for c in CLASS_COLUMNS if c in names), None)
    if code_col is not None:
        codes = lcz_codes(gdf[code_col])
        if codes.notna().any():
            tendency = codes.map(lambda c: LCZ_CLASSES[c][1] if c else None)
            return gpd.GeoDataFrame({"lcz": codes, "tendency": tendency}, geometry=gdf.geometry.values, crs=gdf.crs)
    if class_col is not None:
        tendency = _tendency(gdf[class_col])
        if tendency.notna().any():
            return gpd.GeoDataFrame(
                {"lcz": pd.Series(None, index=gdf.index, dtype="object"), "tendency": tendency},
                geometry=gdf.geometry.values,
                crs=gdf.crs,
            )
    raise MissingColumnError(
        f"{what} n'a pas de colonne de zone climatique locale lisible : une colonne {', '.join(LCZ_COLUMNS[:3])}… "
        "(codes 1 à 10 et A à G) ou une classe déjà regroupée (heat_score : High / Medium / Low) est attendue "
        f"(colonnes trouvées : {', '.join(list(names.values())[:8])})."
    )


def block_lcz(blocks: gpd.GeoDataFrame, lcz: gpd.GeoDataFrame) -> pd.DataFrame:
    """The zone covering the largest part of each block (``lcz``, ``lcz_name``, ``lcz_tendency``) and that
    part (``lcz_share``, 0–1). Blocks the layer does not cover are left missing."""
    lcz = lcz.to_crs(blocks.crs)
    lcz = lcz[lcz["tendency"].notna()]
    key = lcz["lcz"].where(lcz["lcz"].notna(), "~" + lcz["tendency"].astype(str))
    tree_idx_b, tree_idx_z = lcz.sindex.query(blocks.geometry.values, predicate="intersects")
    out = pd.DataFrame(index=blocks.index, columns=["lcz", "lcz_name", "lcz_tendency", "lcz_share"], dtype="object")
    if len(tree_idx_b):
        inter = blocks.geometry.values[tree_idx_b].intersection(lcz.geometry.values[tree_idx_z])
        pairs = pd.DataFrame({"b": tree_idx_b, "k": key.to_numpy()[tree_idx_z], "a": np.asarray(inter.area)})
        per = pairs.groupby(["b", "k"], sort=False)["a"].sum().reset_index()
        best = per.sort_values("a", ascending=False).drop_duplicates("b")
        area = np.asarray(blocks.geometry.area)
        for b, k, a in best.itertuples(index=False):
            code = None if str(k).startswith("~") else str(k)
            tendency = str(k)[1:] if code is None else LCZ_CLASSES[code][1]
            out.iloc[b] = [code, LCZ_CLASSES[code][0] if code else None, tendency, a / area[b] if area[b] else None]
    out["lcz_share"] = pd.to_numeric(out["lcz_share"])
    return out


def _thirds(values: pd.Series) -> pd.Series:
    """-1 / 0 / 1 for the coolest, middle and hottest third of the known values (ties keep one side)."""
    known = values.dropna()
    out = pd.Series(np.nan, index=values.index)
    if len(known) < 3:
        return out
    lo, hi = known.quantile([1 / 3, 2 / 3])
    # Strict inequalities: when one 1 km pixel gives most blocks the same value, they stay in the middle.
    out[known.index] = np.where(known > hi, 1, np.where(known < lo, -1, 0))
    return out


def day_night_classes(day: pd.Series, night: pd.Series | None = None, tendency: pd.Series | None = None) -> pd.Series:
    """Per block, where day and night agree: a block in the hottest third by day (observed LST) and by night
    (night LST third, or LCZ tendency « forte » when there is no night LST) is ``both``; hottest by day but in
    the coolest night third (or tendency « faible ») is ``day_only``; the reverse is ``night_only``; coolest
    in both is ``neither``; else ``middle``, or ``unknown`` when one side is missing."""
    d = _thirds(day)
    if night is not None and night.notna().sum() >= 3:
        n = _thirds(night.reindex(day.index))
    elif tendency is not None:
        n = tendency.reindex(day.index).map({"forte": 1.0, "moyenne": 0.0, "faible": -1.0})
    else:
        n = pd.Series(np.nan, index=day.index)
    out = pd.Series("middle", index=day.index, dtype="object")
    out[(d == 1) & (n == 1)] = "both"
    out[(d == 1) & (n == -1)] = "day_only"
    out[(d == -1) & (n == 1)] = "night_only"
    out[(d == -1) & (n == -1)] = "neither"
    out[d.isna() | n.isna()] = "unknown"
    return out


def day_night_summary(classes: pd.Series, residents: pd.Series | None = None) -> dict:
    """Blocks (and residents, when given) in each day/night class."""
    counts = classes.value_counts()
    out = {k: {"blocks": int(counts.get(k, 0))} for k in DAY_NIGHT_LABELS}
    if residents is not None:
        r = residents.reindex(classes.index).fillna(0.0).groupby(classes).sum()
        for k in out:
            out[k]["residents"] = float(r.get(k, 0.0))
    return out


def add_night_inputs(terr, slstr=(), lcz=None, lcz_source: dict | None = None, skipped=None) -> dict:
    """Read night granules (``slstr``: ``.SEN3`` folders) and a Local Climate Zone file (``lcz``) over ``terr``
    and store them in its ``night/`` folder (nothing else of the territory is touched). A granule that cannot
    be used (all cloud, off the territory) is skipped with its reason, the others are kept; a corrupt or
    daytime file raises. ``skipped``: nights refused before (by the download), recorded with the others.
    Returns ``{"added": [...], "skipped": {...}, "lcz": n_polygons | None}``."""

    from .errors import NoOverlapError
    from .night import check_lcz, scene_points
    from .sources.slstr import read_slstr
    from .sources.vectors import read_vector, require_polygons
    from .store import add_nights, write_lcz

    bounds = tuple(float(v) for v in terr.blocks.total_bounds)
    crs = terr.blocks.crs
    scenes, skipped = [], dict(skipped or {})
    for path in slstr:
        try:
            scenes.append(read_slstr(path, bounds, crs=crs.to_string()))
        except (AllPixelsMaskedError, NoOverlapError) as exc:
            skipped[Path(path).name.removesuffix(".SEN3")] = str(exc)
    if slstr and not scenes:
        add_nights(terr.path, scene_points([]), [], skipped)
        reasons = " ; ".join(skipped.values())
        raise AllPixelsMaskedError(f"Aucune nuit utilisable parmi les scènes données : {reasons}")
    out = {"added": [s.summary() for s in scenes], "skipped": skipped, "lcz": None}
    if scenes:
        add_nights(terr.path, scene_points(scenes), out["added"], skipped)
    if lcz is not None:
        zones = require_polygons(read_vector(lcz, crs, bbox=bounds), "La couche LCZ")
        zones = check_lcz(zones)
        if zones.empty or not zones.geometry.intersects(shapely.box(*bounds)).any():
            raise NoOverlapError("La couche LCZ ne couvre pas le territoire.")
        write_lcz(terr.path, zones, {"file": Path(lcz).name, "n_polygons": int(len(zones)), **(lcz_source or {})})
        out["lcz"] = int(len(zones))
    return out
