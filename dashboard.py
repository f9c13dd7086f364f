"""Îlots — tableau de bord des îlots de chaleur (entry point: ``streamlit run dashboard.py``).

Pages are declared in ui/navigation.py and run with st.navigation; the page scripts live in pages/ and stay
thin, their shared code in ui/.
"""

import streamlit as st

from ui import navigation

st.set_page_config(page_title="Îlots de chaleur", page_icon=":material/thermostat:", layout="wide")

# French and accessible: see ui/navigation.PAGE_HEAD (read once per server process, not at every rerun).
st.html(navigation.PAGE_HEAD, unsafe_allow_javascript=True)
navigation.run()
