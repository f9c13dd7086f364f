"""Did the works cool the city? Before/after monitoring of completed projects on several summers of LST.

Pure computation on plain objects (see docs/monitoring.md for the method and its limits):

1. each summer is put on a common footing: every block's and project's surface temperature becomes an
   *anomaly* against the median of the territory's untreated blocks that summer (weather differs between
   years; the anomaly does not);
2. each project gets *control blocks*: the untreated blocks (farther than :data:`EXCLUSION_M` from any
   project) nearest to the project's own blocks on the model's urban-form features and on the pre-works
   anomaly;
3. the effect is the *difference in differences* of anomalies: (project − controls) after the works minus
   (project − controls) before, the works' own summer left out;
4. its 90 % interval comes from resampling summers (before and after separately) and controls, plus the
   spread a single untreated block shows in the same years (a placebo project): never a zero-width interval;
5. the minimum detectable effect (90 % test, 80 % power) says what the satellite could have seen there, and
   :func:`seen_fraction` how much of an on-site change the ~100 m thermal footprint lets through.

Temperatures are land-surface temperatures (°C, Landsat ~11 h solar time), not air temperatures.
Geometries are in the territory's working CRS (metres).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from . import fr
from .footprint import THERMAL_FWHM_M, THERMAL_PSF_SIGMA_M
from .sources.works import KIND_LABELS

__all__ = [
    "CONTROL_FEATURES",
    "EXCLUSION_M",
    "MIN_AREA_M2",
    "ProjectResult",
    "MonitorResult",
    "anomalies",
    "monitor_projects",
    "period_of",
    "predict_projects",
    "prediction_check",
    "seen_fraction",
]

# Untreated blocks are farther than this from every project: the thermal band's blur (FWHM 100 m) and the
# cooling's own spread would otherwise put part of a project's effect in its controls.
EXCLUSION_M = 150.0
# Landsat's thermal band is natively 100 m (TIRS): a project under one native pixel (1 ha) is mixed with its
# surroundings in every pixel that sees it, whatever its effect.
MIN_AREA_M2 = THERMAL_FWHM_M**2
# Urban-form features the controls are matched on (those the territory has), with the pre-works anomaly.
CONTROL_FEATURES = (
    "building_coverage",
    "building_height_m",
    "tree_frac",
    "grass_frac",
    "impervious_frac",
    "water_frac",
    "ndvi_mean",
)
N_CONTROLS = 20
Z_90 = 1.6449  # two-sided 90 %
MDE_Z = 1.6449 + 0.8416  # 90 % two-sided test, 80 % power
MIN_HALF_WIDTH_C = 0.1  # below this the interval would claim more than summer-to-summer LST can tell

METHOD = {
    "anomaly": "écart à la médiane des îlots non traités de chaque été",
    "controls": f"{N_CONTROLS} îlots non traités à plus de {EXCLUSION_M:.0f} m de tout projet, les plus proches "
    "par la forme urbaine et l'anomalie avant travaux",
    "estimate": "différence de différences (après − avant) ; l'été des travaux est écarté",
    "interval": "90 %, rééchantillonnage des étés et des témoins, plus le bruit d'un îlot témoin (placebo)",
    "min_area_m2": MIN_AREA_M2,
    "doc": "docs/monitoring.md",
}

VERDICT_COLOURS = {
    "cooling": "#1b7837",
    "warming": "#b2182b",
    "none": "#555555",
    "too_small": "#8a6d00",
    "too_early": "#7f7f7f",
}
VERDICTS = {
    "cooling": "refroidissement mesuré",
    "warming": "réchauffement mesuré",
    "none": "pas d'effet détectable à cette échelle",
    "too_small": "trop petit pour être mesuré par satellite",
    "too_early": "pas encore mesurable",
}


@dataclass
class ProjectResult:
    """One project's before/after estimate (°C of surface temperature over the project's own area)."""

    name: str
    kind: str
    completed: dt.date
    area_m2: float
    cost_eur: float | None
    verdict: str  # a key of VERDICTS
    years_before: list[int]
    years_after: list[int]
    series: pd.DataFrame  # by year: project, controls (mean, p10, p90) anomalies (°C), period
    effect_c: float | None = None
    lo_c: float | None = None
    hi_c: float | None = None
    mde_c: float | None = None  # minimum detectable effect on the measured LST (°C, absolute)
    seen_fraction: float = 1.0  # share of an on-site change the thermal footprint passes on
    n_controls: int = 0
    control_gap_c: float | None = None  # project − controls anomaly before the works (°C)
    control_distance: float | None = None  # median standardised feature distance of the controls
    control_ids: list[str] = field(default_factory=list)
    predicted_c: float | None = None  # what the scenario engine predicted, as the satellite would see it
    predicted_lo_c: float | None = None
    predicted_hi_c: float | None = None
    predicted_note: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def verdict_fr(self) -> str:
        return VERDICTS[self.verdict]

    @property
    def kind_fr(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def mde_onsite_c(self) -> float | None:
        """The minimum detectable effect on the project's own ground (before the footprint's blur)."""
        if self.mde_c is None or self.seen_fraction <= 0:
            return None
        return self.mde_c / self.seen_fraction

    def sentence(self, with_name: bool = True) -> str:
        """The project's result in one French sentence, with its interval and what it counts."""
        head = f"{self.name} : {self.verdict_fr}" if with_name else self.verdict_fr[:1].upper() + self.verdict_fr[1:]
        if self.verdict == "too_early":
            return f"{head} ({'; '.join(self.notes) or 'pas assez d’étés mesurés'})."
        if self.verdict == "too_small":
            return (
                f"{head} ({fr.area(self.area_m2)}, sous la résolution native de 1 ha de la bande thermique de Landsat)."
            )
        effect = fr.temp_interval(self.effect_c, self.lo_c, self.hi_c).replace(" (", " (90 % de chances : ", 1)
        if self.verdict == "none":
            return (
                f"{head} — estimation {effect} ; un effet de moins de {fr.temp(self.mde_c, 1)} n'aurait pas pu être "
                "distingué du bruit d'un été à l'autre."
            )
        return f"{head}, {effect} en surface au-dessus du projet."


@dataclass
class MonitorResult:
    projects: list[ProjectResult]
    years: list[int]
    untreated_blocks: int
    notes: list[str] = field(default_factory=list)
    summer_dates: dict[int, list[str]] = field(default_factory=dict)  # acquisition dates behind each summer
    works: gpd.GeoDataFrame | None = None  # the projects, in the order of ``projects``

    def to_dict(self) -> dict:
        """Everything for ``--json`` and ``monitoring/results.json`` (plain types, °C, m², €)."""
        return {
            "format_version": 1,
            "years": self.years,
            "summer_dates": {str(y): d for y, d in self.summer_dates.items()},
            "untreated_blocks": self.untreated_blocks,
            "notes": self.notes,
            "method": METHOD,
            "projects": [
                {
                    **{k: _plain(v) for k, v in row.items()},
                    "sentence": p.sentence(),
                    "notes": p.notes,
                    "years_before": p.years_before,
                    "years_after": p.years_after,
                    "controls": p.control_ids,
                    "control_distance": _round(p.control_distance, 3),
                    "predicted_note": p.predicted_note,
                    "series": [
                        {k: _plain(v) for k, v in r.items()}
                        for r in p.series.assign(year=p.series["year"].astype(int)).to_dict("records")
                    ]
                    if len(p.series)
                    else [],
                }
                for p, row in zip(
                    self.projects,
                    pd.DataFrame(self.table()).drop(columns="geometry", errors="ignore").to_dict("records"),
                    strict=True,
                )
            ],
        }

    def table(self) -> pd.DataFrame:
        """One row per project (the CSV and JSON export); a GeoDataFrame of the projects' polygons when the
        result holds them."""
        rows = []
        for p in self.projects:
            rows.append(
                {
                    "nom": p.name,
                    "mesure": p.kind_fr,
                    "achevement": p.completed.isoformat(),
                    "surface_m2": round(p.area_m2, 1),
                    "cout_eur": p.cost_eur,
                    "verdict": p.verdict_fr,
                    "effet_c": _round(p.effect_c),
                    "effet_bas_c": _round(p.lo_c),
                    "effet_haut_c": _round(p.hi_c),
                    "effet_min_detectable_c": _round(p.mde_c),
                    "part_vue_par_le_capteur": _round(p.seen_fraction, 3),
                    "prevu_c": _round(p.predicted_c),
                    "prevu_bas_c": _round(p.predicted_lo_c),
                    "prevu_haut_c": _round(p.predicted_hi_c),
                    "ete_avant": len(p.years_before),
                    "ete_apres": len(p.years_after),
                    "temoins": p.n_controls,
                    "ecart_temoins_avant_c": _round(p.control_gap_c),
                }
            )
        frame = pd.DataFrame(rows)
        if self.works is not None and len(self.works) == len(frame):
            return gpd.GeoDataFrame(frame, geometry=list(self.works.geometry), crs=self.works.crs)
        return frame


def prediction_check(results: dict) -> pd.DataFrame:
    """The product's own check of its scenarios against reality, from monitoring results (``to_dict()`` or the
    stored ``monitoring/results.json``): for each project measured by the satellite whose measure the scenarios
    model, the predicted and measured effects (°C, 90 % intervals) and whether the intervals overlap."""
    rows = []
    for p in results.get("projects", []):
        if p.get("effet_c") is None or p.get("prevu_c") is None:
            continue
        rows.append(
            {
                "nom": p["nom"],
                "mesure": p["mesure"],
                "verdict": p["verdict"],
                "mesure_c": p["effet_c"],
                "mesure_bas_c": p["effet_bas_c"],
                "mesure_haut_c": p["effet_haut_c"],
                "prevu_c": p["prevu_c"],
                "prevu_bas_c": p["prevu_bas_c"],
                "prevu_haut_c": p["prevu_haut_c"],
                "accord": bool(p["effet_bas_c"] <= p["prevu_haut_c"] and p["prevu_bas_c"] <= p["effet_haut_c"]),
            }
        )
    return pd.DataFrame(rows)


def _plain(v):
    """A JSON-safe value: NaN and missing become None, numpy numbers Python ones."""
    if v is None or (isinstance(v, float | np.floating) and not np.isfinite(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v


def _round(v, nd: int = 2):
    return None if v is None or not np.isfinite(v) else round(float(v), nd)


def period_of(year: int, completed: dt.date) -> str:
    """« before » when the whole summer (June–August) of ``year`` precedes the completion, « after » when it
    follows, « works » otherwise (the summer of the works themselves is left out)."""
    if dt.date(year, 8, 31) < completed:
        return "before"
    if dt.date(year, 6, 1) > completed:
        return "after"
    return "works"


def anomalies(values: pd.DataFrame, reference: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """``values`` (rows × years, °C) minus each year's median of ``reference`` (untreated blocks × years)."""
    level = reference.median(axis=0, skipna=True)
    return values - level, level


def seen_fraction(geom: shapely.Geometry, sigma_m: float = THERMAL_PSF_SIGMA_M, cell_m: float = 10.0) -> float:
    """The share of a uniform change over ``geom`` that the thermal band shows, on average, over ``geom``.

    The change is blurred by the sensor's Gaussian point-spread function (σ ≈ 42,5 m, FWHM 100 m): over a
    large park nearly all of it remains, over a 50 m schoolyard a fifth (docs/monitoring.md).
    """
    x0, y0, x1, y1 = geom.bounds
    pad = 4 * sigma_m
    nx, ny = int(np.ceil((x1 - x0 + 2 * pad) / cell_m)), int(np.ceil((y1 - y0 + 2 * pad) / cell_m))
    xs = x0 - pad + cell_m * (np.arange(nx) + 0.5)
    ys = y0 - pad + cell_m * (np.arange(ny) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.contains_xy(geom, gx, gy)
    if not inside.any():
        return 0.0
    blurred = ndimage.gaussian_filter(inside.astype("float64"), sigma_m / cell_m, mode="constant")
    return float(blurred[inside].mean())


def _choose_controls(target: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``k`` candidates nearest ``target`` once every column is standardised, and distances."""
    mu = np.nanmean(candidates, axis=0)
    sd = np.nanstd(candidates, axis=0)
    keep = np.isfinite(target) & np.isfinite(mu) & (sd > 0)
    if not keep.any():
        order = np.arange(min(k, len(candidates)))
        return order, np.zeros(len(order))
    z = (candidates[:, keep] - mu[keep]) / sd[keep]
    z = np.where(np.isfinite(z), z, 0.0)  # a missing value counts as the average candidate
    t = (target[keep] - mu[keep]) / sd[keep]
    d = np.sqrt(((z - t) ** 2).mean(axis=1))
    order = np.argsort(d, kind="stable")[:k]
    return order, d[order]


def _did(project: np.ndarray, controls: np.ndarray, before: np.ndarray, after: np.ndarray) -> float:
    """(project − mean of controls) after minus before; arrays by year, controls as (n, years)."""
    gap = project - np.nanmean(controls, axis=0)
    return float(np.nanmean(gap[after]) - np.nanmean(gap[before]))


def _bootstrap(
    project: np.ndarray,
    controls: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    placebo: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Estimates with summers (before and after separately) and controls resampled, each plus one placebo
    project's deviation: the noise a single untreated place shows over the same summers. Vectorised: the
    resamples are multinomial counts (draws × controls, draws × summers)."""
    n, years = controls.shape
    filled = np.where(np.isfinite(controls), controls, 0.0)
    seen = np.isfinite(controls).astype("float64")
    cc = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype("float64")  # draws × controls
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_c = (cc @ filled) / (cc @ seen)  # draws × summers
    gap = project[None, :] - mean_c

    def period_mean(mask: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(mask)
        counts = np.zeros((n_boot, years))
        counts[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n_boot)
        ok = np.isfinite(gap)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.where(ok, gap, 0.0) * counts).sum(axis=1) / (ok * counts).sum(axis=1)

    centred = placebo - placebo.mean()
    return period_mean(after) - period_mean(before) + centred[rng.integers(0, len(centred), n_boot)]


def monitor_projects(
    blocks: gpd.GeoDataFrame,
    block_lst: pd.DataFrame,
    works: gpd.GeoDataFrame,
    works_lst: pd.DataFrame,
    *,
    n_controls: int = N_CONTROLS,
    n_boot: int = 2000,
    seed: int = 2154,
    year_notes: dict[int, str] | None = None,
) -> MonitorResult:
    """Before/after estimates for every project of ``works``.

    ``blocks``: the territory's blocks (working CRS) with their features; ``block_lst`` and ``works_lst``:
    surface temperature (°C) per block / per project (rows, same index as ``blocks`` / ``works``) and summer
    (integer-year columns), NaN where clouds hid it. ``works`` has ``name``, ``kind``, ``completed`` (date),
    ``area_m2``, ``cost_eur`` (see :func:`ilots.sources.works.read_works`). ``year_notes``: why some summers
    are missing (all clouded), repeated in the result's notes.
    """
    rng = np.random.default_rng(seed)
    years = sorted(int(y) for y in block_lst.columns if block_lst[y].notna().any())
    notes = [f"Été {y} : {why}" for y, why in sorted((year_notes or {}).items())]
    block_lst = block_lst[years]
    works_lst = works_lst.reindex(columns=years)
    near = blocks.geometry.dwithin(shapely.union_all(works.geometry.values), EXCLUSION_M)
    untreated = blocks.index[~near.to_numpy()]
    b_anom, level = anomalies(block_lst, block_lst.loc[untreated])
    w_anom = works_lst - level
    cols = [c for c in CONTROL_FEATURES if c in blocks and blocks[c].notna().any()]
    cand_ids = untreated
    cand_feat = blocks.loc[cand_ids, cols].to_numpy(dtype="float64")
    cand_anom = b_anom.loc[cand_ids].to_numpy(dtype="float64")
    results = [
        _one_project(
            works.loc[w],
            w_anom.loc[w].to_numpy(dtype="float64"),
            years,
            blocks,
            cols,
            cand_ids,
            cand_feat,
            cand_anom,
            n_controls,
            n_boot,
            rng,
        )
        for w in works.index
    ]
    return MonitorResult(results, years, int(len(untreated)), notes, works=works)


def _one_project(work, anom, years, blocks, cols, cand_ids, cand_feat, cand_anom, k, n_boot, rng):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # means of summers or controls with no clear pixel
        return _estimate(work, anom, years, blocks, cols, cand_ids, cand_feat, cand_anom, k, n_boot, rng)


def _estimate(work, anom, years, blocks, cols, cand_ids, cand_feat, cand_anom, k, n_boot, rng):
    completed = work["completed"]
    period = np.array([period_of(y, completed) for y in years])
    seen = np.isfinite(anom)
    notes = [f"été {y} : nuages sur le projet, été ignoré" for y, s in zip(years, seen, strict=True) if not s]
    before, after = (period == "before") & seen, (period == "after") & seen
    geom = work.geometry
    result = ProjectResult(
        name=str(work["name"]),
        kind=str(work["kind"]),
        completed=completed,
        area_m2=float(work["area_m2"]),
        cost_eur=None if pd.isna(work.get("cost_eur")) else float(work["cost_eur"]),
        verdict="too_early",
        years_before=[y for y, b in zip(years, before, strict=True) if b],
        years_after=[y for y, a in zip(years, after, strict=True) if a],
        series=pd.DataFrame(),
        seen_fraction=seen_fraction(geom),
        notes=notes,
    )
    # The project's urban form: its blocks' features, weighted by the area of the project on each.
    touched = blocks.index[blocks.geometry.intersects(geom).to_numpy()]
    overlap = blocks.loc[touched].geometry.intersection(geom).area.to_numpy()
    feat = np.array([_weighted_mean(blocks.loc[touched, c].to_numpy(dtype="float64"), overlap) for c in cols])
    pre_mean = np.nanmean(anom[before]) if before.any() else np.nan
    cand_pre = (
        np.nanmean(np.where(before, cand_anom, np.nan), axis=1) if before.any() else np.full(len(cand_ids), np.nan)
    )
    usable = np.isfinite(cand_pre) | (not before.any())
    target = np.append(feat, pre_mean)
    matrix = np.column_stack([cand_feat, cand_pre])[usable]
    pool = np.flatnonzero(usable)
    order, dist = _choose_controls(target, matrix, k) if len(pool) else (np.array([], int), np.array([]))
    chosen = pool[order]
    controls = cand_anom[chosen]
    result.n_controls = int(len(chosen))
    result.control_ids = [str(cand_ids[i]) for i in chosen]
    result.control_distance = float(np.median(dist)) if len(dist) else None
    mean_c = np.nanmean(controls, axis=0) if len(chosen) else np.full(len(years), np.nan)
    result.series = pd.DataFrame(
        {
            "year": years,
            "project_c": anom,
            "controls_c": mean_c,
            "controls_p10_c": np.nanpercentile(controls, 10, axis=0) if len(chosen) else np.nan,
            "controls_p90_c": np.nanpercentile(controls, 90, axis=0) if len(chosen) else np.nan,
            "period": period,
        }
    )
    if before.any() and len(chosen):
        result.control_gap_c = float(np.nanmean(anom[before] - mean_c[before]))
    if result.area_m2 < MIN_AREA_M2:
        result.verdict = "too_small"
        return result
    if not before.any() or not after.any() or len(chosen) < 3:
        if not before.any():
            result.notes.append("aucun été clair avant les travaux")
        if not after.any():
            result.notes.append("aucun été clair après les travaux")
        if len(chosen) < 3:
            result.notes.append("moins de 3 îlots témoins comparables")
        return result
    effect = _did(anom, controls, before, after)
    placebo = np.array([_did(controls[i], np.delete(controls, i, axis=0), before, after) for i in range(len(chosen))])
    draws = _bootstrap(anom, controls, before, after, placebo, n_boot, rng)
    lo, hi = np.nanpercentile(draws - np.nanmean(draws), [5, 95]) + effect
    lo, hi = min(lo, effect - MIN_HALF_WIDTH_C), max(hi, effect + MIN_HALF_WIDTH_C)
    result.effect_c, result.lo_c, result.hi_c = effect, float(lo), float(hi)
    result.mde_c = float(max(MDE_Z * np.nanstd(draws), MDE_Z * MIN_HALF_WIDTH_C / Z_90))
    result.verdict = "cooling" if hi < 0 else "warming" if lo > 0 else "none"
    return result


# Kinds of works the scenario engine models (same names as its interventions), and why the others have none.
_MODELLED = ("trees", "depave", "green_roofs")
_NO_PREDICTION = {
    "cool_roofs": "le modèle n'a pas de variable d'albédo : pas de prévision en surface (voir Scénarios)",
    "water": "les scénarios ne modélisent pas l'eau",
}


def predict_projects(engine, works: gpd.GeoDataFrame, result: MonitorResult) -> None:
    """Put beside each measured effect what the scenario engine (:class:`ilots.scenarios.ScenarioEngine`)
    predicts for the same measure on the same place, as the satellite would see it over the project.

    The project's surface goes to the measure on each block it covers (trees on its ground, depaving of its
    sealed ground, greening of its flat roofs); the blocks' predicted changes (°C × m²) are put back over the
    project's own area, then passed through the thermal footprint (:func:`seen_fraction`), like the
    measurement. Fills ``predicted_c``/``_lo_c``/``_hi_c`` (90 %) or ``predicted_note``."""
    from .scenarios import Intervention, Scenario, Target

    shares = engine.ground_shares()
    area = engine.area
    for wid, project in zip(works.index, result.projects, strict=True):
        work = works.loc[wid]
        kind = work["kind"]
        if kind not in _MODELLED:
            project.predicted_note = _NO_PREDICTION.get(kind, "mesure non modélisée")
            continue
        hit = np.flatnonzero(np.asarray(engine.geometry.intersects(work.geometry)))
        overlap = np.asarray(engine.geometry.iloc[hit].intersection(work.geometry).area, dtype="float64")
        usable = {
            "trees": area[hit],
            "depave": shares["sealed"][hit] * area[hit],
            "green_roofs": shares["flat_roof_share"][hit] * shares["roof"][hit] * area[hit],
        }[kind]
        with np.errstate(divide="ignore", invalid="ignore"):
            intensity = np.clip(np.where(usable > 0, 100.0 * overlap / usable, 0.0), 0.0, 100.0)
        items = [
            Intervention(kind, float(v), Target("ids", ids=[str(engine.index[i])]))
            for i, v in zip(hit, intensity, strict=True)
            if v > 0
        ]
        if not items:
            project.predicted_note = "aucune surface où appliquer la mesure dans les îlots du projet"
            continue
        per_block, _ = engine.apply(Scenario(f"réalisation {project.name}"[:80], items))
        rows = per_block.iloc[hit]
        scale = project.seen_fraction / max(project.area_m2, 1.0)
        project.predicted_c = float((rows["delta_c"] * area[hit]).sum() * scale)
        project.predicted_lo_c = float((rows["delta_lo_c"] * area[hit]).sum() * scale)
        project.predicted_hi_c = float((rows["delta_hi_c"] * area[hit]).sum() * scale)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """Mean of the finite ``values`` weighted by ``weights`` (NaN when none is finite)."""
    ok = np.isfinite(values)
    if not ok.any():
        return float("nan")
    w = weights[ok]
    return float(np.average(values[ok], weights=w)) if w.sum() > 0 else float(values[ok].mean())
