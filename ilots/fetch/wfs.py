"""IGN Géoplateforme WFS: commune boundaries (ADMIN EXPRESS) and BD TOPO v3 layers, paged.

GetFeature requests (WFS 2.0.0, GeoJSON output) are paged with ``COUNT``/``STARTINDEX`` until
a page comes back shorter than ``COUNT``; each page is one cached download. Boundaries are
asked for in EPSG:4326 (GeoJSON coordinates are longitude, latitude), BD TOPO layers directly
in the working CRS with a bounding box in that CRS, so axis order is never ambiguous.
"""

from __future__ import annotations

import json
import re
import warnings

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from ..errors import AmbiguousInputError, ServiceUnavailableError, TooLargeError, UnknownCommuneError
from ..fr import num
from ..progress import Progress, count_fraction
from .http import Downloader

__all__ = [
    "DEFAULT_WFS_URL",
    "COMMUNE_TYPENAME",
    "BDTOPO_TYPENAMES",
    "commune_boundaries",
    "get_features",
    "is_insee_code",
]

DEFAULT_WFS_URL = "https://data.geopf.fr/wfs/ows"
COMMUNE_TYPENAME = "ADMINEXPRESS-COG.LATEST:commune"
# BD TOPO layer (as our reader names it) -> WFS feature type.
BDTOPO_TYPENAMES = {
    "batiment": "BDTOPO_V3:batiment",
    "zone_de_vegetation": "BDTOPO_V3:zone_de_vegetation",
    "troncon_de_route": "BDTOPO_V3:troncon_de_route",
    "troncon_de_voie_ferree": "BDTOPO_V3:troncon_de_voie_ferree",
    "surface_hydrographique": "BDTOPO_V3:surface_hydrographique",
    # Places of interest: schools, health and care homes (the sensitive facilities, ilots.facilities).
    "zone_d_activite_ou_d_interet": "BDTOPO_V3:zone_d_activite_ou_d_interet",
}
MAX_FEATURES = 3_000_000  # per layer; a whole région fits, a typo in a bbox does not

_INSEE_RE = re.compile(r"^(\d{5}|2[AaBb]\d{3})$")


def is_insee_code(text: str) -> bool:
    """Whether ``text`` is a commune INSEE code (5 digits, or 2A/2B + 3 digits in Corsica)."""
    return bool(_INSEE_RE.match(text.strip()))


def _check_geojson(body: bytes, content_type: str) -> None:
    """Refuse what is not a GeoJSON FeatureCollection (WFS exception reports, HTML error pages)."""
    head = body[:4000].decode("utf-8", "replace").lstrip()
    if head.startswith("{"):
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise ServiceUnavailableError(
                "Le service WFS a renvoyé une réponse JSON tronquée ; réessayez plus tard."
            ) from exc
        if isinstance(doc, dict) and isinstance(doc.get("features"), list):
            return
    match = re.search(r"<(?:ows:)?ExceptionText>\s*([^<]{1,200})", head) or re.search(
        r"<title>\s*([^<]{1,120})", head, re.I
    )
    detail = match.group(1).strip() if match else "ni GeoJSON ni message d'erreur lisible"
    raise ServiceUnavailableError(f"Le service WFS de la Géoplateforme IGN n'a pas renvoyé de données ({detail}).")


def _params(typename: str, srs: str, count: int, start: int, **extra: str) -> dict:
    return {
        "SERVICE": "WFS",
        "VERSION": "2.0.0",
        "REQUEST": "GetFeature",
        "TYPENAMES": typename,
        "OUTPUTFORMAT": "application/json",
        "SRSNAME": srs,
        "COUNT": str(count),
        "STARTINDEX": str(start),
        **extra,
    }


def _read_page(path, crs: CRS) -> gpd.GeoDataFrame:
    """One cached GeoJSON page as a GeoDataFrame (the page's own CRS, else ``crs``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notes on mixed 2D/3D, non-standard members
        gdf = gpd.read_file(path, engine="pyogrio")
    if gdf.crs is None:
        gdf = gdf.set_crs(crs)
    return gdf


def get_features(
    dl: Downloader,
    typename: str,
    *,
    crs: CRS,
    bbox: tuple[float, float, float, float] | None = None,
    cql_filter: str | None = None,
    wfs_url: str = DEFAULT_WFS_URL,
    page_size: int = 5000,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Every feature of ``typename`` in ``bbox`` (given in ``crs``), in ``crs``; paged and cached.

    ``progress(« N objets », fraction)`` after each page (fraction None while the server gives no total).

    Returns an empty GeoDataFrame (with CRS) when the layer has no feature there.
    """
    srs = f"urn:ogc:def:crs:EPSG::{crs.to_epsg()}"
    extra = {}
    if bbox is not None:
        extra["BBOX"] = ",".join(f"{v:.3f}" for v in bbox) + f",{srs}"
    if cql_filter is not None:
        extra["CQL_FILTER"] = cql_filter
    pages: list[gpd.GeoDataFrame] = []
    start, matched = 0, None
    while True:
        path = dl.fetch(
            "wfs",
            wfs_url,
            _params(typename, srs, page_size, start, **extra),
            ext="geojson",
            check=_check_geojson,
            item_id=typename,
        )
        doc = json.loads(path.read_bytes())
        n = len(doc["features"])
        matched = doc.get("numberMatched", matched)
        if isinstance(matched, str):  # "unknown" is allowed by the standard
            matched = int(matched) if matched.isdigit() else None
        if n:
            pages.append(_read_page(path, crs))
        start += n
        if progress is not None:
            progress(f"{num(start)} objets", count_fraction(start, matched))
        if start > MAX_FEATURES:
            raise TooLargeError(
                f"{typename} : plus de {MAX_FEATURES:,} objets sur l'emprise ; découpez le territoire.".replace(
                    ",", "\u202f"
                )
            )
        if n < page_size or n == 0 or (matched is not None and start >= matched):
            break
    if not pages:
        return gpd.GeoDataFrame(geometry=[], crs=crs)
    out = pd.concat(pages, ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=pages[0].crs)
    if "cleabs" in out:  # a feature lying on a page boundary of a changing layer is not counted twice
        out = out.drop_duplicates("cleabs", ignore_index=True)
    return out.to_crs(crs) if out.crs != crs else out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def commune_boundaries(dl: Downloader, communes: list[str], wfs_url: str = DEFAULT_WFS_URL) -> gpd.GeoDataFrame:
    """The ADMIN EXPRESS polygons of ``communes`` (INSEE codes or exact names), EPSG:4326.

    Columns ``code_insee`` and ``nom``. Raises :class:`UnknownCommuneError` for a code or name
    that matches nothing, :class:`AmbiguousInputError` for a name shared by several communes.
    """
    wgs84 = CRS.from_epsg(4326)
    found = []
    for query in communes:
        q = query.strip()
        if not q:
            continue
        cql = f"code_insee={_quote(q.upper())}" if is_insee_code(q) else f"nom_officiel ILIKE {_quote(q)}"
        gdf = get_features(dl, COMMUNE_TYPENAME, crs=wgs84, cql_filter=cql, wfs_url=wfs_url, page_size=50)
        if gdf.empty:
            hint = (
                "vérifiez le code (5 chiffres, 2A/2B en Corse) sur insee.fr"
                if is_insee_code(q)
                else "écrivez le nom officiel avec ses accents et tirets, ou donnez le code INSEE"
            )
            raise UnknownCommuneError(f"Aucune commune ne correspond à « {q} » : {hint}.")
        name_col = next((c for c in ("nom_officiel", "nom", "NOM") if c in gdf), None)
        code_col = next((c for c in ("code_insee", "insee_com", "INSEE_COM") if c in gdf), None)
        if code_col is None:
            raise ServiceUnavailableError("Le service WFS a renvoyé des communes sans code INSEE (colonne code_insee).")
        gdf = gdf.rename(columns={code_col: "code_insee", **({name_col: "nom"} if name_col else {})})
        if "nom" not in gdf:
            gdf["nom"] = gdf["code_insee"]
        gdf = gdf.dissolve(by="code_insee", as_index=False, aggfunc="first")
        if len(gdf) > 1:
            listing = ", ".join(f"{n} ({c})" for n, c in zip(gdf["nom"], gdf["code_insee"], strict=False))
            raise AmbiguousInputError(f"« {q} » désigne {len(gdf)} communes : {listing}. Donnez le code INSEE.")
        found.append(gdf[["code_insee", "nom", gdf.geometry.name]])
    if not found:
        raise UnknownCommuneError("Aucune commune demandée : donnez un code INSEE ou un nom de commune.")
    out = pd.concat(found, ignore_index=True).drop_duplicates("code_insee", ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=wgs84)
