"""Îlots — tableau de bord des îlots de chaleur (entry point: ``streamlit run dashboard.py``).

Pages are declared here with st.navigation; the page files live in pages/ and stay thin.
"""

import streamlit as st

st.set_page_config(page_title="Îlots de chaleur", page_icon=":material/thermostat:", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Vue d'ensemble", icon=":material/dashboard:", default=True),
]
st.navigation(pages).run()
