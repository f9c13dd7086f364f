"""Effects not shrunk by the thermal sensor's blur (issue 12 §5): footprint-matched shares, on synthetic
fields with a known truth."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import ndimage

from ilots.footprint import (
    THERMAL_PSF_SIGMA_M,
    block_footprint_features,
    blur,
    matched_shares,
    rasterize_share,
    share_grid,
)
from ilots.model import fit_models
from ilots.zonal import coverage_weights, sparse_mean
from tests.conftest import make_raster, square_blocks

TREE_EFFECT_C = -6.5  # per unit of tree share, i.e. −0.65 °C per +10 points, as the demo town
RES = 10.0


def test_blur_keeps_a_uniform_field_and_leaves_missing_pixels_out():
    field = np.full((40, 40), 0.3)
    field[:, :5] = np.nan
    out = blur(make_raster(field, res=RES))
    assert np.isnan(out.values[:, :5]).all()
    assert np.nanmax(np.abs(out.values - 0.3)) < 1e-9  # NaN never counts as 0


def test_a_treeless_block_beside_a_wood_is_seen_with_some_trees_and_the_wood_with_fewer():
    blocks = square_blocks(100.0, 300.0)
    grid = share_grid(tuple(blocks.total_bounds), 2154)
    wood = blocks.geometry.iloc[[4]]  # the middle block is all trees
    share = rasterize_share(wood.values, grid)
    exact = pd.DataFrame({"tree_frac": np.where(blocks.index == blocks.index[4], 1.0, 0.0)}, index=blocks.index)
    fp = matched_shares(blocks, exact, {"tree_frac": share})["tree_frac_fp"]
    assert 0.35 < fp.iloc[4] < 0.6  # about 0.67² of a 1 ha square stays in it under a 42 m Gaussian
    neighbours = fp.drop(blocks.index[4])
    assert (neighbours > 0.02).all() and (neighbours < 0.3).all()
    # the blur only moves tree cover around: its total is kept (up to what leaves the 3 × 3 blocks)
    assert fp.sum() == pytest.approx(1.0, abs=0.05)


def test_matched_shares_of_a_surface_far_from_any_edge_are_exact():
    blocks = square_blocks(200.0, 1000.0)
    grid = share_grid(tuple(blocks.total_bounds), 2154)
    everywhere = shapely.box(*grid.rio.bounds())
    exact = pd.DataFrame({"road_frac": 1.0}, index=blocks.index)
    fp = matched_shares(blocks, exact, {"road_frac": rasterize_share([everywhere], grid)})["road_frac_fp"]
    assert fp.to_numpy() == pytest.approx(1.0, abs=1e-6)


def test_build_helper_matches_land_cover_and_vectors_and_keeps_missing_unknown():
    blocks = square_blocks(100.0, 300.0)
    classes = np.full((60, 60), 50, dtype="uint8")
    classes[25:35, 25:35] = 10  # the middle block is a wood
    landcover = make_raster(classes, res=RES, x0=599_850.0, y0=6_500_450.0)
    exact = pd.DataFrame(
        {
            "tree_frac": np.where(blocks.index == blocks.index[4], 1.0, 0.0),
            "grass_frac": 0.0,
            "building_coverage": 0.2,
            "water_frac": np.nan,
        },
        index=blocks.index,
    )
    out = block_footprint_features(
        blocks,
        exact,
        landcover,
        {"tree_frac": [10], "grass_frac": [20]},
        None,
        {"building_coverage": [blocks.geometry.iloc[0].buffer(-30)]},
    )
    assert set(out.columns) == {"tree_frac_fp", "grass_frac_fp", "building_coverage_fp"}  # water unknown: no column
    assert (out["tree_frac_fp"] > 0).all()  # the wood is seen from every block around it
    assert out["tree_frac_fp"].iloc[4] < 0.6
    assert out["grass_frac_fp"].to_numpy() == pytest.approx(0.0)


def test_ndvi_on_the_land_cover_grid_shares_its_coverage_weights(monkeypatch):
    """Issue 14 §1: NDVI on the land cover's grid (Sentinel-2 beside WorldCover, as Lyon's) reuses the land
    cover's coverage weights instead of computing them again (0.1 s of exactextract for Lyon), same values."""
    import ilots.footprint as fp

    blocks = square_blocks(100.0, 300.0)
    classes = np.full((60, 60), 50, dtype="uint8")
    classes[25:35, 25:35] = 10
    landcover = make_raster(classes, res=RES, x0=599_850.0, y0=6_500_450.0)
    ndvi = make_raster(np.linspace(-0.2, 0.9, 3600).reshape(60, 60), res=RES, x0=599_850.0, y0=6_500_450.0)
    exact = pd.DataFrame({"tree_frac": 0.1, "ndvi_mean": 0.3}, index=blocks.index)
    calls = []
    monkeypatch.setattr(fp, "coverage_weights", lambda grid, b: calls.append(grid.shape) or coverage_weights(grid, b))
    out = block_footprint_features(blocks, exact, landcover, {"tree_frac": [10]}, ndvi, {})
    assert calls == [(60, 60)]
    alone = matched_shares(blocks, exact, {"ndvi_mean": ndvi}, clip=(-1.0, 1.0))
    pd.testing.assert_series_equal(out["ndvi_mean_fp"], alone["ndvi_mean_fp"], check_exact=True)


def _synthetic_town(side_m: float, seed: int = 0) -> gpd.GeoDataFrame:
    """Square blocks over 4 km with a 10 m tree field of patches ~50–150 m; the surface temperature is
    linear in tree cover (truth TREE_EFFECT_C), seen through the sensor's Gaussian blur, plus smooth noise."""
    rng = np.random.default_rng(seed)
    extent = 4000.0
    blocks = square_blocks(side_m, extent)
    n = int(extent / RES) + 60
    x0, y0 = 600_000.0 - 300.0, 6_500_000.0 + extent + 300.0
    patches = ndimage.gaussian_filter(rng.normal(size=(n, n)), 6.0)
    tree = (patches > np.quantile(patches, 0.75)).astype("float64")
    temp = 42.5 + TREE_EFFECT_C * tree
    seen = ndimage.gaussian_filter(temp, THERMAL_PSF_SIGMA_M / RES)
    seen += 0.3 * ndimage.gaussian_filter(rng.normal(size=(n, n)), 25.0) / 0.01
    seen_da = make_raster(seen, res=RES, x0=x0, y0=y0)
    tree_da = make_raster(tree, res=RES, x0=x0, y0=y0)
    cw = coverage_weights(tree_da, blocks)
    table = pd.DataFrame(index=blocks.index)
    table["area_m2"] = blocks.area
    table["lst_mean_c"] = sparse_mean(cw, seen_da).to_numpy()
    table["lst_valid_frac"] = 1.0
    table["tree_frac"] = sparse_mean(cw, tree_da).to_numpy()
    table = table.join(matched_shares(blocks, table, {"tree_frac": tree_da}))
    return gpd.GeoDataFrame(table, geometry=blocks.geometry, crs=2154)


@pytest.mark.parametrize("side_m", [80.0, 180.0])
def test_the_fitted_tree_effect_recovers_its_truth_at_every_block_size(side_m):
    town = _synthetic_town(side_m)
    available = {"tree_frac": {"available": True}}
    fit = fit_models(town, available)
    effect = fit.effects["tree_frac"]
    truth = TREE_EFFECT_C * 0.1
    assert fit.training["footprint"]["matched"] == ["tree_frac"]
    assert effect["effect_c"] == pytest.approx(truth, abs=0.03), effect  # coverage is checked on the demo
    # the sharp shares, as before, shrink the effect: the smaller the blocks, the more
    sharp = fit_models(town.drop(columns="tree_frac_fp"), available).effects["tree_frac"]
    assert sharp["hi_c"] < 0 and sharp["effect_c"] > truth + 0.05
    assert abs(effect["effect_c"] - truth) < abs(sharp["effect_c"] - truth)


def _reference_blur(values: np.ndarray, s: float) -> np.ndarray:
    """The normalised convolution written plainly, one new array per step."""
    ok = np.isfinite(values)
    num = ndimage.gaussian_filter(np.where(ok, values.astype("float64"), 0.0), s, mode="constant", truncate=4.0)
    den = ndimage.gaussian_filter(ok.astype("float64"), s, mode="constant", truncate=4.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok & (den > 1e-6), num / den, np.nan)


def test_blur_works_in_one_grid_array_and_gives_the_plain_result_to_the_last_bit():
    import tracemalloc

    rng = np.random.default_rng(3)
    field = (rng.random((600, 700)) < 0.3).astype("float32")
    field[:40] = np.nan  # a missing band, as beyond the land cover's extent
    field[rng.random(field.shape) < 0.01] = np.nan
    share = make_raster(field, res=8.0)
    cache: dict = {}
    blur(share, _cache=cache)  # the normaliser of this mask is now kept, as for the land cover's later classes
    tracemalloc.start()
    out = blur(share, _cache=cache)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    grid_f64 = field.size * 8
    # the result plus a few masks: each further grid-sized array costs its page faults on a real commune
    assert peak < 1.6 * grid_f64, peak / grid_f64
    assert np.array_equal(out.values, _reference_blur(field, THERMAL_PSF_SIGMA_M / 8.0), equal_nan=True)
    assert out.dtype == "float64" and out.rio.transform() == share.rio.transform()


def test_matched_shares_free_each_blurred_grid_before_the_next_without_the_garbage_collector():
    import gc
    import tracemalloc

    rng = np.random.default_rng(4)
    height, width = 600, 700
    shares = {}
    for k in range(6):
        field = (rng.random((height, width)) < 0.1 * (k + 1)).astype("float32")
        field[:30] = np.nan
        shares[f"s{k}"] = make_raster(field, res=10.0, x0=600_000.0, y0=6_506_000.0)
    blocks = square_blocks(300.0, 3_000.0, x0=601_500.0, y0=6_501_000.0)  # 100 blocks in the middle of the grid
    exact = pd.DataFrame({name: 0.5 for name in shares}, index=blocks.index)
    weights: dict = {}
    expected = matched_shares(blocks, exact, shares, weights=weights)
    grid_f64 = height * width * 8
    gc.collect()
    gc.disable()  # a DataArray tied in a reference cycle (its .rio accessor) would now stay until the end
    try:
        tracemalloc.start()
        again = matched_shares(blocks, exact, shares, weights=weights)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        gc.enable()
    pd.testing.assert_frame_equal(again, expected)
    # one blurred share, its normaliser and masks at a time, not the six blurred shares held together
    assert peak < 4 * grid_f64, peak / grid_f64
