"""Issue 16 §2: cool refuges within walking distance on the demo and on a real BD TOPO street network."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ilots.cli import main
from ilots.refuges import refuges_from_bdtopo, walk_graph, walking_distance
from ilots.sources.bdtopo import read_bdtopo
from ilots.store import load_territory


def test_refuges_command_gives_the_residents_beyond_300_m_and_what_an_added_park_changes(
    demo_territory, tmp_path, capsys
):
    assert main(["refuges", str(demo_territory), "--json"]) == 0
    today = json.loads(capsys.readouterr().out)
    assert today["refuges"]["parc ou bois"] > 0
    share = today["today"]["share_residents_far"]
    assert 0 < share < 1 and today["with_added"] is None
    terr = load_territory(demo_territory)
    # a new 2 ha park in the middle of the town
    c = terr.blocks.geometry.union_all().centroid
    park = tmp_path / "parc.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(c.x - 70, c.y - 70, c.x + 70, c.y + 70)], crs=terr.blocks.crs).to_file(park)
    csv = tmp_path / "distances.csv"
    assert main(["refuges", str(demo_territory), "--add", str(park), "--json", "--csv", str(csv)]) == 0
    after = json.loads(capsys.readouterr().out)["with_added"]
    assert after["share_residents_far"] <= share and after["residents_far"] < today["today"]["residents_far"]
    assert csv.read_bytes().startswith(b"\xef\xbb\xbfblock_id;refuge_walk_m;refuge_walk_min;lon;lat")
    assert main(["refuges", str(demo_territory)]) == 0
    out = capsys.readouterr().out
    assert "vivent à plus de 300 m à pied (≈ 5 min)" in out and "docs/places.md" in out


def test_a_territory_built_without_bd_topo_says_walking_distances_need_it(tmp_path, capsys, real_dir):
    from ilots.build import build_territory
    from tests.conftest import lyon_inputs

    out = tmp_path / "lyon"
    build_territory(lyon_inputs(real_dir), out)
    assert main(["refuges", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sans BD TOPO" in err and "--bdtopo" in err and "Traceback" not in err


@pytest.mark.real_data
def test_real_olemps_streets_make_one_walkable_network_to_its_woods(real_dir):
    bd = read_bdtopo(str(real_dir / "olemps_bdtopo"), 2154)
    graph = walk_graph(bd.get("troncon_de_route"))
    refuges = refuges_from_bdtopo(bd.get("zone_de_vegetation"), bd.get("surface_hydrographique"))
    assert graph.n_nodes > 5000 and (refuges["kind"] == "parc ou bois").sum() >= 10
    homes = bd.get("batiment").geometry.representative_point().values
    d = walking_distance(graph, refuges, homes)
    reached = np.isfinite(d)
    assert reached.mean() > 0.98  # the commune's streets are one network; a few isolated ways are not
    assert 100 < np.median(d[reached]) < 2000  # a peri-urban commune among woods: hundreds of metres
    crow = shapely.distance(homes[reached], shapely.union_all(refuges.geometry.values))
    assert (d[reached] >= crow - 1e-6).all()  # never shorter than as the crow flies


def test_facilities_command_lists_the_demo_schools_and_ehpad_with_their_heat(fitted_demo, capsys, tmp_path):
    csv = tmp_path / "etablissements.csv"
    assert main(["facilities", str(fitted_demo), "--json", "--csv", str(csv)]) == 0
    rows = json.loads(capsys.readouterr().out)["facilities"]
    kinds = {r["kind"] for r in rows}
    assert {"école maternelle ou élémentaire", "collège ou lycée", "hôpital ou clinique"} <= kinds
    assert all(r["lst_around_c"] is not None and r["refuge_walk_m"] is not None for r in rows)
    assert [r["lst_around_c"] for r in rows] == sorted((r["lst_around_c"] for r in rows), reverse=True)
    assert csv.read_bytes().startswith(b"\xef\xbb\xbfkind;name;block_id;")


@pytest.mark.real_data
def test_real_olemps_places_of_interest_give_its_schools_ehpad_and_hospitals_by_name(real_dir):
    from ilots.facilities import facilities_from_bdtopo

    bd = read_bdtopo(str(real_dir / "olemps_bdtopo"), 2154)
    got = facilities_from_bdtopo(bd.get("zone_d_activite_ou_d_interet"))
    assert "EHPAD les Peyrières" in set(got["name"]) and (got["kind"] == "ecole").sum() == 3
    assert (got["kind"] == "sante").sum() >= 2


def test_the_briefing_says_which_sensitive_facilities_are_in_the_hottest_blocks(fitted_demo):
    import shutil
    import subprocess

    from ilots.analysis import facilities_territory
    from ilots.briefing import briefing_pdf
    from ilots.facilities import hot_facilities_sentence

    terr = load_territory(fitted_demo)
    meta, table = terr.model()
    sentence = hot_facilities_sentence(facilities_territory(terr, model_table=table)[1])
    assert sentence.startswith("Établissements sensibles dans les îlots à risque élevé ou très élevé : ")
    assert "connus" in sentence and " 0 " not in sentence
    pdf = briefing_pdf(terr.name, terr.blocks, meta, table, terr.manifest, streets=terr.streets(), places_line=sentence)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True).stdout.decode()
        assert "Établissements sensibles dans les îlots" in " ".join(text.split())


def test_the_demo_keeps_its_creches_and_the_facilities_export_to_a_geopackage(fitted_copy, tmp_path, capsys):
    """Issue 16 §1: the commune's crèches (its own list, kept with the territory), a GeoPackage of points."""
    import shutil
    import subprocess

    import geopandas as gpd

    gpkg = tmp_path / "etablissements.gpkg"
    assert main(["facilities", str(fitted_copy), "--gpkg", str(gpkg)]) == 0
    out = capsys.readouterr().out
    assert "3 crèche ou accueil du jeune enfant" in out
    got = gpd.read_file(gpkg, layer="etablissements")
    assert set(got.geom_type) == {"Point"} and got.crs.to_epsg() == 2154
    assert {"Crèche collective Les Petits Pas", "Halte-garderie du Canal"} <= set(got["name"])
    assert {"kind_fr", "lst_around_c", "risk_class", "p_high_risk"} <= set(got.columns)
    if shutil.which("ogrinfo"):
        info = subprocess.run(["ogrinfo", "-so", str(gpkg), "etablissements"], capture_output=True, text=True)
        assert "Geometry: Point" in info.stdout


def test_facilities_given_with_save_are_kept_once_and_survive_a_rebuild(tmp_path, capsys):
    import geopandas as gpd
    import shapely

    from ilots.demo import build_demo
    from ilots.store import read_facilities_file

    out = tmp_path / "demo"
    build_demo(out, size_km=1.0, seed=3)
    c = shapely.box(*load_territory(out).blocks.total_bounds).centroid
    given = tmp_path / "relais.geojson"
    gpd.GeoDataFrame({"nom": ["RAM des Lilas"], "type": ["Relais petite enfance"]}, geometry=[c], crs=2154).to_file(
        given
    )
    for _ in range(2):
        assert main(["facilities", str(out), "--file", str(given), "--save"]) == 0
    assert "RAM des Lilas" in capsys.readouterr().out
    kept = read_facilities_file(out)
    assert (kept["name"] == "RAM des Lilas").sum() == 1
    build_demo(out, size_km=1.0, seed=3)
    assert (read_facilities_file(out)["name"] == "RAM des Lilas").sum() == 1
