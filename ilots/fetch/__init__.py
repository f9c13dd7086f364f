"""Any French territory in one command: download open data, then build it.

:func:`fetch_territory` gets the commune boundary (ADMIN EXPRESS) and the BD TOPO v3 layers
from the IGN Géoplateforme WFS, the clearest Landsat 8/9 Collection 2 Level-2 scenes of the
chosen summer and ESA WorldCover from Planetary Computer's STAC API, writes them inside the
territory's ``sources/`` folder in the formats the territory pipeline reads, and builds the
territory there. Every download is cached (see :mod:`ilots.fetch.http`) and its provenance (URL,
time, item id) goes into the manifest.

Base URLs come from the request, else ``ILOTS_WFS_URL`` / ``ILOTS_STAC_URL``, else the public
services; tests point them to a local server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import CRS

from ..build import BuildInputs, build_territory
from ..crs import choose_working_crs
from ..errors import EmptyLayerError, FetchError
from ..store import check_replaceable
from .http import Downloader, RetryPolicy, default_cache_dir
from .stac import DEFAULT_STAC_URL, download_scene, fetch_worldcover, select_landsat
from .wfs import BDTOPO_TYPENAMES, DEFAULT_WFS_URL, commune_boundaries, get_features

__all__ = ["FetchRequest", "FetchSummary", "StageProgress", "fetch_territory", "territory_name"]

# (stage label in French, units done, units in total or None)
StageProgress = Callable[[str, int, "int | None"], None]
REQUIRED_LAYERS = ("batiment", "troncon_de_route")
LAYER_LABELS = {
    "batiment": "bâtiments",
    "zone_de_vegetation": "zones de végétation",
    "troncon_de_route": "tronçons de route",
    "troncon_de_voie_ferree": "voies ferrées",
    "surface_hydrographique": "surfaces en eau",
}


def _env_url(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class FetchRequest:
    """What to fetch: communes (INSEE codes or names), the summer to look at, and where from."""

    communes: list[str]
    year: int
    months: tuple[int, int] = (6, 8)
    n_scenes: int = 3
    max_cloud: float = 0.2  # largest cloud fraction over the territory for a scene to be kept
    name: str | None = None
    population: list[str] = field(default_factory=list)
    worldcover: bool = True
    margin_m: float = 300.0
    wfs_url: str = field(default_factory=lambda: _env_url("ILOTS_WFS_URL", DEFAULT_WFS_URL))
    stac_url: str = field(default_factory=lambda: _env_url("ILOTS_STAC_URL", DEFAULT_STAC_URL))
    cache_dir: Path | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def check(self) -> None:
        if not self.communes or not any(c.strip() for c in self.communes):
            raise FetchError("Indiquez au moins une commune (code INSEE ou nom).")
        m0, m1 = self.months
        if not (1 <= m0 <= m1 <= 12):
            raise FetchError(f"Mois invalides ({m0}–{m1}) : attendu par exemple 6-8 pour juin à août.")
        if not (1982 <= self.year <= 2100):
            raise FetchError(f"Année invalide ({self.year}) : Landsat 8 et 9 couvrent 2013 à aujourd'hui.")
        if not (1 <= self.n_scenes <= 10):
            raise FetchError("Le nombre de scènes doit être compris entre 1 et 10.")
        if not (0.0 < self.max_cloud <= 1.0):
            raise FetchError("Le seuil de nuages doit être compris entre 1 et 100 %.")


@dataclass
class FetchSummary:
    """What was fetched and built (printed by the CLI, shown by the dashboard)."""

    out: Path
    name: str
    communes: list[dict]
    scenes: list[dict]
    rejected_scenes: list[dict]
    layer_counts: dict[str, int]
    worldcover: dict | None
    downloads: int
    cache_hits: int
    seconds: float


def territory_name(communes: gpd.GeoDataFrame) -> str:
    """« Tours », « Tours et Joué-lès-Tours », « Tours et 3 autres communes »."""
    names = list(communes["nom"])
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} et {names[1]}"
    return f"{names[0]} et {len(names) - 1} autres communes"


def _noop(stage: str, done: int, total: int | None) -> None:
    return None


def fetch_territory(
    req: FetchRequest,
    out: str | Path,
    progress: StageProgress | None = None,
    command: list[str] | None = None,
    replace: bool = True,
    finish: Callable[[Path], None] | None = None,
) -> FetchSummary:
    """Download everything ``req`` needs and build the territory in ``out`` (atomically).

    ``replace`` and ``finish`` as in :func:`ilots.store.staging`."""
    progress = progress or _noop
    t0 = time.perf_counter()
    req.check()
    check_replaceable(Path(out), replace)  # before any download
    dl = Downloader(Path(req.cache_dir) if req.cache_dir else default_cache_dir(), req.policy)

    # 1. Boundary and working CRS.
    progress("Limite communale (IGN ADMIN EXPRESS)", 0, len(req.communes))
    communes = commune_boundaries(dl, req.communes, req.wfs_url)
    progress("Limite communale (IGN ADMIN EXPRESS)", len(req.communes), len(req.communes))
    area_wgs84 = shapely.union_all(communes.geometry.values)
    lon, lat = area_wgs84.centroid.x, area_wgs84.centroid.y
    wcrs = choose_working_crs(lon, lat)
    crs: CRS = wcrs.crs
    communes_w = communes.to_crs(crs)
    area_w = shapely.union_all(communes_w.geometry.values)
    keep_zone = area_w.buffer(req.margin_m)
    bbox = keep_zone.bounds
    name = req.name or territory_name(communes)

    # 2. BD TOPO layers over the bounding box, kept where they touch the boundary + margin.
    layers: dict[str, gpd.GeoDataFrame] = {}
    for layer, typename in BDTOPO_TYPENAMES.items():
        label = f"BD TOPO : {LAYER_LABELS[layer]}"
        gdf = get_features(
            dl,
            typename,
            crs=crs,
            bbox=bbox,
            wfs_url=req.wfs_url,
            progress=lambda done, total, label=label: progress(label, done, total),
        )
        if not gdf.empty:
            gdf = gdf[gdf.intersects(keep_zone)].reset_index(drop=True)
        if gdf.empty and layer in REQUIRED_LAYERS:
            raise EmptyLayerError(
                f"La BD TOPO ne renvoie aucun objet « {LAYER_LABELS[layer]} » sur {name} : vérifiez la commune, "
                "ou construisez le territoire à partir de vos propres fichiers (python -m ilots build)."
            )
        layers[layer] = gdf
        progress(label, len(gdf), len(gdf))

    # 3. Landsat scenes ranked by cloud over the territory, then their windows.
    rank_label = "Landsat : nuages sur le territoire"
    kept, candidates = select_landsat(
        dl,
        area_wgs84,
        year=req.year,
        months=req.months,
        n_scenes=req.n_scenes,
        max_cloud=req.max_cloud,
        stac_url=req.stac_url,
        progress=lambda d, t: progress(rank_label, d, t),
    )

    def sources(tmp: Path) -> BuildInputs:
        """Download the scenes and layers into the staging folder; the build then reads them there."""
        src = tmp / "sources"
        src.mkdir()
        scene_dirs = []
        for k, choice in enumerate(kept):
            progress("Landsat : téléchargement des bandes", k, len(kept))
            folder = src / "landsat" / choice.product_id
            download_scene(dl, choice, area_wgs84, folder, margin_m=req.margin_m)
            scene_dirs.append(str(folder))
        progress("Landsat : téléchargement des bandes", len(kept), len(kept))

        # 4. Land cover, when the catalogue has it there.
        if req.worldcover:
            progress("Occupation du sol (ESA WorldCover)", 0, 1)
            found["worldcover"] = fetch_worldcover(
                dl, area_wgs84, src / "worldcover.tif", margin_m=req.margin_m, stac_url=req.stac_url
            )
            progress("Occupation du sol (ESA WorldCover)", 1, 1)

        # 5. Vector sources as one BD TOPO GeoPackage, boundary as the study area.
        gpkg = src / "bdtopo.gpkg"
        for layer, gdf in layers.items():
            if not gdf.empty:
                gdf.to_file(gpkg, layer=layer, driver="GPKG", engine="pyogrio")
        communes_w[["code_insee", "nom", communes_w.geometry.name]].to_file(
            gpkg, layer="commune", driver="GPKG", engine="pyogrio"
        )
        area_path = src / "communes.geojson"
        communes[["code_insee", "nom", communes.geometry.name]].to_file(area_path, driver="GeoJSON", engine="pyogrio")
        return BuildInputs(
            name=name,
            lst=scene_dirs,
            landcover=str(src / "worldcover.tif") if found["worldcover"] else None,
            bdtopo=str(gpkg),
            area=str(area_path),
            population=list(req.population),
        )

    def provenance() -> dict:
        return {
            "fetch": {
                "communes": communes[["code_insee", "nom"]].to_dict("records"),
                "year": req.year,
                "months": list(req.months),
                "max_cloud_fraction": req.max_cloud,
                "scenes_kept": [c.summary() for c in kept],
                "scenes_rejected": [c.summary() for c in candidates if c not in kept],
                "bdtopo_counts": {k: int(len(v)) for k, v in layers.items()},
                "worldcover": found["worldcover"],
                "services": {"wfs": req.wfs_url, "stac": req.stac_url},
                "downloads": [{k: v for k, v in p.items() if k != "file"} for p in dl.provenance],
            }
        }

    found: dict = {"worldcover": None}
    build_label = "Construction du territoire"
    build_territory(
        sources,
        out,
        lambda msg, f: progress(build_label, min(int(round(100 * f)), 99), 100),
        command=command,
        replace=replace,
        finish=finish,
        manifest_extra=provenance,
    )
    progress(build_label, 100, 100)
    return FetchSummary(
        out=Path(out),
        name=name,
        communes=communes[["code_insee", "nom"]].to_dict("records"),
        scenes=[c.summary() for c in kept],
        rejected_scenes=[c.summary() for c in candidates if c not in kept],
        layer_counts={k: int(len(v)) for k, v in layers.items()},
        worldcover=found["worldcover"],
        downloads=sum(1 for p in dl.provenance if not p["cached"]),
        cache_hits=sum(1 for p in dl.provenance if p["cached"]),
        seconds=round(time.perf_counter() - t0, 1),
    )
