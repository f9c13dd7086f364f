"""Cool refuges within walking distance: who lives more than a few minutes' walk from a cool place?

Refuges (:class:`RefugeRules`, adjustable): wooded parks and woods of at least 0,5 ha and water bodies of
at least 0,5 ha from BD TOPO (``zone_de_vegetation``, ``surface_hydrographique``), and cool public buildings
the territory gives as points (libraries, churches, museums, air-conditioned rooms). Walking distances run
along the BD TOPO road network (``troncon_de_route``, motorways and ferries left out) as a graph: one
Dijkstra (scipy's sparse-graph shortest paths) from a hub joined to every refuge's entrances by the walk
into the refuge, then each block goes from its representative point to the nearest street, along it to
either end, and on through the network.
Distances in metres, working CRS; « 300 m » is about 5 minutes at 4 km/h.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

__all__ = [
    "NEAR_M",
    "RefugeRules",
    "WalkGraph",
    "refuge_access",
    "refuges_from_bdtopo",
    "walk_graph",
    "walking_distance",
]

NEAR_M = 300.0  # about 5 minutes' walk at 4 km/h
WALK_SPEED_M_PER_MIN = 4000.0 / 60.0


@dataclass(frozen=True)
class RefugeRules:
    """What counts as a cool refuge, and how one is reached (all adjustable; docs/places.md)."""

    min_green_m2: float = 5_000.0  # wooded park or wood of at least 0,5 ha
    min_water_m2: float = 5_000.0
    not_wooded: tuple[str, ...] = ("haie", "lande ligneuse", "vigne")  # BD TOPO natures that give no shade
    entrance_m: float = 30.0  # a network node this close to a refuge's edge is one of its entrances
    point_reach_m: float = 150.0  # a refuge point farther than this from any street is not reachable on foot
    no_walking: tuple[str, ...] = ("type autoroutier", "bretelle", "bac ou liaison maritime", "bac")


def refuges_from_bdtopo(
    vegetation: gpd.GeoDataFrame | None,
    water: gpd.GeoDataFrame | None,
    points: gpd.GeoDataFrame | None = None,
    rules: RefugeRules = RefugeRules(),
) -> gpd.GeoDataFrame:
    """The refuges: ``kind`` (« parc ou bois », « eau », « bâtiment frais »), ``name`` and geometry (polygons
    for parks and water, dissolved so a wood cut in pieces counts as one; points for buildings)."""
    parts = []
    if vegetation is not None and len(vegetation):
        nature = vegetation.get("nature", pd.Series("", index=vegetation.index)).astype("string").str.lower()
        wooded = vegetation[~nature.fillna("").isin(rules.not_wooded)]
        parts.append(_dissolved(wooded, rules.min_green_m2, "parc ou bois"))
    if water is not None and len(water):
        parts.append(_dissolved(water, rules.min_water_m2, "eau"))
    if points is not None and len(points):
        name = points["name"] if "name" in points else points.get("nom", pd.Series(None, index=points.index))
        parts.append(
            gpd.GeoDataFrame(
                {"kind": "bâtiment frais", "name": name.astype("string").to_numpy()},
                geometry=points.geometry.values,
                crs=points.crs,
            )
        )
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame({"kind": [], "name": []}, geometry=[], crs=getattr(vegetation, "crs", None))
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=parts[0].crs)


def _dissolved(polygons: gpd.GeoDataFrame, min_m2: float, kind: str) -> gpd.GeoDataFrame:
    merged = shapely.get_parts(shapely.union_all(polygons.geometry.values))
    merged = merged[shapely.area(merged) >= min_m2]
    return gpd.GeoDataFrame(
        {"kind": kind, "name": pd.array([None] * len(merged), dtype="string")}, geometry=merged, crs=polygons.crs
    )


@dataclass
class WalkGraph:
    """The walkable street network: nodes (m), segments between them, and a sparse matrix of their lengths."""

    xy: np.ndarray  # (n, 2) node coordinates
    seg_a: np.ndarray  # first and last node of each segment
    seg_b: np.ndarray
    segments: np.ndarray  # shapely LineStrings, one per segment
    lengths: sparse.csr_matrix
    tree: shapely.STRtree = field(repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.xy)

    def onto_streets(self, geoms) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For each geometry, its nearest segment and where: (segment, distance off the street, distance
        along the segment from its first node, from its last node)."""
        geoms = np.asarray(geoms)
        (which, seg), off = self.tree.query_nearest(geoms, return_distance=True, all_matches=False)
        order = np.argsort(which, kind="stable")
        seg, off = seg[order], off[order]
        lines = self.segments[seg]
        nearest = shapely.get_point(shapely.shortest_line(lines, geoms), 0)
        along = shapely.line_locate_point(lines, nearest)
        return seg, off, along, shapely.length(lines) - along


def walk_graph(roads: gpd.GeoDataFrame, rules: RefugeRules = RefugeRules()) -> WalkGraph:
    """The graph of ``roads`` (LineStrings, working CRS): every vertex a node (joined within 1 cm, as BD TOPO
    sections share their end points), every consecutive pair a segment of its length."""
    if "nature" in roads:
        roads = roads[~roads["nature"].astype("string").str.lower().fillna("").isin(rules.no_walking)]
    lines = shapely.get_parts(roads.geometry.values)
    lines = lines[shapely.get_type_id(lines) == 1]  # LineString
    coords, which = shapely.get_coordinates(lines, return_index=True)
    if len(coords) < 2:
        raise ValueError("no walkable street")
    keys = np.round(coords / 0.01).astype(np.int64)
    _, node, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    xy = coords[node]
    same_line = which[1:] == which[:-1]
    a, b = inverse[:-1][same_line], inverse[1:][same_line]
    keep = a != b
    a, b = a[keep], b[keep]
    segments = shapely.linestrings(np.stack([xy[a], xy[b]], axis=1))
    d = shapely.length(segments)
    n = len(xy)
    m = sparse.coo_matrix((np.r_[d, d], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
    m.sum_duplicates()
    return WalkGraph(xy, a, b, segments, m, shapely.STRtree(segments))


def _entrances(graph: WalkGraph, refuges: gpd.GeoDataFrame, rules: RefugeRules) -> dict[int, float]:
    """Network nodes from which refuges are reached, each with the walk (m) from it into the nearest refuge:
    along every segment passing within ``entrance_m`` of a park's or water's edge (or through it) to the
    point closest to it; for a refuge point, along its nearest street (within ``point_reach_m``) and across."""
    best: dict[int, float] = {}

    def offer(nodes, walks):
        for node, walk in zip(nodes.tolist(), walks.tolist(), strict=True):
            if walk < best.get(node, np.inf):
                best[node] = walk

    geoms = refuges.geometry.values
    areal = shapely.get_type_id(geoms) >= 3
    if areal.any():
        ref, seg = graph.tree.query(shapely.buffer(geoms[areal], rules.entrance_m), predicate="intersects")
        if len(seg):
            lines, targets = graph.segments[seg], geoms[areal][ref]
            touch = shapely.get_point(shapely.shortest_line(lines, targets), 0)
            along = shapely.line_locate_point(lines, touch)
            across = shapely.distance(touch, targets)
            offer(graph.seg_a[seg], along + across)
            offer(graph.seg_b[seg], shapely.length(lines) - along + across)
    if (~areal).any():
        seg, off, from_a, from_b = graph.onto_streets(geoms[~areal])
        ok = off <= rules.point_reach_m
        offer(graph.seg_a[seg[ok]], from_a[ok] + off[ok])
        offer(graph.seg_b[seg[ok]], from_b[ok] + off[ok])
    return best


def walking_distance(
    graph: WalkGraph, refuges: gpd.GeoDataFrame, origins, rules: RefugeRules = RefugeRules()
) -> np.ndarray:
    """Walking distance (m) from each origin (points, or (n, 2) coordinates) to the nearest refuge along the
    streets: from the origin to its nearest street, along it to either end, through the network, into the
    refuge. inf when no refuge is reachable."""
    origins = np.asarray(origins)
    if origins.ndim == 2 and origins.shape[1] == 2 and not isinstance(origins.flat[0], shapely.Geometry):
        origins = shapely.points(origins.astype("float64"))
    entrances = _entrances(graph, refuges, rules)
    if not entrances or len(origins) == 0:
        return np.full(len(origins), np.inf)
    n = graph.n_nodes
    nodes = np.fromiter(entrances.keys(), dtype=np.int64)
    walks = np.fromiter(entrances.values(), dtype="float64") + 1e-9  # a zero weight would vanish from the matrix
    hub = sparse.coo_matrix((walks, (np.full(len(nodes), n), nodes)), shape=(n + 1, n + 1))
    network = sparse.bmat([[graph.lengths, None], [None, sparse.csr_matrix((1, 1))]], format="csr") + hub.T + hub
    to_refuge = dijkstra(network, directed=False, indices=n)[:n]
    seg, off, from_a, from_b = graph.onto_streets(origins)
    return off + np.minimum(from_a + to_refuge[graph.seg_a[seg]], from_b + to_refuge[graph.seg_b[seg]])


def refuge_access(
    blocks: gpd.GeoDataFrame,
    graph: WalkGraph,
    refuges: gpd.GeoDataFrame,
    rules: RefugeRules = RefugeRules(),
) -> pd.DataFrame:
    """Per block: ``refuge_walk_m`` (0 for a block that touches a refuge) and ``refuge_walk_min`` (at 4 km/h)."""
    dist = walking_distance(graph, refuges, blocks.geometry.representative_point().values, rules)
    if len(refuges):
        inside = blocks.geometry.intersects(shapely.union_all(refuges.geometry.values)).to_numpy()
        dist = np.where(inside, 0.0, dist)
    dist = np.where(np.isfinite(dist), dist, np.nan)  # unreachable: unknown, never 0
    return pd.DataFrame({"refuge_walk_m": dist, "refuge_walk_min": dist / WALK_SPEED_M_PER_MIN}, index=blocks.index)


def far_from_refuges(access: pd.DataFrame, residents: pd.Series | None, near_m: float = NEAR_M) -> dict:
    """Territory figures: residents (or blocks) beyond ``near_m`` of a refuge, their share, and how many blocks
    could not be reached at all."""
    far = access["refuge_walk_m"] > near_m
    known = access["refuge_walk_m"].notna()
    out = {
        "near_m": near_m,
        "blocks_far": int(far.sum()),
        "blocks_known": int(known.sum()),
        "blocks_unreachable": int((~known).sum()),
    }
    if residents is not None and residents.notna().any():
        r = residents.reindex(access.index)
        out["residents_far"] = float(r[far].sum())
        out["residents_known"] = float(r[known].sum())
        out["share_residents_far"] = out["residents_far"] / out["residents_known"] if out["residents_known"] else None
    return out
