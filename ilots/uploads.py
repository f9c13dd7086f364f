"""Safe handling of uploaded files for the "Nouveau territoire" page (no Streamlit here).

Zip archives are extracted member by member into a temporary folder, refusing absolute paths,
``..`` components, symbolic links, too many files, and archives that inflate beyond a size or
ratio limit (zip bombs). Every file is then checked for what it claims to be (a raster that opens,
a vector layer that opens), with one French sentence per problem.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .build import BuildInputs
from .errors import InputFileError, UnreadableFileError, UploadError
from .fr import slug

__all__ = [
    "UploadError",
    "Limits",
    "safe_extract_zip",
    "check_raster",
    "check_vector",
    "find_bdtopo_root",
    "safe_name",
    "unique_path",
    "UploadForm",
    "save_upload",
    "inputs_from_uploads",
]


@dataclass(frozen=True)
class Limits:
    """Bounds on uploads. ``max_ratio`` bounds each large member's and the whole archive's inflation
    (BD TOPO shapefiles and GeoPackages compress about 3 to 20×; a zip bomb, hundreds of times)."""

    max_upload_bytes: int = 500 * 1024**2
    max_unpacked_bytes: int = 2 * 1024**3
    max_ratio: float = 50.0
    max_files: int = 2000
    max_name_bytes: int = 255  # one path component, as most file systems allow
    max_path_bytes: int = 1024


def safe_name(name: str) -> str:
    """A file name stripped of any directory part and unusual characters."""
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in base)
    if not cleaned or cleaned.startswith("."):
        cleaned = "fichier" + cleaned
    return cleaned[:150]


def safe_extract_zip(archive: str | Path, dest: str | Path, limits: Limits = Limits()) -> list[Path]:
    """Extract ``archive`` into ``dest`` after checking every member; return the extracted files."""
    archive, dest = Path(archive), Path(dest)
    if archive.stat().st_size > limits.max_upload_bytes:
        raise UploadError(f"L'archive {archive.name} dépasse la taille maximale autorisée.")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadError(f"{archive.name} n'est pas une archive zip valide.") from exc
    with zf:
        members = zf.infolist()
        if len(members) > limits.max_files:
            raise UploadError(f"L'archive contient trop de fichiers ({len(members)}, au plus {limits.max_files}).")
        _check_names(members, limits)
        total = 0
        for m in members:
            name = m.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
                raise UploadError(f"L'archive contient un chemin dangereux (« {m.filename} ») : elle est refusée.")
            mode = (m.external_attr >> 16) & 0o177777
            if stat.S_ISLNK(mode):
                raise UploadError(f"L'archive contient un lien symbolique (« {m.filename} ») : elle est refusée.")
            total += m.file_size
            if m.file_size > 1024**2 and m.file_size / max(m.compress_size, 1) > limits.max_ratio:
                raise UploadError("L'archive se décompresse de façon anormale (bombe zip ?) : elle est refusée.")
        if total > limits.max_unpacked_bytes:
            raise UploadError(
                f"L'archive décompressée ferait {total / 1024**2:.0f} Mo, plus que les "
                f"{limits.max_unpacked_bytes // 1024**2} Mo permis : elle est refusée."
            )
        if total > 10 * 1024**2 and total / max(archive.stat().st_size, 1) > limits.max_ratio:
            raise UploadError(
                f"L'archive se décompresse de façon anormale ({archive.stat().st_size / 1024**2:.1f} Mo "
                f"donnant {total / 1024**2:.0f} Mo, bombe zip ?) : elle est refusée."
            )
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        out = []
        for m in members:
            if m.is_dir():
                continue
            target = (dest / m.filename.replace("\\", "/")).resolve()
            if root not in target.parents:
                raise UploadError(f"L'archive contient un chemin dangereux (« {m.filename} ») : elle est refusée.")
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(m) as src, open(target, "wb") as dst:
                while chunk := src.read(1024 * 1024):
                    written += len(chunk)
                    if written > m.file_size or written > limits.max_unpacked_bytes:
                        raise UploadError(
                            "L'archive se décompresse de façon anormale (bombe zip ?) : elle est refusée."
                        )
                    dst.write(chunk)
            out.append(target)
    return out


def _check_names(members: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse names too long for the disk, the same name twice, and a name that is both a file and a folder."""
    files, folders = set(), set()
    for m in members:
        name = m.filename.replace("\\", "/").rstrip("/")
        parts = [p for p in name.split("/") if p]
        if len(name.encode("utf-8")) > limits.max_path_bytes or any(
            len(p.encode("utf-8")) > limits.max_name_bytes for p in parts
        ):
            raise UploadError(f"L'archive contient un nom de fichier trop long (« {name[:60]}… ») : elle est refusée.")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
        if m.is_dir():
            folders.add("/".join(parts))
        elif "/".join(parts) in files:
            raise UploadError(f"L'archive contient deux fois le fichier « {name} » : elle est refusée.")
        else:
            files.add("/".join(parts))
    clash = sorted(files & folders)
    if clash:
        raise UploadError(
            f"L'archive contient « {clash[0]} » à la fois comme fichier et comme dossier : elle est refusée."
        )


def unique_path(folder: Path, name: str) -> Path:
    """``folder/name`` made safe (:func:`safe_name`), with ``-2``, ``-3``… added if taken: two uploads whose
    names differ only by characters made safe never overwrite each other."""
    base = Path(safe_name(name))
    path = folder / base.name
    k = 2
    while path.exists():
        path = folder / f"{base.stem}-{k}{base.suffix}"
        k += 1
    return path


def check_raster(path: str | Path) -> None:
    """Raise :class:`UploadError` unless ``path`` is a georeferenced raster GDAL can read."""
    from .sources.rasters import open_raster

    try:
        with open_raster(path) as ds:
            ds.read(1, window=((0, min(ds.height, 16)), (0, min(ds.width, 16))))
    except (UnreadableFileError, InputFileError) as exc:
        raise UploadError(f"{Path(path).name} : {exc}") from exc


def check_vector(path: str | Path) -> None:
    """Raise :class:`UploadError` unless ``path`` is a vector layer with features and a CRS."""
    from .sources.vectors import layer_info

    try:
        info = layer_info(path)
    except InputFileError as exc:
        raise UploadError(f"{Path(path).name} : {exc}") from exc
    if info.get("crs") is None:
        raise UploadError(f"{Path(path).name} n'a pas de système de coordonnées.")


def find_bdtopo_root(folder: str | Path) -> Path | None:
    """The GeoPackage or the folder holding BD TOPO layers inside an extracted archive."""
    folder = Path(folder)
    gpkgs = sorted(folder.rglob("*.gpkg"))
    if gpkgs:
        return gpkgs[0]
    shp = [p for p in folder.rglob("*") if p.suffix.lower() == ".shp" and p.stem.upper() == "BATIMENT"]
    return shp[0].parent if shp else None


@dataclass
class UploadForm:
    """What the « Nouveau territoire » page received. Each file is an uploaded object with ``name``, ``size``
    (bytes) and a binary ``read`` (Streamlit's UploadedFile, or any open binary file given those two)."""

    name: str
    lst_files: list[Any]
    bdtopo: Any = None
    landcover: Any = None
    blocks: Any = None
    blocks_id: str | None = None
    population: Any = None
    lst_band: str | None = None


def save_upload(upload: Any, folder: Path, limits: Limits = Limits()) -> Path:
    """Copy one upload into ``folder`` under a safe, unique name; refuse one over ``limits.max_upload_bytes``."""
    if upload.size > limits.max_upload_bytes:
        raise UploadError(f"{upload.name} dépasse la taille maximale ({limits.max_upload_bytes // 1024**2} Mo).")
    path = unique_path(folder, upload.name)
    with open(path, "wb") as fh:
        shutil.copyfileobj(upload, fh, length=4 * 1024 * 1024)
    return path


def inputs_from_uploads(tmp: Path, form: UploadForm, limits: Limits = Limits()) -> BuildInputs:
    """Save and check every upload of ``form`` under ``tmp`` and return the build inputs; raise
    :class:`UploadError` (or the reader's precise error) with one French sentence."""
    if not form.name or not slug(form.name):
        raise UploadError("Donnez un nom au territoire.")
    if not form.lst_files:
        raise UploadError("Il faut au moins un fichier de température de surface.")
    inputs = BuildInputs(name=form.name.strip(), lst=[])
    lst_dir = tmp / "lst"
    lst_dir.mkdir()
    saved = [save_upload(f, lst_dir, limits) for f in form.lst_files]
    tifs = [p for p in saved if p.suffix.lower() in (".tif", ".tiff")]
    for p in tifs:
        check_raster(p)
    # Landsat Collection 2 bands (ST_B10, QA_PIXEL, MTL…) are read together as one scene folder.
    inputs.lst = [str(lst_dir)] if any(p.name.upper().endswith("_ST_B10.TIF") for p in tifs) else [str(p) for p in tifs]
    if not inputs.lst:
        raise UploadError("Aucun raster de température parmi les fichiers déposés.")
    if form.lst_band:
        inputs.lst_bands = [form.lst_band.strip()]
    if form.bdtopo is not None:
        path = save_upload(form.bdtopo, tmp, limits)
        if path.suffix.lower() == ".zip":
            safe_extract_zip(path, tmp / "bdtopo", limits)
            root = find_bdtopo_root(tmp / "bdtopo")
            if root is None:
                raise UploadError("L'archive ne contient ni GeoPackage ni BATIMENT.shp : est-ce bien la BD TOPO ?")
            inputs.bdtopo = str(root)
        else:
            inputs.bdtopo = str(path)  # a GeoPackage is checked layer by layer by the BD TOPO reader
    if form.landcover is not None:
        p = save_upload(form.landcover, tmp, limits)
        check_raster(p)
        inputs.landcover = str(p)
    if form.blocks is not None:
        p = save_upload(form.blocks, tmp, limits)
        check_vector(p)
        inputs.blocks, inputs.blocks_id = str(p), (form.blocks_id or None)
    if form.population is not None:
        inputs.population = [str(save_upload(form.population, tmp, limits))]
    if inputs.bdtopo is None and inputs.blocks is None:
        raise UploadError("Fournissez la BD TOPO (pour découper les îlots par les rues) ou vos propres îlots.")
    return inputs
