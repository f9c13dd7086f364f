"""Issue 15: monitoring completed works end to end — the demo's summers and projects, the command line, the PDF,
clouded summers, a rebuild that keeps the works, and several summers fetched offline from the fake STAC."""

from __future__ import annotations

import json
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely

from ilots.build import build_territory
from ilots.cli import main
from ilots.demo import DEMO_CLOUDED_SUMMER, DEMO_SUMMERS, build_demo
from ilots.restat import add_summers
from ilots.store import load_territory, read_monitor_results, summers_index
from tests.conftest import lyon_inputs
from tests.fakeworld import CODE


def _park_in_the_middle(terr, path, name: str, completed: str):
    """A works file with one 240 m × 240 m planted square in the middle of ``terr``."""
    c = terr.blocks.geometry.union_all().centroid
    gpd.GeoDataFrame(
        {"nom": [name], "mesure": ["arbres"], "date_fin": [completed]},
        geometry=[shapely.box(c.x - 120, c.y - 120, c.x + 120, c.y + 120)],
        crs=terr.blocks.crs,
    ).to_file(path)
    return path


@pytest.fixture
def demo_copy(fitted_demo, tmp_path):
    out = tmp_path / "demo"
    shutil.copytree(fitted_demo, out)
    return out


def test_the_demo_has_several_summers_a_clouded_one_said_and_three_projects(demo_territory):
    index = summers_index(demo_territory)
    assert sorted(int(y) for y in index["summers"]) == [y for y in DEMO_SUMMERS if y != DEMO_CLOUDED_SUMMER]
    assert "nuages" in index["skipped"][str(DEMO_CLOUDED_SUMMER)]
    assert all(not e["sources"][0].startswith("/") for e in index["summers"].values())  # inside the territory
    works = load_territory(demo_territory).works()
    assert list(works["kind"]) == ["trees", "green_roofs", "depave"]


def test_monitor_command_gives_each_project_its_verdict_interval_and_prediction(demo_copy, capsys, tmp_path):
    pdf, csv = tmp_path / "impact.pdf", tmp_path / "projets.csv"
    assert main(["monitor", str(demo_copy), "--json", "--pdf", str(pdf), "--csv", str(csv)]) == 0
    data = json.loads(capsys.readouterr().out)
    park, roofs, yard = data["projects"]
    assert park["verdict"] == "refroidissement mesuré" and park["effet_haut_c"] < 0
    assert park["effet_bas_c"] < park["effet_c"] < park["effet_haut_c"]
    assert park["prevu_c"] < 0 and park["temoins"] == 20
    assert roofs["verdict"] == "pas d'effet détectable à cette échelle"
    assert roofs["effet_bas_c"] < 0 < roofs["effet_haut_c"] and roofs["effet_min_detectable_c"] > 0
    assert yard["verdict"] == "trop petit pour être mesuré par satellite" and yard["effet_c"] is None
    assert str(DEMO_CLOUDED_SUMMER) not in data["summer_dates"] and any("nuages" in n for n in data["notes"])
    assert read_monitor_results(demo_copy)["projects"][0]["nom"] == park["nom"]  # kept for the model card
    assert csv.read_bytes().startswith(b"\xef\xbb\xbfnom;mesure;")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "Suivi des réalisations" in text and "refroidissement mesuré" in text and "Mesuré et prévu" in text
        assert text.count("\f") == 4  # a summary page and one page per project


def test_monitor_text_output_states_the_limits(demo_copy, capsys):
    assert main(["monitor", str(demo_copy), "--years", "2016-2024"]) == 0
    out = capsys.readouterr().out
    assert "Limites : température de surface" in out and "1 ha" in out
    assert "Prévu par le modèle" in out and "îlots témoins" in out


def test_monitor_without_works_or_with_one_summer_says_why(demo_copy, capsys, tmp_path):
    (demo_copy / "monitoring" / "works.gpkg").unlink()
    assert main(["monitor", str(demo_copy)]) == 2
    err = capsys.readouterr().err
    assert "aucune réalisation" in err and "Traceback" not in err
    works = tmp_path / "w.geojson"
    terr = load_territory(demo_copy)
    c = terr.blocks.geometry.iloc[len(terr.blocks) // 2].centroid
    gpd.GeoDataFrame(
        {"nom": ["<b>Square</b>"], "type": ["Plantation"], "annee": [2019]},
        geometry=[shapely.box(c.x - 60, c.y - 60, c.x + 60, c.y + 60)],
        crs=terr.blocks.crs,
    ).to_crs(4326).to_file(works, driver="GeoJSON")
    assert main(["monitor", str(demo_copy), "--works", str(works), "--years", "2016-2016"]) == 2
    assert "il en faut au moins deux" in capsys.readouterr().err
    assert main(["monitor", str(demo_copy), "--works", str(works), "--json"]) == 0
    project = json.loads(capsys.readouterr().out)["projects"][0]
    assert project["nom"] == "<b>Square</b>" and project["achevement"] == "2019-07-01"
    assert not (demo_copy / "monitoring" / "works.gpkg").exists()  # not saved without --save-works


def test_a_summer_all_under_clouds_is_recorded_as_skipped_and_the_others_kept(demo_copy, tmp_path):
    terr = load_territory(demo_copy)
    grid = terr.lst()
    path = tmp_path / "lst_2025-07-14.tif"
    profile = {"driver": "GTiff", "height": grid.shape[0], "width": grid.shape[1], "count": 1, "dtype": "float32"}
    with rasterio.open(path, "w", **profile, crs=grid.rio.crs, transform=grid.rio.transform(), nodata=np.nan) as dst:
        dst.write(np.full(grid.shape, np.nan, "float32"), 1)
        dst.update_tags(1, units="degC")
    before = summers_index(demo_copy)["summers"]
    report = add_summers(terr, {None: [str(path)]})
    assert report["added"] == {} and "nuages" in report["skipped"][2025]
    after = summers_index(demo_copy)
    assert after["summers"] == before and "2025" in after["skipped"]


def test_a_rebuild_keeps_the_works_and_summers(demo_copy):
    before = summers_index(demo_copy)
    works = load_territory(demo_copy).works()
    build_demo(demo_copy, size_km=2.0)  # the demo rebuilt over itself
    assert summers_index(demo_copy)["summers"].keys() == before["summers"].keys()
    assert list(load_territory(demo_copy).works()["name"]) == list(works["name"])


def test_several_summers_are_fetched_offline_from_the_stac_service(fake_world, tmp_path, capsys, monkeypatch):
    _, url, _ = fake_world
    monkeypatch.setenv("ILOTS_WFS_URL", f"{url}/wfs")
    monkeypatch.setenv("ILOTS_STAC_URL", f"{url}/stac/")
    out, cache = tmp_path / "t", tmp_path / "cache"
    common = ["--cache", str(cache), "--quiet"]
    assert main(["fetch", "--commune", CODE, "--year", "2023", "--out", str(out), "--no-worldcover", *common]) == 0
    terr = load_territory(out)
    works = _park_in_the_middle(terr, tmp_path / "works.gpkg", "Parc", "2022-03-01")
    capsys.readouterr()
    args = ["monitor", str(out), "--works", str(works), "--fetch-years", "2020-2023", "--json", *common]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(data["summer_dates"]) == ["2021", "2022", "2023"]
    assert any("2020" in n and "Aucune scène" in n for n in data["notes"])
    assert (out / "monitoring" / "scenes" / "2021").is_dir()
    assert data["projects"][0]["ete_avant"] == 1 and data["projects"][0]["ete_apres"] == 2  # 2022 and 2023
    assert not list((out / "monitoring" / "scenes").rglob(".*part*"))  # every scene folder whole


@pytest.mark.real_data
def test_real_lyon_scenes_make_one_summer_and_one_summer_is_said_not_to_be_enough(real_dir, tmp_path, capsys):
    """The real Lyon extracts (two dates of summer 2022) are read onto the territory's grid as one summer; the
    monitoring then says, before fitting anything, that it needs a summer before and after the works."""
    out = tmp_path / "lyon"
    build_territory(lyon_inputs(real_dir), out)
    r = real_dir / "lyon"
    report = add_summers(out, {None: [str(r / "Lyon_LST_2022-06-21.tif"), str(r / "Lyon_LST_Landsat_2022-07-14.tif")]})
    assert report["added"][2022]["dates"] == ["2022-06-21", "2022-07-14"]
    assert report["added"][2022]["valid_share"] > 0.9
    terr = load_territory(out)
    summers, _ = terr.summers()
    assert summers[2022].shape == terr.lst().shape and np.isfinite(summers[2022].values).mean() > 0.5
    works = _park_in_the_middle(terr, tmp_path / "works.geojson", "Place plantée", "2021-04-01")
    assert main(["monitor", str(out), "--works", str(works)]) == 2
    assert "1 été de température" in capsys.readouterr().err
    assert not (out / "model.json").exists()  # refused before any fit
