"""Briefing: the one-page PDF for elected officials, and GeoPackage / CSV exports."""

import json

import streamlit as st

from ilots.briefing import briefing_pdf
from ilots.errors import IlotsError
from ilots.export import export_table, geopackage_bytes, to_csv_bytes
from ilots.facilities import hot_facilities_sentence
from ilots.scenarios import list_scenarios
from ui.common import engine, facilities, model, reliable, select_territory, slug_for_file

terr = select_territory()
meta, table = model(terr)
st.title("Briefing et exports")

trusted = reliable(terr)
saved, problems = list_scenarios(terr.path) if trusted else ([], [])
here, simulated = st.session_state.get("last_scenario") or (None, None)
simulated = (
    simulated if trusted and here == terr.path.name and simulated is not None and simulated.interventions else None
)
JUST_NOW = "Le scénario réglé à l'instant (page Scénarios, non enregistré)"
options = ["Aucun"] + ([JUST_NOW] if simulated is not None else []) + [s.name for s in saved]
choice = st.selectbox(
    "Scénario à présenter", options, index=1 if simulated is not None and not saved else 0, key="briefing_scenario"
)
scenario = simulated if choice == JUST_NOW else next((s for s in saved if s.name == choice), None)
if trusted and not saved and simulated is None:
    st.info(
        "Aucun scénario encore : réglez des interventions sur la page **Scénarios** (arbres, désimperméabilisation, "
        "toits…), puis revenez ici pour les comparer à la situation actuelle ; « Enregistrer » les garde pour "
        "plus tard.",
        icon=":material/lightbulb:",
    )
    st.page_link("pages/scenarios.py", label="Aller aux scénarios", icon=":material/park:")


@st.cache_data(show_spinner=False, max_entries=16)
def _pdf(path: str, scenario_key: str | None, _scenario, model_created: str) -> bytes:
    summary, per_block = (None, None)
    if _scenario is not None:
        per_block, summary = engine(terr).apply(_scenario)
    try:
        places = hot_facilities_sentence(facilities(terr)[1])
    except IlotsError:
        places = None  # no BD TOPO behind the territory: the line is left out
    return briefing_pdf(
        terr.name,
        terr.blocks,
        meta,
        table,
        terr.manifest,
        summary,
        per_block,
        streets=terr.streets(),
        places_line=places,
    )


with st.spinner("Préparation du document…"):
    key = None if scenario is None else json.dumps(scenario.to_dict(), sort_keys=True, ensure_ascii=False)
    pdf = _pdf(str(terr.path), key, scenario, meta["created"])
st.download_button(
    "Télécharger le briefing (PDF, une page A4)",
    pdf,
    file_name=f"briefing_{slug_for_file(terr.name)}.pdf",
    mime="application/pdf",
    key="dl_pdf",
    on_click="ignore",  # a download needs no rerun of the page
    type="primary",
)
st.caption(
    "Carte du risque avec les noms de lieux (aujourd'hui et avec le scénario choisi, côte à côte), trois "
    "chiffres clés avec leur incertitude, la situation actuelle comparée au scénario, la fiabilité du modèle, "
    "les sources et les limites."
)

st.subheader("Exports des îlots")
st.caption(
    "Tous les indicateurs, prédictions, classes de risque et explications, par îlot. GeoPackage en "
    f"{terr.manifest['crs']['label']} pour QGIS ; CSV au format français (séparateur « ; », virgule décimale, "
    "UTF-8), avec la position de chaque îlot en longitude/latitude."
)


@st.cache_data(show_spinner=False, max_entries=8)
def _exports(path: str, model_created: str) -> tuple[bytes, bytes]:
    ex = export_table(terr.blocks, table)
    return geopackage_bytes(ex), to_csv_bytes(ex)


gpkg, csv = _exports(str(terr.path), meta["created"])
c1, c2 = st.columns(2)
c1.download_button(
    "GeoPackage (.gpkg)",
    gpkg,
    file_name=f"ilots_{slug_for_file(terr.name)}.gpkg",
    mime="application/geopackage+sqlite3",
    key="dl_gpkg",
    on_click="ignore",
)
c2.download_button(
    "Tableur (.csv)",
    csv,
    file_name=f"ilots_{slug_for_file(terr.name)}.csv",
    mime="text/csv",
    key="dl_csv",
    on_click="ignore",
)
