"""Many communes as Dask tasks: one territory per commune, a partitioned dataset of all blocks.

:func:`build_many` builds one territory per commune, each a task on a ``dask.distributed``
cluster (a :class:`~dask.distributed.LocalCluster` by default, any scheduler address for a real
one). Communes come from a polygon file (``code_insee`` + ``nom``; built from shared local
inputs, each commune's polygon as the study area) or as INSEE codes (each fetched from the open
services, see :mod:`ilots.fetch`). A commune that fails is reported and does not stop the others;
a rerun skips finished communes. All blocks also go to one GeoParquet dataset partitioned by
commune (``blocks/code_insee=XXXXX/part-0.parquet``), and a merged summary to
``summary.csv``/``summary.json``.
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

from ..build import BuildInputs, build_territory
from ..errors import BuildError, IlotsError, InputFileError, require_extra
from ..fr import slug
from ..progress import Progress
from ..sources.vectors import read_vector
from ..store import BLOCKS, is_territory, write_atomic, write_json_atomic

__all__ = ["CommuneResult", "SUMMARY_COLUMNS", "check_insee_codes", "read_communes", "build_commune", "build_many"]

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
            from ..errors import MissingColumnError

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
    from ..store import load_territory

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
            build_territory(inputs, target, command=shared.get("command"))
        else:
            from ..fetch import FetchRequest, acquire  # the fetch's libraries load only for INSEE codes

            acq = acquire(FetchRequest(communes=[code], **shared["fetch"]))
            build_territory(acq.download, target, command=shared.get("command"), manifest_extra=acq.provenance)
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
    require_extra("scale", "dask.distributed")
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
