"""Folium maps of a territory: block layers, the LST image overlay, legends, and a display budget.

Pure functions returning ``folium.Map`` objects (no Streamlit), testable on their HTML. Rules:

- the territory map can draw every block from vector tiles written once per territory version
  (:func:`block_tile_frame`, :mod:`ilots.tiles`) and served as static files, its HTML then holding no
  geometry; otherwise, and on the other maps, never more than :data:`MAX_POLYGONS` inlined polygons in
  one layer: geometries are simplified and their coordinates rounded for display; beyond the budget,
  blocks are aggregated to a square grid;
- the LST raster is drawn as one PNG image overlay, not as polygons;
- colour-blind-safe sequential palettes (magma, viridis, cividis, ColorBrewer YlOrRd/Greens), each
  with a legend and its unit;
- text coming from data (names, ids) is HTML-escaped before it reaches a tooltip or popup;
- no CDN: Leaflet 1.9 comes from the ``xstatic-leaflet`` PyPI package (Leaflet's files alone) and
  Leaflet.draw 1.0.4 from ``ilots/assets/leaflet.draw`` (its minified release, MIT, 108 KB) and
  Leaflet.VectorGrid 1.3.0 from ``ilots/assets/leaflet.vectorgrid`` (its bundled release, 48 KB); all are
  inlined as data URLs (the dashboard serves them as static files instead, :func:`write_assets`), so maps
  work offline and on a collectivité's own server. Legends are plain
  HTML with French number formatting (branca's legends would pull d3 from a CDN).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import branca.colormap as cm
import folium
import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from branca.element import MacroElement
from folium.plugins import Draw, VectorGridProtobuf
from folium.template import Template
from rasterio.enums import Resampling

from . import fr
from .monitor import VERDICT_COLOURS
from .night import DAY_NIGHT_LABELS, LCZ_TENDENCY_FR
from .risk import CLASS_LABELS, NO_DATA_COLOUR, RISK_COLOURS
from .tiles import TILE_LAYER, Overview, TileSet

matplotlib.use("Agg")
from matplotlib import colormaps  # noqa: E402

__all__ = [
    "MAX_POLYGONS",
    "LAYERS",
    "RISK_COLOURS",
    "Layer",
    "display_range",
    "no_data_label",
    "display_frame",
    "aggregate_to_grid",
    "lst_overlay_png",
    "base_map",
    "add_block_layer",
    "add_lst_overlay",
    "territory_map",
    "layer_range",
    "block_tile_frame",
    "grid_tile_frame",
    "grid_overview",
    "overview_cell_m",
    "territory_tile_layers",
    "night_tile_layers",
    "add_tile_layer",
    "BlockTileLayer",
    "delta_map",
    "comparison_maps",
    "residual_map",
    "localise_assets",
    "offline_assets",
    "write_assets",
    "session_copy",
    "day_night_maps",
    "add_facilities_layer",
    "day_night_map",
    "CATEGORIES",
]

MAX_POLYGONS = 5000
# IGN Géoplateforme, Plan IGN v2 (Licence Ouverte): the French public basemap.
TILES = (
    "https://data.geopf.fr/wmts?REQUEST=GetTile&SERVICE=WMTS&VERSION=1.0.0&STYLE=normal&TILEMATRIXSET=PM"
    "&FORMAT=image/png&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)
TILES_ATTRIBUTION = '© <a href="https://www.ign.fr/">IGN</a> Plan IGN'


@dataclass(frozen=True)
class Layer:
    column: str
    title: str
    unit: str
    palette: str  # matplotlib colormap name, or "risk"
    percent: bool = False


LAYERS = {
    "lst": Layer("lst_mean_c", "Température de surface", "°C", "magma"),
    "risk": Layer("risk_class", "Risque de chaleur", "classe", "risk"),
    "trees": Layer("tree_frac", "Part d'arbres", "%", "Greens", percent=True),
    "sealing": Layer("impervious_frac", "Part imperméabilisée", "%", "cividis", percent=True),
    "height": Layer("building_height_m", "Hauteur moyenne du bâti", "m", "viridis"),
    "p_high": Layer("p_high_risk", "Probabilité de risque élevé", "%", "OrRd", percent=True),
}


def _leaflet_dir() -> Path:
    """Leaflet's own files (``xstatic-leaflet``: leaflet.js, leaflet.css, images/)."""
    try:
        from xstatic.pkg import leaflet
    except ImportError as exc:
        raise RuntimeError("xstatic-leaflet is not installed: pip install -r requirements.txt") from exc
    return Path(leaflet.BASE_DIR)


LEAFLET_DRAW_DIR = Path(__file__).parent / "assets" / "leaflet.draw"
LEAFLET_VECTORGRID_DIR = Path(__file__).parent / "assets" / "leaflet.vectorgrid"
LEAFLET_VECTORGRID_JS = "Leaflet.VectorGrid.bundled.min.js"


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def _css_inline_images(path: Path) -> str:
    css = path.read_text(encoding="utf-8")

    def repl(match: re.Match) -> str:
        target = match.group(2)
        img = path.parent / target
        if target.startswith(("#", "data:")) or not img.is_file():
            return match.group(0)
        mime = "image/svg+xml" if img.suffix == ".svg" else "image/png"
        return f"url({_data_url(img.read_bytes(), mime)})"

    return re.sub(r"url\((['\"]?)([^)'\"]+)\1\)", repl, css)


@functools.lru_cache(maxsize=1)
def _asset_files() -> dict[str, tuple[str, bytes, str]]:
    """Key (as folium's elements name their dependencies) → (file name with a content hash, bytes, MIME type) of
    Leaflet, Leaflet.draw and Leaflet.VectorGrid; the CSS have their images inlined."""
    import hashlib

    d, draw = _leaflet_dir(), LEAFLET_DRAW_DIR
    raw = {
        "leaflet": ("leaflet.js", (d / "leaflet.js").read_bytes(), "text/javascript"),
        "leaflet_css": ("leaflet.css", _css_inline_images(d / "leaflet.css").encode(), "text/css"),
        "leaflet_draw_js": ("leaflet.draw.js", (draw / "leaflet.draw.js").read_bytes(), "text/javascript"),
        "leaflet_draw_css": ("leaflet.draw.css", _css_inline_images(draw / "leaflet.draw.css").encode(), "text/css"),
        "vectorGrid": (
            "leaflet.vectorgrid.js",
            (LEAFLET_VECTORGRID_DIR / LEAFLET_VECTORGRID_JS).read_bytes(),
            "text/javascript",
        ),
    }
    out = {}
    for key, (name, data, mime) in raw.items():
        stem, ext = name.rsplit(".", 1)
        out[key] = (f"{stem}.{hashlib.sha256(data).hexdigest()[:10]}.{ext}", data, mime)
    return out


@functools.lru_cache(maxsize=1)
def offline_assets() -> dict[str, str]:
    """Data URLs of Leaflet, Leaflet.draw and Leaflet.VectorGrid (JS, and CSS with their images inlined)."""
    return {key: _data_url(data, mime) for key, (_, data, mime) in _asset_files().items()}


def write_assets(directory: Path, prefix: str) -> dict[str, str]:
    """Write the maps' JS and CSS as files in ``directory`` (names carry a hash of their content, so a browser may
    keep them forever) and return key → ``prefix`` + file name, for :func:`localise_assets`. Files already there
    are left as they are."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    urls = {}
    for key, (name, data, _) in _asset_files().items():
        target = directory / name
        if not target.is_file() or target.stat().st_size != len(data):
            tmp = directory / f".{name}.{os.getpid()}"
            tmp.write_bytes(data)
            os.replace(tmp, target)
        urls[key] = prefix + name
    return urls


def _walk(element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def localise_assets(m: folium.Map, urls: dict[str, str] | None = None) -> folium.Map:
    """Point every JS/CSS dependency of ``m`` at the local assets (data URLs, or ``urls`` of
    :func:`write_assets`); drop the ones our maps never use (jQuery, Bootstrap, awesome-markers, Font Awesome)."""
    assets = urls or offline_assets()
    for el in _walk(m):
        if hasattr(el, "default_js"):
            el.default_js = [(k, assets[k]) for k, _ in el.default_js if k in assets]
        if hasattr(el, "default_css"):
            el.default_css = [(k, assets[k]) for k, _ in el.default_css if k in assets]
    return m


MINUS = "\u2212"


def _no_data_row(text: str) -> str:
    return (
        f'<div style="margin-top:4px"><span style="display:inline-block;width:14px;height:14px;'
        f'background:{NO_DATA_COLOUR};border:1px solid #555;margin-right:6px;vertical-align:middle"></span>'
        f"{html.escape(text)}</div>"
    )


def _legend(
    m: folium.Map, title: str, unit: str, vmin: float, vmax: float, palette: str, slot: int, missing: str | None = None
) -> None:
    """A gradient legend with French tick labels, stacked at the bottom right; ``missing`` names the grey
    blocks (no value) when the layer has some."""
    cmap = colormaps[palette]
    stops = ", ".join(matplotlib.colors.to_hex(cmap(x)) for x in np.linspace(0.05, 0.95, 9))
    ticks = np.linspace(vmin, vmax, 5)
    digits = 0 if vmax - vmin >= 10 else 1
    # the typographic minus of French numbers, as in the tables and the block cards
    shown = [html.escape(fr.num(t, digits).replace("-", MINUS)) for t in ticks]
    labels = "".join(f"<span>{t}</span>" for t in shown)
    block = (
        f'<div class="ilots-legend" style="position:absolute;right:12px;bottom:{24 + slot * 78}px;z-index:9999;'
        "background:white;padding:6px 10px;border:1px solid #999;border-radius:4px;font:13px sans-serif;color:#111;"
        f'width:230px"><b>{html.escape(title)} ({html.escape(unit)})</b>'
        f'<div style="height:12px;margin:4px 0;background:linear-gradient(to right, {stops});border:1px solid '
        '#777"></div>'
        f'<div style="display:flex;justify-content:space-between">{labels}</div>'
        f"{_no_data_row(missing) if missing else ''}</div>"
    )
    m.get_root().html.add_child(folium.Element(block))


def _palette(name: str, vmin: float, vmax: float, caption: str) -> cm.LinearColormap:
    cmap = colormaps[name]
    colours = [matplotlib.colors.to_hex(cmap(x)) for x in np.linspace(0.05, 0.95, 9)]
    return cm.LinearColormap(colours, vmin=vmin, vmax=vmax, caption=caption)


def _rgb(colour: str) -> str:
    return colour[:7]  # branca returns #rrggbbaa; the alpha is always ff here


def display_frame(blocks: gpd.GeoDataFrame, columns: list[str], tolerance_m: float | None = None) -> gpd.GeoDataFrame:
    """Blocks ready for display: simplified in metres, in WGS84, coordinates rounded to ~1 m."""
    n = len(blocks)
    tol = tolerance_m if tolerance_m is not None else (1.0 if n < 1000 else 3.0 if n < 5000 else 6.0)
    keep = [c for c in columns if c in blocks.columns]
    out = gpd.GeoDataFrame(
        blocks[keep].copy(), geometry=blocks.geometry.simplify(tol, preserve_topology=True), crs=blocks.crs
    )
    out = out.to_crs(4326)
    out["geometry"] = shapely.set_precision(out.geometry.values, 1e-5)
    out = out[~out.geometry.is_empty]
    out["block_id"] = [str(i) for i in out.index]  # raw: a click sends it back as the block's id
    return out


def aggregate_to_grid(blocks: gpd.GeoDataFrame, column: str, cell_m: float) -> gpd.GeoDataFrame:
    """Area-weighted mean of ``column`` on square cells of ``cell_m`` (working CRS, metres): one row a cell holding
    at least one block with a value, with ``n_blocks`` of them."""
    known = blocks[np.isfinite(blocks[column].to_numpy(dtype="float64"))]
    cells, ux, uy = _grid_cells(known, cell_m)
    mean = _grid_values(cells, known[column].astype("float64"), known.area.to_numpy(), category=False)
    return gpd.GeoDataFrame(
        {column: mean.sort_index().to_numpy(), "n_blocks": np.bincount(cells, minlength=len(ux))},
        geometry=_cell_boxes(ux, uy, cell_m),
        crs=blocks.crs,
    )


def _grid_cells(blocks: gpd.GeoDataFrame, cell_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each block's cell number, each cell's x and y index): a block counts in the square cell of ``cell_m``
    metres holding its representative point; cells are numbered by x, then y."""
    pts = blocks.geometry.representative_point()
    gx = np.floor(pts.x.to_numpy() / cell_m).astype("int64")
    gy = np.floor(pts.y.to_numpy() / cell_m).astype("int64")
    cells, uniques = pd.MultiIndex.from_arrays([gx, gy]).factorize(sort=True)
    return cells, uniques.get_level_values(0).to_numpy("float64"), uniques.get_level_values(1).to_numpy("float64")


def _cell_boxes(ux: np.ndarray, uy: np.ndarray, cell_m: float) -> np.ndarray:
    return shapely.box(ux * cell_m, uy * cell_m, (ux + 1) * cell_m, (uy + 1) * cell_m)


def lst_overlay_png(lst: xr.DataArray, vmin: float, vmax: float, palette: str = "magma") -> tuple[str, list]:
    """The LST raster as a base64 PNG data URL in WGS84 and its [[south, west], [north, east]] bounds."""
    from PIL import Image

    da = lst.rio.reproject(4326, resampling=Resampling.bilinear, nodata=np.nan)
    values = da.values.astype("float64")
    norm = np.clip((values - vmin) / max(vmax - vmin, 1e-9), 0, 1)
    rgba = (colormaps[palette](norm) * 255).astype("uint8")
    rgba[..., 3] = np.where(np.isfinite(values), 200, 0)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    left, bottom, right, top = da.rio.bounds()
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(), [[bottom, left], [top, right]]


class _MetricScale(MacroElement):
    """A metric-only scale bar (folium's control_scale adds miles and feet)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({metric: true, imperial: false, position: 'bottomleft'}).addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


class _French(MacroElement):
    """The map's frame declared French, and Leaflet's control labels in French (« Zoom avant », « Couches »),
    run once the controls exist."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function () {"
        " document.documentElement.lang = 'fr';"
        " var labels = {'leaflet-control-zoom-in': 'Zoom avant', 'leaflet-control-zoom-out': 'Zoom arrière',"
        "  'leaflet-control-layers-toggle': 'Couches', 'leaflet-draw-draw-polygon': 'Dessiner un polygone',"
        "  'leaflet-draw-draw-rectangle': 'Dessiner un rectangle'};"
        " function fix() { for (var cls in labels) { document.querySelectorAll('.' + cls).forEach(function (el) {"
        "  el.setAttribute('title', labels[cls]); el.setAttribute('aria-label', labels[cls]); }); } }"
        " {{ this._parent.get_name() }}.whenReady(function () { fix(); setTimeout(fix, 500); });"
        "})();"
        "{% endmacro %}"
    )


def base_map(bounds_wgs84, height_px: int | None = None, prefer_canvas: bool = True) -> folium.Map:
    """A light basemap fitted to (west, south, east, north). ``prefer_canvas``: points and shapes on one canvas
    over the whole map (light for thousands of inlined polygons, but it takes every mouse event above the tile
    pane: a map of vector tiles keeps it off)."""
    west, south, east, north = bounds_wgs84
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        control_scale=False,
        zoom_start=13,
        prefer_canvas=prefer_canvas,
        max_zoom=19,
    )
    _MetricScale().add_to(m)
    _French().add_to(m)
    folium.TileLayer(TILES, attr=TILES_ATTRIBUTION, name="Fond de carte IGN", max_zoom=19, max_native_zoom=18).add_to(m)
    m.get_root().header.add_child(folium.Element(_SMALL_SCREEN_CSS))
    _fit_at_once(m, [[south, west], [north, east]])
    return m


def _fit_at_once(m: folium.Map, bounds: list, **options) -> None:
    """``m`` fitted to ``bounds`` without the zoom animation folium's ``fit_bounds`` runs from its start zoom: a
    tile layer added while it runs fetches the tiles of the start zoom too (35 useless tiles, 3.6 MB on a
    50,000-block territory, bench/tiles.py)."""
    fit = folium.map.FitBounds(bounds, **options)
    fit.options["animate"] = False
    fit.add_to(m)


# On a phone the map is about 300 px wide: legends shrink so that they leave the blocks visible.
_SMALL_SCREEN_CSS = (
    "<style>@media (max-width: 480px) { .ilots-legend { transform: scale(0.78); "
    "transform-origin: bottom right; } .ilots-legend[style*='left:12px'] "
    "{ transform-origin: bottom left; } }</style>"
)


# Categorical layers: value -> (colour, legend label), in legend order.
CATEGORIES = {
    "day_night": {
        "both": ("#b2182b", DAY_NIGHT_LABELS["both"]),
        "day_only": ("#f4a582", DAY_NIGHT_LABELS["day_only"]),
        "night_only": ("#8073ac", DAY_NIGHT_LABELS["night_only"]),
        "neither": ("#4393c3", DAY_NIGHT_LABELS["neither"]),
        "middle": ("#f7f7f7", DAY_NIGHT_LABELS["middle"]),
    },
    "lcz_tendency": {
        "forte": ("#b2182b", LCZ_TENDENCY_FR["forte"]),
        "moyenne": ("#f4a582", LCZ_TENDENCY_FR["moyenne"]),
        "faible": ("#4393c3", LCZ_TENDENCY_FR["faible"]),
    },
}


def _colours(values: pd.Series, layer: Layer, vmin: float, vmax: float):
    if layer.palette == "risk":
        colours = values.fillna(0).astype(int).map(RISK_COLOURS).fillna(NO_DATA_COLOUR)
        return colours, None
    if layer.palette in CATEGORIES:
        table = CATEGORIES[layer.palette]
        return values.map(lambda v: table[v][0] if v in table else NO_DATA_COLOUR), None
    scale = _palette(layer.palette, vmin, vmax, f"{layer.title} ({layer.unit})")
    if layer.percent:
        scale = _palette(layer.palette, vmin * 100, vmax * 100, f"{layer.title} ({layer.unit})")
        colours = values.map(
            lambda v: scale(float(np.clip(v * 100, vmin * 100, vmax * 100))) if pd.notna(v) else NO_DATA_COLOUR
        )
    else:
        colours = values.map(lambda v: scale(float(np.clip(v, vmin, vmax))) if pd.notna(v) else NO_DATA_COLOUR)
    return colours, scale


def _tooltip_value(col: str, v) -> str:
    if pd.isna(v):
        return "—"
    if col in ("lst_mean_c", "lst_after_c", "lst_before_c", "day_lst_c", "night_lst_c"):
        return fr.temp(float(v))
    if col == "day_night":
        return html.escape(DAY_NIGHT_LABELS.get(str(v), str(v)))
    if col == "lcz_tendency":
        return html.escape(LCZ_TENDENCY_FR.get(str(v), str(v)))
    if col in ("delta_c", "residual_c"):
        return fr.temp(float(v), 2, signed=True)
    if col.endswith("_frac") or col in ("building_coverage", "p_high_risk"):
        return fr.pct(float(v))
    if col in ("building_height_m", "refuge_walk_m"):
        return f"{fr.num(float(v), 0)} m"
    if col == "residents":
        return fr.num(float(v), 0)
    if col.startswith("risk_class"):
        return CLASS_LABELS.get(int(v), "inconnu")
    return html.escape(str(v))


# Few fields: every one is repeated in each of up to 5,000 features (the click card shows the rest).
TOOLTIP_FIELDS = {
    "block_id": "Îlot",
    "lst_mean_c": "Température de surface",
    "risk_class": "Risque de chaleur",
    "tree_frac": "Arbres",
    "impervious_frac": "Imperméabilisé",
}


def _frozen_template():
    """folium's GeoJson template with the data serialised once (``this.data_json``) instead of at
    every render; None if folium's template no longer has the expected shape (then it is kept)."""
    import inspect

    try:
        src = inspect.getsource(folium.GeoJson)
    except (OSError, TypeError):
        return None
    match = re.search(r'_template = Template\(\s*"""(.*?)"""\s*\)', src, re.S)
    if not match or match.group(1).count("{{ this.data|tojson }}") != 1:
        return None
    return Template(match.group(1).replace("{{ this.data|tojson }}", "{{ this.data_json }}"))


class FrozenGeoJson(folium.GeoJson):
    """A GeoJson layer whose features and styles never change once built (all of ours).

    st_folium renders the whole map at every Streamlit rerun; folium would then recompute every
    feature's style and walk every coordinate for the bounds (~0.2 s per 1,000 blocks). Here the
    bounds are given at construction and the style maps computed once, then reused, including by the
    per-session copies (see :func:`session_copy`).
    """

    _fast_template = _frozen_template()

    def __init__(self, data, bounds: list[list[float]], **kwargs):
        super().__init__(data, **kwargs)
        self._frozen_bounds = bounds
        self._frozen_styles: dict = {}
        if self._fast_template is not None:
            from jinja2.utils import htmlsafe_json_dumps

            self._template = self._fast_template
            self.data_json = htmlsafe_json_dumps(self.data)  # what Jinja's tojson filter would emit

    def _get_self_bounds(self):
        return self._frozen_bounds

    def render(self, **kwargs):
        if "style_map" not in self._frozen_styles:
            super().render(**kwargs)
            self._frozen_styles["style_map"] = getattr(self, "style_map", None)
            self._frozen_styles["highlight_map"] = getattr(self, "highlight_map", None)
            return
        self.parent_map = folium.utilities.get_obj_in_upper_tree(self, folium.Map)
        self.style_map = self._frozen_styles["style_map"]
        self.highlight_map = self._frozen_styles["highlight_map"]
        super(folium.GeoJson, self).render(**kwargs)  # the Layer's render: the template only


def _values(blocks: pd.DataFrame, column: str) -> pd.Series:
    """``blocks[column]``, or all missing when the blocks have no such column."""
    return blocks[column] if column in blocks else pd.Series(np.nan, index=blocks.index)


def display_range(values: pd.Series, vmin: float | None = None, vmax: float | None = None) -> tuple[float, float]:
    """The colour range of a layer: ``vmin``/``vmax`` where given, else the 2nd and 98th percentiles of the finite
    values (0 to 1 without any), never empty (a constant layer gets a tiny span)."""
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    finite = v[np.isfinite(v)]
    lo = vmin if vmin is not None else (float(finite.quantile(0.02)) if len(finite) else 0.0)
    hi = vmax if vmax is not None else (float(finite.quantile(0.98)) if len(finite) else 1.0)
    return (lo, hi) if hi > lo else (lo, lo + 1e-6)


def add_block_layer(
    m: folium.Map,
    blocks: gpd.GeoDataFrame,
    layer: Layer,
    vmin: float | None = None,
    vmax: float | None = None,
    show: bool = True,
    name: str | None = None,
    tooltip_fields: dict[str, str] | None = None,
    cell_m: float = 250.0,
    max_polygons: int = MAX_POLYGONS,
) -> folium.GeoJson:
    """Add one block layer coloured by ``layer.column`` with a legend and an escaped tooltip.

    ``blocks`` is in the working CRS. Beyond :data:`MAX_POLYGONS` blocks, an aggregated grid is
    drawn instead (tooltip: mean value and number of blocks); ``max_polygons`` lowers that budget.
    """
    col = layer.column
    values = _values(blocks, col)
    lo, hi = display_range(values, vmin, vmax)
    fields = dict(tooltip_fields or TOOLTIP_FIELDS)
    if len(blocks) > min(max_polygons, MAX_POLYGONS):
        frame = aggregate_to_grid(blocks.assign(**{col: values}), col, cell_m).to_crs(4326)
        frame["n_blocks"] = frame["n_blocks"].astype(int)
        fields = {col: f"{layer.title} (moyenne)", "n_blocks": "Îlots regroupés"}
    else:
        cols = [c for c in fields if c in blocks.columns and c != "block_id"]
        if col not in cols:
            cols.append(col)
        frame = display_frame(blocks.assign(**{col: values}), cols)
        fields = {k: v for k, v in fields.items() if k in frame.columns}
    colours, scale = _colours(frame[col], layer, lo, hi)
    frame["_colour"] = [_rgb(c) for c in colours]
    # Tooltips show HTML-escaped text (``_t_*``); ``block_id`` stays raw so a click gives the block's real id
    # (the JSON is embedded HTML-safe, see FrozenGeoJson).
    # When no id needs escaping (the usual case) the raw id serves both, so the payload carries it once.
    shown = {f"_t_{c}": [_tooltip_value(c, v) for v in frame[c]] for c in fields}
    if "_t_block_id" in shown and shown["_t_block_id"] == frame["block_id"].tolist():
        shown = {("block_id" if k == "_t_block_id" else k): v for k, v in shown.items()}
    props = pd.DataFrame(shown, index=frame.index)
    tooltip_columns = list(props.columns)
    if "block_id" in frame.columns and "block_id" not in props:
        props["block_id"] = frame["block_id"].tolist()
    gj_frame = gpd.GeoDataFrame(pd.concat([frame[["_colour"]], props], axis=1), geometry=frame.geometry, crs=4326)
    west, south, east, north = (float(v) for v in gj_frame.total_bounds) if len(gj_frame) else (0.0, 0.0, 0.0, 0.0)
    gj = FrozenGeoJson(
        json.loads(gj_frame.to_json(drop_id=True)),
        [[south, west], [north, east]],
        name=name or layer.title,
        show=show,
        style_function=lambda f: {
            "fillColor": f["properties"]["_colour"],
            "color": "#555555",
            "weight": 0.4,
            "fillOpacity": 0.75,
        },
        highlight_function=lambda f: {"weight": 2.0, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=tooltip_columns, aliases=list(fields.values()), labels=True, sticky=False, localize=False
        ),
        zoom_on_click=False,
    )
    gj.add_to(m)
    _layer_legend(m, layer, lo, hi, _has_missing(frame, layer))
    return gj


def _layer_legend(m: folium.Map, layer: Layer, lo: float, hi: float, missing: bool) -> None:
    """The legend of one block layer coloured on ``lo``–``hi`` (a share's range in [0, 1]); ``missing`` when some
    blocks are grey."""
    if layer.palette in CATEGORIES:
        _category_legend(m, layer.title, CATEGORIES[layer.palette], missing or None)
    elif layer.palette == "risk":
        _risk_legend(m)
    else:
        slot = getattr(m, "_ilots_legends", 0)
        factor = 100 if layer.percent else 1
        shown_missing = no_data_label(layer) if missing else None
        _legend(m, layer.title, layer.unit, lo * factor, hi * factor, layer.palette, slot, shown_missing)
        m._ilots_legends = slot + 1


RISK_NO_DATA = "non évaluable (température ou population inconnue)"


def no_data_label(layer: Layer) -> str:
    """What a grey block means on ``layer``'s map."""
    if "lst" in layer.column:
        return "pas de mesure (nuages, eau ou hors image)"
    return "valeur inconnue"


def _category_legend(m: folium.Map, title: str, table: dict, missing: bool | None) -> None:
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{colour};'
        f'border:1px solid #555;margin-right:6px;vertical-align:middle"></span>{html.escape(label)}</div>'
        for colour, label in table.values()
    ) + (_no_data_row("inconnu (pas de mesure ou hors couche)") if missing else "")
    legend = (
        '<div class="ilots-legend" style="position:absolute;bottom:40px;left:12px;z-index:9999;background:white;'
        'padding:8px 10px;border:1px solid #999;border-radius:4px;font:13px sans-serif;color:#111;max-width:260px">'
        f"<b>{html.escape(title)}</b>{rows}</div>"
    )
    m.get_root().html.add_child(folium.Element(legend))


def _risk_legend(m: folium.Map) -> None:
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{RISK_COLOURS[k]};'
        f'border:1px solid #555;margin-right:6px;vertical-align:middle"></span>{html.escape(CLASS_LABELS[k])}</div>'
        for k in range(5, 0, -1)
    ) + _no_data_row(RISK_NO_DATA)
    legend = (
        '<div class="ilots-legend" style="position:absolute;bottom:40px;left:12px;z-index:9999;background:white;'
        'padding:8px 10px;border:1px solid #999;border-radius:4px;font:13px sans-serif;color:#111">'
        f"<b>Risque de chaleur</b>{rows}</div>"
    )
    m.get_root().html.add_child(folium.Element(legend))


def add_lst_overlay(m: folium.Map, lst: xr.DataArray, vmin: float, vmax: float, show: bool = False) -> None:
    """The LST raster as one semi-transparent image, with its °C legend."""
    url, bounds = lst_overlay_png(lst, vmin, vmax)
    folium.raster_layers.ImageOverlay(
        url, bounds=bounds, name="Température de surface (image satellite)", opacity=0.8, show=show, interactive=False
    ).add_to(m)


def layer_range(blocks: gpd.GeoDataFrame, key: str) -> tuple[float, float]:
    """Colour range of the territory map's layer ``key`` (of :data:`LAYERS`): shares on 0–1, the surface
    temperature and the other layers on their 2nd–98th percentiles."""
    layer = LAYERS[key]
    if layer.percent:
        return 0.0, 1.0
    return display_range(_values(blocks, layer.column))


def territory_map(
    blocks: gpd.GeoDataFrame,
    bounds_wgs84,
    layers: list[str],
    lst: xr.DataArray | None = None,
    draw: bool = False,
    facilities: tuple[gpd.GeoDataFrame, pd.DataFrame] | None = None,
    tiles: tuple[str, TileSet] | None = None,
) -> folium.Map:
    """A map with the chosen block layers (keys of :data:`LAYERS`), optional LST image, draw tool and sensitive
    facilities (``(facilities, exposure)`` of :func:`ilots.analysis.facilities_territory`).

    ``tiles`` — (URL template ending in ``{z}/{x}/{y}.pbf``, its :class:`~ilots.tiles.TileSet`) of
    :func:`block_tile_frame` written for these ``blocks`` — draws every block from those vector tiles (no polygon
    budget, no geometry in the map's HTML); without it the blocks are inlined as GeoJSON (at most
    :data:`MAX_POLYGONS`)."""
    m = base_map(bounds_wgs84, prefer_canvas=tiles is None)
    if lst is not None:
        vmin, vmax = layer_range(blocks, "lst")
        add_lst_overlay(m, lst, vmin, vmax, show=not layers)
    for i, key in enumerate(layers):
        layer = LAYERS[key]
        lo, hi = layer_range(blocks, key)
        if tiles is not None:
            add_tile_layer(m, *tiles, key, layer, lo, hi, _has_missing(blocks, layer), TOOLTIP_FIELDS, show=(i == 0))
        else:
            add_block_layer(m, blocks, layer, lo, hi, show=(i == 0))
    if draw:
        _draw_tool(m)
    if facilities is not None:
        add_facilities_layer(m, *facilities)
    n_overlays = len(layers) + (lst is not None) + (facilities is not None)
    folium.LayerControl(collapsed=n_overlays <= 1).add_to(m)
    return localise_assets(m)


def _has_missing(blocks: pd.DataFrame, layer: Layer) -> bool:
    """Whether some blocks are grey on ``layer``: no value, or a category the layer has no colour for."""
    values = _values(blocks, layer.column)
    if layer.palette in CATEGORIES:
        return bool((~values.isin(list(CATEGORIES[layer.palette]))).any())
    return bool(values.isna().any())


TileLayers = dict[str, tuple[Layer, float, float]]  # key → (layer, colour range)


def territory_tile_layers(blocks: gpd.GeoDataFrame) -> TileLayers:
    """The territory map's layers (keys of :data:`LAYERS`) the blocks have values for, with their colour ranges."""
    return {
        key: (layer, *layer_range(blocks, key))
        for key, layer in LAYERS.items()
        if layer.column in blocks and blocks[layer.column].notna().any()
    }


def block_tile_frame(
    blocks: gpd.GeoDataFrame, layers: TileLayers, tooltip_fields: dict[str, str] | None = None
) -> gpd.GeoDataFrame:
    """What a map's vector tiles carry for each block (geometry in ``blocks``' CRS): ``block_id`` (raw, sent back
    on a click), ``c_<key>`` the fill colour of each of ``layers`` as the inlined maps colour it (grey without a
    value), and ``t_<field>`` the HTML-escaped tooltip text of each of ``tooltip_fields`` (``t_block_id`` only when
    the id needs escaping). Colours and texts repeat across blocks, and a vector tile stores each distinct value
    once."""
    fields = TOOLTIP_FIELDS if tooltip_fields is None else tooltip_fields
    ids = [str(i) for i in blocks.index]
    out = {"block_id": ids}
    for key, (layer, lo, hi) in layers.items():
        colours, _ = _colours(_values(blocks, layer.column), layer, lo, hi)
        out[f"c_{key}"] = [_rgb(c) for c in colours]
    for col in fields:
        if col == "block_id":
            shown = [html.escape(i) for i in ids]
            if shown != ids:
                out["t_block_id"] = shown
        elif col in blocks:
            out[f"t_{col}"] = [_tooltip_value(col, v) for v in blocks[col]]
    frame = gpd.GeoDataFrame(out, geometry=blocks.geometry.values, crs=blocks.crs)
    return frame[_drawable(frame.geometry)]


def _drawable(geoms: gpd.GeoSeries) -> np.ndarray:
    """Which geometries can be drawn: neither missing nor empty."""
    values = np.asarray(geoms.values)
    return ~(shapely.is_missing(values) | shapely.is_empty(values))


def _is_category(blocks: pd.DataFrame, column: str) -> bool:
    """Whether ``column`` is read as classes (risk classes, day–night, LCZ…) rather than amounts."""
    return column.startswith("risk_class") or not pd.api.types.is_numeric_dtype(blocks[column])


def _grid_values(cells: np.ndarray, values: pd.Series, area: np.ndarray, category: bool) -> pd.Series:
    """Per grid cell (``cells``: one code a block): the area-weighted mean of ``values``, or for a ``category`` the
    class covering the largest area; unknown where no block of the cell has a value."""
    known = values.notna().to_numpy()
    df = pd.DataFrame({"cell": cells[known], "v": values.to_numpy()[known], "a": area[known]})
    if category:
        by_class = df.groupby(["cell", "v"], sort=False)["a"].sum()
        return by_class.groupby(level="cell").idxmax().map(lambda pair: pair[1])
    df["va"] = df["v"].astype("float64") * df["a"]
    sums = df.groupby("cell", sort=False)[["va", "a"]].sum()
    return sums["va"] / sums["a"]


OVERVIEW_MAX_CELLS = 2500  # a whole-territory view: about 100 kB of tiles (bench/tiles.py)
OVERVIEW_MIN_CELL_M = 250.0  # the inlined maps' grid (:func:`aggregate_to_grid`)
_OVERVIEW_STEPS = 32  # colour steps of an overview's amounts: few distinct values, so light tiles


def overview_cell_m(blocks: gpd.GeoDataFrame) -> float:
    """Side (metres, a multiple of 50) of an overview's cells: :data:`OVERVIEW_MIN_CELL_M`, or more so that the
    blocks' area is covered by about :data:`OVERVIEW_MAX_CELLS` cells (a 400 km² territory: 400 m)."""
    side = float(np.sqrt(blocks.geometry.area.sum() / OVERVIEW_MAX_CELLS))
    return max(OVERVIEW_MIN_CELL_M, float(np.ceil(side / 50.0) * 50.0))


def grid_overview(
    blocks: gpd.GeoDataFrame,
    layers: TileLayers,
    tooltip_fields: dict[str, str] | None = None,
    min_blocks: int = MAX_POLYGONS,
) -> Overview | None:
    """The :class:`~ilots.tiles.Overview` of a map's vector tiles: :func:`grid_tile_frame` on cells of
    :func:`overview_cell_m`; None up to ``min_blocks`` blocks (the inlined maps' budget), whose tiles stay light
    enough to show every block at every zoom."""
    if len(blocks) <= min_blocks:
        return None
    cell_m = overview_cell_m(blocks)
    return Overview(grid_tile_frame(blocks, layers, tooltip_fields, cell_m), cell_m)


def grid_tile_frame(
    blocks: gpd.GeoDataFrame, layers: TileLayers, tooltip_fields: dict[str, str] | None = None, cell_m: float = 250.0
) -> gpd.GeoDataFrame:
    """The overview a map's vector tiles carry at zooms where blocks would be a few pixels wide: square cells of
    ``cell_m`` metres (``blocks``' CRS, projected), each block counted in the cell of its representative point.
    Same properties as :func:`block_tile_frame` for the same ``layers`` and ``tooltip_fields``, read on the cell:
    an amount is the blocks' area-weighted mean, coloured on 32 steps of its range, a class (risk, day–night, LCZ)
    the one covering the largest area (« majoritaire »); no block id, but ``t_cell``, the tooltip's heading."""
    fields = TOOLTIP_FIELDS if tooltip_fields is None else tooltip_fields
    blocks = blocks[_drawable(blocks.geometry)]  # as block_tile_frame: no point, no cell
    cells, ux, uy = _grid_cells(blocks, cell_m)
    area = blocks.geometry.area.to_numpy()
    index = pd.RangeIndex(len(ux))
    n_blocks = np.bincount(cells, minlength=len(ux))
    side = fr.num(cell_m, 0)
    out: dict[str, list | np.ndarray] = {
        "t_cell": [
            f"{fr.num(int(n), 0)} îlot{'s' if n > 1 else ''} dans ce carré de {side} m : zoomez pour voir chacun"
            for n in n_blocks
        ],
    }
    for key, (layer, lo, hi) in layers.items():
        col = layer.column
        category = col in blocks and _is_category(blocks, col)
        values = _grid_values(cells, _values(blocks, col), area, category).reindex(index)
        if not category:
            step = (hi - lo) / (_OVERVIEW_STEPS - 1)
            values = lo + step * ((values.astype("float64").clip(lo, hi) - lo) / step).round()
        colours, _ = _colours(values, layer, lo, hi)
        out[f"c_{key}"] = [_rgb(c) for c in colours]
    for col in fields:
        if col == "block_id" or col not in blocks:
            continue
        category = _is_category(blocks, col)
        values = _grid_values(cells, blocks[col], area, category).reindex(index)
        suffix = " (majoritaire)" if category else ""
        out[f"t_{col}"] = [_tooltip_value(col, v) + (suffix if pd.notna(v) else "") for v in values]
    return gpd.GeoDataFrame(out, geometry=_cell_boxes(ux, uy, cell_m), crs=blocks.crs)


OVERVIEW_NOTE = "Vue d'ensemble : moyennes des îlots par carré de {cell} m. Zoomez pour voir chaque îlot."


class BlockTileLayer(VectorGridProtobuf):
    """One layer of the territory map drawn from its vector tiles (Leaflet.VectorGrid on a canvas): filled with
    the tiles' ``c_<key>`` colours, the tooltip built from their ``t_*`` texts, a hovered block outlined, and a
    click returning the block's id to the page as streamlit-folium's ``last_active_drawing`` (a point feature
    whose ``properties.block_id`` is the block's)."""

    _template = Template(
        """
        {% macro script(this, kwargs) -%}
        if (L.DomEvent.fakeStop === undefined) { L.DomEvent.fakeStop = L.DomEvent.stopPropagation; }
        var {{ this.get_name() }} = (function (url, key, fields, opts) {
          function style(p) {
            return {fill: true, fillColor: p['c_' + key] || opts.noData, fillOpacity: 0.75, color: '#555555',
                    weight: 0.4, stroke: true};
          }
          var layer = L.vectorGrid.protobuf(url, {
            rendererFactory: L.canvas.tile, interactive: true, maxZoom: 19, bounds: opts.bounds, zIndex: 10,
            minNativeZoom: opts.minzoom, maxNativeZoom: opts.maxzoom,
            getFeatureId: function (f) { return f.properties.block_id; },
            vectorTileLayerStyles: {'{{ this.tile_layer }}': style}
          });
          var tip = L.tooltip({direction: 'top', offset: [0, -6], opacity: 0.95});
          function rows(p) {
            var out = '';
            if (p.t_cell !== undefined) {  // an overview cell: its heading above the table, wrapped
              out += '<div style="white-space:normal;max-width:18em;margin-bottom:4px"><i>' + p.t_cell + '</i></div>';
            }
            out += '<table>';
            fields.forEach(function (f) {
              if (p.t_cell !== undefined && f[0] === 'block_id') { return; }
              var v = p['t_' + f[0]];
              if (v === undefined && f[0] === 'block_id') { v = p.block_id; }
              out += '<tr><th>' + f[1] + '</th><td>' + (v === undefined ? '—' : v) + '</td></tr>';
            });
            return out + '</table>';
          }
          layer.on('mouseover', function (e) {
            var p = e.layer.properties || {};
            var hl = style(p); hl.weight = 2.0; hl.color = '#000000';
            if (p.block_id !== undefined) { layer.setFeatureStyle(p.block_id, hl); }
            tip.setLatLng(e.latlng).setContent(rows(p));
            layer._map.openTooltip(tip);
          });
          layer.on('mouseout', function (e) {
            var p = e.layer.properties || {};
            if (p.block_id !== undefined) { layer.resetFeatureStyle(p.block_id); }
            layer._map.closeTooltip(tip);
          });
          layer.on('click', function (e) {
            var p = e.layer.properties || {}, at = e.latlng, props = {};
            if (p.block_id !== undefined) { props.block_id = p.block_id; }
            e.layer.toGeoJSON = function () {
              return {type: 'Feature', properties: props, geometry: {type: 'Point', coordinates: [at.lng, at.lat]}};
            };
            // an overview cell: zoom in to the blocks it averages
            if (p.t_cell !== undefined) { layer._map.setView(at, Math.max(opts.detailZoom, layer._map.getZoom() + 1)); }
          });
          if (opts.detailZoom > opts.minzoom) {
            // below the blocks' zoom the tiles hold the overview's cells: say so while they are shown
            var note = L.control({position: 'topright'});
            note.onAdd = function () {
              var div = L.DomUtil.create('div', 'ilots-overview-note');
              div.style.cssText = 'background:white;padding:4px 8px;border:1px solid #999;border-radius:4px;' +
                'font:12px sans-serif;color:#111;max-width:240px';
              div.textContent = opts.overviewNote;
              return div;
            };
            var shown = false;
            var sync = function () {
              var map = layer._map; if (!map) { return; }
              var want = map.hasLayer(layer) && map.getZoom() < opts.detailZoom;
              if (want && !shown) { note.addTo(map); shown = true; }
              if (!want && shown) { note.remove(); shown = false; }
            };
            layer.on('add', function () { layer._map.on('zoomend', sync); sync(); });
            layer.on('remove', function () {
              layer._map.off('zoomend', sync);
              if (shown) { note.remove(); shown = false; }
            });
          }
          return layer;
        })({{ this.url|tojson }}, {{ this.key|tojson }}, {{ this.fields|tojson }}, {{ this.opts|tojson }});
        {%- endmacro %}
        """
    )

    def __init__(self, url: str, tiles: TileSet, key: str, fields: dict[str, str], name: str, show: bool = True):
        super().__init__(url, name=name, show=show)
        self.url, self.key, self.tile_layer = url, key, TILE_LAYER
        self.fields = [[html.escape(k), html.escape(v)] for k, v in fields.items()]
        west, south, east, north = tiles.bounds_wgs84
        self.opts = {
            "minzoom": tiles.minzoom,
            "maxzoom": tiles.maxzoom,
            "noData": NO_DATA_COLOUR,
            "bounds": [[south, west], [north, east]],  # no request for a tile outside the territory
            "detailZoom": tiles.first_block_zoom,
            "overviewNote": OVERVIEW_NOTE.format(cell=fr.num(tiles.overview_cell_m or OVERVIEW_MIN_CELL_M, 0)),
        }


def add_tile_layer(
    m: folium.Map,
    url: str,
    tiles: TileSet,
    key: str,
    layer: Layer,
    lo: float,
    hi: float,
    missing: bool,
    tooltip_fields: dict[str, str],
    show: bool = True,
) -> BlockTileLayer:
    """Add the layer ``key`` of ``tiles`` (served at ``url``, a ``…/{z}/{x}/{y}.pbf`` template, written by
    :func:`block_tile_frame` with ``layer`` coloured on ``lo``–``hi``) and its legend (``missing``: some blocks are
    grey); the tooltip shows ``tooltip_fields``, which the tiles must carry."""
    tile_layer = BlockTileLayer(url, tiles, key, tooltip_fields, layer.title, show=show)
    tile_layer.add_to(m)
    _layer_legend(m, layer, lo, hi, missing)
    return tile_layer


def session_copy(m: folium.Map) -> folium.Map:
    """A copy of a cached map for one session: rendering mutates the map's element tree, but the
    GeoJSON payloads (the bulk of the memory) are only read, so they are shared, not copied."""
    import copy

    memo = {}
    for el in _walk(m):
        data = getattr(el, "data", None)
        if isinstance(data, dict) and "features" in data:
            memo[id(data)] = data
        styles = getattr(el, "_frozen_styles", None)
        if styles is not None:  # computed once, then read only: shared by every session
            memo[id(styles)] = styles
        text = getattr(el, "data_json", None)
        if text is not None:
            memo[id(text)] = text
    return copy.deepcopy(m, memo)


DELTA_MAX_POLYGONS = 1500  # the delta map is redrawn at every slider move: keep it light


def delta_map(blocks: gpd.GeoDataFrame, delta: pd.Series, bounds_wgs84) -> folium.Map:
    """Scenario map: ΔLST (°C) of the changed blocks only (NaN elsewhere), cooling in blue; beyond
    :data:`DELTA_MAX_POLYGONS` changed blocks, a 250 m grid of mean ΔLST."""
    m = base_map(bounds_wgs84)
    d = delta.reindex(blocks.index)
    lo = float(min(d.min(), -0.1)) if d.notna().any() else -1.0
    changed = d.notna()
    frame = blocks.loc[changed].assign(delta_c=d[changed]) if changed.any() else blocks.iloc[:0].assign(delta_c=[])
    layer = Layer("delta_c", "Variation de température de surface", "°C", "Blues_r")
    add_block_layer(
        m,
        frame,
        layer,
        lo,
        0.0,
        tooltip_fields={"block_id": "Îlot", "delta_c": "Variation", "lst_mean_c": "Température actuelle"},
        max_polygons=DELTA_MAX_POLYGONS,
    )
    folium.LayerControl(collapsed=True).add_to(m)
    return localise_assets(m)


def residual_map(blocks: gpd.GeoDataFrame, residual: pd.Series, bounds_wgs84) -> folium.Map:
    """Observed minus predicted LST (°C) per block, diverging blue–red on a scale symmetric about 0 (the 2nd–98th
    percentile of |residual|, at least ±0,5 °C); blocks outside the fit are grey."""
    m = base_map(bounds_wgs84)
    res = residual.reindex(blocks.index)
    lim = float(max(abs(res.quantile(0.02)), abs(res.quantile(0.98)), 0.5)) if res.notna().any() else 0.5
    add_block_layer(
        m,
        blocks.assign(residual_c=res),
        Layer("residual_c", "Résidu", "°C", "RdBu_r"),
        -lim,
        lim,
        tooltip_fields={"block_id": "Îlot", "residual_c": "Résidu", "lst_mean_c": "Observé"},
    )
    return localise_assets(m)


COMPARED = {
    "lst": ("lst_before_c", "lst_after_c", Layer("lst", "Température de surface", "°C", "magma")),
    "risk": ("risk_class_before", "risk_class_after", Layer("risk", "Risque de chaleur", "classe", "risk")),
}


def comparison_maps(
    blocks: gpd.GeoDataFrame, per_block: pd.DataFrame, bounds_wgs84, kind: str = "lst"
) -> tuple[folium.Map, folium.Map]:
    """Today and with a scenario (``per_block``: :meth:`ilots.scenarios.ScenarioEngine.apply`), on one colour
    scale: surface temperature (°C, ``kind="lst"``) or risk class (``"risk"``). The blocks the scenario changes
    are outlined on the second map."""
    before_col, after_col, layer = COMPARED[kind]
    frame = blocks[[blocks.geometry.name]].assign(
        **{c: per_block[c].reindex(blocks.index) for c in dict.fromkeys(("lst_before_c", before_col, after_col))}
    )
    lo, hi = display_range(frame[before_col]) if kind == "lst" and frame[before_col].notna().any() else (None, None)
    maps = []
    for col, name in ((before_col, "Aujourd'hui"), (after_col, "Avec le scénario")):
        m = base_map(bounds_wgs84)
        shown = Layer(col, f"{layer.title} — {name.lower()}", layer.unit, layer.palette)
        fields = {"block_id": "Îlot", "lst_before_c": "Température actuelle", col: f"{layer.title} ({name.lower()})"}
        add_block_layer(m, frame, shown, lo, hi, name=name, tooltip_fields=fields)
        maps.append(m)
    changed = per_block["changed"].reindex(blocks.index).fillna(False).to_numpy(dtype=bool)
    if changed.any():
        outline = display_frame(frame[changed], [])
        folium.GeoJson(
            json.loads(outline.geometry.to_json()),
            name="Îlots modifiés",
            interactive=False,
            style_function=lambda _f: {"color": "#000000", "weight": 1.6, "fill": False},
        ).add_to(maps[1])
    for m in maps:
        folium.LayerControl(collapsed=True).add_to(m)
    return localise_assets(maps[0]), localise_assets(maps[1])


HIGHLIGHT_COLOUR = "#00e5ff"  # cyan outline over a black halo: visible on every palette used here


def highlight_block(m: folium.Map, geometry, crs, label: str, max_zoom: int = 17) -> folium.Map:
    """Outline one block (``geometry`` in ``crs``) with a halo and zoom the map on it (street level, at most
    ``max_zoom``: that of the vector tiles when the blocks are drawn from them). ``label`` is escaped into its
    tooltip."""
    g = gpd.GeoSeries([geometry], crs=crs).to_crs(4326)
    data = json.loads(g.to_json())
    for colour, weight in (("#000000", 7), (HIGHLIGHT_COLOUR, 3.5)):
        folium.GeoJson(
            data,
            name="Îlot choisi",
            control=False,
            interactive=False,
            style_function=lambda _f, c=colour, w=weight: {"color": c, "weight": w, "fill": False},
        ).add_to(m)
    west, south, east, north = g.total_bounds
    centre = g.iloc[0].representative_point()
    folium.CircleMarker(
        [centre.y, centre.x],
        radius=7,
        color="#000000",
        weight=2,
        fill=True,
        fill_color=HIGHLIGHT_COLOUR,
        fill_opacity=1.0,
        tooltip=html.escape(label),
    ).add_to(m)
    _fit_at_once(m, [[south, west], [north, east]], max_zoom=max_zoom, padding=(40, 40))
    return m


def _draw_tool(m: folium.Map) -> None:
    """Leaflet.draw's polygon and rectangle tools (offline assets), top left."""
    Draw(
        export=False,
        position="topleft",
        draw_options={
            "polyline": False,
            "rectangle": True,
            "circle": False,
            "marker": False,
            "circlemarker": False,
            "polygon": True,
        },
        edit_options={"edit": False},
    ).add_to(m)


def works_map(
    blocks: gpd.GeoDataFrame,
    works: gpd.GeoDataFrame,
    verdicts: dict[str, tuple[str, str]],
    bounds_wgs84,
    controls: list[str] | None = None,
    draw: bool = False,
) -> folium.Map:
    """The completed projects coloured by verdict (``verdicts``: project id → (key, French label)), the controls
    of one project in blue, and a legend; ``draw`` adds the polygon tool to draw a new project. Names and
    labels are escaped before they reach a tooltip."""
    m = base_map(bounds_wgs84)
    if controls:
        chosen = blocks.loc[[c for c in controls if c in blocks.index]].to_crs(4326)
        folium.GeoJson(
            json.loads(gpd.GeoDataFrame(geometry=chosen.geometry.values, crs=4326).to_json()),
            name="Îlots témoins",
            style_function=lambda _f: {"color": "#2171b5", "weight": 1.5, "fillColor": "#9ecae1", "fillOpacity": 0.5},
            tooltip=None,
        ).add_to(m)
    if len(works):
        shown = works.to_crs(4326)
        frame = gpd.GeoDataFrame(
            {
                "nom": [html.escape(str(n)) for n in works["name"]],
                "verdict": [html.escape(verdicts.get(i, ("too_early", "—"))[1]) for i in works.index],
                "colour": [VERDICT_COLOURS.get(verdicts.get(i, ("too_early", ""))[0], "#7f7f7f") for i in works.index],
            },
            geometry=shown.geometry.values,
            crs=4326,
        )
        folium.GeoJson(
            json.loads(frame.to_json()),
            name="Réalisations",
            style_function=lambda f: {
                "color": "#000000",
                "weight": 2,
                "fillColor": f["properties"]["colour"],
                "fillOpacity": 0.6,
            },
            tooltip=folium.GeoJsonTooltip(["nom", "verdict"], aliases=["Projet", "Verdict"], labels=True),
        ).add_to(m)
        west, south, east, north = shown.total_bounds
        _fit_at_once(m, [[south, west], [north, east]], max_zoom=16, padding=(30, 30))
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{c};border:1px solid #333;'
        f'margin-right:6px;vertical-align:middle"></span>{html.escape(label)}</div>'
        for key, c in VERDICT_COLOURS.items()
        for label in {v[1] for v in verdicts.values() if v[0] == key}
    )
    if controls:
        rows += (
            '<div><span style="display:inline-block;width:14px;height:14px;background:#9ecae1;border:1px solid '
            '#2171b5;margin-right:6px;vertical-align:middle"></span>îlots témoins du projet choisi</div>'
        )
    if rows:
        m.get_root().html.add_child(
            folium.Element(
                '<div class="ilots-legend" style="position:absolute;right:12px;bottom:24px;z-index:9999;'
                "background:white;padding:6px 10px;border:1px solid #999;border-radius:4px;font:13px sans-serif;"
                f'color:#111;max-width:260px"><b>Suivi des réalisations</b>{rows}</div>'
            )
        )
    if draw:
        _draw_tool(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return localise_assets(m)


def refuge_map(blocks: gpd.GeoDataFrame, walk_m: pd.Series, refuges: gpd.GeoDataFrame, bounds_wgs84) -> folium.Map:
    """Walking distance (m) from each block to the nearest cool refuge (0 to 1 000 m, the far end clipped),
    and the refuges themselves: parks and water outlined in green, cool buildings as points."""
    m = base_map(bounds_wgs84)
    add_block_layer(
        m,
        blocks.assign(refuge_walk_m=walk_m.reindex(blocks.index)),
        Layer("refuge_walk_m", "Distance à pied d'un refuge frais", "m", "viridis"),
        0.0,
        1000.0,
        tooltip_fields={"block_id": "Îlot", "refuge_walk_m": "À pied", "residents": "Habitants"},
    )
    if len(refuges):
        shown = refuges.to_crs(4326)
        areal = shown.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        folium.GeoJson(
            json.loads(gpd.GeoDataFrame(geometry=shown.geometry.values[areal], crs=4326).to_json()),
            name="Refuges frais (parcs, bois, eau)",
            style_function=lambda _f: {"color": "#1b7837", "weight": 2, "fillColor": "#a6dba0", "fillOpacity": 0.35},
        ).add_to(m)
        for geom, name in zip(shown.geometry.values[~areal], shown["name"].to_numpy()[~areal], strict=True):
            folium.CircleMarker(
                [geom.y, geom.x],
                radius=6,
                color="#1b7837",
                fill=True,
                fill_opacity=0.9,
                tooltip=html.escape(str(name) if name is not None and not pd.isna(name) else "Bâtiment frais"),
            ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return localise_assets(m)


DAY_TITLE = "Jour : surface vers 11 h solaires (Landsat)"
NIGHT_TITLE = "Nuit : surface vers 22 h solaires (Sentinel-3, ≈ 1 km)"
LCZ_TITLE = "Nuit : tendance de la zone climatique locale (LCZ)"


def _night_fields(frame: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    """Tooltip fields of the day and night maps, and of the agreement map."""
    fields = {"block_id": "Îlot", "day_lst_c": "Jour (≈ 11 h)", "night_lst_c": "Nuit (≈ 22 h)", "lcz_name": "LCZ"}
    fields = {k: v for k, v in fields.items() if k == "block_id" or k in frame}
    fields["day_night"] = "Jour et nuit"
    agree = {"block_id": "Îlot", "day_night": "Jour et nuit", "day_lst_c": "Jour (≈ 11 h)"}
    if "night_lst_c" in frame:
        agree["night_lst_c"] = "Nuit (≈ 22 h)"
    return fields, agree


def night_tile_layers(blocks: gpd.GeoDataFrame, night: pd.DataFrame) -> tuple[gpd.GeoDataFrame, TileLayers, dict]:
    """(blocks joined with ``night``, the layers of :func:`day_night_maps` and :func:`day_night_map` with their
    colour ranges, the union of their tooltip fields): what the night maps' vector tiles carry."""
    frame = blocks[[blocks.geometry.name]].join(night)  # « unknown » agreement: grey, named in the tooltip
    layers: TileLayers = {"day": (Layer("day_lst_c", DAY_TITLE, "°C", "magma"), *display_range(frame["day_lst_c"]))}
    if "night_lst_c" in frame and frame["night_lst_c"].notna().any():
        night_layer = Layer("night_lst_c", NIGHT_TITLE, "°C", "magma")
        layers["night"] = (night_layer, *display_range(frame["night_lst_c"]))
    else:
        layers["night"] = (Layer("lcz_tendency", LCZ_TITLE, "", "lcz_tendency"), 0.0, 1.0)
    layers["day_night"] = (Layer("day_night", "Jour et nuit, par tiers des îlots", "", "day_night"), 0.0, 1.0)
    fields, agree = _night_fields(frame)
    return frame, layers, {**fields, **agree}


def _night_layer_map(
    frame: gpd.GeoDataFrame,
    bounds_wgs84,
    key: str,
    layers: TileLayers,
    fields: dict[str, str],
    tiles: tuple[str, TileSet] | None,
) -> folium.Map:
    m = base_map(bounds_wgs84, prefer_canvas=tiles is None)
    layer, lo, hi = layers[key]
    if tiles is not None:
        add_tile_layer(m, *tiles, key, layer, lo, hi, _has_missing(frame, layer), fields)
    else:
        add_block_layer(m, frame, layer, lo, hi, tooltip_fields=fields)
    folium.LayerControl(collapsed=True).add_to(m)
    return localise_assets(m)


def day_night_maps(
    blocks: gpd.GeoDataFrame, night: pd.DataFrame, bounds_wgs84, tiles: tuple[str, TileSet] | None = None
) -> tuple[folium.Map, folium.Map]:
    """The observed day surface temperature beside the night layer (``night``: the table of
    :func:`ilots.analysis.night_territory`): night surface temperature where Sentinel-3 nights were added, else
    the LCZ tendency. Each map has its own colour scale (day and night temperatures differ by 20 °C or more).
    ``tiles``: the vector tiles of :func:`night_tile_layers` (else the blocks are inlined as GeoJSON)."""
    frame, layers, _ = night_tile_layers(blocks, night)
    fields, _ = _night_fields(frame)
    return (
        _night_layer_map(frame, bounds_wgs84, "day", layers, fields, tiles),
        _night_layer_map(frame, bounds_wgs84, "night", layers, fields, tiles),
    )


def day_night_map(
    blocks: gpd.GeoDataFrame, night: pd.DataFrame, bounds_wgs84, tiles: tuple[str, TileSet] | None = None
) -> folium.Map:
    """Where day and night agree or not (:func:`ilots.night.day_night_classes`), one colour a class."""
    frame, layers, _ = night_tile_layers(blocks, night)
    _, agree = _night_fields(frame)
    return _night_layer_map(frame, bounds_wgs84, "day_night", layers, agree, tiles)


FACILITY_COLOURS = {
    "creche": "#e7298a",
    "ecole": "#1b9e77",
    "college_lycee": "#66a61e",
    "personnes_agees": "#7570b3",
    "sante": "#d95f02",
}


def add_facilities_layer(m: folium.Map, facilities: gpd.GeoDataFrame, exposure: pd.DataFrame) -> None:
    """Sensitive facilities as points coloured by kind, each with an escaped tooltip (name, kind, surface
    temperature of its block and around it, risk class), in one layer « Établissements sensibles »."""
    from .facilities import KINDS

    if facilities is None or not len(facilities):
        return
    group = folium.FeatureGroup(name="Établissements sensibles", show=True)
    pts = facilities.geometry.reindex(exposure.index).representative_point().to_crs(4326)
    for (_, r), p in zip(exposure.iterrows(), pts.values, strict=True):
        name = r["name"] if isinstance(r["name"], str) and r["name"] else "sans nom"
        risk = CLASS_LABELS.get(int(r["risk_class"]), "—") if pd.notna(r.get("risk_class")) else "non évalué"
        tip = (
            f"<b>{html.escape(name)}</b><br>{html.escape(KINDS.get(r['kind'], r['kind']))}<br>"
            f"Îlot : {html.escape(fr.temp(r['lst_block_c']))}, "
            f"100 m alentour : {html.escape(fr.temp(r['lst_around_c']))}"
            f"<br>Risque : {html.escape(risk)}"
        )
        folium.CircleMarker(
            [p.y, p.x],
            radius=7,
            color="#ffffff",
            weight=2,
            fill=True,
            fill_color=FACILITY_COLOURS.get(r["kind"], "#333333"),
            fill_opacity=0.95,
            tooltip=folium.Tooltip(tip),
        ).add_to(group)
    group.add_to(m)
    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;border-radius:6px;background:{c};'
        f'margin-right:6px;vertical-align:middle"></span>{html.escape(KINDS[k])}</div>'
        for k, c in FACILITY_COLOURS.items()
        if (exposure["kind"] == k).any()
    )
    m.get_root().html.add_child(
        folium.Element(
            '<div class="ilots-legend" style="position:absolute;top:90px;left:12px;z-index:9999;background:white;'
            'padding:6px 10px;border:1px solid #999;border-radius:4px;font:12px sans-serif;color:#111">'
            f"<b>Établissements sensibles</b>{rows}</div>"
        )
    )
