"""Coverage-weighted zonal statistics on rasters whose answers are computable by hand."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ilots.zonal import class_fractions, valid_fraction, zonal_stats
from tests.conftest import make_raster

# 3×3 raster, 1 m pixels, values 1..9 row by row from the top: row 0 (top) is 1 2 3.
GRID = np.arange(1, 10, dtype="float64").reshape(3, 3)


def _blocks(*geoms):
    return gpd.GeoDataFrame(
        geometry=list(geoms), index=pd.Index([f"b{i}" for i in range(len(geoms))], name="block_id"), crs=2154
    )


@pytest.mark.parametrize(
    ("geom", "expected_mean"),
    [
        (shapely.box(0, 0, 3, 3), 5.0),  # whole raster
        (shapely.box(0, 2, 1, 3), 1.0),  # exactly the top-left pixel
        (shapely.box(0, 0, 2, 1), 7.5),  # bottom row, pixels 7 and 8
        # Half-pixel offsets: weights 1/4 at corners, 1/2 on edges, 1 in the centre -> 5.
        (shapely.box(0.5, 0.5, 2.5, 2.5), 5.0),
        # Right half of pixel 1 (0.5) + whole pixel 2 (1) -> (0.5*1 + 1*2) / 1.5
        (shapely.box(0.5, 2, 2, 3), (0.5 * 1 + 2) / 1.5),
    ],
)
def test_coverage_weighted_mean(geom, expected_mean):
    out = zonal_stats(make_raster(GRID), _blocks(geom), ["mean"])
    assert out["mean"].iloc[0] == pytest.approx(expected_mean)


def test_results_keep_block_index_and_order():
    blocks = _blocks(shapely.box(2, 2, 3, 3), shapely.box(0, 2, 1, 3))
    out = zonal_stats(make_raster(GRID), blocks, ["mean", "median", "quantile(q=0.9)"])
    assert list(out.index) == ["b0", "b1"]
    assert out["mean"].tolist() == pytest.approx([3.0, 1.0])


def test_nan_pixels_are_ignored_and_valid_fraction_counts_them():
    grid = GRID.copy()
    grid[0, 0] = np.nan  # top-left missing (cloud)
    blocks = _blocks(shapely.box(0, 0, 3, 3), shapely.box(0, 2, 1, 3))
    out = zonal_stats(make_raster(grid), blocks, ["mean"])
    assert out["mean"].iloc[0] == pytest.approx((45 - 1) / 8)
    assert np.isnan(out["mean"].iloc[1])
    frac = valid_fraction(make_raster(grid), blocks)
    assert frac.tolist() == pytest.approx([8 / 9, 0.0])


def test_the_valid_share_comes_with_the_stats_in_one_pass_and_equals_valid_fraction():
    """Issue 14 §2: one exactextract pass instead of two for the LST, NDVI and land-only LST; same figures."""
    grid = GRID.copy()
    grid[0, 0] = np.nan
    blocks = _blocks(shapely.box(0, 0, 3, 3), shapely.box(0, 2, 1, 3), shapely.box(2, 0, 4, 1.5))
    both = zonal_stats(make_raster(grid), blocks, ["mean", "median"], valid_share="valid")
    assert list(both.columns) == ["mean", "median", "valid"]
    assert both["valid"].equals(valid_fraction(make_raster(grid), blocks).rename("valid"))
    assert both[["mean", "median"]].equals(zonal_stats(make_raster(grid), blocks, ["mean", "median"]))
    assert both["valid"].tolist() == pytest.approx([8 / 9, 0.0, 0.5])  # the last block is half outside the raster


def test_block_partly_outside_raster_has_partial_valid_fraction():
    blocks = _blocks(shapely.box(2, 0, 4, 1))  # half over pixel 9, half outside
    frac = valid_fraction(make_raster(GRID), blocks)
    assert frac.iloc[0] == pytest.approx(0.5)
    assert zonal_stats(make_raster(GRID), blocks, ["mean"])["mean"].iloc[0] == pytest.approx(9.0)


def test_class_fractions_by_group_with_half_pixels():
    classes = np.array([[10, 10, 50], [30, 50, 50], [80, 80, 0]], dtype="uint8")  # 0 = no data
    groups = {"tree": [10], "grass": [30], "built": [50], "water": [80]}
    # Left two columns of the top two rows: 2 trees, 1 grass, 1 built.
    out = class_fractions(make_raster(classes), _blocks(shapely.box(0, 1, 2, 3)), groups)
    assert out.loc["b0", ["tree", "grass", "built", "water"]].tolist() == pytest.approx([0.5, 0.25, 0.25, 0.0])
    assert out.loc["b0", "_coverage"] == pytest.approx(1.0)
    # Bottom row: two water pixels and one nodata pixel -> fractions of the classified part.
    out = class_fractions(make_raster(classes), _blocks(shapely.box(0, 0, 3, 1)), groups)
    assert out.loc["b0", "water"] == pytest.approx(1.0)
    assert out.loc["b0", "_coverage"] == pytest.approx(2 / 3)


def test_sparse_mean_equals_exactextract_mean_and_round_trips(tmp_path):
    import geopandas as gpd
    import shapely

    from ilots.zonal import CoverageWeights, coverage_weights, sparse_mean, zonal_stats
    from tests.conftest import make_raster

    rng = np.random.default_rng(5)
    arr = rng.normal(30, 3, (40, 50)).astype("float32")
    arr[rng.random(arr.shape) < 0.15] = np.nan
    da = make_raster(arr, res=30.0, x0=500_000, y0=6_700_000)
    pts = rng.uniform([500_100, 6_698_900], [501_400, 6_699_900], (60, 2))
    blocks = gpd.GeoDataFrame(geometry=shapely.buffer(shapely.points(pts), rng.uniform(10, 120, 60)), crs=2154)
    blocks.index = [f"I{i:03d}" for i in range(60)]
    w = coverage_weights(da, blocks)
    expected = zonal_stats(da, blocks, ["mean"])["mean"]
    assert np.allclose(sparse_mean(w, da), expected, atol=1e-6, equal_nan=True)
    w.save(tmp_path / "w.npz")
    back = CoverageWeights.load(tmp_path / "w.npz")
    assert list(back.index) == list(blocks.index) and back.matches(da)
    assert np.allclose(sparse_mean(back, da), expected, atol=1e-6, equal_nan=True)
    with pytest.raises(ValueError, match="grid"):
        sparse_mean(w, make_raster(arr, res=20.0, x0=500_000, y0=6_700_000))


def test_sparse_mean_reads_only_the_covered_pixels_and_equals_the_full_product():
    import tracemalloc

    import geopandas as gpd
    import shapely

    from ilots.zonal import coverage_weights, sparse_mean
    from tests.conftest import make_raster

    rng = np.random.default_rng(8)
    arr = rng.normal(30, 3, (1500, 1500))
    arr[rng.random(arr.shape) < 0.1] = np.nan
    da = make_raster(arr, res=10.0, x0=500_000, y0=6_700_000)
    pts = rng.uniform([500_200, 6_686_000], [501_500, 6_687_500], (30, 2))  # a corner of a 15 km grid
    blocks = gpd.GeoDataFrame(geometry=shapely.buffer(shapely.points(pts), 60.0), crs=2154)
    w = coverage_weights(da, blocks)
    values = np.where(np.isfinite(arr), arr, 0.0).ravel()
    full = (w.matrix @ values) / (w.matrix @ np.isfinite(arr).ravel().astype("float64"))
    first = sparse_mean(w, da)
    tracemalloc.start()
    again = sparse_mean(w, da)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.array_equal(first.to_numpy(), full) and np.array_equal(again.to_numpy(), full)
    assert peak < arr.nbytes / 20, peak  # the blocks cover 0.5 % of the grid: no pass over all of it


def test_coverage_weights_are_the_coo_route_s_matrix_at_half_its_memory():
    import tracemalloc

    from scipy import sparse

    from ilots.zonal import _run, coverage_weights
    from tests.conftest import make_raster, square_blocks

    grid = make_raster(np.zeros((1000, 1000), dtype="float32"), res=10.0, x0=500_000, y0=6_700_000)
    blocks = square_blocks(1000.0, 10_000.0, 500_000, 6_690_000)
    tracemalloc.start()
    w = coverage_weights(grid, blocks)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the matrix the (row, column) route gives: sorted cells in each row, the same coverages
    df = _run(grid.copy(data=np.ones(grid.shape, dtype="float32")), blocks, ["cell_id", "coverage"])
    rows = np.repeat(np.arange(len(df)), [len(a) for a in df["cell_id"]])
    coo = sparse.csr_matrix(
        (np.concatenate(list(df["coverage"])), (rows, np.concatenate(list(df["cell_id"])))), shape=w.matrix.shape
    )
    m = w.matrix
    assert np.array_equal(m.indptr, coo.indptr) and np.array_equal(m.indices, coo.indices)
    assert np.array_equal(m.data, coo.data) and m.indices.dtype == coo.indices.dtype
    # 64 bytes a block-pixel pair through a COO triple; one million pairs here
    assert peak / m.nnz < 40, peak / m.nnz


def test_sparse_mean_array_refuses_an_array_of_another_grid():
    from ilots.zonal import coverage_weights, sparse_mean, sparse_mean_array
    from tests.conftest import make_raster, square_blocks

    arr = np.arange(400, dtype="float64").reshape(20, 20)
    da = make_raster(arr, res=10.0, x0=500_000, y0=6_700_000)
    w = coverage_weights(da, square_blocks(100.0, 200.0, 500_000, 6_699_800))
    assert np.array_equal(sparse_mean_array(w, arr).to_numpy(), sparse_mean(w, da).to_numpy())
    with pytest.raises(ValueError, match="grid"):
        sparse_mean_array(w, arr[:, :19])
