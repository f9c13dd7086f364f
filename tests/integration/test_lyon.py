"""End to end on real Lyon data: LST 2022-07-14, WorldCover, 185 IRIS, Lyon 1er buildings."""

import json

import numpy as np
import pytest

from ilots.build import build_territory
from ilots.cli import main
from ilots.store import load_territory
from tests.conftest import lyon_inputs

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def lyon(real_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("lyon") / "lyon"
    build_territory(lyon_inputs(real_dir), out)
    return load_territory(out)


def test_blocks_have_lst_and_trees_are_cooler(lyon):
    b = lyon.blocks
    assert len(b) == 185
    assert b["lst_mean_c"].notna().sum() >= 180
    trees = b.loc[b["tree_frac"] > 0.5, "lst_mean_c"]
    built = b.loc[b["built_frac"] > 0.7, "lst_mean_c"]
    assert len(trees) >= 5 and len(built) >= 50
    assert trees.mean() < built.mean() - 2.0  # 41.4 vs 45.3 °C measured


def test_partial_layers_are_nan_outside_their_coverage(lyon):
    b = lyon.blocks
    lyon1 = b.index.str.startswith("693810")
    assert b.loc[lyon1, "building_coverage"].notna().all()  # the 11 IRIS of Lyon 1er
    assert b.loc[~lyon1, "building_coverage"].notna().sum() <= 3  # a few neighbours mostly inside the hull
    assert b["ndvi_mean"].notna().sum() < 150  # Sentinel-2 NDVI is valid only east of 4.832 E
    f = lyon.manifest["features"]
    assert f["road_frac"]["available"] is False
    assert f["building_coverage"]["available"] is True


def test_manifest_provenance_and_population(lyon):
    m = lyon.manifest
    assert m["crs"]["epsg"] == 2154
    assert m["acquisition_dates"] == ["2022-07-14"]
    assert m["lst"]["scenes"][0]["unit_detected"] == "kelvin"
    hashes = {s["role"]: s["files"][0]["sha256"] for s in m["sources"]}
    assert len(hashes["lst"]) == 64
    assert m["population"][0]["key"] == "IRIS" and m["population"][0]["matched_blocks"] == 185
    assert lyon.blocks["residents"].sum() == pytest.approx(443596, rel=1e-3)
    lst = lyon.lst()
    assert lst.rio.crs.to_epsg() == 2154
    assert float(np.nanmin(lst)) > 25 and float(np.nanmax(lst)) < 60


def test_two_dates_are_composited(real_dir, tmp_path, capsys):
    r = real_dir / "lyon"
    code = main(
        [
            "build",
            "--quiet",
            "--out",
            str(tmp_path / "two"),
            "--name",
            "Presqu'île",
            "--lst",
            str(r / "Lyon_LST_Landsat_2022-07-14.tif"),
            "--lst",
            str(r / "Lyon_LST_2022-06-21.tif"),
            "--buildings",
            str(r / "buildings_lyon1.geojson"),
            "--blocks",
            str(r / "lyon_iris_heat_vulnerability.geojson"),
            "--blocks-id",
            "code_iris",
        ]
    )
    assert code == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "two"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["acquisition_dates"] == ["2022-06-21", "2022-07-14"]
    t = load_territory(tmp_path / "two")
    n = t.blocks["lst_n_dates"]
    # The June scene covers only the Presqu'île: blocks there have two dates, the others one.
    assert n.max() > 1.5 and n.min() == pytest.approx(1.0)


def test_sparse_reaggregation_agrees_with_exactextract(lyon):
    """The stored block × pixel weights give the LST means again by a sparse product (issue: < 0.05 °C)."""
    from ilots.zonal import sparse_mean

    weights = lyon.coverage()
    assert weights is not None and list(weights.index) == list(lyon.blocks.index)
    again = sparse_mean(weights, lyon.lst())
    stored = lyon.blocks["lst_mean_c"]
    both = stored.notna() & again.notna()
    assert both.sum() >= 180 and (stored.notna() == again.notna()).all()
    assert np.abs(again[both] - stored[both]).max() < 0.05
    warmer = sparse_mean(weights, lyon.lst() + 1.5)  # a modified raster: no new zonal pass
    assert np.allclose(warmer[both], again[both] + 1.5, atol=1e-4)


def test_a_tiled_build_of_the_real_iris_equals_the_untiled_one(real_dir, lyon, tmp_path):
    """Tiles over the user's own blocks (IRIS), a population table keyed by IRIS code and footprints known in one
    arrondissement only: every block once, the same features, the same column notes. Before, a tile with no IRIS
    in its halo, a tile whose IRIS were a small part of the table, and a first tile without buildings made the
    build fail or mark the buildings unknown everywhere."""
    from dataclasses import replace

    from ilots.scale import build_tiled

    inputs = replace(
        lyon_inputs(real_dir), lst=[*lyon_inputs(real_dir).lst, str(real_dir / "lyon" / "Lyon_LST_2022-06-21.tif")]
    )
    untiled = load_territory(build_territory(inputs, tmp_path / "u"))
    tiled = load_territory(build_tiled(inputs, tmp_path / "t", tile_m=2000.0, workers=2))
    a, b = untiled.blocks, tiled.blocks
    assert list(a.index) == list(b.index) and len(b) == 185
    num = list(a.select_dtypes("number").columns)
    assert np.allclose(a[num].to_numpy(float), b[num].to_numpy(float), equal_nan=True, atol=1e-6)
    assert tiled.manifest["features"] == untiled.manifest["features"]
    assert "bâti connu sur" in tiled.manifest["features"]["building_coverage"]["note"]
    assert tiled.manifest["buildings"] == untiled.manifest["buildings"]
    assert tiled.manifest["tiling"]["blocks_computed"] == 185


def test_where_the_buildings_are_known_is_the_hull_of_their_union(real_dir):
    """Issue 14 §1: the buildings' known area is the hull of the footprints taken as a collection; the same
    polygon, bit for bit once buffered, as the hull of their union (0.2 s of union for Lyon 1er)."""
    import shapely

    from ilots.build import read_vector_layers

    inputs = lyon_inputs(real_dir)
    study = (837000.0, 6513000.0, 848000.0, 6525000.0)
    _, buildings, known = read_vector_layers(inputs, 2154, study, shapely.box(*study))
    union_hull = shapely.convex_hull(shapely.union_all(buildings.geometry.values)).buffer(20.0)
    assert shapely.to_wkb(known) == shapely.to_wkb(union_hull)
