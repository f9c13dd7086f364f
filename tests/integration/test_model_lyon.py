"""The heat model on real Lyon data (IRIS blocks, WorldCover, LST 14 July 2022) and the CLI contract."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold

from ilots.build import build_territory
from ilots.cli import main
from ilots.model import MIN_VALID_FRAC, spatial_groups
from ilots.store import load_territory
from tests.conftest import lyon_inputs

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def lyon_dir(real_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("lyonmodel") / "lyon"
    build_territory(lyon_inputs(real_dir), out)
    assert main(["fit", str(out)]) == 0
    return out


def test_fit_reports_spatial_and_random_cv_and_a_cooling_tree_effect(lyon_dir, capsys):
    capsys.readouterr()
    assert main(["info", str(lyon_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    m = info["metrics"]
    for kind in ("spatial_cv", "random_cv"):
        assert set(m[kind]) == {"r2", "rmse_c", "mae_c", "n_folds"}
    assert m["spatial_cv"]["n_folds"] == 5
    assert m["effects"]["tree_frac"]["effect_c"] < 0
    assert m["effects"]["tree_frac"]["interval_c"][1] < 0
    # Partial layers must neither crash the fit nor count as zero: they are dropped, with the reason.
    meta = json.loads((lyon_dir / "model.json").read_text())
    assert meta["features"]["building_coverage"]["used"] is False
    assert "manquant" in meta["features"]["building_coverage"]["reason"]


def test_product_model_beats_the_plain_ridge_floor_on_its_own_folds(lyon_dir):
    terr = load_territory(lyon_dir)
    meta, _ = terr.model()
    b = terr.blocks
    target = meta["target"]  # the same target as the product's (land-only LST since issue 12)
    valid = "lst_land_valid_frac" if target == "lst_land_c" else "lst_valid_frac"
    train = (b[target].notna() & (b[valid] >= MIN_VALID_FRAC)).to_numpy()
    X = b.loc[train, ["tree_frac", "grass_frac", "built_frac", "water_frac", "bare_frac"]].to_numpy()
    y = b.loc[train, target].to_numpy()
    groups = spatial_groups(b, meta["folds"]["tile_m"])[train]
    pred = np.empty_like(y)
    for tr, te in GroupKFold(n_splits=meta["folds"]["n_folds"], shuffle=True, random_state=meta["folds"]["seed"]).split(
        X, y, groups
    ):
        pred[te] = Ridge(alpha=1.0).fit(X[tr], y[tr]).predict(X[te])
    floor = r2_score(y, pred)
    product = meta["metrics"]["spatial_cv"]["r2"]
    assert floor > 0.55  # "about 0.6" per the issue; measured 0.8 here
    assert product >= floor - 0.01, (product, floor)


def test_scenario_command_json_contract(lyon_dir, capsys):
    capsys.readouterr()
    assert (
        main(
            [
                "scenario",
                str(lyon_dir),
                "--trees",
                "10",
                "--where",
                "risk>=4",
                "--depave",
                "20",
                "--green-roofs",
                "50",
                "--save",
                "Plan canopée",
                "--json",
            ]
        )
        == 0
    )
    s = json.loads(capsys.readouterr().out)
    for key in (
        "delta_mean_c",
        "delta_pop_weighted_c",
        "residents_out_of_high_risk",
        "cost_eur",
        "n_blocks_changed",
        "n_extrapolated",
    ):
        assert key in s
    assert s["delta_mean_c"] < 0 and s["n_blocks_changed"] > 0 and s["cost_eur"] > 0
    from ilots.scenarios import load_scenario

    assert load_scenario(lyon_dir, "Plan canopée").interventions
    assert main(["scenario", str(lyon_dir), "--load", "Plan canopée", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["delta_mean_c"] == pytest.approx(s["delta_mean_c"])
    assert main(["scenario", str(lyon_dir), "--trees", "5", "--save", "Plan canopée"]) == 2
    assert "existe déjà" in capsys.readouterr().err


def test_model_table_has_risk_and_explanations(lyon_dir):
    terr = load_territory(lyon_dir)
    meta, table = terr.model()
    assert set(table["risk_class"].unique()) <= {1, 2, 3, 4, 5}
    assert table["explanation"].str.startswith("Cet îlot").all()
    hottest = terr.blocks["lst_mean_c"].idxmax()
    assert "plus chaud" in table.loc[hottest, "explanation"]
    assert "d'arbres" in table.loc[hottest, "explanation"]
    assert meta["risk"]["mode"] == "aléa × exposition × vulnérabilité"
    assert pd.api.types.is_bool_dtype(table["in_fit"])


def test_model_from_another_sklearn_version_is_refitted(lyon_dir, tmp_path):
    import shutil

    from ilots.analysis import ensure_model

    copy = tmp_path / "lyon"
    shutil.copytree(lyon_dir, copy)
    meta = json.loads((copy / "model.json").read_text())
    meta["sklearn"] = "0.0.1"
    meta["linear"]["coef"] = [999.0] * len(meta["linear"]["coef"])  # would be absurd if trusted
    (copy / "model.json").write_text(json.dumps(meta))
    fresh, _ = ensure_model(load_territory(copy))
    assert fresh["sklearn"] != "0.0.1" and max(abs(c) for c in fresh["linear"]["coef"]) < 100


def test_lyon_briefing_names_its_arrondissements_and_fits_on_the_page(lyon_dir):
    """Issue 17 §4 on real data: the arrondissements (the IRIS file's commune names) are printed on the map."""
    from ilots.briefing import briefing_pdf
    from tests.pdfcheck import need_poppler, overlapping, render, tallest_blank_band, text_lines

    need_poppler()
    terr = load_territory(lyon_dir)
    meta, table = terr.model()
    pdf = briefing_pdf(terr.name, terr.blocks, meta, table, terr.manifest, streets=terr.streets())
    lines, _size = text_lines(pdf)
    text = " ".join(line.text for line in lines)
    assert text.count("Arrondissement") >= 4 and "Lyon 7e" in text
    assert overlapping(lines) == [] and tallest_blank_band(render(pdf)) < 0.05
    assert "90 % de chances entre" in text  # residents in high risk, with their interval
