"""Working CRS choice and the atomic territory store."""

import json

import pytest

from ilots.crs import choose_working_crs
from ilots.errors import BuildError, CorruptTerritoryError, TerritoryNotFoundError
from ilots.store import MANIFEST, is_territory, list_territories, load_territory, staging, write_json_atomic


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (4.83, 45.76, 2154),
        (-1.55, 47.22, 2154),
        (9.45, 42.7, 2154),
        (-61.55, 16.25, 5490),
        (-61.0, 14.6, 5490),
        (-52.33, 4.93, 2972),
        (55.45, -21.1, 2975),
        (45.17, -12.78, 4471),
        (-74.0, 4.0, 32618),
        (-40.0, 72.0, 32624),
        (-75.0, -8.0, 32718),
    ],
)
def test_working_crs(lon, lat, epsg):
    assert choose_working_crs(lon, lat).epsg == epsg


def test_failed_build_leaves_the_previous_territory_intact(tmp_path):
    out = tmp_path / "t"
    with staging(out) as tmp:
        write_json_atomic(tmp / MANIFEST, {"format_version": 1, "v": 1})
        (tmp / "blocks.parquet").write_bytes(b"old")
    assert json.loads((out / MANIFEST).read_text())["v"] == 1
    with pytest.raises(RuntimeError), staging(out) as tmp:
        write_json_atomic(tmp / MANIFEST, {"format_version": 1, "v": 2})
        raise RuntimeError("crash in the middle of a build")
    assert json.loads((out / MANIFEST).read_text())["v"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["t"]  # no staging folder left behind


def test_staging_refuses_to_replace_a_foreign_folder(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.odt").write_text("precious")
    with pytest.raises(BuildError, match="n'est pas un territoire"), staging(tmp_path / "docs"):
        pass
    assert (tmp_path / "docs" / "thesis.odt").read_text() == "precious"


def test_load_errors(tmp_path):
    with pytest.raises(TerritoryNotFoundError):
        load_territory(tmp_path / "nothing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / MANIFEST).write_text("{not json")
    with pytest.raises(CorruptTerritoryError):
        load_territory(tmp_path / "bad")
    assert not is_territory(tmp_path / "bad")
    assert list_territories(tmp_path) == []
