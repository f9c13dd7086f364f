"""IGN BD TOPO v3, from a GeoPackage (lower-case layers and fields) or a folder of shapefiles
(upper-case: ``BATIMENT.shp`` with ``HAUTEUR``, ``NB_ETAGES``, ``USAGE1``).

Only the study area is read (bounding-box filter), so a 1–2 GB département GeoPackage is never
loaded whole. Layers that are absent or empty are reported in ``missing``, never invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from ..errors import MissingLayerError, UnreadableFileError
from .buildings import impute_heights, normalise_buildings
from .vectors import read_vector, require_lines, require_polygons

__all__ = ["LAYERS", "BdTopo", "list_bdtopo_layers", "known_bdtopo_layers", "read_bdtopo", "road_width_m"]

LAYERS = (
    "batiment",
    "zone_de_vegetation",
    "troncon_de_route",
    "troncon_de_voie_ferree",
    "surface_hydrographique",
    "commune",
    "zone_d_activite_ou_d_interet",
)
# Layers that are read when present but never required (names for search; sensitive facilities).
OPTIONAL = ("commune", "zone_d_activite_ou_d_interet")

_ROAD_ALIASES = {
    "nature": ["nature", "NATURE"],
    "largeur_de_chaussee": ["largeur_de_chaussee", "LARGEUR"],
    "nombre_de_voies": ["nombre_de_voies", "NB_VOIES"],
    "position_par_rapport_au_sol": ["position_par_rapport_au_sol", "POS_SOL"],
    "nom": ["nom_1_gauche", "NOM_1_G", "nom_collaboratif_gauche", "NOM_COLL_G", "nom_1_droite", "NOM_1_D", "toponyme"],
}
_OTHER_ALIASES = {
    "nature": ["nature", "NATURE"],
    "position_par_rapport_au_sol": ["position_par_rapport_au_sol", "POS_SOL"],
    "nom": ["nom", "NOM_P_EAU", "nom_p_eau", "toponyme", "TOPONYME"],
}

# Places of interest (sensitive facilities): their own name is the toponyme (« nom » may be a joined commune's).
_PLACE_ALIASES = {
    "nature": ["nature", "NATURE"],
    "categorie": ["categorie", "CATEGORIE"],
    "nom": ["toponyme", "TOPONYME", "nom"],
}

# Carriageway width (m) by BD TOPO road nature, used where ``largeur_de_chaussee`` is unknown
# [our estimate from typical French road profiles; the BD TOPO notice gives no default].
_WIDTH_BY_NATURE = {
    "type autoroutier": 20.0,
    "route à 2 chaussées": 14.0,
    "route à 1 chaussée": 6.0,
    "bretelle": 6.0,
    "rond-point": 8.0,
    "place": 10.0,
    "route empierrée": 4.0,
    "chemin": 3.0,
    "piste cyclable": 2.0,
    "sentier": 1.0,
    "escalier": 2.0,
}
DEFAULT_ROAD_WIDTH_M = 5.0
LANE_WIDTH_M = 3.5


@dataclass
class BdTopo:
    """The BD TOPO layers of a study area, normalised, in the working CRS."""

    layers: dict[str, gpd.GeoDataFrame]
    missing: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    fmt: str = "gpkg"

    def get(self, name: str) -> gpd.GeoDataFrame | None:
        return self.layers.get(name)


def list_bdtopo_layers(path: str | Path) -> dict[str, tuple[Path, str | None]]:
    """Map each BD TOPO layer name (lower case) to (file, layer-in-file) for a gpkg or folder."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(f"BD TOPO introuvable : {path}")
    found: dict[str, tuple[Path, str | None]] = {}
    if path.is_dir():
        for shp in sorted(path.rglob("*")):
            if shp.suffix.lower() == ".shp" and shp.stem.lower() in LAYERS:
                found.setdefault(shp.stem.lower(), (shp, None))
        for gpkg in sorted(path.rglob("*.gpkg")):
            for name, (file, lyr) in list_bdtopo_layers(gpkg).items():
                found.setdefault(name, (file, lyr))
        return found
    if path.suffix.lower() == ".gpkg":
        try:
            names = [row[0] for row in pyogrio.list_layers(path)]
        except Exception as exc:  # pyogrio raises DataSourceError for non-GeoPackages
            raise UnreadableFileError(
                f"{path.name} n'est pas un GeoPackage lisible : fichier corrompu ou d'un autre format."
            ) from exc
        for name in names:
            key = name.lower().split(".")[-1]
            if key in LAYERS:
                found.setdefault(key, (path, name))
        return found
    if path.suffix.lower() == ".shp" and path.stem.lower() in LAYERS:
        return list_bdtopo_layers(path.parent)
    raise UnreadableFileError(
        f"{path.name} : BD TOPO attendue sous forme de GeoPackage (.gpkg) ou de dossier de shapefiles."
    )


def known_bdtopo_layers(path: str | Path, infos: dict | None) -> dict[str, tuple[Path, str | None]]:
    """:func:`list_bdtopo_layers`, kept in ``infos`` (a dict, when given) with the layers' metadata
    (:func:`ilots.sources.vectors.known_layer_info`) for the next reads of the same BD TOPO."""
    key = ("bdtopo layers", str(path))
    available = None if infos is None else infos.get(key)
    if available is None:
        available = list_bdtopo_layers(path)
        if infos is not None:
            infos[key] = available
    return available


def _normalise(gdf: gpd.GeoDataFrame, aliases: dict[str, list[str]]) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame(geometry=gdf.geometry.values, crs=gdf.crs)
    lower = {c.lower(): c for c in gdf.columns}
    for target, names in aliases.items():
        col = next((gdf[lower[n.lower()]] for n in names if n.lower() in lower), None)
        out[target] = col.to_numpy() if col is not None else None
    return out


def road_width_m(roads: gpd.GeoDataFrame) -> np.ndarray:
    """Carriageway width (m): ``largeur_de_chaussee`` where known, else lanes × 3.5 m, else by nature."""
    n = len(roads)
    width = pd.to_numeric(roads.get("largeur_de_chaussee", pd.Series([np.nan] * n)), errors="coerce").to_numpy(
        dtype="float64"
    )
    lanes = pd.to_numeric(roads.get("nombre_de_voies", pd.Series([np.nan] * n)), errors="coerce").to_numpy(
        dtype="float64"
    )
    nature = roads.get("nature", pd.Series([None] * n)).astype("string").str.lower().fillna("")
    by_nature = nature.map(_WIDTH_BY_NATURE).to_numpy(dtype="float64")
    out = np.where(width > 0, width, np.where(lanes > 0, lanes * LANE_WIDTH_M, by_nature))
    return np.where(np.isfinite(out) & (out > 0), out, DEFAULT_ROAD_WIDTH_M)


def read_bdtopo(
    path: str | Path,
    dst_crs: CRS | int | str,
    bbox: tuple[float, float, float, float] | None = None,
    require: tuple[str, ...] = (),
    only: tuple[str, ...] | None = None,
    infos: dict | None = None,
) -> BdTopo:
    """Read the BD TOPO layers within ``bbox`` (in ``dst_crs``), normalised to the v3 gpkg names.

    Buildings get ``height_m`` and ``height_source`` (see :mod:`ilots.sources.buildings`); roads
    get ``width_m``. Raises :class:`MissingLayerError` if a layer listed in ``require`` is absent.
    ``only`` restricts the reading to these layers (e.g. the small ones, over a large area). ``infos`` keeps the
    list of layers and their metadata for further reads of the same BD TOPO (:func:`ilots.sources.vectors.read_vector`).
    """
    available = known_bdtopo_layers(path, infos)
    layers: dict[str, gpd.GeoDataFrame] = {}
    missing: list[str] = []
    files: set[str] = set()
    for name in LAYERS if only is None else [n for n in LAYERS if n in only]:
        if name not in available:
            if name not in OPTIONAL:
                missing.append(name)
            continue
        file, lyr = available[name]
        gdf = read_vector(file, dst_crs, layer=lyr, bbox=bbox, infos=infos)
        if file.suffix.lower() == ".shp":
            files.update(str(p) for p in file.parent.glob(file.stem + ".*"))
        else:
            files.add(str(file))
        if gdf.empty:
            missing.append(name)
            continue
        if name == "batiment":
            gdf = impute_heights(normalise_buildings(require_polygons(gdf, "Bâtiments BD TOPO")))
        elif name in ("troncon_de_route", "troncon_de_voie_ferree"):
            gdf = _normalise(
                require_lines(gdf, f"BD TOPO {name}"), _ROAD_ALIASES if name == "troncon_de_route" else _OTHER_ALIASES
            )
            if name == "troncon_de_route":
                gdf["width_m"] = road_width_m(gdf)
        else:
            aliases = _PLACE_ALIASES if name == "zone_d_activite_ou_d_interet" else _OTHER_ALIASES
            gdf = _normalise(require_polygons(gdf, f"BD TOPO {name}"), aliases)
        layers[name] = gdf
    for name in require:
        if name not in layers:
            raise MissingLayerError(f"La couche BD TOPO « {name} » est absente ou vide dans la zone d'étude.")
    fmt = "gpkg" if Path(path).suffix.lower() == ".gpkg" else "shapefile"
    return BdTopo(layers=layers, missing=missing, files=sorted(files), fmt=fmt)
