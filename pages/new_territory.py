"""Nouveau territoire: download a commune's open data, or build from uploaded files; validated, with progress."""

import datetime as dt
import tempfile
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from ilots.build import build_territory
from ilots.errors import IlotsError, describe_os_error
from ilots.fetch import FetchRequest, acquire, request_name
from ilots.fr import date_fr, pct, slug
from ilots.progress import Progress, within
from ilots.store import check_replaceable, is_territory
from ilots.uploads import Limits, UploadForm, inputs_from_uploads, save_upload
from ui.common import (
    admin_allows,
    admin_configured,
    choose_territory,
    creation_enabled,
    data_dir,
    md_escape,
    progress_bar,
)

LIMITS = Limits()
NOTHING_SAVED = "Rien n'a été enregistré : aucun territoire n'a été créé ni modifié."


@contextmanager
def failures_shown(bar):
    """Show any failure as one French sentence. Territories are published only once built and fitted
    (see :func:`fit_before_publishing`), so a failure never leaves anything behind: the message is true."""
    try:
        yield
    except IlotsError as exc:
        bar.empty()
        st.error(md_escape(exc))
        st.caption(NOTHING_SAVED)
    except OSError as exc:
        bar.empty()
        st.error(md_escape(describe_os_error(exc)))
    except Exception as exc:  # a bug on unforeseen input: said plainly, never a traceback to visitors
        bar.empty()
        st.error(
            f"Le territoire n'a pas pu être préparé (erreur inattendue : {md_escape(type(exc).__name__)}). "
            + NOTHING_SAVED
        )


def fit_before_publishing(progress: Progress):
    """The ``finish`` step of a build: fit the model inside the staging folder, before it is listed."""

    def finish(folder: Path) -> None:
        from ilots.analysis import fit_territory
        from ilots.store import load_territory

        fit_territory(load_territory(folder), progress=within(progress, 0.0, 1.0, "Ajustement du modèle"))

    return finish


def announce(target: Path, label: str) -> None:
    st.success(f"Territoire « {md_escape(label)} » prêt.")
    if st.button("Ouvrir ce territoire", type="primary", key="open_new"):
        choose_territory(target)
        st.switch_page("pages/overview.py")


def may_write(target: Path, label: str, key: str) -> bool | None:
    """Whether the build may replace ``target``: False when it does not exist, True with the administrator
    secret, None (refused, message shown) otherwise. Replacing never rests on a checkbox alone."""
    if not is_territory(target):
        return False
    if not admin_configured():
        st.error(
            f"Un territoire « {md_escape(label)} » existe déjà : choisissez un autre nom (le remplacer est réservé "
            "à l'administrateur du serveur)."
        )
        return None
    password = st.text_input(
        f"Un territoire « {md_escape(label)} » existe déjà. Mot de passe administrateur pour le "
        "remplacer (ses scénarios enregistrés seront gardés) :",
        type="password",
        key=key,
    )
    if admin_allows(password):
        return True
    st.error("Mot de passe administrateur absent ou inexact : rien n'est remplacé ; choisissez un autre nom.")
    return None


def fetch_section() -> None:
    st.write(
        "Limite communale et BD TOPO depuis la Géoplateforme IGN, scènes Landsat 8/9 et occupation du sol "
        "ESA WorldCover depuis le catalogue Planetary Computer : des données ouvertes, sans compte. "
        "Les téléchargements sont gardés en cache sur ce serveur ; sans accès à Internet, déposez vos fichiers."
    )
    communes = st.text_input(
        "Commune(s) : code INSEE ou nom exact, séparés par des virgules",
        key="fetch_communes",
        placeholder="ex. 37261 ou Tours",
        max_chars=400,
    )
    c1, c2, c3 = st.columns(3)
    this_year = dt.date.today().year
    year = c1.number_input(
        "Année de l'été étudié", min_value=2013, max_value=this_year, value=this_year - 1, step=1, key="fetch_year"
    )
    months = c2.select_slider(
        "Mois des scènes",
        options=list(range(1, 13)),
        value=(6, 8),
        key="fetch_months",
        format_func=lambda m: date_fr(dt.date(2001, m, 2)).split(" ")[1],
    )
    n_scenes = c3.number_input("Scènes gardées (les plus claires)", min_value=1, max_value=10, value=3, key="fetch_n")
    max_cloud = st.slider("Nuages tolérés sur le territoire (%)", 5, 80, 20, step=5, key="fetch_cloud")
    name = st.text_input("Nom du territoire (facultatif : celui de la commune sinon)", key="fetch_name", max_chars=80)
    population = st.file_uploader(
        "Population (facultatif : carroyage INSEE Filosofi 200 m, CSV ou GeoPackage, "
        "à télécharger sur insee.fr, « Données carroyées »)",
        type=["csv", "gpkg"],
        key="fetch_pop",
    )
    codes = [c.strip() for c in (communes or "").split(",") if c.strip()]
    typed = (name or "").strip()
    # Replacing is decided before the click (the password field must survive reruns); a territory named after
    # the commune (no name typed) is never replaced: the fetch then stops at once with « existe déjà ».
    replace = may_write(data_dir() / slug(typed), typed, "fetch_admin") if typed and slug(typed) else False
    if not st.button("Télécharger et préparer", type="primary", key="fetch_go", disabled=not codes or replace is None):
        return
    bar, progress = progress_bar("Connexion aux services…")
    with tempfile.TemporaryDirectory(prefix="ilots-fetch-") as tmpdir, failures_shown(bar):
        pop = [str(save_upload(population, Path(tmpdir), LIMITS))] if population is not None else []
        req = FetchRequest(
            communes=codes,
            year=int(year),
            months=(int(months[0]), int(months[1])),
            n_scenes=int(n_scenes),
            max_cloud=max_cloud / 100.0,
            population=pop,
        )
        req.name = label = typed or request_name(req)  # else the commune's own name (a cached request)
        target = data_dir() / slug(label)
        check_replaceable(target, bool(replace))  # before any download
        acq = acquire(req, within(progress, 0.0, 0.25))
        build_territory(
            lambda tmp: acq.download(tmp, within(progress, 0.25, 0.45)),
            target,
            within(progress, 0.45, 0.85),
            replace=bool(replace),
            finish=fit_before_publishing(within(progress, 0.85, 1.0)),
            manifest_extra=acq.provenance,
        )
        summary = acq.summary()
        bar.empty()
        st.write(
            "**Scènes Landsat gardées** : "
            + ", ".join(
                f"{date_fr(s['date'])} ({pct(s['cloud_fraction_in_territory'])} de nuages sur le territoire)"
                for s in summary.scenes
            )
        )
        st.session_state["new_done"] = (str(target), label)


def upload_section() -> None:
    st.write(
        "Déposez vos fichiers tels que l'IGN, l'USGS, l'ESA ou l'INSEE les livrent. "
        "Rien n'est envoyé en dehors de ce serveur."
    )
    name = st.text_input("Nom du territoire", key="new_name", max_chars=80, placeholder="ex. Tours")
    bdtopo = st.file_uploader(
        "BD TOPO : GeoPackage (.gpkg) ou archive zip de shapefiles", type=["gpkg", "zip"], key="new_bdtopo"
    )
    lst_files = st.file_uploader(
        "Température de surface : GeoTIFF, ou bandes Landsat C2 L2 (ST_B10, QA_PIXEL, SR_B4/B5, MTL)",
        type=["tif", "tiff", "json", "txt", "xml"],
        accept_multiple_files=True,
        key="new_lst",
    )
    lst_band = st.text_input(
        "Bande de température (facultatif, pour un GeoTIFF à plusieurs bandes : numéro ou nom, ex. 1 ou ST_B10)",
        key="new_lst_band",
        max_chars=40,
    )
    landcover = st.file_uploader(
        "Occupation du sol (facultatif, raster ESA WorldCover)", type=["tif", "tiff"], key="new_lc"
    )
    blocks = st.file_uploader(
        "Vos îlots (facultatif : GeoPackage ou GeoJSON ; sinon découpés par les rues)",
        type=["gpkg", "geojson", "json"],
        key="new_blocks",
    )
    blocks_id = st.text_input("Colonne identifiant de vos îlots", key="new_blocks_id") if blocks else None
    population = st.file_uploader(
        "Population (facultatif : carroyage Filosofi CSV ou GeoPackage)", type=["csv", "gpkg"], key="new_pop"
    )
    form = UploadForm(
        name=name,
        lst_files=lst_files,
        bdtopo=bdtopo,
        landcover=landcover,
        blocks=blocks,
        blocks_id=blocks_id,
        population=population,
        lst_band=lst_band,
    )
    target = data_dir() / slug(name or "")
    replace = may_write(target, name, "new_admin") if name and slug(name) else False
    if st.button("Préparer le territoire", type="primary", key="new_go", disabled=not name or replace is None):
        bar, progress = progress_bar("Vérification des fichiers…")
        with tempfile.TemporaryDirectory(prefix="ilots-upload-") as tmpdir, failures_shown(bar):
            inputs = inputs_from_uploads(Path(tmpdir), form, LIMITS)
            build_territory(
                inputs,
                target,
                progress=within(progress, 0.0, 0.8),
                replace=bool(replace),
                finish=fit_before_publishing(within(progress, 0.8, 1.0)),
            )
            bar.empty()
            st.session_state["new_done"] = (str(target), name.strip())


st.title("Nouveau territoire")
if not creation_enabled():
    st.info(
        "La création de territoires depuis cette page est désactivée sur ce serveur. Les territoires sont "
        "préparés par son administrateur (python -m ilots build ou fetch).",
        icon=":material/lock:",
    )
    st.stop()
mode = st.radio(
    "Source des données",
    ["download", "upload"],
    horizontal=True,
    key="new_mode",
    format_func={
        "download": "Télécharger les données ouvertes d'une commune",
        "upload": "Déposer mes propres fichiers",
    }.get,
)
if mode == "download":
    fetch_section()
else:
    upload_section()
if st.session_state.get("new_done"):
    announce(Path(st.session_state["new_done"][0]), st.session_state["new_done"][1])
