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


def test_overview_shows_the_territory_and_its_figures(data_dir):
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
    """A read-only disk (staged: the session runs as root) gives a French message, not a crash."""
    import errno

    from ilots import demo

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(demo, "build_demo", read_only)  # ui.common imports it when a demo is to be built
    monkeypatch.setenv("ILOTS_DATA_DIR", str(tmp_path / "data"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert any("ILOTS_DATA_DIR" in e.value and "lecture seule" in e.value for e in at.error)
