"""Summer nights of Sentinel-3 SLSTR land-surface temperature for a built territory (``python -m ilots night
--fetch-year``): night granules of Microsoft Planetary Computer's ``sentinel-3-slstr-lst-l2-netcdf``
collection, from the same STAC service and cache as ``fetch``.

Sentinel-3A and 3B cross France descending at about 10 h and ascending at about 22 h local solar time; the
night granules are the ascending ones (``sat:orbit_state``), checked again by their local solar time. Each
granule is a ``.SEN3`` folder; only the three NetCDF files Îlots reads are downloaded (``lst-in``,
``slstr-geodetic-in``, ``slstr-flags-in``: whole files, tens of MB a night for a long stripe), and a night
is kept only if at least ``min_clear`` of its pixels over the territory are clear.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import shapely

from ..errors import AllPixelsMaskedError, InputFileError, NoOverlapError, NoSceneError, require_extra
from ..fr import date_fr
from ..progress import Progress, noop, within
from ..sources.slstr import SLSTR_FILES, is_night_hour, read_slstr, solar_hour
from .http import Downloader, RetryPolicy, default_cache_dir, strip_query
from .stac import DEFAULT_STAC_URL, months_range, search_items, sign_href

__all__ = ["SLSTR_COLLECTION", "SLSTR_ASSETS", "FetchedNights", "fetch_nights", "night_items"]

SLSTR_COLLECTION = "sentinel-3-slstr-lst-l2-netcdf"
# Planetary Computer asset key -> file name in the .SEN3 folder (ilots.sources.slstr).
SLSTR_ASSETS = {
    "lst-in": SLSTR_FILES["lst"],
    "slstr-geodetic-in": SLSTR_FILES["geodetic"],
    "slstr-flags-in": SLSTR_FILES["flags"],
}


@dataclass
class FetchedNights:
    """Granule folders kept, the nights refused (with the reason), and every download."""

    scenes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    downloads: list[dict] = field(default_factory=list)


def _start(item: dict) -> dt.datetime:
    props = item.get("properties", {})
    text = props.get("start_datetime") or props.get("datetime")
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00").replace(" ", "T")).astimezone(dt.UTC)


def night_items(items: list[dict], lon_deg: float) -> list[dict]:
    """The night granules among ``items``: ascending passes whose local solar time at ``lon_deg`` is night,
    with every asset Îlots reads; least clouded (granule-wide ``eo:cloud_cover``) first."""
    out = []
    for item in items:
        props = item.get("properties", {})
        if str(props.get("sat:orbit_state", "ascending")).lower() != "ascending":
            continue
        if not all(k in item.get("assets", {}) for k in SLSTR_ASSETS):
            continue
        try:
            start = _start(item)
        except (TypeError, ValueError):
            continue
        if is_night_hour(solar_hour(start, lon_deg)):
            out.append(item)
    return sorted(out, key=lambda i: (i["properties"].get("eo:cloud_cover", 100.0), _start(i)))


def fetch_nights(
    area_wgs84: shapely.Geometry,
    year: int,
    folder: str | Path,
    bounds: tuple[float, float, float, float],
    crs: str,
    *,
    months: tuple[int, int] = (6, 8),
    n_nights: int = 6,
    min_clear: float = 0.5,
    max_tries: int = 18,
    stac_url: str | None = None,
    cache_dir: Path | None = None,
    policy: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> FetchedNights:
    """Download up to ``n_nights`` clear summer nights of ``year`` (months inclusive) over ``area_wgs84`` into
    ``folder/<granule>.SEN3``, trying at most ``max_tries`` granules, least clouded first. A granule appears
    whole or not at all. Raises :class:`NoSceneError` when the service has no night granule for the summer."""
    require_extra("fetch", "pystac_client", "planetary_computer")
    progress = progress or noop
    folder = Path(folder)
    stac_url = stac_url or os.environ.get("ILOTS_STAC_URL") or DEFAULT_STAC_URL
    dl = Downloader(Path(cache_dir) if cache_dir else default_cache_dir(), policy or RetryPolicy())
    progress(f"Sentinel-3 : recherche des nuits de l'été {year}", 0.0)
    items = search_items(
        dl, SLSTR_COLLECTION, area_wgs84.bounds, datetime=months_range(year, months), stac_url=stac_url
    )
    candidates = night_items(items, area_wgs84.centroid.x)
    if not candidates:
        raise NoSceneError(
            f"Aucun passage de nuit Sentinel-3 SLSTR (collection {SLSTR_COLLECTION}) sur le territoire entre les "
            f"mois {months[0]} et {months[1]} de {year} ({len(items)} granules trouvés, aucun de nuit)."
        )
    out = FetchedNights()
    tries = candidates[:max_tries]
    for k, item in enumerate(tries):
        if len(out.scenes) >= n_nights:
            break
        part = within(progress, 0.05 + 0.95 * k / len(tries), 0.05 + 0.95 * (k + 1) / len(tries))
        part(f"nuit du {date_fr(_start(item).date())}", 0.0)
        name = item["id"].removesuffix(".SEN3") + ".SEN3"
        final = folder / name
        tmp = final.with_name(f".{final.name}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            tmp.mkdir(parents=True)
            for key, file in SLSTR_ASSETS.items():
                href = item["assets"][key]["href"]
                path = dl.fetch("stac", sign_href(href), ext="nc", item_id=item["id"], key_url=strip_query(href))
                shutil.copyfile(path, tmp / file)
            scene = read_slstr(tmp, bounds, crs=crs)
            if scene.clear_share < min_clear:
                out.skipped[item["id"]] = (
                    f"nuit du {date_fr(scene.start.date())} : {round(100 * scene.clear_share)} % de pixels clairs "
                    f"sur le territoire (au moins {round(100 * min_clear)} % demandés)"
                )
                continue
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            out.scenes.append(str(final))
        except (AllPixelsMaskedError, NoOverlapError) as exc:
            out.skipped[item["id"]] = str(exc)
        except InputFileError as exc:  # a damaged or daytime granule: said, the next one is tried (offline raises)
            out.skipped[item["id"]] = f"granule illisible : {exc}"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    out.downloads = [{k: v for k, v in p.items() if k != "file"} for p in dl.provenance]
    progress("Nuits téléchargées", 1.0)
    return out
