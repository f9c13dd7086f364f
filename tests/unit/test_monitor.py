"""Issue 15: before/after monitoring of completed works, on synthetic summers with a known truth."""

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import ndimage

from ilots.monitor import MIN_AREA_M2, monitor_projects, period_of, seen_fraction
from ilots.zonal import coverage_weights, sparse_mean
from tests.conftest import make_raster

X0, Y0, RES, N = 840_000.0, 6_520_000.0, 30.0, 100  # a 3 km × 3 km grid of 30 m pixels
YEARS = list(range(2015, 2023))


def _blocks() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(1)
    side = 150.0
    xs, ys = np.meshgrid(np.arange(20) * side, np.arange(20) * side)
    xs, ys = X0 + xs.ravel(), Y0 + ys.ravel()
    n = len(xs)
    blocks = gpd.GeoDataFrame(
        {
            "building_coverage": rng.uniform(0.1, 0.6, n),
            "tree_frac": rng.uniform(0.0, 0.4, n),
            "impervious_frac": rng.uniform(0.3, 0.9, n),
        },
        geometry=shapely.box(xs + 5, ys + 5, xs + side - 5, ys + side - 5),
        crs=2154,
    )
    blocks.index = pd.Index([f"b{i}" for i in range(n)], name="block_id")
    return blocks


def _works() -> gpd.GeoDataFrame:
    def square(cx, cy, area):
        h = np.sqrt(area) / 2
        return shapely.box(cx - h, cy - h, cx + h, cy + h)

    works = gpd.GeoDataFrame(
        {
            "name": ["Parc planté", "Toitures sans effet", "Cour d'école"],
            "kind": ["trees", "green_roofs", "depave"],
            "completed": [dt.date(2017, 10, 1)] * 3,
            "area_m2": [50_000.0, 40_000.0, 3_000.0],
            "cost_eur": [1.2e6, np.nan, 2e5],
        },
        geometry=[
            square(X0 + 700, Y0 + 700, 50_000),
            square(X0 + 2200, Y0 + 2200, 40_000),
            square(X0 + 700, Y0 + 2300, 3000),
        ],
        crs=2154,
    )
    works.index = pd.Index(["p1", "p2", "p3"], name="project_id")
    return works


def _summers(works, effects, clouded=()):
    """Eight summers: a fixed urban pattern, a weather offset per year, smooth noise, and each project's effect
    (°C, from 2018) on the pixels it covers, in proportion to their coverage."""
    rng = np.random.default_rng(7)
    grid = make_raster(np.zeros((N, N), "float32"), res=RES, x0=X0, y0=Y0 + N * RES)
    cover = coverage_weights(grid, works).matrix.toarray()  # projects × pixels
    base = 38 + 3 * ndimage.gaussian_filter(rng.normal(size=(N, N)), 6) / 0.05
    out = {}
    for year in YEARS:
        noise = ndimage.gaussian_filter(rng.normal(size=(N, N)), 3)
        field = base + rng.normal(0, 1.5) + 0.3 * noise / noise.std()
        if year >= 2018:
            field = field + (np.asarray(effects) @ cover).reshape(N, N)
        if year in clouded:
            field = np.full((N, N), np.nan)
        out[year] = grid.copy(data=field.astype("float32"))
    return grid, out


def _run(effects=(-1.5, 0.0, -1.5), clouded=()):
    blocks, works = _blocks(), _works()
    grid, summers = _summers(works, effects, clouded)
    bw, pw = coverage_weights(grid, blocks), coverage_weights(grid, works)
    block_lst = pd.DataFrame({y: sparse_mean(bw, da).to_numpy() for y, da in summers.items()}, index=blocks.index)
    works_lst = pd.DataFrame({y: sparse_mean(pw, da).to_numpy() for y, da in summers.items()}, index=works.index)
    return monitor_projects(blocks, block_lst, works, works_lst, n_boot=800)


def test_a_cooling_of_1_5_degrees_from_year_3_on_5_ha_is_recovered_within_its_interval():
    park = _run().projects[0]
    assert park.verdict == "cooling"
    assert park.lo_c <= -1.5 <= park.hi_c
    assert abs(park.effect_c + 1.5) < 0.4
    assert park.years_before == [2015, 2016, 2017] and park.years_after == list(range(2018, 2023))
    assert park.n_controls == 20 and park.control_distance is not None
    assert "refroidissement mesuré" in park.sentence() and "90 %" in park.sentence()


def test_a_project_without_effect_has_an_interval_containing_zero_and_never_a_zero_width():
    roofs = _run().projects[1]
    assert roofs.verdict == "none"
    assert roofs.lo_c < 0 < roofs.hi_c
    assert roofs.hi_c - roofs.lo_c >= 0.2
    assert roofs.mde_c > 0 and "n'aurait pas pu être distingué" in roofs.sentence()


def test_a_0_3_ha_project_is_too_small_for_the_satellite():
    yard = _run().projects[2]
    assert yard.area_m2 < MIN_AREA_M2
    assert yard.verdict == "too_small" and yard.effect_c is None
    assert "trop petit pour être mesuré par satellite" in yard.sentence()


def test_a_summer_entirely_clouded_is_left_out_and_said():
    result = _run(clouded=(2020,))
    assert 2020 not in result.years
    park = result.projects[0]
    assert 2020 not in park.years_after and park.verdict == "cooling"


def test_a_summer_clouded_over_one_project_only_is_noted_for_that_project():
    blocks, works = _blocks(), _works()
    grid, summers = _summers(works, (-1.5, 0.0, 0.0))
    bw, pw = coverage_weights(grid, blocks), coverage_weights(grid, works)
    block_lst = pd.DataFrame({y: sparse_mean(bw, da).to_numpy() for y, da in summers.items()}, index=blocks.index)
    works_lst = pd.DataFrame({y: sparse_mean(pw, da).to_numpy() for y, da in summers.items()}, index=works.index)
    works_lst.loc["p1", 2019] = np.nan
    park = monitor_projects(blocks, block_lst, works, works_lst, n_boot=300).projects[0]
    assert 2019 not in park.years_after and any("2019" in n and "nuages" in n for n in park.notes)


def test_without_a_clear_summer_after_the_works_it_is_not_yet_measurable():
    blocks, works = _blocks(), _works()
    works["completed"] = [dt.date(2022, 3, 1)] * 3
    grid, summers = _summers(works, (0.0, 0.0, 0.0))
    summers.pop(2022)
    bw, pw = coverage_weights(grid, blocks), coverage_weights(grid, works)
    block_lst = pd.DataFrame({y: sparse_mean(bw, da).to_numpy() for y, da in summers.items()}, index=blocks.index)
    works_lst = pd.DataFrame({y: sparse_mean(pw, da).to_numpy() for y, da in summers.items()}, index=works.index)
    park = monitor_projects(blocks, block_lst, works, works_lst, n_boot=100).projects[0]
    assert park.verdict == "too_early" and "après les travaux" in park.sentence()


def test_controls_are_untreated_blocks_away_from_every_project():
    result = _run()
    blocks, works = _blocks(), _works()
    near = blocks.geometry.dwithin(shapely.union_all(works.geometry.values), 150.0)
    for p in result.projects:
        assert not near.loc[p.control_ids].any()


@pytest.mark.parametrize(
    ("year", "completed", "period"),
    [
        (2017, dt.date(2017, 10, 1), "before"),
        (2018, dt.date(2017, 10, 1), "after"),
        (2017, dt.date(2017, 7, 1), "works"),
    ],
)
def test_the_summer_of_the_works_counts_neither_before_nor_after(year, completed, period):
    assert period_of(year, completed) == period


def test_the_thermal_footprint_lets_through_most_of_a_park_and_little_of_a_schoolyard():
    park, yard = shapely.box(0, 0, 224, 224), shapely.box(0, 0, 55, 55)
    assert 0.6 < seen_fraction(park) < 0.9
    assert 0.1 < seen_fraction(yard) < 0.35
    assert seen_fraction(shapely.box(0, 0, 2000, 2000)) > 0.95
