"""The dashboard runs on a territory and builds the demo itself when none is prepared."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture
def data_dir(demo_territory, tmp_path, monkeypatch):
    shutil.copytree(demo_territory, tmp_path / "demo")
    monkeypatch.setenv("ILOTS_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def fitted_dir(fitted_demo, tmp_path, monkeypatch):
    shutil.copytree(fitted_demo, tmp_path / "demo")
    monkeypatch.setenv("ILOTS_DATA_DIR", str(tmp_path))
    return tmp_path


def test_overview_shows_the_territory_and_its_figures(fitted_dir):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.startswith("Îlotville")
    labels = [m.label for m in at.metric]
    assert "Température de surface moyenne" in labels
    mean = next(m.value for m in at.metric if m.label == "Température de surface moyenne")
    assert mean.endswith("°C") and "," in mean  # French decimal comma
    assert any("synthétiques" in i.value for i in at.info)
    assert "août 2023" in at.caption[0].value


def test_demo_is_built_on_first_start(tmp_path, monkeypatch):
    monkeypatch.setenv("ILOTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ILOTS_DEMO_SIZE_KM", "1.5")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    assert not at.exception
    assert (tmp_path / "demo" / "territory.json").exists()
    assert at.title[0].value.startswith("Îlotville")


def test_unwritable_data_folder_is_a_clear_message(tmp_path, monkeypatch):
    """A data folder that cannot be created or written (staged: its parent is a file, since the session runs as
    root) gives a French message before any worker starts, not a crash."""
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("ILOTS_DATA_DIR", str(tmp_path / "file" / "data"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert any("ILOTS_DATA_DIR" in e.value and "lecture seule" in e.value for e in at.error)


def test_first_view_shows_the_observed_map_while_the_model_is_fitted_in_a_worker(data_dir):
    """Issue 14 §5: the home page does not wait for the fit; it draws the observed map with the fit's progress,
    then the model's figures once the worker has written the model."""
    import time

    from ilots.store import MODEL

    assert not (data_dir / "demo" / MODEL).exists()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.startswith("Îlotville")
    assert any("s'ajuste" in i.value and "observées" in i.value for i in at.info)
    assert len(at.get("component_instance")) == 1  # the observed map
    assert any(p.proto.text.startswith("Ajustement du modèle de chaleur") for p in at.get("progress"))
    assert "Précision du modèle" not in [m.label for m in at.metric]  # no model figure before the model
    deadline = time.time() + 180
    while not (data_dir / "demo" / MODEL).exists() and time.time() < deadline:
        time.sleep(0.5)
    assert (data_dir / "demo" / MODEL).exists(), "the background fit wrote no model"
    # the worker reports « done » just after writing; the page, refreshed every second, shows the model then
    deadline = time.time() + 60
    while True:
        at.run()
        assert not at.exception
        if "Précision du modèle" in [m.label for m in at.metric] or time.time() > deadline:
            break
        time.sleep(0.5)
    assert "Précision du modèle" in [m.label for m in at.metric]
    assert not any("s'ajuste" in i.value for i in at.info)
