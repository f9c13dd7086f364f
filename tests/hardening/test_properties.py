"""Property-based tests (hypothesis) of the pure functions."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ilots.risk import risk_index
from ilots.scenarios import Intervention, Scenario, ScenarioEngine, Target
from ilots.zonal import zonal_stats
from tests.conftest import make_raster


def brute_force_mean(values: np.ndarray, polygon, res: float = 1.0) -> float:
    """Coverage-weighted mean by intersecting the polygon with every pixel (the definition)."""
    h, w = values.shape
    num = den = 0.0
    for r in range(h):
        for c in range(w):
            v = values[r, c]
            if not np.isfinite(v):
                continue
            pixel = shapely.box(c * res, (h - r - 1) * res, (c + 1) * res, (h - r) * res)
            cover = polygon.intersection(pixel).area / (res * res)
            num += cover * v
            den += cover
    return num / den if den > 0 else np.nan


@settings(max_examples=60, deadline=None)
@given(
    values=arrays(
        np.float64,
        st.tuples(st.integers(3, 7), st.integers(3, 7)),
        elements=st.one_of(st.floats(20, 50), st.just(np.nan)),
    ),
    box=st.tuples(st.floats(0, 0.9), st.floats(0, 0.9), st.floats(0.1, 1.0), st.floats(0.1, 1.0)),
    rotate=st.floats(0, 80),
)
def test_zonal_mean_matches_brute_force(values, box, rotate):
    h, w = values.shape
    x0, y0 = box[0] * w, box[1] * h
    x1, y1 = min(w, x0 + box[2] * w), min(h, y0 + box[3] * h)
    if x1 - x0 < 0.2 or y1 - y0 < 0.2:
        return
    polygon = shapely.affinity.rotate(shapely.box(x0, y0, x1, y1), rotate, origin="centroid")
    blocks = gpd.GeoDataFrame(geometry=[polygon], crs=2154, index=pd.Index(["b"], name="block_id"))
    got = zonal_stats(make_raster(values), blocks, ["mean"])["mean"].iloc[0]
    expected = brute_force_mean(values, polygon.intersection(shapely.box(0, 0, w, h)))
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    anomalies=arrays(np.float64, st.integers(2, 30), elements=st.floats(-6, 8)),
    residents=st.floats(0, 5000),
    elderly=st.floats(0, 1),
)
def test_risk_is_monotone_in_hazard(anomalies, residents, elderly):
    n = len(anomalies)
    table = pd.DataFrame({"area_m2": [20_000.0] * n, "residents": [residents] * n, "elderly_share": [elderly] * n})
    order = np.argsort(anomalies)
    out, _ = risk_index(table, pd.Series(anomalies))
    scores = out["risk_score"].to_numpy()[order]
    classes = out["risk_class"].to_numpy()[order]
    assert np.all(np.diff(scores) >= -1e-9) and np.all(np.diff(classes) >= 0)
    assert ((scores >= 0) & (scores <= 100)).all()


@pytest.fixture(scope="module")
def engine(demo_territory):
    from ilots.analysis import ensure_model
    from ilots.store import load_territory

    terr = load_territory(demo_territory)
    meta, table = ensure_model(terr)
    return ScenarioEngine(terr.blocks, meta, table)


KIND = st.sampled_from(["trees", "depave", "green_roofs", "cool_roofs", "cool_pavements"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.tuples(KIND, st.floats(0, 100), st.sampled_from([None, 2, 3, 4, 5])), max_size=6))
def test_scenario_edits_keep_fractions_valid(engine, items):
    scenario = Scenario(
        "p", [Intervention(k, v, Target("all") if c is None else Target("risk", min_class=c)) for k, v, c in items]
    )
    new, changed, albedo, m2 = engine.edit(scenario)
    fracs = ["tree_frac", "grass_frac", "built_frac", "water_frac", "bare_frac"]
    values = new[fracs].to_numpy(dtype=float)
    ok = np.isfinite(values).all(axis=1)
    assert ((values[ok] >= -1e-12) & (values[ok] <= 1 + 1e-12)).all()
    assert (values[ok].sum(axis=1) <= 1 + 1e-9).all()
    cov = new["building_coverage"].to_numpy()
    assert (new["impervious_frac"].to_numpy() >= cov - 1e-12).all()
    assert (new["building_coverage"] == engine.table["building_coverage"]).all()  # footprints never change
    assert all(v >= 0 for v in m2.values()) and (albedo >= 0).all()
    per_block, summary = engine.apply(scenario)
    assert np.isfinite(per_block["delta_c"]).all()
    if not changed.any():
        assert (per_block["delta_c"] == 0).all()
