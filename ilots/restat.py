"""Other dates' surface temperature on a built territory, without a new zonal pass.

:func:`reaggregate_lst` reads a Landsat scene or an LST GeoTIFF like a build does and averages it per
block with the territory's stored coverage weights (``python -m ilots restat``). :func:`add_summers`
stores whole summers (one composite per year, on the territory's grid) for the before/after monitoring
of completed works (:mod:`ilots.monitor`); :func:`summer_tables` averages them per block and per project.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from .build import read_lst_layers
from .errors import AllPixelsMaskedError, CorruptTerritoryError, InputFileError, NoOverlapError
from .fr import date_fr
from .progress import Progress, noop
from .sources.rasters import composite, date_from_name
from .store import Territory, load_territory, write_summer
from .zonal import coverage_weights, sparse_mean

__all__ = ["reaggregate_lst", "add_summers", "parse_summer_sources", "summer_tables", "MIN_VALID_SHARE"]

# A summer whose clear pixels cover less than this share of the territory's own valid pixels is not kept.
MIN_VALID_SHARE = 0.05


def _stored_weights(terr: Territory, to_do: str):
    """The territory's block × pixel coverage weights; :class:`CorruptTerritoryError` saying to rebuild (to do
    ``to_do``) when an older build did not store them."""
    weights = terr.coverage()
    if weights is None:
        raise CorruptTerritoryError(
            f"{terr.name} : pas de poids de couverture (territoire construit par une version antérieure) ; "
            f"reconstruisez-le pour {to_do}."
        )
    return weights


def reaggregate_lst(territory: str | Path, source: str) -> pd.DataFrame:
    """Block means of another LST (a Landsat scene or an LST GeoTIFF) by the stored sparse weights.

    The new raster is read like a build reads it (masked, in °C), resampled onto the territory's
    LST grid, and averaged per block with :func:`ilots.zonal.sparse_mean`: no new zonal pass.
    Returns ``lst_mean_c`` (new), ``lst_mean_c_stored`` and their difference, indexed by block.
    """
    terr = load_territory(territory)
    weights = _stored_weights(terr, "recalculer d'autres dates sans nouveau passage zonal")
    grid = terr.lst()
    layers, _ = read_lst_layers([source], grid.rio.crs, tuple(float(v) for v in grid.rio.bounds()), with_ndvi=False)
    values, _ = composite(layers, ref=grid)  # every date resampled onto the territory's grid, then the median
    new = sparse_mean(weights, values)
    stored = terr.blocks["lst_mean_c"].reindex(new.index)
    out = pd.DataFrame({"lst_mean_c": new, "lst_mean_c_stored": stored, "difference_c": new - stored})
    out.attrs["dates"] = sorted({layer.date.isoformat() for layer in layers if layer.date})
    return out


def parse_summer_sources(specs: list[str]) -> dict[int | None, list[str]]:
    """``["2019=a.tif,b.tif", "scene_folder"]`` → ``{2019: ["a.tif", "b.tif"], None: ["scene_folder"]}``: an
    explicit year, or None when the year is to be read from each source's acquisition date."""
    out: dict[int | None, list[str]] = {}
    for spec in specs:
        match = re.fullmatch(r"\s*(\d{4})\s*=\s*(.+)", spec)
        year, paths = (int(match.group(1)), match.group(2)) if match else (None, spec)
        out.setdefault(year, []).extend(p.strip() for p in paths.split(",") if p.strip())
    return out


def add_summers(
    territory: str | Path | Territory,
    sources: dict[int | None, list[str]],
    progress: Progress | None = None,
) -> dict:
    """Read each summer's LST sources (Landsat C2 L2 scenes or LST GeoTIFFs), composite each year on the
    territory's grid and store it (``monitoring/``); a summer whose scenes are all clouded is recorded as
    skipped, with its reason. Years come from the keys, else from each scene's acquisition date. Returns
    ``{"added": {year: {...}}, "skipped": {year: reason}}``. Summers already stored and not given are kept."""
    terr = territory if isinstance(territory, Territory) else load_territory(territory)
    progress = progress or noop
    grid = terr.lst()
    bounds = tuple(float(v) for v in grid.rio.bounds())
    own_valid = int(np.isfinite(grid.values).sum())
    by_year: dict[int, list] = {}
    skipped: dict[int, str] = {}
    items = [(year, path) for year, paths in sources.items() for path in paths]
    for k, (year, path) in enumerate(items):
        progress(f"Lecture des étés ({k + 1}/{len(items)})", k / max(len(items), 1) * 0.9)
        try:
            layers, _ = read_lst_layers([path], grid.rio.crs, bounds, with_ndvi=False)
        except AllPixelsMaskedError:
            named = year if year is not None else getattr(date_from_name(Path(path).name), "year", None)
            if named is not None:
                skipped.setdefault(named, f"aucun pixel clair dans {Path(path).name} (nuages)")
            continue
        except NoOverlapError as exc:
            raise NoOverlapError(f"{Path(path).name} ne recouvre pas le territoire {terr.name}.") from exc
        for layer in layers:
            y = year if year is not None else (layer.date.year if layer.date else None)
            if y is None:
                raise InputFileError(
                    f"{Path(path).name} : date d'acquisition introuvable (ni dans le nom, ni dans les métadonnées) ; "
                    "donnez l'année : --lst 2021=" + Path(path).name
                )
            by_year.setdefault(y, []).append(layer)
    added: dict[int, dict] = {}
    for year, layers in sorted(by_year.items()):
        values, _ = composite(layers, ref=grid)
        valid = int(np.isfinite(values.values).sum())
        share = valid / own_valid if own_valid else 0.0
        if share < MIN_VALID_SHARE:
            skipped[year] = f"moins de {MIN_VALID_SHARE:.0%} du territoire sans nuages".replace("%", "\u00a0%")
            continue
        dates = sorted({layer.date.isoformat() for layer in layers if layer.date})
        entry = {
            "dates": dates,
            "sources": sorted({_relative(str(layer.source.get("input")), terr.path) for layer in layers}),
            "valid_share": round(share, 4),
        }
        write_summer(terr.path, year, values, entry)
        added[year] = entry
        skipped.pop(year, None)
    for year, reason in skipped.items():
        if year not in added:
            write_summer(terr.path, year, None, {"reason": reason})
    progress("Étés enregistrés", 1.0)
    return {"added": added, "skipped": skipped}


def _relative(path: str, folder: Path) -> str:
    """``path`` relative to the territory folder when it lies inside it (the demo's, fetch's sources)."""
    try:
        return str(Path(path).resolve().relative_to(Path(folder).resolve()))
    except ValueError:
        return path


def summer_tables(
    terr: Territory, summers: dict[int, xr.DataArray], works: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Surface temperature (°C) per block and per project (rows) and summer (columns): the blocks by the stored
    coverage weights (one sparse product a summer), the projects by their own weights on the same grid."""
    weights = _stored_weights(terr, "suivre les réalisations")
    grid = terr.lst()
    project_weights = coverage_weights(grid, works)
    years = sorted(summers)
    blocks = pd.DataFrame({y: sparse_mean(weights, summers[y]).to_numpy() for y in years}, index=weights.index)
    projects = pd.DataFrame({y: sparse_mean(project_weights, summers[y]).to_numpy() for y in years}, index=works.index)
    return blocks.reindex(terr.blocks.index), projects


def summer_label(year: int, entry: dict) -> str:
    """« été 2021 (14 juillet et 30 juillet 2021) »."""
    dates = entry.get("dates") or []
    return f"été {year}" + (f" ({', '.join(date_fr(d) for d in dates)})" if dates else "")
