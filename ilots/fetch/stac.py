"""STAC search (pystac-client) and windowed reads of cloud-optimised GeoTIFFs (GDAL range requests).

Landsat 8/9 Collection 2 Level-2 scenes and ESA WorldCover come from Microsoft Planetary
Computer's STAC API; asset URLs are signed with the ``planetary-computer`` package just before
they are read (a no-op for URLs outside Azure blob storage, such as a local test server). Only
the window covering the territory is read from each GeoTIFF and written as a small local
GeoTIFF with the USGS file name, so the territory pipeline's readers treat it like a download
from EarthExplorer.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import rasterio
import requests
import shapely
from pyproj import CRS
from rasterio.errors import RasterioError
from rasterio.features import geometry_mask
from rasterio.warp import transform_bounds, transform_geom
from rasterio.windows import Window, from_bounds

from ..errors import NoSceneError, ServiceUnavailableError
from ..fr import date_fr, pct
from ..progress import Progress, count_fraction
from ..sources.landsat import qa_clear
from .http import Downloader, cache_key, strip_query, unreachable_message, write_atomic

__all__ = [
    "DEFAULT_STAC_URL",
    "LANDSAT_COLLECTION",
    "WORLDCOVER_COLLECTION",
    "LANDSAT_ASSETS",
    "SceneChoice",
    "search_items",
    "download_window",
    "usable_fraction",
    "select_landsat",
    "download_scene",
    "fetch_worldcover",
    "sign_href",
    "months_range",
]

DEFAULT_STAC_URL = "https://planetarycomputer.microsoft.com/api/stac/v1"
LANDSAT_COLLECTION = "landsat-c2-l2"
WORLDCOVER_COLLECTION = "esa-worldcover"
# Planetary Computer asset key -> USGS file suffix read by ilots.sources.landsat.
LANDSAT_ASSETS = {"lwir11": "ST_B10.TIF", "qa_pixel": "QA_PIXEL.TIF", "red": "SR_B4.TIF", "nir08": "SR_B5.TIF"}
LANDSAT_PLATFORMS = ("landsat-8", "landsat-9")


def sign_href(href: str) -> str:
    """A readable URL for ``href``: Planetary Computer blob URLs get a SAS token, others pass through."""
    if not urlsplit(href).netloc.endswith(".blob.core.windows.net"):
        return href
    import planetary_computer

    try:
        return planetary_computer.sign_url(href)
    except requests.exceptions.RequestException as exc:
        raise ServiceUnavailableError(unreachable_message("stac", href, "signature des liens impossible")) from exc


def _gdal_env(dl: Downloader) -> dict:
    return {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff",
        "GDAL_HTTP_MAX_RETRY": str(dl.policy.total),
        "GDAL_HTTP_RETRY_DELAY": str(max(dl.policy.backoff_s, 0.01)),
        "GDAL_HTTP_CONNECTTIMEOUT": str(int(dl.policy.timeout_s[0])),
        "GDAL_HTTP_TIMEOUT": str(int(dl.policy.timeout_s[1])),
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "VSI_CACHE": "TRUE",
    }


def search_items(
    dl: Downloader,
    collection: str,
    bbox: tuple[float, float, float, float],
    *,
    datetime: str | None = None,
    query: dict | None = None,
    stac_url: str = DEFAULT_STAC_URL,
    max_items: int = 500,
) -> list[dict]:
    """Items of ``collection`` intersecting ``bbox`` (WGS84), as dicts; the result list is cached."""
    params = {
        "collections": [collection],
        "bbox": [round(v, 5) for v in bbox],
        "datetime": datetime,
        "query": query,
        "max_items": max_items,
    }
    path = dl.path_for("stac", cache_key("stac", stac_url, params), "json")
    if path.exists():
        dl.record("stac", stac_url.rstrip("/") + "/search", path, cached=True, item_id=collection)
        return json.loads(path.read_text(encoding="utf-8"))
    from pystac_client import Client
    from pystac_client.exceptions import APIError
    from pystac_client.stac_api_io import StacApiIO

    try:
        io = StacApiIO(timeout=dl.policy.timeout_s, max_retries=dl.policy.retry())
        client = Client.open(stac_url, stac_io=io)
        search = client.search(
            collections=[collection],
            bbox=params["bbox"],
            datetime=datetime,
            query=query,
            max_items=max_items,
            limit=min(max_items, 250),
        )
        items = [item.to_dict() for item in search.items()]
    except requests.exceptions.RequestException as exc:
        raise ServiceUnavailableError(unreachable_message("stac", stac_url)) from exc
    except APIError as exc:
        text = str(exc)
        if "Connection" in text or "Max retries" in text or "Failed to resolve" in text:
            raise ServiceUnavailableError(unreachable_message("stac", stac_url)) from exc
        raise ServiceUnavailableError(
            f"Le catalogue STAC a répondu par une erreur ({text[:160]}) ; réessayez plus tard."
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:  # landing page not STAC (HTML error page, proxy portal...)
        raise ServiceUnavailableError(
            f"{stac_url} ne répond pas comme un catalogue STAC ({type(exc).__name__})."
        ) from exc
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(items), encoding="utf-8"))
    dl.write_meta(path, stac_url.rstrip("/") + "/search", params, {"item_ids": [i["id"] for i in items]})
    dl.record("stac", stac_url.rstrip("/") + "/search", path, cached=False, item_id=collection)
    return items


def download_window(
    dl: Downloader, href: str, area_wgs84: shapely.Geometry, *, margin_m: float = 0.0, item_id: str | None = None
) -> Path | None:
    """The window of the GeoTIFF at ``href`` covering ``area_wgs84`` (+ margin), as a cached local GeoTIFF.

    Returns None when the raster does not cover the area at all. Only the bytes of the window's
    tiles are requested (GDAL ``/vsicurl/`` range reads on cloud-optimised GeoTIFFs).
    """
    bounds = tuple(round(v, 6) for v in area_wgs84.bounds)
    path = dl.path_for("cog", cache_key("cog", strip_query(href), bounds, margin_m), "tif")
    if path.exists():
        dl.record("cog", href, path, cached=True, item_id=item_id)
        return path
    url = sign_href(href)
    try:
        with rasterio.Env(**_gdal_env(dl)), rasterio.open(url) as ds:
            box = transform_bounds(CRS.from_epsg(4326), ds.crs, *bounds, densify_pts=21)
            pad = margin_m if not ds.crs.is_geographic else margin_m / 111_000.0
            box = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
            win = from_bounds(*box, transform=ds.transform)
            col0, row0 = max(0, math.floor(win.col_off)), max(0, math.floor(win.row_off))
            col1 = min(ds.width, math.ceil(win.col_off + win.width))
            row1 = min(ds.height, math.ceil(win.row_off + win.height))
            if col1 <= col0 or row1 <= row0:
                return None
            window = Window(col0, row0, col1 - col0, row1 - row0)
            data = ds.read(1, window=window)
            profile = {
                "driver": "GTiff",
                "width": window.width,
                "height": window.height,
                "count": 1,
                "dtype": data.dtype,
                "crs": ds.crs,
                "transform": ds.window_transform(window),
                "nodata": ds.nodata,
                "compress": "deflate",
            }
            if window.width >= 256 and window.height >= 256:
                profile.update(tiled=True, blockxsize=256, blockysize=256)
            tags = ds.tags()
    except RasterioError as exc:
        raise ServiceUnavailableError(unreachable_message("cog", href, str(exc).split("\n")[0][:120])) from exc

    def write(tmp: Path) -> None:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
            dst.update_tags(**{k: v for k, v in tags.items() if k == "AREA_OR_POINT"})

    write_atomic(path, write)
    dl.write_meta(path, href, {"bounds_wgs84": bounds, "margin_m": margin_m}, {"item_id": item_id} if item_id else {})
    dl.record("cog", href, path, cached=False, item_id=item_id)
    return path


def usable_fraction(qa_path: Path, area_wgs84: shapely.Geometry) -> float:
    """Share of QA_PIXEL pixels inside the area that are clear (no fill, cloud, cirrus or shadow)."""
    with rasterio.open(qa_path) as ds:
        qa = ds.read(1)
        geom = transform_geom("EPSG:4326", ds.crs, shapely.geometry.mapping(area_wgs84))
        inside = geometry_mask([geom], out_shape=qa.shape, transform=ds.transform, invert=True, all_touched=True)
    if not inside.any():
        return 0.0
    return float(qa_clear(qa[inside]).mean())


def months_range(year: int, months: tuple[int, int]) -> str:
    """STAC datetime interval from the first day of ``months[0]`` to the last of ``months[1]``."""
    m0, m1 = months
    last = calendar.monthrange(year, m1)[1]
    return f"{year}-{m0:02d}-01T00:00:00Z/{year}-{m1:02d}-{last:02d}T23:59:59Z"


@dataclass
class SceneChoice:
    """A candidate Landsat scene and its cloud fraction over the territory."""

    item: dict
    product_id: str
    date: dt.date
    scene_cloud_pct: float | None
    cloud_fraction: float  # over the territory, from QA_PIXEL (fill counts as unusable)
    qa_path: Path
    files: list[Path] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "item_id": self.item["id"],
            "product_id": self.product_id,
            "date": self.date.isoformat(),
            "platform": self.item.get("properties", {}).get("platform"),
            "scene_cloud_cover_pct": self.scene_cloud_pct,
            "cloud_fraction_in_territory": round(self.cloud_fraction, 4),
        }


def _product_id(item: dict) -> str:
    """The full USGS product id (PC item ids omit the processing date; asset file names keep it)."""
    href = item["assets"]["lwir11"]["href"]
    name = Path(urlsplit(href).path).name
    return name[: -len("_ST_B10.TIF")] if name.upper().endswith("_ST_B10.TIF") else item["id"]


def _item_date(item: dict) -> dt.date:
    text = item["properties"].get("datetime") or item["properties"].get("start_datetime")
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()


def select_landsat(
    dl: Downloader,
    area_wgs84: shapely.Geometry,
    *,
    year: int,
    months: tuple[int, int] = (6, 8),
    n_scenes: int = 3,
    max_cloud: float = 0.2,
    max_candidates: int = 12,
    stac_url: str = DEFAULT_STAC_URL,
    progress: Progress | None = None,
) -> tuple[list[SceneChoice], list[SceneChoice]]:
    """The ``n_scenes`` clearest Landsat 8/9 L2 scenes over the area (kept, and all ranked candidates).

    Candidates are the items of the period, the clearest scene-wide first (``eo:cloud_cover``);
    for each, the QA_PIXEL window over the territory is read and the cloud fraction computed
    inside the boundary. One scene per date (neighbouring rows overlap). Raises
    :class:`NoSceneError` when none is under ``max_cloud``.
    """
    items = search_items(
        dl,
        LANDSAT_COLLECTION,
        area_wgs84.bounds,
        datetime=months_range(year, months),
        query={"platform": {"in": list(LANDSAT_PLATFORMS)}},
        stac_url=stac_url,
    )
    items = [
        i
        for i in items
        if i.get("properties", {}).get("platform") in LANDSAT_PLATFORMS
        and {"lwir11", "qa_pixel"} <= set(i.get("assets", {}))
    ]
    last_day = dt.date(year, months[1], calendar.monthrange(year, months[1])[1])
    period = f"entre {date_fr(dt.date(year, months[0], 1))} et {date_fr(last_day)}"
    if not items:
        raise NoSceneError(
            f"Aucune scène Landsat 8/9 sur le territoire {period} : élargissez les mois (--months) "
            "ou choisissez une autre année."
        )
    items.sort(key=lambda i: (i["properties"].get("eo:cloud_cover", 100.0), i["id"]))
    candidates: list[SceneChoice] = []
    for k, item in enumerate(items[:max_candidates]):
        qa = download_window(dl, item["assets"]["qa_pixel"]["href"], area_wgs84, margin_m=300.0, item_id=item["id"])
        if progress is not None:
            total = min(len(items), max_candidates)
            progress(f"scène {k + 1} sur {total}", count_fraction(k + 1, total))
        if qa is None:
            continue
        candidates.append(
            SceneChoice(
                item=item,
                product_id=_product_id(item),
                date=_item_date(item),
                scene_cloud_pct=item["properties"].get("eo:cloud_cover"),
                cloud_fraction=1.0 - usable_fraction(qa, area_wgs84),
                qa_path=qa,
            )
        )
    candidates.sort(key=lambda c: (c.cloud_fraction, c.date))
    kept: list[SceneChoice] = []
    for c in candidates:
        if c.cloud_fraction <= max_cloud and all(c.date != k.date for k in kept):
            kept.append(c)
        if len(kept) == n_scenes:
            break
    if not kept:
        best = min((c.cloud_fraction for c in candidates), default=1.0)
        raise NoSceneError(
            f"Aucune scène Landsat avec moins de {pct(max_cloud)} de nuages sur le territoire {period} "
            f"(la plus claire en a {pct(best)}) : élargissez les mois (--months 5-9) ou le seuil (--max-cloud 40)."
        )
    return kept, candidates


def download_scene(
    dl: Downloader, choice: SceneChoice, area_wgs84: shapely.Geometry, folder: Path, margin_m: float = 300.0
) -> list[Path]:
    """Write the scene's bands (window) and MTL into ``folder`` under their USGS names."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for key, suffix in LANDSAT_ASSETS.items():
        asset = choice.item["assets"].get(key)
        if asset is None:
            continue
        src = (
            choice.qa_path
            if key == "qa_pixel"
            else download_window(dl, asset["href"], area_wgs84, margin_m=margin_m, item_id=choice.item["id"])
        )
        if src is None:
            continue
        dst = folder / f"{choice.product_id}_{suffix}"
        shutil.copyfile(src, dst)
        out.append(dst)
    mtl = choice.item["assets"].get("mtl.txt")
    if mtl is not None:
        path = dl.fetch(
            "mtl", sign_href(mtl["href"]), ext="txt", item_id=choice.item["id"], key_url=strip_query(mtl["href"])
        )
        dst = folder / f"{choice.product_id}_MTL.txt"
        shutil.copyfile(path, dst)
        out.append(dst)
    choice.files = out
    return out


def fetch_worldcover(
    dl: Downloader,
    area_wgs84: shapely.Geometry,
    dest: Path,
    *,
    margin_m: float = 300.0,
    stac_url: str = DEFAULT_STAC_URL,
) -> dict | None:
    """ESA WorldCover (latest version) over the area, merged into ``dest``; None when not available there."""
    items = search_items(dl, WORLDCOVER_COLLECTION, area_wgs84.bounds, stac_url=stac_url)
    items = [i for i in items if "map" in i.get("assets", {})]
    if not items:
        return None
    latest = max(i["properties"].get("start_datetime") or i["properties"].get("datetime") or "" for i in items)
    items = [
        i for i in items if (i["properties"].get("start_datetime") or i["properties"].get("datetime") or "") == latest
    ]
    parts = [
        p
        for i in items
        if (p := download_window(dl, i["assets"]["map"]["href"], area_wgs84, margin_m=margin_m, item_id=i["id"]))
        is not None
    ]
    if not parts:
        return None
    if len(parts) == 1:
        import shutil

        shutil.copyfile(parts[0], dest)
    else:
        from rasterio.merge import merge

        data, transform = merge([str(p) for p in parts], nodata=0)
        with rasterio.open(parts[0]) as ds:
            profile = {**ds.profile, "width": data.shape[2], "height": data.shape[1], "transform": transform}
        with rasterio.open(dest, "w", **profile) as dst:
            dst.write(data)
    return {
        "items": [i["id"] for i in items],
        "version": items[0]["properties"].get("esa_worldcover:product_version"),
        "year": latest[:4],
    }
