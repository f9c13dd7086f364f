"""Reading vector layers (GeoPackage, shapefile, GeoJSON, ...) into the working CRS.

Handles what real files carry: Z and M coordinates (dropped), invalid polygons (repaired),
shapefiles whose UTF-8 ``.dbf`` comes without a ``.cpg`` (encoding detected), any source CRS,
and reading only a bounding box of a large file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.warp import transform_bounds

from ..errors import EmptyFileError, GeometryTypeError, MissingCRSError, UnreadableFileError

__all__ = [
    "read_vector",
    "layer_info",
    "known_layer_info",
    "shapefile_encoding",
    "require_polygons",
    "require_lines",
    "covered_share",
]


def covered_share(geoms: gpd.GeoSeries, coverage: shapely.Geometry) -> np.ndarray:
    """Share (0–1) of each geometry's area inside ``coverage`` (same CRS, metres): the one rule for « how much of
    a block a partial layer or the water covers »."""
    inter = shapely.intersection(geoms.values, coverage)
    return shapely.area(inter) / np.maximum(shapely.area(geoms.values), 1e-9)


_DBF_SAMPLE_BYTES = 8 * 1024 * 1024


def shapefile_encoding(shp: Path) -> str | None:
    """Encoding to read a shapefile with: None to trust its ``.cpg``, else "UTF-8" or "ISO-8859-1".

    IGN ships UTF-8 ``.dbf`` files; without a ``.cpg`` GDAL would decode them as Latin-1 and turn
    "Forêt" into "ForÃªt". The records are sampled and decoded strictly as UTF-8.
    """
    if shp.with_suffix(".cpg").exists() or shp.with_suffix(".CPG").exists():
        return None
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return None
        header_len = int.from_bytes(head[8:10], "little")
        fh.seek(header_len)
        sample = fh.read(_DBF_SAMPLE_BYTES)
    if all(b < 0x80 for b in sample):
        return None
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample cut inside a multi-byte character is still UTF-8.
        if exc.start < len(sample) - 4:
            return "ISO-8859-1"
    return "UTF-8"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise UnreadableFileError(f"Fichier introuvable : {path}")
    if path.is_file() and path.stat().st_size == 0:
        raise EmptyFileError(f"Le fichier {path.name} est vide (0 octet).")
    if path.suffix.lower() == ".shp" and not any(path.with_suffix(e).exists() for e in (".shx", ".SHX")):
        raise UnreadableFileError(
            f"Le fichier {path.stem}.shx manque à côté de {path.name} : un shapefile se compose de plusieurs "
            "fichiers (.shp, .shx, .dbf, .prj) à fournir ensemble."
        )


def layer_info(path: str | Path, layer: str | None = None) -> dict:
    """pyogrio's layer metadata (CRS, feature count, fields, total bounds), with precise errors."""
    path = Path(path)
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return pyogrio.read_info(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise UnreadableFileError(
            f"{path.name} n'est pas un fichier vectoriel lisible (GeoPackage, shapefile, GeoJSON…) : fichier corrompu "
            "ou d'un autre format."
        ) from exc


def known_layer_info(path: str | Path, layer: str | None, infos: dict | None) -> dict:
    """:func:`layer_info`, kept in ``infos`` (a dict, when given) for the next reads of the same layer: a tiled
    build reads every layer again for each tile, and opening a GeoPackage for its metadata costs milliseconds."""
    path = Path(path)
    info = None if infos is None else infos.get((str(path), layer))
    if info is None:
        info = layer_info(path, layer)
        if infos is not None:
            infos[(str(path), layer)] = info
    else:
        _check_file(path)
    return info


def read_vector(
    path: str | Path,
    dst_crs: CRS | int | str,
    layer: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    bbox_crs: CRS | int | str | None = None,
    columns: list[str] | None = None,
    allow_empty: bool = True,
    infos: dict | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector layer, only within ``bbox`` if given, as 2D valid geometries in ``dst_crs``.

    ``bbox`` is expressed in ``bbox_crs`` (default ``dst_crs``) and transformed to the layer's own
    CRS before reading, so that only the study area of a large file is read. ``infos``: the layers' metadata
    kept across reads (:func:`known_layer_info`).
    """
    path = Path(path)
    info = known_layer_info(path, layer, infos)
    if info.get("crs") is None and info.get("features", 0) != 0:
        raise MissingCRSError(f"La couche {path.name} n'a pas de système de coordonnées (fichier .prj absent ?).")
    kwargs: dict = {}
    if layer is not None:
        kwargs["layer"] = layer
    if columns is not None:
        kwargs["columns"] = [c for c in columns if c in info["fields"]]
    if path.suffix.lower() == ".shp":
        enc = shapefile_encoding(path)
        if enc:
            kwargs["encoding"] = enc
    if bbox is not None and info.get("crs") is not None:
        try:
            layer_crs = CRS.from_user_input(info["crs"])
        except CRSError as exc:
            raise MissingCRSError(f"Système de coordonnées illisible dans {path.name} : {exc}") from exc
        kwargs["bbox"] = tuple(
            transform_bounds(CRS.from_user_input(bbox_crs or dst_crs), layer_crs, *bbox, densify_pts=21)
        )
    # through Arrow (pyarrow is a core dependency): 130,000 BD TOPO buildings read in 0.26 s instead of 0.41 s;
    # shapefiles with a declared encoding keep GDAL's feature-by-feature path, which applies it, and so does an
    # empty read (Arrow then gives no geometry type)
    arrow = "encoding" not in kwargs
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Measured (M) geometry types are not supported"
            try:
                gdf = pyogrio.read_dataframe(path, use_arrow=arrow, **kwargs)
            except ValueError:
                if not arrow:
                    raise
                gdf = pyogrio.read_dataframe(path, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as exc:
        raise UnreadableFileError(f"Lecture impossible de {path.name} : fichier corrompu ou incomplet.") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise UnreadableFileError(f"{path.name} ne contient pas de géométries.")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if gdf.empty:
        if not allow_empty:
            raise EmptyFileError(f"La couche {layer or path.name} ne contient aucun objet dans la zone d'étude.")
        return gpd.GeoDataFrame(gdf, geometry=gdf.geometry.name, crs=CRS.from_user_input(dst_crs))
    if gdf.crs is None:
        raise MissingCRSError(f"La couche {path.name} n'a pas de système de coordonnées.")
    geom = np.asarray(gdf.geometry.values)
    if (shapely.has_z(geom) | shapely.has_m(geom)).any():  # BD TOPO's are 3D; copying 2D ones costs 0.1 s
        gdf = gdf.set_geometry(gpd.GeoSeries(shapely.force_2d(geom), index=gdf.index, crs=gdf.crs))
    gdf = gdf.to_crs(dst_crs)
    return gdf.reset_index(drop=True)


def require_polygons(gdf: gpd.GeoDataFrame, what: str, strict: bool = False) -> gpd.GeoDataFrame:
    """Keep polygons (repairing invalid ones); raise if the layer holds no polygon at all, or, when
    ``strict``, if it mixes polygons with points or lines."""
    if gdf.empty:
        return gdf
    types = gdf.geom_type
    poly = types.isin(["Polygon", "MultiPolygon"])
    if not poly.any():
        kinds = ", ".join(sorted(set(types)))
        raise GeometryTypeError(f"{what} : des polygones sont attendus, le fichier contient {kinds}.")
    if strict and not poly.all():
        kinds = ", ".join(sorted(set(types[~poly])))
        raise GeometryTypeError(
            f"{what} : le fichier mélange des polygones et d'autres géométries ({kinds}) ; "
            "gardez seulement les polygones."
        )
    gdf = gdf[poly].copy()
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        fixed = shapely.make_valid(gdf.geometry.values[invalid.values])
        # make_valid may return collections: keep their polygonal part.
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        gdf.loc[invalid, gdf.geometry.name] = fixed
    gdf = gdf[~gdf.geometry.is_empty & (gdf.geometry.area > 0)]
    return gdf.reset_index(drop=True)


def require_lines(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Keep line geometries; raise if the layer holds no line at all."""
    if gdf.empty:
        return gdf
    lines = gdf.geom_type.isin(["LineString", "MultiLineString"])
    if not lines.any():
        kinds = ", ".join(sorted(set(gdf.geom_type)))
        raise GeometryTypeError(f"{what} : des lignes sont attendues, le fichier contient {kinds}.")
    return gdf[lines].reset_index(drop=True)


def _polygonal(geom):
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()
