"""The demo territory, the info command and the CLI's handling of user mistakes."""

import json
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from ilots.build import BuildInputs, compute_territory
from ilots.cli import main
from ilots.demo import build_demo
from ilots.errors import AllPixelsMaskedError, BuildError, MissingColumnError, NoOverlapError
from ilots.store import load_territory
from tests.conftest import write_tif


def test_demo_is_a_plausible_synthetic_town(demo_territory):
    t = load_territory(demo_territory)
    assert t.synthetic and "Îlotville" in t.name
    b = t.blocks
    assert len(b) > 100
    multi_date = {"lst_fewer_dates", "lst_date_spread_c"}  # the demo has one Landsat date
    assert all(v["available"] for k, v in t.manifest["features"].items() if k not in multi_date)
    # Documented generator: trees cool, sealing warms (Yang et al. 2022 magnitude built in).
    assert b[["tree_frac", "lst_mean_c"]].corr().iloc[0, 1] < -0.3
    assert b[["built_frac", "lst_mean_c"]].corr().iloc[0, 1] > 0.3
    assert t.manifest["lst"]["scenes"][0]["kind"] == "landsat_c2l2"
    assert t.manifest["crs"]["epsg"] == 2154  # the Landsat scene is UTM 31N, the territory Lambert-93
    assert t.manifest["buildings"]["height_source"]["floors"] > 0
    # Source files are recorded relative to the territory, where they live.
    assert t.manifest["sources"][0]["path"].startswith("sources/")


def test_demo_built_twice_is_identical(demo_territory, tmp_path):
    again = build_demo(tmp_path / "again", size_km=2.0, seed=7)
    a, b = load_territory(demo_territory), load_territory(again)
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.blocks.drop(columns="geometry")), pd.DataFrame(b.blocks.drop(columns="geometry"))
    )
    assert a.blocks.geometry.geom_equals_exact(b.blocks.geometry, tolerance=0).all()
    np.testing.assert_array_equal(a.lst().values, b.lst().values)
    sa = {f["path"]: f["sha256"] for s in a.manifest["sources"] for f in s["files"]}
    sb = {f["path"]: f["sha256"] for s in b.manifest["sources"] for f in s["files"]}
    raster_keys = [k for k in sa if k.endswith((".TIF", ".tif", ".csv", ".txt", ".json"))]
    assert raster_keys and all(sa[k] == sb[k] for k in raster_keys)


def test_lst_tif_is_a_cog_in_celsius(demo_territory):
    with rasterio.open(demo_territory / "lst.tif") as ds:
        assert ds.count == 2 and ds.descriptions == ("lst_c", "n_valid_dates")
        assert ds.profile.get("tiled") or ds.overviews(1) is not None
        assert ds.tags(1)["units"] == "degC"


def test_info_json(demo_territory, capsys):
    assert main(["info", str(demo_territory), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_blocks"] > 100 and info["synthetic"] is True
    assert info["acquisition_dates"] == ["2023-08-22"]
    assert 30 < info["lst_block_min_c"] < info["lst_block_mean_c"] < info["lst_block_max_c"] < 50
    assert info["features"]["tree_frac"] is True


def _sources(demo_territory):
    src = demo_territory / "sources"
    return src, next((src / "landsat").iterdir())


def test_cli_user_errors_exit_2_with_one_french_line(demo_territory, tmp_path, capsys):
    src, scene = _sources(demo_territory)
    cases = [
        (
            [
                "build",
                "--out",
                str(tmp_path / "a"),
                "--name",
                "x",
                "--lst",
                str(tmp_path / "missing.tif"),
                "--bdtopo",
                str(src / "bdtopo_ilotville.gpkg"),
            ],
            "introuvable",
        ),
        (["build", "--out", str(tmp_path / "b"), "--name", "x", "--lst", str(scene)], "BD TOPO"),
        (["info", str(tmp_path / "nothing")], "Aucun territoire"),
    ]
    far = write_tif(
        tmp_path / "far_2022-07-14.tif", np.full((5, 5), 305.0), rasterio.transform.from_origin(200000, 6200000, 30, 30)
    )
    cases.append(
        (
            [
                "build",
                "--out",
                str(tmp_path / "c"),
                "--name",
                "x",
                "--lst",
                str(far),
                "--bdtopo",
                str(src / "bdtopo_ilotville.gpkg"),
            ],
            "ne recouvre pas",
        )
    )
    (tmp_path / "fake.tif").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    cases.append(
        (
            [
                "build",
                "--out",
                str(tmp_path / "d"),
                "--name",
                "x",
                "--lst",
                str(tmp_path / "fake.tif"),
                "--bdtopo",
                str(src / "bdtopo_ilotville.gpkg"),
            ],
            "lisible",
        )
    )
    nocrs = write_tif(tmp_path / "nocrs.tif", np.full((5, 5), 305.0), crs=None)
    cases.append(
        (
            [
                "build",
                "--out",
                str(tmp_path / "e"),
                "--name",
                "x",
                "--lst",
                str(nocrs),
                "--bdtopo",
                str(src / "bdtopo_ilotville.gpkg"),
            ],
            "système de coordonnées",
        )
    )
    for argv, fragment in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("Erreur : ") and fragment in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / argv[2]).exists() if argv[0] == "build" else True


def test_all_clouded_scene_and_missing_column(demo_territory, tmp_path):
    src, scene = _sources(demo_territory)
    cloudy = tmp_path / scene.name
    shutil.copytree(scene, cloudy)
    qa = next(cloudy.glob("*_QA_PIXEL.TIF"))
    with rasterio.open(qa, "r+") as ds:
        ds.write(np.full((ds.height, ds.width), 22280, dtype="uint16"), 1)
    with pytest.raises(AllPixelsMaskedError):
        compute_territory(BuildInputs(name="x", lst=[str(cloudy)], bdtopo=str(src / "bdtopo_ilotville.gpkg")))
    with pytest.raises(MissingColumnError, match="nom_iris"):
        compute_territory(
            BuildInputs(name="x", lst=[str(scene)], blocks=str(src / "bdtopo_ilotville.gpkg"), blocks_id="nom_iris")
        )
    with pytest.raises(BuildError):
        compute_territory(BuildInputs(name="x", lst=[]))
    far = tmp_path / "far_blocks.geojson"  # blocks 300 km from the scene
    gpd.GeoDataFrame(
        {"code": ["a", "b"]},
        geometry=[
            shapely.box(900_000, 6_300_000, 900_500, 6_300_500),
            shapely.box(900_500, 6_300_000, 901_000, 6_300_500),
        ],
        crs=2154,
    ).to_file(far)
    with pytest.raises(NoOverlapError):
        compute_territory(BuildInputs(name="x", lst=[str(scene)], blocks=str(far), blocks_id="code"))


def test_rebuild_failure_keeps_the_existing_territory(demo_territory, tmp_path):
    target = tmp_path / "keep"
    shutil.copytree(demo_territory, target)
    before = (target / "territory.json").read_bytes()
    src, _ = _sources(target)
    code = main(
        [
            "build",
            "--quiet",
            "--out",
            str(target),
            "--name",
            "x",
            "--lst",
            str(tmp_path / "nope.tif"),
            "--bdtopo",
            str(src / "bdtopo_ilotville.gpkg"),
        ]
    )
    assert code == 2
    assert (target / "territory.json").read_bytes() == before
    assert load_territory(target).blocks.shape[0] > 0
