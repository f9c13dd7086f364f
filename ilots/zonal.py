"""Coverage-weighted zonal statistics with exactextract.

Each pixel counts in proportion to the fraction of it covered by the block, so a block cutting
a pixel in half gets half of its weight (exactextract's rule). Missing pixels (NaN, or 0 in
class rasters) are ignored. Results are indexed like the blocks.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

__all__ = ["raster_source", "zonal_stats", "valid_fraction", "class_fractions"]


def raster_source(da: xr.DataArray, nodata=None) -> NumPyRasterSource:
    """An exactextract source over an in-memory raster (north-up) with its CRS."""
    transform = da.rio.transform()
    if transform.b != 0 or transform.d != 0:
        raise ValueError("rotated rasters are not supported; reproject first")
    height, width = da.shape[-2:]
    xmin, ymax = transform.c, transform.f
    xmax, ymin = xmin + transform.a * width, ymax + transform.e * height
    values = np.asarray(da.values)
    if transform.e > 0:  # south-up grids are flipped to north-up
        values = values[::-1]
        ymin, ymax = ymax, ymin
    return NumPyRasterSource(
        np.ascontiguousarray(values), xmin, ymin, xmax, ymax, nodata=nodata, srs_wkt=da.rio.crs.to_wkt()
    )


def _run(da: xr.DataArray, blocks: gpd.GeoDataFrame, ops: list[str], nodata=None) -> pd.DataFrame:
    if blocks.empty:
        return pd.DataFrame(index=blocks.index)
    src = raster_source(da, nodata=nodata)
    vec = gpd.GeoDataFrame(geometry=blocks.geometry.values, crs=blocks.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = exact_extract(src, vec, ops, output="pandas")
    if len(df) != len(blocks):
        raise RuntimeError("exactextract returned a different number of rows than blocks")
    df.index = blocks.index
    return df


def zonal_stats(da: xr.DataArray, blocks: gpd.GeoDataFrame, stats: list[str]) -> pd.DataFrame:
    """Coverage-weighted stats (exactextract op names: "mean", "median", "quantile(q=0.9)", ...)."""
    df = _run(da, blocks, stats)
    return df.astype("float64")


def valid_fraction(da: xr.DataArray, blocks: gpd.GeoDataFrame, nodata=None) -> pd.Series:
    """Share of each block's area covered by valid pixels (0–1); outside the raster counts as missing."""
    df = _run(da, blocks, ["count"], nodata=nodata)
    res_x, res_y = (abs(r) for r in da.rio.resolution())
    frac = df["count"].astype("float64") * res_x * res_y / np.maximum(blocks.area, 1e-9)
    return frac.clip(0.0, 1.0)


def class_fractions(
    da: xr.DataArray, blocks: gpd.GeoDataFrame, groups: dict[str, list[int]], nodata: int = 0
) -> pd.DataFrame:
    """Fraction of each block's *classified* area in each group of class codes (rows sum to ≤ 1).

    Returns one column per group plus ``_coverage``, the share of the block with a valid class.
    """
    df = _run(da, blocks, ["frac", "unique", "count"], nodata=nodata)
    out = pd.DataFrame(0.0, index=blocks.index, columns=list(groups))
    lookup = {code: name for name, codes in groups.items() for code in codes}
    for i, (fracs, codes) in enumerate(zip(df["frac"], df["unique"], strict=True)):
        if fracs is None or len(fracs) == 0:
            out.iloc[i] = np.nan
            continue
        for f, code in zip(fracs, codes, strict=True):
            name = lookup.get(int(code))
            if name is not None:
                out.iat[i, out.columns.get_loc(name)] += float(f)
    res_x, res_y = (abs(r) for r in da.rio.resolution())
    out["_coverage"] = (df["count"].astype("float64") * res_x * res_y / np.maximum(blocks.area, 1e-9)).clip(0, 1)
    return out
