"""The heat model on synthetic blocks with known coefficients and spatially correlated noise."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import ndimage

from ilots.errors import FitError
from ilots.model import fit_linear, fit_models, spatial_groups

TRUE = {"tree_frac": -6.0, "water_frac": -9.0, "building_height_m": 0.08, "impervious_frac": 4.0}
INTERCEPT = 38.0


def synthetic_blocks(n_side=40, size=60.0, noise_sd=0.6, corr_px=4.0, seed=1):
    """A grid of square blocks with known linear effects plus spatially correlated noise."""
    rng = np.random.default_rng(seed)
    xs, ys = np.meshgrid(np.arange(n_side), np.arange(n_side))
    geoms = shapely.box(
        xs.ravel() * size, ys.ravel() * size, xs.ravel() * size + size - 5, ys.ravel() * size + size - 5
    )
    n = n_side * n_side
    tree = rng.beta(1.5, 4, n)
    water = np.where(rng.random(n) < 0.15, rng.uniform(0.05, 0.5, n), 0.0)
    height = rng.gamma(2.0, 6.0, n)
    imperv = np.clip(0.9 - tree - water + rng.normal(0, 0.1, n), 0, 1)
    field = ndimage.gaussian_filter(rng.normal(size=(n_side, n_side)), corr_px)
    noise = noise_sd * field.ravel() / field.std()
    lst = (
        INTERCEPT
        + TRUE["tree_frac"] * tree
        + TRUE["water_frac"] * water
        + TRUE["building_height_m"] * height
        + TRUE["impervious_frac"] * imperv
        + noise
    )
    df = pd.DataFrame(
        {
            "tree_frac": tree,
            "water_frac": water,
            "building_height_m": height,
            "impervious_frac": imperv,
            "lst_mean_c": lst,
            "lst_valid_frac": 1.0,
            "area_m2": (size - 5) ** 2,
        }
    )
    df.index = pd.Index([f"B{i:04d}" for i in range(n)], name="block_id")
    return gpd.GeoDataFrame(df, geometry=geoms, crs=2154)


@pytest.fixture(scope="module")
def fitted():
    blocks = synthetic_blocks()
    return blocks, fit_models(blocks, tile_m=600.0)


def test_linear_model_recovers_known_coefficients(fitted):
    _, fit = fitted
    for feature, truth in TRUE.items():
        assert fit.linear.effect(feature) == pytest.approx(truth, rel=0.15, abs=0.02), feature


def test_spatial_cv_is_not_more_optimistic_than_random_cv(fitted):
    _, fit = fitted
    by = fit.metrics["by_model"]
    for model in ("ridge", "boosting"):
        assert by["spatial_cv"][model]["r2"] <= by["random_cv"][model]["r2"] + 1e-9
    assert fit.metrics["spatial_cv"]["r2"] > by["spatial_cv"]["baseline_mean"]["r2"] + 0.5
    assert fit.metrics["spatial_cv"]["n_folds"] == 5


def test_effect_intervals_and_prediction_intervals(fitted):
    blocks, fit = fitted
    tree = fit.effects["tree_frac"]
    assert tree["lo_c"] < tree["effect_c"] < tree["hi_c"] < 0  # per +10 points, negative
    inside = (blocks["lst_mean_c"] >= fit.predictions["lst_pred_lo_c"]) & (
        blocks["lst_mean_c"] <= fit.predictions["lst_pred_hi_c"]
    )
    assert 0.8 < inside.mean() < 0.98  # nominal 90 %


def test_low_valid_blocks_are_predicted_but_not_fitted():
    blocks = synthetic_blocks(n_side=20, size=80)
    blocks.loc[blocks.index[:50], "lst_valid_frac"] = 0.2
    blocks.loc[blocks.index[50:60], "lst_mean_c"] = np.nan
    fit = fit_models(blocks, tile_m=400.0)
    assert fit.training["n_train"] == 400 - 60
    assert not fit.predictions["in_fit"].iloc[:60].any()
    assert fit.predictions["lst_pred_c"].notna().all()


def test_partly_missing_feature_is_imputed_with_an_indicator_and_mostly_missing_is_dropped():
    blocks = synthetic_blocks(n_side=20, size=80)
    blocks.loc[blocks.index[:100], "building_height_m"] = np.nan  # 25 % missing
    blocks["ndvi_mean"] = np.nan
    blocks.loc[blocks.index[:50], "ndvi_mean"] = 0.3  # 87.5 % missing
    fit = fit_models(blocks, tile_m=400.0)
    assert fit.features["building_height_m"]["used"] and "building_height_m__missing" in fit.linear.columns
    assert not fit.features["ndvi_mean"]["used"] and "manquant" in fit.features["ndvi_mean"]["reason"]
    assert np.isfinite(fit.predictions["lst_pred_c"]).all()


def test_linear_model_clips_to_training_range():
    X = pd.DataFrame({"tree_frac": [0.0, 0.1, 0.2, 0.3]})
    m = fit_linear(X, np.array([40.0, 39.4, 38.8, 38.2]), np.ones(4), ["tree_frac"], alpha=1e-6)
    assert m.predict(pd.DataFrame({"tree_frac": [0.9]}))[0] == pytest.approx(
        m.predict(pd.DataFrame({"tree_frac": [0.3]}))[0]
    )


def test_too_few_blocks_is_a_clear_error():
    with pytest.raises(FitError, match="Trop peu"):
        fit_models(synthetic_blocks(n_side=4), tile_m=100.0)


def test_spatial_groups_are_tiles():
    blocks = synthetic_blocks(n_side=10, size=100)
    g = spatial_groups(blocks, 500.0)
    assert len(np.unique(g)) == 4


def test_a_constant_target_is_refused():
    blocks = synthetic_blocks(n_side=10)
    blocks["lst_mean_c"] = 38.0  # a test territory's flat raster
    with pytest.raises(FitError, match="varie trop peu"):
        fit_models(blocks, tile_m=300.0)


def test_a_fit_too_good_to_be_true_is_not_used_for_scenarios_and_says_why():
    from ilots.analysis import unreliable_reason

    assert unreliable_reason({"metrics": {"spatial_cv": {"r2": 0.6}}}) is None
    assert unreliable_reason({"metrics": {"spatial_cv": {"r2": 0.1}}}).startswith("Modèle non fiable")
    assert unreliable_reason({"metrics": {"spatial_cv": {"r2": 0.995}}}).startswith("Ajustement trop bon")


def test_the_fit_tells_its_stages_in_order():
    """Issue 17 §5: a first start shows the stages of the fit, not one spinner."""
    told = []
    fit_models(synthetic_blocks(n_side=20), tile_m=400.0, progress=lambda msg, f: told.append((msg, f)))
    fractions = [f for _m, f in told]
    assert len(told) >= 5 and fractions == sorted(fractions) and 0 < fractions[0] < fractions[-1] < 1
    assert any("Validation croisée" in m for m, _f in told) and any("Incertitudes" in m for m, _f in told)


def test_compute_footprint_is_unknown_not_zero_when_not_recorded():
    from ilots.analysis import W_PER_CORE, compute_footprint

    known = compute_footprint({"build": {"cpu_seconds": 2.0}}, {"training": {"cpu_seconds": 10.0}})
    assert known.energy_wh == pytest.approx(12.0 * W_PER_CORE / 3600)
    old = compute_footprint({"build": {}}, {"training": {"cpu_seconds": 10.0}})
    assert old.build_cpu_s is None and old.energy_wh is None and old.fit_cpu_s == 10.0
