"""Coverage-weighted zonal statistics with exactextract.

Each pixel counts in proportion to the fraction of it covered by the block, so a block cutting
a pixel in half gets half of its weight (exactextract's rule). Missing pixels (NaN, or 0 in
class rasters) are ignored. Results are indexed like the blocks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS
from scipy import sparse

from .wkb_source import WkbSource

__all__ = [
    "raster_source",
    "zonal_stats",
    "valid_fraction",
    "class_fractions",
    "CoverageWeights",
    "coverage_weights",
    "sparse_mean",
    "sparse_mean_array",
]


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
    vec = WkbSource(blocks.geometry.values, blocks.crs.to_wkt())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = exact_extract(src, vec, ops, output="pandas", include_cols=["_row"])
    if len(df) != len(blocks):
        raise RuntimeError("exactextract returned a different number of rows than blocks")
    df = df.sort_values("_row").drop(columns="_row")
    df.index = blocks.index
    return df


def zonal_stats(
    da: xr.DataArray, blocks: gpd.GeoDataFrame, stats: list[str], valid_share: str | None = None
) -> pd.DataFrame:
    """Coverage-weighted stats (exactextract op names: "mean", "median", "quantile(q=0.9)", ...); with
    ``valid_share``, also that column: :func:`valid_fraction`, computed in the same pass over the raster."""
    df = _run(da, blocks, [*stats, "count"] if valid_share else stats).astype("float64")
    if valid_share:
        df[valid_share] = _count_share(df.pop("count"), da, blocks)
    return df


def _count_share(count: pd.Series, da: xr.DataArray, blocks: gpd.GeoDataFrame) -> pd.Series:
    """exactextract's ``count`` (valid pixels, each weighted by the share of it inside the block) as a share of
    the block's area."""
    res_x, res_y = (abs(r) for r in da.rio.resolution())
    return (count.astype("float64") * res_x * res_y / np.maximum(blocks.area, 1e-9)).clip(0.0, 1.0)


def valid_fraction(da: xr.DataArray, blocks: gpd.GeoDataFrame, nodata=None) -> pd.Series:
    """Share of each block's area covered by valid pixels (0–1); outside the raster counts as missing."""
    return _count_share(_run(da, blocks, ["count"], nodata=nodata)["count"], da, blocks)


def class_fractions(
    da: xr.DataArray, blocks: gpd.GeoDataFrame, groups: dict[str, list[int]], nodata: int = 0
) -> pd.DataFrame:
    """Fraction of each block's *classified* area in each group of class codes (rows sum to ≤ 1).

    Returns one column per group plus ``_coverage``, the share of the block with a valid class.
    """
    df = _run(da, blocks, ["frac", "unique", "count"], nodata=nodata)
    names = list(groups)
    column = {code: j for j, codes in enumerate(groups.values()) for code in codes}
    fracs = [np.asarray(f if f is not None else [], dtype="float64") for f in df["frac"]]
    codes = [np.asarray(c if c is not None else [], dtype="int64") for c in df["unique"]]
    lengths = np.array([len(f) for f in fracs])
    rows = np.repeat(np.arange(len(fracs)), lengths)
    flat_f = np.concatenate(fracs) if len(fracs) else np.array([])
    flat_c = np.concatenate(codes) if len(codes) else np.array([], dtype="int64")
    cols = np.array([column.get(int(c), -1) for c in np.unique(flat_c)], dtype="int64")
    col_of = cols[np.searchsorted(np.unique(flat_c), flat_c)] if len(flat_c) else np.array([], dtype="int64")
    keep = col_of >= 0
    values = np.zeros((len(fracs), len(names)))
    np.add.at(values, (rows[keep], col_of[keep]), flat_f[keep])  # one pass, no per-cell pandas writes
    values[lengths == 0] = np.nan
    out = pd.DataFrame(values, index=blocks.index, columns=names)
    res_x, res_y = (abs(r) for r in da.rio.resolution())
    out["_coverage"] = (df["count"].astype("float64") * res_x * res_y / np.maximum(blocks.area, 1e-9)).clip(0, 1)
    return out


@dataclass(frozen=True)
class CoverageWeights:
    """Block × pixel coverage fractions of one raster grid, as a sparse CSR matrix.

    ``matrix[i, j]`` is the fraction of pixel ``j`` (row-major index in a grid of ``shape``
    with ``transform``) covered by block ``i`` — exactly the weights exactextract uses. Computed
    once, they turn zonal means of any raster on the same grid (another date, a modified raster)
    into one sparse product.
    """

    matrix: sparse.csr_matrix
    shape: tuple[int, int]
    transform: tuple[float, ...]
    crs_wkt: str
    index: pd.Index

    def matches(self, da: xr.DataArray) -> bool:
        """Whether ``da`` lies on the grid these weights were computed for."""
        return (
            tuple(da.shape[-2:]) == self.shape
            and np.allclose(tuple(da.rio.transform())[:6], self.transform[:6])
            and da.rio.crs is not None
            and CRS.from_user_input(da.rio.crs) == CRS.from_wkt(self.crs_wkt)
        )

    @cached_property
    def _used(self) -> tuple[np.ndarray, sparse.csr_matrix]:
        """The pixels some block covers (row-major indices, ascending) and the matrix restricted to them, its
        entries in the same order (so products are the same to the last bit). Each mean then reads those pixels
        only, not the whole grid: the margin around the blocks, or all but a few works' pixels in monitoring."""
        m = self.matrix.tocsr()
        used = np.zeros(m.shape[1], dtype=bool)
        used[m.indices] = True
        index_dtype = np.int64 if len(used) > 2**31 - 2 else np.int32
        pixels = np.flatnonzero(used).astype(index_dtype)
        local = (np.cumsum(used, dtype=index_dtype) - 1)[m.indices]
        return pixels, sparse.csr_matrix((m.data, local, m.indptr), shape=(m.shape[0], len(pixels)))

    def save(self, path) -> None:
        """Write to an ``.npz`` file (plus the block ids and the grid signature)."""
        m = self.matrix.tocsr()
        np.savez_compressed(
            path,
            data=m.data,
            indices=m.indices,
            indptr=m.indptr,
            n_pixels=m.shape[1],
            shape=np.array(self.shape),
            transform=np.array(self.transform),
            crs_wkt=np.array(self.crs_wkt),
            index=np.array(self.index.astype(str), dtype=object),
        )

    @classmethod
    def load(cls, path) -> CoverageWeights:
        with np.load(path, allow_pickle=True) as z:
            n = len(z["indptr"]) - 1
            m = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(n, int(z["n_pixels"])))
            return cls(
                m,
                tuple(int(v) for v in z["shape"]),
                tuple(float(v) for v in z["transform"]),
                str(z["crs_wkt"]),
                pd.Index(list(z["index"]), name="block_id"),
            )


def coverage_weights(grid: xr.DataArray, blocks: gpd.GeoDataFrame) -> CoverageWeights:
    """Coverage fractions of every pixel of ``grid`` by every block (exactextract ``cell_id``/``coverage``)."""
    if grid.ndim != 2:
        raise ValueError("coverage_weights expects a single-band (2-D) grid")
    if grid.rio.transform().e > 0:
        raise ValueError("coverage_weights expects a north-up grid")
    height, width = grid.shape
    df = _run(grid.copy(data=np.ones((height, width), dtype="float32")), blocks, ["cell_id", "coverage"])
    # The rows straight in CSR form (one block's cells after another's), not through a COO triple: the same
    # matrix, at half the peak memory (64 → 32 bytes a block-pixel pair; 4.4 million pairs on a 400 km² town's
    # 10 m grid).
    ids = [a for a in df["cell_id"] if a is not None and len(a)]
    covs = [a for a in df["coverage"] if a is not None and len(a)]
    indptr = np.zeros(len(blocks) + 1, dtype=np.int64)
    np.cumsum([0 if a is None else len(a) for a in df["cell_id"]], out=indptr[1:])
    index_dtype = np.int32 if height * width < 2**31 and indptr[-1] < 2**31 else np.int64
    indices = np.concatenate(ids).astype(index_dtype, copy=False) if ids else np.array([], dtype=index_dtype)
    data = np.concatenate(covs).astype(np.float64, copy=False) if covs else np.array([], dtype=np.float64)
    del ids, covs, df
    m = sparse.csr_matrix((data, indices, indptr), shape=(len(blocks), height * width))
    m.sum_duplicates()  # sorted cells within each row, as the COO route gave them (exactextract's are already)
    return CoverageWeights(m, (height, width), tuple(grid.rio.transform())[:6], grid.rio.crs.to_wkt(), blocks.index)


def sparse_mean(weights: CoverageWeights, da: xr.DataArray) -> pd.Series:
    """Coverage-weighted mean of ``da`` per block (NaN pixels ignored), as exactextract's ``mean``."""
    if not weights.matches(da):
        raise ValueError("the raster is not on the grid of these coverage weights")
    return sparse_mean_array(weights, da.values)


def sparse_mean_array(weights: CoverageWeights, values: np.ndarray) -> pd.Series:
    """:func:`sparse_mean` of a plain 2-D array of the weights' grid (only its shape can be checked). For grids
    made on the way, such as blurred shares: a DataArray whose ``.rio`` was asked for is tied in a reference
    cycle, and its pixels then wait for the garbage collector instead of going at once."""
    values = np.asarray(values)
    if values.shape != weights.shape:
        raise ValueError(f"an array of {values.shape} is not the {weights.shape} grid of these coverage weights")
    pixels, matrix = weights._used
    values = values.ravel()[pixels].astype("float64", copy=False)  # a copy of the covered pixels only
    valid = np.isfinite(values)
    values[~valid] = 0.0
    num = matrix @ values
    den = matrix @ valid.astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 0, num / den, np.nan)
    return pd.Series(mean, index=weights.index, name="mean")
