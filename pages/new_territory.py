"""Nouveau territoire: download a commune's open data, or build from uploaded files; validated, with progress."""

import datetime as dt
from contextlib import contextmanager
import shutil
import tempfile
from pathlib import Path

import streamlit as st

from ilots.build import BuildInputs, build_territory
from ilots.errors import IlotsError
from ilots.fetch import FetchRequest, fetch_territory, territory_name
from ilots.fetch.http import Downloader, default_cache_dir
from ilots.fetch.wfs import commune_boundaries
from ilots.fr import date_fr, pct, slug
from ilots.store import is_territory
from ilots.uploads import Limits, UploadError, check_raster, check_vector, find_bdtopo_root, safe_extract_zip, safe_name
from pages.common import data_dir

LIMITS = Limits()
WRITE_ERROR = ("Écriture impossible dans le dossier des territoires (disque plein, en lecture seule ou "
               "droits insuffisants) : aucun territoire existant n'a été modifié.")


def save_upload(upload, folder: Path) -> Path:
    if upload.size > LIMITS.max_upload_bytes:
        raise UploadError(f"{upload.name} dépasse la taille maximale ({LIMITS.max_upload_bytes // 1024**2} Mo).")
    path = folder / safe_name(upload.name)
    with open(path, "wb") as fh:
        shutil.copyfileobj(upload, fh, length=4 * 1024 * 1024)
    return path


def prepare(tmp: Path, form: dict) -> BuildInputs:
    """Validate every upload and return the build inputs; raise UploadError with one French sentence."""
    if not form["name"] or not slug(form["name"]):
        raise UploadError("Donnez un nom au territoire.")
    if not form["lst_files"]:
        raise UploadError("Il faut au moins un fichier de température de surface.")
    inputs = BuildInputs(name=form["name"].strip(), lst=[])
    lst_dir = tmp / "lst"
    lst_dir.mkdir()
    saved = [save_upload(f, lst_dir) for f in form["lst_files"]]
    tifs = [p for p in saved if p.suffix.lower() in (".tif", ".tiff")]
    for p in tifs:
        check_raster(p)
    if any(p.name.upper().endswith("_ST_B10.TIF") for p in tifs):
        inputs.lst = [str(lst_dir)]
    else:
        inputs.lst = [str(p) for p in tifs]
    if not inputs.lst:
        raise UploadError("Aucun raster de température parmi les fichiers déposés.")
    if form["bdtopo"] is not None:
        path = save_upload(form["bdtopo"], tmp)
        if path.suffix.lower() == ".zip":
            safe_extract_zip(path, tmp / "bdtopo", LIMITS)
            root = find_bdtopo_root(tmp / "bdtopo")
            if root is None:
                raise UploadError("L'archive ne contient ni GeoPackage ni BATIMENT.shp : est-ce bien la BD TOPO ?")
            inputs.bdtopo = str(root)
        else:
            inputs.bdtopo = str(path)  # a GeoPackage is checked layer by layer by the BD TOPO reader
    if form["landcover"] is not None:
        p = save_upload(form["landcover"], tmp)
        check_raster(p)
        inputs.landcover = str(p)
    if form["blocks"] is not None:
        p = save_upload(form["blocks"], tmp)
        check_vector(p)
        inputs.blocks, inputs.blocks_id = str(p), (form["blocks_id"] or None)
    if form["population"] is not None:
        p = save_upload(form["population"], tmp)
        inputs.population = [str(p)]
    if inputs.bdtopo is None and inputs.blocks is None:
        raise UploadError("Fournissez la BD TOPO (pour découper les îlots par les rues) ou vos propres îlots.")
    return inputs


@contextmanager
def failures_shown(bar):
    """Show a user's mistake or a write failure as one French sentence; nothing saved is touched."""
    try:
        yield
    except (IlotsError, UploadError) as exc:
        bar.empty()
        st.error(str(exc))
        st.caption("Aucun territoire existant n'a été modifié.")
    except OSError:
        bar.empty()
        st.error(WRITE_ERROR)


def fit_and_announce(target: Path, label: str) -> None:
    from ilots.analysis import fit_territory
    from ilots.store import load_territory

    fit_territory(load_territory(target))
    st.success(f"Territoire « {label} » prêt : choisissez-le dans la liste à gauche.")


def fetch_section() -> None:
    st.write("Limite communale et BD TOPO depuis la Géoplateforme IGN, scènes Landsat 8/9 et occupation du sol "
             "ESA WorldCover depuis le catalogue Planetary Computer : des données ouvertes, sans compte. "
             "Les téléchargements sont gardés en cache sur ce serveur ; sans accès à Internet, déposez vos fichiers.")
    communes = st.text_input("Commune(s) : code INSEE ou nom exact, séparés par des virgules", key="fetch_communes",
                             placeholder="ex. 37261 ou Tours", max_chars=400)
    c1, c2, c3 = st.columns(3)
    this_year = dt.date.today().year
    year = c1.number_input("Année de l'été étudié", min_value=2013, max_value=this_year, value=this_year - 1,
                           step=1, key="fetch_year")
    months = c2.select_slider("Mois des scènes", options=list(range(1, 13)), value=(6, 8), key="fetch_months",
                              format_func=lambda m: date_fr(dt.date(2001, m, 2)).split(" ")[1])
    n_scenes = c3.number_input("Scènes gardées (les plus claires)", min_value=1, max_value=10, value=3, key="fetch_n")
    max_cloud = st.slider("Nuages tolérés sur le territoire (%)", 5, 80, 20, step=5, key="fetch_cloud")
    name = st.text_input("Nom du territoire (facultatif : celui de la commune sinon)", key="fetch_name", max_chars=80)
    population = st.file_uploader("Population (facultatif : carroyage INSEE Filosofi 200 m, CSV ou GeoPackage, "
                                  "à télécharger sur insee.fr, « Données carroyées »)", type=["csv", "gpkg"],
                                  key="fetch_pop")
    overwrite = st.checkbox("Remplacer un territoire existant du même nom", key="fetch_overwrite")
    codes = [c.strip() for c in (communes or "").split(",") if c.strip()]
    if not st.button("Télécharger et préparer", type="primary", key="fetch_go", disabled=not codes):
        return
    bar = st.progress(0.0, text="Connexion aux services…")

    def progress(stage: str, done: int, total: int | None) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=stage)

    with tempfile.TemporaryDirectory(prefix="ilots-fetch-") as tmpdir, failures_shown(bar):
        pop = [str(save_upload(population, Path(tmpdir)))] if population is not None else []
        req = FetchRequest(communes=codes, year=int(year), months=(int(months[0]), int(months[1])),
                           n_scenes=int(n_scenes), max_cloud=max_cloud / 100.0, population=pop)
        label = (name or "").strip()
        if not label:  # the commune's own name (a cached request the fetch reuses)
            label = territory_name(commune_boundaries(Downloader(default_cache_dir(), req.policy), codes, req.wfs_url))
        req.name = label
        target = data_dir() / slug(label)
        if is_territory(target) and not overwrite:
            bar.empty()
            st.error(f"Un territoire « {label} » existe déjà : cochez « Remplacer » ou choisissez un autre nom.")
            return
        summary = fetch_territory(req, target, progress)
        bar.progress(1.0, text="Ajustement du modèle…")
        st.write("**Scènes Landsat gardées** : " + ", ".join(
            f"{date_fr(s['date'])} ({pct(s['cloud_fraction_in_territory'])} de nuages sur le territoire)"
            for s in summary.scenes))
        fit_and_announce(target, label)
        bar.empty()


def upload_section() -> None:
    st.write("Déposez vos fichiers tels que l'IGN, l'USGS, l'ESA ou l'INSEE les livrent. "
             "Rien n'est envoyé en dehors de ce serveur.")
    name = st.text_input("Nom du territoire", key="new_name", max_chars=80, placeholder="ex. Tours")
    bdtopo = st.file_uploader("BD TOPO : GeoPackage (.gpkg) ou archive zip de shapefiles", type=["gpkg", "zip"], key="new_bdtopo")
    lst_files = st.file_uploader("Température de surface : GeoTIFF, ou bandes Landsat C2 L2 (ST_B10, QA_PIXEL, SR_B4/B5, MTL)",
                                 type=["tif", "tiff", "json", "txt", "xml"], accept_multiple_files=True, key="new_lst")
    landcover = st.file_uploader("Occupation du sol (facultatif, raster ESA WorldCover)", type=["tif", "tiff"], key="new_lc")
    blocks = st.file_uploader("Vos îlots (facultatif : GeoPackage ou GeoJSON ; sinon découpés par les rues)",
                              type=["gpkg", "geojson", "json"], key="new_blocks")
    blocks_id = st.text_input("Colonne identifiant de vos îlots", key="new_blocks_id") if blocks else None
    population = st.file_uploader("Population (facultatif : carroyage Filosofi CSV ou GeoPackage)", type=["csv", "gpkg"],
                                  key="new_pop")
    form = {"name": name, "lst_files": lst_files, "bdtopo": bdtopo, "landcover": landcover, "blocks": blocks,
            "blocks_id": blocks_id, "population": population}
    target = data_dir() / slug(name or "")
    exists = bool(name) and is_territory(target)
    overwrite = st.checkbox("Remplacer le territoire existant de ce nom", key="new_overwrite") if exists else False
    if st.button("Préparer le territoire", type="primary", key="new_go", disabled=not name):
        if exists and not overwrite:
            st.error(f"Un territoire « {name} » existe déjà : cochez « Remplacer » ou choisissez un autre nom.")
        else:
            bar = st.progress(0.0, text="Vérification des fichiers…")
            with tempfile.TemporaryDirectory(prefix="ilots-upload-") as tmpdir, failures_shown(bar):
                inputs = prepare(Path(tmpdir), form)
                build_territory(inputs, target, progress=lambda msg, f: bar.progress(min(max(f, 0.0), 1.0), text=msg))
                bar.progress(1.0, text="Ajustement du modèle…")
                fit_and_announce(target, name)
                bar.empty()


st.title("Nouveau territoire")
mode = st.radio("Source des données", ["download", "upload"], horizontal=True, key="new_mode",
                format_func={"download": "Télécharger les données ouvertes d'une commune",
                             "upload": "Déposer mes propres fichiers"}.get)
if mode == "download":
    fetch_section()
else:
    upload_section()
