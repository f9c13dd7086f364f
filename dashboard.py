"""Îlots — tableau de bord des îlots de chaleur (entry point: ``streamlit run dashboard.py``).

Pages are declared here with st.navigation; the page files live in pages/ and stay thin.
"""

import streamlit as st

from pages.common import PAGE_HEAD

st.set_page_config(page_title="Îlots de chaleur", page_icon=":material/thermostat:", layout="wide")

# French and accessible: see pages/common.PAGE_HEAD (read once per server process, not at every rerun).
st.html(PAGE_HEAD, unsafe_allow_javascript=True)

pages = {
    "Comprendre": [
        st.Page("pages/overview.py", title="Vue d'ensemble", icon=":material/dashboard:", default=True),
        st.Page("pages/map.py", title="Carte", icon=":material/map:"),
        st.Page("pages/model.py", title="Modèle", icon=":material/query_stats:"),
    ],
    "Agir": [
        st.Page("pages/scenarios.py", title="Scénarios", icon=":material/park:"),
        st.Page("pages/briefing.py", title="Briefing", icon=":material/description:"),
        st.Page("pages/cafe.py", title="Café IA", icon=":material/groups:"),
    ],
    "Données": [
        st.Page("pages/transparency.py", title="Données et transparence", icon=":material/verified:"),
        st.Page("pages/new_territory.py", title="Nouveau territoire", icon=":material/upload_file:"),
    ],
}
st.navigation(pages).run()
