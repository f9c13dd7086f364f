"""Vector tiles of a territory's blocks: Mapbox Vector Tiles written once by GDAL's MVT driver (through pyogrio),
then served as static files, so a map page sends its geometry once per territory version instead of at every
Streamlit rerun (bench/RESULTS.md, "Maps that send little").

Tiles are in Web Mercator (EPSG:3857, the tiling scheme of every web map), one ``z/x/y.pbf`` file each,
uncompressed (a browser reads them with ``fetch`` without a gzip header). GDAL quantises each tile's geometry on
its 4,096-unit grid (0.2 m at zoom 15), so lower zooms carry lighter shapes without a separate simplification.
Writing goes to a temporary folder renamed into place: a reader never sees half a tile set, and two server
processes writing the same version at once keep one of them.

Zooms where blocks would be drawn a few pixels wide (a métropole seen whole) are written from an :class:`Overview`
instead, blocks aggregated on a grid of 250 m or more (:func:`ilots.maps.grid_overview`): a view of a
50,000-block territory then fetches a few hundred kilobytes instead of every block (bench/RESULTS.md). From
:func:`detail_zoom` up, every block is in the tiles.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import Transformer

from .errors import IlotsError

__all__ = [
    "TILE_LAYER",
    "MAX_ZOOM",
    "DETAIL_MIN_PX",
    "TileSet",
    "Overview",
    "zoom_range",
    "detail_zoom",
    "write_tiles",
    "read_tileset",
]

TILE_LAYER = "blocks"
# 0.2 m per tile unit at 45° N and 3.4 m a screen pixel: a 1 ha block is 30 px wide; beyond, Leaflet enlarges these
# tiles, whose 0.2 m units stay under a screen pixel up to zoom 19. Zoom 16 would cost as many tiles as all others
# together (writing 1.5× longer, bench/tiles.py) for no visible difference.
MAX_ZOOM = 15
# GDAL drops or simplifies features of a tile above MAX_SIZE bytes (default 500,000): never silently here.
_MAX_TILE_BYTES = 20_000_000
_INFO = "ilots_tiles.json"
# Blocks are drawn as themselves from the zoom where the median one is this wide on screen (about 44 px², a
# 1 ha block at zoom 13 around 45° N); below, the overview is drawn when there is one.
DETAIL_MIN_PX = 6.0
_EARTH_CIRCUMFERENCE_M = 2 * math.pi * 6_378_137.0  # Web Mercator's equator, in its own metres


class TileError(IlotsError):
    """Vector tiles could not be written or read."""


@dataclass(frozen=True)
class TileSet:
    """Tiles on disk: ``directory/{z}/{x}/{y}.pbf`` for ``minzoom``–``maxzoom``, layer :data:`TILE_LAYER`."""

    directory: Path
    minzoom: int
    maxzoom: int
    n_features: int
    n_tiles: int
    n_bytes: int
    bounds_wgs84: tuple[float, float, float, float]  # west, south, east, north (degrees)
    meta: dict  # what the writer asked to keep with the tiles (e.g. the territory they show)
    detail_zoom: int | None = None  # every block from this zoom up; below it, the overview (None: blocks throughout)
    overview_cell_m: float | None = None  # the overview's cell side (metres) when there is one

    @property
    def first_block_zoom(self) -> int:
        """The lowest zoom whose tiles hold the blocks themselves."""
        return self.minzoom if self.detail_zoom is None else self.detail_zoom


def zoom_range(bounds_wgs84, viewport_px: int = 1024, below: int = 3) -> tuple[int, int]:
    """(min zoom, max zoom) of a territory's tiles: from ``below`` zooms under the one where the territory
    fills ``viewport_px`` pixels (a phone shows it one or two zooms lower than a desktop) up to :data:`MAX_ZOOM`.

    Web Mercator: the world is 256 × 2^z pixels wide at zoom z."""
    west, south, east, north = (float(v) for v in bounds_wgs84)
    span_x = max(east - west, 1e-9) / 360.0

    def merc(lat: float) -> float:
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)

    span_y = max(merc(north) - merc(south), 1e-9)
    fit = math.floor(math.log2(viewport_px / (256 * max(span_x, span_y))))
    lo = max(0, min(fit - below, MAX_ZOOM))
    return lo, MAX_ZOOM


@dataclass(frozen=True)
class Overview:
    """What the zooms below :func:`detail_zoom` show instead of the blocks: ``frame``'s square cells of ``cell_m``
    metres (any CRS), with the same properties as the blocks' frame."""

    frame: gpd.GeoDataFrame
    cell_m: float


def detail_zoom(mercator: gpd.GeoSeries | gpd.GeoDataFrame, min_px: float = DETAIL_MIN_PX) -> int:
    """The lowest zoom at which the median polygon of ``mercator`` (EPSG:3857) is at least ``min_px`` pixels wide
    (the side of a square of its area). Both the polygon and the pixel are measured in Web Mercator metres, so the
    latitude's stretch cancels out: a pixel at zoom z is 40,075 km / (256 × 2^z) of them."""
    areas = np.asarray(mercator.area, dtype="float64")
    areas = areas[np.isfinite(areas) & (areas > 0)]
    if not len(areas):
        return MAX_ZOOM
    side = math.sqrt(float(np.median(areas)))
    return max(0, min(MAX_ZOOM, math.ceil(math.log2(_EARTH_CIRCUMFERENCE_M * min_px / (256.0 * side)))))


def _write_mvt(mercator: gpd.GeoDataFrame, out: Path, minzoom: int, maxzoom: int, extent: int = 4096) -> None:
    import uuid

    import pyogrio

    # GDAL gathers the features of every tile in a temporary SQLite database before writing the tiles; in memory
    # (a name of its own, freed by GDAL when the tiles are written) rather than on disk beside them: the same
    # tiles byte for byte, 20 % sooner for the demo town (0.33 → 0.27 s, at the first view of its map)
    pyogrio.write_dataframe(
        mercator,
        out,
        driver="MVT",
        layer=TILE_LAYER,
        dataset_options={
            "MINZOOM": minzoom,
            "MAXZOOM": maxzoom,
            "COMPRESS": "NO",
            "MAX_SIZE": _MAX_TILE_BYTES,
            "MAX_FEATURES": max(200_000, len(mercator)),
            "FORMAT": "DIRECTORY",
            "EXTENT": extent,
            "TEMPORARY_DB": f"/vsimem/ilots-tiles-{uuid.uuid4().hex}.db",
        },
    )


def _merge_metadata(detail: Path, overview: Path, minzoom: int) -> None:
    """GDAL's ``metadata.json`` of the blocks' tiles, extended to the overview's zooms and fields (GDAL reads a tile's
    fields from it)."""
    meta = json.loads(detail.read_text(encoding="utf-8"))
    layers = json.loads(meta["json"])
    fields = json.loads(json.loads(overview.read_text(encoding="utf-8"))["json"])["vector_layers"][0]["fields"]
    for layer in layers["vector_layers"]:
        layer["minzoom"] = minzoom
        layer["fields"] = {**fields, **layer["fields"]}
    meta["minzoom"], meta["json"] = minzoom, json.dumps(layers)
    detail.write_text(json.dumps(meta), encoding="utf-8")


def write_tiles(
    frame: gpd.GeoDataFrame,
    directory: Path,
    minzoom: int | None = None,
    maxzoom: int = MAX_ZOOM,
    meta: dict | None = None,
    overview: Overview | None = None,
) -> TileSet:
    """Write ``frame`` (any CRS; its attributes become the features' properties, None/NaN left out) as vector
    tiles in ``directory`` (replaced if it exists). Zooms default to :func:`zoom_range` of the frame's extent;
    ``meta`` (JSON) is kept beside the tiles and given back by :func:`read_tileset`. ``overview`` (any CRS), when
    given, fills the zooms below :func:`detail_zoom` of ``frame`` instead of ``frame`` itself."""
    if frame.crs is None or (overview is not None and overview.frame.crs is None):
        raise TileError("the frame to tile has no CRS")
    if not len(frame) or (overview is not None and not len(overview.frame)):
        raise TileError("no feature to tile")
    mercator = frame.to_crs(3857)
    # Web Mercator maps x to longitude and y to latitude alone: its bounding box gives the exact one in degrees
    west, south, east, north = mercator.total_bounds
    lons, lats = Transformer.from_crs(3857, 4326, always_xy=True).transform([west, east], [south, north])
    bounds = (float(lons[0]), float(lats[0]), float(lons[1]), float(lats[1]))
    if minzoom is None:
        minzoom = zoom_range(bounds)[0]
    minzoom = min(minzoom, maxzoom)
    first_block = min(max(detail_zoom(mercator), minzoom), maxzoom) if overview is not None else minzoom
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tiles-", dir=directory.parent))
    out = work / "tiles"
    try:
        _write_mvt(mercator, out, first_block, maxzoom)
        if first_block > minzoom:  # the overview's zooms, moved beside the blocks' ones
            # cells are squares several pixels wide: 2 units a pixel (extent 512) instead of 16 keep their tiles light
            _write_mvt(overview.frame.to_crs(3857), work / "overview", minzoom, first_block - 1, extent=512)
            for z in range(minzoom, first_block):
                if (work / "overview" / str(z)).exists():
                    os.replace(work / "overview" / str(z), out / str(z))
            _merge_metadata(out / "metadata.json", work / "overview" / "metadata.json", minzoom)
        n_tiles = n_bytes = 0
        for root, _, files in os.walk(out):
            for name in files:
                if name.endswith(".pbf"):
                    n_tiles += 1
                    n_bytes += os.path.getsize(os.path.join(root, name))
        if n_tiles == 0:
            raise TileError("GDAL wrote no tile")
        info = {"minzoom": minzoom, "maxzoom": maxzoom, "n_features": len(frame), "bounds_wgs84": bounds}
        info["detail_zoom"] = first_block if first_block > minzoom else None
        info["overview_cell_m"] = overview.cell_m if first_block > minzoom else None
        info.update(n_tiles=n_tiles, n_bytes=n_bytes, meta=meta or {})
        (out / _INFO).write_text(json.dumps(info), encoding="utf-8")
        if directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
        try:
            os.replace(out, directory)
        except OSError:
            if not (directory / _INFO).exists():  # another process won the race with the same tiles: keep theirs
                raise
    except TileError:
        raise
    except Exception as exc:  # GDAL's own errors: keep the cause, say what failed
        raise TileError(f"vector tiles could not be written in {directory}: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return read_tileset(directory)


def read_tileset(directory: Path) -> TileSet:
    """The :class:`TileSet` written in ``directory`` by :func:`write_tiles`."""
    try:
        info = json.loads((Path(directory) / _INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TileError(f"no complete tile set in {directory}") from exc
    return TileSet(
        Path(directory),
        int(info["minzoom"]),
        int(info["maxzoom"]),
        int(info["n_features"]),
        int(info["n_tiles"]),
        int(info["n_bytes"]),
        tuple(info["bounds_wgs84"]),
        dict(info.get("meta") or {}),
        None if info.get("detail_zoom") is None else int(info["detail_zoom"]),
        None if info.get("overview_cell_m") is None else float(info["overview_cell_m"]),
    )
