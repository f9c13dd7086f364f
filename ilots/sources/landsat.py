"""Landsat 8/9 Collection 2 Level-2 scenes as USGS delivers them.

A scene is a folder of band GeoTIFFs, a list of those files, or the ``.tar`` archive USGS ships
(read in place through GDAL's ``/vsitar/``). Bands used:

- ``*_ST_B10.TIF`` surface temperature, uint16 DN: K = DN × 0.00341802 + 149.0; DN 0 is fill.
- ``*_QA_PIXEL.TIF``: pixels with any of bits 0–4 set (fill, dilated cloud, cirrus, cloud,
  cloud shadow) are dropped (USGS Landsat 8-9 C2 L2 Science Product Guide; docs/science.md 3.1).
- ``*_SR_B4.TIF`` / ``*_SR_B5.TIF`` (optional): reflectance = DN × 0.0000275 − 0.2, for NDVI.
- ``*_MTL.json`` / ``*_MTL.txt`` / ``*_MTL.xml``: product id, acquisition date and time, scale
  factors. Keys repeat across groups (Level-1 and Level-2 reflectance factors share names), so
  values are always looked up by group; MTL.json stores every value as a string.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from pyproj import CRS
from rasterio.enums import Resampling

from ..errors import AllPixelsMaskedError, AmbiguousInputError, InputFileError, MissingLayerError, UnreadableFileError
from .rasters import ST_ADD, ST_MULT, LstLayer, check_plausible, open_raster, read_window, to_working_grid

__all__ = [
    "QA_MASK_BITS",
    "SR_MULT",
    "SR_ADD",
    "Mtl",
    "LandsatScene",
    "parse_mtl",
    "find_scene",
    "find_scenes",
    "is_landsat_source",
    "qa_clear",
    "st_to_celsius",
    "sr_to_reflectance",
    "read_scene",
]

QA_MASK_BITS = 0b11111  # bits 0-4: fill, dilated cloud, cirrus, cloud, cloud shadow
SR_MULT = 0.0000275
SR_ADD = -0.2

_BANDS = {
    "st_b10": "_ST_B10.TIF",
    "qa_pixel": "_QA_PIXEL.TIF",
    "sr_b4": "_SR_B4.TIF",
    "sr_b5": "_SR_B5.TIF",
}
_PRODUCT_RE = re.compile(r"L[COTEM]0[4-9]_L2S[PR]_(\d{3})(\d{3})_(\d{8})_\d{8}_\d{2}_(T1|T2|RT)", re.I)


class Mtl:
    """A parsed MTL file: nested ``{group: {key: value}}``, values as strings."""

    def __init__(self, groups: dict[str, dict[str, str]]):
        self.groups = groups

    def get(self, group: str, key: str, default: str | None = None) -> str | None:
        return self.groups.get(group, {}).get(key, default)

    def get_float(self, group: str, key: str, default: float | None = None) -> float | None:
        value = self.get(group, key)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except ValueError as exc:
            raise UnreadableFileError(f"Valeur non numérique dans le MTL : {group}.{key} = {value!r}") from exc

    def __len__(self) -> int:
        return sum(len(v) for v in self.groups.values())


def _parse_mtl_txt(text: str) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}
    stack: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "END":
            continue
        if "=" not in line:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        if key == "GROUP":
            stack.append(value)
            groups.setdefault(value, {})
        elif key == "END_GROUP":
            if stack and stack[-1] == value:
                stack.pop()
        elif stack:
            groups[stack[-1]][key] = value.strip('"')
    return groups


def _parse_mtl_json(text: str) -> dict[str, dict[str, str]]:
    data = json.loads(text)
    root = data.get("LANDSAT_METADATA_FILE", data)
    return {g: {k: str(v) for k, v in body.items()} for g, body in root.items() if isinstance(body, dict)}


def _parse_mtl_xml(text: str) -> dict[str, dict[str, str]]:
    root = ET.fromstring(text)
    return {group.tag: {el.tag: (el.text or "").strip() for el in group} for group in root}


def parse_mtl(text: str, name: str = "MTL") -> Mtl:
    """Parse MTL text in the ODL (``.txt``), JSON or XML flavour, detected from its content."""
    stripped = text.lstrip()
    try:
        if stripped.startswith("{"):
            groups = _parse_mtl_json(stripped)
        elif stripped.startswith("<"):
            groups = _parse_mtl_xml(stripped)
        else:
            groups = _parse_mtl_txt(text)
    except (json.JSONDecodeError, ET.ParseError) as exc:
        raise UnreadableFileError(
            f"Fichier de métadonnées Landsat illisible ({name}) : contenu tronqué ou mal formé."
        ) from exc
    if not groups:
        raise UnreadableFileError(f"{name} n'est pas un fichier de métadonnées Landsat (MTL).")
    return Mtl(groups)


@dataclass
class LandsatScene:
    """The files of one Landsat C2 L2 scene (paths may be GDAL ``/vsitar/`` paths)."""

    st_b10: str
    qa_pixel: str | None = None
    sr_b4: str | None = None
    sr_b5: str | None = None
    mtl: Mtl | None = None
    mtl_path: str | None = None
    files: tuple[str, ...] = ()

    @property
    def product_id(self) -> str:
        if self.mtl is not None:
            pid = self.mtl.get("PRODUCT_CONTENTS", "LANDSAT_PRODUCT_ID")
            if pid:
                return pid
        return Path(self.st_b10).name.rsplit("_ST_B10", 1)[0]

    @property
    def date(self) -> dt.date | None:
        if self.mtl is not None:
            value = self.mtl.get("IMAGE_ATTRIBUTES", "DATE_ACQUIRED")
            if value:
                return dt.date.fromisoformat(value)
        m = _PRODUCT_RE.search(self.product_id)
        return dt.datetime.strptime(m.group(3), "%Y%m%d").date() if m else None

    @property
    def time_utc(self) -> str | None:
        if self.mtl is None:
            return None
        value = self.mtl.get("IMAGE_ATTRIBUTES", "SCENE_CENTER_TIME")
        return value[:8] if value else None

    @property
    def cloud_cover(self) -> float | None:
        return None if self.mtl is None else self.mtl.get_float("IMAGE_ATTRIBUTES", "CLOUD_COVER")

    @property
    def spacecraft(self) -> str | None:
        return None if self.mtl is None else self.mtl.get("IMAGE_ATTRIBUTES", "SPACECRAFT_ID")

    def st_scale(self) -> tuple[float, float]:
        """(mult, add) of ST_B10, from the Level-2 group of the MTL, else the C2 constants."""
        if self.mtl is None:
            return ST_MULT, ST_ADD
        g = "LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"
        return (
            self.mtl.get_float(g, "TEMPERATURE_MULT_BAND_ST_B10", ST_MULT),
            self.mtl.get_float(g, "TEMPERATURE_ADD_BAND_ST_B10", ST_ADD),
        )

    def sr_scale(self, band: int) -> tuple[float, float]:
        """(mult, add) of SR band ``band`` from the Level-2 group (never the Level-1 one)."""
        if self.mtl is None:
            return SR_MULT, SR_ADD
        g = "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"
        return (
            self.mtl.get_float(g, f"REFLECTANCE_MULT_BAND_{band}", SR_MULT),
            self.mtl.get_float(g, f"REFLECTANCE_ADD_BAND_{band}", SR_ADD),
        )


def _match_band(names: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in names:
        upper = name.upper()
        for key, suffix in _BANDS.items():
            if upper.endswith(suffix):
                found[key] = name
    mtls = [n for n in names if re.search(r"_MTL\.(json|txt|xml)$", n, re.I)]
    # Prefer JSON, then TXT, then XML: all three carry the same values.
    for ext in ("json", "txt", "xml"):
        for n in mtls:
            if n.lower().endswith(ext):
                found.setdefault("mtl", n)
    return found


def is_landsat_source(source: str | Path | list) -> bool:
    """Whether ``source`` looks like a Landsat C2 L2 scene (folder, tar, band list or ST_B10 file)."""
    if isinstance(source, (list, tuple)):
        return any(str(s).upper().endswith("_ST_B10.TIF") for s in source)
    p = Path(source)
    if p.is_dir():
        return True  # a folder given as temperature source can only be a scene folder
    name = p.name.lower()
    return name.endswith((".tar", ".tar.gz", ".tgz")) or name.upper().endswith("_ST_B10.TIF")


def _product_key(name: str) -> str:
    base = Path(name).name
    m = _PRODUCT_RE.search(base)
    if m:
        return m.group(0).upper()
    upper = base.upper()
    for suffix in list(_BANDS.values()) + ["_MTL.JSON", "_MTL.TXT", "_MTL.XML"]:
        if upper.endswith(suffix):
            return upper[: -len(suffix)]
    return upper.rsplit("_", 1)[0]


def find_scenes(source: str | Path | list) -> list[LandsatScene]:
    """Every scene in a folder, a tar archive or a list of files (grouped by product id).

    A single ``*_ST_B10.TIF`` path is accepted too: its sibling files are looked up beside it.
    """
    reader = lambda n: Path(n).read_text(encoding="utf-8")  # noqa: E731
    if isinstance(source, (list, tuple)):
        names = [str(Path(s)) for s in source]
    else:
        p = Path(source)
        if not p.exists():
            raise UnreadableFileError(f"Scène Landsat introuvable : {p}")
        if p.is_dir():
            names = sorted(str(f) for f in p.iterdir() if f.is_file())
        elif p.name.lower().endswith((".tar", ".tar.gz", ".tgz")):
            try:
                with tarfile.open(p) as tar:
                    members = [m.name for m in tar.getmembers() if m.isfile()]
            except (tarfile.TarError, OSError) as exc:
                raise UnreadableFileError(f"Archive Landsat illisible ({p.name}) : {exc}") from exc
            prefix = f"/vsitar/{p.resolve()}/"

            def reader(name: str) -> str:
                with tarfile.open(p) as tar:
                    return tar.extractfile(name[len(prefix) :]).read().decode("utf-8")

            names = [prefix + m for m in members]
        elif p.name.upper().endswith("_ST_B10.TIF"):
            key = _product_key(p.name)
            names = sorted(str(f) for f in p.parent.iterdir() if f.is_file() and _product_key(f.name) == key)
        else:
            raise InputFileError(
                f"{p.name} n'est ni un dossier de scène Landsat, ni une archive .tar, ni une bande ST_B10."
            )
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(_product_key(name), []).append(name)
    scenes = [
        _scene_from_names(g, reader) for g in groups.values() if any(n.upper().endswith("_ST_B10.TIF") for n in g)
    ]
    if not scenes:
        raise MissingLayerError(
            "Bande de température de surface introuvable : aucun fichier *_ST_B10.TIF dans la scène "
            "(il faut un produit Landsat Collection 2 niveau 2, « L2SP »)."
        )
    return sorted(scenes, key=lambda s: (s.date or dt.date.min, s.product_id))


def find_scene(source: str | Path | list) -> LandsatScene:
    """The one scene in ``source``; :class:`AmbiguousInputError` if it holds several."""
    scenes = find_scenes(source)
    if len(scenes) > 1:
        ids = ", ".join(s.product_id for s in scenes)
        raise AmbiguousInputError(f"{len(scenes)} scènes Landsat trouvées ({ids}) : indiquez-en une seule.")
    return scenes[0]


def _scene_from_names(names: list[str], reader) -> LandsatScene:
    found = _match_band(names)
    if "st_b10" not in found:
        raise MissingLayerError(
            "Bande de température de surface introuvable : aucun fichier *_ST_B10.TIF dans la scène "
            "(il faut un produit Landsat Collection 2 niveau 2, « L2SP »)."
        )
    mtl = None
    if "mtl" in found:
        mtl = parse_mtl(reader(found["mtl"]), Path(found["mtl"]).name)
    used = tuple(found[k] for k in ("st_b10", "qa_pixel", "sr_b4", "sr_b5", "mtl") if k in found)
    return LandsatScene(
        st_b10=found["st_b10"],
        qa_pixel=found.get("qa_pixel"),
        sr_b4=found.get("sr_b4"),
        sr_b5=found.get("sr_b5"),
        mtl=mtl,
        mtl_path=found.get("mtl"),
        files=used,
    )


def qa_clear(qa: np.ndarray) -> np.ndarray:
    """True where QA_PIXEL has none of bits 0–4 set (no fill, dilated cloud, cirrus, cloud, shadow)."""
    return (qa.astype("uint16") & QA_MASK_BITS) == 0


def st_to_celsius(dn: np.ndarray, mult: float = ST_MULT, add: float = ST_ADD) -> np.ndarray:
    """ST_B10 digital numbers to °C; DN 0 (fill) becomes NaN."""
    out = dn.astype("float64") * mult + add - 273.15
    out[dn == 0] = np.nan
    return out.astype("float32")


def sr_to_reflectance(dn: np.ndarray, mult: float = SR_MULT, add: float = SR_ADD) -> np.ndarray:
    """SR digital numbers to surface reflectance (unitless); DN 0 (fill) becomes NaN."""
    out = dn.astype("float64") * mult + add
    out[dn == 0] = np.nan
    return out.astype("float32")


def read_scene(
    scene: LandsatScene,
    dst_crs: CRS | int | str,
    bounds: tuple[float, float, float, float] | None = None,
    with_ndvi: bool = True,
) -> tuple[LstLayer, xr.DataArray | None]:
    """Read a scene's masked surface temperature (°C) and, if SR bands exist, its NDVI.

    Only the window covering ``bounds`` (in ``dst_crs``) is read. Masks are taken per band:
    ST fill (DN 0), QA bits 0–4, SR fill. Raises :class:`AllPixelsMaskedError` when no clear
    pixel remains in the window (a fully clouded scene).
    """
    with open_raster(scene.st_b10) as ds:
        st, transform = read_window(ds, 1, bounds, dst_crs)
        src_crs = ds.crs
    mult, add = scene.st_scale()
    lst = st_to_celsius(st, mult, add)
    clear = np.isfinite(lst)
    if scene.qa_pixel is not None:
        with open_raster(scene.qa_pixel) as ds:
            qa, _ = read_window(ds, 1, bounds, dst_crs)
        if qa.shape != st.shape:
            raise UnreadableFileError("Les bandes ST_B10 et QA_PIXEL n'ont pas la même taille.")
        clear &= qa_clear(qa)
    lst[~clear] = np.nan
    check_plausible(lst, Path(scene.st_b10).name, f"facteurs d'échelle {mult:g} et {add:g} du MTL")
    n_clear = int(clear.sum())
    if n_clear == 0:
        raise AllPixelsMaskedError(
            f"Scène {scene.product_id} : tous les pixels de la zone sont masqués "
            "(nuages, ombres de nuages, cirrus ou remplissage). Choisissez une autre date."
        )
    data = to_working_grid(lst, transform, src_crs, dst_crs, Resampling.bilinear, np.nan, bounds)
    data.name = "lst_c"
    layer = LstLayer(
        data=data,
        date=scene.date,
        source={
            "kind": "landsat_c2l2",
            "product_id": scene.product_id,
            "spacecraft": scene.spacecraft,
            "time_utc": scene.time_utc,
            "scene_cloud_cover_pct": scene.cloud_cover,
            "clear_fraction_in_window": round(n_clear / clear.size, 4),
            "files": list(scene.files),
        },
    )
    ndvi = None
    if with_ndvi and scene.sr_b4 and scene.sr_b5:
        bands = []
        for path, number in ((scene.sr_b4, 4), (scene.sr_b5, 5)):
            with open_raster(path) as ds:
                dn, _ = read_window(ds, 1, bounds, dst_crs)
            bands.append(sr_to_reflectance(dn, *scene.sr_scale(number)))
        red, nir = bands
        with np.errstate(invalid="ignore", divide="ignore"):
            ndvi_arr = (nir - red) / (nir + red)
        ndvi_arr[~clear | ~np.isfinite(ndvi_arr)] = np.nan
        ndvi_arr = np.clip(ndvi_arr, -1.0, 1.0).astype("float32")
        ndvi = to_working_grid(ndvi_arr, transform, src_crs, dst_crs, Resampling.bilinear, np.nan, bounds)
        ndvi.name = "ndvi"
    return layer, ndvi
