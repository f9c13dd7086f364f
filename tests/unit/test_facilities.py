"""Issue 16 §1: sensitive facilities from BD TOPO, FINESS and BPE layouts, and the heat of their place."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ilots.errors import EmptyFileError, MissingColumnError
from ilots.facilities import facilities_from_bdtopo, facility_exposure, read_facilities


def test_bdtopo_places_of_interest_are_classed_by_their_nature():
    zones = gpd.GeoDataFrame(
        {
            "nature": ["Enseignement primaire", "Maison de retraite", "Hôpital", "Mairie", "Enseignement secondaire"],
            "nom": ["École Jean-Zay", "EHPAD Les Lilas", "CHU", "Hôtel de ville", "Lycée Victor-Hugo"],
        },
        geometry=[shapely.box(i * 100, 0, i * 100 + 50, 50) for i in range(5)],
        crs=2154,
    )
    got = facilities_from_bdtopo(zones)
    assert list(got["kind"]) == ["ecole", "personnes_agees", "sante", "college_lycee"]  # the town hall is not
    assert list(got["name"]) == ["École Jean-Zay", "EHPAD Les Lilas", "CHU", "Lycée Victor-Hugo"]


def test_a_finess_extract_in_its_lambert_93_columns_is_read(tmp_path):
    path = tmp_path / "finess_extract.csv"
    pd.DataFrame(
        {
            "nofinesset": ["690000001", "690000002", "690000003"],
            "rs": ["EHPAD LES TILLEULS", "CENTRE HOSPITALIER", "PHARMACIE DU CENTRE"],
            "libcategetab": [
                "Etablissement d'hébergement pour personnes âgées dépendantes",
                "Centre Hospitalier (C.H.)",
                "Pharmacie d'Officine",
            ],
            "coordxet": ["842000,5", "842500.0", "843000"],
            "coordyet": ["6519000", "6519500", "6520000"],
        }
    ).to_csv(path, sep=";", index=False)
    got = read_facilities(path, 2154)
    assert list(got["kind"]) == ["personnes_agees", "sante"] and list(got["name"]) == [
        "EHPAD LES TILLEULS",
        "CENTRE HOSPITALIER",
    ]
    assert got.geometry.iloc[0].x == pytest.approx(842000.5)


def test_a_bpe_extract_is_classed_by_its_equipment_code(tmp_path):
    path = tmp_path / "bpe.csv"
    pd.DataFrame(
        {
            "DEPCOM": ["69381"] * 3,
            "TYPEQU": ["C107", "C201", "A203"],
            "LAMBERT_X": [842000, 842100, 842200],
            "LAMBERT_Y": [6519000] * 3,
        }
    ).to_csv(path, sep=";", index=False)
    assert list(read_facilities(path, 2154)["kind"]) == ["ecole", "college_lycee"]  # A203 (a bank) is not


def test_files_without_coordinates_or_without_any_facility_say_so(tmp_path):
    bad = tmp_path / "sans_coordonnees.csv"
    pd.DataFrame({"nom": ["École"], "type": ["école"]}).to_csv(bad, index=False)
    with pytest.raises(MissingColumnError, match="coordonnées introuvables"):
        read_facilities(bad, 2154)
    none = tmp_path / "commerces.csv"
    pd.DataFrame({"type": ["boulangerie"], "lon": [4.83], "lat": [45.76]}).to_csv(none, index=False)
    with pytest.raises(EmptyFileError, match="aucun établissement sensible"):
        read_facilities(none, 2154)


def test_each_facility_gets_its_block_and_the_surface_temperature_within_100_m():
    blocks = gpd.GeoDataFrame(
        {"lst_mean_c": [40.0, 30.0], "risk_class": [4, 1], "p_high_risk": [0.7, 0.01]},
        geometry=[shapely.box(0, 0, 100, 200), shapely.box(100, 0, 200, 200)],
        crs=2154,
    )
    blocks.index = pd.Index(["a", "b"], name="block_id")
    school = gpd.GeoDataFrame(
        {"kind": ["ecole"], "name": ["École"]}, geometry=[shapely.Point(100 - 1e-6, 100)], crs=2154
    )
    got = facility_exposure(school, blocks, walk_m=np.array([120.0]))
    row = got.iloc[0]
    assert row["block_id"] == "a" and row["lst_block_c"] == 40.0 and row["risk_class"] == 4
    assert row["lst_around_c"] == pytest.approx(35.0, abs=0.01)  # half the disc on each block
    assert row["refuge_walk_m"] == 120.0
    on_the_street = gpd.GeoDataFrame({"kind": ["sante"], "name": [None]}, geometry=[shapely.Point(150, 250)], crs=2154)
    assert facility_exposure(on_the_street, blocks).iloc[0]["block_id"] == "b"  # nearest block


def test_a_probability_never_reads_as_certain():
    """A probability from a few hundred draws is never « 100 % » nor « 0 % »."""
    from ilots import fr

    assert fr.probability(1.0) == ">\u00a099\u00a0%" and fr.probability(0.999) == ">\u00a099\u00a0%"
    assert fr.probability(0.0) == "<\u00a01\u00a0%" and fr.probability(0.5) == "50\u00a0%"
    assert fr.probability(float("nan")) == "—"


def test_the_facilities_layer_escapes_names_and_colours_each_kind():
    import folium
    import geopandas as gpd
    import pandas as pd
    import shapely

    from ilots.maps import FACILITY_COLOURS, add_facilities_layer

    f = gpd.GeoDataFrame(
        {"kind": ["creche", "sante"], "name": ["<script>alert(1)</script>", None], "source": "x"},
        geometry=[shapely.Point(651000, 6861000), shapely.box(652000, 6861000, 652100, 6861100)],
        crs=2154,
    )
    e = pd.DataFrame(
        {
            "kind": f["kind"],
            "name": f["name"],
            "lst_block_c": [40.0, 41.0],
            "lst_around_c": [40.5, 41.2],
            "risk_class": [4, None],
        }
    )
    m = folium.Map()
    add_facilities_layer(m, f, e)
    html = m.get_root().render()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert FACILITY_COLOURS["creche"] in html and FACILITY_COLOURS["sante"] in html
    assert "sans nom" in html and "non évalué" in html
