"""Sessions share cached territories and maps; no page may mutate them in a way another session sees."""

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def data_dir(fitted_data_dir):
    return fitted_data_dir


def test_pages_do_not_mutate_shared_caches(data_dir, monkeypatch):
    from ui import common

    monkeypatch.setenv("ILOTS_DATA_DIR", str(data_dir))
    path = data_dir / "demo"
    cached = common.load(path)
    before = pd.util.hash_pandas_object(pd.DataFrame(cached.blocks.drop(columns="geometry")), index=True).sum()
    geoms = cached.blocks.geometry.copy()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    for page in ("pages/map.py", "pages/scenarios.py", "pages/cafe.py", "pages/briefing.py", "pages/model.py"):
        at.switch_page(page).run()
        assert not at.exception
    at.switch_page("pages/scenarios.py").run()
    at.slider(key="sc_trees").set_value(35).run()
    at.toggle(key="sc_show_map").set_value(True).run()
    assert not at.exception
    after = common.load(path)
    assert after is cached  # the same shared object...
    assert pd.util.hash_pandas_object(pd.DataFrame(after.blocks.drop(columns="geometry")), index=True).sum() == before
    assert after.blocks.geometry.geom_equals(geoms).all()  # ...left exactly as it was
    m1 = common.territory_map(after, ["lst"])
    m2 = common.territory_map(after, ["lst"])
    assert m1 is not m2  # each session renders its own copy of the cached map
