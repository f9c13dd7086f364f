"""What every page shares: where territories live, cached loading, the territory selector.

Only the UI layer caches (``st.cache_resource`` for territories, never mutated by pages).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import streamlit as st

from ilots import fr
from ilots.errors import IlotsError
from ilots.store import MANIFEST, MODEL, Territory, list_territories, load_territory
from ui import jobs
from ui.jobs import DEMO_FOLDER, data_dir, progress_bar  # noqa: F401 — progress_bar: the pages' one bar
from ui.navigation import APP_ROOT, through_navigation
from ui.text import md_escape

through_navigation()  # a first visit straight to a page URL reruns through dashboard.py

SYNTHETIC_BANNER = "Données synthétiques : « Îlotville » est une ville fictive générée pour la démonstration."


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


def territory_label(path: Path) -> str:
    try:
        t = load(path)
    except IlotsError:
        return f"{path.name} (endommagé)"
    return f"{t.name} — données synthétiques" if t.synthetic else t.name


# The chosen territory and block live in the session (pages do not share widget state) and in the URL
# (``?territoire=lyon&ilot=…``), so a link or a printed QR code opens a given territory and block.
TERRITORY_PARAM, BLOCK_PARAM = "territoire", "ilot"
_CHOSEN, _BLOCK = "chosen_territory", "chosen_block"


def choose_territory(path: Path) -> None:
    """Make ``path`` the session's territory (its block choice is dropped)."""
    st.session_state[_CHOSEN] = Path(path).name
    st.session_state.pop(_BLOCK, None)


def _chosen_name(paths: list[Path]) -> str:
    names = [p.name for p in paths]
    current = st.session_state.get(_CHOSEN)
    asked = st.query_params.get(TERRITORY_PARAM)
    # The URL wins only when it says something this session did not write there itself: a link, a QR code,
    # or the address bar edited by hand (not the previous choice, still in the URL when the selector changes).
    if asked is not None and asked != current and asked != st.session_state.get("_url_territory"):
        if asked in names:
            choose_territory(Path(asked))
            current = asked
            wanted = st.query_params.get(BLOCK_PARAM)
            if wanted:
                st.session_state[_BLOCK] = (asked, wanted)
        else:
            st.warning(
                f"Le territoire « {md_escape(asked)} » demandé dans l'adresse n'existe pas ici : "
                "voici le territoire par défaut."
            )
    if current not in names:
        current = DEMO_FOLDER if DEMO_FOLDER in names else names[0]
        st.session_state[_CHOSEN] = current
    return current


def select_territory() -> Territory:
    """Sidebar selector over every territory under the data folder. The choice stays for the whole session,
    on every page, and is written in the URL (``?territoire=<dossier>``)."""
    paths = list_territories(data_dir())
    if not paths:  # a page run without the navigation's wait (ui/navigation.run)
        jobs.ensure_demo()
        paths = list_territories(data_dir())
    labels = {p.name: territory_label(p) for p in paths}
    current = _chosen_name(paths)
    names = list(labels)

    def changed(key: str) -> None:
        choose_territory(Path(st.session_state[key]))

    key = f"territory_select_{current}"  # a new widget whenever the choice changes elsewhere (URL, new build)
    st.sidebar.selectbox(
        "Territoire", names, index=names.index(current), format_func=labels.get, key=key, on_change=changed, args=(key,)
    )
    st.query_params[TERRITORY_PARAM] = current
    st.session_state["_url_territory"] = current
    try:
        terr = load(data_dir() / current)
    except IlotsError as exc:
        st.error(
            f"Ce territoire est endommagé et ne peut pas être ouvert : {md_escape(exc)} Les autres territoires "
            "restent disponibles dans le sélecteur."
        )
        st.stop()
    if terr.synthetic:
        st.info(SYNTHETIC_BANNER, icon=":material/science:")
    return terr


def chosen_block(terr: Territory, ids) -> str | None:
    """The block chosen in this session for ``terr`` (or given in the URL), if it is one of ``ids``; it is
    written in the URL too (``?ilot=<id>``)."""
    entry = st.session_state.get(_BLOCK)
    if entry is None and st.query_params.get(BLOCK_PARAM):
        entry = (terr.path.name, st.query_params.get(BLOCK_PARAM))
    if entry is None or entry[0] != terr.path.name or entry[1] not in ids:
        st.query_params.pop(BLOCK_PARAM, None)
        return None
    st.session_state[_BLOCK] = entry
    st.query_params[BLOCK_PARAM] = entry[1]
    return entry[1]


def choose_block(terr: Territory, block_id: str | None) -> None:
    """Make ``block_id`` the session's block of ``terr`` (None: none)."""
    if block_id is None:
        st.session_state.pop(_BLOCK, None)
        st.query_params.pop(BLOCK_PARAM, None)
    else:
        st.session_state[_BLOCK] = (terr.path.name, str(block_id))
        st.query_params[BLOCK_PARAM] = str(block_id)


def find_places(terr: Territory, blocks, query: str, limit: int = 8) -> tuple[list[dict], str | None]:
    """Places matching ``query`` in ``terr`` (:func:`ilots.search.find_places`): street and block names
    offline, then the national address service unless ``ILOTS_ADDRESS_API=off``."""
    from ilots.search import ADDRESS_API
    from ilots.search import find_places as find

    address_api = os.environ.get("ILOTS_ADDRESS_API", ADDRESS_API)  # "off": no outbound call at all
    return find(
        query,
        blocks,
        terr.streets(),
        terr.manifest["bounds_wgs84"],
        address_api=None if address_api == "off" else address_api,
        limit=limit,
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _example(path: str, territory_mtime: float) -> str:
    from ilots.search import example_query

    terr = load(Path(path))
    return example_query(terr.blocks, terr.streets())


def search_example(terr: Territory) -> str:
    """« ex. … »: a search that works in this territory, for a search box's placeholder."""
    return f"ex. {_example(*_version(terr)[:2])}"


def clicked_block(state) -> str | None:
    """Id of the block last clicked on a map shown with ``returned=["last_active_drawing"]`` (None if none)."""
    return (((state or {}).get("last_active_drawing") or {}).get("properties") or {}).get("block_id")


def go_to_block(terr: Territory, block_id, current: str | None, ids) -> None:
    """Make ``block_id`` (clicked, or picked in a list) the session's block and rerun, so the page draws its card
    and its outline; nothing when it is not one of ``ids`` or is already the current block."""
    if block_id is not None and block_id in ids and block_id != current:
        choose_block(terr, block_id)
        st.rerun()


def choose_found(terr: Territory, key: str, query: str, index: int, block_id: str) -> None:
    """Make the search answer ``index`` of ``query`` the session's block, once: a rerun of the same answer
    must not undo a block clicked on the map since (``key`` remembers which answer was applied)."""
    if st.session_state.get(key) != (query, index):
        st.session_state[key] = (query, index)
        choose_block(terr, block_id)


def share_url(terr: Territory, block_id: str | None = None, page: str = "cafe") -> str:
    """Path and query of a link opening ``page`` on ``terr`` (and ``block_id``), relative to the app's root."""
    from urllib.parse import urlencode

    query = {TERRITORY_PARAM: terr.path.name, **({BLOCK_PARAM: block_id} if block_id else {})}
    return f"{page}?{urlencode(query)}"


def dates_text(terr: Territory) -> str:
    dates = terr.manifest.get("acquisition_dates") or []
    return fr.dates_fr(dates) if dates else "à une date d'acquisition inconnue"


# -- model, engine and tables (cached per territory version) --------------------------------------


def _version(terr: Territory) -> tuple[str, float, float]:
    """Cache key of a territory's current files: (path, territory mtime, model mtime or 0)."""
    model_file = terr.path / MODEL
    return (
        str(terr.path),
        (terr.path / MANIFEST).stat().st_mtime,
        model_file.stat().st_mtime if model_file.exists() else 0.0,
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def _model(path: str, territory_mtime: float, model_mtime: float, _progress=None):
    from ilots.analysis import ensure_model

    return ensure_model(load(Path(path)), progress=_progress)


def _fit_prefix(terr: Territory) -> str:
    step = "étape 2 sur 2 — " if terr.manifest.get("synthetic") else ""
    return f"Ajustement du modèle de chaleur, {step}"


def model(terr: Territory, wait: bool = True):
    """(meta, per-block table) of the territory's model, fitting it once if needed (in the background: every
    session of the server shares the one fit). ``wait=False`` returns None at once while the fit runs (the page
    then shows what is observed, :func:`observed_while_fitting`). A territory whose model cannot be fitted or read
    shows one French sentence and stops the page (others still work)."""
    try:
        if not (terr.path / MODEL).exists():
            job = jobs.fit_job(str(terr.path), (terr.path / MANIFEST).stat().st_mtime)
            if not job.done.is_set():
                if not wait:
                    return None
                bar, progress = progress_bar(
                    "Ajustement du modèle de chaleur (une seule fois pour ce territoire)…", _fit_prefix(terr)
                )
                while not job.done.wait(0.25):
                    progress(job.message, job.fraction)
                bar.empty()
            if job.error is not None:
                jobs.fit_job.clear()  # a later visit tries again
                raise job.error
        return _model(*_version(terr))
    except IlotsError as exc:
        st.error(f"Le modèle de ce territoire ne peut pas être utilisé : {md_escape(exc)}")
    except OSError as exc:
        from ilots.errors import describe_os_error

        st.error(md_escape(describe_os_error(exc)))
    st.stop()


def observed_while_fitting(terr: Territory) -> bool:
    """While the territory's model is fitted in the background: say so with its progress (refreshed every second;
    the page reruns in full when the fit ends) and draw the observed surface temperature map (no risk yet). False,
    and nothing drawn, once the model is there."""
    if model(terr, wait=False) is not None:
        return False
    job = jobs.fit_job(str(terr.path), (terr.path / MANIFEST).stat().st_mtime)
    prefix = _fit_prefix(terr)

    @st.fragment(run_every=1.0)
    def progress() -> None:
        if job.done.is_set():
            st.rerun()
        st.progress(job.fraction, text=jobs.stage_text(prefix, job.message))

    st.info(
        "Le modèle de chaleur s'ajuste sur ce territoire (une seule fois, quelques secondes). La carte montre déjà "
        "les températures de surface observées ; le risque, les explications et les scénarios s'afficheront ici "
        "dès qu'il sera prêt."
    )
    progress()
    from ilots.maps import LAYERS

    layers = ["lst"] if LAYERS["lst"].column in terr.blocks else []
    show_map(territory_map(terr, layers, observed=True), key="observed_map", height=560)
    return True


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
    cols = [
        "risk_class",
        "risk_score",
        "risk_label",
        "lst_used_c",
        "lst_pred_c",
        "residual_c",
        "anomaly_c",
        "explanation",
        "reasons",
        "lst_source",
        "p_high_risk",
    ]
    return terr.blocks.join(mt[[c for c in cols if c in mt]])


@st.cache_resource(show_spinner=False, max_entries=8)
def _high_risk(path: str, territory_mtime: float, model_mtime: float):
    from ilots.risk import high_risk_residents

    terr = load(Path(path))
    meta, mt = _model(path, territory_mtime, model_mtime)
    return high_risk_residents(terr.blocks.drop(columns=terr.blocks.geometry.name), mt, meta["risk"])


def high_risk(terr: Territory):
    """Residents in high risk with their 90 % interval (:class:`ilots.risk.HighRiskResidents`), None without
    population data."""
    model(terr)
    return _high_risk(*_version(terr))


def _monitoring_version(terr: Territory) -> tuple[float, float]:
    """Modification times of the saved works and of the summers' index (0 when absent)."""
    from ilots.store import MONITORING, SUMMERS, WORKS

    folder = terr.path / MONITORING
    return tuple((folder / f).stat().st_mtime if (folder / f).exists() else 0.0 for f in (WORKS, SUMMERS))


@st.cache_resource(show_spinner=False, max_entries=8)
def _monitoring(path: str, territory_mtime: float, model_mtime: float, works_mtime: float, summers_mtime: float):
    from ilots.analysis import monitor_territory
    from ilots.store import write_monitor_results

    terr = load(Path(path))
    result = monitor_territory(terr, engine=_engine(path, territory_mtime, model_mtime))
    with contextlib.suppress(OSError):  # a read-only territory folder: the page still shows them
        write_monitor_results(terr.path, result.to_dict())  # the model card reads the last estimates
    return result


def monitoring(terr: Territory):
    """Before/after estimates of the territory's saved works (:class:`ilots.monitor.MonitorResult`), computed
    once per version of the territory, its model, its works and its summers. Raises the library's French
    :class:`~ilots.errors.IlotsError` when there is nothing to monitor."""
    model(terr)
    return _monitoring(*_version(terr), *_monitoring_version(terr))


@st.cache_resource(show_spinner=False, max_entries=8)
def _refuges(path: str, territory_mtime: float, model_mtime: float):
    from ilots.analysis import refuges_territory

    return refuges_territory(load(Path(path)))


@st.cache_resource(show_spinner=False, max_entries=8)
def _refuges_with(path: str, territory_mtime: float, model_mtime: float, area_wkb: bytes):
    import geopandas as gpd
    import shapely

    from ilots.analysis import with_added_refuges

    terr = load(Path(path))
    added = gpd.GeoDataFrame(geometry=[shapely.from_wkb(area_wkb)], crs=terr.blocks.crs)
    return with_added_refuges(_refuges(path, territory_mtime, model_mtime), terr.blocks, added)


def refuges_with(terr: Territory, area):
    """Walking distances today and with ``area`` (a polygon, working CRS) opened as a cool refuge."""
    return _refuges_with(*_version(terr), area.wkb)


def refuges(terr: Territory):
    """Walking distances to the nearest cool refuge (:class:`ilots.analysis.RefugeReport`), once per territory
    version. Raises the library's French :class:`~ilots.errors.IlotsError` when the territory has no streets."""
    return _refuges(*_version(terr))


@st.cache_resource(show_spinner=False, max_entries=8)
def _facilities(path: str, territory_mtime: float, model_mtime: float):
    from ilots.analysis import facilities_territory

    terr = load(Path(path))
    _, table = _model(path, territory_mtime, model_mtime)
    try:
        report = _refuges(path, territory_mtime, model_mtime)
    except IlotsError:
        report = None
    return facilities_territory(terr, model_table=table, refuges=report)


def facilities(terr: Territory):
    """The territory's sensitive facilities and the heat of their place (hottest surroundings first)."""
    model(terr)
    return _facilities(*_version(terr))


def _night_version(terr: Territory) -> float:
    from ilots.store import NIGHT, NIGHT_INDEX

    index = terr.path / NIGHT / NIGHT_INDEX
    return index.stat().st_mtime if index.exists() else 0.0


@st.cache_resource(show_spinner=False, max_entries=8)
def _night(path: str, territory_mtime: float, night_mtime: float):
    from ilots.analysis import night_territory

    return night_territory(load(Path(path)))


def night(terr: Territory):
    """The night layer beside the observed day (:class:`ilots.analysis.NightReport`), or None when the territory
    has none; once per version of the territory and of its night folder. The model is not read."""
    return _night(str(terr.path), (terr.path / MANIFEST).stat().st_mtime, _night_version(terr))


@st.cache_resource(show_spinner=False, max_entries=8)
def _night_maps(path: str, territory_mtime: float, night_mtime: float):
    from ilots.maps import day_night_map, day_night_maps

    terr = load(Path(path))
    report = _night(path, territory_mtime, night_mtime)
    bounds = terr.manifest["bounds_wgs84"]
    tiles = _night_tiles(path, territory_mtime, night_mtime)
    return (
        *day_night_maps(terr.blocks, report.table, bounds, tiles=tiles),
        day_night_map(terr.blocks, report.table, bounds, tiles=tiles),
    )


def night_maps(terr: Territory):
    """(day map, night map, agreement map), each a session copy of the cached one."""
    from ilots.maps import session_copy

    return tuple(
        session_copy(m)
        for m in _night_maps(str(terr.path), (terr.path / MANIFEST).stat().st_mtime, _night_version(terr))
    )


def night_dates(report) -> str:
    """« 3 nuits claires, les 10 juillet, 9 et 22 août 2023 » for a night report's Sentinel-3 nights."""
    days = [n["start"][:10] for n in report.nights]
    plural = "s" if len(days) > 1 else ""
    return f"{len(days)} nuit{plural} claire{plural}, {fr.dates_fr(days)}"


def blocks_with_model(terr: Territory):
    """Blocks (working CRS) joined with risk, predictions and explanations. Read-only."""
    model(terr)
    return _table(*_version(terr))


# Streamlit serves ``static/`` beside dashboard.py at ``app/static/`` (server.enableStaticServing); a map runs in
# streamlit-folium's frame at ``component/<name>/index.html``, hence the two levels up.
STATIC_DIR = APP_ROOT / "static"
STATIC_URL = "../../app/static/"
TILES_FORMAT = 2  # bump when block_tile_frame or grid_overview changes what the tiles carry


@st.cache_resource(show_spinner=False)
def served_assets() -> dict[str, str]:
    """Leaflet and its plugins as static files, written once per server (a browser then keeps them)."""
    from ilots.maps import write_assets

    return write_assets(STATIC_DIR / "vendor", STATIC_URL + "vendor/")


def _served_tiles(path: str, kind: str, version: tuple, frame):
    """(URL template, TileSet) of the vector tiles ``kind`` of the territory at ``path`` for ``version``, written
    once in ``static/tiles/`` from ``frame()`` (the blocks' frame and its overview; kept across restarts; older
    versions of the same tiles, and tiles of territories that no longer exist, are removed)."""
    import hashlib
    import shutil

    from ilots.tiles import TileError, read_tileset, write_tiles

    root = STATIC_DIR / "tiles"
    owner = hashlib.sha256(f"{path}|{kind}".encode()).hexdigest()[:10]
    name = f"{owner}-{hashlib.sha256(repr((*version, TILES_FORMAT)).encode()).hexdigest()[:10]}"
    try:
        tiles = read_tileset(root / name)
    except TileError:
        detail, overview = frame()
        tiles = write_tiles(detail, root / name, meta={"path": path}, overview=overview)
    for other in root.iterdir():
        if other.name.startswith(".") or other.name == name or not other.is_dir():
            continue
        try:
            gone = other.name.startswith(owner + "-") or not Path(read_tileset(other).meta.get("path", "")).exists()
        except TileError:
            gone = False  # being written by another process, or not ours
        if gone:
            shutil.rmtree(other, ignore_errors=True)
    return f"{STATIC_URL}tiles/{name}/{{z}}/{{x}}/{{y}}.pbf", tiles


def _shown_blocks(path: str, territory_mtime: float, model_mtime: float):
    """The blocks the territory map draws: with the model's columns, or (``model_mtime`` 0: the model is still being
    fitted) the observed ones alone."""
    return _table(path, territory_mtime, model_mtime) if model_mtime else load(Path(path)).blocks


@st.cache_resource(show_spinner=False, max_entries=8)
def _tiles(path: str, territory_mtime: float, model_mtime: float):
    """The territory map's vector tiles (:func:`ilots.maps.block_tile_frame` of every layer, and its 250 m overview)."""
    from ilots.maps import block_tile_frame, grid_overview, territory_tile_layers

    def frame():
        blocks = _shown_blocks(path, territory_mtime, model_mtime)
        layers = territory_tile_layers(blocks)
        return block_tile_frame(blocks, layers), grid_overview(blocks, layers)

    return _served_tiles(path, "map", (territory_mtime, model_mtime), frame)


@st.cache_resource(show_spinner=False, max_entries=8)
def _night_tiles(path: str, territory_mtime: float, night_mtime: float):
    """The day and night maps' vector tiles."""
    from ilots.maps import block_tile_frame, grid_overview, night_tile_layers

    def frame():
        night = _night(path, territory_mtime, night_mtime).table
        blocks, layers, fields = night_tile_layers(load(Path(path)).blocks, night)
        return block_tile_frame(blocks, layers, fields), grid_overview(blocks, layers, fields)

    return _served_tiles(path, "night", (territory_mtime, night_mtime), frame)


@st.cache_resource(show_spinner=False, max_entries=16)
def _map(
    path: str, territory_mtime: float, model_mtime: float, layers: tuple, with_lst: bool, draw: bool, places=False
):
    from ilots.maps import territory_map

    terr = load(Path(path))
    blocks = _shown_blocks(path, territory_mtime, model_mtime)
    tiles = _tiles(path, territory_mtime, model_mtime)
    shown = None
    if places:
        with contextlib.suppress(IlotsError):  # no facility known: the page says so under the map
            shown = _facilities(path, territory_mtime, model_mtime)
    return territory_map(
        blocks,
        terr.manifest["bounds_wgs84"],
        list(layers),
        lst=terr.lst() if with_lst else None,
        draw=draw,
        facilities=shown,
        tiles=tiles,
    )


def territory_map(
    terr: Territory,
    layers: list[str],
    with_lst: bool = False,
    draw: bool = False,
    highlight: str | None = None,
    places: bool = False,
    observed: bool = False,
):
    """The folium map of the territory, built once per territory version and layer choice; ``highlight``
    (a block id) is outlined and zoomed on; ``places`` adds the sensitive facilities; ``observed`` draws the
    territory's own layers without waiting for (or reading) its model.

    Each session gets its own copy: rendering a folium map mutates it, and the cached one is shared."""
    from ilots.maps import highlight_block, session_copy
    from ilots.tiles import MAX_ZOOM

    if observed:
        version = (str(terr.path), (terr.path / MANIFEST).stat().st_mtime, 0.0)
        m = session_copy(_map(*version, tuple(layers), with_lst, draw))
    else:
        model(terr)
        m = session_copy(_map(*_version(terr), tuple(layers), with_lst, draw, places))
    if highlight is not None and highlight in terr.blocks.index:
        highlight_block(m, terr.blocks.geometry.loc[highlight], terr.blocks.crs, f"Îlot {highlight}", MAX_ZOOM)
    return m


@st.cache_data(show_spinner=False, max_entries=16)
def _map_png(path: str, territory_mtime: float, model_mtime: float, layer: str) -> bytes:
    from ilots.maps import LAYERS
    from ilots.staticmap import layer_note, map_png, sources_text

    terr = load(Path(path))
    blocks = _table(path, territory_mtime, model_mtime)
    dates = fr.dates_fr(terr.manifest.get("acquisition_dates") or [])
    return map_png(
        blocks,
        layer,
        f"{LAYERS[layer].title} — {terr.name}",
        layer_note(layer, dates),
        terr.streets(),
        credit=f"Sources : {sources_text(terr.manifest, dates)}.",
    )


def map_image(terr: Territory, layer: str):
    """A callable giving the PNG map of ``layer`` (built when the download is asked for, then kept)."""
    model(terr)
    version = _version(terr)
    return lambda: _map_png(*version, layer)


def show_map(fmap, key: str, height: int = 560, returned: list[str] | None = None):
    """Render a folium map; only the listed interactions are sent back to Python."""
    from streamlit_folium import st_folium

    from ilots.maps import localise_assets

    # Leaflet and its plugins by URL (static files the browser caches), not inlined in every rerun's message
    localise_assets(fmap, served_assets())
    # render=False: st_folium renders the map itself; its extra render of the whole figure is redundant.
    return st_folium(
        fmap, key=key, height=height, use_container_width=True, returned_objects=returned or [], render=False
    )


def french_table(frame, formats: dict | None = None):
    """``frame`` as French text for st.dataframe: decimal comma, units, « — » for missing. The grid's
    accessible cells (what a screen reader reads) carry the display text only when it is text: a styled
    number is read out raw (« 40.70923839795327 ») and a missing one as « None ». ``formats`` maps a column
    to a formatter (default: a number with two decimals, or the value as text)."""
    import pandas as pd

    formats = formats or {}

    def default(v):
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return "—"
        if isinstance(v, bool) or not isinstance(v, int | float):
            return str(v)
        return fr.num(v, 0 if float(v).is_integer() else 2)

    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        f = formats.get(col, default)
        out[col] = [("—" if v is None or (isinstance(v, float) and pd.isna(v)) else f(v)) for v in frame[col]]
    return out


def slug_for_file(name: str) -> str:
    return fr.slug(name, sep="_") or "territoire"


def share_block(terr: Territory, block_id: str | None, page: str = "cafe") -> None:
    """A link and a printable QR code opening ``page`` on ``terr`` (and ``block_id``) on any phone."""
    import io
    from urllib.parse import urljoin

    import segno

    url = urljoin(st.context.url or "http://localhost:8501/", share_url(terr, block_id, page))
    png = io.BytesIO()
    segno.make(url, error="m").save(png, kind="png", scale=8, border=4)
    st.image(
        png.getvalue(),
        width=220,
        caption="QR code : ouvre cette page sur ce territoire" + (" et cet îlot" if block_id else ""),
    )
    st.code(url, language=None)
    st.download_button(
        "Télécharger le QR code (PNG, à imprimer)",
        png.getvalue(),
        file_name=f"qr_{slug_for_file(terr.name)}.png",
        mime="image/png",
        key=f"qr_{page}",
    )
