"""A territory on disk: ``territory.json`` (manifest), ``blocks.parquet`` (GeoParquet, working
CRS, one row a block) and ``lst.tif`` (cloud-optimised GeoTIFF, °C, band 2 = valid dates).

Writes are atomic: a territory is assembled in a hidden sibling folder and swapped in by rename
only once complete, so a crash never leaves a half territory that looks complete, and the
territory that was there before stays intact until the new one is ready.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
import xarray as xr

from .errors import (
    BuildError,
    CorruptTerritoryError,
    ScenarioExistsError,
    ScenarioFileError,
    TerritoryExistsError,
    TerritoryNotFoundError,
)
from .folders import BLOCKS, MANIFEST, is_territory, list_territories, recover
from .fr import slug

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
    "write_atomic",
    "scenario_files",
    "find_scenario_file",
    "write_scenario_file",
    "read_scenario_file",
    "write_json_atomic",
    "read_manifest",
    "check_replaceable",
    "describe_replacement",
    "write_parquet_atomic",
    "save_model",
    "sha256_file",
]

LST = "lst.tif"
MODEL = "model.json"
MODEL_TABLE = "model.parquet"
SCENARIOS = "scenarios"
STREETS = "streets.parquet"
# Block × LST-pixel coverage fractions (sparse, see ilots.zonal.CoverageWeights): re-aggregation without a new pass.
COVERAGE = "coverage.npz"
MONITORING = "monitoring"  # works done and further summers' LST (python -m ilots monitor, « Suivi des réalisations »)
SUMMERS = "summers.json"
WORKS = "works.gpkg"
MONITOR_RESULTS = "results.json"  # the last before/after estimates (read by the model card)
PLACES = "places"  # sensitive facilities the territory gave (python -m ilots facilities --file … --save)
FACILITIES = "facilities.gpkg"
NIGHT = "night"  # the night layer (python -m ilots night), kept apart from the daytime model
NIGHT_INDEX = "night.json"
NIGHT_PIXELS = "pixels.parquet"
NIGHT_LCZ = "lcz.parquet"
FORMAT_VERSION = 1
# What every reader of a manifest relies on; a manifest without one of these is damaged.
MANIFEST_KEYS = ("name", "crs", "bounds", "bounds_wgs84", "n_blocks", "acquisition_dates", "features", "created")
# What the pages, the CLI and the scenario engine read from model.json.
MODEL_KEYS = ("format_version", "created", "chosen", "metrics", "folds", "training", "linear", "effects", "risk")


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
        if not isinstance(meta, dict) or any(k not in meta for k in MODEL_KEYS):
            raise CorruptTerritoryError(f"Le modèle de {self.name} est endommagé (champs manquants) : réajustez-le.")
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

    def works(self) -> gpd.GeoDataFrame | None:
        """The completed projects saved with the territory (working CRS), or None."""
        return read_works_file(self.path)

    def summers(self) -> tuple[dict[int, xr.DataArray], dict]:
        """Each stored summer's LST (°C, on the territory's grid) by year, and the summers' index."""
        return read_summers(self.path, self.lst())


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
    if not isinstance(manifest, dict):
        raise CorruptTerritoryError(f"Le manifeste {p / MANIFEST} est endommagé : un objet JSON est attendu.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CorruptTerritoryError(
            f"Territoire {p.name} au format {manifest.get('format_version')!r}, attendu {FORMAT_VERSION} : "
            "reconstruisez-le."
        )
    try:
        blocks = gpd.read_parquet(p / BLOCKS)
    except Exception as exc:  # pyarrow raises several unrelated exception types
        raise CorruptTerritoryError(f"Les îlots de {p.name} sont illisibles : {exc}") from exc
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise CorruptTerritoryError(
            f"Le manifeste de {p.name} est endommagé : champ(s) {', '.join(missing)} absent(s)."
        )
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


def write_atomic(path: str | Path, write) -> Path:
    """The one atomic write of Îlots: call ``write(tmp)`` on a temporary sibling of ``path``, fsync it, rename
    it over ``path``, fsync the folder. Readers see the old file or the new one, never a part. The temporary
    name, ``.<name>.part-<pid>-<hex>.tmp``, lets a later run recognise a dead writer's leftover (see
    :func:`ilots.fetch.http.remove_dead_parts`) and a rebuild tell it from a user's file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return path


def write_json_atomic(path: str | Path, data) -> None:
    """Write JSON (UTF-8, indented; numpy numbers as numbers) atomically to ``path``."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


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


# Everything a territory folder may hold that Îlots itself wrote: a rebuild replaces these and
# nothing else (``sources`` is the demo's and fetch's copy of what was used).
OWNED = frozenset(
    {MANIFEST, BLOCKS, LST, MODEL, MODEL_TABLE, SCENARIOS, STREETS, COVERAGE, MONITORING, NIGHT, PLACES, "sources"}
)


def read_manifest(folder: str | Path) -> dict | None:
    """The manifest of ``folder`` if it is an Îlots manifest (a JSON object with a format version)."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "format_version" in data else None


def check_replaceable(out: Path, replace: bool = True) -> dict | None:
    """Refuse (:class:`BuildError`) to write over ``out`` unless it is absent, empty or an Îlots territory
    holding only files Îlots made; with ``replace=False`` refuse an existing territory too
    (:class:`TerritoryExistsError`). Returns the previous manifest (None when there was none)."""
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out} existe et n'est pas un dossier : choisissez un autre dossier.")
    if not out.is_dir() or not any(out.iterdir()):
        return None
    previous = read_manifest(out)
    if previous is None:
        raise BuildError(
            f"Le dossier {out} existe, n'est pas vide et n'est pas un territoire Îlots : choisissez un autre dossier."
        )
    foreign = sorted(
        q.name
        for q in out.iterdir()
        if q.name not in OWNED and not (q.name.startswith(".") and q.name.endswith(".tmp"))
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" et {len(foreign) - 3} autres" if len(foreign) > 3 else "")
        raise BuildError(
            f"Le territoire {out} contient des fichiers qu'Îlots n'a pas créés ({shown}) : déplacez-les, "
            "ou construisez dans un autre dossier."
        )
    if not replace:
        raise TerritoryExistsError(
            f"Un territoire « {previous.get('name', out.name)} » existe déjà : choisissez un autre nom."
        )
    return previous


def _carry_scenarios(old: Path, new: Path, previous: dict) -> None:
    """Copy saved scenarios from the territory being replaced, each marked with the build it was made on."""
    src = old / SCENARIOS
    if not src.is_dir():
        return
    shutil.copytree(src, new / SCENARIOS, dirs_exist_ok=True)
    for path in (new / SCENARIOS).glob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # kept as it is; list_scenarios reports it
        if isinstance(data, dict):
            data.setdefault("territory_created", previous.get("created"))
            write_json_atomic(path, data)


def _carry_extras(old: Path, new: Path) -> None:
    """Works, summers, nights and facilities outlive a rebuild: copied when the new build made none; when it
    made its own (the demo), the nights and facilities the old one held besides are added to them."""
    for kept in (MONITORING, NIGHT, PLACES):
        if (old / kept).is_dir() and not (new / kept).exists():
            shutil.copytree(old / kept, new / kept)
    if (old / PLACES / FACILITIES).exists() and (new / PLACES / FACILITIES).exists():
        add_facilities(new, read_facilities_file(old))
    pixels = read_night_pixels(old) if (new / NIGHT / NIGHT_INDEX).exists() else None
    if pixels is not None:
        have = {n["scene_id"] for n in night_index(new)["nights"]}
        extra = [n for n in night_index(old)["nights"] if n["scene_id"] not in have]
        if extra:
            ids = {n["scene_id"] for n in extra}
            add_nights(new, pixels[pixels["scene_id"].isin(ids)], extra, {})


@dataclass
class Replaced:
    """What a build will do to the territory it replaces (empty when there is none).

    See :func:`describe_replacement`."""

    previous: dict | None = None
    scenarios_kept: int = 0
    model_dropped: bool = False


@contextlib.contextmanager
def staging(out_dir: str | Path, replace: bool = True, finish=None):
    """Yield a hidden sibling folder to assemble a territory in; swap it in on success.

    ``out_dir`` must be absent, empty, or an Îlots territory holding only what Îlots made (see
    :func:`check_replaceable`); ``replace=False`` refuses an existing territory too. Saved scenarios of
    the territory replaced are carried over (marked as made on the previous build); its model, fitted on
    other blocks, is not. ``finish(tmp)`` runs before the swap (e.g. fitting the model), so a territory
    is published only once it is complete. On error the staging folder is removed and ``out_dir`` is
    left as it was. :func:`describe_replacement`, called before, tells what the swap will replace.
    """
    out = Path(out_dir)
    recover(out)
    check_replaceable(out, replace)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if finish is not None:
            finish(tmp)
        if out.is_dir():
            previous = check_replaceable(out)  # again: the folder may have changed while building
            if previous is not None:
                _carry_scenarios(out, tmp, previous)
                _carry_extras(out, tmp)
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


def describe_replacement(out_dir: str | Path) -> Replaced:
    """What building over ``out_dir`` will do: the previous manifest, scenarios kept, model dropped."""
    out = Path(out_dir)
    if not out.is_dir():
        return Replaced()
    previous = read_manifest(out)
    if previous is None:
        return Replaced()
    n = len(list((out / SCENARIOS).glob("*.json"))) if (out / SCENARIOS).is_dir() else 0
    return Replaced(previous, n, (out / MODEL).exists())


def write_parquet_atomic(path: str | Path, frame: pd.DataFrame) -> None:
    """Write a (Geo)DataFrame to Parquet (index kept) atomically to ``path``."""
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=True))


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

        inner = spath[len("/vsitar/") :]
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


# -- saved scenarios ------------------------------------------------------------------------------------------
# A scenario is found by its exact name (Unicode NFC), stored inside its file; the file name is a readable slug
# plus a hash of that name, so two names never share a file (names in non-Latin scripts slug to nothing, long
# names sharing their first characters slug alike). What a scenario holds is :mod:`ilots.scenarios`' business.


def _scenario_key(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def _scenario_file_name(name: str) -> str:
    digest = hashlib.sha256(_scenario_key(name).encode("utf-8")).hexdigest()[:12]
    return f"{slug(name, max_len=40) or 'scenario'}-{digest}.json"


def scenario_files(territory_dir: str | Path) -> list[Path]:
    """The saved scenario files of a territory, in a stable order."""
    folder = Path(territory_dir) / SCENARIOS
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def find_scenario_file(territory_dir: str | Path, name: str) -> Path | None:
    """The file holding the scenario named exactly ``name`` (older files are matched by content), or None."""
    folder = Path(territory_dir) / SCENARIOS
    direct = folder / _scenario_file_name(name)
    if direct.is_file():
        return direct
    for path in scenario_files(territory_dir):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            isinstance(data, dict)
            and isinstance(data.get("name"), str)
            and _scenario_key(data["name"]) == _scenario_key(name)
        ):
            return path
    return None


def write_scenario_file(territory_dir: str | Path, name: str, data: dict, overwrite: bool = False) -> Path:
    """Write a scenario's JSON atomically under its exact ``name``; refuse to replace one of that name unless
    ``overwrite`` (:class:`ScenarioExistsError`)."""
    folder = Path(territory_dir) / SCENARIOS
    folder.mkdir(exist_ok=True)
    existing = find_scenario_file(territory_dir, name)
    if existing is not None and not overwrite:
        raise ScenarioExistsError(f"Un scénario nommé « {name} » existe déjà : choisissez un autre nom.")
    path = existing or folder / _scenario_file_name(name)
    write_json_atomic(path, data)
    return path


def read_scenario_file(path: Path) -> dict:
    """A saved scenario's JSON; :class:`ScenarioFileError` with one French sentence when it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScenarioFileError(
            f"Le fichier de scénario {path.name} est illisible : JSON invalide ligne {exc.lineno}, colonne {exc.colno}."
        ) from exc
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(f"Le fichier de scénario {path.name} n'est pas un texte UTF-8.") from exc


def _read_kept(path: Path, read, what: str):
    """``read(path)`` of a file the territory keeps (works, nights, facilities), None when it is absent, a French
    :class:`CorruptTerritoryError` when it is unreadable."""
    if not path.exists():
        return None
    try:
        return read(path)
    except Exception as exc:  # pyarrow and pyogrio raise several unrelated types
        raise CorruptTerritoryError(f"{what} ({path}) : fichier illisible ({exc}) ; ajoutez-les de nouveau.") from exc


def _read_index(path: Path, what: str, empty: dict) -> dict:
    """A JSON index the territory keeps: ``empty`` (with a format version) when absent; its first key must hold
    the same kind of value as in ``empty``, missing keys take ``empty``'s; a French error when damaged."""
    if not path.exists():
        return {"format_version": 1, **copy.deepcopy(empty)}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorruptTerritoryError(f"{what} ({path}) est illisible : {exc}") from exc
    main = next(iter(empty))
    if not isinstance(data, dict) or not isinstance(data.get(main), type(empty[main])):
        raise CorruptTerritoryError(f"{what} ({path}) est endommagé.")
    for key, value in empty.items():
        data.setdefault(key, copy.deepcopy(value))
    return data


def _merge_kept(old: gpd.GeoDataFrame | None, new: gpd.GeoDataFrame, keys: tuple[str, ...]):
    """(``old`` followed by the rows of ``new`` it does not hold yet, how many those are): a row is held when
    its ``keys`` columns and its geometry (normalised, so a ring's starting vertex does not matter) match."""
    if old is None:
        return new.reset_index(drop=True), int(len(new))
    new = new.to_crs(old.crs)

    def rows(frame: gpd.GeoDataFrame) -> list[tuple]:
        values = [frame[k].astype(str) for k in keys]
        return list(zip(*values, [g.wkb for g in shapely.normalize(frame.geometry.values)], strict=True))

    seen = set(rows(old))
    new = new[[r not in seen for r in rows(new)]]
    merged = gpd.GeoDataFrame(pd.concat([old, new], ignore_index=True), crs=old.crs)
    return merged, int(len(new))


def _write_gpkg_atomic(path: Path, frame: gpd.GeoDataFrame, layer: str) -> Path:
    import warnings

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: a GeoPackage's name should end in .gpkg
            frame.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")

    return write_atomic(path, write)


# -- Monitoring: works done and further summers ------------------------------------------------------------


def summers_index(territory_dir: str | Path) -> dict:
    """``monitoring/summers.json``: ``{"summers": {year: {dates, sources, valid_share, file}}, "skipped": {year:
    reason}}`` (empty when no summer was added)."""
    return _read_index(
        Path(territory_dir) / MONITORING / SUMMERS, "L'index des étés de suivi", {"summers": {}, "skipped": {}}
    )


def write_summer(territory_dir: str | Path, year: int, lst: xr.DataArray | None, entry: dict) -> None:
    """Store one summer: its LST raster (°C, float32) as ``monitoring/lst_<year>.tif``, then its line in the
    index; ``lst=None`` records a summer with no clear scene (``entry["reason"]``). Both writes are atomic and
    the other summers are kept."""
    folder = Path(territory_dir) / MONITORING
    index = summers_index(territory_dir)
    key = str(int(year))
    if lst is None:
        index["summers"].pop(key, None)
        index["skipped"][key] = entry.get("reason", "aucune scène claire")
    else:
        name = f"lst_{key}.tif"
        data = lst.values.astype("float32")
        profile = {
            "driver": "GTiff",
            "height": data.shape[0],
            "width": data.shape[1],
            "count": 1,
            "dtype": "float32",
            "crs": lst.rio.crs,
            "transform": lst.rio.transform(),
            "nodata": np.nan,
            "compress": "deflate",
        }

        def write(tmp: Path) -> None:
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(data, 1)
                dst.update_tags(1, units="degC", year=key)

        write_atomic(folder / name, write)
        index["summers"][key] = {**entry, "file": name}
        index["skipped"].pop(key, None)
    write_json_atomic(folder / SUMMERS, index)


def read_summers(territory_dir: str | Path, grid: xr.DataArray) -> tuple[dict[int, xr.DataArray], dict]:
    """Stored summers' LST by year, each on ``grid`` (the territory's LST grid; a summer stored before a
    rebuild is resampled onto the new grid), and the index."""
    import rioxarray
    from rasterio.enums import Resampling

    index = summers_index(territory_dir)
    out: dict[int, xr.DataArray] = {}
    for key, entry in sorted(index["summers"].items()):
        path = Path(territory_dir) / MONITORING / entry["file"]
        try:
            da = rioxarray.open_rasterio(path, masked=True).sel(band=1, drop=True).load()
        except Exception as exc:  # rasterio raises several unrelated types
            raise CorruptTerritoryError(
                f"L'été {key} du suivi est illisible ({path.name}) : ajoutez-le de nouveau."
            ) from exc
        if da.shape != grid.shape or tuple(da.rio.transform()) != tuple(grid.rio.transform()):
            da = da.rio.reproject_match(grid, resampling=Resampling.bilinear)
        out[int(key)] = da
    return out, index


def write_works_file(territory_dir: str | Path, works: gpd.GeoDataFrame) -> Path:
    """Save the territory's completed projects (``monitoring/works.gpkg``) atomically, replacing the list."""
    frame = works.copy()
    frame["completed"] = [d.isoformat() for d in frame["completed"]]
    return _write_gpkg_atomic(Path(territory_dir) / MONITORING / WORKS, frame.reset_index(), "works")


def add_works(territory_dir: str | Path, new: gpd.GeoDataFrame) -> int:
    """Append checked projects (:func:`ilots.sources.works.check_works`) to the saved ones, atomically: nothing
    saved is replaced; a project already saved (same name and polygon) is not added twice. Returns how many
    were added."""
    merged, added = _merge_kept(read_works_file(territory_dir), new, ("name",))
    if not added:
        return 0
    merged.index = pd.Index([f"p{i + 1}" for i in range(len(merged))], name="project_id")
    write_works_file(territory_dir, merged)
    return added


def read_works_file(territory_dir: str | Path) -> gpd.GeoDataFrame | None:
    """The saved projects (see :func:`write_works_file`), checked again, or None when none was saved."""
    from .sources.works import check_works

    raw = _read_kept(
        Path(territory_dir) / MONITORING / WORKS,
        lambda p: gpd.read_file(p, layer="works", engine="pyogrio"),
        "La liste des réalisations",
    )
    if raw is None:
        return None
    return check_works(raw.drop(columns=["project_id"], errors="ignore"), "La liste enregistrée")


def write_monitor_results(territory_dir: str | Path, results: dict) -> None:
    """Keep the last monitoring estimates (``monitoring/results.json``, atomic) for the model card."""
    write_json_atomic(Path(territory_dir) / MONITORING / MONITOR_RESULTS, results)


def read_monitor_results(territory_dir: str | Path) -> dict | None:
    """The last monitoring estimates, or None (never run, or unreadable: they are recomputed on demand)."""
    path = Path(territory_dir) / MONITORING / MONITOR_RESULTS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("projects"), list) else None


# -- Night layer: night surface temperatures and Local Climate Zones ---------------------------------------


def night_index(territory_dir: str | Path) -> dict:
    """``night/night.json``: ``{"nights": [scene summaries], "skipped": {scene: reason}, "lcz": {...} | None}``."""
    return _read_index(
        Path(territory_dir) / NIGHT / NIGHT_INDEX,
        "L'index de la couche de nuit",
        {"nights": [], "skipped": {}, "lcz": None},
    )


def read_night_pixels(territory_dir: str | Path) -> pd.DataFrame | None:
    """The stored night pixels (scene_id, x, y, lst_c), or None when no night was added."""
    return _read_kept(Path(territory_dir) / NIGHT / NIGHT_PIXELS, pd.read_parquet, "Les pixels de nuit")


def add_nights(territory_dir: str | Path, points: pd.DataFrame, summaries: list[dict], skipped: dict) -> int:
    """Add night scenes (their clear pixels and summaries) to the stored ones; a scene already stored is
    replaced, the others are kept. Pixels first, then the index (which marks completion); both atomic.
    Returns how many scenes the territory now holds."""
    folder = Path(territory_dir) / NIGHT
    index = night_index(territory_dir)
    old = read_night_pixels(territory_dir)
    new_ids = {s["scene_id"] for s in summaries}
    if old is not None:
        points = pd.concat([old[~old["scene_id"].isin(new_ids)], points], ignore_index=True)
    write_parquet_atomic(folder / NIGHT_PIXELS, points.reset_index(drop=True))
    nights = [n for n in index["nights"] if n["scene_id"] not in new_ids] + list(summaries)
    index["nights"] = sorted(nights, key=lambda n: n["start"])
    index["skipped"] = {k: v for k, v in {**index["skipped"], **skipped}.items() if k not in new_ids}
    write_json_atomic(folder / NIGHT_INDEX, index)
    return len(index["nights"])


def write_lcz(territory_dir: str | Path, lcz: gpd.GeoDataFrame, source: dict) -> None:
    """Store the territory's Local Climate Zones (``night/lcz.parquet``, checked by
    :func:`ilots.night.check_lcz`) and their source in the index; replaces a previous LCZ layer."""
    folder = Path(territory_dir) / NIGHT
    write_parquet_atomic(folder / NIGHT_LCZ, lcz)
    index = night_index(territory_dir)
    index["lcz"] = source
    write_json_atomic(folder / NIGHT_INDEX, index)


def read_lcz(territory_dir: str | Path) -> gpd.GeoDataFrame | None:
    """The stored Local Climate Zones, or None."""
    return _read_kept(Path(territory_dir) / NIGHT / NIGHT_LCZ, gpd.read_parquet, "Les zones climatiques locales")


# -- Sensitive facilities given by the territory ----------------------------------------------------------


def add_facilities(territory_dir: str | Path, new: gpd.GeoDataFrame) -> int:
    """Keep classed facilities (:func:`ilots.facilities.read_facilities`: kind, name, source, geometry) with the
    territory (``places/facilities.gpkg``, atomic); one already kept (same kind, name and place) is not added
    twice, the others are kept. Returns how many were added."""
    merged, added = _merge_kept(read_facilities_file(territory_dir), new, ("kind", "name"))
    if not added:
        return 0
    merged["name"] = merged["name"].astype(object).where(merged["name"].notna(), None)
    _write_gpkg_atomic(Path(territory_dir) / PLACES / FACILITIES, merged, "facilities")
    return added


def read_facilities_file(territory_dir: str | Path) -> gpd.GeoDataFrame | None:
    """The facilities kept with the territory, or None."""
    return _read_kept(
        Path(territory_dir) / PLACES / FACILITIES,
        lambda p: gpd.read_file(p, layer="facilities", engine="pyogrio"),
        "Les établissements enregistrés",
    )
