"""Îlots — tableau de bord des îlots de chaleur (entry point: ``streamlit run dashboard.py``).

Pages are declared here with st.navigation; the page files live in pages/ and stay thin.
"""

from pathlib import Path

import streamlit as st

st.set_page_config(page_title="Îlots de chaleur", page_icon=":material/thermostat:", layout="wide")

# French for the whole page (Streamlit's template says lang="en"; its few fixed English labels are translated
# as they appear: pages/assets/french.js), and what RGAA / WCAG 2.1 AA asks that the default theme lacks:
# captions at 4.5:1 contrast (the theme's are 3.9:1) and touch targets of at least 44 × 44 CSS px.
# One element (style + script): a style-only st.html goes to Streamlit's event container, which is redrawn
# without it on some reruns. No "<" followed by a letter in the script: the HTML sanitiser would drop it.
FRENCH_JS = (Path(__file__).parent / "pages" / "assets" / "french.js").read_text(encoding="utf-8")
st.html("""<style>
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > style) { display: none; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] small, [data-testid="stMetricDelta"] { color: #4a4d5a !important; opacity: 1 !important; }
[data-testid="stSlider"] div:has(> div > input[type="range"]) { width: 1.75rem !important; height: 1.75rem !important; }
[data-testid="stSlider"] div:has(> div > input[type="range"])::before { content: ""; position: absolute; inset: -0.5rem; }
[data-testid="stSlider"] > div { padding-top: 0.5rem; padding-bottom: 0.5rem; }
button, [role="button"], [role="radio"], [role="checkbox"], [role="option"] { min-height: 44px; }
h1, h2, h3 { text-wrap: balance; hyphens: manual; }
[data-testid="stMetricLabel"] p { white-space: normal !important; overflow: visible !important; }
[data-testid="stMetricLabel"] > div { overflow: visible !important; }
</style><script>""" + FRENCH_JS + "</script>", unsafe_allow_javascript=True)

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
