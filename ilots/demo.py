"""The demo territory: a synthetic French town, generated deterministically and labelled
"données synthétiques" wherever it appears.

The generator writes the files a real territory arrives as, then builds them through the same
readers as real data:

- a Landsat 9 Collection 2 Level-2 scene folder in UTM 31N (``*_ST_B10.TIF`` DN,
  ``*_QA_PIXEL.TIF`` with a few clouds and their shadows, ``*_SR_B4/B5.TIF``, ``*_MTL.txt``
  and ``*_MTL.json``);
- a BD TOPO v3-style GeoPackage in Lambert-93 (batiment, zone_de_vegetation, troncon_de_route,
  troncon_de_voie_ferree, surface_hydrographique);
- an ESA WorldCover-style land-cover GeoTIFF (EPSG:4326, 10 m classes);
- an INSEE Filosofi-style 200 m population grid as CSV (``Idcar_200m`` ids in EPSG:3035).

The town (about 25 km² by default): a dense centre with tall perimeter blocks, mid-rise inner
districts, suburbs of detached houses with gardens, an industrial zone with dark flat roofs, a
river with quays and bridges, a railway, a central park, a wood and pocket squares, on an
irregular street grid with a ring boulevard.

Thermal model (documented, not fitted): each 10 m pixel gets a surface temperature by land-cover
class at ~11 h solar time on a hot summer day — trees 36.0 °C, grass/shrubs 39.5 °C, crops
40.0 °C, bare 42.0 °C, built/paved 42.5 °C, water 31.0 °C, dark industrial roofs +2.5 °C — so
replacing 10 % of sealed ground with tree canopy cools by about 0.65 °C, in line with the
−0.63 °C per +10 % tree cover of Yang et al. 2022 (Environ. Res. Lett., doi
10.1088/1748-9326/ac4c1c); treeless green is about half as effective as trees (Schwaab et al.
2021, Nat. Commun. 12:6763); water is about 7 °C below tree cover as in the real Lyon scene of
14 July 2022. The field is averaged to 30 m, blurred to the ~100 m thermal footprint of TIRS,
and given spatially correlated noise (σ ≈ 0.7 °C, ~250 m) and a gentle regional gradient.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.warp import reproject, transform_bounds
from scipy import ndimage

from .build import BuildInputs, build_territory
from .errors import BuildError
from .footprint import burn_shapes
from .progress import Progress, noop, within

__all__ = ["DEMO_NAME", "DemoSources", "generate_demo_sources", "build_demo", "demo_worker", "CLASS_LST_C"]

DEMO_NAME = "Îlotville"
ORIGIN_L93 = (516_000.0, 6_692_000.0)  # lower-left corner, Loire valley; the town itself is fictional
UTM_EPSG = 32631
PRODUCT_DATE = "2023-08-22"  # within the August 2023 heat wave in France
PRODUCT_ID = "LC09_L2SP_199027_20230822_20230823_02_T1"

# Surface temperature (°C) of a fully covered 10 m pixel, by WorldCover class (see module docstring).
CLASS_LST_C = {10: 36.0, 20: 39.5, 30: 39.5, 40: 40.0, 50: 42.5, 60: 42.0, 80: 31.0}
DARK_ROOF_EXTRA_C = 2.5
# Surface reflectance (red, near infrared) by class, for SR_B4 / SR_B5.
CLASS_REFLECTANCE = {
    10: (0.03, 0.36),
    20: (0.05, 0.30),
    30: (0.05, 0.30),
    40: (0.07, 0.28),
    50: (0.13, 0.19),
    60: (0.16, 0.22),
    80: (0.03, 0.01),
}

_STREET_NAMES = [
    "Victor Hugo",
    "Jean Jaurès",
    "Émile Zola",
    "de la République",
    "Pasteur",
    "Gambetta",
    "Voltaire",
    "des Tilleuls",
    "du Moulin",
    "Jules Ferry",
    "de la Gare",
    "Nationale",
    "des Écoles",
    "Carnot",
    "du Général de Gaulle",
    "de la Loire",
    "des Acacias",
    "Marie Curie",
    "Jean Moulin",
    "Paul Bert",
    "des Lilas",
    "Saint-Martin",
    "du Château",
    "George Sand",
    "Rabelais",
    "Balzac",
    "des Vignes",
    "de Verdun",
    "Anatole France",
    "Condorcet",
    "Descartes",
    "des Peupliers",
    "Lamartine",
    "du Port",
    "de la Paix",
    "Louise Michel",
    "Simone Veil",
    "des Cerisiers",
    "du Stade",
    "Colbert",
]


@dataclass
class DemoSources:
    folder: Path
    landsat: Path
    bdtopo: Path
    landcover: Path
    population: Path


def town_zone(x, y, L: float):
    """The demo town's zone at ``x``, ``y`` (m from its lower-left corner; side ``L`` m): 0 centre, 1 inner,
    2 suburbs, 3 industrial, 4 rural."""
    r = np.hypot(x - 0.46 * L, y - 0.56 * L) / L
    zone = np.where(r < 0.11, 0, np.where(r < 0.24, 1, 2))
    industrial = (x > 0.68 * L) & (y > 0.08 * L) & (y < 0.36 * L)
    zone = np.where(industrial, 3, zone)
    return np.where(r > 0.52, 4, zone)


class _Town:
    """Geometry of the synthetic town, in Lambert-93 metres relative to ``ORIGIN_L93``."""

    def __init__(self, size_km: float, rng: np.random.Generator):
        self.L = L = size_km * 1000.0
        self.rng = rng
        self.cx, self.cy = 0.46 * L, 0.56 * L
        self.x0, self.y0 = ORIGIN_L93
        self._river()
        self._streets()
        self._blocks()

    # -- layout --------------------------------------------------------------------------------
    def zone_of(self, x, y):
        """0 centre, 1 inner, 2 suburbs, 3 industrial, 4 rural (arrays of block centroids)."""
        return town_zone(x, y, self.L)

    def _river(self):
        L = self.L
        xs = np.linspace(-100, L + 100, 200)
        ys = 0.36 * L + 0.05 * L * np.sin(2 * np.pi * xs / (0.9 * L)) + 0.02 * L * np.sin(2 * np.pi * xs / (0.31 * L))
        self.river_line = shapely.LineString(np.column_stack([xs, ys]))
        self.river = self.river_line.buffer(45.0, cap_style="flat")

    def _axis(self, centre: float) -> np.ndarray:
        def spacing(d):
            return min(85.0 + 0.045 * d, 240.0)

        pos = [centre]
        p = centre
        while p < self.L + 150:
            p += spacing(p - centre) * self.rng.uniform(0.8, 1.2)
            pos.append(p)
        p = centre
        while p > -150:
            p -= spacing(centre - p) * self.rng.uniform(0.8, 1.2)
            pos.insert(0, p)
        return np.array(pos)

    def _streets(self):
        L, rng = self.L, self.rng
        X, Y = self._axis(self.cx), self._axis(self.cy)
        gx, gy = np.meshgrid(X, Y, indexing="ij")
        wx = 22 * np.sin(gy / 410.0 + 0.7) + 14 * np.sin(gx / 170.0) + rng.normal(0, 5, gx.shape)
        wy = 22 * np.sin(gx / 380.0 + 1.9) + 14 * np.sin(gy / 230.0) + rng.normal(0, 5, gy.shape)
        nx, ny = gx + wx, gy + wy
        segs, attrs = [], []
        ni, nj = nx.shape
        zone_nodes = self.zone_of(nx, ny)
        for horizontal in (True, False):
            for i in range(ni - (1 if horizontal else 0)):
                for j in range(nj - (0 if horizontal else 1)):
                    a = (nx[i, j], ny[i, j])
                    b = (nx[i + 1, j], ny[i + 1, j]) if horizontal else (nx[i, j + 1], ny[i, j + 1])
                    z = max(zone_nodes[i, j], zone_nodes[(i + 1, j) if horizontal else (i, j + 1)])
                    drop = {0: 0.0, 1: 0.05, 2: 0.14, 3: 0.30, 4: 0.45}[int(z)]
                    if rng.random() < drop:
                        continue
                    line_no = j if horizontal else i
                    major = line_no % 5 == 0
                    seg = shapely.LineString([a, b])
                    bridge = (not horizontal) and i % 4 == 0
                    if seg.intersects(self.river) and not bridge:
                        seg = seg.difference(self.river)
                        if seg.is_empty:
                            continue
                    kind = "Rue" if horizontal else "Avenue"
                    if major:
                        kind = "Boulevard" if horizontal else "Cours"
                    name = f"{kind} {_STREET_NAMES[line_no % len(_STREET_NAMES)]}"
                    if z == 4:
                        nature, width, name = "Chemin", 3.0, None
                    elif major:
                        nature, width = "Route à 2 chaussées", 14.0
                    else:
                        nature, width = "Route à 1 chaussée", {0: 7.0, 1: 7.0, 2: 5.5, 3: 7.0}[int(z)]
                    for part in getattr(seg, "geoms", [seg]):
                        segs.append(part)
                        attrs.append(
                            (nature, width, 2 if major else 1, name, 1 if bridge and part.intersects(self.river) else 0)
                        )
        ring = shapely.Point(self.cx, self.cy).buffer(0.30 * L, quad_segs=32).exterior
        ring = ring.difference(self.river)
        for part in getattr(ring, "geoms", [ring]):
            segs.append(part)
            attrs.append(("Route à 2 chaussées", 16.0, 4, "Boulevard Circulaire", 0))
        for side in (-1, 1):
            quay = self.river_line.offset_curve(side * 52.0)
            segs.append(quay)
            attrs.append(("Route à 1 chaussée", 7.0, 2, "Quai de la Loire" if side > 0 else "Quai Paul Bert", 0))
        roads = gpd.GeoDataFrame(
            attrs,
            columns=["nature", "largeur_de_chaussee", "nombre_de_voies", "nom_1_gauche", "position_par_rapport_au_sol"],
            geometry=segs,
            crs=2154,
        )
        roads["position_par_rapport_au_sol"] = roads["position_par_rapport_au_sol"].astype(str)
        dom = shapely.box(-50, -50, L + 50, L + 50)
        roads = roads[roads.intersects(dom)].copy()
        roads["geometry"] = roads.geometry.intersection(dom)
        self.roads = (
            roads[~roads.geometry.is_empty & roads.geom_type.isin(["LineString", "MultiLineString"])]
            .explode(index_parts=False)
            .reset_index(drop=True)
        )
        rail = shapely.LineString([(-50, 0.78 * L), (0.4 * L, 0.52 * L), (0.75 * L, 0.30 * L), (L + 50, 0.18 * L)])
        self.rail = gpd.GeoDataFrame({"nature": ["Principale"], "nombre_de_voies": [2]}, geometry=[rail], crs=2154)

    def _blocks(self):
        lines = (
            list(self.roads.geometry)
            + list(self.rail.geometry)
            + [self.river.exterior, shapely.box(0, 0, self.L, self.L).exterior]
        )
        polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.node(shapely.union_all(lines)))))
        polys = shapely.intersection(polys, shapely.box(0, 0, self.L, self.L))
        polys = polys[(shapely.area(polys) > 400) & ~shapely.within(shapely.centroid(polys), self.river)]
        cent = shapely.centroid(polys)
        x, y = shapely.get_x(cent), shapely.get_y(cent)
        zone = self.zone_of(x, y)
        rng = self.rng
        park = np.zeros(len(polys), dtype=bool)
        park |= np.hypot(x - (self.cx + 0.08 * self.L), y - (self.cy + 0.06 * self.L)) < 0.045 * self.L  # central park
        park |= (zone > 0) & (zone < 3) & (rng.random(len(polys)) < 0.05)  # pocket squares
        wood = np.hypot(x - 0.15 * self.L, y - 0.85 * self.L) < 0.12 * self.L
        self.blocks = gpd.GeoDataFrame({"zone": zone, "park": park & ~wood, "wood": wood}, geometry=polys, crs=2154)


def _ring_pieces(block, setback, depth, piece, rng):
    outer = block.buffer(-setback)
    inner = block.buffer(-(setback + depth))
    ring = outer.difference(inner)
    if ring.is_empty:
        return []
    xmin, ymin, xmax, ymax = ring.bounds
    ox, oy = rng.uniform(0, piece, 2)
    xs = np.arange(xmin - ox, xmax, piece)
    ys = np.arange(ymin - oy, ymax, piece)
    gx, gy = np.meshgrid(xs, ys)
    x0, y0 = gx.ravel(), gy.ravel()
    boxes = shapely.box(x0, y0, x0 + piece, y0 + piece)
    shapely.prepare(ring)
    hit = shapely.intersects(ring, boxes)
    return _clipped(boxes[hit], ring, 40.0)


def _clipped(boxes: np.ndarray, area, min_area: float) -> list:
    """The polygons of ``boxes`` ∩ ``area`` (prepared) larger than ``min_area`` m². A box inside ``area`` is kept
    as GEOS's intersection would give it (clockwise from its lower-left corner), without the overlay: the same
    coordinates, bit for bit, five times faster for the demo's detached houses."""
    inside = shapely.contains_properly(area, boxes)
    parts = shapely.box(*shapely.bounds(boxes).T, ccw=False)
    parts[~inside] = shapely.intersection(boxes[~inside], area)
    parts = shapely.get_parts(parts)
    parts = parts[shapely.get_type_id(parts) == 3]
    return list(parts[shapely.area(parts) > min_area])


def _scatter_boxes(block, setback, spacing, size, rng):
    interior = block.buffer(-setback)
    if interior.is_empty:
        return []
    xmin, ymin, xmax, ymax = interior.bounds
    xs = np.arange(xmin + spacing / 2, xmax, spacing)
    ys = np.arange(ymin + spacing / 2, ymax, spacing)
    if len(xs) == 0 or len(ys) == 0:
        return []
    gx, gy = np.meshgrid(xs, ys)
    px = gx.ravel() + rng.uniform(-spacing * 0.12, spacing * 0.12, gx.size)
    py = gy.ravel() + rng.uniform(-spacing * 0.12, spacing * 0.12, gy.size)
    shapely.prepare(interior)
    inside = shapely.contains_xy(interior, px, py)
    px, py = px[inside], py[inside]
    w = rng.uniform(size[0], size[1], len(px)) / 2
    h = rng.uniform(size[0], size[1], len(px)) / 2 * rng.uniform(0.7, 1.0, len(px))
    return _clipped(shapely.box(px - w, py - h, px + w, py + h), interior, 25.0)


def _buildings(town: _Town) -> gpd.GeoDataFrame:
    rng = town.rng
    geoms, heights, usages, natures, dark = [], [], [], [], []
    for block, zone, park, wood in zip(
        town.blocks.geometry, town.blocks["zone"], town.blocks["park"], town.blocks["wood"], strict=True
    ):
        if park or wood or zone == 4:
            continue
        if zone == 0:
            parts = _ring_pieces(block, 2.0, rng.uniform(11, 14), rng.uniform(13, 19), rng)
            h = rng.uniform(15, 28, len(parts))
            use = np.where(rng.random(len(parts)) < 0.3, "Commercial et services", "Résidentiel")
        elif zone == 1:
            parts = _ring_pieces(block, 3.0, rng.uniform(9, 12), rng.uniform(12, 18), rng)
            keep = rng.random(len(parts)) > 0.15
            parts = [p for p, k in zip(parts, keep, strict=True) if k]
            h = rng.uniform(8, 16, len(parts))
            use = np.where(rng.random(len(parts)) < 0.15, "Commercial et services", "Résidentiel")
        elif zone == 2:
            parts = _scatter_boxes(block, 6.0, rng.uniform(19, 25), (8.0, 12.5), rng)
            h = rng.uniform(4.5, 7.5, len(parts))
            use = np.full(len(parts), "Résidentiel", dtype=object)
        else:
            parts = _scatter_boxes(block, 12.0, rng.uniform(70, 95), (35.0, 65.0), rng)
            h = rng.uniform(7, 12, len(parts))
            use = np.full(len(parts), "Industriel", dtype=object)
        geoms += parts
        heights += list(np.round(h, 1))
        usages += list(use)
        natures += ["Industriel, agricole ou commercial" if zone == 3 else "Indifférenciée"] * len(parts)
        dark += [zone == 3] * len(parts)
    b = gpd.GeoDataFrame(
        {"nature": natures, "usage_1": usages, "hauteur": heights, "dark_roof": dark}, geometry=geoms, crs=2154
    )
    floors = np.maximum(1, np.round(b["hauteur"].to_numpy() / 3.0))
    b["nombre_d_etages"] = floors
    # Like the real BD TOPO (12 % null heights in Olemps), some heights are unknown.
    unknown = rng.random(len(b)) < 0.05
    b.loc[unknown, "hauteur"] = np.nan
    b.loc[unknown & (rng.random(len(b)) < 0.5), "nombre_d_etages"] = np.nan
    return b


def _vegetation(town: _Town) -> gpd.GeoDataFrame:
    blocks = town.blocks
    parks = blocks[blocks["park"]].geometry.buffer(-4)
    woods = blocks[blocks["wood"]].geometry.buffer(-3)
    geoms = list(parks) + list(woods)
    natures = ["Bois"] * len(parks) + ["Forêt fermée de feuillus"] * len(woods)
    veg = gpd.GeoDataFrame({"nature": natures}, geometry=geoms, crs=2154)
    return veg[~veg.geometry.is_empty & (veg.area > 0)].reset_index(drop=True)


# Sensitive facilities of the demo town, as BD TOPO « zone d'activité ou d'intérêt » (nature, catégorie, toponyme).
_PLACES = (
    ("Enseignement primaire", "Science et enseignement", "École élémentaire Jules-Ferry"),
    ("Enseignement primaire", "Science et enseignement", "École maternelle Les Tilleuls"),
    ("Enseignement primaire", "Science et enseignement", "Groupe scolaire du Canal"),
    ("Enseignement secondaire", "Science et enseignement", "Collège George-Sand"),
    ("Maison de retraite", "Santé", "EHPAD Les Glycines"),
    ("Maison de retraite", "Santé", "Résidence La Bréme"),
    ("Hôpital", "Santé", "Centre hospitalier d'Îlotville"),
    ("Mairie", "Administratif ou militaire", "Hôtel de ville"),
)


def _places(town: _Town, seed: int) -> gpd.GeoDataFrame:
    """A few facilities on built blocks (their own random stream: the rest of the town is unchanged)."""
    rng = np.random.default_rng(seed + 16)
    built = town.blocks[~town.blocks["park"] & ~town.blocks["wood"] & (town.blocks.area > 4_000)]  # room inside
    chosen = rng.choice(len(built), size=min(len(_PLACES), len(built)), replace=False)
    geoms = [g.buffer(-12) for g in built.geometry.iloc[chosen]]
    rows = _PLACES[: len(geoms)]
    return gpd.GeoDataFrame(
        {"nature": [r[0] for r in rows], "categorie": [r[1] for r in rows], "toponyme": [r[2] for r in rows]},
        geometry=geoms,
        crs=2154,
    )


def _shift(gdf: gpd.GeoDataFrame, town: _Town) -> gpd.GeoDataFrame:
    out = gdf.copy()
    # one vectorised pass (GeoSeries.translate loops over the geometries in Python): same coordinates
    out["geometry"] = shapely.transform(out.geometry.values, lambda xy: xy + (town.x0, town.y0))
    return out


def _landcover_10m(town: _Town, buildings: gpd.GeoDataFrame, veg: gpd.GeoDataFrame):
    """Class raster (WorldCover codes) at 10 m on a local grid, plus a dark-roof mask."""
    rng = town.rng
    n = int(np.ceil(town.L / 30.0)) * 3
    transform = from_origin(0, n * 10.0, 10.0, 10.0)
    shape = (n, n)
    blocks = town.blocks
    zone_codes = np.where(blocks["wood"], 6, np.where(blocks["park"], 5, blocks["zone"]))
    zone = (
        rasterio.features.rasterize(
            burn_shapes(blocks.geometry.values, zone_codes + 1),
            out_shape=shape,
            transform=transform,
            fill=0,
            dtype="uint8",
        ).astype(int)
        - 1
    )  # -1 outside blocks (streets)
    noise = ndimage.gaussian_filter(rng.normal(size=shape), 2.5)
    q = (noise - noise.mean()) / noise.std()
    lc = np.full(shape, 30, dtype="uint8")
    tree_share = {0: 0.10, 1: 0.20, 2: 0.32, 3: 0.06, 4: 0.18, 5: 0.70, 6: 0.92}
    grass_share = {0: 0.03, 1: 0.10, 2: 0.55, 3: 0.10, 4: 0.0, 5: 0.28, 6: 0.08}
    base = {0: 50, 1: 50, 2: 30, 3: 50, 4: 40, 5: 30, 6: 10}
    from scipy.special import ndtri  # the normal quantile (scipy.stats.norm.ppf) without importing scipy.stats

    for z in range(7):
        m = zone == z
        lc[m] = base[z]
        t_thr = ndtri(1 - tree_share[z])
        g_thr = ndtri(1 - tree_share[z] - grass_share[z]) if tree_share[z] + grass_share[z] < 1 else -9
        lc[m & (q > g_thr)] = 30
        lc[m & (q > t_thr)] = 10
        if z == 3:
            lc[m & (q < -1.0)] = 60
    lc[zone == -1] = 50  # street space outside carriageways is paved
    roads = town.roads
    road_polys = shapely.buffer(
        roads.geometry.values, roads["largeur_de_chaussee"].to_numpy() / 2 + 2.0, cap_style="flat"
    )
    lc[
        rasterio.features.rasterize(burn_shapes(road_polys), out_shape=shape, transform=transform, dtype="uint8") == 1
    ] = 50
    rural = (
        np.hypot(*np.meshgrid(np.arange(n) * 10 + 5 - town.cx, (n - np.arange(n)) * 10 - 5 - town.cy)) / town.L > 0.52
    )
    lc[rural & (zone == -1)] = 40
    lc[
        rasterio.features.rasterize(
            burn_shapes(buildings.geometry.values), out_shape=shape, transform=transform, dtype="uint8"
        )
        == 1
    ] = 50
    lc[rasterio.features.rasterize([(town.river, 1)], out_shape=shape, transform=transform, dtype="uint8") == 1] = 80
    dark = rasterio.features.rasterize(
        burn_shapes(buildings.loc[buildings["dark_roof"]].geometry.values),
        out_shape=shape,
        transform=transform,
        dtype="uint8",
    ).astype(bool)
    return lc, dark, transform


def _to_30m(field10: np.ndarray) -> np.ndarray:
    n = field10.shape[0] // 3
    return field10.reshape(n, 3, n, 3).mean(axis=(1, 3))


def _write_tif(path: Path, arr: np.ndarray, transform, crs, nodata, tags: dict | None = None, **extra) -> None:
    profile = dict(
        driver="GTiff",
        height=arr.shape[0],
        width=arr.shape[1],
        count=1,
        dtype=arr.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
        compress="deflate",
        tiled=True,
        blockxsize=256,
        blockysize=256,
    )
    profile.update(extra)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
        if tags:
            dst.update_tags(1, **tags)


def _mtl_groups(bounds_utm, shape) -> dict:
    left, bottom, right, top = bounds_utm
    return {
        "PRODUCT_CONTENTS": {
            "ORIGIN": "Donnees synthetiques Ilots - scene fictive, pas un produit USGS",
            "LANDSAT_PRODUCT_ID": PRODUCT_ID,
            "PROCESSING_LEVEL": "L2SP",
            "COLLECTION_NUMBER": "02",
            "COLLECTION_CATEGORY": "T1",
            "FILE_NAME_BAND_4": f"{PRODUCT_ID}_SR_B4.TIF",
            "FILE_NAME_BAND_5": f"{PRODUCT_ID}_SR_B5.TIF",
            "FILE_NAME_BAND_ST_B10": f"{PRODUCT_ID}_ST_B10.TIF",
            "FILE_NAME_QUALITY_L1_PIXEL": f"{PRODUCT_ID}_QA_PIXEL.TIF",
        },
        "IMAGE_ATTRIBUTES": {
            "SPACECRAFT_ID": "LANDSAT_9",
            "SENSOR_ID": "OLI_TIRS",
            "WRS_PATH": "199",
            "WRS_ROW": "027",
            "DATE_ACQUIRED": PRODUCT_DATE,
            "SCENE_CENTER_TIME": "10:47:12.1234560Z",
            "CLOUD_COVER": "3.10",
        },
        "PROJECTION_ATTRIBUTES": {
            "MAP_PROJECTION": "UTM",
            "DATUM": "WGS84",
            "UTM_ZONE": "31",
            "REFLECTIVE_LINES": str(shape[0]),
            "REFLECTIVE_SAMPLES": str(shape[1]),
            "CORNER_UL_PROJECTION_X_PRODUCT": f"{left + 15:.3f}",
            "CORNER_UL_PROJECTION_Y_PRODUCT": f"{top - 15:.3f}",
        },
        "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS": {
            "REFLECTANCE_MULT_BAND_4": "2.75e-05",
            "REFLECTANCE_ADD_BAND_4": "-0.2",
            "REFLECTANCE_MULT_BAND_5": "2.75e-05",
            "REFLECTANCE_ADD_BAND_5": "-0.2",
        },
        "LEVEL2_SURFACE_TEMPERATURE_PARAMETERS": {
            "TEMPERATURE_MULT_BAND_ST_B10": "0.00341802",
            "TEMPERATURE_ADD_BAND_ST_B10": "149.0",
        },
        # As in real MTL files, Level-1 factors reuse the Level-2 key names with other values.
        "LEVEL1_RADIOMETRIC_RESCALING": {
            "REFLECTANCE_MULT_BAND_4": "2.0000E-05",
            "REFLECTANCE_ADD_BAND_4": "-0.100000",
        },
    }


def _write_mtl(folder: Path, groups: dict) -> None:
    lines = ["GROUP = LANDSAT_METADATA_FILE"]
    numeric = {
        "COLLECTION_NUMBER",
        "DATE_ACQUIRED",
        "CLOUD_COVER",
        "UTM_ZONE",
        "WRS_PATH",
        "WRS_ROW",
        "REFLECTIVE_LINES",
        "REFLECTIVE_SAMPLES",
    }
    for group, body in groups.items():
        lines.append(f"  GROUP = {group}")
        for k, v in body.items():
            bare = k in numeric or k.startswith(("REFLECTANCE_", "TEMPERATURE_", "CORNER_"))
            lines.append(f"    {k} = {v if bare else json.dumps(v)}")
        lines.append(f"  END_GROUP = {group}")
    lines += ["END_GROUP = LANDSAT_METADATA_FILE", "END", ""]
    (folder / f"{PRODUCT_ID}_MTL.txt").write_text("\n".join(lines), encoding="utf-8")
    # MTL.json holds every value as a string, like USGS's.
    (folder / f"{PRODUCT_ID}_MTL.json").write_text(json.dumps({"LANDSAT_METADATA_FILE": groups}), encoding="utf-8")


def _landsat(town: _Town, lc: np.ndarray, dark: np.ndarray, transform10, folder: Path) -> None:
    rng = town.rng
    # Thermal field on the local 30 m grid.
    t10 = np.zeros(lc.shape, dtype="float64")
    red10 = np.zeros(lc.shape)
    nir10 = np.zeros(lc.shape)
    for code, value in CLASS_LST_C.items():
        t10[lc == code] = value
        red10[lc == code], nir10[lc == code] = CLASS_REFLECTANCE[code]
    t10[dark] += DARK_ROOF_EXTRA_C
    t30 = ndimage.gaussian_filter(_to_30m(t10), 1.3, mode="nearest")
    noise = ndimage.gaussian_filter(rng.normal(size=t30.shape), 8.0, mode="wrap")
    t30 += 0.7 * noise / noise.std()
    n30 = t30.shape[0]
    yy, xx = np.mgrid[0:n30, 0:n30]
    t30 += 0.25 * (xx - yy) * 30.0 / 1000.0 / 2  # +0.25 °C per km toward the south-east
    water30 = _to_30m((lc == 80).astype(float)) > 0.5
    red30, nir30 = _to_30m(red10), _to_30m(nir10)
    # Local Lambert-93 grid of these arrays.
    local = from_origin(town.x0, town.y0 + n30 * 30.0, 30.0, 30.0)
    # A UTM 31N grid covering the town plus a margin, on Landsat's 30 m lattice (15 m offsets).
    left, bottom, right, top = transform_bounds(
        2154, UTM_EPSG, town.x0 - 300, town.y0 - 300, town.x0 + n30 * 30 + 300, town.y0 + n30 * 30 + 300
    )
    left, top = np.floor(left / 30) * 30 - 15, np.ceil(top / 30) * 30 + 15
    width, height = int(np.ceil((right - left) / 30)), int(np.ceil((top - bottom) / 30))
    utm = from_origin(left, top, 30.0, 30.0)

    def warp(arr, resampling=Resampling.bilinear, fill=np.nan):
        out = np.full((height, width), fill, dtype="float64")
        reproject(
            arr.astype("float64"),
            out,
            src_transform=local,
            src_crs=2154,
            dst_transform=utm,
            dst_crs=UTM_EPSG,
            resampling=resampling,
            src_nodata=np.nan,
            dst_nodata=fill,
        )
        return out

    t_utm, red_u, nir_u = warp(t30), warp(red30), warp(nir30)
    water_u = warp(water30.astype(float), Resampling.nearest, fill=0) > 0.5
    inside = np.isfinite(t_utm)
    # Clouds: two convective cells over the suburbs and their shadows (sun from the south-east).
    ux, uy = np.meshgrid(left + 30 * (np.arange(width) + 0.5), top - 30 * (np.arange(height) + 0.5))
    to_utm = Transformer.from_crs(2154, UTM_EPSG, always_xy=True)
    cloud = np.zeros((height, width), bool)
    dilated = np.zeros_like(cloud)
    shadow = np.zeros_like(cloud)
    for fx, fy, radius in ((0.82, 0.80, 0.05), (0.20, 0.15, 0.035)):
        cx, cy = to_utm.transform(town.x0 + fx * town.L, town.y0 + fy * town.L)
        d = np.hypot(ux - cx, uy - cy)
        r = radius * town.L
        cloud |= d < r
        dilated |= d < r + 90
        shadow |= np.hypot(ux - cx + 0.06 * town.L, uy - cy - 0.05 * town.L) < r
    qa = np.where(water_u, 21952, 21824).astype("uint16")
    qa[shadow] = 23888
    qa[dilated & ~cloud] = 21762
    qa[cloud] = 22280
    qa[~inside] = 1
    kelvin = t_utm + 273.15
    kelvin[cloud] = 268.0 + rng.normal(0, 1.5, int(cloud.sum()))
    kelvin[shadow & ~cloud] -= 4.0
    st = np.where(inside, np.round((kelvin - 149.0) / 0.00341802), 0).clip(0, 65535).astype("uint16")
    folder.mkdir(parents=True, exist_ok=True)
    _write_tif(folder / f"{PRODUCT_ID}_ST_B10.TIF", st, utm, UTM_EPSG, 0)
    _write_tif(folder / f"{PRODUCT_ID}_QA_PIXEL.TIF", qa, utm, UTM_EPSG, None)
    for band, refl in ((4, red_u), (5, nir_u)):
        refl = np.where(cloud, 0.45, refl)
        dn = np.where(inside, np.round((refl + 0.2) / 0.0000275), 0).clip(0, 65535).astype("uint16")
        _write_tif(folder / f"{PRODUCT_ID}_SR_B{band}.TIF", dn, utm, UTM_EPSG, 0)
    _write_mtl(folder, _mtl_groups((left, top - 30 * height, left + 30 * width, top), (height, width)))


def _write_landcover(lc: np.ndarray, town: _Town, path: Path) -> None:
    n = lc.shape[0]
    local = from_origin(town.x0, town.y0 + n * 10.0, 10.0, 10.0)
    left, bottom, right, top = transform_bounds(2154, 4326, town.x0, town.y0, town.x0 + n * 10, town.y0 + n * 10)
    res = 8.983152841195215e-05  # WorldCover's 10 m in degrees
    width, height = int(np.ceil((right - left) / res)), int(np.ceil((top - bottom) / res))
    dst_t = from_origin(left, top, res, res)
    out = np.zeros((height, width), dtype="uint8")
    reproject(
        lc,
        out,
        src_transform=local,
        src_crs=2154,
        dst_transform=dst_t,
        dst_crs=4326,
        resampling=Resampling.nearest,
        src_nodata=0,
        dst_nodata=0,
    )
    _write_tif(path, out, dst_t, 4326, 0)


def _population(town: _Town, buildings: gpd.GeoDataFrame, path: Path) -> None:
    rng = town.rng
    res = buildings[buildings["usage_1"] == "Résidentiel"]
    floors = res["nombre_d_etages"].fillna(np.round(res["hauteur"] / 3.0)).fillna(2).to_numpy()
    floor_area = res.area.to_numpy() * floors
    pts = res.geometry.centroid.to_crs(3035)
    cx = np.floor(pts.x.to_numpy() / 200.0) * 200.0
    cy = np.floor(pts.y.to_numpy() / 200.0) * 200.0
    df = pd.DataFrame({"n": cy, "e": cx, "floor": floor_area})
    cells = df.groupby(["n", "e"], as_index=False)["floor"].sum()
    ind = cells["floor"].to_numpy() / 42.0  # about 42 m² of floor area per resident
    # Older suburbs, younger centre; a poorer inner district east of the centre.
    centre_3035 = gpd.GeoSeries([shapely.Point(town.x0 + town.cx, town.y0 + town.cy)], crs=2154).to_crs(3035).iloc[0]
    r = np.hypot(cells["e"] + 100 - centre_3035.x, cells["n"] + 100 - centre_3035.y) / town.L
    old = np.clip(0.08 + 0.22 * r + rng.normal(0, 0.03, len(cells)), 0.04, 0.40)
    east = (cells["e"] + 100 - centre_3035.x > 0) & (r > 0.1) & (r < 0.3)
    poor = np.clip(np.where(east, 0.32, 0.11) + rng.normal(0, 0.04, len(cells)), 0.0, 0.6)
    men = ind / 2.1
    out = pd.DataFrame(
        {
            "Idcar_200m": [f"CRS3035RES200mN{int(n)}E{int(e)}" for n, e in zip(cells["n"], cells["e"], strict=True)],
            "Ind": np.round(ind, 1),
            "Men": np.round(men, 1),
            "Men_pauv": np.round(men * poor, 1),
            "Ind_65_79": np.round(ind * old * 0.72, 1),
            "Ind_80p": np.round(ind * old * 0.28, 1),
        }
    )
    out.to_csv(path, index=False)


# The synthetic town's side (km): below 1 km there is no street grid to cut blocks from.
DEMO_SIZE_KM = (1.0, 100.0)


def check_demo_size(size_km: float) -> None:
    """Refuse (:class:`BuildError`) a town side outside :data:`DEMO_SIZE_KM`."""
    lo, hi = DEMO_SIZE_KM
    if not isinstance(size_km, (int, float)) or not np.isfinite(size_km) or not lo <= size_km <= hi:
        raise BuildError(
            f"Côté de la ville de démonstration hors limites : {size_km!r} km (attendu entre {lo:g} et {hi:g} km)."
        )


def generate_demo_sources(folder: str | Path, size_km: float = 5.0, seed: int = 2154) -> DemoSources:
    """Write the demo's raw inputs in their official formats into ``folder``."""
    check_demo_size(size_km)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    town = _Town(size_km, rng)
    buildings = _buildings(town)
    veg = _vegetation(town)
    lc, dark, _ = _landcover_10m(town, buildings, veg)
    bdtopo = folder / "bdtopo_ilotville.gpkg"
    bdtopo.unlink(missing_ok=True)
    layers = {
        "batiment": buildings.drop(columns=["dark_roof"]),
        "zone_de_vegetation": veg,
        "troncon_de_route": town.roads,
        "troncon_de_voie_ferree": town.rail,
        "surface_hydrographique": gpd.GeoDataFrame(
            {"nature": ["Ecoulement naturel"], "nom": ["La Bréme"]},
            geometry=[town.river.intersection(shapely.box(0, 0, town.L, town.L))],
            crs=2154,
        ),
    }
    layers["zone_d_activite_ou_d_interet"] = _places(town, seed)
    for name, gdf in layers.items():
        _shift(gdf, town).to_file(bdtopo, layer=name, driver="GPKG", engine="pyogrio", use_arrow=True)
    landsat = folder / "landsat" / PRODUCT_ID
    _landsat(town, lc, dark, None, landsat)
    landcover = folder / "worldcover_ilotville_10m.tif"
    _write_landcover(lc, town, landcover)
    population = folder / "filosofi_200m_ilotville.csv"
    _population(town, _shift(buildings, town), population)
    (folder / "LISEZMOI.txt").write_text(
        "Données synthétiques générées par ilots.demo (ville fictive « Îlotville »).\n"
        "Aucune de ces données ne décrit un lieu réel. Formats : scène Landsat 9 C2 L2 (dossier landsat/),\n"
        "GeoPackage au schéma BD TOPO v3, raster d'occupation du sol aux classes ESA WorldCover,\n"
        "carroyage 200 m au format INSEE Filosofi (CSV).\n",
        encoding="utf-8",
    )
    return DemoSources(folder, landsat, bdtopo, landcover, population)


def build_demo(
    out: str | Path,
    size_km: float = 5.0,
    seed: int = 2154,
    progress: Progress | None = None,
    published: Callable[[Path], None] | None = None,
) -> Path:
    """Generate the demo sources inside ``out/sources``, build the territory ``out`` atomically, then add the
    demo's further layers to it (summers and completed works to monitor, the night layer, the crèches) as
    ``python -m ilots monitor``, ``night`` and ``facilities --save`` add them to a territory in use, each written
    atomically. ``published(out)`` is called in between: the territory can be shown from then on (the dashboard
    draws its first map while the layers are added).

    ``size_km`` is the side of the synthetic town, from 1 to 50 km."""
    progress = progress or noop
    check_demo_size(size_km)  # before staging: a refused size leaves ``out`` untouched

    def sources(tmp: Path) -> BuildInputs:
        progress("Génération de la ville synthétique", 0.0)
        src = generate_demo_sources(tmp / "sources", size_km=size_km, seed=seed)
        return BuildInputs(
            name=DEMO_NAME,
            lst=[str(src.landsat)],
            landcover=str(src.landcover),
            bdtopo=str(src.bdtopo),
            population=[str(src.population)],
            synthetic=True,
        )

    command = ["python", "-m", "ilots", "demo", "--out", str(out), "--size-km", str(size_km), "--seed", str(seed)]
    path = build_territory(sources, out, within(progress, 0.0, 0.9), command=command)
    if published is not None:
        published(path)
    progress("Étés de suivi et réalisations de démonstration", 0.9)
    add_monitoring_demo(path, seed=seed)
    progress("Couche de nuit de démonstration (Sentinel-3 et LCZ synthétiques)", 0.97)
    add_night_demo(path, seed=seed)
    add_creches_demo(path, seed=seed)
    progress("Territoire de démonstration prêt", 1.0)
    return path


def demo_worker(out: str, size_km: float = 5.0, emit=None) -> None:
    """:func:`build_demo` for a worker process (the dashboard prepares the demo in one when its server starts):
    each stage, ``("ready", "", None)`` once the territory is published, then done or a French error, told to
    ``emit`` (by default JSON lines on stdout, :func:`ilots.worker.run_reporting`)."""
    from .worker import run_reporting, to_stdout

    emit = emit or to_stdout

    def ready(path: Path) -> None:
        emit("ready", "", None)
        import os

        if hasattr(os, "nice"):
            os.nice(10)

    def task(progress: Progress) -> None:
        build_demo(out, size_km=size_km, progress=progress, published=ready)

    run_reporting(task, emit)


# -- Monitoring: several summers and three completed projects with known effects ------------------------------

DEMO_SUMMERS = tuple(range(2016, 2025))
DEMO_CLOUDED_SUMMER = 2021  # every scene of that summer under clouds: skipped, and said
# (name, kind, completion, area m², cost €, effect on its own ground °C, where: quantile of block LST)
DEMO_WORKS = (
    ("Parc des Tilleuls (plantation)", "plantation d'arbres", "2019-05-15", 50_000.0, 1_400_000.0, -4.0, 0.85),
    ("Toitures du quartier de la Gare", "toiture végétalisée", "2019-04-30", 30_000.0, 2_100_000.0, 0.0, 0.6),
    ("Cour oasis de l'école Jean-Jaurès", "désimperméabilisation", "2020-04-01", 3_000.0, 310_000.0, -2.5, 0.75),
)


def _project_sites(blocks: gpd.GeoDataFrame, bounds: tuple) -> list[tuple[int, shapely.Geometry]]:
    """(index in :data:`DEMO_WORKS`, square of its area) for each demo project that fits: on a block of the wanted
    temperature quantile, apart from the others and inside the town (a small town holds fewer)."""
    x0, y0, x1, y1 = bounds
    side = min(x1 - x0, y1 - y0)
    margin, spacing = min(400.0, side / 6), min(600.0, side / 4)
    inner = blocks[blocks.geometry.centroid.within(shapely.box(x0 + margin, y0 + margin, x1 - margin, y1 - margin))]
    inner = inner[inner["lst_mean_c"].notna()]
    sites: list[tuple[int, shapely.Geometry]] = []
    for k, (_, _, _, area, _, _, q) in enumerate(DEMO_WORKS):
        h = np.sqrt(area) / 2
        if inner.empty or 2 * h > side - 2 * margin:
            continue
        target = inner["lst_mean_c"].quantile(q)
        for bid in (inner["lst_mean_c"] - target).abs().sort_values().index:
            c = inner.geometry.loc[bid].centroid
            if all(c.distance(other.centroid) > spacing for _, other in sites):
                sites.append((k, shapely.box(c.x - h, c.y - h, c.x + h, c.y + h)))
                break
    return sites


def add_monitoring_demo(folder: str | Path, seed: int = 2154) -> dict:
    """Write the demo's summers (one LST GeoTIFF per summer, the format a user gives) and its completed works
    (a GeoPackage with French columns) into ``folder/sources``, then add them to the territory as
    ``python -m ilots monitor`` would. Each project's effect is applied on its own ground and blurred like the
    thermal band (σ ≈ 42,5 m): the park's is seen, the roofs have none, the schoolyard is too small."""
    from .footprint import THERMAL_PSF_SIGMA_M
    from .restat import add_summers
    from .sources.works import read_works
    from .store import load_territory, write_works_file
    from .zonal import coverage_weights

    folder = Path(folder)
    terr = load_territory(folder)
    grid = terr.lst()
    rng = np.random.default_rng(seed + 15)
    sites = _project_sites(terr.blocks, tuple(terr.manifest["bounds"]))
    placed = [DEMO_WORKS[k] for k, _ in sites]
    works = gpd.GeoDataFrame(
        {
            "nom": [w[0] for w in placed],
            "mesure": [w[1] for w in placed],
            "date_fin": [w[2] for w in placed],
            "surface_m2": [w[3] for w in placed],
            "cout_eur": [w[4] for w in placed],
        },
        geometry=[g for _, g in sites],
        crs=grid.rio.crs,
    )
    src = folder / "sources"
    works_path = src / "realisations_ilotville.gpkg"
    res = abs(grid.rio.resolution()[0])
    cover = np.zeros((0, *grid.shape))
    if len(works):
        works.to_file(works_path, layer="realisations", driver="GPKG", engine="pyogrio", use_arrow=True)
        cover = coverage_weights(grid, works).matrix.toarray().reshape(len(works), *grid.shape)
    seen = np.stack([ndimage.gaussian_filter(c, THERMAL_PSF_SIGMA_M / res, mode="constant") for c in cover])
    base = grid.values.astype("float64")
    paths = []
    for year in DEMO_SUMMERS:
        noise = ndimage.gaussian_filter(rng.normal(size=grid.shape), 4.0, mode="wrap")
        field = base + rng.normal(0.0, 1.2) + 0.35 * noise / noise.std()
        for k, (_, _, done, _, _, effect, _) in enumerate(placed):
            if dt.date(year, 6, 1) > dt.date.fromisoformat(done):
                field = field + effect * seen[k]
        if year == DEMO_CLOUDED_SUMMER:
            field = np.full(grid.shape, np.nan)
        path = src / "etes" / f"lst_ilotville_{year}-07-{10 + year % 15:02d}.tif"
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_tif(path, field.astype("float32"), grid.rio.transform(), grid.rio.crs, np.nan, tags={"units": "degC"})
        paths.append(str(path))
    summary = add_summers(terr, {None: paths})
    if len(works):
        write_works_file(folder, read_works(works_path, grid.rio.crs))
    return summary


# -- Crèches: the commune's own list (points), kept with the territory as `facilities --file … --save` does ------

DEMO_CRECHES = (
    ("Crèche collective Les Petits Pas", "Crèche collective municipale"),
    ("Halte-garderie du Canal", "Halte-garderie"),
    ("Crèche familiale Arc-en-ciel", "Crèche familiale"),
)


def add_creches_demo(folder: str | Path, seed: int = 2154) -> int:
    """Write the demo commune's list of crèches (``sources/creches_ilotville.gpkg``: points, French columns
    ``nom`` and ``type``, as communes publish them) and keep it with the territory."""
    from .facilities import read_facilities
    from .store import add_facilities, load_territory

    folder = Path(folder)
    terr = load_territory(folder)
    blocks = terr.blocks
    rng = np.random.default_rng(seed + 18)
    homes = blocks[(blocks["residents"].fillna(0) > 50) & (blocks["building_coverage"].fillna(0) > 0.15)]
    homes = homes if len(homes) >= len(DEMO_CRECHES) else blocks
    chosen = rng.choice(len(homes), size=min(len(DEMO_CRECHES), len(homes)), replace=False)
    path = folder / "sources" / "creches_ilotville.gpkg"
    path.unlink(missing_ok=True)
    gpd.GeoDataFrame(
        {"nom": [c[0] for c in DEMO_CRECHES[: len(chosen)]], "type": [c[1] for c in DEMO_CRECHES[: len(chosen)]]},
        geometry=homes.geometry.iloc[chosen].representative_point().values,
        crs=blocks.crs,
    ).to_file(path, layer="creches", driver="GPKG", engine="pyogrio", use_arrow=True)
    return add_facilities(folder, read_facilities(path, blocks.crs))


# -- Night layer: three Sentinel-3 SLSTR night granules and a GeoClimate LCZ layer ----------------------------

DEMO_NIGHTS = (("20230710T211512", 0.0), ("20230809T213048", 0.35), ("20230822T212236", 0.0))  # (start, clouds)
SLSTR_TRACK_DEG = -13.0  # the ascending track's heading over France, east of north
SLSTR_SPACING_M = 1000.0


def _smoothed(blocks: gpd.GeoDataFrame, column: str, at: np.ndarray, radius_m: float) -> np.ndarray:
    """Area-weighted mean of a block column within ``radius_m`` of each point of ``at`` (n × 2)."""
    from scipy.spatial import cKDTree

    c = blocks.geometry.centroid
    xy = np.column_stack([c.x, c.y])
    w = blocks["area_m2"].to_numpy(dtype="float64")
    v = blocks[column].fillna(0.0).to_numpy(dtype="float64")
    out = np.full(len(at), np.nan)
    for k, idx in enumerate(cKDTree(xy).query_ball_point(at, radius_m)):
        if idx:
            out[k] = np.average(v[idx], weights=w[idx])
    return out


def _lcz_codes(blocks: gpd.GeoDataFrame, zone: np.ndarray) -> np.ndarray:
    """A GeoClimate-style LCZ_PRIMARY code per block from its own features (1–10; 101–107 for A–G)."""
    cov = blocks["building_coverage"].fillna(0).to_numpy()
    h = blocks["building_height_m"].fillna(0).to_numpy()
    tree = blocks["tree_frac"].fillna(0).to_numpy()
    water = blocks["water_frac"].fillna(0).to_numpy()
    imperv = blocks["impervious_frac"].fillna(0).to_numpy()
    code = np.where(cov >= 0.35, np.where(h > 15, 2, 3), np.where(h > 12, 5, 6))
    code = np.where((cov < 0.1) & (imperv < 0.3), np.where(tree > 0.4, 101, 104), np.where(cov < 0.12, 9, code))
    code = np.where(zone == 3, 8, code)
    code = np.where(tree > 0.6, 101, code)
    return np.where(water > 0.5, 107, code)


def add_night_demo(folder: str | Path, seed: int = 2154) -> dict:
    """Write the demo's night layer in the formats a user gives — three Sentinel-3 SLSTR ``SL_2_LST`` night
    granules (``.SEN3`` folders of NetCDF, swath geometry, 1 km; one night partly clouded) and a GeoClimate
    ``rsu_lcz`` GeoPackage — into ``folder/sources/nuit``, then add them as ``python -m ilots night`` would.

    The synthetic night keeps the day's heat where the fabric is dense and tall (thermal mass), loses it over
    low, open paved zones and greenery, and stays mild over the river: the usual day/night disagreements."""

    from .night import add_night_inputs
    from .sources.slstr import write_slstr_granule
    from .store import load_territory

    folder = Path(folder)
    terr = load_territory(folder)
    blocks = terr.blocks
    rng = np.random.default_rng(seed + 17)
    x0, y0, x1, y1 = blocks.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0) / 2 + 3 * SLSTR_SPACING_M
    n = int(np.ceil(2 * half / SLSTR_SPACING_M))
    u, v = np.meshgrid(np.arange(n) * SLSTR_SPACING_M - half, half - np.arange(n) * SLSTR_SPACING_M)
    a = np.deg2rad(SLSTR_TRACK_DEG)
    px, py = cx + u * np.cos(a) + v * np.sin(a), cy - u * np.sin(a) + v * np.cos(a)
    at = np.column_stack([px.ravel(), py.ravel()])
    smooth = {c: _smoothed(blocks, c, at, 700.0) for c in ("built_volume_m3_per_m2", "tree_frac", "water_frac")}
    smooth["grass"] = _smoothed(blocks, "grass_frac", at, 700.0)
    smooth["near_water"] = _smoothed(blocks.assign(w=np.exp(-blocks["dist_water_m"] / 300.0)), "w", at, 700.0)
    base = (
        18.0
        + 0.55 * np.nan_to_num(smooth["built_volume_m3_per_m2"], nan=0.0)
        - 2.5 * np.nan_to_num(smooth["tree_frac"], nan=0.3)
        - 1.5 * np.nan_to_num(smooth["grass"], nan=0.3)
        + 3.0 * np.nan_to_num(smooth["water_frac"], nan=0.0)
        + 1.5 * np.nan_to_num(smooth["near_water"], nan=0.0)  # the river stays warmer than land at night
    ).reshape(px.shape)
    to_wgs = Transformer.from_crs(blocks.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(px, py)
    out = folder / "sources" / "nuit"
    granules = []
    for k, (start, clouds) in enumerate(DEMO_NIGHTS):
        night = base + rng.normal(0.0, 0.8) + rng.normal(0.0, 0.25, size=base.shape)
        cloudy = None
        if clouds:
            field = ndimage.gaussian_filter(rng.normal(size=base.shape), 2.0)
            cloudy = field > np.quantile(field, 1 - clouds)
        when = dt.datetime.strptime(start, "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
        stop = (when + dt.timedelta(minutes=3)).strftime("%Y%m%dT%H%M%S")
        name = f"S3{'AB'[k % 2]}_SL_2_LST____{start}_{stop}_{start[:8]}T235959_0179_0{k}1_{k}48_2340_PS1_O_NT_004.SEN3"
        granules.append(write_slstr_granule(out / name, lat, lon, night + 273.15, when, cloudy=cloudy))
    bounds = terr.manifest["bounds"]  # the town's square, its side ``L`` (see _Town)
    side = bounds[2] - bounds[0] - 100.0
    c = blocks.geometry.centroid
    zone = town_zone(c.x.to_numpy() - bounds[0] - 50.0, c.y.to_numpy() - bounds[1] - 50.0, side)
    lcz = gpd.GeoDataFrame(
        {"ID_RSU": np.arange(1, len(blocks) + 1), "LCZ_PRIMARY": _lcz_codes(blocks, zone)},
        geometry=blocks.geometry.values,
        crs=blocks.crs,
    )
    lcz_path = out / "rsu_lcz_ilotville.gpkg"
    lcz_path.unlink(missing_ok=True)
    lcz.to_file(lcz_path, layer="rsu_lcz", driver="GPKG", engine="pyogrio", use_arrow=True)
    return add_night_inputs(terr, slstr=[str(g) for g in granules], lcz=str(lcz_path))
