"""Reading rasters into the working CRS: ready LST GeoTIFFs, land cover, NDVI; date composites.

Temperatures are resampled bilinearly and class rasters by nearest neighbour, each at (about) its
native resolution. Missing values are NaN in float rasters and 0 in class rasters.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
import rasterio.windows
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.warp import transform_bounds

from ..errors import (
    AllPixelsMaskedError,
    AmbiguousInputError,
    BandCountError,
    ClassRasterError,
    EmptyFileError,
    ImplausibleValuesError,
    MissingCRSError,
    NoOverlapError,
    RotatedRasterError,
    TooLargeError,
    UnreadableFileError,
)
from ..fr import num, temp

__all__ = [
    "LstLayer",
    "KELVIN_THRESHOLD",
    "ST_MULT",
    "ST_ADD",
    "open_raster",
    "raster_bounds",
    "read_window",
    "to_working_grid",
    "read_lst_geotiff",
    "pick_temperature_band",
    "check_plausible",
    "to_celsius",
    "read_class_raster",
    "read_continuous_raster",
    "composite",
    "composite_dates",
    "DateComposite",
    "date_from_name",
]

# Landsat Collection 2 Level-2 surface temperature scale factors (USGS; see docs/science.md 3.1).
ST_MULT = 0.00341802
ST_ADD = 149.0
# A valid median above this is taken as Kelvin (no city has a surface at 200 °C, none at -73 °C).
KELVIN_THRESHOLD = 200.0
# Physically implausible surface temperatures (°C) are masked: the C2 product floor is 150 K.
PLAUSIBLE_C = (-90.0, 90.0)
# A valid median in this range is neither a plausible °C nor a plausible Kelvin surface temperature.
AMBIGUOUS_MEDIAN = (75.0, KELVIN_THRESHOLD)
# Largest window read at once (pixels): 150 million float32 pixels is 600 MB.
MAX_PIXELS = 150_000_000
# After unit handling, a territory's median surface temperature outside this range (°C) means a wrong
# unit, scale or band, not a real city: refused (summer LST of French cities is about 20–55 °C).
PLAUSIBLE_MEDIAN_C = (-30.0, 70.0)
# An undeclared fill value: this share (or more) of valid pixels exactly 0 while the rest are far from 0.
ZERO_FILL_SHARE = 0.005
# A class raster (land cover…) has few distinct integer values; an LST has hundreds.
CLASS_MAX_DISTINCT = 16
CLASS_MIN_PIXELS = 50
# A band description naming the temperature (Google Earth Engine exports: ST_B10, LST, LST_Day_1km…).
_TEMPERATURE_BAND = re.compile(r"(^|[^a-z])(st_b10|st_b6|b10|lst|temp|temperature|surface.?temp|thermal)", re.I)
_UNITS = {
    "degc": "celsius",
    "deg_c": "celsius",
    "celsius": "celsius",
    "°c": "celsius",
    "c": "celsius",
    "degree_celsius": "celsius",
    "degrees_celsius": "celsius",
    "k": "kelvin",
    "kelvin": "kelvin",
    "degk": "kelvin",
    "deg_k": "kelvin",
    "kelvins": "kelvin",
}


@dataclass
class LstLayer:
    """One land-surface-temperature raster in °C, in the working CRS, with its provenance."""

    data: xr.DataArray
    date: dt.date | None
    source: dict = field(default_factory=dict)


def open_raster(path: str | Path) -> rasterio.DatasetReader:
    """Open a raster with precise errors for empty, unreadable and CRS-less files."""
    spath = str(path)
    if not spath.startswith("/vsi"):
        p = Path(spath)
        if not p.exists():
            raise UnreadableFileError(f"Fichier introuvable : {p}")
        if p.is_file() and p.stat().st_size == 0:
            raise EmptyFileError(f"Le fichier {p.name} est vide (0 octet).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            ds = rasterio.open(spath)
    except rasterio.errors.RasterioIOError as exc:
        raise UnreadableFileError(
            f"{Path(spath).name} n'est pas un raster lisible (GeoTIFF attendu) : fichier corrompu, ou d'un autre "
            "format."
        ) from exc
    if ds.count < 1:
        ds.close()
        raise EmptyFileError(f"Le raster {Path(spath).name} n'a aucune bande.")
    t = ds.transform
    if t.b != 0 or t.d != 0:
        ds.close()
        raise RotatedRasterError(
            f"Le raster {Path(spath).name} est tourné (géoréférencement avec rotation) : redressez-le d'abord, "
            "par exemple avec « gdalwarp -t_srs EPSG:2154 entrée.tif sortie.tif »."
        )
    if ds.crs is None:
        ds.close()
        raise MissingCRSError(
            f"Le raster {Path(spath).name} n'a pas de système de coordonnées (CRS) : "
            "impossible de le placer sur la carte."
        )
    return ds


def _single_band(ds, path: Path, what: str) -> None:
    if ds.count != 1:
        raise BandCountError(
            f"{path.name} a {ds.count} bandes : un raster de {what} n'en a qu'une (une image en couleurs ne convient "
            "pas)."
        )


def raster_bounds(path: str | Path, dst_crs: CRS | int | str) -> tuple[float, float, float, float]:
    """Bounds of a raster file, transformed to ``dst_crs``."""
    with open_raster(path) as ds:
        return tuple(transform_bounds(ds.crs, CRS.from_user_input(dst_crs), *ds.bounds, densify_pts=21))


def read_window(
    ds: rasterio.DatasetReader,
    band: int = 1,
    bounds: tuple[float, float, float, float] | None = None,
    bounds_crs: CRS | int | str | None = None,
    margin_px: int = 3,
) -> tuple[np.ndarray, rasterio.Affine]:
    """Read one band, restricted to ``bounds`` (given in ``bounds_crs``) plus a margin.

    Returns the raw array and its affine transform. Raises :class:`NoOverlapError` when the
    bounds do not intersect the raster.
    """
    if bounds is None:
        window = rasterio.windows.Window(0, 0, ds.width, ds.height)
    else:
        src_bounds = transform_bounds(CRS.from_user_input(bounds_crs), ds.crs, *bounds, densify_pts=21)
        window = rasterio.windows.from_bounds(*src_bounds, transform=ds.transform)
        window = rasterio.windows.Window(
            int(np.floor(window.col_off)) - margin_px,
            int(np.floor(window.row_off)) - margin_px,
            int(np.ceil(window.width)) + 2 * margin_px + 1,
            int(np.ceil(window.height)) + 2 * margin_px + 1,
        )
        full = rasterio.windows.Window(0, 0, ds.width, ds.height)
        try:
            window = window.intersection(full)
        except rasterio.errors.WindowError:
            window = None
        if window is None or window.width < 1 or window.height < 1:
            raise NoOverlapError(f"Le raster {Path(ds.name).name} ne recouvre pas la zone d'étude.")
    if window.width * window.height > MAX_PIXELS:
        raise TooLargeError(
            f"Le raster {Path(ds.name).name} compte {window.width * window.height / 1e6:.0f} millions de pixels sur la "
            "zone d'étude : limitez la zone (--area ou --bbox) ou découpez le raster."
        )
    try:
        arr = ds.read(band, window=window)
    except rasterio.errors.RasterioIOError as exc:
        raise UnreadableFileError(
            f"Lecture impossible de {Path(ds.name).name} : le fichier semble tronqué ou corrompu."
        ) from exc
    return arr, ds.window_transform(window)


def _as_dataarray(arr: np.ndarray, transform, crs, nodata) -> xr.DataArray:
    height, width = arr.shape
    xs = transform.c + transform.a * (np.arange(width) + 0.5)
    ys = transform.f + transform.e * (np.arange(height) + 0.5)
    da = xr.DataArray(arr, dims=("y", "x"), coords={"y": ys, "x": xs})
    da = da.rio.write_crs(crs).rio.write_transform(transform)
    return da.rio.write_nodata(nodata, encoded=False)


def to_working_grid(
    arr: np.ndarray,
    transform,
    src_crs,
    dst_crs: CRS | int | str,
    resampling: Resampling,
    nodata,
    bounds: tuple[float, float, float, float] | None = None,
    resolution: float | None = None,
) -> xr.DataArray:
    """Reproject an array to ``dst_crs`` at (about) its native resolution, clipped to ``bounds``.

    Float arrays use NaN for missing values; integer (class) arrays use ``nodata``.
    """
    da = _as_dataarray(arr, transform, src_crs, nodata)
    dst = CRS.from_user_input(dst_crs)
    kwargs = {"resampling": resampling, "nodata": nodata}
    if resolution is not None:
        kwargs["resolution"] = resolution
    out = da if CRS.from_user_input(src_crs) == dst and resolution is None else da.rio.reproject(dst, **kwargs)
    if bounds is not None:
        res = abs(out.rio.resolution()[0])
        xmin, ymin, xmax, ymax = bounds
        try:
            out = out.rio.clip_box(xmin - 2 * res, ymin - 2 * res, xmax + 2 * res, ymax + 2 * res)
        except Exception as exc:  # rioxarray raises its own NoDataInBounds / OneDimensionalRaster
            raise NoOverlapError("Le raster ne recouvre pas la zone d'étude.") from exc
    return out


def clip_box(da: xr.DataArray, box: tuple[float, float, float, float]) -> xr.DataArray:
    """``da`` cut to ``box`` (minx, miny, maxx, maxy, in its CRS) on the same pixel grid: the pixels, coordinates
    and transform of rioxarray's ``clip_box``, as a view rather than a copy, with the transform worked out twice
    instead of about ten times (each costs milliseconds through xarray's indexing: a tiled build cuts its rasters
    for every tile). Edge cases (a cut of one pixel or none, a rotated grid) go to rioxarray, which handles them."""
    t = da.rio.transform(recalc=True)
    if da.ndim != 2 or da.rio.x_dim != "x" or da.rio.y_dim != "y" or t.b or t.d or t.e > 0:
        return da.rio.clip_box(*box)
    window = rasterio.windows.from_bounds(*box, transform=t)
    (r0, r1), (c0, c1) = window.toranges()
    rows = slice(max(math.floor(r0), 0), max(math.ceil(r1), 0))
    cols = slice(max(math.floor(c0), 0), max(math.ceil(c1), 0))
    height, width = len(range(*rows.indices(da.shape[0]))), len(range(*cols.indices(da.shape[1])))
    if height <= 1 or width <= 1:
        return da.rio.clip_box(*box)
    sub = da.isel(y=rows, x=cols).copy(deep=False)  # new coordinate variables and attributes; the pixels shared
    sub.rio.write_transform(sub.rio.transform(recalc=True), inplace=True)
    sub.encoding = dict(da.encoding)
    return sub


def date_from_name(name: str) -> dt.date | None:
    """Acquisition date from a file name: ``2022-07-14`` or a Landsat id ``..._20220714_...``."""
    m = re.search(r"(19|20)(\d{2})-(\d{2})-(\d{2})", name)
    if m:
        y, mo, d = int(m.group(1) + m.group(2)), int(m.group(3)), int(m.group(4))
    else:
        m = re.search(r"(?:^|[_\-])((?:19|20)\d{2})(\d{2})(\d{2})(?:[_\-.]|$)", name)
        if not m:
            return None
        y, mo, d = (int(g) for g in m.groups())
    try:
        return dt.date(y, mo, d)
    except ValueError:
        return None


def to_celsius(values: np.ndarray) -> tuple[np.ndarray, str]:
    """Convert valid temperatures to °C, detecting the unit from the valid median.

    ``values`` is float with NaN for missing. Returns (°C array, detected unit among
    "kelvin", "celsius", "landsat_dn"). Implausible values are set to NaN.
    """
    valid = values[np.isfinite(values)]
    if valid.size == 0:
        raise AllPixelsMaskedError("Aucun pixel de température valide.")
    median = float(np.median(valid))
    if AMBIGUOUS_MEDIAN[0] < median <= AMBIGUOUS_MEDIAN[1]:
        raise AmbiguousInputError(
            f"Unité de température introuvable : la valeur médiane ({median:.1f}) n'est plausible ni en °C ni en "
            "kelvins. Fournissez la température de surface en °C ou en K."
        )
    if median > 1000.0:  # raw Landsat C2 ST_B10 digital numbers
        out, unit = values * ST_MULT + ST_ADD - 273.15, "landsat_dn"
    elif median > KELVIN_THRESHOLD:
        out, unit = values - 273.15, "kelvin"
    else:
        out, unit = values.copy(), "celsius"
    lo, hi = PLAUSIBLE_C
    out = np.where((out < lo) | (out > hi), np.nan, out)
    if not np.isfinite(out).any():
        raise AllPixelsMaskedError("Aucune température de surface plausible (entre −90 et 90 °C) dans le raster.")
    return out.astype("float32"), unit


def pick_temperature_band(ds, path: Path, band: int | str | None = None) -> int:
    """The 1-based band holding the temperature: ``band`` if given (number or description), the only
    band, or the one band whose description names the temperature (``ST_B10``, ``LST``…)."""
    descriptions = [d or "" for d in ds.descriptions]
    listed = ", ".join(f"{i + 1} « {d} »" if d else str(i + 1) for i, d in enumerate(descriptions))
    how = (
        "indiquez la bande de température (--lst-band N ou son nom sur la ligne de commande, champ « Bande de "
        "température » sur la page)"
    )
    if band is not None and str(band).strip():
        text = str(band).strip()
        if text.isdigit():
            if not 1 <= int(text) <= ds.count:
                raise BandCountError(f"{path.name} a {ds.count} bande(s) : la bande {text} n'existe pas ({listed}).")
            return int(text)
        for i, d in enumerate(descriptions):
            if d.lower() == text.lower():
                return i + 1
        raise BandCountError(f"{path.name} n'a pas de bande « {text} » (bandes : {listed}).")
    if ds.count == 1:
        return 1
    named = [i + 1 for i, d in enumerate(descriptions) if _TEMPERATURE_BAND.search(d) and "qa" not in d.lower()]
    if len(named) == 1:
        return named[0]
    raise BandCountError(
        f"{path.name} a {ds.count} bandes ({listed}) et aucune n'est décrite seule comme la température : {how}."
    )


def _declared_unit(ds, band: int) -> str | None:
    """ "celsius" or "kelvin" when the raster says so (GDAL unit type, or a ``units`` tag)."""
    tags = {**ds.tags(), **ds.tags(band)}
    candidates = [ds.units[band - 1] if ds.units else None] + [tags.get(k) for k in ("units", "unit", "UNITS", "UNIT")]
    for c in candidates:
        key = str(c or "").strip().lower().replace(" ", "")
        if key in _UNITS:
            return _UNITS[key]
    return None


def _declared_scale(ds, band: int) -> tuple[float, float]:
    """(scale, offset) from GDAL's band metadata, else netCDF-style ``scale_factor``/``add_offset`` tags."""
    scale = ds.scales[band - 1] if ds.scales else 1.0
    offset = ds.offsets[band - 1] if ds.offsets else 0.0
    if scale == 1.0 and offset == 0.0:
        tags = {**ds.tags(), **ds.tags(band)}
        try:
            scale = float(tags.get("scale_factor", 1.0))
            offset = float(tags.get("add_offset", 0.0))
        except ValueError:
            scale, offset = 1.0, 0.0
    return float(scale), float(offset)


def check_plausible(celsius: np.ndarray, name: str, how: str) -> None:
    """Refuse (:class:`ImplausibleValuesError`) LST whose valid median lies outside :data:`PLAUSIBLE_MEDIAN_C`."""
    valid = celsius[np.isfinite(celsius)]
    if valid.size == 0:
        return
    median = float(np.median(valid))
    lo, hi = PLAUSIBLE_MEDIAN_C
    if not lo <= median <= hi:
        raise ImplausibleValuesError(
            f"{name} : température médiane de {temp(median)} ({how}), hors de la plage plausible {temp(lo, 0)} à "
            f"{temp(hi, 0)} pour une surface urbaine : vérifiez l'unité, l'échelle (scale/offset) ou la bande du "
            "raster."
        )


def _looks_like_classes(values: np.ndarray) -> np.ndarray | None:
    """The distinct values if ``values`` (valid only) look like a class raster, else None."""
    if values.size < CLASS_MIN_PIXELS or not np.all(values == np.round(values)):
        return None
    distinct = np.unique(values)
    return distinct if 2 <= distinct.size <= CLASS_MAX_DISTINCT else None


def read_lst_geotiff(
    path: str | Path,
    dst_crs: CRS | int | str,
    bounds: tuple[float, float, float, float] | None = None,
    bounds_crs: CRS | int | str | None = None,
    band: int | str | None = None,
) -> LstLayer:
    """Read a ready land-surface-temperature GeoTIFF into °C in ``dst_crs``.

    The band is picked by :func:`pick_temperature_band`. The declared nodata, non-finite values and
    the value 149.0 (what a Landsat fill DN of 0 becomes once scaled to Kelvin) are missing; so are
    exact zeros when they are a large share of an otherwise non-zero raster (an undeclared fill,
    noted in ``source["notes"]``). The raster's scale and offset are applied, then its declared unit
    (°C or K) is used, else the unit is detected from the valid median (Kelvin above 200). Class
    rasters and medians outside :data:`PLAUSIBLE_MEDIAN_C` are refused. ``bounds`` (in
    ``bounds_crs``, default ``dst_crs``) restrict the read.
    """
    path = Path(path)
    notes: list[str] = []
    with open_raster(path) as ds:
        b = pick_temperature_band(ds, path, band)
        arr, transform = read_window(ds, b, bounds, bounds_crs or dst_crs)
        src_crs, nodata = ds.crs, ds.nodatavals[b - 1]
        tags = ds.tags()
        scale, offset = _declared_scale(ds, b)
        declared = _declared_unit(ds, b)
        description = ds.descriptions[b - 1]
    values = arr.astype("float64")
    missing = ~np.isfinite(values)
    if nodata is not None and np.isfinite(nodata):
        missing |= values == nodata
    if np.issubdtype(arr.dtype, np.integer):
        missing |= arr == 0  # a zero DN or zero Kelvin is a fill value, never a temperature
    else:
        zeros = (values == 0.0) & ~missing
        n_valid, n_zero = int((~missing).sum()), int(zeros.sum())
        rest = values[~missing & ~zeros]
        if n_zero and n_zero >= ZERO_FILL_SHARE * n_valid and rest.size and abs(np.median(rest)) >= 5.0:
            missing |= zeros
            notes.append(
                f"{path.name} : {n_zero} pixels valant exactement 0 ({100 * n_zero / n_valid:.0f} % des "
                "pixels) traités comme valeur de remplissage non déclarée."
            )
    values[missing] = np.nan
    if not np.isfinite(values).any():
        raise AllPixelsMaskedError(f"Le raster {path.name} ne contient aucun pixel de température valide sur la zone.")
    classes = _looks_like_classes(values[np.isfinite(values)])
    if classes is not None:
        shown = ", ".join(f"{v:g}" for v in classes[:6]) + ("…" if classes.size > 6 else "")
        raise ClassRasterError(
            f"{path.name} ressemble à un raster de classes ({classes.size} valeurs entières distinctes : {shown}), "
            "pas à une température de surface : donnez-le comme occupation du sol (--landcover)."
        )
    scaled = scale != 1.0 or offset != 0.0
    if scaled:
        values = values * scale + offset
    if declared == "celsius":
        celsius, unit = values.astype("float32"), "celsius (déclaré)"
    elif declared == "kelvin":
        celsius, unit = (values - 273.15).astype("float32"), "kelvin (déclaré)"
    else:
        if not scaled:
            values[np.isclose(values, ST_ADD)] = np.nan  # a Landsat fill DN scaled to Kelvin
        celsius, unit = to_celsius(values)
    how = f"unité {unit}" + (
        f", échelle {num(scale, 6).rstrip('0').rstrip(',')} et décalage {num(offset, 2)} appliqués" if scaled else ""
    )
    check_plausible(celsius, path.name, how)
    lo, hi = PLAUSIBLE_C
    celsius = np.where((celsius < lo) | (celsius > hi), np.nan, celsius).astype("float32")
    data = to_working_grid(
        celsius, transform, src_crs, dst_crs, Resampling.bilinear, np.nan, bounds and _in(bounds, bounds_crs, dst_crs)
    )
    data.name = "lst_c"
    date = date_from_name(path.name) or _date_from_tags(tags)
    source = {
        "kind": "lst_geotiff",
        "path": str(path),
        "unit_detected": unit,
        "band": b,
        **({"band_description": description} if description else {}),
        **({"scale": scale, "offset": offset} if scaled else {}),
    }
    if notes:
        source["notes"] = notes
    return LstLayer(data=data, date=date, source=source)


def _in(bounds, bounds_crs, dst_crs):
    if bounds_crs is None or CRS.from_user_input(bounds_crs) == CRS.from_user_input(dst_crs):
        return bounds
    return tuple(transform_bounds(CRS.from_user_input(bounds_crs), CRS.from_user_input(dst_crs), *bounds))


def _date_from_tags(tags: dict) -> dt.date | None:
    for key in ("DATE_ACQUIRED", "ACQUISITION_DATE", "date"):
        if key in tags:
            return date_from_name(str(tags[key]))
    return None


def read_class_raster(
    path: str | Path,
    dst_crs: CRS | int | str,
    bounds: tuple[float, float, float, float] | None = None,
) -> xr.DataArray:
    """Read a land-cover class raster (e.g. ESA WorldCover) by nearest neighbour; 0 is missing."""
    path = Path(path)
    with open_raster(path) as ds:
        _single_band(ds, path, "occupation du sol")
        if not np.issubdtype(np.dtype(ds.dtypes[0]), np.integer):
            raise UnreadableFileError(
                f"{path.name} n'est pas un raster de classes (entiers attendus, trouvé {ds.dtypes[0]})."
            )
        arr, transform = read_window(ds, 1, bounds, dst_crs)
        src_crs, nodata = ds.crs, ds.nodata
    arr = arr.astype("uint8", copy=True)
    if nodata is not None and nodata != 0:
        arr[arr == nodata] = 0
    out = to_working_grid(arr, transform, src_crs, dst_crs, Resampling.nearest, 0, bounds)
    if not (out.values != 0).any():
        raise AllPixelsMaskedError(f"Le raster d'occupation du sol {path.name} est vide sur la zone.")
    out.name = "landcover"
    return out


def read_continuous_raster(
    path: str | Path,
    dst_crs: CRS | int | str,
    bounds: tuple[float, float, float, float] | None = None,
    valid_range: tuple[float, float] | None = None,
) -> xr.DataArray:
    """Read a continuous raster (NDVI, ...) bilinearly; nodata and out-of-range values are NaN."""
    path = Path(path)
    with open_raster(path) as ds:
        arr, transform = read_window(ds, 1, bounds, dst_crs)
        src_crs, nodata = ds.crs, ds.nodata
    values = arr.astype("float32")
    if nodata is not None:
        values[values == nodata] = np.nan
    if valid_range is not None:
        lo, hi = valid_range
        values[(values < lo) | (values > hi)] = np.nan
    if not np.isfinite(values).any():
        raise AllPixelsMaskedError(f"Le raster {path.name} ne contient aucune valeur valide sur la zone.")
    return to_working_grid(values, transform, src_crs, dst_crs, Resampling.bilinear, np.nan, bounds)


# Fewest pixels valid on every date for the dates' levels to be compared on that common area.
MIN_COMMON_PIXELS = 50


@dataclass
class DateComposite:
    """Several LST dates on one grid, each first put on a common footing (see :func:`composite_dates`)."""

    lst: xr.DataArray  # °C, per-pixel median of the levelled dates
    n_dates: xr.DataArray  # valid dates per pixel (uint8)
    spread: xr.DataArray  # °C, per-pixel max − min of the levelled dates (NaN where fewer than 2)
    offsets_c: list[float]  # each date's shift to the reference level (°C), in the order of ``layers``
    method: str  # "common_area" or "own_median" (no area seen by every date)
    common_share: float  # share of the grid's valid pixels seen by every date


def composite_dates(layers: list[LstLayer], ref: xr.DataArray | None = None) -> DateComposite:
    """Composite several LST dates without the bias of partial coverage.

    A plain per-pixel median mixes dates where they overlap: a warmer date covering only part of the area
    makes a false hot spot there. Each date is first levelled: its median over the area every date sees
    (else, if no such area, over its own valid pixels) is shifted to the median of those levels, the
    reference level; then the levelled dates' per-pixel median is taken. Anomalies between blocks are
    thereby the dates' own, whatever their coverage (docs/model.md, « Several dates »).
    """
    if not layers:
        raise ValueError("composite_dates() needs at least one layer")
    ref = layers[0].data if ref is None else ref
    stack = [
        layer.data.values
        if layer.data is ref
        else layer.data.rio.reproject_match(ref, resampling=Resampling.bilinear, nodata=np.nan).values
        for layer in layers
    ]
    cube = np.stack(stack).astype("float32")
    valid = np.isfinite(cube)
    common = valid.all(axis=0)
    any_valid = valid.any(axis=0)
    if len(layers) > 1 and common.sum() >= MIN_COMMON_PIXELS:
        levels = np.array([np.median(d[common]) for d in cube])
        method = "common_area"
    else:
        levels = np.array([np.median(d[np.isfinite(d)]) if np.isfinite(d).any() else np.nan for d in cube])
        method = "own_median" if len(layers) > 1 else "single"
    reference = float(np.nanmedian(levels))
    offsets = np.where(np.isfinite(levels), reference - levels, 0.0)
    levelled = cube + offsets[:, None, None].astype("float32")
    count = valid.sum(axis=0).astype("uint8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
        median = np.nanmedian(levelled, axis=0).astype("float32")
        spread = (np.nanmax(levelled, axis=0) - np.nanmin(levelled, axis=0)).astype("float32")
    spread[count < 2] = np.nan
    med = ref.copy(data=median)
    med.name = "lst_c"
    cnt = ref.copy(data=count).rio.write_nodata(None, encoded=False)
    cnt.name = "n_dates"
    spr = ref.copy(data=spread)
    spr.name = "lst_spread_c"
    share = float(common.sum() / any_valid.sum()) if any_valid.any() else 0.0
    return DateComposite(med, cnt, spr, [float(o) for o in offsets], method, share)


def composite(layers: list[LstLayer], ref: xr.DataArray | None = None) -> tuple[xr.DataArray, xr.DataArray]:
    """Levelled per-pixel median of several LST dates on the grid of ``ref`` (default: the first layer's),
    and the valid-date count (see :func:`composite_dates`). Returns (median °C, count as uint8)."""
    c = composite_dates(layers, ref)
    return c.lst, c.n_dates
