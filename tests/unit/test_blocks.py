"""Blocks from a road network and from user polygons."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ilots.blocks import barrier_roads, blocks_from_network, blocks_from_polygons, enclosures
from ilots.errors import BuildError, EmptyFileError, GeometryTypeError, MissingColumnError


def grid_roads(n=3, step=100.0):
    lines = []
    for i in range(n + 1):
        lines.append(shapely.LineString([(i * step, 0), (i * step, n * step)]))
        lines.append(shapely.LineString([(0, i * step), (n * step, i * step)]))
    return gpd.GeoDataFrame({"nature": ["Route à 1 chaussée"] * len(lines)}, geometry=lines, crs=2154)


def test_a_street_grid_gives_one_block_per_cell_with_stable_ids():
    blocks = blocks_from_network(grid_roads(), shapely.box(0, 0, 300, 300))
    assert len(blocks) == 9
    assert blocks.area.tolist() == pytest.approx([10_000.0] * 9)
    assert blocks.index[0] == "I00001"
    # Numbered north to south then west to east: I00001 is the north-west cell.
    assert blocks.loc["I00001"].geometry.bounds == (0.0, 200.0, 100.0, 300.0)
    again = blocks_from_network(grid_roads().iloc[::-1], shapely.box(0, 0, 300, 300))
    assert again.geometry.geom_equals(blocks.geometry).all()


def test_footpaths_and_tunnels_do_not_cut_blocks():
    roads = grid_roads(1, 100.0)
    extra = gpd.GeoDataFrame(
        {"nature": ["Sentier", "Route à 1 chaussée"], "position_par_rapport_au_sol": ["0", "-1"]},
        geometry=[shapely.LineString([(50, 0), (50, 100)]), shapely.LineString([(0, 50), (100, 50)])],
        crs=2154,
    )
    roads = gpd.GeoDataFrame(
        {
            "nature": list(roads["nature"]) + list(extra["nature"]),
            "position_par_rapport_au_sol": ["0"] * len(roads) + list(extra["position_par_rapport_au_sol"]),
        },
        geometry=list(roads.geometry) + list(extra.geometry),
        crs=2154,
    )
    assert len(barrier_roads(roads)) == len(roads) - 2
    assert len(blocks_from_network(roads, shapely.box(0, 0, 100, 100))) == 1


def test_slivers_and_water_blocks_are_dropped():
    roads = grid_roads(2, 100.0)
    sliver = gpd.GeoDataFrame(
        {"nature": ["Route à 1 chaussée"]}, geometry=[shapely.LineString([(0, 195), (200, 195)])], crs=2154
    )
    roads = gpd.GeoDataFrame(geometry=list(roads.geometry) + list(sliver.geometry), crs=2154)
    water = gpd.GeoDataFrame(geometry=[shapely.box(100, 0, 200, 100)], crs=2154)
    blocks = blocks_from_network(roads, shapely.box(0, 0, 200, 200), water=water)
    # 4 cells; the 5 m strips along the top are slivers and the south-east cell is a river.
    assert sorted(blocks.area.round()) == [9_500.0, 9_500.0, 10_000.0]


def test_no_roads_is_a_clear_error():
    with pytest.raises(BuildError, match="troncon_de_route"):
        blocks_from_network(gpd.GeoDataFrame(geometry=[], crs=2154), shapely.box(0, 0, 1, 1))


def test_user_polygons_keep_their_ids_and_attributes():
    gdf = gpd.GeoDataFrame(
        {"code": ["69381", "69382"], "nom": ["a", "b"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs=2154,
    )
    blocks = blocks_from_polygons(gdf, "code")
    assert list(blocks.index) == ["69381", "69382"]
    assert "attr_nom" in blocks.columns


def test_user_polygon_errors():
    gdf = gpd.GeoDataFrame({"code": ["a", "a"]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs=2154)
    with pytest.raises(MissingColumnError, match="unique"):
        blocks_from_polygons(gdf, "code")
    with pytest.raises(MissingColumnError, match="absente"):
        blocks_from_polygons(gdf, "iris")
    lines = gpd.GeoDataFrame({"code": ["a"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=2154)
    with pytest.raises(GeometryTypeError, match="polygones"):
        blocks_from_polygons(lines, "code")
    with pytest.raises(EmptyFileError):
        blocks_from_polygons(gdf.iloc[:0], "code")


def test_invalid_self_intersecting_polygon_is_repaired():
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    blocks = blocks_from_polygons(gpd.GeoDataFrame({"id": ["x"]}, geometry=[bowtie], crs=2154), "id")
    assert blocks.geometry.is_valid.all()
    assert blocks.area.iloc[0] == pytest.approx(50.0)


def test_enclosures_are_the_faces_of_the_network_split_by_railways_and_kept_inside_the_area():
    # a 3 × 3 street grid of 100 m in a study area covering only its two western columns and a half: a railway
    # crosses the middle column from north to south at x = 150 and a dead-end road stops inside a block
    roads = list(grid_roads().geometry) + [shapely.LineString([(20, 20), (60, 60)])]
    railway = np.array([shapely.LineString([(150, -50), (150, 350)])], dtype=object)
    area = shapely.box(0, 0, 250, 300)
    faces = enclosures(np.array(roads, dtype=object), area, railway)
    areas = sorted(np.round(shapely.area(faces)).tolist())
    # west column: 3 whole blocks (the dead end does not close a face); middle column: 6 halves of 5,000 m²;
    # east column: the study area's edge at x = 250 cuts 3 faces of 5,000 m² whose points lie inside, and the
    # strips beyond it (outside the area) are dropped
    assert areas == [5_000.0] * 9 + [10_000.0] * 3
    assert all(shapely.contains(shapely.buffer(area, 1e-6), faces))
    without = enclosures(np.array(roads, dtype=object), area)
    assert sorted(np.round(shapely.area(without)).tolist()) == [5_000.0] * 3 + [10_000.0] * 6


def test_enclosures_give_momepys_polygons():
    """Same faces, vertex for vertex, as momepy.enclosures (which the builder used before; issue 14 §1)."""
    momepy = pytest.importorskip("momepy")  # the dev extra installs it for this comparison
    rng = np.random.default_rng(7)
    roads = [shapely.LineString(rng.uniform(0, 1000, (2, 2))) for _ in range(60)] + list(grid_roads(10).geometry)
    rails = [shapely.LineString([(0, 333), (1000, 420)]), shapely.LineString([(700, 0), (640, 1000)])]
    water = shapely.box(100, 100, 260, 180).boundary
    area = shapely.Point(500, 500).buffer(480)
    crs = 2154
    old = momepy.enclosures(
        gpd.GeoDataFrame(geometry=roads, crs=crs),
        limit=gpd.GeoSeries([area], crs=crs),
        additional_barriers=[gpd.GeoSeries(rails, crs=crs), gpd.GeoSeries([water], crs=crs)],
        clip=True,
    ).geometry.to_numpy()
    new = enclosures(np.array(roads, dtype=object), area, np.array([*rails, water], dtype=object))
    assert len(new) == len(old) > 100 and shapely.equals_exact(new, old, 0).all()
