"""The « Nouveau territoire » page downloads a commune from the (local, fake) open-data services."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from ilots.store import is_territory, load_territory
from tests.conftest import ROOT


@pytest.fixture
def app(fitted_data_dir, fake_world, tmp_path, monkeypatch):
    _, url, _ = fake_world
    data = tmp_path / "data"
    shutil.copytree(fitted_data_dir / "demo", data / "demo")
    monkeypatch.setenv("ILOTS_DATA_DIR", str(data))
    monkeypatch.setenv("ILOTS_WFS_URL", f"{url}/wfs")
    monkeypatch.setenv("ILOTS_STAC_URL", f"{url}/stac/")
    monkeypatch.setenv("ILOTS_CACHE_DIR", str(tmp_path / "cache"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180).run()
    at.switch_page("pages/new_territory.py").run()
    return at, data


def test_a_commune_is_downloaded_built_and_fitted_from_the_page(app):
    at, data = app
    assert not at.exception
    at.text_input(key="fetch_communes").set_value("37999").run()
    at.number_input(key="fetch_year").set_value(2023).run()
    at.button(key="fetch_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Îlotville" in s.value for s in at.success)
    assert any("13 juillet 2023" in m.value for m in at.markdown)
    terr = load_territory(data / "ilotville")
    assert terr.manifest["fetch"]["communes"] == [{"code_insee": "37999", "nom": "Îlotville"}]
    assert (data / "ilotville" / "model.json").exists()
    # Again without « Remplacer »: refused, the territory is kept.
    stamp = (data / "ilotville" / "territory.json").read_bytes()
    at.button(key="fetch_go").click().run()
    assert any("existe déjà" in e.value for e in at.error)
    assert (data / "ilotville" / "territory.json").read_bytes() == stamp


@pytest.mark.parametrize(
    ("commune", "message"),
    [
        ("99999", "Aucune commune ne correspond"),
        ("Saint-Exemple", "désigne 2 communes"),
        ("37997", "aucun objet « bâtiments »"),
    ],
)
def test_download_errors_are_one_french_sentence(app, commune, message):
    at, data = app
    at.text_input(key="fetch_communes").set_value(commune).run()
    at.number_input(key="fetch_year").set_value(2023).run()
    at.button(key="fetch_go").click().run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert sorted(p.name for p in data.iterdir()) == ["demo"] and is_territory(data / "demo")


def test_offline_the_page_says_so_and_points_to_local_files(app, monkeypatch):
    at, _ = app
    monkeypatch.setenv("ILOTS_WFS_URL", "http://127.0.0.1:9/wfs")
    at.text_input(key="fetch_communes").set_value("37261").run()
    at.button(key="fetch_go").click().run()
    assert not at.exception
    assert any("Impossible de joindre" in e.value and "fichiers locaux" in e.value for e in at.error)


def test_the_upload_mode_is_still_offered(app):
    at, _ = app
    at.radio(key="new_mode").set_value("upload").run()
    assert not at.exception
    assert at.text_input(key="new_name") is not None and at.button(key="new_go").disabled
