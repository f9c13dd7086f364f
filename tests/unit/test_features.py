"""Per-block features on hand-made polygons with hand-computable answers."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ilots.errors import MissingColumnError
from ilots.features import (
    FEATURES,
    building_features,
    covered_share,
    distance_to,
    impervious_share,
    large_green_spaces,
    polygon_share,
    polygons_from_classes,
    polygons_from_rings,
    population_features,
    road_surface_share,
)
from ilots.sources.buildings import impute_heights, normalise_buildings
from ilots.sources.population import PopulationSource, filosofi_squares
from tests.conftest import ROOT, make_raster


def blocks_2():
    """Two 100 m × 100 m blocks side by side: A at x 0–100, B at x 100–200."""
    return gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
        index=pd.Index(["A", "B"], name="block_id"),
        crs=2154,
    )


def test_building_coverage_height_and_volume():
    buildings = gpd.GeoDataFrame(
        {"height_m": [10.0, 30.0, 6.0], "height_source": ["measured", "floors", "measured"]},
        geometry=[
            shapely.box(10, 10, 30, 60),  # 1000 m² in A, 10 m
            shapely.box(50, 10, 60, 60),  # 500 m² in A, 30 m (imputed from floors)
            shapely.box(90, 0, 110, 50),  # straddles: 500 m² in A and 500 m² in B, 6 m
        ],
        crs=2154,
    )
    out = building_features(blocks_2(), buildings)
    assert out.loc["A", "building_coverage"] == pytest.approx(2000 / 10000)
    assert out.loc["B", "building_coverage"] == pytest.approx(500 / 10000)
    assert out.loc["A", "building_height_m"] == pytest.approx((1000 * 10 + 500 * 30 + 500 * 6) / 2000)
    assert out.loc["A", "built_volume_m3_per_m2"] == pytest.approx((10000 + 15000 + 3000) / 10000)
    assert out.loc["A", "height_imputed_frac"] == pytest.approx(500 / 2000)
    assert out.loc["B", "building_height_m"] == pytest.approx(6.0)


def test_blocks_without_buildings_have_zero_cover_and_no_height():
    empty = gpd.GeoDataFrame({"height_m": []}, geometry=[], crs=2154)
    out = building_features(blocks_2(), empty)
    assert out["building_coverage"].tolist() == [0.0, 0.0]
    assert out["building_height_m"].isna().all()


def test_road_surface_counts_overlapping_carriageways_once():
    roads = gpd.GeoDataFrame(
        {"width_m": [10.0, 10.0]},
        geometry=[shapely.LineString([(0, 50), (100, 50)]), shapely.LineString([(50, 0), (50, 100)])],
        crs=2154,
    )
    share = road_surface_share(blocks_2(), roads)
    assert share["A"] == pytest.approx((1000 + 1000 - 100) / 10000)  # the 10 × 10 crossing once
    assert share["B"] == 0.0
    imp = impervious_share(pd.Series([0.95, 0.2]), pd.Series([0.1, 0.1]))
    assert imp.tolist() == pytest.approx([1.0, 0.3])


def test_polygon_share_dissolves_overlaps():
    polys = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 50, 100), shapely.box(25, 0, 75, 100)], crs=2154)
    assert polygon_share(blocks_2(), polys).tolist() == pytest.approx([0.75, 0.0])


def test_distance_to_nearest_target_from_block_edge():
    water = gpd.GeoSeries([shapely.box(300, 0, 320, 100)], crs=2154)
    d = distance_to(blocks_2(), water)
    assert d.tolist() == pytest.approx([200.0, 100.0])
    assert distance_to(blocks_2(), gpd.GeoSeries([], crs=2154)).isna().all()


def test_distance_settles_touching_blocks_at_zero_and_searches_the_rest_as_before():
    """Issue 14 §1: blocks touching a target get 0 m from an intersection test; every distance is the brute-force
    minimum over the targets, and missing or empty blocks stay unknown (NaN), never 0."""
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0, 2_000, 60), rng.uniform(0, 2_000, 60)
    blocks = gpd.GeoDataFrame(
        geometry=list(shapely.box(x, y, x + rng.uniform(20, 200, 60), y + rng.uniform(20, 200, 60))) + [None],
        crs=2154,
    )
    blocks.loc[len(blocks)] = [shapely.Polygon()]
    cx, cy = rng.uniform(0, 2_000, 25), rng.uniform(0, 2_000, 25)
    targets = gpd.GeoSeries(shapely.buffer(shapely.points(cx, cy), rng.uniform(10, 150, 25)), crs=2154)
    d = distance_to(blocks, targets)
    expected = [
        np.nan if g is None or g.is_empty else min(shapely.distance(g, t) for t in targets) for g in blocks.geometry
    ]
    np.testing.assert_allclose(d.to_numpy(), expected, rtol=0, atol=1e-9)
    assert (d == 0).sum() >= 5 and d.iloc[-2:].isna().all()


def test_small_groups_are_dropped_before_tracing_with_the_same_polygons_kept():
    """Issue 14 §1: pixel groups under the minimum area are not traced; what is kept is what tracing all gave."""
    rng = np.random.default_rng(3)
    classes = np.where(rng.random((60, 60)) < 0.45, 10, 50).astype("uint8")
    classes[10:30, 10:30] = 10  # one large wood, and diagonal neighbours that join groups (8-connectivity)
    lc = make_raster(classes, res=10)
    every = polygons_from_classes(lc, [10])
    for m in (0.0, 300.0, 1_000.0, 4_000.0):
        kept = polygons_from_classes(lc, [10], min_area_m2=m)
        expected = every[every.area >= m].reset_index(drop=True)
        assert len(kept) == len(expected) and kept.geom_equals_exact(expected, 0).all(), m
    assert len(polygons_from_classes(lc, [10], min_area_m2=4_000.0)) >= 1


def test_polygons_from_rings_are_those_made_one_by_one():
    """Issue 14 §1: traced land-cover polygons (shells and their one-pixel holes) are made from flat coordinates in
    one call; each is the polygon ``shapely.Polygon(shell, holes)`` gave, vertex for vertex."""
    import rasterio.features

    rng = np.random.default_rng(5)
    mask = rng.random((80, 80)) < 0.6
    lc = make_raster(mask.astype("uint8"), res=10)
    shapes = list(rasterio.features.shapes(mask.astype("uint8"), mask=mask, transform=lc.rio.transform()))
    one_by_one = [shapely.Polygon(g["coordinates"][0], g["coordinates"][1:]) for g, _ in shapes]
    assert sum(len(g["coordinates"]) > 1 for g, _ in shapes) >= 1  # polygons with holes are among them
    made = polygons_from_rings(g["coordinates"] for g, _ in shapes)
    assert [g.wkb for g in made] == [g.wkb for g in one_by_one]
    assert len(polygons_from_rings([])) == 0


def test_polygons_from_classes_and_green_space_size():
    lc = make_raster(np.array([[10, 10, 50], [10, 10, 50], [80, 50, 50]], dtype="uint8"), res=100)
    trees = polygons_from_classes(lc, [10], min_area_m2=10_000)
    assert len(trees) == 1 and trees.area.iloc[0] == pytest.approx(40_000)
    assert polygons_from_classes(lc, [80], min_area_m2=20_000).empty
    veg = gpd.GeoDataFrame(
        {"nature": ["Bois", "Haie", "Bois"]},
        geometry=[shapely.box(0, 0, 50, 100), shapely.box(0, 0, 500, 5), shapely.box(50, 0, 90, 100)],
        crs=2154,
    )
    big = large_green_spaces(veg, min_area_m2=5_000)
    assert len(big) == 1 and big.area.iloc[0] == pytest.approx(9_000)  # touching woods merged, hedge ignored


def test_height_imputation_floors_then_local_median():
    gdf = gpd.GeoDataFrame(
        {"HAUTEUR": [10.0, None, None, 0.0, 12.0], "NB_ETAGES": [3, 4, None, None, 4]},
        geometry=[shapely.box(i * 20, 0, i * 20 + 10, 10) for i in range(5)],
        crs=2154,
    )
    out = impute_heights(normalise_buildings(gdf))
    assert out["height_source"].tolist() == ["measured", "floors", "local_median", "local_median", "measured"]
    # Neighbours with a known height (measured or from floors): 10, 12 (4 floors), 12 -> median 12.
    assert out["height_m"].tolist() == pytest.approx([10.0, 12.0, 12.0, 12.0, 12.0])


def test_population_grid_is_spread_by_area_and_nan_outside_extent():
    grid = gpd.GeoDataFrame(
        {"residents": [100.0], "elderly": [20.0], "households": [50.0], "low_income_households": [5.0]},
        geometry=[shapely.box(0, 0, 200, 200)],
        crs=2154,
    )
    blocks = gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(1000, 0, 1100, 100)],
        index=pd.Index(["in", "out"], name="block_id"),
        crs=2154,
    )
    out, note = population_features(blocks, PopulationSource("grid", grid))
    assert out.loc["in", "residents"] == pytest.approx(25.0)
    assert out.loc["in", "elderly_share"] == pytest.approx(0.2)
    assert out.loc["in", "low_income_share"] == pytest.approx(0.1)
    assert np.isnan(out.loc["out", "residents"])
    assert note["join"] == "area"


def test_population_table_joins_on_the_matching_column():
    table = pd.DataFrame(
        {"code": ["A", "B", "Z"], "label": ["x", "y", "z"], "residents": [10.0, 0.0, 5.0], "elderly": [5.0, 0.0, 1.0]}
    )
    out, note = population_features(blocks_2(), PopulationSource("table", table))
    assert note["key"] == "code"
    assert out["residents"].tolist() == [10.0, 0.0]
    assert out.loc["A", "elderly_share"] == 0.5
    assert np.isnan(out.loc["B", "elderly_share"])  # no residents, no share


def test_a_table_covering_more_than_the_blocks_still_joins_and_a_foreign_one_is_refused():
    """A city's table for the blocks of one tile (a tiled build) or one arrondissement: its key holds every block's
    id though most of its rows are other blocks (the tiled Lyon build failed on this)."""
    others = [f"Z{i}" for i in range(20)]
    table = pd.DataFrame({"code": ["A", "B", *others], "residents": [10.0, 4.0] + [1.0] * 20})
    out, note = population_features(blocks_2(), PopulationSource("table", table))
    assert note["key"] == "code" and out["residents"].tolist() == [10.0, 4.0]
    foreign = pd.DataFrame({"code": others, "residents": [1.0] * 20})  # none of the blocks' ids
    with pytest.raises(MissingColumnError, match="aucune colonne ne correspond"):
        population_features(blocks_2(), PopulationSource("table", foreign))


def test_filosofi_ids_give_200m_squares():
    sq = filosofi_squares(pd.Series(["CRS3035RES200mN2029800E3790800"]))
    assert sq.crs.to_epsg() == 3035
    assert sq.iloc[0].bounds == (3790800.0, 2029800.0, 3791000.0, 2029800.0 + 200)


def test_covered_share():
    cover = shapely.box(0, 0, 150, 100)
    assert covered_share(blocks_2(), cover).tolist() == pytest.approx([1.0, 0.5])


def test_every_feature_is_documented_with_its_unit():
    doc = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    for name, feat in FEATURES.items():
        assert f"`{name}`" in doc, name
        row = next(line for line in doc.splitlines() if f"`{name}`" in line)
        assert feat.unit in row, name


def test_building_shares_equal_a_full_overlay_when_most_footprints_lie_inside_one_block():
    """Issue 14 §2: containment first, intersection only for footprints crossing an edge — same areas."""
    rng = np.random.default_rng(4)
    xs, ys = np.meshgrid(np.arange(6) * 100.0, np.arange(6) * 100.0)
    blocks = gpd.GeoDataFrame(
        geometry=shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 100, ys.ravel() + 100), crs=2154
    )
    cx, cy = rng.uniform(0, 600, 400), rng.uniform(0, 600, 400)
    size = rng.uniform(4, 30, 400)
    buildings = gpd.GeoDataFrame(
        {"height_m": rng.uniform(3, 30, 400)}, geometry=shapely.box(cx, cy, cx + size, cy + size), crs=2154
    )
    got = building_features(blocks, buildings)
    pieces = gpd.overlay(blocks.reset_index(names="b"), buildings.reset_index(names="k"), how="intersection")
    area = pieces.area.groupby(pieces["b"]).sum().reindex(range(len(blocks)), fill_value=0.0)
    np.testing.assert_allclose(got["building_coverage"].to_numpy(), area.to_numpy() / 10_000.0, rtol=1e-9, atol=1e-12)
    crossing = ~shapely.contains_properly(
        blocks.geometry.values[blocks.sindex.query(buildings.geometry.values, predicate="intersects")[1]],
        buildings.geometry.values[blocks.sindex.query(buildings.geometry.values, predicate="intersects")[0]],
    )
    assert 0 < crossing.sum() < len(crossing)  # both paths exercised
