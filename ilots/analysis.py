"""Fit a territory's heat model, compute its risk index and explanations, and store them.

``fit_territory`` is what ``python -m ilots fit DIR`` and the dashboard call. ``ensure_model``
returns the stored model, refitting it when it is missing or was saved by another version of
scikit-learn (a stored model is never trusted across versions).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn

from . import fr
from .errors import CorruptTerritoryError, IlotsError
from .explain import explain_blocks, uncertain_effects
from .model import FitResult, LinearModel, fit_models, target_columns
from .progress import Progress, noop
from .risk import (
    CLASS_LABELS,
    THRESHOLDS,
    block_uncertainty_c,
    calibrate,
    hazard_anomaly,
    risk_draws,
    risk_index,
    sensitivity,
)
from .store import Territory, save_model

__all__ = [
    "fit_territory",
    "ensure_model",
    "linear_model",
    "model_summary",
    "is_reliable",
    "fit_warnings",
    "unreliable_reason",
    "W_PER_CORE",
    "ComputeFootprint",
    "compute_footprint",
    "with_added_refuges",
]

MODEL_FORMAT = 1


def _outputs(terr: Territory, fit: FitResult) -> tuple[pd.DataFrame, dict]:
    table = pd.DataFrame(terr.blocks.drop(columns=terr.blocks.geometry.name))
    preds = fit.predictions
    target, valid_col = target_columns(table)
    anomaly, ref, source = hazard_anomaly(table[target], preds["lst_pred_c"], table[valid_col])
    params = calibrate(table)
    risk, risk_note = risk_index(table, anomaly, params)
    risk_note["sensitivity"] = sensitivity(table, anomaly, params)
    used_lst = anomaly + ref
    explained = explain_blocks(fit.linear, table, used_lst, uncertain=uncertain_effects(fit.effects))
    out = preds.copy()
    out["lst_used_c"] = used_lst
    out["lst_source"] = source
    out["anomaly_c"] = anomaly
    for col in risk.columns:
        out[col] = risk[col]
    out["risk_label"] = out["risk_class"].map(CLASS_LABELS).fillna("non évaluable")
    # Probability of the high-risk classes (4–5) over the temperature's error and the index's settings.
    sd = block_uncertainty_c(source, table.get("lst_date_spread_c"), fit.metrics["spatial_cv"]["rmse_c"])
    scores = risk_draws(sd, params).scores(table, anomaly.to_numpy(dtype="float64"))
    known = np.isfinite(out["risk_score"].to_numpy(dtype="float64"))
    out["lst_sd_c"] = sd
    out["p_high_risk"] = np.where(known, (scores >= THRESHOLDS[2]).mean(axis=0), np.nan)
    out["explanation"] = explained["explanation"]
    out["reasons"] = explained["reasons"].map(lambda r: json.dumps(r, ensure_ascii=False))
    risk_note["reference_median_c"] = ref
    return out, risk_note


def fit_territory(
    terr: Territory,
    tile_m: float | None = None,
    n_folds: int = 5,
    save: bool = True,
    progress: Progress | None = None,
) -> tuple[dict, pd.DataFrame]:
    """Fit, explain and score ``terr``; store ``model.json`` and ``model.parquet`` if ``save``.
    ``progress(message_fr, fraction)`` is told each stage."""
    progress = progress or noop
    fit = fit_models(terr.blocks, terr.manifest.get("features"), tile_m=tile_m, n_folds=n_folds, progress=progress)
    progress("Indice de risque, probabilités et explications par îlot", 0.9)
    table, risk_note = _outputs(terr, fit)
    meta = {
        "format_version": MODEL_FORMAT,
        "territory": terr.name,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sklearn": sklearn.__version__,
        "software": {
            "python": platform.python_version(),
            **{p: importlib.metadata.version(p) for p in ("scikit-learn", "numpy", "pandas", "scipy")},
        },
        **fit.to_json(),
        "risk": risk_note,
        "scenario_engine": "ridge",
    }
    meta["warnings"] = fit_warnings(meta)
    meta["reliable"] = is_reliable(meta)
    if save:
        progress("Enregistrement du modèle", 0.98)
        save_model(terr.path, meta, table)
    progress("Modèle prêt", 1.0)
    return meta, table


# Below this spatial-CV R² the model explains too little of the between-block differences, out of sample,
# for its effects and scenarios to be shown: the app then shows observed temperatures only.
RELIABLE_R2 = 0.25
# A spatial-CV R² above this on urban LST is not skill but a target derived from the features (a land-cover
# raster given as temperature, say): published block-level fits reach about 0.5–0.85 (docs/model.md).
TOO_GOOD_R2 = 0.97


def is_reliable(meta: dict) -> bool:
    """Whether the fit may drive explanations and scenarios (a stored model without the flag is judged again)."""
    r2 = meta["metrics"]["spatial_cv"]["r2"]
    return bool(meta.get("reliable", RELIABLE_R2 <= r2 < TOO_GOOD_R2))


def unreliable_reason(meta: dict) -> str | None:
    """Why the fit may not drive explanations and scenarios (one French sentence), or None when it may."""
    if is_reliable(meta):
        return None
    return next(iter(fit_warnings(meta)), "Modèle non fiable : seules les températures observées sont montrées.")


def fit_warnings(meta: dict) -> list[str]:
    """French sentences on a fit that cannot be taken at face value."""
    r2 = meta["metrics"]["spatial_cv"]["r2"]
    out = []
    if r2 < RELIABLE_R2:
        out.append(
            f"Modèle non fiable : en validation spatiale il n'explique que {fr.pct(max(r2, 0.0))} des écarts de "
            "température entre îlots. Seules les températures observées sont montrées, sans explication ni "
            "chiffre de scénario."
        )
    if r2 >= TOO_GOOD_R2:
        out.append(
            f"Ajustement trop bon pour être vrai (R² en validation spatiale de {fr.pct(r2, 1)}) : la température "
            "fournie dérive sans doute des indicateurs eux-mêmes (une carte d'occupation du sol donnée comme "
            "température ?). Vérifiez les sources avant toute lecture des effets."
        )
    return out


def ensure_model(terr: Territory, progress: Progress | None = None) -> tuple[dict, pd.DataFrame]:
    """The stored model, or a fresh fit (its stages told to ``progress``) when it is missing or from another
    scikit-learn version."""
    try:
        stored = terr.model()
    except CorruptTerritoryError:  # derived data: a damaged model is simply fitted again
        stored = None
    if stored is not None:
        meta, table = stored
        if meta.get("sklearn") == sklearn.__version__ and meta.get("format_version") == MODEL_FORMAT:
            return meta, table
    return fit_territory(terr, progress=progress)


def fit_worker(path: str, emit=None) -> None:
    """Fit (or read) the model of the territory at ``path``, for a worker process: ``emit(kind, message, fraction)``
    is told each stage, then done or a French error (:func:`ilots.worker.run_reporting`; by default JSON lines on
    stdout, read by ``ui/jobs.py``)."""
    from .store import load_territory
    from .worker import run_reporting

    run_reporting(lambda progress: ensure_model(load_territory(Path(path)), progress=progress), emit)


W_PER_CORE = 15.0  # mean power of one loaded CPU core, laptop or server [our estimate]


@dataclass(frozen=True)
class ComputeFootprint:
    """CPU time of a territory's build and of its model fit (s), and the energy they took (Wh, at
    :data:`W_PER_CORE` W per loaded core); None where the stored files do not say (older builds), never 0."""

    build_cpu_s: float | None
    fit_cpu_s: float | None
    energy_wh: float | None


def compute_footprint(manifest: dict, meta: dict) -> ComputeFootprint:
    build = (manifest.get("build") or {}).get("cpu_seconds")
    fit = (meta.get("training") or {}).get("cpu_seconds")
    energy = (build + fit) * W_PER_CORE / 3600 if build is not None and fit is not None else None
    return ComputeFootprint(build, fit, energy)


def linear_model(meta: dict) -> LinearModel:
    return LinearModel.from_dict(meta["linear"])


def model_summary(meta: dict) -> dict:
    """The ``metrics`` block of ``info --json``."""
    m = meta["metrics"]
    keep = ("r2", "rmse_c", "mae_c", "n_folds")
    return {
        "spatial_cv": {k: m["spatial_cv"][k] for k in keep},
        "random_cv": {k: m["random_cv"][k] for k in keep},
        "model": meta["chosen"],
        "baselines_spatial_cv": {k: m["by_model"]["spatial_cv"][k] for k in ("baseline_mean", "baseline_vegetation")},
        "ridge_spatial_cv": m["by_model"]["spatial_cv"]["ridge"],
        "boosting_spatial_cv": m["by_model"]["spatial_cv"]["boosting"],
        "spatial_cv_without_water": m.get("spatial_cv_without_water"),
        "target": meta.get("target"),
        "tile_m": meta["folds"]["tile_m"],
        "n_train": meta["training"]["n_train"],
        "effects": {
            f: {"per": e["label_fr"], "effect_c": e["effect_c"], "interval_c": [e["lo_c"], e["hi_c"]]}
            for f, e in meta["effects"].items()
        },
        "warnings": meta.get("warnings", []),
        "reliable": is_reliable(meta),
    }


# -- Monitoring of completed works --------------------------------------------------------------------------


def monitor_territory(
    terr: Territory,
    works=None,
    years: tuple[int, int] | None = None,
    engine=None,
    n_boot: int = 2000,
):
    """Before/after estimates (:mod:`ilots.monitor`) for ``works`` (default: the territory's saved projects) on
    its stored summers (within ``years``, inclusive), with the scenario engine's predictions when ``engine`` is
    given (or a function making it, called only once the inputs are known to suffice: fitting a model is
    then not wasted on a refusal). Raises :class:`MonitoringInputError` (French) when there is no project or
    fewer than two summers, :class:`NoOverlapError` when no project lies on the territory."""
    import shapely

    from .errors import MonitoringInputError, NoOverlapError
    from .monitor import monitor_projects, predict_projects
    from .restat import summer_tables

    works = terr.works() if works is None else works
    if works is None or works.empty:
        raise MonitoringInputError(
            f"{terr.name} : aucune réalisation à suivre ; donnez un fichier (python -m ilots monitor … --works "
            "realisations.gpkg) ou dessinez-les sur la page « Suivi des réalisations »."
        )
    on_territory = works.geometry.intersects(shapely.box(*terr.blocks.total_bounds))
    if not on_territory.any():
        raise NoOverlapError(f"Aucune réalisation ne se trouve sur le territoire {terr.name}.")
    works = works[on_territory]
    summers, index = terr.summers()
    if years is not None:
        summers = {y: da for y, da in summers.items() if years[0] <= y <= years[1]}
    if len(summers) < 2:
        raise MonitoringInputError(
            f"{terr.name} : {len(summers)} été de température enregistré pour le suivi, il en faut au moins deux "
            "(avant et après les travaux) ; ajoutez-en : python -m ilots monitor DOSSIER --lst 2019=scene … ou "
            "--fetch-years 2016-2024."
        )
    block_lst, works_lst = summer_tables(terr, summers, works)
    skipped = {int(y): why for y, why in index["skipped"].items() if years is None or years[0] <= int(y) <= years[1]}
    result = monitor_projects(terr.blocks, block_lst, works, works_lst, n_boot=n_boot, year_notes=skipped)
    result.summer_dates = {y: index["summers"][str(y)].get("dates", []) for y in result.years}
    if engine is not None:
        predict_projects(engine() if callable(engine) else engine, works, result)
    return result


# -- Cool refuges within walking distance --------------------------------------------------------------------


@dataclass
class RefugeReport:
    """Walking distances to the nearest cool refuge (:mod:`ilots.refuges`), today and with added refuges."""

    refuges: object  # GeoDataFrame of the refuges (working CRS)
    access: pd.DataFrame  # per block: refuge_walk_m, refuge_walk_min
    summary: dict  # residents (or blocks) beyond 300 m
    added: object | None = None  # the refuges a scenario adds
    access_after: pd.DataFrame | None = None
    summary_after: dict | None = None
    graph: object | None = None  # the walkable street graph (ilots.refuges.WalkGraph), reused for facilities


def bdtopo_source(terr: Territory) -> str:
    """The BD TOPO source the territory was built from (a path inside it for the demo and fetch); raises
    :class:`MissingLayerError` in French when it is absent or moved."""
    from pathlib import Path

    from .errors import MissingLayerError

    for entry in terr.manifest.get("sources", []):
        if entry.get("role") == "bdtopo" and entry.get("path"):
            path = Path(entry["path"])
            path = path if path.is_absolute() else terr.path / path
            if path.exists():
                return str(path)
            raise MissingLayerError(
                f"{terr.name} : la BD TOPO de la construction ({path}) est introuvable ; reconstruisez le territoire "
                "avec --bdtopo pour calculer les distances à pied."
            )
    raise MissingLayerError(
        f"{terr.name} a été construit sans BD TOPO : les distances à pied demandent son réseau routier "
        "(troncon_de_route) ; reconstruisez-le avec --bdtopo."
    )


def refuges_territory(terr: Territory, points=None, added=None, rules=None) -> RefugeReport:
    """Walking distance from every block to the nearest cool refuge along the territory's BD TOPO streets, and
    the residents beyond 300 m (about 5 minutes); ``points``: cool public buildings the user gives;
    ``added``: polygons a scenario turns into refuges (a new park, a schoolyard opened in summer)."""
    from .errors import MissingLayerError
    from .refuges import RefugeRules, far_from_refuges, refuge_access, refuges_from_bdtopo, walk_graph
    from .sources.bdtopo import read_bdtopo

    rules = rules or RefugeRules()
    crs = terr.blocks.crs
    bd = read_bdtopo(
        bdtopo_source(terr),
        crs,
        bbox=tuple(float(v) for v in terr.blocks.total_bounds),
        only=("troncon_de_route", "zone_de_vegetation", "surface_hydrographique"),  # not the buildings
    )
    roads = bd.get("troncon_de_route")
    if roads is None or roads.empty:
        raise MissingLayerError(f"{terr.name} : la BD TOPO n'a pas de tronçons de route sur le territoire.")
    graph = walk_graph(roads, rules)
    refuges = refuges_from_bdtopo(bd.get("zone_de_vegetation"), bd.get("surface_hydrographique"), points, rules)
    residents = terr.blocks.get("residents")
    access = refuge_access(terr.blocks, graph, refuges, rules)
    report = RefugeReport(refuges, access, far_from_refuges(access, residents), graph=graph)
    if added is not None and len(added):
        report = with_added_refuges(report, terr.blocks, added, rules)
    return report


def with_added_refuges(report: RefugeReport, blocks, added, rules=None) -> RefugeReport:
    """``report`` (today's walks) with the walks once ``added`` (polygons: a new park, a schoolyard opened in
    summer) are refuges too: the street graph and today's refuges are reused, not read again."""
    import dataclasses

    import geopandas as gpd

    from .refuges import RefugeRules, far_from_refuges, refuge_access

    crs = blocks.crs
    n = len(added)
    extra = gpd.GeoDataFrame(
        {"kind": ["ajouté"] * n, "name": [None] * n}, geometry=added.to_crs(crs).geometry.values, crs=crs
    )
    both = gpd.GeoDataFrame(pd.concat([report.refuges, extra], ignore_index=True), geometry="geometry", crs=crs)
    after = refuge_access(blocks, report.graph, both, rules or RefugeRules())
    return dataclasses.replace(
        report, added=extra, access_after=after, summary_after=far_from_refuges(after, blocks.get("residents"))
    )


# -- Sensitive facilities ------------------------------------------------------------------------------------


def facilities_territory(terr: Territory, files=(), model_table: pd.DataFrame | None = None, refuges=None):
    """The territory's sensitive facilities (BD TOPO places of interest, those kept with the territory, plus
    ``files``: FINESS, BPE or any points or polygons) with the heat of their place
    (:func:`ilots.facilities.facility_exposure`): their block's surface temperature and, with ``model_table``,
    risk class and probability of high risk; with ``refuges`` (a :class:`RefugeReport`), the walk to the
    nearest cool refuge. Returns (facilities GeoDataFrame, exposure table), hottest surroundings first."""
    import geopandas as gpd
    import shapely

    from .facilities import facilities_from_bdtopo, facility_exposure, read_facilities
    from .sources.bdtopo import read_bdtopo
    from .store import read_facilities_file

    crs = terr.blocks.crs
    kept = read_facilities_file(terr.path)
    parts = [] if kept is None else [kept.to_crs(crs)]
    try:
        bbox = tuple(float(v) for v in terr.blocks.total_bounds)
        bd = read_bdtopo(bdtopo_source(terr), crs, bbox=bbox, only=("zone_d_activite_ou_d_interet",))
        parts.append(facilities_from_bdtopo(bd.get("zone_d_activite_ou_d_interet")))
    except IlotsError:
        if not files and kept is None:
            raise
    parts += [read_facilities(f, crs) for f in files]
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame({"kind": [], "name": [], "source": []}, geometry=[], crs=crs), pd.DataFrame()
    facilities = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    box = shapely.box(*terr.blocks.total_bounds)
    facilities = facilities[facilities.geometry.intersects(box)].reset_index(drop=True)
    if model_table is None:
        blocks = terr.blocks
    else:
        blocks = terr.blocks.join(
            model_table[[c for c in ("lst_used_c", "risk_class", "p_high_risk") if c in model_table]]
        )
    walk = None
    if refuges is not None:
        from .refuges import walking_distance

        walk = walking_distance(refuges.graph, refuges.refuges, facilities.geometry.representative_point().values)
    table = facility_exposure(facilities, blocks, walk_m=walk)
    order = table["lst_around_c"].fillna(-np.inf).sort_values(ascending=False).index
    return facilities.loc[order], table.loc[order]


# -- Night-time heat beside the daytime surface --------------------------------------------------------------


@dataclass
class NightReport:
    """The night layer of a territory (:mod:`ilots.night`) beside its observed daytime surface temperature.

    ``table`` (index: block id): ``day_lst_c`` (observed, Landsat ≈ 11 h) and ``day_anomaly_c``; with SLSTR
    nights ``night_lst_c``, ``night_n``, ``night_spread_c``, ``night_anomaly_c``; with an LCZ layer ``lcz``,
    ``lcz_name``, ``lcz_tendency``, ``lcz_share``; and ``day_night`` (see :data:`ilots.night.DAY_NIGHT_LABELS`)."""

    table: pd.DataFrame
    nights: list
    skipped: dict
    lcz_source: dict | None
    summary: dict
    spacing_m: float
    compared_with: str  # "slstr", "lcz" or "none": what the day/night classes compare the day with
    night_pixels: int = 0  # distinct Sentinel-3 pixels covering the blocks (most in one night)

    def few_pixels_note(self) -> str | None:
        """A French warning when too few night pixels cover the territory for its thirds to mean much."""
        from .night import FEW_NIGHT_PIXELS

        if self.compared_with != "slstr" or self.night_pixels >= FEW_NIGHT_PIXELS:
            return None
        return (
            f"{self.night_pixels} pixels de nuit seulement couvrent le territoire (≈ 1 km chacun) : la nuit ne "
            "distingue que quelques secteurs, et la comparaison avec le jour reste grossière."
        )


def night_territory(terr: Territory) -> NightReport | None:
    """The night layer of ``terr`` beside its observed day surface temperature, or None when neither a night
    scene nor an LCZ layer was added. The daytime model is not read: the night never enters it."""
    from .model import target_columns
    from .night import block_lcz, block_night, day_night_classes, day_night_summary
    from .store import night_index, read_lcz, read_night_pixels

    index = night_index(terr.path)
    pixels = read_night_pixels(terr.path)
    zones = read_lcz(terr.path)
    if (pixels is None or pixels.empty) and zones is None:
        return None
    blocks = terr.blocks
    target, _ = target_columns(blocks)
    day = blocks[target].astype("float64")
    table = pd.DataFrame({"day_lst_c": day, "day_anomaly_c": day - float(day.median())}, index=blocks.index)
    spacing, used = float("nan"), 0
    if pixels is not None and not pixels.empty:
        night = block_night(pixels, blocks, index["nights"])
        table = table.join(night.table)
        spacing, used = night.spacing_m, night.pixels
    if zones is not None:
        table = table.join(block_lcz(blocks, zones))
    compared = "slstr" if "night_lst_c" in table else ("lcz" if "lcz_tendency" in table else "none")
    table["day_night"] = day_night_classes(
        table["day_lst_c"], table.get("night_lst_c"), table.get("lcz_tendency") if compared == "lcz" else None
    )
    summary = day_night_summary(table["day_night"], blocks.get("residents"))
    return NightReport(table, index["nights"], index["skipped"], index["lcz"], summary, spacing, compared, used)
