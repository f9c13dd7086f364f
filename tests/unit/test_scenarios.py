"""Scenarios: consistent feature edits, monotone cooling, extrapolation flags, persistence."""

import json

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from ilots.analysis import fit_territory
from ilots.scenarios import (
    Intervention,
    Scenario,
    ScenarioEngine,
    ScenarioError,
    ScenarioExistsError,
    Target,
    UnitCosts,
    compare_scenarios,
    delete_scenario,
    list_scenarios,
    load_scenario,
    parse_where,
    save_scenario,
)
from ilots.store import load_territory


@pytest.fixture(scope="module")
def engine(demo_territory):
    terr = load_territory(demo_territory)
    meta, table = fit_territory(terr)
    return ScenarioEngine(terr.blocks, meta, table)


def test_no_intervention_changes_nothing(engine):
    pb, s = engine.apply(Scenario("rien"))
    assert (pb["delta_c"] == 0).all() and s["n_blocks_changed"] == 0 and s["cost_eur"] == 0
    assert (pb["lst_after_c"] == pb["lst_before_c"]).all()
    assert (pb["risk_class_after"] == pb["risk_class_before"]).all()


def test_more_trees_never_warm_and_cool_more(engine):
    assert engine.model.effect("tree_frac") < 0
    deltas = [engine.apply(Scenario("t", [Intervention("trees", pts)]))[0]["delta_c"] for pts in (5, 10, 20)]
    assert (deltas[0] <= 1e-12).all()
    assert (deltas[1] <= deltas[0] + 1e-12).all() and (deltas[2] <= deltas[1] + 1e-12).all()
    _, s = engine.apply(Scenario("t", [Intervention("trees", 10)]))
    lo, hi = s["delta_mean_interval_c"]
    assert lo < s["delta_mean_c"] < hi < 0
    assert s["sanity"]["trees"]["source"].startswith("Yang et al. 2022")


def test_targets_select_blocks(engine):
    _, s_all = engine.apply(Scenario("a", [Intervention("trees", 10)]))
    _, s_risk = engine.apply(Scenario("r", [Intervention("trees", 10, Target("risk", min_class=4))]))
    assert s_risk["n_blocks_changed"] == int((engine.base_class >= 4).sum()) < s_all["n_blocks_changed"]
    ids = list(engine.index[:3])
    pb, s = engine.apply(Scenario("i", [Intervention("trees", 10, Target("ids", ids=ids))]))
    assert pb.index[pb["changed"]].tolist() == ids
    box = engine.geometry.iloc[0].buffer(1).envelope
    pb, _ = engine.apply(Scenario("p", [Intervention("trees", 10, Target("polygon", polygon_wkt=box.wkt))]))
    assert pb["changed"].any() and pb["changed"].sum() < 20
    with pytest.raises(ScenarioError, match="inconnus"):
        engine.apply(Scenario("x", [Intervention("trees", 10, Target("ids", ids=["nope"]))]))


def test_cool_roofs_use_the_labelled_literature_coefficient(engine):
    pb, s = engine.apply(Scenario("c", [Intervention("cool_roofs", 100)]))
    assert (pb["delta_model_c"] == 0).all()
    assert s["delta_air_mean_c"] < 0
    assert "Santamouris" in s["sanity"]["cool_roofs"]["source"]


@settings(max_examples=25, deadline=None)
@given(trees=st.floats(0, 100), depave=st.floats(0, 100), roofs=st.floats(0, 100))
def test_fractions_stay_valid_whatever_the_intensities(engine, trees, depave, roofs):
    scenario = Scenario(
        "h", [Intervention("trees", trees), Intervention("depave", depave), Intervention("green_roofs", roofs)]
    )
    edited, changed, _albedo, m2 = engine.edit(scenario)
    for col in (
        "tree_frac",
        "grass_frac",
        "built_frac",
        "bare_frac",
        "impervious_frac",
        "road_frac",
        "building_coverage",
    ):
        if col in edited:
            v = edited[col].dropna()
            assert ((v >= -1e-9) & (v <= 1 + 1e-9)).all(), col
    cover = edited[["tree_frac", "grass_frac", "built_frac", "bare_frac", "water_frac"]].fillna(0).sum(axis=1)
    before = engine.table[["tree_frac", "grass_frac", "built_frac", "bare_frac", "water_frac"]].fillna(0).sum(axis=1)
    assert (cover <= np.maximum(before, 1.0) + 1e-9).all()  # land cover is moved between classes, never created
    footprint = engine.table["building_coverage"].fillna(0)
    assert np.allclose(edited["building_coverage"].fillna(0), footprint)  # buildings never move
    pb, s = engine.apply(scenario)
    assert np.isfinite(pb["delta_c"]).all() and s["m2"]["trees"] >= 0 and s["cost_eur"] >= 0


def test_edited_features_stay_fractions(engine):
    # Re-derive the edited table through the public path: huge edits must keep sums ≤ 1.
    scenario = Scenario(
        "max", [Intervention("trees", 100), Intervention("depave", 100), Intervention("green_roofs", 100)]
    )
    pb, s = engine.apply(scenario)
    t = engine.table
    planted = s["m2"]["trees"] / t["area_m2"].sum()
    assert (
        0
        < planted
        <= (
            t["bare_frac"].fillna(0) + (t["built_frac"].fillna(0) - t["building_coverage"].fillna(0)).clip(lower=0)
        ).mean()
        + 1e-9
    )


def test_extrapolation_is_flagged(engine):
    pb, s = engine.apply(Scenario("big", [Intervention("trees", 100)]))
    assert s["n_extrapolated"] > 0
    assert (pb.loc[pb["extrapolated"], "changed"]).all()
    _, small = engine.apply(Scenario("small", [Intervention("trees", 1, Target("ids", ids=[engine.index[0]]))]))
    assert small["n_extrapolated"] <= 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"interventions": []}, "champ manquant"),
        ({"name": "x", "interventions": [{"kind": "rockets", "intensity": 1}]}, "inconnu"),
        ({"name": "x", "interventions": [{"kind": "trees", "intensity": -5}]}, "hors limites"),
        ({"name": "x", "interventions": [{"kind": "trees", "intensity": "beaucoup"}]}, "non numérique"),
        ({"name": "", "interventions": []}, "nom"),
        (
            {
                "name": "x",
                "interventions": [{"kind": "trees", "intensity": 5, "target": {"kind": "risk", "min_class": 9}}],
            },
            "classe",
        ),
        ([1, 2], "objet JSON"),
    ],
)
def test_malformed_scenarios_are_rejected(data, message):
    with pytest.raises(ScenarioError, match=message):
        Scenario.from_dict(data)


def test_where_parser():
    assert parse_where("risk>=4").min_class == 4
    assert parse_where("risk > 3").min_class == 4
    assert parse_where("all").kind == "all"
    with pytest.raises(ScenarioError):
        parse_where("risk>=9")


def test_save_list_load_delete_and_never_overwrite(tmp_path):
    sc = Scenario("Cours d'école végétalisées", [Intervention("trees", 15, Target("risk", min_class=4))])
    path = save_scenario(tmp_path, sc)
    assert path.name.startswith("cours-d-ecole-vegetalisees-") and path.suffix == ".json"
    with pytest.raises(ScenarioExistsError):
        save_scenario(tmp_path, sc)
    (tmp_path / "scenarios" / "broken.json").write_text("{not json")
    (tmp_path / "scenarios" / "bad-values.json").write_text(
        json.dumps({"name": "x", "interventions": [{"kind": "trees", "intensity": 500}]})
    )
    good, problems = list_scenarios(tmp_path)
    assert [s.name for s in good] == [sc.name] and len(problems) == 2
    assert load_scenario(tmp_path, sc.name).interventions[0].target.min_class == 4
    before = (tmp_path / "scenarios" / "broken.json").read_text()
    save_scenario(tmp_path, Scenario("broken"))  # its own file: an unreadable one of a similar name is left alone
    assert (tmp_path / "scenarios" / "broken.json").read_text() == before
    delete_scenario(tmp_path, sc.name)
    assert [s.name for s in list_scenarios(tmp_path)[0]] == ["broken"]


def test_unit_costs_are_editable_and_cited():
    c = UnitCosts.from_dict({"trees_eur_m2": 200})
    assert c.trees_eur_m2 == 200 and c.depave_eur_m2 == 100
    with pytest.raises(ScenarioError, match="inconnu"):  # a misspelt key is never silently ignored
        UnitCosts.from_dict({"tree_eur_m2": 200})
    assert all(k in UnitCosts.SOURCES for k in UnitCosts.__dataclass_fields__)
    with pytest.raises(ScenarioError):
        UnitCosts.from_dict({"trees_eur_m2": -1})


def test_polygon_target_validation():
    with pytest.raises(ScenarioError, match="polygone"):
        Target("polygon", polygon_wkt=shapely.Point(0, 0).wkt).validate()


def test_compare_scenarios_side_by_side(engine):
    table = compare_scenarios(
        engine, [Scenario("A", [Intervention("trees", 5)]), Scenario("B", [Intervention("trees", 15)])]
    )
    assert list(table.index) == ["A", "B"]
    assert table.loc["B", "delta_mean_c"] < table.loc["A", "delta_mean_c"] < 0
    assert table.loc["B", "cost_eur"] > table.loc["A", "cost_eur"] > 0


def test_air_and_surface_figures_are_never_added(engine):
    pb, s = engine.apply(Scenario("c", [Intervention("cool_roofs", 100), Intervention("trees", 10)]))
    trees_only = engine.apply(Scenario("t", [Intervention("trees", 10)]))[1]
    assert s["delta_mean_c"] == pytest.approx(trees_only["delta_mean_c"])  # the air coefficient stays out
    assert (pb["delta_c"] == pb["delta_model_c"]).all()
    assert s["delta_air_mean_c"] < 0 and s["delta_air_interval_c"][0] < s["delta_air_interval_c"][1] < 0


def test_no_interval_is_ever_zero_width(engine):
    _, s = engine.apply(Scenario("c", [Intervention("cool_roofs", 50)]))
    assert s["delta_mean_c"] is None and s["delta_mean_interval_c"] == [None, None]  # no surface edit: unknown
    for sc in (Scenario("t", [Intervention("trees", 10)]), Scenario("d", [Intervention("depave", 30)])):
        _, s = engine.apply(sc)
        lo, hi = s["delta_mean_interval_c"]
        assert lo is None or lo < hi


def test_without_population_weighted_figures_are_absent(engine):
    import pandas as pd

    from ilots.scenarios import ScenarioEngine

    blocks = engine.geometry.to_frame().join(engine.table.drop(columns=["residents"], errors="ignore"))
    meta = engine.meta
    no_pop = ScenarioEngine(
        blocks, meta, pd.DataFrame({"lst_used_c": engine.base_lst, "risk_class": engine.base_class}, index=engine.index)
    )
    _, s = no_pop.apply(Scenario("t", [Intervention("trees", 10)]))
    assert s["delta_pop_weighted_c"] is None and s["residents_out_of_high_risk"] is None
    assert s["residents_reached"] is None and s["delta_mean_c"] < 0


def test_an_effect_outside_the_quoted_range_is_said():
    from ilots.scenarios import sanity_band

    assert sanity_band("trees", -0.84)["note"].startswith("L'effet estimé sur ce territoire (−0,84")
    assert sanity_band("trees", -0.6)["note"] is None and sanity_band("trees", -0.6)["outside_range"] is False


def test_a_scenario_cools_by_the_effect_of_the_change_on_the_blocks_own_ground(engine):
    """Issue 12 §5: the ridge reads the shares as the thermal sensor sees them; a scenario moves a block's
    matched share by the change made on its ground, so +10 points of trees on one block cools it by the
    tree effect × 0.10, not by the smaller change Landsat's blur would show on that block."""
    assert engine.model.inputs.get("tree_frac") == "tree_frac_fp"
    table = engine.table
    room = table["bare_frac"].fillna(0) + table["built_frac"].fillna(0) - table["building_coverage"].fillna(0)
    pick = table.index[(room > 0.3) & (table["tree_frac_fp"] < engine.upper["tree_frac"] - 0.15)][:1].tolist()
    assert pick
    scenario = Scenario("t", [Intervention("trees", 10, Target("ids", ids=pick))])
    pb, _ = engine.apply(scenario)
    new = engine.edit(scenario)[0]
    on_ground = {f: float(new.loc[pick[0], f] - table.loc[pick[0], f]) for f in engine.model.features}
    assert on_ground["tree_frac"] == pytest.approx(0.10)
    want = sum(engine.model.effect(f) * d for f, d in on_ground.items())  # trees replace sealed ground too
    assert pb.loc[pick[0], "delta_c"] == pytest.approx(want, rel=1e-6)
    assert not pb.loc[pick[0], "extrapolated"]
    assert (pb.drop(index=pick)["delta_c"] == 0).all()


def test_the_area_a_refuge_scenario_opens_is_the_drawn_zone_or_the_chosen_blocks():
    import geopandas as gpd
    import shapely

    from ilots.errors import ScenarioError
    from ilots.scenarios import Target, target_area

    blocks = gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10), shapely.box(30, 0, 40, 10)],
        index=["a", "b", "c"],
        crs=2154,
    )
    assert target_area(blocks, Target("ids", ids=["a", "b", "zz"])).area == pytest.approx(200.0)
    drawn = shapely.box(0, 0, 5, 5)
    assert target_area(blocks, Target("polygon", polygon_wkt=drawn.wkt)).equals(drawn)
    with pytest.raises(ScenarioError, match="refuge"):
        target_area(blocks, Target("all"))
