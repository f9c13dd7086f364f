"""Risk index and per-block explanations."""

import numpy as np
import pandas as pd
import pytest

from ilots.explain import contributions, describe, sentence
from ilots.model import LinearModel
from ilots.risk import hazard_anomaly, risk_class, risk_index


def test_classes_and_thresholds():
    assert risk_class([0, 19.9, 20, 59.9, 60, 80, 100, np.nan]).tolist() == [1, 1, 2, 3, 4, 5, 5, 0]


def test_score_is_monotone_in_hazard_and_hazard_only_without_population():
    table = pd.DataFrame({"area_m2": [10_000.0] * 5, "residents": [100.0] * 5, "elderly_share": [0.3] * 5})
    anomaly = pd.Series([-3.0, -1.0, 0.5, 2.0, 5.0])
    out, note = risk_index(table, anomaly)
    assert out["risk_score"].is_monotonic_increasing
    assert out["risk_score"].iloc[0] == 0 and note["mode"].startswith("aléa × exposition")
    alone, note2 = risk_index(table[["area_m2"]], anomaly)
    assert "aléa seul" in note2["mode"]
    assert alone["risk_score"].tolist() == pytest.approx([0, 20, 50, 80, 100])


def test_uninhabited_hot_block_scores_low():
    table = pd.DataFrame({"area_m2": [10_000.0, 10_000.0], "residents": [0.0, 150.0]})
    out, _ = risk_index(table, pd.Series([3.0, 3.0]))
    assert out["risk_score"].iloc[0] == pytest.approx(25.0)
    assert out["risk_score"].iloc[1] == pytest.approx(100.0)


def test_hazard_uses_prediction_where_clouded():
    obs = pd.Series([40.0, 42.0, np.nan, 44.0])
    pred = pd.Series([39.0, 41.0, 45.0, 43.0])
    anomaly, ref, source = hazard_anomaly(obs, pred, pd.Series([1.0, 0.2, 0.0, 1.0]))
    assert source.tolist() == ["observed", "predicted", "predicted", "observed"]
    assert ref == pytest.approx(np.median([40, 41, 45, 44]))


def test_contributions_sum_to_the_linear_departure_and_sentence_is_french():
    model = LinearModel(
        ["tree_frac", "impervious_frac"],
        [0.0, 0.0],
        [1.0, 1.0],
        [0.2, 0.5],
        [],
        ["tree_frac", "impervious_frac"],
        [-6.0, 4.0],
        40.0,
        1.0,
        [0.0, 0.0],
    )
    table = pd.DataFrame({"tree_frac": [0.02, 0.4], "impervious_frac": [0.85, 0.3]}, index=["hot", "cool"])
    c = contributions(model, table)
    pred = model.predict(table)
    assert c.sum(axis=1).to_numpy() == pytest.approx(pred - pred.mean())
    s = sentence(3.21, [{"text": describe("impervious_frac", 0.85, 0.5)}, {"text": describe("tree_frac", 0.02, 0.2)}])
    assert (
        s
        == "Cet îlot est 3,2\u00a0°C plus chaud que la moyenne : 85\u00a0% de surfaces imperméables, 2\u00a0% d'arbres."
    )
    assert sentence(0.1, []).startswith("Cet îlot est proche")
    assert "plus frais" in sentence(-2.0, [])


@pytest.mark.parametrize(
    ("feature", "value", "mean", "text"),
    [
        ("tree_frac", 0.02, 0.2, "2\u00a0% d'arbres"),
        ("building_coverage", 0.6, 0.3, "bâti dense (60\u00a0% d'emprise au sol)"),
        ("building_height_m", 6.0, 12.0, "bâtiments bas (6 m)"),
        ("ndvi_mean", 0.61, 0.4, "végétation dense (NDVI 0,61)"),
        ("dist_water_m", 0.0, 500.0, "au bord de l'eau"),
        ("dist_green_m", 1250.0, 300.0, "à 1\u202f250 m d'un grand espace vert"),
    ],
)
def test_describe(feature, value, mean, text):
    assert describe(feature, value, mean) == text


def test_effects_whose_interval_contains_zero_are_never_given_as_reasons():
    from ilots.explain import explain_blocks, uncertain_effects

    model = LinearModel(
        ["tree_frac", "dist_green_m"],
        [0.0, 0.0],
        [1.0, 2000.0],
        [0.2, 300.0],
        [],
        ["tree_frac", "dist_green_m"],
        [-6.0, 0.004],
        40.0,
        1.0,
        [0.0, 0.0],
    )
    table = pd.DataFrame({"tree_frac": [0.02, 0.4, 0.2], "dist_green_m": [900.0, 0.0, 300.0]}, index=["a", "b", "c"])
    effects = {"tree_frac": {"lo_c": -0.9, "hi_c": -0.5}, "dist_green_m": {"lo_c": -0.18, "hi_c": 0.05}}
    assert uncertain_effects(effects) == {"dist_green_m"}
    lst = pd.Series([44.0, 36.0, 40.0], index=table.index)
    plain = explain_blocks(model, table, lst)
    honest = explain_blocks(model, table, lst, uncertain=uncertain_effects(effects))
    assert any(r["feature"] == "dist_green_m" for r in plain.loc["a", "reasons"])  # cited without the filter
    assert all(r["feature"] != "dist_green_m" for rs in honest["reasons"] for r in rs)


def test_missing_population_is_unknown_not_zero():
    from ilots.risk import risk_index

    table = pd.DataFrame(
        {"area_m2": [10_000.0] * 4, "residents": [300.0, 300.0, np.nan, 0.0]}, index=["a", "b", "hot-unknown", "empty"]
    )
    anomaly = pd.Series([1.0, 2.0, 3.0, 3.0], index=table.index)
    out, note = risk_index(table, anomaly)
    assert np.isnan(out.loc["hot-unknown", "risk_score"]) and out.loc["hot-unknown", "risk_class"] == 0
    assert out.loc["empty", "risk_class"] >= 1  # known to be empty: a real, low score
    assert note["n_population_unknown"] == 1


def test_vulnerability_references_are_calibrated_and_sensitivity_reported():
    from ilots.risk import calibrate, risk_index, sensitivity

    rng = np.random.default_rng(3)
    n = 200
    table = pd.DataFrame(
        {"area_m2": 10_000.0, "residents": rng.uniform(10, 400, n), "elderly_share": rng.uniform(0.2, 0.6, n)}
    )
    anomaly = pd.Series(rng.normal(0, 1.5, n))
    params = calibrate(table)
    assert params.elderly_ref == pytest.approx(table["elderly_share"].quantile(0.9), abs=1e-3)
    capped = (table["elderly_share"] >= params.elderly_ref).mean()
    assert capped <= 0.11  # was 0.30: most of these blocks were capped
    s = sensitivity(table, anomaly, params)
    assert (
        s["n_settings"] == 27 and s["high_risk_blocks"][0] <= s["high_risk_blocks_chosen"] <= s["high_risk_blocks"][1]
    )
    assert 0.5 < s["kendall_tau_min"] <= 1.0
    assert risk_index(table, anomaly, params)[1]["params"]["elderly_ref"] == params.elderly_ref


def test_draws_reproduce_the_index_and_give_probabilities():
    from dataclasses import replace

    from ilots.risk import RiskParams, risk_draws, risk_index

    rng = np.random.default_rng(1)
    n = 300
    table = pd.DataFrame(
        {
            "area_m2": 10_000.0,
            "residents": rng.uniform(0, 400, n),
            "elderly_share": rng.uniform(0.1, 0.5, n),
            "low_income_share": rng.uniform(0, 0.6, n),
        }
    )
    anomaly = rng.normal(0.5, 1.5, n)
    params = RiskParams()
    exact = risk_index(table, pd.Series(anomaly), params)[0]["risk_score"].to_numpy()
    draws = risk_draws(pd.Series(np.zeros(n)), params, n=3)
    draws = replace(
        draws,
        anomaly_high_c=np.full(3, params.anomaly_high_c),
        dense_per_ha=np.full(3, params.dense_per_ha),
        ref_factor=np.ones(3),
    )
    assert np.allclose(draws.scores(table, anomaly)[0], exact)  # same formula as the index
    noisy = risk_draws(pd.Series(np.full(n, 1.0)), params).scores(table, anomaly)
    p_high = (noisy >= 60).mean(axis=0)
    near = np.abs(exact - 60) < 3
    assert ((p_high[near] > 0.05) & (p_high[near] < 0.95)).all()  # near the boundary: uncertain, not 0 or 1
    assert (p_high[exact < 20] < 0.2).all()


def test_residents_out_of_high_risk_come_with_their_interval(fitted_demo):
    from ilots.analysis import ensure_model
    from ilots.scenarios import Intervention, Scenario, ScenarioEngine
    from ilots.store import load_territory

    terr = load_territory(fitted_demo)
    meta, table = ensure_model(terr)
    assert table["p_high_risk"].between(0, 1).all() or table["p_high_risk"].isna().any()
    _, s = ScenarioEngine(terr.blocks, meta, table).apply(Scenario("t", [Intervention("trees", 20)]))
    lo, hi = s["residents_out_of_high_risk_interval"]
    assert lo <= s["residents_out_of_high_risk"] <= hi and lo < hi
    assert s["person_degrees_avoided"] > 0 and s["delta_hot_residents_c"] < 0


def test_a_treeless_block_beside_a_park_is_not_cooled_by_its_trees():
    """Issue 12 §5: the model reads tree cover as the sensor sees it; a block with no trees of its own next to
    a park sees some, but its sentence must not cite « 0 % d'arbres » as a cooling reason."""
    from ilots.explain import explain_blocks

    model = LinearModel(
        ["tree_frac", "impervious_frac"],
        [0.0, 0.0],
        [1.0, 1.0],
        [0.2, 0.5],
        [],
        ["tree_frac", "impervious_frac"],
        [-6.0, 4.0],
        40.0,
        1.0,
        [0.0, 0.0],
        inputs={"tree_frac": "tree_frac_fp"},
    )
    table = pd.DataFrame(
        {
            "tree_frac": [0.0, 0.0, 0.6, 0.1],
            "tree_frac_fp": [0.45, 0.02, 0.5, 0.1],
            "impervious_frac": [0.5, 0.9, 0.2, 0.5],
        },
        index=["by_park", "centre", "park", "plain"],
    )
    out = explain_blocks(model, table, pd.Series([38.0, 44.0, 35.0, 41.0], index=table.index))
    assert all(r["feature"] != "tree_frac" for r in out.loc["by_park", "reasons"])
    assert any(r["feature"] == "tree_frac" for r in out.loc["park", "reasons"])
    assert any(r["feature"] == "tree_frac" for r in out.loc["centre", "reasons"])
    # the matched column is what the model reads; the effect stays per unit of tree cover
    assert model.predict(table)[0] == pytest.approx(40.0 - 6.0 * 0.45 + 4.0 * 0.5)
