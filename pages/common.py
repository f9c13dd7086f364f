"""What every page shares: where territories live, cached loading, the territory selector.

Only the UI layer caches (``st.cache_resource`` for territories, never mutated by pages).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from ilots import fr
from ilots.demo import build_demo
from ilots.errors import IlotsError
from ilots.store import Territory, list_territories, load_territory

APP_ROOT = Path(__file__).resolve().parents[1]
DEMO_FOLDER = "demo"
SYNTHETIC_BANNER = "Données synthétiques : « Îlotville » est une ville fictive générée pour la démonstration."


def data_dir() -> Path:
    """Folder of prepared territories (``ILOTS_DATA_DIR``, default ``data/`` beside the app)."""
    return Path(os.environ.get("ILOTS_DATA_DIR", APP_ROOT / "data"))


@st.cache_resource(show_spinner=False, max_entries=8)
def _load(path: str, mtime: float) -> Territory:
    return load_territory(path)


def load(path: Path) -> Territory:
    """Load a territory once per version on disk (keyed on the manifest's modification time)."""
    return _load(str(path), (path / "territory.json").stat().st_mtime)


def ensure_demo() -> None:
    """Build the demo territory, with a progress bar, when no territory is prepared yet."""
    root = data_dir()
    if list_territories(root):
        return
    size = float(os.environ.get("ILOTS_DEMO_SIZE_KM", "5"))
    bar = st.progress(0.0, text="Première ouverture : préparation du territoire de démonstration…")
    try:
        build_demo(root / DEMO_FOLDER, size_km=size, progress=lambda msg, f: bar.progress(min(max(f, 0.0), 1.0), text=msg))
    except IlotsError as exc:
        st.error(f"Le territoire de démonstration n'a pas pu être préparé : {exc}")
        st.stop()
    bar.empty()


def territory_label(path: Path) -> str:
    try:
        t = load(path)
    except IlotsError:
        return f"{path.name} (illisible)"
    return f"{t.name} — données synthétiques" if t.synthetic else t.name


def select_territory() -> Territory:
    """Sidebar selector over every territory under the data folder; the choice is kept in the session."""
    ensure_demo()
    paths = list_territories(data_dir())
    labels = {str(p): territory_label(p) for p in paths}
    default = next((i for i, p in enumerate(paths) if p.name == DEMO_FOLDER), 0)
    choice = st.sidebar.selectbox("Territoire", list(labels), index=default, format_func=labels.get, key="territory")
    try:
        terr = load(Path(choice))
    except IlotsError as exc:
        st.error(f"Ce territoire ne peut pas être ouvert : {exc}")
        st.stop()
    if terr.synthetic:
        st.info(SYNTHETIC_BANNER, icon=":material/science:")
    return terr


def dates_text(terr: Territory) -> str:
    dates = terr.manifest.get("acquisition_dates") or []
    return ", ".join(fr.date_fr(d) for d in dates) or "date d'acquisition inconnue"
