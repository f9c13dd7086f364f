"""Issue 11 §5: nothing a visitor types, and nothing in the data, runs or loads anything; hostile
paths and archives are refused with their real reason."""

import json
import re
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from ilots.cli import main
from ilots.errors import InputFileError
from ilots.uploads import Limits, UploadError, safe_extract_zip
from tests.conftest import ROOT

HOSTILE_NAME = "![x](http://evil.example/pixel.png) [Cliquez ici](http://evil.example) <img src=x onerror=alert(1)>"
HOSTILE_ID = "<b>îlot</b> & \"1\" 'a'"
# Markdown that would render: an image or a link, or raw HTML; escaped text has a backslash before each.
RENDERED = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\(|(?<!\\)<img")


@pytest.fixture
def hostile(fitted_copy):
    """The fitted demo renamed with Markdown in its name, a block id full of HTML and a named block."""
    blocks = gpd.read_parquet(fitted_copy / "blocks.parquet")
    model = pd.read_parquet(fitted_copy / "model.parquet")
    first = blocks.index[0]
    ids = {first: HOSTILE_ID}
    blocks = blocks.rename(index=ids)
    blocks["attr_nom"] = None
    blocks.loc[HOSTILE_ID, "attr_nom"] = "Quartier " + HOSTILE_NAME
    blocks.to_parquet(fitted_copy / "blocks.parquet")
    model.rename(index=ids).to_parquet(fitted_copy / "model.parquet")
    manifest = json.loads((fitted_copy / "territory.json").read_text())
    manifest["name"] = HOSTILE_NAME
    (fitted_copy / "territory.json").write_text(json.dumps(manifest))
    return fitted_copy


def _markdown_sources(at) -> list[str]:
    out = []
    for kind in ("markdown", "title", "header", "subheader", "caption", "error", "warning", "info", "success"):
        out += [str(e.value) for e in getattr(at, kind)]
    for radio in at.radio:
        out += [str(o) for o in radio.options]
    return out


def test_data_and_names_are_shown_as_text_on_every_page(hostile, monkeypatch):
    monkeypatch.setenv("ILOTS_DATA_DIR", str(hostile.parent))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    for page in (
        "pages/overview.py",
        "pages/map.py",
        "pages/model.py",
        "pages/scenarios.py",
        "pages/briefing.py",
        "pages/cafe.py",
        "pages/transparency.py",
    ):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        bad = [s for s in _markdown_sources(at) if RENDERED.search(s)]
        assert not bad, (page, bad)
    at.switch_page("pages/cafe.py").run()
    at.text_input(key="cafe_search").set_value("Quartier").run()
    assert any("evil" in o for o in at.radio(key="cafe_hit").options)  # the hostile name is found, as text
    assert not [s for s in _markdown_sources(at) if RENDERED.search(s)]
    at.switch_page("pages/map.py").run()
    at.text_input(key="map_search").set_value("Quartier").run()
    assert not at.exception and not [s for s in _markdown_sources(at) if RENDERED.search(s)]
    assert any("îlot" in s and "&" in s for s in (h.value for h in at.subheader))  # the block card opened


def test_hostile_block_ids_are_clickable_and_escaped_in_tooltips(hostile):
    from ilots.analysis import ensure_model
    from ilots.maps import territory_map
    from ilots.store import load_territory

    terr = load_territory(hostile)
    meta, table = ensure_model(terr)
    blocks = terr.blocks.join(table[["risk_class", "lst_used_c"]])
    fmap = territory_map(blocks, terr.manifest["bounds_wgs84"], ["lst"])
    layer = next(c for c in fmap._children.values() if type(c).__name__ == "FrozenGeoJson")
    props = {f["properties"]["block_id"]: f["properties"] for f in layer.data["features"]}
    assert HOSTILE_ID in props  # what a click sends back is the real id, found in blocks.index
    assert props[HOSTILE_ID]["_t_block_id"] == "&lt;b&gt;îlot&lt;/b&gt; &amp; &quot;1&quot; &#x27;a&#x27;"
    html = fmap.get_root().render()
    assert "<b>îlot</b>" not in html  # the JSON is embedded HTML-safe


def _communes_file(tmp_path, code):
    gdf = gpd.GeoDataFrame({"code_insee": [code], "nom": ["Évasion"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=2154)
    gdf.to_file(tmp_path / "communes.gpkg")
    return tmp_path / "communes.gpkg"


@pytest.mark.parametrize("code", ["../../evasion", "37261/../../x", "ABCDE", "3726"])
def test_build_many_validates_insee_codes(tmp_path, capsys, code):
    from ilots.scale import read_communes

    out = tmp_path / "out"
    if code != "3726":
        with pytest.raises(InputFileError, match="Code INSEE invalide"):
            read_communes(str(_communes_file(tmp_path, code)))
        assert main(["build-many", "--communes", code, "--year", "2023", "--out", str(out)]) == 2
        assert "Code INSEE invalide" in capsys.readouterr().err
        assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["communes.gpkg"]
    else:  # a leading zero lost by a spreadsheet is restored
        assert read_communes(code) == ["03726"]


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_many_members_under_the_single_member_limit_are_a_bomb(tmp_path):
    archive = _zip(tmp_path / "b.zip", {f"BDTOPO/part{i:02d}.dbf": bytes(9_900_000) for i in range(40)})
    assert archive.stat().st_size < 3 * 1024**2
    with pytest.raises(UploadError, match="bombe zip"):
        safe_extract_zip(archive, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_too_many_members_and_too_large_totals_are_refused(tmp_path):
    archive = _zip(tmp_path / "m.zip", {f"f{i}.txt": b"x" for i in range(30)})
    with pytest.raises(UploadError, match="trop de fichiers"):
        safe_extract_zip(archive, tmp_path / "x", Limits(max_files=20))
    with pytest.raises(UploadError, match="Mo permis"):
        safe_extract_zip(
            _zip(tmp_path / "t.zip", {"a.bin": bytes(2000)}), tmp_path / "y", Limits(max_unpacked_bytes=1000)
        )


@pytest.mark.parametrize(
    ("members", "fragment"),
    [
        ({"BDTOPO/BATIMENT": b"x", "BDTOPO/BATIMENT/BATIMENT.shp": b"y"}, "fichier et comme dossier"),
        ({"BDTOPO/" + "a" * 300 + ".shp": b"x"}, "trop long"),
    ],
)
def test_archive_names_get_their_real_reason(tmp_path, members, fragment):
    with pytest.raises(UploadError, match=fragment):
        safe_extract_zip(_zip(tmp_path / "n.zip", members), tmp_path / "x")


def test_a_legitimate_bdtopo_zip_still_extracts(tmp_path, demo_territory):
    gpkg = (demo_territory / "sources" / "bdtopo_ilotville.gpkg").read_bytes()
    files = safe_extract_zip(_zip(tmp_path / "ok.zip", {"BDTOPO/1_DONNEES/bd.gpkg": gpkg}), tmp_path / "x")
    assert [f.name for f in files] == ["bd.gpkg"]
