"""Every page of the dashboard on the demo territory, driven with Streamlit's AppTest."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from ilots.store import load_territory
from tests.conftest import ROOT

PAGES = [
    "pages/overview.py",
    "pages/map.py",
    "pages/model.py",
    "pages/scenarios.py",
    "pages/briefing.py",
    "pages/cafe.py",
    "pages/monitoring.py",
    "pages/transparency.py",
    "pages/new_territory.py",
]


@pytest.fixture(scope="module")
def data_dir(fitted_data_dir):
    return fitted_data_dir


@pytest.fixture
def app(data_dir, monkeypatch):
    monkeypatch.setenv("ILOTS_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_and_labels_the_demo_synthetic(app, page):
    app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.title, page
    if page != "pages/new_territory.py":  # the upload page is about the user's own data
        assert any("synthétiques" in i.value for i in app.info), page


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_scenario_slider_changes_the_summary(app):
    app.switch_page("pages/scenarios.py").run()
    before = _metric(app, "Température de surface")
    app.slider(key="sc_trees").set_value(30).run()
    after = _metric(app, "Température de surface")
    assert before != after and after.startswith("−")
    app.radio(key="scenario_target").set_value("all").run()
    assert int(_metric(app, "Îlots modifiés").replace("\u202f", "")) > 100


def test_scenarios_are_saved_and_compared(app, data_dir):
    app.switch_page("pages/scenarios.py").run()
    app.slider(key="sc_trees").set_value(15).run()
    app.text_input(key="sc_name").set_value("Canopée 15").run()
    app.button(key="sc_save").click().run()
    assert any("enregistré" in s.value for s in app.success)
    from ilots.scenarios import load_scenario

    assert load_scenario(data_dir / "demo", "Canopée 15").interventions[0].intensity == 15
    assert not app.exception
    app.button(key="sc_save").click().run()  # same name again: refused, file kept
    assert any("existe déjà" in e.value for e in app.error)
    app.slider(key="sc_trees").set_value(30).run()
    app.text_input(key="sc_name").set_value("Canopée 30").run()
    app.button(key="sc_save").click().run()
    app.multiselect(key="sc_compare").set_value(["Canopée 15", "Canopée 30"]).run()
    assert not app.exception
    compared = app.dataframe[-1].value
    assert list(compared.index) == ["Canopée 15", "Canopée 30"]
    cooling = [
        float(v.replace("\u2212", "-").replace(",", ".").split("\u00a0")[0]) for v in compared["Temp. de surface"]
    ]
    assert cooling[1] < cooling[0] < 0  # twice the trees, more cooling: the table compares the two


def test_cafe_slider_changes_its_answer(app):
    app.switch_page("pages/cafe.py").run()
    app.text_input(key="cafe_search").set_value("Boulevard").run()
    assert not app.exception
    assert any(h.value == "Votre îlot" for h in app.subheader)
    first = [m.value for m in app.markdown if "ilots-big" in m.value]
    app.slider(key="cafe_trees").set_value(30).run()
    second = [m.value for m in app.markdown if "ilots-big" in m.value]
    assert first != second and "−" in second[-1]


def test_briefing_offers_a_one_page_pdf(app):
    app.switch_page("pages/briefing.py").run()
    assert not app.exception
    labels = [b.label for b in app.get("download_button")]
    assert any("PDF" in lab for lab in labels) and any("GeoPackage" in lab for lab in labels)


def test_briefing_pdf_is_a_valid_single_a4_page(data_dir):
    from ilots.briefing import briefing_pdf

    terr = load_territory(data_dir / "demo")
    meta, table = terr.model()
    pdf = briefing_pdf(terr.name, terr.blocks, meta, table, terr.manifest)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # exactly one page
    assert re.search(rb"/MediaBox\s*\[\s*0 0 595\.44 841\.68\s*\]", pdf)  # A4 in points


def test_cafe_never_calls_an_unseen_block_measured(app, data_dir):
    """Issue 12 §9: a block the satellite did not see is « estimé par le modèle », with the interval of its cooling."""
    import pandas as pd

    table = pd.read_parquet(data_dir / "demo" / "model.parquet")
    unseen = table.index[table["lst_source"] == "predicted"]
    assert len(unseen), "the demo has clouded blocks"
    app.switch_page("pages/cafe.py").run()
    app.session_state["chosen_block"] = ("demo", unseen[0])  # the session's block (ui/common.py)
    app.run()
    assert not app.exception
    assert any("estimé par le modèle" in m.value for m in app.markdown)
    assert not any("mesurée par satellite" in c.value for c in app.caption)
    assert any("probablement entre" in m.value for m in app.markdown if "ilots-big" in m.value)
    assert any(h.value == "Votre îlot" for h in app.subheader)  # road blocks of about 1 ha, not IRIS


def test_briefing_says_what_residents_count():
    from ilots.briefing import residents_text

    manifest = {"population": [{"path": "/x/lyon_iris_elderly_pct.csv", "columns": {"residents": "total_population"}}]}
    assert "« total_population » de lyon_iris_elderly_pct.csv" in residents_text(manifest)
    assert "inconnu" in residents_text({"population": []})


def test_the_map_offers_the_probability_of_high_risk(app):
    app.switch_page("pages/map.py").run()
    assert "p_high" in app.multiselect(key="map_layers").options or any(
        "Probabilité" in o for o in app.multiselect(key="map_layers").options
    )
    app.multiselect(key="map_layers").set_value(["p_high"]).run()
    assert not app.exception


def test_overview_gives_the_residents_in_high_risk_with_their_interval(app):
    """Issue 17 §4: the residents figure carries its uncertainty where it is read."""
    assert not app.exception
    line = next(c.value for c in app.caption if "Habitants en risque élevé" in c.value)
    assert re.search(r"\d attendus, 90\u00a0% de chances entre \d[\d\u202f]* et \d", line), line


def test_map_offers_a_png_of_the_shown_layer(app):
    """Issue 17 §5: a map image for reports."""
    app.switch_page("pages/map.py").run()
    assert not app.exception
    assert any("Télécharger la carte « Température de surface » (PNG" in b.label for b in app.get("download_button"))


def test_monitoring_page_gives_each_project_its_verdict_and_the_model_card_compares(app):
    """Issue 15: the demo's three projects, each verdict counted, the chosen project's figures, the sheets."""
    app.switch_page("pages/monitoring.py").run()
    assert not app.exception, [e.message for e in app.exception]
    labels = {m.label: m.value for m in app.metric}
    for verdict in (
        "Refroidissement mesuré",
        "Pas d'effet détectable à cette échelle",
        "Trop petit pour être mesuré par satellite",
    ):
        assert labels[verdict] == "1 projet", labels
    assert labels["Îlots témoins"] == "20"
    table = app.dataframe[0].value
    assert list(table["Verdict"]) == [
        "refroidissement mesuré",
        "pas d'effet détectable à cette échelle",
        "trop petit pour être mesuré par satellite",
    ]
    assert "90 % de chances" in app.markdown[-1].value or any("90 % de chances" in m.value for m in app.markdown)
    assert [b.label for b in app.get("download_button")] == [
        "Fiche d'impact, tous les projets (PDF)",
        "Fiche de ce projet (PDF)",
        "Tableau des projets (CSV)",
    ]
    app.selectbox(key="works_chosen").set_value("Cour oasis de l'école Jean-Jaurès").run()
    assert any("trop petit pour être mesuré par satellite" in m.value.lower() for m in app.markdown)
    app.switch_page("pages/model.py").run()
    assert any("projet(s) achevé(s) mesuré(s)" in m.value for m in app.markdown)


def test_the_map_gives_the_residents_far_from_a_cool_refuge_and_their_map(app):
    """Issue 16 §2: the share of residents beyond 300 m of a refuge, its method, and the distances map."""
    app.switch_page("pages/map.py").run()
    label = "Habitants à plus de 300 m à pied (≈ 5 min) d'un refuge frais"
    value = next(m.value for m in app.metric if m.label == label)
    assert value.endswith("%") and value != "0\u00a0%"
    assert any("docs/places.md" in c.value for c in app.caption)
    app.toggle(key="refuge_map_on").set_value(True).run()
    assert not app.exception, [e.message for e in app.exception]


def test_the_map_lists_the_sensitive_facilities_hottest_first(app):
    """Issue 16 §1: the demo's schools, EHPAD and hospital with the heat of their block and surroundings."""
    app.switch_page("pages/map.py").run()
    assert not app.exception, [e.message for e in app.exception]
    table = next(d.value for d in app.dataframe if "Établissement" in d.value.columns)
    assert "Collège George-Sand" in set(table["Établissement"]) and "Hôtel de ville" not in set(table["Établissement"])
    around = [float(v.split("\u00a0")[0].replace(",", ".")) for v in table["Temp. à 100 m alentour"]]
    assert around == sorted(around, reverse=True)
    assert "Établissements sensibles (CSV)" in [b.label for b in app.get("download_button")]
    assert "Établissements sensibles (GeoPackage, QGIS)" in [b.label for b in app.get("download_button")]
    assert "Crèche collective Les Petits Pas" in set(table["Établissement"])  # the commune's own list
    assert not any(v.endswith("100\u00a0%") for v in table["Probabilité de risque élevé"])
    app.toggle(key="map_places").set_value(False).run()
    assert not app.exception, [e.message for e in app.exception]


def test_the_overview_gives_day_and_night_side_by_side_with_their_disagreement(app):
    """Issue 16 §3: the overview shows the day and night surface, labelled (time, sensor), and where they differ."""
    app.switch_page("pages/overview.py").run()
    assert not app.exception, [e.message for e in app.exception]
    labels = [m.label for m in app.metric]
    assert "Jour : surface vers 11 h solaires" in labels and "Nuit : surface vers 22 h solaires" in labels
    day, night = _metric(app, "Jour : surface vers 11 h solaires"), _metric(app, "Nuit : surface vers 22 h solaires")
    as_c = [float(v.split("\u00a0")[0].replace(",", ".")) for v in (day, night)]
    assert as_c[0] > as_c[1] + 10  # a summer surface is far hotter at 11 h than at 22 h
    caption = next(c.value for c in app.caption if "ne disent pas toujours la même chose" in c.value)
    assert "90 % des îlots entre" in caption and "de nuit" in caption
    assert "n'entre ni dans le modèle de jour ni dans les scénarios" in caption


def test_the_map_shows_day_and_night_maps_and_the_blocks_where_they_disagree(app):
    app.switch_page("pages/map.py").run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("Sentinel-3" in m.value and "≈ 1 km" in m.value for m in app.markdown)
    assert any(m.value.startswith("**Jour**") and "Landsat" in m.value for m in app.markdown)
    table = next(d.value for d in app.dataframe if "Jour et nuit" in d.value.columns)
    assert set(table["Jour et nuit"]) <= {"chaud de jour, plus frais la nuit", "frais de jour, chaud la nuit"}
    assert len(table) > 0
    app.toggle(key="day_night_on").set_value(True).run()
    assert not app.exception, [e.message for e in app.exception]
    assert "Jour et nuit par îlot (CSV)" in [b.label for b in app.get("download_button")]


def test_a_refuge_opened_on_chosen_blocks_updates_the_residents_beyond_300_m(app, data_dir):
    """Issue 16 §2: on the Scénarios page, chosen blocks opened as a cool refuge lower the share beyond 300 m."""
    terr = load_territory(data_dir / "demo")
    b = terr.blocks
    from ilots.analysis import refuges_territory

    access = refuges_territory(terr).access["refuge_walk_m"]
    far = [access[b["residents"].fillna(0) > 50].idxmax()]  # the inhabited block farthest from any refuge
    app.session_state["scenario_ids"] = far
    app.switch_page("pages/scenarios.py").run()
    assert not app.exception, [e.message for e in app.exception]
    app.toggle(key="sc_refuge_on").set_value(True).run()
    assert not app.exception, [e.message for e in app.exception]
    today = _metric(app, "Habitants à plus de 300 m d'un refuge, aujourd'hui")
    after = next(m for m in app.metric if m.label == "Avec ce refuge")
    as_share = lambda v: float(v.split("\u00a0")[0].replace(",", "."))  # noqa: E731
    assert as_share(after.value) < as_share(today)
    assert "habitants de plus à moins de 300 m" in after.delta
