"""A territory on disk: ``territory.json`` (manifest), ``blocks.parquet`` (GeoParquet, working
CRS, one row a block) and ``lst.tif`` (cloud-optimised GeoTIFF, °C, band 2 = valid dates).

Writes are atomic: a territory is assembled in a hidden sibling folder and swapped in by rename
only once complete, so a crash never leaves a half territory that looks complete, and the
territory that was there before stays intact until the new one is ready.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import xarray as xr

from .errors import BuildError, CorruptTerritoryError, TerritoryNotFoundError

__all__ = [
    "MANIFEST",
    "BLOCKS",
    "LST",
    "FORMAT_VERSION",
    "Territory",
    "is_territory",
    "list_territories",
    "load_territory",
    "staging",
    "write_blocks",
    "write_lst",
    "write_json_atomic",
    "write_parquet_atomic",
    "save_model",
    "sha256_file",
]

MANIFEST = "territory.json"
BLOCKS = "blocks.parquet"
LST = "lst.tif"
MODEL = "model.json"
MODEL_TABLE = "model.parquet"
SCENARIOS = "scenarios"
STREETS = "streets.parquet"
# Block × LST-pixel coverage fractions (sparse, see ilots.zonal.CoverageWeights): re-aggregation without a new pass.
COVERAGE = "coverage.npz"
FORMAT_VERSION = 1


@dataclass
class Territory:
    """A loaded territory. ``blocks`` is indexed by ``block_id``; treat it as read-only."""

    path: Path
    manifest: dict
    blocks: gpd.GeoDataFrame

    @property
    def name(self) -> str:
        return self.manifest.get("name", self.path.name)

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic", False))

    def streets(self) -> gpd.GeoDataFrame | None:
        """Named streets (working CRS) for offline search, when the build had named roads."""
        path = self.path / STREETS
        return gpd.read_parquet(path) if path.exists() else None

    def model(self) -> tuple[dict, pd.DataFrame] | None:
        """The stored model metadata and per-block outputs, or None if the model was never fitted.

        Raises :class:`CorruptTerritoryError` if the files exist but cannot be read.
        """
        meta_path, table_path = self.path / MODEL, self.path / MODEL_TABLE
        if not meta_path.exists() or not table_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            table = pd.read_parquet(table_path)
        except Exception as exc:  # json and pyarrow raise unrelated exception types
            raise CorruptTerritoryError(f"Le modèle de {self.name} est illisible : {exc}") from exc
        if len(table) != len(self.blocks) or not table.index.equals(self.blocks.index):
            raise CorruptTerritoryError(f"Le modèle de {self.name} ne correspond plus à ses îlots : réajustez-le.")
        return meta, table

    def lst(self) -> xr.DataArray:
        """The territory's LST raster (°C, NaN where missing) in the working CRS."""
        import rioxarray

        da = rioxarray.open_rasterio(self.path / LST, masked=True).sel(band=1, drop=True)
        da.name = "lst_c"
        return da.load()

    def coverage(self):
        """Block × LST-pixel coverage weights (:class:`ilots.zonal.CoverageWeights`), or None if absent."""
        from .zonal import CoverageWeights

        path = self.path / COVERAGE
        return CoverageWeights.load(path) if path.exists() else None


def recover(path: str | Path) -> None:
    """Finish or undo an interrupted swap, and remove staging folders left by killed builds.

    A build swaps folders with two renames (current → ``.NAME.old-*``, staging → current). If the
    process died between them, the previous territory is put back. Staging folders
    (``.NAME.building-*``) of builds that died are deleted: they never hold a complete territory.
    """
    p = Path(path)
    parent = p.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{p.name}.old-*"), key=lambda q: q.stat().st_mtime)
    if not p.exists() and olds:
        os.rename(olds[-1], p)
        olds = olds[:-1]
    for q in olds:
        shutil.rmtree(q, ignore_errors=True)
    for q in parent.glob(f".{p.name}.building-*"):
        pid = q.name.rsplit("-", 2)[-2] if q.name.count("-") >= 2 else ""
        if not pid.isdigit() or not process_alive(int(pid)):
            shutil.rmtree(q, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (a staging or temporary file's owner)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_territory(path: str | Path) -> bool:
    """Whether ``path`` holds a complete territory (manifest written last, so it marks completion)."""
    p = Path(path)
    return (p / MANIFEST).is_file() and (p / BLOCKS).is_file()


def list_territories(root: str | Path) -> list[Path]:
    """Complete territories directly under ``root``, sorted by folder name."""
    root = Path(root)
    if not root.is_dir():
        return []
    for name in {q.name.split(".")[1] for q in root.glob(".*.old-*")}:
        recover(root / name)
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_territory(p))


def load_territory(path: str | Path) -> Territory:
    """Load a territory folder, with precise errors for a missing or damaged one."""
    p = Path(path)
    recover(p)
    if not p.is_dir() or not (p / MANIFEST).exists():
        raise TerritoryNotFoundError(f"Aucun territoire préparé dans {p} (fichier {MANIFEST} absent).")
    try:
        manifest = json.loads((p / MANIFEST).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptTerritoryError(f"Le manifeste {p / MANIFEST} est illisible : {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CorruptTerritoryError(
            f"Territoire {p.name} au format {manifest.get('format_version')!r}, attendu {FORMAT_VERSION} : reconstruisez-le."
        )
    try:
        blocks = gpd.read_parquet(p / BLOCKS)
    except Exception as exc:  # pyarrow raises several unrelated exception types
        raise CorruptTerritoryError(f"Les îlots de {p.name} sont illisibles : {exc}") from exc
    if len(blocks) != manifest.get("n_blocks"):
        raise CorruptTerritoryError(
            f"Territoire {p.name} incohérent : {len(blocks)} îlots sur disque, {manifest.get('n_blocks')} annoncés."
        )
    return Territory(path=p, manifest=manifest, blocks=blocks)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json_atomic(path: str | Path, data) -> None:
    """Write JSON through a temporary file, fsync, then rename over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2, default=_json_default)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, (Path,)):
        return str(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj)}")


@contextlib.contextmanager
def staging(out_dir: str | Path):
    """Yield a hidden sibling folder to assemble a territory in; swap it in on success.

    Refuses to replace a non-empty folder that is not a territory. On error the staging folder
    is removed and ``out_dir`` is left as it was.
    """
    out = Path(out_dir)
    recover(out)
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} existe et n'est pas un dossier.")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise BuildError(
            f"Le dossier {out} existe, n'est pas vide et n'est pas un territoire : choisissez un autre dossier."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        _fsync_dir(tmp)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(out, old)
        os.rename(tmp, out)
        _fsync_dir(out.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_parquet_atomic(path: str | Path, frame: pd.DataFrame) -> None:
    """Write a (Geo)DataFrame to Parquet through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.to_parquet(tmp, index=True)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def save_model(folder: str | Path, meta: dict, table: pd.DataFrame) -> None:
    """Store a fitted model: per-block outputs first, then the metadata (which marks completion)."""
    folder = Path(folder)
    write_parquet_atomic(folder / MODEL_TABLE, table)
    write_json_atomic(folder / MODEL, meta)


def write_blocks(folder: Path, blocks: gpd.GeoDataFrame) -> Path:
    path = Path(folder) / BLOCKS
    blocks.to_parquet(path, index=True)
    return path


def write_lst(folder: Path, lst: xr.DataArray, n_dates: xr.DataArray | None = None) -> Path:
    """Write LST (°C, band 1) and the valid-date count (band 2) as a cloud-optimised GeoTIFF."""
    path = Path(folder) / LST
    bands = [lst.values.astype("float32")]
    bands.append((n_dates.values if n_dates is not None else np.isfinite(bands[0])).astype("float32"))
    height, width = bands[0].shape
    profile = {
        "driver": "COG",
        "height": height,
        "width": width,
        "count": 2,
        "dtype": "float32",
        "crs": lst.rio.crs,
        "transform": lst.rio.transform(),
        "nodata": np.nan,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        for i, band in enumerate(bands, start=1):
            dst.write(band, i)
        dst.set_band_description(1, "lst_c")
        dst.set_band_description(2, "n_valid_dates")
        dst.update_tags(1, units="degC")
    return path


def sha256_file(path: str | Path, chunk: int = 4 * 1024 * 1024) -> str:
    """SHA-256 of a file (GDAL ``/vsitar/`` members are hashed through their archive)."""
    spath = str(path)
    h = hashlib.sha256()
    if spath.startswith("/vsitar/"):
        import tarfile

        inner = spath[len("/vsitar/"):]
        archive, _, member = inner.partition(".tar/")
        archive += ".tar"
        with tarfile.open(archive) as tar, tar.extractfile(member) as fh:
            for block in iter(lambda: fh.read(chunk), b""):
                h.update(block)
        return h.hexdigest()
    with open(spath, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
