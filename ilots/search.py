"""Finding a place in a territory: street names offline, block names and ids, and (optionally)
the national address API (Base Adresse Nationale, api-adresse.data.gouv.fr) with a short timeout.

Offline search needs no network: it matches the road names the build stored (BD TOPO
``nom_1_gauche``...) and text attributes of user-provided blocks (IRIS names...), ignoring case,
accents and punctuation. Each hit points to the block nearest to it.
"""

from __future__ import annotations

import json
import re
import unicodedata
import urllib.error
import urllib.parse
import urllib.request

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import GeocodingUnavailable

__all__ = [
    "example_query",
    "GeocodingUnavailable",
    "normalise",
    "query_words",
    "streets_from_roads",
    "search_places",
    "geocode_address",
    "block_at",
    "block_near",
    "ADDRESS_API",
]

ADDRESS_API = "https://api-adresse.data.gouv.fr/search/"


def normalise(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: « Rue de l'Épée » → « rue de l epee »."""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def streets_from_roads(roads: gpd.GeoDataFrame | None, communes: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Searchable names: one row per street name (merged sections) and per commune, with ``kind``."""
    frames = []
    for layer, kind in ((roads, "rue"), (communes, "commune")):
        if layer is None or layer.empty or "nom" not in layer:
            continue
        named = layer[layer["nom"].notna() & (layer["nom"].astype(str).str.strip() != "")]
        if named.empty:
            continue
        merged = named.dissolve(by="nom").reset_index()
        frames.append(
            gpd.GeoDataFrame(
                {"name": merged["nom"].astype(str).to_numpy(), "kind": kind},
                geometry=merged.geometry.values,
                crs=layer.crs,
            )
        )
    if not frames:
        crs = roads.crs if roads is not None else (communes.crs if communes is not None else None)
        return gpd.GeoDataFrame({"name": [], "kind": []}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def example_query(blocks: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None = None) -> str:
    """A search a visitor can type in this territory (for the search box's placeholder): its longest named
    street, else a place name of its blocks (IRIS, quarter), else a block id."""
    if streets is not None and len(streets) and "name" in streets:
        kinds = streets["kind"] if "kind" in streets else pd.Series("rue", index=streets.index)
        roads = streets[kinds == "rue"]
        if len(roads):
            return str(roads["name"].iloc[int(np.argmax(roads.geometry.length.to_numpy()))])
    names = [c for c in blocks.columns if c.startswith("attr_") and not pd.api.types.is_numeric_dtype(blocks[c])]
    for col in sorted(names, key=lambda c: -blocks[c].nunique()):  # the finest naming first: one block, one answer
        values = blocks[col].dropna().astype(str).str.strip()
        values = values[(values != "") & (values.str.len() <= 40)]
        if values.nunique() > 1:
            return values.iloc[0]
    return str(blocks.index[0]) if len(blocks) else "rue Pasteur"


def block_at(blocks: gpd.GeoDataFrame, x: float, y: float) -> str | None:
    """Id of the block containing (x, y) in the blocks' CRS, else the nearest one."""
    if blocks.empty:
        return None
    pt = shapely.Point(x, y)
    hits = blocks.sindex.query(pt, predicate="intersects")
    if len(hits):
        return str(blocks.index[hits[0]])
    idx = blocks.sindex.nearest(pt, return_all=False)[1][0]
    return str(blocks.index[idx])


# Abbreviations of street types that are not prefixes of the word (« av » already finds « avenue »).
_ABBREVIATIONS = {
    "bd": "boulevard",
    "bld": "boulevard",
    "bvd": "boulevard",
    "st": "saint",
    "ste": "sainte",
    "fg": "faubourg",
    "fbg": "faubourg",
    "rte": "route",
    "crs": "cours",
    "sq": "square",
    "imp": "impasse",
}
_HOUSE_NUMBER = re.compile(r"^\d+[a-z]?$")
_NUMBER_SUFFIXES = {"bis", "ter", "quater", "b", "t", "q"}


def query_words(query: str) -> list[str]:
    """The words a place search matches: normalised, abbreviations expanded, and a leading house number
    (« 12 », « 12 bis », « 12b ») dropped, so « 12 avenue Pasteur » finds what « avenue pasteur » finds."""
    words = normalise(query).split()
    if words and _HOUSE_NUMBER.match(words[0]):
        words = words[1:]
        if words and words[0] in _NUMBER_SUFFIXES and len(words) > 1:
            words = words[1:]
    return [_ABBREVIATIONS.get(w, w) for w in words]


def block_near(blocks: gpd.GeoDataFrame, x: float, y: float, radius_m: float = 25.0) -> str | None:
    """The block a street point (x, y) belongs to: the largest block within ``radius_m`` of it (a street's
    midpoint lies between blocks, often beside a sliver of verge), else the nearest one."""
    if blocks.empty:
        return None
    near = blocks.sindex.query(shapely.Point(x, y).buffer(radius_m), predicate="intersects")
    if len(near):
        return str(blocks.index[near[int(np.argmax(blocks.geometry.values[near].area))]])
    return block_at(blocks, x, y)


def search_places(
    query: str, blocks: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None = None, limit: int = 8
) -> list[dict]:
    """Places matching every word of ``query`` (prefixes allowed; see :func:`query_words`), best first.

    Each hit: ``label``, ``kind`` ("rue", "îlot"), ``block_id`` and ``x``, ``y`` in the blocks' CRS.
    """
    words = query_words(query) or normalise(query).split()  # a number alone may be a block id
    if not words:
        return []
    hits: list[tuple[float, dict]] = []

    def score(name: str) -> float | None:
        tokens = normalise(name).split()
        if all(any(t.startswith(w) for t in tokens) for w in words):
            return len(tokens) - sum(w in tokens for w in words)  # exact words first, then shorter names
        return None

    if streets is not None and not streets.empty:
        kinds = streets["kind"] if "kind" in streets else ["rue"] * len(streets)
        for name, kind, geom in zip(streets["name"], kinds, streets.geometry, strict=True):
            s = score(name)
            if s is not None:
                if "LineString" in geom.geom_type:
                    pt = shapely.line_interpolate_point(geom, 0.5, normalized=True)
                else:
                    pt = geom.representative_point()
                if pt.is_empty:
                    pt = geom.representative_point()
                hits.append(
                    (
                        s,
                        {
                            "label": str(name),
                            "kind": kind,
                            "x": pt.x,
                            "y": pt.y,
                            "block_id": block_near(blocks, pt.x, pt.y),
                        },
                    )
                )
    text_cols = [c for c in blocks.columns if c.startswith("attr_") and blocks[c].dtype != float]
    for bid, row in blocks[text_cols].iterrows():
        for col in text_cols:
            value = row[col]
            if isinstance(value, str) and (s := score(value)) is not None:
                pt = blocks.geometry.loc[bid].representative_point()
                hits.append((s + 0.5, {"label": value, "kind": "îlot", "x": pt.x, "y": pt.y, "block_id": str(bid)}))
                break
    wanted = normalise(query).replace(" ", "")
    bid = next((i for i in blocks.index if normalise(str(i)).replace(" ", "") == wanted), None)
    if bid is not None:
        pt = blocks.geometry.loc[bid].representative_point()
        hits.append((-1, {"label": f"Îlot {bid}", "kind": "îlot", "x": pt.x, "y": pt.y, "block_id": str(bid)}))
    hits.sort(key=lambda h: (h[0], h[1]["label"]))
    seen, out = set(), []
    for _, h in hits:
        if h["label"] not in seen:
            seen.add(h["label"])
            out.append(h)
        if len(out) >= limit:
            break
    return out


def geocode_address(
    query: str,
    near: tuple[float, float] | None = None,
    timeout: float = 2.0,
    base_url: str = ADDRESS_API,
    limit: int = 5,
) -> list[dict]:
    """Addresses from the national address API: ``label``, ``lon``, ``lat``, ``score``.

    ``near`` is (lon, lat) to favour results around the territory. Raises
    :class:`GeocodingUnavailable` (never hangs longer than ``timeout`` seconds per attempt).
    """
    if len(query.strip()) < 3:
        return []
    params = {"q": query.strip()[:200], "limit": str(limit)}
    if near is not None:
        params["lon"], params["lat"] = f"{near[0]:.5f}", f"{near[1]:.5f}"
    url = f"{base_url}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - fixed https base URL
            if resp.status != 200:
                raise GeocodingUnavailable(f"Le service d'adresses a répondu {resp.status}.")
            payload = json.loads(resp.read(2_000_000).decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise GeocodingUnavailable(
            "Le service national d'adresses est injoignable : recherche par nom de rue seulement."
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GeocodingUnavailable("Réponse illisible du service d'adresses.") from exc
    out = []
    for f in payload.get("features", []) if isinstance(payload, dict) else []:
        try:
            lon, lat = f["geometry"]["coordinates"][:2]
            out.append(
                {
                    "label": str(f["properties"]["label"]),
                    "lon": float(lon),
                    "lat": float(lat),
                    "score": float(f["properties"].get("score", np.nan)),
                }
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def find_places(
    query: str,
    blocks: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame | None,
    bounds_wgs84,
    address_api: str | None = ADDRESS_API,
    limit: int = 8,
) -> tuple[list[dict], str | None]:
    """Where a visitor's search lands: street and block names offline (:func:`search_places`), then, when
    nothing matches and ``address_api`` is given (None: no outbound call), the national address service, kept
    only for addresses within 200 m of a block. Returns (hits, a French sentence saying why nothing was found,
    or None). ``blocks`` in their working CRS; ``bounds_wgs84`` (west, south, east, north) biases the search."""
    from pyproj import Transformer

    hits = search_places(query, blocks, streets, limit=limit)
    if hits:
        return hits, None
    why = None
    if address_api is not None:
        try:
            lon, lat = (sum(bounds_wgs84[i::2]) / 2 for i in (0, 1))
            to_local = Transformer.from_crs(4326, blocks.crs, always_xy=True)
            for a in geocode_address(query, near=(lon, lat), base_url=address_api, limit=limit):
                x, y = to_local.transform(a["lon"], a["lat"])
                bid = block_at(blocks, x, y)
                if bid is not None and blocks.geometry.loc[bid].distance(shapely.Point(x, y)) < 200:
                    hits.append({"label": a["label"], "kind": "adresse", "block_id": bid})
            if hits:
                return hits, None
        except GeocodingUnavailable:
            why = "le service national d'adresses est injoignable"
    if streets is None or len(streets) == 0:
        reason = "ce territoire n'a pas de noms de rues (son réseau routier n'a pas été fourni)"
        if why:
            reason += f" et {why}"
        elif address_api is None:
            reason += " et le service national d'adresses est désactivé"
        return [], f"Introuvable : {reason}. Cherchez un nom de quartier, un numéro d'îlot, ou touchez la carte."
    return [], "Aucun lieu de ce nom dans ce territoire" + (f" ({why})" if why else "") + "."
