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
from ilots.store import MANIFEST, MODEL, Territory, list_territories, load_territory

APP_ROOT = Path(__file__).resolve().parents[1]


def _leave_legacy_page_discovery() -> None:
    """Make every run go through dashboard.py's st.navigation.

    Streamlit starts in its legacy multipage mode when a ``pages/`` folder sits beside the main
    script, and leaves it only once st.navigation runs. A first visit straight to a page URL
    (``/model``) would run that page alone, list every file of pages/ (``common`` included) in the
    sidebar and keep the server in that mode. Every page imports this module, so this is the place
    to switch the legacy mode off and rerun through dashboard.py, which resolves the same URL.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_page_discovery()
DEMO_FOLDER = "demo"
SYNTHETIC_BANNER = "Données synthétiques : « Îlotville » est une ville fictive générée pour la démonstration."


def data_dir() -> Path:
    """Folder of prepared territories (``ILOTS_DATA_DIR``, default ``data/`` beside the app)."""
    return Path(os.environ.get("ILOTS_DATA_DIR", APP_ROOT / "data"))


def _setting(env: str, secret: str) -> str | None:
    """A deployment setting: the environment variable, else the key of ``.streamlit/secrets.toml``."""
    if os.environ.get(env) is not None:
        return os.environ[env]
    try:
        value = st.secrets.get(secret)
    except Exception:  # no secrets file, or an unreadable one: the setting is absent
        return None
    return None if value is None else str(value)


def creation_enabled() -> bool:
    """Whether visitors may create territories on « Nouveau territoire » (``ILOTS_NEW_TERRITORIES=off``
    or ``new_territories = false`` in secrets.toml switch it off for a public deployment)."""
    value = _setting("ILOTS_NEW_TERRITORIES", "new_territories")
    return value is None or value.strip().lower() not in ("off", "false", "0", "no", "non")


def admin_allows(password: str | None) -> bool:
    """Whether ``password`` is the administrator secret (``ILOTS_ADMIN_SECRET`` or ``admin_secret`` in
    secrets.toml); always False when none is configured: then nothing can be replaced from the page."""
    import hmac

    secret = _setting("ILOTS_ADMIN_SECRET", "admin_secret")
    return bool(secret) and bool(password) and hmac.compare_digest(password.encode(), secret.encode())


def admin_configured() -> bool:
    return bool(_setting("ILOTS_ADMIN_SECRET", "admin_secret"))


@st.cache_resource(show_spinner=False, max_entries=8)
def _load(path: str, mtime: float) -> Territory:
    return load_territory(path)


def load(path: Path) -> Territory:
    """Load a territory once per version on disk (keyed on the manifest's modification time)."""
    return _load(str(path), (path / MANIFEST).stat().st_mtime)


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
    except OSError:
        st.error(f"Le territoire de démonstration n'a pas pu être écrit dans {root} (disque plein, en lecture "
                 "seule ou droits insuffisants) : vérifiez le dossier ou définissez ILOTS_DATA_DIR.")
        st.stop()
    bar.empty()


def territory_label(path: Path) -> str:
    try:
        t = load(path)
    except IlotsError:
        return f"{path.name} (endommagé)"
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
        st.error(f"Ce territoire est endommagé et ne peut pas être ouvert : {md_escape(exc)} Les autres territoires "
                 "restent disponibles dans le sélecteur.")
        st.stop()
    if terr.synthetic:
        st.info(SYNTHETIC_BANNER, icon=":material/science:")
    return terr


def dates_text(terr: Territory) -> str:
    dates = terr.manifest.get("acquisition_dates") or []
    return ", ".join(fr.date_fr(d) for d in dates) or "date d'acquisition inconnue"


# -- model, engine and tables (cached per territory version) --------------------------------------

def _version(terr: Territory) -> tuple[str, float, float]:
    """Cache key of a territory's current files: (path, territory mtime, model mtime or 0)."""
    model_file = terr.path / MODEL
    return (str(terr.path), (terr.path / MANIFEST).stat().st_mtime,
            model_file.stat().st_mtime if model_file.exists() else 0.0)


@st.cache_resource(show_spinner=False, max_entries=8)
def _model(path: str, territory_mtime: float, model_mtime: float):
    from ilots.analysis import ensure_model

    return ensure_model(load(Path(path)))


def model(terr: Territory):
    """(meta, per-block table) of the territory's model, fitting it once if needed. A territory whose
    model cannot be fitted or read shows one French sentence and stops the page (others still work)."""
    try:
        if not (terr.path / MODEL).exists():
            with st.spinner("Ajustement du modèle de chaleur (une seule fois pour ce territoire)…"):
                return _model(*_version(terr))
        return _model(*_version(terr))
    except IlotsError as exc:
        st.error(f"Le modèle de ce territoire ne peut pas être utilisé : {md_escape(exc)}")
    except OSError as exc:
        from ilots.errors import describe_os_error

        st.error(md_escape(describe_os_error(exc)))
    st.stop()


@st.cache_resource(show_spinner=False, max_entries=8)
def _engine(path: str, territory_mtime: float, model_mtime: float):
    from ilots.scenarios import ScenarioEngine

    terr = load(Path(path))
    meta, table = _model(path, territory_mtime, model_mtime)
    return ScenarioEngine(terr.blocks, meta, table)


def engine(terr: Territory):
    model(terr)
    return _engine(*_version(terr))


def reliable(terr: Territory) -> bool:
    """Whether the territory's model may drive explanations and scenarios; if not, says so on the page."""
    from ilots.analysis import unreliable_reason

    meta, _ = model(terr)
    reason = unreliable_reason(meta)
    if reason is None:
        return True
    st.warning(reason, icon=":material/warning:")
    return False


@st.cache_resource(show_spinner=False, max_entries=8)
def _table(path: str, territory_mtime: float, model_mtime: float):
    terr = load(Path(path))
    _, mt = _model(path, territory_mtime, model_mtime)
    cols = ["risk_class", "risk_score", "risk_label", "lst_used_c", "lst_pred_c", "residual_c", "anomaly_c",
            "explanation", "reasons", "lst_source", "p_high_risk"]
    return terr.blocks.join(mt[[c for c in cols if c in mt]])


def blocks_with_model(terr: Territory):
    """Blocks (working CRS) joined with risk, predictions and explanations. Read-only."""
    model(terr)
    return _table(*_version(terr))


@st.cache_resource(show_spinner=False, max_entries=16)
def _map(path: str, territory_mtime: float, model_mtime: float, layers: tuple, with_lst: bool, draw: bool):
    from ilots.maps import territory_map

    terr = load(Path(path))
    blocks = _table(path, territory_mtime, model_mtime)
    return territory_map(blocks, terr.manifest["bounds_wgs84"], list(layers), lst=terr.lst() if with_lst else None,
                         draw=draw)


def territory_map(terr: Territory, layers: list[str], with_lst: bool = False, draw: bool = False):
    """The folium map of the territory, built once per territory version and layer choice.

    Each session gets its own copy: rendering a folium map mutates it, and the cached one is shared."""
    from ilots.maps import session_copy

    model(terr)
    return session_copy(_map(*_version(terr), tuple(layers), with_lst, draw))


def show_map(fmap, key: str, height: int = 560, returned: list[str] | None = None):
    """Render a folium map; only the listed interactions are sent back to Python."""
    from streamlit_folium import st_folium

    # render=False: st_folium renders the map itself; its extra render of the whole figure is redundant.
    return st_folium(fmap, key=key, height=height, use_container_width=True, returned_objects=returned or [],
                     render=False)


def md_escape(text: str) -> str:
    """Text from data, safe inside Markdown (no links, images, emphasis or HTML)."""
    out = str(text)
    for ch in "\\`*_{}[]()#+-.!|<>~$:":
        out = out.replace(ch, "\\" + ch)
    return out



def _slug_for_file(name: str) -> str:
    return fr.slug(name, sep="_") or "territoire"
