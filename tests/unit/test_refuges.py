"""Issue 16 §2: walking distances to cool refuges along the street network, against hand-computed cases."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ilots.refuges import (
    RefugeRules,
    far_from_refuges,
    refuge_access,
    refuges_from_bdtopo,
    walk_graph,
    walking_distance,
)


def _streets():
    """A street from (0,0) east to (400,0), a side street north from (400,0) to (400,300), and a motorway
    shortcut from (0,0) straight to (400,300) nobody may walk on."""
    return gpd.GeoDataFrame(
        {"nature": ["Route à 1 chaussée", "Route à 1 chaussée", "Chemin", "Type autoroutier"]},
        geometry=[
            shapely.LineString([(0, 0), (200, 0)]),
            shapely.LineString([(200, 0), (400, 0)]),
            shapely.LineString([(400, 0), (400, 300)]),
            shapely.LineString([(0, 0), (400, 300)]),
        ],
        crs=2154,
    )


def test_distances_follow_the_streets_not_the_crow_and_not_the_motorway():
    graph = walk_graph(_streets())
    park = gpd.GeoDataFrame(
        {"kind": ["parc ou bois"], "name": [None]}, geometry=[shapely.box(390, 310, 500, 400)], crs=2154
    )
    # the park's edge is 10 m beyond the end (400, 300) of the side street
    d = walking_distance(graph, park, np.array([[0.0, 0.0], [200.0, 20.0], [400.0, 150.0]]))
    # along the streets (never the motorway), plus the stretches onto the street and into the park
    np.testing.assert_allclose(d, [700.0 + 10.0, 20.0 + 500.0 + 10.0, 150.0 + 10.0], rtol=1e-9)


def test_a_refuge_point_is_entered_from_its_nearest_street_node_when_close_enough():
    graph = walk_graph(_streets())
    library = gpd.GeoDataFrame(
        {"kind": ["bâtiment frais"], "name": ["Médiathèque"]}, geometry=[shapely.Point(210, 40)], crs=2154
    )
    assert walking_distance(graph, library, np.array([[0.0, 0.0]]))[0] == pytest.approx(210.0 + 40.0)
    far = gpd.GeoDataFrame({"kind": ["bâtiment frais"], "name": ["Loin"]}, geometry=[shapely.Point(210, 900)], crs=2154)
    assert np.isinf(walking_distance(graph, far, np.array([[0.0, 0.0]]))[0])  # no street within 150 m


def test_refuges_keep_shady_parks_and_water_of_half_a_hectare_and_merge_pieces_of_a_wood():
    veg = gpd.GeoDataFrame(
        {"nature": ["Bois", "Bois", "Haie", "Forêt fermée de feuillus"]},
        geometry=[
            shapely.box(0, 0, 50, 80),
            shapely.box(50, 0, 100, 80),
            shapely.box(200, 0, 300, 100),
            shapely.box(500, 0, 520, 20),
        ],
        crs=2154,
    )
    water = gpd.GeoDataFrame(geometry=[shapely.box(0, 200, 100, 260)], crs=2154)
    refuges = refuges_from_bdtopo(veg, water)
    assert sorted(refuges["kind"]) == ["eau", "parc ou bois"]  # the two halves of the wood as one (0,8 ha)
    assert refuges_from_bdtopo(veg, water, rules=RefugeRules(min_green_m2=10_000.0))["kind"].tolist() == ["eau"]


def test_blocks_touching_a_refuge_are_at_zero_and_unreachable_ones_unknown_never_zero():
    graph = walk_graph(_streets())
    park = gpd.GeoDataFrame(
        {"kind": ["parc ou bois"], "name": [None]}, geometry=[shapely.box(390, 310, 500, 400)], crs=2154
    )
    blocks = gpd.GeoDataFrame(
        {"residents": [100.0, 50.0, 10.0]},
        geometry=[shapely.box(420, 350, 460, 390), shapely.box(-30, 10, -10, 30), shapely.box(5000, 5000, 5010, 5010)],
        crs=2154,
    )
    access = refuge_access(blocks, graph, park)
    assert access["refuge_walk_m"].iloc[0] == 0.0
    assert access["refuge_walk_m"].iloc[1] > 700.0
    assert access["refuge_walk_min"].iloc[1] == pytest.approx(access["refuge_walk_m"].iloc[1] / (4000 / 60))
    # a block 5 km away snaps to the network too: it is counted, far; none is ever silently 0
    summary = far_from_refuges(access, blocks["residents"])
    assert summary["residents_far"] == 60.0 and summary["share_residents_far"] == pytest.approx(60 / 160)


def test_an_added_park_brings_residents_within_reach(tmp_path):
    graph = walk_graph(_streets())
    blocks = gpd.GeoDataFrame({"residents": [80.0]}, geometry=[shapely.box(-30, 10, -10, 30)], crs=2154)
    far_park = gpd.GeoDataFrame(
        {"kind": ["parc ou bois"], "name": [None]}, geometry=[shapely.box(390, 310, 500, 400)], crs=2154
    )
    before = far_from_refuges(refuge_access(blocks, graph, far_park), blocks["residents"])
    new = gpd.GeoDataFrame({"kind": ["ajouté"], "name": [None]}, geometry=[shapely.box(60, 5, 120, 40)], crs=2154)
    both = gpd.GeoDataFrame(pd.concat([far_park, new], ignore_index=True), geometry="geometry", crs=2154)
    after = far_from_refuges(refuge_access(blocks, graph, both), blocks["residents"])
    assert before["share_residents_far"] == 1.0 and after["share_residents_far"] == 0.0
