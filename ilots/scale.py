"""Scale: many communes as Dask tasks, and one large territory tile by tile.

:func:`build_many` builds one territory per commune, each a task on a ``dask.distributed``
cluster (a :class:`~dask.distributed.LocalCluster` by default, any scheduler address for a real
one). Communes come from a polygon file (``code_insee`` + ``nom``; built from shared local
inputs, each commune's polygon as the study area) or as INSEE codes (each fetched from the open
services, see :mod:`ilots.fetch`). A commune that fails is reported and does not stop the others;
a rerun skips finished communes. All blocks also go to one GeoParquet dataset partitioned by
commune (``blocks/code_insee=XXXXX/part-0.parquet``), and a merged summary to
``summary.csv``/``summary.json``.

:func:`build_tiled` builds one territory in square tiles with a halo, keeping each block in the
one tile that holds its representative point, so memory is bounded by the tile size and blocks
crossing tile edges are computed once, whole.
"""

from __future__ import annotations

import re
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .build import BuildInputs, BuiltTerritory, Progress, TilePass, compute_territory, write_territory
from .errors import BuildError, IlotsError, InputFileError, NoOverlapError
from .footprint import REACH_M as FOOTPRINT_REACH_M
from .fr import slug
from .sources.vectors import read_vector
from .store import BLOCKS, is_territory, staging, write_atomic, write_json_atomic

__all__ = [
    "CommuneResult",
    "read_communes",
    "build_commune",
    "build_many",
    "build_tiled",
    "reaggregate_lst",
    "SUMMARY_COLUMNS",
]

SUMMARY_COLUMNS = ["code_insee", "nom", "status", "n_blocks", "area_km2", "lst_mean_c", "seconds", "error"]
_CODE_COLS = ("code_insee", "insee_com", "INSEE_COM", "code", "CODE_INSEE")
_NAME_COLS = ("nom", "nom_officiel", "NOM", "nom_com", "NOM_COM")


@dataclass
class CommuneResult:
    """The outcome of one commune's build (one row of the summary)."""

    code_insee: str
    nom: str
    status: str  # "built", "skipped" (already there) or "failed"
    n_blocks: int | None = None
    area_km2: float | None = None
    lst_mean_c: float | None = None
    seconds: float | None = None
    error: str | None = None


# An INSEE commune code: five digits, or 2A/2B and three digits (Corsica).
_INSEE = re.compile(r"(\d{5}|2[AB]\d{3})")


def check_insee_codes(codes) -> list[str]:
    """INSEE codes normalised (a leading zero lost by a spreadsheet restored); :class:`InputFileError`
    naming the first value that is not a commune code (they become folder names under ``--out``)."""
    out = []
    for raw in codes:
        code = str(raw).strip().upper()
        if code.isdigit() and len(code) == 4:
            code = "0" + code
        if not _INSEE.fullmatch(code):
            raise InputFileError(
                f"Code INSEE invalide : {str(raw)[:40]!r} (attendu cinq chiffres, ou 2A/2B et trois "
                "chiffres, ex. 37261)."
            )
        out.append(code)
    return out


def read_communes(spec: str) -> gpd.GeoDataFrame | list[str]:
    """A polygon file of communes (``code_insee``, ``nom``) or a list of INSEE codes.

    ``spec`` is a vector file path, or codes separated by commas, or a text file with one code
    per line.
    """
    path = Path(spec)
    if path.exists() and path.suffix.lower() in (".txt", ".csv") and path.stat().st_size < 1_000_000:
        text = path.read_text(encoding="utf-8")
        if not any(c in text for c in ("{", "POLYGON")):
            return check_insee_codes(
                c.strip() for c in text.replace(",", "\n").splitlines() if c.strip() and not c.startswith("#")
            )
    if path.exists():
        gdf = read_vector(path, 4326, allow_empty=False)  # any CRS will do: each build reprojects its area
        code = next((c for c in _CODE_COLS if c in gdf), None)
        if code is None:
            from .errors import MissingColumnError

            raise MissingColumnError(
                f"{path.name} : colonne du code INSEE introuvable (attendu l'une de {', '.join(_CODE_COLS)})."
            )
        name = next((c for c in _NAME_COLS if c in gdf), code)
        out = gpd.GeoDataFrame(
            {"code_insee": check_insee_codes(gdf[code].astype(str)), "nom": gdf[name].astype(str)},
            geometry=gdf.geometry.values,
            crs=gdf.crs,
        )
        if out["code_insee"].duplicated().any():
            out = out.dissolve(by="code_insee", as_index=False, aggfunc="first")
        return out
    codes = [c.strip() for c in spec.split(",") if c.strip()]
    if not codes:
        raise InputFileError(f"Communes introuvables : {spec} n'est ni un fichier ni une liste de codes INSEE.")
    return check_insee_codes(codes)


def _inside(out: Path, path: Path) -> Path:
    """``path`` if it lies inside ``out`` (every build-many output does), else an error."""
    if not path.resolve().is_relative_to(out.resolve()):
        raise InputFileError(f"Chemin de sortie hors du dossier --out refusé : {path}")
    return path


def _write_partition(out: Path, code: str) -> None:
    blocks = gpd.read_parquet(out / slug(code) / BLOCKS)
    part = _inside(out, out / "blocks" / f"code_insee={check_insee_codes([code])[0]}")
    part.mkdir(parents=True, exist_ok=True)
    write_atomic(part / "part-0.parquet", lambda tmp: blocks.reset_index().to_parquet(tmp))


def _result_from_territory(out: Path, code: str, nom: str, status: str, seconds: float | None) -> CommuneResult:
    from .store import load_territory

    terr = load_territory(out / slug(code))
    lst = terr.blocks["lst_mean_c"]
    return CommuneResult(
        code,
        nom,
        status,
        int(len(terr.blocks)),
        terr.manifest.get("area_km2"),
        None if not lst.notna().any() else round(float(lst.mean()), 2),
        seconds,
    )


def build_commune(job: dict, out: str, shared: dict) -> dict:
    """Build one commune (a Dask task; plain dicts in and out). Never raises: failures are returned."""
    out_dir = Path(out)
    code, nom = job["code_insee"], job.get("nom") or job["code_insee"]
    target = out_dir / slug(code)
    t0 = time.perf_counter()
    try:
        if is_territory(target):
            res = _result_from_territory(out_dir, code, nom, "skipped", None)
            if not (out_dir / "blocks" / f"code_insee={code}" / "part-0.parquet").exists():
                _write_partition(out_dir, code)
            return asdict(res)
        if job.get("area"):
            inputs = BuildInputs(**{**shared["inputs"], "name": nom, "area": job["area"]})
            from .build import build_territory

            build_territory(inputs, target, command=shared.get("command"))
        else:
            from .fetch import FetchRequest, fetch_territory

            req = FetchRequest(communes=[code], **shared["fetch"])
            fetch_territory(req, target, command=shared.get("command"))
        _write_partition(out_dir, code)
        return asdict(_result_from_territory(out_dir, code, nom, "built", round(time.perf_counter() - t0, 2)))
    except IlotsError as exc:
        return asdict(CommuneResult(code, nom, "failed", seconds=round(time.perf_counter() - t0, 2), error=str(exc)))
    except Exception as exc:  # a bug or a worker-side resource problem: reported, the others go on
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return asdict(
            CommuneResult(
                code, nom, "failed", seconds=round(time.perf_counter() - t0, 2), error=f"erreur inattendue : {last}"
            )
        )


def build_many(
    communes: gpd.GeoDataFrame | list[str],
    out: str | Path,
    *,
    inputs: BuildInputs | None = None,
    fetch: dict | None = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> pd.DataFrame:
    """Build every commune as a Dask task; returns (and writes) the merged summary.

    With a polygon GeoDataFrame, ``inputs`` holds the shared local sources (LST, BD TOPO, ...);
    with INSEE codes, ``fetch`` holds the :class:`ilots.fetch.FetchRequest` options (year, ...).
    """
    from dask.distributed import Client, LocalCluster, as_completed

    out = Path(out)
    if isinstance(communes, gpd.GeoDataFrame):
        communes = communes.assign(code_insee=check_insee_codes(communes["code_insee"]))
    else:
        communes = check_insee_codes(communes)
    out.mkdir(parents=True, exist_ok=True)
    jobs: list[dict] = []
    shared: dict = {"command": command}
    if isinstance(communes, gpd.GeoDataFrame):
        if inputs is None:
            raise BuildError("Avec un fichier de communes, il faut les sources communes (--lst, --bdtopo…).")
        areas = out / "_areas"
        areas.mkdir(exist_ok=True)
        for row in communes.itertuples():
            path = areas / f"{slug(row.code_insee)}.gpkg"
            if not path.exists():
                one = gpd.GeoDataFrame(
                    {"code_insee": [row.code_insee], "nom": [row.nom]}, geometry=[row.geometry], crs=communes.crs
                )
                one.to_file(path, driver="GPKG", engine="pyogrio")
            jobs.append({"code_insee": row.code_insee, "nom": row.nom, "area": str(path)})
        shared["inputs"] = {k: v for k, v in asdict(inputs).items() if k not in ("name", "area")}
    else:
        jobs = [{"code_insee": c, "nom": c} for c in communes]
        shared["fetch"] = dict(fetch or {})
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    results: list[dict] = []
    try:
        futures = client.map(build_commune, jobs, out=str(out), shared=shared, pure=False)
        for done, future in enumerate(as_completed(futures, with_results=False), start=1):
            try:
                results.append(future.result())
            except Exception as exc:  # the worker died (killed, out of memory): reported as a failure
                key_job = jobs[futures.index(future)]
                results.append(
                    asdict(
                        CommuneResult(
                            key_job["code_insee"],
                            key_job["nom"],
                            "failed",
                            error=f"tâche perdue : {type(exc).__name__}",
                        )
                    )
                )
            if progress is not None:
                progress(f"Communes traitées : {done}/{len(jobs)}", done / len(jobs))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    order = {j["code_insee"]: i for i, j in enumerate(jobs)}
    summary = pd.DataFrame(sorted(results, key=lambda r: order[r["code_insee"]]), columns=SUMMARY_COLUMNS)
    write_atomic(out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    write_json_atomic(
        out / "summary.json",
        {
            "communes": summary.replace({np.nan: None}).to_dict("records"),
            "built": int((summary["status"] == "built").sum()),
            "skipped": int((summary["status"] == "skipped").sum()),
            "failed": int((summary["status"] == "failed").sum()),
            "blocks": int(summary["n_blocks"].fillna(0).sum()),
            "scheduler": scheduler or f"LocalCluster({n_workers} workers)",
        },
    )
    return summary


def _tiles(bounds: tuple[float, float, float, float], tile_m: float) -> list[tuple[float, float, float, float]]:
    x0, y0, x1, y1 = bounds
    xs = np.arange(x0, x1, tile_m)
    ys = np.arange(y0, y1, tile_m)
    return [(x, y, min(x + tile_m, x1), min(y + tile_m, y1)) for y in ys for x in xs]


def _cut_by_halo(
    blocks: gpd.GeoDataFrame, halo: tuple, study: tuple, eps: float = 0.01, reach: float = FOOTPRINT_REACH_M
) -> bool:
    """Whether a block comes within ``reach`` of an edge of ``halo`` that is not an edge of ``study``: it may
    be cut there, or its footprint-matched shares would miss surfaces beyond the halo (the thermal band's
    blur reaches :data:`FOOTPRINT_REACH_M` around a block)."""
    if blocks.empty:
        return False
    b = blocks.geometry.bounds
    r = reach + eps
    return bool(
        ((halo[0] > study[0] + eps) & (b["minx"] <= halo[0] + r)).any()
        or ((halo[1] > study[1] + eps) & (b["miny"] <= halo[1] + r)).any()
        or ((halo[2] < study[2] - eps) & (b["maxx"] >= halo[2] - r)).any()
        or ((halo[3] < study[3] - eps) & (b["maxy"] >= halo[3] - r)).any()
    )


def build_tiled(
    inputs: BuildInputs,
    out: str | Path,
    *,
    tile_m: float = 5000.0,
    halo_m: float = 500.0,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> Path:
    """Build ``inputs`` tile by tile (bounded memory) into one territory at ``out``.

    Each tile is built with a halo of ``halo_m`` around it; a block is kept by the tile holding
    its representative point, so a block crossing a tile edge is computed once, whole: when a
    kept block reaches the halo's edge (a block larger than the halo), the tile is built again
    with a halo twice as wide. Rasters and population grids are read once for the whole area (one pixel
    grid for every tile), and distances to water and green spaces are computed at the end over
    the whole area, so the result does not depend on the tiling.
    """
    from .blocks import stable_ids
    from .build import (  # the untiled rules
        distance_features,
        intersect_bounds,
        lst_bounds,
        read_shared_sources,
        vector_extent,
    )
    from .crs import choose_working_crs
    from .sources.bdtopo import read_bdtopo
    from .zonal import coverage_weights

    progress = progress or (lambda m, f: None)
    if not (tile_m >= 500.0 and halo_m >= 0.0):
        raise BuildError(
            f"Tuiles de {tile_m / 1000:g} km : il faut des tuiles d'au moins 0,5 km et une marge positive."
        )
    probe = vector_extent(inputs, 4326) or lst_bounds(inputs.lst[0], 4326)
    crs = choose_working_crs((probe[0] + probe[2]) / 2, (probe[1] + probe[3]) / 2).crs
    study = intersect_bounds(lst_bounds(inputs.lst[0], crs), vector_extent(inputs, crs))
    tiles = _tiles(study, tile_m)
    progress("Lecture des rasters (une fois pour tout le territoire)", 0.0)
    rasters = read_shared_sources(inputs, crs, study)  # small next to the vectors: 1,000 km² at 30 m is 1.1 M pixels
    parts, streets, manifests = [], [], []
    n_buildings, height_sources, widened = 0, {}, 0
    t0 = time.perf_counter()
    for k, tile in enumerate(tiles):
        progress(f"Tuile {k + 1}/{len(tiles)}", 0.9 * k / len(tiles))
        h = halo_m
        while True:  # widen the halo until no block of this tile is cut by it
            halo = (
                max(tile[0] - h, study[0]),
                max(tile[1] - h, study[1]),
                min(tile[2] + h, study[2]),
                min(tile[3] + h, study[3]),
            )
            try:
                built: BuiltTerritory = compute_territory(
                    inputs, rasters=rasters.clip(halo), tile=TilePass(halo, hash_sources=not manifests)
                )
            except (NoOverlapError, BuildError):
                built = None  # nothing to build in this tile (no road, no valid pixel)
                break
            b = built.blocks
            pts = b.geometry.representative_point()
            own = (pts.x >= tile[0]) & (pts.x < tile[2]) & (pts.y >= tile[1]) & (pts.y < tile[3])
            if not _cut_by_halo(b[own], halo, study) or halo == tuple(study):
                break
            h *= 2
            widened += 1
        if built is None:
            continue
        parts.append(b[own])
        if built.buildings is not None and not built.buildings.empty:  # each building counted in one tile
            bp = built.buildings.geometry.representative_point()
            mine = built.buildings[(bp.x >= tile[0]) & (bp.x < tile[2]) & (bp.y >= tile[1]) & (bp.y < tile[3])]
            n_buildings += len(mine)
            for k_, v in mine["height_source"].value_counts().items():
                height_sources[k_] = height_sources.get(k_, 0) + int(v)
        if built.streets is not None:
            streets.append(built.streets)
        manifests.append(built.manifest)
        del built  # the tile's vectors go before the next tile is read
    if not parts:
        raise NoOverlapError(
            "Aucun îlot construit sur l'emprise : vérifiez que les fichiers portent sur le même territoire."
        )
    blocks = pd.concat(parts)
    blocks = gpd.GeoDataFrame(blocks, geometry="geometry", crs=parts[0].crs)
    # Distances look beyond any halo: water and vegetation (small layers) are read once for the whole area.
    progress("Distances à l'eau et aux espaces verts", 0.9)
    small = (
        read_bdtopo(inputs.bdtopo, crs, bbox=study, only=("zone_de_vegetation", "surface_hydrographique"))
        if inputs.bdtopo
        else None
    )
    dist, dist_sources = distance_features(blocks, small, rasters.landcover)
    for col in dist.columns:
        blocks[col] = dist[col]
    if inputs.blocks is None:  # ids from the same rule as an untiled build, over the whole set
        blocks.index = pd.Index(stable_ids(blocks.geometry), name="block_id")
    blocks = blocks.sort_index()
    lst, n_dates = rasters.lst, rasters.n_dates
    manifest = dict(manifests[0])
    manifest["features"] = {k: dict(v) for k, v in manifest["features"].items()}
    for col, src in dist_sources.items():
        manifest["features"][col].update(available=src is not None, source=src)
    bounds = tuple(float(v) for v in blocks.total_bounds)
    from .crs import bounds_to_wgs84

    manifest.update(
        {
            "bounds": bounds,
            "bounds_wgs84": bounds_to_wgs84(bounds, crs),
            "study_area": tuple(float(v) for v in study),
            "area_km2": round(float(blocks.area.sum()) / 1e6, 3),
            "n_blocks": int(len(blocks)),
            "buildings": {"n": n_buildings, "height_source": height_sources}
            if n_buildings
            else manifest.get("buildings"),
            "tiling": {
                "tile_m": tile_m,
                "halo_m": halo_m,
                "tiles": len(tiles),
                "tiles_built": len(parts),
                "halo_widened": widened,
            },
        }
    )
    manifest["build"] = {
        **manifest.get("build", {}),
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "command": command,
    }
    street_table = None
    if streets:
        merged = pd.concat(streets, ignore_index=True)
        key = [c for c in ("name", "kind") if c in merged]
        street_table = gpd.GeoDataFrame(
            merged.drop_duplicates(key) if key else merged, geometry="geometry", crs=streets[0].crs
        )
    progress("Écriture du territoire", 0.96)
    with staging(out) as tmp:
        write_territory(
            tmp,
            BuiltTerritory(
                blocks=blocks,
                lst=lst,
                n_dates=n_dates,
                manifest=manifest,
                streets=street_table,
                coverage=coverage_weights(lst, blocks),
            ),
        )
    progress("Territoire prêt", 1.0)
    return Path(out)


def reaggregate_lst(territory: str | Path, source: str) -> pd.DataFrame:
    """Block means of another LST (a Landsat scene or an LST GeoTIFF) by the stored sparse weights.

    The new raster is read like a build reads it (masked, in °C), resampled onto the territory's
    LST grid, and averaged per block with :func:`ilots.zonal.sparse_mean`: no new zonal pass.
    Returns ``lst_mean_c`` (new), ``lst_mean_c_stored`` and their difference, indexed by block.
    """
    from .build import read_lst_layers
    from .errors import CorruptTerritoryError
    from .sources.rasters import composite
    from .store import load_territory
    from .zonal import sparse_mean

    terr = load_territory(territory)
    weights = terr.coverage()
    if weights is None:
        raise CorruptTerritoryError(
            f"{terr.name} : pas de poids de couverture (territoire construit par une version antérieure) ; "
            "reconstruisez-le pour recalculer d'autres dates sans nouveau passage zonal."
        )
    grid = terr.lst()
    layers, _ = read_lst_layers([source], grid.rio.crs, tuple(float(v) for v in grid.rio.bounds()), with_ndvi=False)
    values, _ = composite(layers, ref=grid)  # every date resampled onto the territory's grid, then the median
    new = sparse_mean(weights, values)
    stored = terr.blocks["lst_mean_c"].reindex(new.index)
    out = pd.DataFrame({"lst_mean_c": new, "lst_mean_c_stored": stored, "difference_c": new - stored})
    out.attrs["dates"] = sorted({layer.date.isoformat() for layer in layers if layer.date})
    return out
