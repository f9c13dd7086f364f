"""Static maps of a territory for print (matplotlib): the briefing PDF and the PNG a planner puts in a report.

Each map carries what a reader needs to read it alone: place names (communes, quarters or streets, see
:func:`place_labels`), a legend that includes the grey of blocks without a value, a scale bar in metres and
the date of the measurement. Geometries are in the territory's working CRS (metres). No Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import textwrap
from dataclasses import dataclass

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import fr
from .maps import LAYERS, Layer, display_range, no_data_label
from .maps import RISK_NO_DATA as _RISK_NO_DATA
from .risk import CLASS_LABELS, NO_DATA_COLOUR, RISK_COLOURS

__all__ = [
    "new_figure",
    "renderer_of",
    "risk_legend",
    "sources_text",
    "PlaceLabel",
    "place_labels",
    "class_colours",
    "draw_blocks",
    "draw_place_names",
    "draw_scale_bar",
    "risk_handles",
    "layer_note",
    "map_png",
]

EDGE = "#666666"
# A column of block attributes that names places (IRIS, quarters, communes), as the build keeps them (attr_*).
_PLACE_COLUMN = re.compile(
    r"(^|_)(nom|name|libelle|lib|quartier|commune|com|iris|secteur|arrondissement)(_|$)", re.IGNORECASE
)


_ROLE_LABELS = {
    "bdtopo": "BD TOPO (IGN)",
    "buildings": "bâtiments fournis",
    "landcover": "occupation du sol",
    "ndvi": "indice de végétation",
    "population": "population (INSEE)",
    "blocks": "îlots fournis",
}


def new_figure(size_in: tuple[float, float], dpi: float = 100) -> Figure:
    """A figure of its own with an Agg canvas: no pyplot state shared between the server's threads, and text
    measured by the same renderer whatever backend another figure or a PDF export used before."""
    fig = Figure(figsize=size_in, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def renderer_of(fig: Figure):
    """The Agg renderer of a figure made by :func:`new_figure` (text sizes in display pixels)."""
    return fig.canvas.get_renderer()


def sources_text(manifest: dict, dates: str) -> str:
    """The sources of a territory in one French phrase (``dates``: the acquisition dates, already in French)."""
    if manifest.get("synthetic"):
        return "données synthétiques générées par Îlots (ville fictive)"
    roles = [s["role"] for s in manifest.get("sources", [])]
    parts = [f"température de surface Landsat (USGS, {dates})"]
    parts += [_ROLE_LABELS[r] for r in dict.fromkeys(roles) if r in _ROLE_LABELS]
    return " ; ".join(parts)


@dataclass(frozen=True)
class PlaceLabel:
    """A name to print at (``x``, ``y``) in the blocks' CRS; ``weight`` orders them (area or length, m² or m)."""

    name: str
    x: float
    y: float
    weight: float


def _spread(candidates: list[PlaceLabel], min_gap_m: float, limit: int) -> list[PlaceLabel]:
    """The heaviest candidates, none closer than ``min_gap_m`` to one already kept."""
    kept: list[PlaceLabel] = []
    for c in sorted(candidates, key=lambda c: -c.weight):
        if all(np.hypot(c.x - k.x, c.y - k.y) >= min_gap_m for k in kept):
            kept.append(c)
        if len(kept) == limit:
            break
    return kept


def _named_areas(blocks: gpd.GeoDataFrame) -> list[PlaceLabel]:
    """Quarters or communes named in the blocks' text attributes: the coarsest naming column with at least
    two names (« Lyon 1er Arrondissement » before the IRIS « Terreaux-Bât d'Argent »)."""
    columns = [
        c
        for c in blocks.columns
        if c.startswith("attr_") and _PLACE_COLUMN.search(c[5:]) and not pd.api.types.is_numeric_dtype(blocks[c])
    ]
    by_coarseness = sorted(columns, key=lambda c: blocks[c].nunique())
    for col in by_coarseness:
        names = blocks[col].dropna().astype(str).str.strip()
        names = names[names != ""]
        if names.nunique() < 2:
            continue
        groups = blocks.loc[names.index].assign(_place=names).dissolve(by="_place")
        out = []
        for name, geom in zip(groups.index, groups.geometry, strict=True):
            parts = list(getattr(geom, "geoms", [geom]))
            largest = max(parts, key=lambda g: g.area)
            pt = largest.representative_point()
            out.append(PlaceLabel(str(name), pt.x, pt.y, float(geom.area)))
        return out
    return []


def place_labels(blocks: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None = None, limit: int = 8) -> list[PlaceLabel]:
    """Place names for a static map of ``blocks``, spread over it, heaviest first.

    In order of preference: the communes when the territory spans several (``streets`` rows of kind
    « commune »), else quarters named in the blocks (IRIS, quarter or commune names the build kept as
    ``attr_*``), else the longest named streets. Empty when the territory names nothing."""
    if blocks.empty:
        return []
    xmin, ymin, xmax, ymax = blocks.total_bounds
    gap = max(xmax - xmin, ymax - ymin) / 6.0
    streets = streets if streets is not None and not streets.empty and "name" in streets else None
    if streets is not None and streets.crs is not None and blocks.crs is not None and streets.crs != blocks.crs:
        streets = streets.to_crs(blocks.crs)
    kinds = streets["kind"] if streets is not None and "kind" in streets else None
    if streets is not None and kinds is not None and (kinds == "commune").sum() >= 2:
        communes = streets[kinds == "commune"]
        points = communes.geometry.representative_point()
        cands = [
            PlaceLabel(str(n), p.x, p.y, float(a))
            for n, p, a in zip(communes["name"], points, communes.geometry.area, strict=True)
        ]
        return _spread(cands, gap, limit)
    areas = _named_areas(blocks)
    if areas:
        return _spread(areas, gap, limit)
    if streets is None:
        return []
    roads = streets[kinds == "rue"] if kinds is not None else streets
    extent = shapely.box(xmin, ymin, xmax, ymax)
    cands = []
    for name, geom in zip(roads["name"], roads.geometry, strict=True):
        inside = geom.intersection(extent) if geom is not None else None
        if inside is None or inside.is_empty or inside.length <= 0:
            continue
        line = max(getattr(inside, "geoms", [inside]), key=lambda g: g.length)
        pt = shapely.line_interpolate_point(line, 0.5, normalized=True)
        cands.append(PlaceLabel(str(name), pt.x, pt.y, float(inside.length)))
    return _spread(cands, gap, limit)


def class_colours(classes: pd.Series) -> np.ndarray:
    """The colour of each block's risk class (1–5), grey for « non évaluable » or missing."""
    known = pd.to_numeric(classes, errors="coerce").fillna(0).astype(int)
    return known.map(RISK_COLOURS).fillna(NO_DATA_COLOUR).to_numpy()


def block_colours(values: pd.Series, layer: Layer) -> tuple[np.ndarray, matplotlib.cm.ScalarMappable | None]:
    """One colour per block (grey where the value is missing) and, for a continuous layer, its scale (the web
    maps' range, :func:`ilots.maps.display_range`; shares in %)."""
    if layer.palette == "risk":
        return class_colours(values), None
    factor = 100.0 if layer.percent else 1.0
    v = pd.to_numeric(values, errors="coerce").astype("float64") * factor
    lo, hi = (factor * r for r in display_range(values))
    mappable = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(lo, hi), colormaps[layer.palette])
    rgba = mappable.to_rgba(np.clip(v.to_numpy(), lo, hi))
    colours = np.array([matplotlib.colors.to_hex(c) for c in rgba], dtype=object)
    colours[~np.isfinite(v.to_numpy())] = NO_DATA_COLOUR
    return colours, mappable


def draw_blocks(ax, blocks: gpd.GeoDataFrame, colours, outline=None) -> None:
    """Blocks filled with ``colours`` (one per block); ``outline`` (boolean per block) is drawn in black."""
    blocks.plot(ax=ax, color=list(colours), edgecolor=EDGE, linewidth=0.15)
    if outline is not None and np.any(outline):
        blocks[np.asarray(outline, dtype=bool)].boundary.plot(ax=ax, color="black", linewidth=0.6)
    xmin, ymin, xmax, ymax = blocks.total_bounds
    pad = 0.02 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - 0.08 * (ymax - ymin), ymax + pad)  # room for the scale bar under the blocks
    ax.set_aspect("equal")
    ax.set_axis_off()


def draw_place_names(ax, labels: list[PlaceLabel], fontsize: float = 7.0, wrap: int = 18) -> list:
    """Print ``labels`` on a light box, dropping any that would overlap a text already on the map (another name,
    the scale bar) or leave it."""
    fig = ax.figure
    renderer = renderer_of(fig)
    frame = ax.get_window_extent(renderer)
    kept = []
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    for lab in labels:
        text = ax.text(
            lab.x,
            lab.y,
            "\n".join(textwrap.wrap(lab.name, wrap)),
            fontsize=fontsize,
            ha="center",
            va="center",
            color="#111111",
            fontweight="bold",
            zorder=5,
            # a light box, not a path-effect halo: a halo turns the text into paths in a PDF, which
            # can then be neither searched nor read out
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.72},
        )
        box = text.get_window_extent(renderer).expanded(1.08, 1.15)
        inside = box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1
        if not inside or any(box.overlaps(b) for b in boxes):
            text.remove()
            continue
        kept.append(text)
        boxes.append(box)
    return kept


def draw_scale_bar(ax, blocks: gpd.GeoDataFrame, fontsize: float = 7.0) -> None:
    """A scale bar of a round length (1, 2 or 5 × 10ⁿ m, about a fifth of the map) under the blocks."""
    xmin, ymin, xmax, ymax = blocks.total_bounds
    target = (xmax - xmin) / 5
    base = 10 ** np.floor(np.log10(target))
    bar = max(m * base for m in (1, 2, 5) if m * base <= target)
    y = ymin - (ymax - ymin) * 0.035
    ax.plot([xmin, xmin + bar], [y, y], color="black", lw=2, solid_capstyle="butt")
    ax.text(
        xmin + bar + (xmax - xmin) * 0.01,
        y,
        f"{fr.num(bar / 1000, 1 if bar % 1000 else 0)} km" if bar >= 1000 else f"{fr.num(bar, 0)} m",
        fontsize=fontsize,
        va="center",
    )


def risk_handles() -> list[Patch]:
    """Legend patches of the five classes, highest first, then the grey of « non évaluable »."""
    handles = [Patch(facecolor=RISK_COLOURS[k], edgecolor=EDGE, label=CLASS_LABELS[k]) for k in range(5, 0, -1)]
    return [*handles, Patch(facecolor=NO_DATA_COLOUR, edgecolor=EDGE, label=_RISK_NO_DATA)]


_NOTES = {
    "lst": "Température de surface mesurée par satellite (Landsat) {dates}, vers 11 h solaire, moyenne par îlot hors "
    "eau : celle des toits, des sols et de la végétation, pas celle de l'air ni de la nuit ; résolution "
    "thermique d'environ 100 m.",
    "risk": "Indice de risque 0–100 (température de surface {dates} × habitants × vulnérabilité), en cinq classes ; "
    "les seuils sont des choix d'Îlots, pas des seuils publiés.",
    "p_high": "Probabilité que l'îlot soit en risque élevé ou très élevé, compte tenu de l'erreur de température et "
    "des réglages de l'indice (température de surface {dates}).",
}


def layer_note(layer_key: str, dates: str) -> str:
    """What a map of ``layer_key`` shows and its limits, in one French paragraph (``dates`` already in French)."""
    layer = LAYERS[layer_key]
    default = f"{layer.title} par îlot ({layer.unit}), d'après les couches de la construction du territoire."
    return _NOTES.get(layer_key, default).format(dates=dates)


def risk_legend(ax, title: str, loc: str) -> None:
    """The risk classes and the no-data grey as a three-column legend filling ``ax`` (whose frame is hidden)."""
    ax.set_axis_off()
    ax.legend(
        handles=risk_handles(),
        loc=loc,
        ncols=3,
        fontsize=7.5,
        frameon=False,
        title=title,
        title_fontsize=7.5,
        alignment="left",
        borderaxespad=0,
        handlelength=1.4,
        columnspacing=1.5,
    )


def map_png(
    blocks: gpd.GeoDataFrame,
    layer_key: str,
    title: str,
    note: str,
    streets: gpd.GeoDataFrame | None = None,
    credit: str = "",
    dpi: int = 150,
) -> bytes:
    """A PNG map of one layer of :data:`ilots.maps.LAYERS` (``blocks`` must hold its column), for a report:
    title, ``note`` (dates, what the value is), place names, legend with the no-data grey, scale bar, credit."""
    layer = LAYERS[layer_key]
    values = blocks[layer.column] if layer.column in blocks else pd.Series(np.nan, index=blocks.index)
    colours, mappable = block_colours(values, layer)
    fig = new_figure((8.0, 8.6), dpi)
    fig.text(0.04, 0.965, title, fontsize=14, fontweight="bold", va="top")
    fig.text(0.04, 0.925, "\n".join(textwrap.wrap(note, 110)), fontsize=8, color="#333333", va="top")
    ax = fig.add_axes((0.04, 0.16, 0.92, 0.72))
    draw_blocks(ax, blocks, colours)
    draw_scale_bar(ax, blocks)
    draw_place_names(ax, place_labels(blocks, streets))
    legend_ax = fig.add_axes((0.04, 0.075, 0.92, 0.07))
    legend_ax.set_axis_off()
    if mappable is None:
        risk_legend(legend_ax, f"{layer.title} (classe)", "center left")
    else:
        cax = fig.add_axes((0.04, 0.11, 0.5, 0.018))
        bar = fig.colorbar(mappable, cax=cax, orientation="horizontal")
        bar.set_label(f"{layer.title} ({layer.unit})", fontsize=8)
        bar.ax.tick_params(labelsize=7)
        digits = 0 if mappable.norm.vmax - mappable.norm.vmin >= 10 else 1
        bar.ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: fr.num(v, digits)))
        if values.isna().any():
            legend_ax.legend(
                handles=[Patch(facecolor=NO_DATA_COLOUR, edgecolor=EDGE, label=no_data_label(layer))],
                loc="center right",
                fontsize=7.5,
                frameon=False,
            )
    fig.text(
        0.04,
        0.03,
        "\n".join(textwrap.wrap(f"{credit} Îlots, édité le {fr.date_fr(dt.date.today())}.".strip(), 140)),
        fontsize=6.5,
        color="#555555",
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
