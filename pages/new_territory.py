"""Nouveau territoire: build a territory from uploaded files, validated, with a progress bar."""

import shutil
import tempfile
from pathlib import Path

import streamlit as st

from ilots.build import BuildInputs, build_territory
from ilots.fr import slug
from ilots.errors import IlotsError
from ilots.store import is_territory
from ilots.uploads import Limits, UploadError, check_raster, check_vector, find_bdtopo_root, safe_extract_zip, safe_name
from pages.common import data_dir

LIMITS = Limits()
st.title("Nouveau territoire")
st.write("Déposez vos fichiers tels que l'IGN, l'USGS, l'ESA ou l'INSEE les livrent. Rien n'est envoyé en dehors de ce serveur.")

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


def save_upload(upload, folder: Path) -> Path:
    if upload.size > LIMITS.max_upload_bytes:
        raise UploadError(f"{upload.name} dépasse la taille maximale ({LIMITS.max_upload_bytes // 1024**2} Mo).")
    path = folder / safe_name(upload.name)
    with open(path, "wb") as fh:
        shutil.copyfileobj(upload, fh, length=4 * 1024 * 1024)
    return path


def prepare(tmp: Path) -> BuildInputs:
    """Validate every upload and return the build inputs; raise UploadError with one French sentence."""
    if not name or not slug(name):
        raise UploadError("Donnez un nom au territoire.")
    if not lst_files:
        raise UploadError("Il faut au moins un fichier de température de surface.")
    inputs = BuildInputs(name=name.strip(), lst=[])
    lst_dir = tmp / "lst"
    lst_dir.mkdir()
    saved = [save_upload(f, lst_dir) for f in lst_files]
    tifs = [p for p in saved if p.suffix.lower() in (".tif", ".tiff")]
    for p in tifs:
        check_raster(p)
    if any(p.name.upper().endswith("_ST_B10.TIF") for p in tifs):
        inputs.lst = [str(lst_dir)]
    else:
        inputs.lst = [str(p) for p in tifs]
    if not inputs.lst:
        raise UploadError("Aucun raster de température parmi les fichiers déposés.")
    if bdtopo is not None:
        path = save_upload(bdtopo, tmp)
        if path.suffix.lower() == ".zip":
            safe_extract_zip(path, tmp / "bdtopo", LIMITS)
            root = find_bdtopo_root(tmp / "bdtopo")
            if root is None:
                raise UploadError("L'archive ne contient ni GeoPackage ni BATIMENT.shp : est-ce bien la BD TOPO ?")
            inputs.bdtopo = str(root)
        else:
            inputs.bdtopo = str(path)  # a GeoPackage is checked layer by layer by the BD TOPO reader
    if landcover is not None:
        p = save_upload(landcover, tmp)
        check_raster(p)
        inputs.landcover = str(p)
    if blocks is not None:
        p = save_upload(blocks, tmp)
        check_vector(p)
        inputs.blocks, inputs.blocks_id = str(p), (blocks_id or None)
    if population is not None:
        p = save_upload(population, tmp)
        inputs.population = [str(p)]
    if inputs.bdtopo is None and inputs.blocks is None:
        raise UploadError("Fournissez la BD TOPO (pour découper les îlots par les rues) ou vos propres îlots.")
    return inputs


target = data_dir() / slug(name or "")
exists = bool(name) and is_territory(target)
overwrite = st.checkbox("Remplacer le territoire existant de ce nom", key="new_overwrite") if exists else False
if st.button("Préparer le territoire", type="primary", key="new_go", disabled=not name):
    if exists and not overwrite:
        st.error(f"Un territoire « {name} » existe déjà : cochez « Remplacer » ou choisissez un autre nom.")
    else:
        bar = st.progress(0.0, text="Vérification des fichiers…")
        with tempfile.TemporaryDirectory(prefix="ilots-upload-") as tmpdir:
            try:
                inputs = prepare(Path(tmpdir))
                build_territory(inputs, target, progress=lambda msg, f: bar.progress(min(max(f, 0.0), 1.0), text=msg))
                from ilots.analysis import fit_territory
                from ilots.store import load_territory

                bar.progress(1.0, text="Ajustement du modèle…")
                fit_territory(load_territory(target))
                bar.empty()
                st.success(f"Territoire « {name} » prêt : choisissez-le dans la liste à gauche.")
            except IlotsError as exc:
                bar.empty()
                st.error(str(exc))
                st.caption("Aucun territoire existant n'a été modifié.")
            except OSError:
                bar.empty()
                st.error("Écriture impossible dans le dossier des territoires (disque plein, en lecture seule ou "
                         "droits insuffisants) : aucun territoire existant n'a été modifié.")
