"""Sentinel-3 SLSTR Level-2 land-surface temperature (``SL_2_LST``) granules: the night layer's source.

A granule is a ``.SEN3`` folder of NetCDF files, as ESA, Copernicus Data Space and Microsoft Planetary
Computer (collection ``sentinel-3-slstr-lst-l2-netcdf``, assets ``lst-in``, ``slstr-geodetic-in``,
``slstr-flags-in``) distribute it. Îlots reads three of them, through GDAL's netCDF driver (NetCDF-4 as
distributed, NetCDF-3 as the demo writes):

================== ================================================================================
file               variables read
================== ================================================================================
``LST_in.nc``      ``LST`` (K; ``scale_factor``/``add_offset``/``_FillValue`` applied), global
                   ``start_time``/``stop_time`` (UTC)
``geodetic_in.nc`` ``latitude_in``, ``longitude_in`` (degrees, WGS84; scaled integers)
``flags_in.nc``    optional: ``confidence_in`` (``day`` and ``summary_cloud`` bits, named by the file's
                   ``flag_meanings``), ``bayes_in`` (``single_moderate``: probable cloud)
================== ================================================================================

The data are a swath, not a grid: every pixel has its own latitude and longitude, about 1 km apart at
nadir. They are kept as points (pixel centres in the working CRS) and never resampled here; blocks take
the pixel that covers them (:mod:`ilots.night`).

SLSTR crosses France at about 10 h (descending, day) and 22 h (ascending, night) local solar time. Only
night granules are accepted: the pixels' local solar time (UTC + longitude / 15 h) must lie between 19 h
and 6 h, and a granule whose flags mark its pixels ``day`` is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
import warnings
from pathlib import Path

import numpy as np
from pyproj import Transformer

from ..errors import (
    AllPixelsMaskedError,
    EmptyFileError,
    InputFileError,
    MissingLayerError,
    NoOverlapError,
    UnreadableFileError,
)

__all__ = [
    "SLSTR_FILES",
    "SlstrScene",
    "read_slstr",
    "write_slstr_granule",
    "solar_hour",
    "is_night_hour",
    "NIGHT_HOURS",
]

SLSTR_FILES = {"lst": "LST_in.nc", "geodetic": "geodetic_in.nc", "flags": "flags_in.nc"}
# Local solar hours counted as night: SLSTR's night overpass over France is at about 22 h solar time.
NIGHT_HOURS = (19.0, 6.0)
# Plausible surface temperatures of a summer night in France (°C); outside them a pixel is an artefact.
PLAUSIBLE_C = (-15.0, 45.0)
# Bits of confidence_in / bayes_in when the file does not name them (SLSTR L2 product definition).
_DEFAULT_BITS = {"day": 1024, "summary_cloud": 16384, "single_moderate": 2}
_NAME = re.compile(r"S3[AB]_SL_2_LST_+(\d{8}T\d{6})")


@dataclasses.dataclass
class SlstrScene:
    """The clear pixels of one night granule over an area: centres ``x``, ``y`` (m, ``crs``) and ``lst_c``
    (°C, surface temperature, not air). ``start`` is the UTC time of the granule's first line."""

    scene_id: str
    start: dt.datetime
    platform: str
    x: np.ndarray
    y: np.ndarray
    lst_c: np.ndarray
    crs: str
    n_pixels: int  # pixels of the granule over the area, clear or not
    n_cloudy: int
    solar_hour: float  # local solar time of the pixels over the area (h)

    @property
    def clear_share(self) -> float:
        return len(self.lst_c) / self.n_pixels if self.n_pixels else 0.0

    def summary(self) -> dict:
        return {
            "scene_id": self.scene_id,
            "start": self.start.isoformat(),
            "platform": self.platform,
            "solar_hour": round(self.solar_hour, 2),
            "n_pixels": int(self.n_pixels),
            "n_clear": int(len(self.lst_c)),
            "n_cloudy": int(self.n_cloudy),
        }


def solar_hour(utc: dt.datetime, lon_deg: float) -> float:
    """Local mean solar time (h, 0–24) at longitude ``lon_deg`` for the UTC time ``utc``."""
    h = utc.hour + utc.minute / 60 + utc.second / 3600 + lon_deg / 15.0
    return h % 24.0


def is_night_hour(hour: float) -> bool:
    lo, hi = NIGHT_HOURS
    return hour >= lo or hour < hi


def _find(folder: Path, name: str) -> Path | None:
    hits = [p for p in folder.iterdir() if p.is_file() and p.name.lower() == name.lower()] if folder.is_dir() else []
    return hits[0] if hits else None


@contextlib.contextmanager
def _variable(path: Path, var: str):
    """One NetCDF variable opened with GDAL's longitude re-centring off: GDAL shifts values of a variable whose
    units are ``degrees_east`` by 360 when they exceed 180 *before* applying ``scale_factor``, so the scaled
    integers of ``longitude_in`` (micro-degrees) would each lose 360 µ° (≈ 26 m at 46° N)."""
    import rasterio

    with rasterio.Env(GDAL_NETCDF_CENTERLONG_180="NO"):
        src = _open_var(path, var)
        try:
            yield src
        finally:
            src.close()


def _open_var(path: Path, var: str):
    """A rasterio dataset on one NetCDF variable, with precise errors."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if path.stat().st_size == 0:
        raise EmptyFileError(f"Le fichier {path.name} est vide (0 octet) : téléchargez de nouveau la scène.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(f'netcdf:"{path}":{var}')
    except RasterioIOError as exc:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as src:
                    subs = src.subdatasets
        except RasterioIOError:
            raise UnreadableFileError(
                f"Le fichier {path.name} n'est pas un NetCDF lisible (fichier tronqué ou d'un autre format)."
            ) from exc
        if not any(s.endswith(f":{var}") for s in subs):
            raise MissingLayerError(
                f"Le fichier {path.name} ne contient pas la variable « {var} » : est-ce bien un produit "
                "Sentinel-3 SLSTR SL_2_LST ?"
            ) from exc
        raise UnreadableFileError(f"La variable « {var} » de {path.name} est illisible : {exc}") from exc


def _read_scaled(path: Path, var: str) -> tuple[np.ndarray, dict]:
    """``var`` as float64 with its scale and offset applied and fill values as NaN, and its attributes."""
    with _variable(path, var) as src:
        raw = src.read(1, masked=True)
        scale = src.scales[0] if src.scales and src.scales[0] not in (None, 0) else 1.0
        offset = src.offsets[0] if src.offsets and src.offsets[0] is not None else 0.0
        tags = src.tags()
        tags1 = src.tags(1)
    data = raw.astype("float64").filled(np.nan) * scale + offset
    return data, {**tags, **tags1}


def _read_int(path: Path, var: str) -> tuple[np.ndarray, dict]:
    with _variable(path, var) as src:
        data = src.read(1)
        tags = {**src.tags(), **src.tags(1)}
    return data.astype("int64"), tags


def _flag_bits(tags: dict, var: str) -> dict[str, int]:
    meanings = tags.get(f"{var}#flag_meanings") or tags.get("flag_meanings")
    masks = tags.get(f"{var}#flag_masks") or tags.get("flag_masks")
    if not meanings or not masks:
        return {}
    values = [int(v) for v in re.findall(r"-?\d+", str(masks))]
    names = str(meanings).split()
    return dict(zip(names, values, strict=False)) if len(values) == len(names) else {}


def _start_time(tags: dict, folder: Path) -> dt.datetime:
    for key in ("NC_GLOBAL#start_time", "start_time"):
        text = tags.get(key)
        if text:
            try:
                return dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00")).astimezone(dt.UTC)
            except ValueError:
                pass
    match = _NAME.search(folder.name)
    if match:
        return dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
    raise InputFileError(
        f"La date d'acquisition de la scène {folder.name} est introuvable (attribut start_time de LST_in.nc, "
        "ou nom de dossier S3A_SL_2_LST____AAAAMMJJTHHMMSS…)."
    )


def _platform(folder: Path, tags: dict) -> str:
    for text in (folder.name, str(tags.get("NC_GLOBAL#product_name", ""))):
        m = re.match(r"S3([AB])", text)
        if m:
            return f"Sentinel-3{m.group(1)}"
    return "Sentinel-3"


def read_slstr(
    folder: str | Path,
    bounds: tuple[float, float, float, float] | None = None,
    crs: str = "EPSG:2154",
    margin_m: float = 2000.0,
) -> SlstrScene:
    """The clear night pixels of the SLSTR granule in ``folder`` (a ``.SEN3`` folder, or any folder holding
    ``LST_in.nc`` and ``geodetic_in.nc``) within ``bounds`` (``crs``, widened by ``margin_m``).

    Raises :class:`MissingLayerError` when a file or variable is absent, :class:`UnreadableFileError` for a
    corrupt file, :class:`InputFileError` for a daytime granule, :class:`NoOverlapError` when no pixel falls
    in ``bounds`` and :class:`AllPixelsMaskedError` when every pixel there is cloudy or missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingLayerError(f"La scène Sentinel-3 {folder} est introuvable (un dossier .SEN3 est attendu).")
    paths = {k: _find(folder, v) for k, v in SLSTR_FILES.items()}
    for key in ("lst", "geodetic"):
        if paths[key] is None:
            raise MissingLayerError(
                f"La scène {folder.name} n'a pas de fichier {SLSTR_FILES[key]} : un produit Sentinel-3 SLSTR "
                "SL_2_LST complet est attendu (LST_in.nc et geodetic_in.nc au moins)."
            )
    lst_k, lst_tags = _read_scaled(paths["lst"], "LST")
    lat, _ = _read_scaled(paths["geodetic"], "latitude_in")
    lon, _ = _read_scaled(paths["geodetic"], "longitude_in")
    if lat.shape != lst_k.shape or lon.shape != lst_k.shape:
        raise UnreadableFileError(
            f"Les fichiers de la scène {folder.name} ne concordent pas : LST {lst_k.shape}, latitudes {lat.shape}."
        )
    start = _start_time(lst_tags, folder)
    units = str(lst_tags.get("LST#units", lst_tags.get("units", "K"))).strip().lower()
    if units not in ("k", "kelvin", "kelvins"):
        raise InputFileError(f"Les températures de {folder.name} sont en « {units} », des kelvins sont attendus.")
    located = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    x = np.full(lat.shape, np.nan)
    y = np.full(lat.shape, np.nan)
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x[located], y[located] = to_crs.transform(lon[located], lat[located])
    inside = located.copy()
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        inside &= (x >= x0 - margin_m) & (x <= x1 + margin_m) & (y >= y0 - margin_m) & (y <= y1 + margin_m)
    if not inside.any():
        raise NoOverlapError(f"La scène Sentinel-3 {folder.name} ne couvre pas le territoire.")
    hour = solar_hour(start, float(np.nanmedian(lon[inside])))
    clear = inside & np.isfinite(lst_k)
    cloudy = np.zeros(lst_k.shape, dtype=bool)
    if paths["flags"] is not None:
        conf, tags = _read_int(paths["flags"], "confidence_in")
        bits = {**_DEFAULT_BITS, **_flag_bits(tags, "confidence_in")}
        if conf.shape == lst_k.shape:
            if ((conf[inside] & bits["day"]) != 0).mean() > 0.5:
                raise InputFileError(
                    f"La scène {folder.name} est un passage de jour (drapeau « day ») : la couche de nuit "
                    "n'accepte que les passages de nuit (vers 22 h solaires)."
                )
            cloudy |= (conf & bits["summary_cloud"]) != 0
        try:
            bayes, btags = _read_int(paths["flags"], "bayes_in")
        except MissingLayerError:
            bayes = None
        if bayes is not None and bayes.shape == lst_k.shape:
            bit = {**_DEFAULT_BITS, **_flag_bits(btags, "bayes_in")}["single_moderate"]
            cloudy |= (bayes & bit) != 0
    if not is_night_hour(hour):
        raise InputFileError(
            f"La scène {folder.name} a été acquise à {hour:.1f} h solaires, de jour : la couche de nuit "
            "n'accepte que les passages de nuit (entre 19 h et 6 h solaires)."
        )
    lst_c = lst_k - 273.15
    plausible = (lst_c >= PLAUSIBLE_C[0]) & (lst_c <= PLAUSIBLE_C[1])
    keep = clear & ~cloudy & plausible
    n_pixels = int(inside.sum())
    if not keep.any():
        raise AllPixelsMaskedError(
            f"La scène Sentinel-3 du {start:%d/%m/%Y} est entièrement nuageuse ou vide sur le territoire "
            f"({n_pixels} pixels, aucun clair)."
        )
    return SlstrScene(
        scene_id=folder.name.removesuffix(".SEN3"),
        start=start,
        platform=_platform(folder, lst_tags),
        x=x[keep],
        y=y[keep],
        lst_c=lst_c[keep],
        crs=crs,
        n_pixels=n_pixels,
        n_cloudy=int((inside & cloudy).sum()),
        solar_hour=hour,
    )


def write_slstr_granule(
    folder: str | Path,
    lat: np.ndarray,
    lon: np.ndarray,
    lst_k: np.ndarray,
    start: dt.datetime,
    *,
    cloudy: np.ndarray | None = None,
    day: bool = False,
) -> Path:
    """Write a granule in the SL_2_LST layout (``LST_in.nc``, ``geodetic_in.nc``, ``flags_in.nc``; NetCDF-3,
    the product's variable names, types, scale factors and flag attributes) into ``folder``: the demo town's
    night layer and the tests' samples. ``lst_k`` NaN is written as the fill value."""
    from scipy.io import netcdf_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = lst_k.shape
    stop = start + dt.timedelta(minutes=3)
    common = {
        "start_time": start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "stop_time": stop.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "product_name": folder.name,
        "institution": "Ilots demo (synthetic, SL_2_LST layout)",
        "resolution": "[ 1000 1000 ]",
    }

    def open_nc(name: str):
        nc = netcdf_file(folder / name, "w", version=2)
        for k, v in common.items():
            setattr(nc, k, v)
        nc.createDimension("rows", rows)
        nc.createDimension("columns", cols)
        return nc

    nc = open_nc(SLSTR_FILES["lst"])
    var = nc.createVariable("LST", "i2", ("rows", "columns"))
    var._FillValue = np.int16(-32768)
    var.scale_factor = 0.002
    var.add_offset = 290.0
    var.units = "K"
    var.standard_name = "surface_temperature"
    var.long_name = "Gridded land surface temperature"
    packed = np.round((lst_k - 290.0) / 0.002)
    var[:] = np.where(np.isfinite(packed), np.clip(packed, -32767, 32767), -32768).astype("int16")
    nc.close()

    nc = open_nc(SLSTR_FILES["geodetic"])
    for name, values, units in (("latitude_in", lat, "degrees_north"), ("longitude_in", lon, "degrees_east")):
        var = nc.createVariable(name, "i4", ("rows", "columns"))
        var._FillValue = np.int32(-2147483648)
        var.scale_factor = 1e-06
        var.add_offset = 0.0
        var.units = units
        var[:] = np.round(values / 1e-06).astype("int32")
    nc.close()

    nc = open_nc(SLSTR_FILES["flags"])
    conf = nc.createVariable("confidence_in", "i2", ("rows", "columns"))
    names = "coastline ocean tidal land inland_water unfilled spare spare cosmetic duplicate day twilight sun_glint"
    conf.flag_meanings = names + " snow summary_cloud summary_pointing"
    conf.flag_masks = np.array([1 << i for i in range(15)] + [-32768], dtype="int16")
    flags = np.full(lst_k.shape, 8, dtype="int64")  # land
    if day:
        flags |= 1024
    if cloudy is not None:
        flags |= np.where(cloudy, 16384, 0)
    conf[:] = flags.astype("uint16").view("int16")
    bayes = nc.createVariable("bayes_in", "b", ("rows", "columns"))
    bayes.flag_meanings = "single_low single_moderate dual_low dual_moderate spare spare spare spare"
    bayes.flag_masks = np.array([1, 2, 4, 8, 16, 32, 64, -128], dtype="int8")
    bayes[:] = (np.where(cloudy, 2, 0) if cloudy is not None else np.zeros(lst_k.shape)).astype("int8")
    nc.close()
    return folder
