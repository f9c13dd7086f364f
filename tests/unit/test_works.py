"""Issue 15: the works file — French or English columns, dates or years, and a precise sentence for each fault."""

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ilots.errors import GeometryTypeError, InputFileError, MissingColumnError, NoOverlapError
from ilots.maps import works_map
from ilots.sources.works import check_works, parse_completion, read_works

SQUARE = shapely.box(840_000, 6_520_000, 840_200, 6_520_200)


def _frame(**columns) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    return gpd.GeoDataFrame(columns, geometry=[SQUARE] * n, crs=2154)


def test_a_french_works_file_is_read_with_its_kinds_dates_areas_and_costs(tmp_path):
    path = tmp_path / "realisations.gpkg"
    _frame(
        Nom=["Parc", "Cour", "Toits"],
        Mesure=["Plantation d'arbres", "Désimperméabilisation (cour oasis)", "toiture végétalisée"],
        Date_fin=["2021-06-30", "30/06/2022", "2020"],
        Surface_m2=[None, "3 000", 1500.0],
        **{"Coût (€)": ["1 200 000 €", None, "15000,5"]},
    ).to_file(path, driver="GPKG")
    works = read_works(path, 2154)
    assert list(works["kind"]) == ["trees", "depave", "green_roofs"]
    assert list(works["completed"]) == [dt.date(2021, 6, 30), dt.date(2022, 6, 30), dt.date(2020, 7, 1)]
    assert works["area_m2"].tolist() == [pytest.approx(40_000.0), 3000.0, 1500.0]
    assert works["cost_eur"].iloc[0] == 1_200_000.0 and np.isnan(works["cost_eur"].iloc[1])
    assert works["cost_eur"].iloc[2] == pytest.approx(15000.5)
    assert list(works.index) == ["p1", "p2", "p3"]


def test_english_columns_and_a_geojson_in_wgs84_are_brought_to_the_working_crs(tmp_path):
    path = tmp_path / "works.geojson"
    _frame(name=["Square"], kind=["cool roof"], completed=["2019-05-01"]).to_crs(4326).to_file(path)
    works = read_works(path, 2154)
    assert works.crs.to_epsg() == 2154 and works["kind"].iloc[0] == "cool_roofs"
    assert works.geometry.iloc[0].area == pytest.approx(40_000.0, rel=1e-3)


def test_a_missing_date_column_names_what_is_expected_and_what_is_there():
    with pytest.raises(
        MissingColumnError, match=r"« date_fin » \(date d'achèvement\).*colonnes présentes : nom, mesure"
    ):
        check_works(_frame(nom=["Parc"], mesure=["arbres"]))


def test_an_unknown_kind_and_an_unreadable_date_name_the_row():
    with pytest.raises(InputFileError, match=r"ligne 2 \(B\) : mesure « fresque murale » inconnue"):
        check_works(_frame(nom=["A", "B"], mesure=["arbres", "fresque murale"], date=["2020", "2021"]))
    with pytest.raises(InputFileError, match=r"ligne 1 \(A\) : date d'achèvement « bientôt » illisible"):
        check_works(_frame(nom=["A"], mesure=["arbres"], date=["bientôt"]))


def test_points_are_refused_and_works_off_the_territory_too(tmp_path):
    points = gpd.GeoDataFrame(
        {"mesure": ["arbres"], "date": ["2020"]}, geometry=[shapely.Point(840_000, 6_520_000)], crs=2154
    )
    with pytest.raises(GeometryTypeError, match="polygones"):
        check_works(points)
    path = tmp_path / "w.gpkg"
    _frame(mesure=["arbres"], date=["2020"]).to_file(path, driver="GPKG")
    with pytest.raises(NoOverlapError, match="Aucun projet"):
        read_works(path, 2154, territory_area=shapely.box(0, 0, 10, 10))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-06-30", dt.date(2021, 6, 30)),
        ("30/06/2021", dt.date(2021, 6, 30)),
        (2019, dt.date(2019, 7, 1)),
        ("1850", None),
        ("", None),
        (None, None),
    ],
)
def test_completion_dates(value, expected):
    assert parse_completion(value) == expected


def test_names_from_the_file_are_escaped_on_the_map():
    works = check_works(_frame(nom=['<img src=x onerror="alert(1)">'], mesure=["arbres"], date=["2020"]))
    blocks = gpd.GeoDataFrame({"lst_mean_c": [40.0]}, geometry=[SQUARE.buffer(50)], crs=2154)
    html = (
        works_map(blocks, works, {"p1": ("cooling", "refroidissement mesuré")}, (2.0, 47.0, 2.1, 47.1))
        .get_root()
        .render()
    )
    assert "<img src=x" not in html and "\\u0026lt;img src=x" in html  # HTML-escaped, then JSON-escaped


def test_added_projects_never_replace_the_saved_ones_nor_repeat_them(tmp_path):
    from ilots.store import add_works, read_works_file

    first = check_works(_frame(nom=["Parc"], mesure=["arbres"], date=["2020"]))
    assert add_works(tmp_path, first) == 1
    drawn = gpd.GeoDataFrame(
        {"nom": ["<b>Square</b>"], "mesure": ["toiture fraîche"], "date_fin": ["2021-05-02"], "cout_eur": [None]},
        geometry=[SQUARE.buffer(-50)],
        crs=2154,
    )
    assert add_works(tmp_path, check_works(drawn)) == 1
    assert add_works(tmp_path, first) == 0  # already saved
    saved = read_works_file(tmp_path)
    assert list(saved["name"]) == ["Parc", "<b>Square</b>"] and list(saved.index) == ["p1", "p2"]
    assert list(saved["kind"]) == ["trees", "cool_roofs"] and saved["completed"].iloc[1] == dt.date(2021, 5, 2)
