"""Several summers of Landsat surface temperature for a built territory (``python -m ilots monitor
--fetch-years``): the clearest scenes of each year from the same STAC service and cache as ``fetch``."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import shapely

from ..errors import NoSceneError, require_extra
from ..progress import Progress, noop, within
from .http import Downloader, RetryPolicy, default_cache_dir
from .stac import DEFAULT_STAC_URL, download_scene, select_landsat

__all__ = ["FetchedSummers", "fetch_summers"]


@dataclass
class FetchedSummers:
    """Scene folders by year, the years without a clear scene (with the reason), and every download."""

    scenes: dict[int, list[str]] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)
    downloads: list[dict] = field(default_factory=list)


def fetch_summers(
    area_wgs84: shapely.Geometry,
    years: tuple[int, int],
    folder: str | Path,
    *,
    months: tuple[int, int] = (6, 8),
    n_scenes: int = 2,
    max_cloud: float = 0.2,
    stac_url: str | None = None,
    cache_dir: Path | None = None,
    policy: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> FetchedSummers:
    """For each year of ``years`` (inclusive), rank that summer's Landsat 8/9 C2 L2 scenes by their clouds over
    ``area_wgs84`` and download the ``n_scenes`` clearest (windows only) into ``folder/<year>/<product id>``; a
    year with no scene under ``max_cloud`` is skipped with the reason. Each scene folder appears whole or not
    at all (downloaded beside it, then renamed). Downloads are cached like ``fetch``'s."""
    require_extra("fetch", "pystac_client", "planetary_computer")
    progress = progress or noop
    folder = Path(folder)
    stac_url = stac_url or os.environ.get("ILOTS_STAC_URL") or DEFAULT_STAC_URL
    dl = Downloader(Path(cache_dir) if cache_dir else default_cache_dir(), policy or RetryPolicy())
    out = FetchedSummers()
    span = list(range(years[0], years[1] + 1))
    for k, year in enumerate(span):
        part = within(progress, k / len(span), (k + 1) / len(span), f"Landsat : été {year}")
        try:
            kept, _ = select_landsat(
                dl,
                area_wgs84,
                year=year,
                months=months,
                n_scenes=n_scenes,
                max_cloud=max_cloud,
                stac_url=stac_url,
                progress=within(part, 0.0, 0.5),
            )
        except NoSceneError as exc:
            out.skipped[year] = str(exc)
            continue
        for j, choice in enumerate(kept):
            part("téléchargement des bandes", 0.5 + 0.5 * j / len(kept))
            final = folder / str(year) / choice.product_id
            tmp = final.with_name(f".{final.name}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            try:
                download_scene(dl, choice, area_wgs84, tmp)
                if final.exists():
                    shutil.rmtree(final)
                os.replace(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            out.scenes.setdefault(year, []).append(str(final))
    out.downloads = [{k: v for k, v in p.items() if k != "file"} for p in dl.provenance]
    progress("Étés téléchargés", 1.0)
    return out
