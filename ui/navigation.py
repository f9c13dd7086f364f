"""The dashboard's pages, in the order and sections of the sidebar, and the head every page carries.

``dashboard.py`` runs ``st.navigation(pages())``. Only the page scripts live in ``pages/``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

APP_ROOT = Path(__file__).resolve().parents[1]
PAGES_DIR = APP_ROOT / "pages"
_NAVIGATED = "_ilots_navigation"  # session-state marker set by dashboard.py before it runs a page

NEW_TERRITORY = "Nouveau territoire"  # the one page that needs no territory
# (section, file in pages/, title, icon); the first page is the home page.
PAGES = (
    ("Comprendre", "overview.py", "Vue d'ensemble", ":material/dashboard:"),
    ("Comprendre", "map.py", "Carte", ":material/map:"),
    ("Comprendre", "model.py", "Modèle", ":material/query_stats:"),
    ("Agir", "scenarios.py", "Scénarios", ":material/park:"),
    ("Agir", "briefing.py", "Briefing", ":material/description:"),
    ("Agir", "cafe.py", "Café IA", ":material/groups:"),
    ("Agir", "monitoring.py", "Suivi des réalisations", ":material/monitoring:"),
    ("Données", "transparency.py", "Données et transparence", ":material/verified:"),
    ("Données", "new_territory.py", NEW_TERRITORY, ":material/upload_file:"),
)

# French for the whole page (Streamlit's template says lang="en"; its few fixed English labels are translated
# as they appear: ui/assets/french.js), and what RGAA / WCAG 2.1 AA asks that the default theme lacks:
# captions at 4.5:1 contrast (the theme's are 3.9:1) and touch targets of at least 44 × 44 CSS px.
# One element (style + script): a style-only st.html goes to Streamlit's event container, which is redrawn
# without it on some reruns. No "<" followed by a letter in the script: the HTML sanitiser would drop it.
PAGE_HEAD = (
    """<style>
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > style) { display: none; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] small, [data-testid="stMetricDelta"] { color: #4a4d5a !important; opacity: 1 !important; }
[data-testid="stSlider"] div:has(> div > input[type="range"]) { width: 1.75rem !important; height: 1.75rem !important; }
[data-testid="stSlider"] div:has(> div > input[type="range"])::before {
  content: ""; position: absolute; inset: -0.5rem; }
[data-testid="stSlider"] > div { padding-top: 0.5rem; padding-bottom: 0.5rem; }
button, [role="button"], [role="radio"], [role="checkbox"], [role="option"] { min-height: 44px; }
h1, h2, h3 { text-wrap: balance; hyphens: manual; }
[data-testid="stMetricLabel"] p { white-space: normal !important; overflow: visible !important; }
[data-testid="stMetricLabel"] > div { overflow: visible !important; }
</style><script>"""
    + (APP_ROOT / "ui" / "assets" / "french.js").read_text(encoding="utf-8")
    + "</script>"
)


def pages() -> dict[str, list]:
    """The st.Page objects by sidebar section (paths are absolute, so any working directory serves)."""
    sections: dict[str, list] = {}
    for i, (section, file, title, icon) in enumerate(PAGES):
        sections.setdefault(section, []).append(st.Page(PAGES_DIR / file, title=title, icon=icon, default=i == 0))
    return sections


def run() -> None:
    """Run the page the URL asks for, through the dashboard's navigation (called by dashboard.py only). At first
    start, pages that show a territory first wait for the demo (ui/jobs.py), before their own modules load."""
    from ui.jobs import ensure_demo

    st.session_state[_NAVIGATED] = True
    page = st.navigation(pages())
    if page.title != NEW_TERRITORY:
        ensure_demo(first_view=page.title == PAGES[0][2])
    page.run()


def through_navigation() -> None:
    """Make sure the page being run came through dashboard.py's navigation; if not, rerun through it.

    Streamlit starts a server in its legacy multipage mode when a ``pages/`` folder sits beside the main
    script, and leaves it at the first ``st.navigation`` call. A first visit straight to a page URL
    (``/model?territoire=…``) would otherwise run that page alone, without the sidebar's sections or the
    French page head. Calling ``st.navigation`` (public API; it ends the legacy mode for the whole server)
    and rerunning makes dashboard.py resolve the same URL to the same page, its query string kept.
    """
    if not st.runtime.exists() or st.session_state.get(_NAVIGATED):
        return  # imported outside a server (tests, scripts), or already under dashboard.py's navigation
    st.navigation(pages(), position="hidden")
    st.rerun()
