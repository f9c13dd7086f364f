"""The heat model: block land surface temperature (``lst_land_c``, °C: the block's LST over pixels less
than half water, see :func:`target_columns`) explained by block features.

Two models side by side, evaluated on the same folds:

- **ridge**: a standardised linear model (RidgeCV), whose effects read as °C per +10 points of
  tree cover, per +10 m of height, ... It is always kept: explanations and scenarios use it.
- **boosting**: scikit-learn's HistGradientBoostingRegressor, with monotonic constraints that
  keep physics (more trees or water never warm; more sealing never cools). It handles missing
  values natively.

Honest evaluation (docs/science.md §3.3): **spatial cross-validation** is the headline — folds are
made of whole square tiles (1 km by default), so a block is never predicted by its neighbours —
reported beside ordinary random k-fold, and against two baselines: the training mean, and a
vegetation-only model (NDVI, else tree cover). The default model is the one with the lower
spatial-CV RMSE.

Blocks whose valid LST covers less than half their area (clouds, edges) are left out of the fit
but still predicted. Features missing for more than half of the training blocks are dropped;
others are imputed by their median with a missing-value indicator (ridge) or left missing
(boosting). Blocks are weighted by their valid LST area, capped at the 95th percentile, because a
block mean over more pixels is more precise, without letting a few very large blocks dominate.

Prediction intervals (90 %) come from the quantiles of the spatial-CV out-of-fold residuals
(split-conformal style). The linear effects get 90 % intervals from a spatial bootstrap: whole
tiles are resampled with replacement and the ridge refitted 200 times.

This module is pure: it never reads or writes files (see :mod:`ilots.store`).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.inspection import partial_dependence, permutation_importance
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import GroupKFold, KFold

from . import fr
from .errors import FitError
from .features import FEATURES
from .footprint import THERMAL_FWHM_M, THERMAL_PSF_SIGMA_M, matched_name
from .progress import Progress, noop

__all__ = [
    "TARGET",
    "CANDIDATE_FEATURES",
    "MIN_VALID_FRAC",
    "MAX_MISSING_SHARE",
    "EFFECT_UNITS",
    "LinearModel",
    "FitResult",
    "spatial_groups",
    "select_features",
    "fit_linear",
    "fit_models",
    "metrics",
]

TARGET = "lst_mean_c"  # the whole-block mean; the land-only mean is preferred where the build has it
LAND_TARGET = "lst_land_c"


def target_columns(table: pd.DataFrame) -> tuple[str, str]:
    """(target column, its valid-share column): the block's land-only LST when the build computed it, so
    that water inside blocks (a river's cool surface) neither lowers their hazard nor carries the fit."""
    if LAND_TARGET in table and table[LAND_TARGET].notna().any():
        return LAND_TARGET, "lst_land_valid_frac"
    return TARGET, "lst_valid_frac"


def matched_inputs(table: pd.DataFrame, features: list[str]) -> dict[str, str]:
    """Feature → its footprint-matched column (``<feature>_fp``) for the features whose matched share the
    table holds: the block LST is a mean of the thermal band's ~100 m blur, so the model reads each share
    as the sensor sees it and its effects are those of a change on the ground (ilots/footprint.py)."""
    return {
        f: matched_name(f)
        for f in features
        if matched_name(f) in table and table[matched_name(f)].notna().sum() >= table[f].notna().sum()
    }


def as_seen(table: pd.DataFrame, inputs: dict[str, str]) -> pd.DataFrame:
    """``table`` with each feature in ``inputs`` replaced by its matched column."""
    return table.assign(**{f: table[c] for f, c in inputs.items()}) if inputs else table


# Physical drivers of daytime surface temperature. Population and LST statistics are not drivers.
CANDIDATE_FEATURES = [
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
    "dist_water_m",
    "dist_green_m",
]
# built_frac is the reference land cover: the other fractions' effects read as "instead of built-up".
MIN_VALID_FRAC = 0.5
MAX_MISSING_SHARE = 0.5
MIN_NONZERO_SHARE = 0.05  # a feature non-zero in fewer training blocks cannot be estimated across folds
MIN_TRAINING_BLOCKS = 30
# Spatial-CV tiles: 1 km by default; a small territory (fewer than 3 tiles per fold) gets smaller tiles, never
# under 500 m (five times the thermal band's ~100 m footprint, so held-out tiles stay apart from training ones).
DEFAULT_TILE_M = 1000.0
MIN_AUTO_TILE_M = 500.0
# A target that varies less than this between blocks (°C, weighted SD) holds nothing to explain: a constant
# or quantised test raster, or a single-valued product.
MIN_TARGET_SD_C = 0.1
N_BOOTSTRAP = 200
INTERVAL = (0.05, 0.95)
# The step in which each effect is stated (value, French label of the step).
EFFECT_UNITS: dict[str, tuple[float, str]] = {
    "tree_frac": (0.10, "+10 points d'arbres"),
    "grass_frac": (0.10, "+10 points d'herbe"),
    "water_frac": (0.10, "+10 points d'eau"),
    "bare_frac": (0.10, "+10 points de sol nu"),
    "ndvi_mean": (0.10, "+0,1 de NDVI"),
    "building_coverage": (0.10, "+10 points d'emprise bâtie"),
    "building_height_m": (10.0, "+10 m de hauteur"),
    "built_volume_m3_per_m2": (1.0, "+1 m³/m² de volume bâti"),
    "road_frac": (0.10, "+10 points de chaussée"),
    "impervious_frac": (0.10, "+10 points imperméabilisés"),
    "dist_water_m": (100.0, "+100 m de l'eau"),
    "dist_green_m": (100.0, "+100 m d'un grand espace vert"),
}
MONOTONIC = {"tree_frac": -1, "grass_frac": -1, "water_frac": -1, "ndvi_mean": -1, "impervious_frac": 1}


@dataclass
class LinearModel:
    """A fitted ridge in raw units: ``prediction = intercept + design(X) @ coef``.

    ``design`` clips each feature to its training range (a linear model must not extrapolate
    beyond what it has seen; scenarios flag such edits), imputes missing values by the training
    median and appends a 0/1 missing indicator for the features listed in ``indicators``.
    Everything is plain numbers (JSON, no pickle).
    """

    features: list[str]
    lower: list[float]
    upper: list[float]
    medians: list[float]
    indicators: list[str]
    columns: list[str]
    coef: list[float]
    intercept: float
    alpha: float
    means: list[float]
    boot_coef: list[list[float]] = field(default_factory=list)
    boot_intercept: list[float] = field(default_factory=list)
    # Column read for a feature when it is not the feature itself: its footprint-matched share
    # (``tree_frac`` → ``tree_frac_fp``, see ilots/footprint.py). Effects stay per unit of the feature.
    inputs: dict[str, str] = field(default_factory=dict)

    def input_columns(self) -> list[str]:
        """The table column read for each feature, in order."""
        return [self.inputs.get(f, f) for f in self.features]

    def design(self, df: pd.DataFrame) -> np.ndarray:
        """Design matrix (n × len(columns)) in raw units."""
        parts = []
        raw = df.reindex(columns=self.input_columns()).to_numpy(dtype="float64")
        missing = np.isnan(raw)
        clipped = np.clip(raw, np.asarray(self.lower), np.asarray(self.upper))
        parts.append(np.where(missing, np.asarray(self.medians), clipped))
        for name in self.indicators:
            parts.append(missing[:, self.features.index(name)][:, None].astype("float64"))
        return np.hstack(parts) if parts else np.zeros((len(df), 0))

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.intercept + self.design(df) @ np.asarray(self.coef)

    def effect(self, feature: str) -> float:
        """°C per one raw unit of ``feature``."""
        return float(self.coef[self.columns.index(feature)])

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict) -> LinearModel:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class FitResult:
    """Everything the fit produces; ``to_json`` gives the metadata stored beside the territory."""

    linear: LinearModel
    chosen: str
    metrics: dict
    predictions: pd.DataFrame
    features: dict
    folds: dict
    effects: dict
    importance: dict
    partial_dependence: dict
    training: dict

    def to_json(self) -> dict:
        return {
            "target": self.training.get("target", TARGET),
            "chosen": self.chosen,
            "metrics": self.metrics,
            "features": self.features,
            "folds": self.folds,
            "effects": self.effects,
            "importance": self.importance,
            "partial_dependence": self.partial_dependence,
            "training": self.training,
            "linear": self.linear.to_dict(),
        }


@dataclass(frozen=True)
class IntervalBands:
    """Split-conformal 90 % intervals by third of predicted LST (Mondrian conformal prediction, Vovk et al.
    2005, *Algorithmic Learning in a Random World*, ch. 4): residuals are wider where the model predicts
    heat (dense centres mix hot roofs and shaded streets), and one band for all blocks under-covered the
    hottest third. ``edges`` (°C) split predictions into bands; ``lo``/``hi`` are each band's residual
    quantiles (°C, added to the prediction)."""

    edges: list[float]
    lo: list[float]
    hi: list[float]

    def offsets(self, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        band = np.searchsorted(np.asarray(self.edges), np.asarray(pred, dtype="float64"), side="right")
        return np.asarray(self.lo)[band], np.asarray(self.hi)[band]

    def to_dict(self) -> dict:
        return {"edges_c": self.edges, "lo_c": self.lo, "hi_c": self.hi}


MIN_BAND_BLOCKS = 40  # fewer residuals per band make its 5 % and 95 % quantiles too unstable


def spatial_folds(splitter, X, y, groups) -> np.ndarray:
    """Fold number of each training block under ``splitter`` (the same folds as the out-of-fold pass)."""
    fold = np.zeros(len(y), dtype="int64")
    for k, (_, te) in enumerate(splitter.split(X, y, groups)):
        fold[te] = k
    return fold


def interval_bands(pred_oof: np.ndarray, resid_oof: np.ndarray, n_bands: int = 3, level: float = 0.90) -> IntervalBands:
    """Residual quantiles (central ``level``) per band of out-of-fold prediction; as many bands (at most
    ``n_bands``) as keep :data:`MIN_BAND_BLOCKS` residuals in each."""
    n = max(1, min(n_bands, len(pred_oof) // MIN_BAND_BLOCKS))
    edges = [float(e) for e in np.quantile(pred_oof, np.arange(1, n) / n)] if n > 1 else []
    band = np.searchsorted(np.asarray(edges), pred_oof, side="right")
    lo, hi = [], []
    for b in range(n):
        q = np.quantile(resid_oof[band == b], [(1 - level) / 2, (1 + level) / 2])
        lo.append(float(q[0]))
        hi.append(float(q[1]))
    return IntervalBands(edges, lo, hi)


def interval_coverage(y: np.ndarray, pred_oof: np.ndarray, fold: np.ndarray, level: float = 0.90) -> dict:
    """Honest coverage of the 90 % intervals: for each spatial fold, bands calibrated on the other folds'
    residuals are applied to its out-of-fold predictions. Shares of training blocks inside their interval:
    overall, in the hottest third by prediction, and in the hottest third by observation (the hardest:
    selecting on the outcome favours blocks the model under-predicts)."""
    inside = np.zeros(len(y), dtype=bool)
    for k in np.unique(fold):
        held = fold == k
        bands = interval_bands(pred_oof[~held], y[~held] - pred_oof[~held], level=level)
        lo, hi = bands.offsets(pred_oof[held])
        inside[held] = (y[held] >= pred_oof[held] + lo) & (y[held] <= pred_oof[held] + hi)
    return {
        "level": level,
        "overall": float(inside.mean()),
        "hottest_third_predicted": float(inside[pred_oof >= np.quantile(pred_oof, 2 / 3)].mean()),
        "hottest_third_observed": float(inside[y >= np.quantile(y, 2 / 3)].mean()),
        "how": "bandes calibrées sans le pli évalué (validation spatiale)",
    }


def small_cluster_factor(n_clusters: int, level: float = 0.90) -> float:
    """Factor widening a cluster bootstrap's deviations when clusters are few: Student's t with G − 1
    degrees of freedom instead of the normal, and the G / (G − 1) finite-cluster correction."""
    from scipy.stats import norm, t

    g = max(int(n_clusters), 3)
    q = (1 + level) / 2
    return float(t.ppf(q, g - 1) / norm.ppf(q) * np.sqrt(g / (g - 1)))


LEVELS = (0.90, 0.92, 0.94, 0.96, 0.98)


def calibrated_level(y: np.ndarray, pred_oof: np.ndarray, fold: np.ndarray, target: float = 0.90) -> tuple[float, dict]:
    """The smallest nominal level (of :data:`LEVELS`) whose held-out-fold coverage reaches ``target``, overall
    and in the hottest third by prediction (where a decision is made):
    residuals are spatially clustered, so quantiles of all residuals cover a new area less often than
    nominal. Returns (level, its coverage report); the widest level when none reaches the target."""
    for level in LEVELS:
        cov = interval_coverage(y, pred_oof, fold, level)
        if cov["overall"] >= target and cov["hottest_third_predicted"] >= target:
            break
    return level, cov


def spatial_groups(blocks: gpd.GeoDataFrame, tile_m: float) -> np.ndarray:
    """Tile id of each block (square tiles of ``tile_m`` metres, by representative point)."""
    pts = blocks.geometry.representative_point()
    tx = np.floor(pts.x.to_numpy() / tile_m).astype("int64")
    ty = np.floor(pts.y.to_numpy() / tile_m).astype("int64")
    return tx * 1_000_003 + ty


def select_features(table: pd.DataFrame, train: np.ndarray, available: dict | None = None) -> tuple[list[str], dict]:
    """Features usable for the fit and, for every candidate, why it is kept or dropped."""
    kept, report = [], {}
    for name in CANDIDATE_FEATURES:
        if name not in table or (available is not None and not available.get(name, {}).get("available", False)):
            report[name] = {"used": False, "reason": "source absente"}
            continue
        col = table.loc[train, name]
        share = float(col.isna().mean())
        if share > MAX_MISSING_SHARE:
            report[name] = {
                "used": False,
                "reason": f"manquant pour {share:.0%} des îlots d'apprentissage",
                "missing_share": share,
            }
            continue
        if np.nanstd(col.to_numpy(dtype="float64")) < 1e-9:
            report[name] = {"used": False, "reason": "constant sur le territoire"}
            continue
        nonzero = float((col.fillna(0) != 0).mean())
        if nonzero < MIN_NONZERO_SHARE:
            report[name] = {
                "used": False,
                "reason": f"non nul dans seulement {nonzero:.0%} des îlots",
                "nonzero_share": nonzero,
            }
            continue
        kept.append(name)
        valid = col.dropna()
        report[name] = {
            "used": True,
            "missing_share": share,
            "imputation": "médiane + indicateur de valeur manquante (ridge), valeur manquante (boosting)"
            if share > 0
            else None,
            "range": [float(valid.min()), float(valid.max())],
            "p01_p99": [float(valid.quantile(0.01)), float(valid.quantile(0.99))],
            "unit": FEATURES[name].unit,
            "label_fr": FEATURES[name].label_fr,
        }
    if not kept:
        raise FitError(
            "Aucun indicateur utilisable pour expliquer la température : ajoutez l'occupation du sol ou la BD TOPO."
        )
    return kept, report


def _weights(table: pd.DataFrame, valid_col: str = "lst_valid_frac") -> np.ndarray:
    valid_area = (table[valid_col] * table["area_m2"]).to_numpy(dtype="float64")
    cap = np.nanquantile(valid_area, 0.95) if len(valid_area) else 1.0
    w = np.clip(valid_area, 1e-6, cap)
    return w / w.mean()


def fit_linear(
    X: pd.DataFrame, y: np.ndarray, w: np.ndarray, features: list[str], alpha: float | None = None
) -> LinearModel:
    """Standardised ridge (alpha by efficient leave-one-out CV unless given) returned in raw units."""
    raw = X[features].to_numpy(dtype="float64")
    missing = np.isnan(raw)
    medians = np.nanmedian(raw, axis=0)
    indicators = [f for i, f in enumerate(features) if missing[:, i].any()]
    model = LinearModel(
        features,
        np.nanmin(raw, axis=0).tolist(),
        np.nanmax(raw, axis=0).tolist(),
        medians.tolist(),
        indicators,
        features + [f"{f}__missing" for f in indicators],
        [],
        0.0,
        0.0,
        [],
    )
    D = model.design(X)
    means = np.average(D, axis=0, weights=w)
    scales = np.sqrt(np.average((D - means) ** 2, axis=0, weights=w))
    scales[scales < 1e-12] = 1.0
    Z = (D - means) / scales
    if alpha is None:
        reg = RidgeCV(alphas=np.logspace(-3, 3, 25)).fit(Z, y, sample_weight=w)
        alpha = float(reg.alpha_)
    else:
        reg = Ridge(alpha=alpha).fit(Z, y, sample_weight=w)
    coef = reg.coef_ / scales
    model.coef = coef.tolist()
    model.intercept = float(reg.intercept_ - means @ coef)
    model.alpha = alpha
    model.means = means.tolist()
    return model


def _boosting(features: list[str]) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=200,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        monotonic_cst={f: MONOTONIC[f] for f in features if f in MONOTONIC},
        random_state=0,
    )


def metrics(y: np.ndarray, pred: np.ndarray) -> dict:
    """R², RMSE and MAE (°C) of predictions."""
    return {
        "r2": float(r2_score(y, pred)),
        "rmse_c": float(np.sqrt(mean_squared_error(y, pred))),
        "mae_c": float(mean_absolute_error(y, pred)),
    }


def ridge_features(features: list[str]) -> list[str]:
    """The ridge's features: NDVI is left out when land-cover fractions are used, since both measure
    vegetation and a linear model would split one effect between two collinear terms."""
    if "ndvi_mean" in features and any(f in features for f in ("tree_frac", "grass_frac")):
        return [f for f in features if f != "ndvi_mean"]
    return list(features)


def _oof(
    splitter,
    X,
    y,
    w,
    groups,
    features,
    baseline_feature,
    models=("ridge", "boosting", "baseline_mean", "baseline_vegetation"),
):
    """Out-of-fold predictions of ridge, boosting and the two baselines (or those in ``models``) on the same folds."""
    n = len(y)
    out = {k: np.full(n, np.nan) for k in models}
    n_folds = 0
    for tr, te in splitter.split(X, y, groups):
        n_folds += 1
        if "ridge" in out:
            lin = fit_linear(X.iloc[tr], y[tr], w[tr], ridge_features(features))
            out["ridge"][te] = lin.predict(X.iloc[te])
        if "boosting" in out:
            gb = _boosting(features).fit(X.iloc[tr][features], y[tr], sample_weight=w[tr])
            out["boosting"][te] = gb.predict(X.iloc[te][features])
        if "baseline_mean" in out:
            out["baseline_mean"][te] = np.average(y[tr], weights=w[tr])
        if "baseline_vegetation" in out:
            base = fit_linear(X.iloc[tr], y[tr], w[tr], [baseline_feature])
            out["baseline_vegetation"][te] = base.predict(X.iloc[te])
    return out, n_folds


# Threads for BLAS and OpenMP (gradient boosting) during a fit. One: blocks number in thousands, where
# threads buy little, and on a busy 2-core server (the dashboard's other sessions, a build) unbounded
# pools oversubscribed the cores and a 12 s fit took 13 to 20 minutes (bench/fit.py).
FIT_THREADS = 1


DISTANCE_FEATURES = ("dist_water_m", "dist_green_m")


def _choose_configuration(spatial, X, y, w, groups, features) -> tuple[str, list[str], list[dict]]:
    """Block weights (valid LST area, or uniform) and whether to keep the distance features, chosen by the
    ridge's spatial-CV RMSE on the same folds. Four candidates at most, each a ridge-only pass (cheap); the
    search is stored so the choice can be checked. Returns (weighting, features dropped, search)."""
    dist = [f for f in DISTANCE_FEATURES if f in features]
    options = [[]] + ([dist] if dist and len(features) > len(dist) else [])
    search = []
    for weighting, weights in (("area", w), ("uniform", np.ones(len(y)))):
        for drop in options:
            kept = [f for f in features if f not in drop]
            oof, _ = _oof(spatial, X, y, weights, groups, kept, kept[0], models=("ridge",))
            search.append({"weights": weighting, "dropped": drop, **metrics(y, oof["ridge"])})
    best = min(search, key=lambda r: (round(r["rmse_c"], 4), r["weights"] != "area", len(r["dropped"])))
    return best["weights"], list(best["dropped"]), search


def fit_models(
    blocks: gpd.GeoDataFrame,
    available: dict | None = None,
    tile_m: float | None = None,
    n_folds: int = 5,
    seed: int = 0,
    threads: int | None = FIT_THREADS,
    progress: Progress | None = None,
) -> FitResult:
    """Fit both models, cross-validate them spatially and randomly, and predict every block.

    ``blocks`` is a territory's block table (working CRS, metres); ``available`` its manifest's
    feature availability. ``threads`` bounds the BLAS and OpenMP pools (None: libraries' defaults).
    ``progress(message_fr, fraction)`` is told each stage (see :mod:`ilots.progress`).
    Raises :class:`FitError` when too few blocks have a valid LST, or their LST hardly varies.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return _fit_models(blocks, available, tile_m, n_folds, seed, progress or noop)


def _fit_models(blocks, available, tile_m, n_folds, seed, progress) -> FitResult:
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    table = pd.DataFrame(blocks.drop(columns=blocks.geometry.name))
    target, valid_col = target_columns(table)
    train = (table[target].notna() & (table[valid_col] >= MIN_VALID_FRAC)).to_numpy()
    if train.sum() < MIN_TRAINING_BLOCKS:
        raise FitError(
            f"Trop peu d'îlots avec une température valide pour ajuster un modèle "
            f"({int(train.sum())}, il en faut au moins {MIN_TRAINING_BLOCKS})."
        )
    progress("Choix des indicateurs et des réglages du modèle (validation spatiale)", 0.05)
    features, feature_report = select_features(table, train, available)
    # Shares as the thermal sensor sees them (footprint-matched) where the build made them.
    inputs = matched_inputs(table, features)
    unmatched = table
    table = as_seen(table, inputs)
    X = table.loc[train].reset_index(drop=True)
    y = X[target].to_numpy(dtype="float64")
    spread = float(np.std(y))
    if spread < MIN_TARGET_SD_C or len(np.unique(np.round(y, 2))) < 5:
        raise FitError(
            f"La température de surface varie trop peu entre îlots (écart-type {fr.temp(spread, 2)} sur "
            f"{len(y)} îlots) : il n'y a rien à expliquer ; vérifiez le raster de température."
        )
    w = _weights(X, valid_col)
    asked = tile_m
    if tile_m is None:  # default: 1 km tiles, halved (down to 500 m) until a small territory has 3 tiles a fold
        tile_m = DEFAULT_TILE_M
        while tile_m / 2 >= MIN_AUTO_TILE_M and len(np.unique(spatial_groups(blocks, tile_m)[train])) < 3 * n_folds:
            tile_m /= 2
    groups_all = spatial_groups(blocks, tile_m)
    groups = groups_all[train]
    n_tiles = len(np.unique(groups))
    k_spatial = int(min(n_folds, n_tiles))
    if k_spatial < 2:
        raise FitError(
            f"Le territoire tient dans une seule tuile de {tile_m:.0f} m : réduisez la taille des tuiles de validation."
        )
    baseline_feature = (
        "ndvi_mean" if "ndvi_mean" in features else ("tree_frac" if "tree_frac" in features else features[0])
    )
    spatial = GroupKFold(n_splits=k_spatial, shuffle=True, random_state=seed)
    random_ = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        weighting, dropped, search = _choose_configuration(spatial, X, y, w, groups, features)
    if weighting == "uniform":
        w = np.ones(len(y))
    for f in dropped:
        features.remove(f)
        feature_report[f] = {
            "used": False,
            "reason": "écarté : n'améliore pas la validation spatiale du modèle linéaire",
        }
    progress("Validation croisée : quartiers entiers mis de côté, puis îlots au hasard", 0.35)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        oof_s, nf_s = _oof(spatial, X, y, w, groups, features, baseline_feature)
        oof_r, nf_r = _oof(random_, X, y, w, None, features, baseline_feature)
    report = {
        "spatial_cv": {name: metrics(y, p) for name, p in oof_s.items()},
        "random_cv": {name: metrics(y, p) for name, p in oof_r.items()},
    }
    chosen = (
        "ridge" if report["spatial_cv"]["ridge"]["rmse_c"] <= report["spatial_cv"]["boosting"]["rmse_c"] else "boosting"
    )
    # The same spatial folds without the water features: how much of the skill water inside or near blocks carries.
    progress("Contrôles : le modèle sans l'eau, et sans la correction de l'empreinte du capteur", 0.55)
    water = [f for f in ("water_frac", "dist_water_m") if f in features]
    without_water = None
    if water and len(features) > len(water):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            dry = [f for f in features if f not in water]
            oof_d, _ = _oof(
                spatial, X, y, w, groups, dry, baseline_feature if baseline_feature in dry else dry[0], models=(chosen,)
            )
        without_water = {**metrics(y, oof_d[chosen]), "features_left_out": water, "model": chosen}
    # The same ridge on the sharp shares: how much matching the sensor's footprint changes the skill.
    raw_cv = None
    if inputs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            oof_u, _ = _oof(
                spatial,
                unmatched.loc[train].reset_index(drop=True),
                y,
                w,
                groups,
                features,
                features[0],
                models=("ridge",),
            )
        raw_cv = {**metrics(y, oof_u["ridge"]), "model": "ridge"}
    headline = {
        "spatial_cv_without_water": without_water,
        "spatial_cv_unmatched_ridge": raw_cv,
        "spatial_cv": {**report["spatial_cv"][chosen], "n_folds": nf_s, "model": chosen},
        "random_cv": {**report["random_cv"][chosen], "n_folds": nf_r, "model": chosen},
        "by_model": report,
        "baseline_vegetation_feature": baseline_feature,
        "n_train": int(train.sum()),
    }

    progress("Ajustement final sur tous les îlots", 0.65)
    # Final models on every training block.
    linear = fit_linear(X, y, w, ridge_features(features))
    boosting = _boosting(features).fit(X[features], y, sample_weight=w)
    all_rows = table
    pred_lin = linear.predict(all_rows)
    pred_gb = boosting.predict(all_rows[features])
    pred = pred_lin if chosen == "ridge" else pred_gb
    resid_oof = y - oof_s[chosen]
    q_lo, q_hi = np.quantile(resid_oof, INTERVAL)
    level, coverage = calibrated_level(y, oof_s[chosen], spatial_folds(spatial, X, y, groups))
    bands = interval_bands(oof_s[chosen], resid_oof, level=level)
    lo_c, hi_c = bands.offsets(pred)
    predictions = pd.DataFrame(
        {
            "lst_pred_c": pred,
            "lst_pred_lo_c": pred + lo_c,
            "lst_pred_hi_c": pred + hi_c,
            "lst_pred_linear_c": pred_lin,
            "residual_c": table[target].to_numpy() - pred,
            "in_fit": train,
        },
        index=blocks.index,
    )
    oof_col = np.full(len(table), np.nan)
    oof_col[train] = oof_s[chosen]
    predictions["lst_oof_c"] = oof_col

    # Spatial bootstrap of the ridge (fixed alpha): intervals of effects and of scenario deltas. Whole tiles
    # are resampled (residuals are spatially clustered), and with several dates each tile's target moves by
    # a draw of its between-date uncertainty (half the levelled dates' spread), shared by the tile's blocks:
    # the dates disagree by area (a cloud edge, a wind change), not block by block.
    progress("Incertitudes : rééchantillonnage des quartiers", 0.75)
    rng = np.random.default_rng(seed)
    tiles = np.unique(groups)
    boot_coef, boot_int = [], []
    by_tile = {t: np.flatnonzero(groups == t) for t in tiles}
    tile_of = np.searchsorted(tiles, groups)
    date_sd = (
        np.nan_to_num(X["lst_date_spread_c"].to_numpy(dtype="float64")) / 2.0
        if "lst_date_spread_c" in X
        else np.zeros(len(y))
    )
    for _ in range(N_BOOTSTRAP):
        pick = rng.choice(tiles, size=len(tiles), replace=True)
        idx = np.concatenate([by_tile[t] for t in pick])
        y_b = y + rng.standard_normal(len(tiles))[tile_of] * date_sd
        try:
            b = fit_linear(X.iloc[idx], y_b[idx], w[idx], linear.features, alpha=linear.alpha)
        except ValueError:
            continue
        if b.columns != linear.columns:  # a resample without missing values lacks an indicator column
            continue
        boot_coef.append(b.coef)
        boot_int.append(b.intercept)
    # Few tiles make the bootstrap spread too narrow: deviations are widened by the small-cluster factor
    # t(G−1) / z × √(G / (G−1)) (Cameron, Gelbach & Miller 2008, Rev. Econ. Stat. 90:414), G tiles.
    widen = small_cluster_factor(len(tiles))
    if boot_coef:
        centre = np.median(np.asarray(boot_coef), axis=0)
        boot_coef = (centre + widen * (np.asarray(boot_coef) - centre)).tolist()
        c0 = float(np.median(boot_int))
        boot_int = [c0 + widen * (b - c0) for b in boot_int]
    linear.boot_coef = boot_coef
    linear.boot_intercept = boot_int
    B = np.asarray(boot_coef) if boot_coef else np.empty((0, len(linear.columns)))
    effects = {}
    for f in linear.features:
        step, label = EFFECT_UNITS[f]
        j = linear.columns.index(f)
        lo, hi = np.quantile(B[:, j] * step, INTERVAL) if len(B) else (np.nan, np.nan)
        effects[f] = {
            "per": step,
            "label_fr": label,
            "effect_c": linear.coef[j] * step,
            "lo_c": float(lo),
            "hi_c": float(hi),
        }

    # Global explanations: permutation importance (RMSE increase, °C) and partial dependence.
    importance = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, est_predict in (("ridge", None), ("boosting", boosting)):
            if est_predict is None:
                est = _LinearEstimator(linear)
                data = X
            else:
                est, data = boosting, X[features]
            used = linear.features if est_predict is None else features
            r = permutation_importance(
                est,
                data[used],
                y,
                scoring="neg_root_mean_squared_error",
                n_repeats=5,
                random_state=seed,
                sample_weight=w,
            )
            importance[name] = {f: float(r.importances_mean[i]) for i, f in enumerate(used)}
        order = sorted(importance[chosen], key=lambda f: -importance[chosen][f])
        pdp = {}
        for f in order[:6]:
            pd_res = partial_dependence(boosting, X[features], [f], grid_resolution=20, kind="average", method="brute")
            grid = pd_res["grid_values"][0]
            lin_line = [float(linear.predict(X.assign(**{f: g})).mean()) for g in grid]
            pdp[f] = {"grid": grid.tolist(), "boosting_c": pd_res["average"][0].tolist(), "ridge_c": lin_line}

    # From now on the model reads the matched columns of any block table (predictions, explanations, scenarios).
    linear.inputs = {f: c for f, c in inputs.items() if f in linear.features}
    training = {
        "footprint": {"matched": sorted(inputs), "fwhm_m": THERMAL_FWHM_M, "sigma_m": round(THERMAL_PSF_SIGMA_M, 1)},
        "n_blocks": int(len(table)),
        "n_train": int(train.sum()),
        "n_excluded_low_valid": int((~train & table[target].notna().to_numpy()).sum()),
        "target": target,
        "min_valid_frac": MIN_VALID_FRAC,
        "weights": (
            "surface de pixels LST valides, plafonnée au 95e centile"
            if weighting == "area"
            else "uniformes (meilleures en validation spatiale que la surface de pixels valides)"
        ),
        "configuration_search": search,
        "target_mean_c": float(np.average(y, weights=w)),
        "interval": (
            "90 % : quantiles 5–95 % des résidus hors échantillon de la validation spatiale, "
            "par tiers de température prédite"
        ),
        "residual_quantiles_c": [float(q_lo), float(q_hi)],
        "interval_bands": bands.to_dict(),
        "interval_coverage": coverage,
        "ridge_alpha": linear.alpha,
        "n_bootstrap": len(boot_coef),
        "bootstrap": {
            "tiles": int(len(tiles)),
            "widening": round(widen, 3),
            "dates": "écart entre dates tiré par tuile"
            if "lst_date_spread_c" in X and np.isfinite(X["lst_date_spread_c"]).any()
            else None,
        },
        "sklearn": sklearn.__version__,
        "cpu_seconds": round(time.process_time() - t_cpu, 2),
        "wall_seconds": round(time.perf_counter() - t_wall, 2),
    }
    folds = {
        "kind": "tuiles carrées",
        "tile_m": tile_m,
        "tile_m_asked": asked,
        "n_tiles": int(n_tiles),
        "n_folds": nf_s,
        "random_n_folds": nf_r,
        "seed": seed,
    }
    return FitResult(linear, chosen, headline, predictions, feature_report, folds, effects, importance, pdp, training)


class _LinearEstimator(RegressorMixin, BaseEstimator):
    """Adapter so sklearn.inspection can score a :class:`LinearModel` (already fitted).

    It receives only the model's features; columns it does not get are treated as missing."""

    def __init__(self, model: LinearModel | None = None):
        self.model = model

    def fit(self, X, y=None):  # pragma: no cover - required by the estimator protocol only
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict(self, X):
        return self.model.predict(pd.DataFrame(X, columns=self.model.features))
