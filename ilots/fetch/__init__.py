"""Any French territory's open data, downloaded: fetch acquires, the build builds.

:func:`acquire` gets the commune boundary (ADMIN EXPRESS) and the BD TOPO v3 layers from the IGN
Géoplateforme WFS and ranks the Landsat 8/9 Collection 2 Level-2 scenes of the chosen summer by their
clouds over the territory (Planetary Computer's STAC API). The :class:`Acquisition` it returns then
downloads the kept scenes' bands, ESA WorldCover and the layers into a folder, in the formats the
territory pipeline reads, and returns the :class:`~ilots.build.BuildInputs` with their provenance. The
caller builds (the command line, the « Nouveau territoire » page, ``build-many``)::

    check_replaceable(out, replace)                       # before any download
    acq = acquire(request, within(progress, 0.0, 0.3))
    build_territory(lambda tmp: acq.download(tmp, within(progress, 0.3, 0.5)), out,
                    within(progress, 0.5, 1.0), manifest_extra=acq.provenance)

so the sources land in the territory's own ``sources/`` folder and the manifest says where each came
from. Every download is cached (see :mod:`ilots.fetch.http`) with its URL, time and item id.

Base URLs come from the request, else ``ILOTS_WFS_URL`` / ``ILOTS_STAC_URL``, else the public
services; tests point them to a local server.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import CRS

from ..build import BuildInputs
from ..crs import choose_working_crs
from ..errors import EmptyLayerError, FetchError, require_extra
from ..progress import Progress, count_fraction, noop, within
from .http import Downloader, RetryPolicy, default_cache_dir
from .nights import FetchedNights, fetch_nights
from .stac import DEFAULT_STAC_URL, SceneChoice, download_scene, fetch_worldcover, select_landsat
from .summers import FetchedSummers, fetch_summers
from .wfs import BDTOPO_TYPENAMES, DEFAULT_WFS_URL, commune_boundaries, get_features

__all__ = [
    "Acquisition",
    "FetchRequest",
    "FetchSummary",
    "FetchedSummers",
    "acquire",
    "fetch_summers",
    "fetch_nights",
    "FetchedNights",
    "request_name",
    "territory_name",
]

REQUIRED_LAYERS = ("batiment", "troncon_de_route")
LAYER_LABELS = {
    "batiment": "bâtiments",
    "zone_de_vegetation": "zones de végétation",
    "troncon_de_route": "tronçons de route",
    "troncon_de_voie_ferree": "voies ferrées",
    "surface_hydrographique": "surfaces en eau",
    "zone_d_activite_ou_d_interet": "lieux d'intérêt (écoles, santé, EHPAD)",
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
    """What was fetched (printed by the CLI, shown by the dashboard)."""

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


def request_name(req: FetchRequest) -> str:
    """The territory's name: the request's, else the communes' own (one cached WFS request, reused by
    :func:`acquire`), so a caller can choose the target folder before anything else is downloaded."""
    if req.name:
        return req.name
    req.check()
    dl = Downloader(Path(req.cache_dir) if req.cache_dir else default_cache_dir(), req.policy)
    return territory_name(commune_boundaries(dl, req.communes, req.wfs_url))


@dataclass
class Acquisition:
    """What :func:`acquire` found for a request: the boundary, the BD TOPO layers (in the working CRS) and
    the ranked Landsat scenes. :meth:`download` then fetches the kept scenes' bands into a folder."""

    request: FetchRequest
    name: str
    communes: gpd.GeoDataFrame  # WGS 84, with code_insee and nom
    crs: CRS  # the working CRS (Lambert-93 in metropolitan France)
    layers: dict[str, gpd.GeoDataFrame]
    kept: list[SceneChoice]
    candidates: list[SceneChoice]
    downloader: Downloader
    started: float = field(default_factory=time.perf_counter)
    worldcover: dict | None = None

    @property
    def area_wgs84(self) -> shapely.Geometry:
        return shapely.union_all(self.communes.geometry.values)

    def download(self, folder: str | Path, progress: Progress | None = None) -> BuildInputs:
        """Download the kept scenes and the land cover into ``folder/sources`` and write the layers and the
        boundary there (a BD TOPO GeoPackage, the communes as the study area); return the build's inputs."""
        req, progress, area = self.request, progress or noop, self.area_wgs84
        src = Path(folder) / "sources"
        src.mkdir(parents=True)
        scene_dirs = []
        for k, choice in enumerate(self.kept):
            progress("Landsat : téléchargement des bandes", count_fraction(k, len(self.kept)))
            target = src / "landsat" / choice.product_id
            download_scene(self.downloader, choice, area, target, margin_m=req.margin_m)
            scene_dirs.append(str(target))
        if req.worldcover:
            progress("Occupation du sol (ESA WorldCover)", 0.9)
            self.worldcover = fetch_worldcover(
                self.downloader, area, src / "worldcover.tif", margin_m=req.margin_m, stac_url=req.stac_url
            )
        gpkg = src / "bdtopo.gpkg"
        for layer, gdf in self.layers.items():
            if not gdf.empty:
                gdf.to_file(gpkg, layer=layer, driver="GPKG", engine="pyogrio")
        keep = ["code_insee", "nom", self.communes.geometry.name]
        self.communes.to_crs(self.crs)[keep].to_file(gpkg, layer="commune", driver="GPKG", engine="pyogrio")
        area_path = src / "communes.geojson"
        self.communes[keep].to_file(area_path, driver="GeoJSON", engine="pyogrio")
        progress("Sources téléchargées", 1.0)
        return BuildInputs(
            name=self.name,
            lst=scene_dirs,
            landcover=str(src / "worldcover.tif") if self.worldcover else None,
            bdtopo=str(gpkg),
            area=str(area_path),
            population=list(req.population),
        )

    def provenance(self) -> dict:
        """The manifest's ``fetch`` section: the request, the scenes kept and rejected, every download."""
        req = self.request
        return {
            "fetch": {
                "communes": self.communes[["code_insee", "nom"]].to_dict("records"),
                "year": req.year,
                "months": list(req.months),
                "max_cloud_fraction": req.max_cloud,
                "scenes_kept": [c.summary() for c in self.kept],
                "scenes_rejected": [c.summary() for c in self.candidates if c not in self.kept],
                "bdtopo_counts": {k: int(len(v)) for k, v in self.layers.items()},
                "worldcover": self.worldcover,
                "services": {"wfs": req.wfs_url, "stac": req.stac_url},
                "downloads": [{k: v for k, v in p.items() if k != "file"} for p in self.downloader.provenance],
            }
        }

    def summary(self) -> FetchSummary:
        fetched = self.provenance()["fetch"]
        return FetchSummary(
            name=self.name,
            communes=fetched["communes"],
            scenes=fetched["scenes_kept"],
            rejected_scenes=fetched["scenes_rejected"],
            layer_counts=fetched["bdtopo_counts"],
            worldcover=self.worldcover,
            downloads=sum(1 for p in self.downloader.provenance if not p["cached"]),
            cache_hits=sum(1 for p in self.downloader.provenance if p["cached"]),
            seconds=round(time.perf_counter() - self.started, 1),
        )


def acquire(req: FetchRequest, progress: Progress | None = None) -> Acquisition:
    """The boundary, the BD TOPO layers and the ranked Landsat scenes of ``req`` (no band downloaded yet).

    ``progress(message, fraction)`` reports the acquisition's own share, then :meth:`Acquisition.download`
    its own: give each a share of one bar with :func:`ilots.progress.within`. Raises :class:`FetchError`
    subclasses in French (no such commune, an empty required layer, no clear scene, a service down)."""
    progress = progress or noop
    started = time.perf_counter()
    req.check()
    require_extra("fetch", "pystac_client", "planetary_computer")  # before any download
    dl = Downloader(Path(req.cache_dir) if req.cache_dir else default_cache_dir(), req.policy)

    progress("Limite communale (IGN ADMIN EXPRESS)", 0.0)
    communes = commune_boundaries(dl, req.communes, req.wfs_url)
    area_wgs84 = shapely.union_all(communes.geometry.values)
    crs: CRS = choose_working_crs(area_wgs84.centroid.x, area_wgs84.centroid.y).crs
    keep_zone = shapely.union_all(communes.to_crs(crs).geometry.values).buffer(req.margin_m)
    name = req.name or territory_name(communes)

    # BD TOPO layers over the bounding box, kept where they touch the boundary + margin: 5 % to 70 %.
    layers: dict[str, gpd.GeoDataFrame] = {}
    for k, (layer, typename) in enumerate(BDTOPO_TYPENAMES.items()):
        n = len(BDTOPO_TYPENAMES)
        part = within(progress, 0.05 + 0.65 * k / n, 0.05 + 0.65 * (k + 1) / n, f"BD TOPO : {LAYER_LABELS[layer]}")
        gdf = get_features(dl, typename, crs=crs, bbox=keep_zone.bounds, wfs_url=req.wfs_url, progress=part)
        if not gdf.empty:
            gdf = gdf[gdf.intersects(keep_zone)].reset_index(drop=True)
        if gdf.empty and layer in REQUIRED_LAYERS:
            raise EmptyLayerError(
                f"La BD TOPO ne renvoie aucun objet « {LAYER_LABELS[layer]} » sur {name} : vérifiez la commune, "
                "ou construisez le territoire à partir de vos propres fichiers (python -m ilots build)."
            )
        layers[layer] = gdf

    # Landsat scenes ranked by their clouds over the territory: 70 % to 100 %.
    kept, candidates = select_landsat(
        dl,
        area_wgs84,
        year=req.year,
        months=req.months,
        n_scenes=req.n_scenes,
        max_cloud=req.max_cloud,
        stac_url=req.stac_url,
        progress=within(progress, 0.7, 1.0, "Landsat : nuages sur le territoire"),
    )
    progress("Données trouvées", 1.0)
    return Acquisition(req, name, communes, crs, layers, kept, candidates, dl, started)
