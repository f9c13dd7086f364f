"""Issue 11 §6: every documented --where form works end to end; a polygon touching no block is an error."""

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from ilots.cli import main


@pytest.mark.parametrize(
    ("where", "keep"),
    [
        ("all", lambda c: c >= 1),
        ("tous", lambda c: c >= 1),
        ("risk>=4", lambda c: c >= 4),
        ("risk>3", lambda c: c >= 4),
        ("risk >= 2", lambda c: c >= 2),
        ("risk==4", lambda c: c == 4),
        ("risk==5", lambda c: c == 5),
        ("risk=3", lambda c: c == 3),
        ("RISK==1", lambda c: c == 1),
    ],
)
def test_every_where_form_selects_its_blocks(fitted_copy, capsys, where, keep):
    classes = pd.read_parquet(fitted_copy / "model.parquet")["risk_class"]
    expected = int(keep(classes).sum())
    code = main(["scenario", str(fitted_copy), "--trees", "10", "--where", where, "--json"])
    if expected == 0:
        assert code == 2 and "aucun îlot" in capsys.readouterr().err
    else:
        assert code == 0
        assert json.loads(capsys.readouterr().out)["n_blocks_changed"] == expected


def test_risk_equal_forms_exist_on_the_demo(fitted_copy):
    classes = pd.read_parquet(fitted_copy / "model.parquet")["risk_class"]
    assert (classes == 4).any() and (classes == 3).any()  # so the == cases above really select blocks


def test_polygon_touching_no_block_is_an_error(fitted_copy, tmp_path, capsys):
    far = gpd.GeoDataFrame(geometry=[shapely.box(100000, 6100000, 100100, 6100100)], crs=2154)
    far.to_file(tmp_path / "zone.gpkg")
    assert main(["scenario", str(fitted_copy), "--trees", "10", "--polygon", str(tmp_path / "zone.gpkg")]) == 2
    err = capsys.readouterr().err
    assert "ne touche aucun îlot" in err and len(err.strip().splitlines()) == 1
