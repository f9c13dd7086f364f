"""Shared fixtures: tiny hand-made rasters, the real-data folder, a small demo territory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"


def python_prints(code: str, *args: str) -> str:
    """What ``python -c code args…`` prints, run from the checkout in a fresh interpreter (its imports start empty:
    the tests of what a module loads run there)."""
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a test's own Streamlit server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_raster(data, res: float = 1.0, x0: float = 0.0, y0: float | None = None, crs=2154) -> xr.DataArray:
    """A north-up DataArray from a literal 2-D array; (x0, top) is the upper-left corner."""
    arr = np.asarray(data)
    height, width = arr.shape
    top = height * res if y0 is None else y0
    transform = from_origin(x0, top, res, res)
    xs = x0 + res * (np.arange(width) + 0.5)
    ys = top - res * (np.arange(height) + 0.5)
    da = xr.DataArray(arr, dims=("y", "x"), coords={"y": ys, "x": xs})
    return da.rio.write_crs(crs).rio.write_transform(transform)


def square_blocks(side_m: float, extent_m: float, x0: float = 600_000.0, y0: float = 6_500_000.0):
    """Square blocks of ``side_m`` tiling an ``extent_m`` square from (x0, y0), Lambert-93, ids b0, b1…"""
    import geopandas as gpd
    import shapely

    n = int(extent_m // side_m)
    boxes = [
        shapely.box(x0 + i * side_m, y0 + j * side_m, x0 + (i + 1) * side_m, y0 + (j + 1) * side_m)
        for i in range(n)
        for j in range(n)
    ]
    return gpd.GeoDataFrame({"block_id": [f"b{k}" for k in range(len(boxes))]}, geometry=boxes, crs=2154).set_index(
        "block_id"
    )


def write_tif(path: Path, arr: np.ndarray, transform=None, crs=2154, nodata=None, **kw) -> Path:
    arr = np.asarray(arr)
    transform = transform or from_origin(0, arr.shape[0], 1, 1)
    profile = dict(
        driver="GTiff",
        height=arr.shape[0],
        width=arr.shape[1],
        count=1,
        dtype=arr.dtype,
        transform=transform,
        nodata=nodata,
    )
    if crs is not None:
        profile["crs"] = crs
    profile.update(kw)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
    return path


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """../shared/data/real: skipped when absent locally, a failure under CI (CI has it)."""
    if not REAL.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"real data expected at {REAL} under CI")
        pytest.skip(f"real data folder absent: {REAL}")
    return REAL


def lyon_inputs(real_dir: Path):
    """The README's real Lyon build (one date: LST of 14 July 2022, WorldCover, NDVI, IRIS blocks, Lyon 1er
    buildings, IRIS population)."""
    from ilots.build import BuildInputs

    r = real_dir / "lyon"
    return BuildInputs(
        name="Lyon",
        lst=[str(r / "Lyon_LST_Landsat_2022-07-14.tif")],
        landcover=str(r / "Lyon_LandCover_ESA_2021-01-01.tif"),
        ndvi=str(r / "Lyon_NDVI_Sentinel_2022-07-18.tif"),
        buildings=str(r / "buildings_lyon1.geojson"),
        blocks=str(r / "lyon_iris_heat_vulnerability.geojson"),
        blocks_id="code_iris",
        population=[str(r / "lyon_iris_elderly_pct.csv")],
    )


@pytest.fixture(scope="session")
def demo_territory(tmp_path_factory) -> Path:
    """A small (2 km × 2 km) demo territory, built once per test session."""
    from ilots.demo import build_demo

    out = tmp_path_factory.mktemp("demo") / "demo"
    return build_demo(out, size_km=2.0, seed=7)


@pytest.fixture(scope="session")
def fitted_demo(demo_territory, tmp_path_factory) -> Path:
    """The small demo with its model fitted, once per session: copy it before changing it."""
    import shutil

    from ilots.analysis import fit_territory
    from ilots.store import load_territory

    out = tmp_path_factory.mktemp("fitted") / "demo"
    shutil.copytree(demo_territory, out)
    fit_territory(load_territory(out))
    return out


@pytest.fixture
def fitted_copy(fitted_demo, tmp_path) -> Path:
    """A private copy of the fitted demo in ``tmp_path/data/demo`` (a data folder of its own)."""
    import shutil

    out = tmp_path / "data" / "demo"
    shutil.copytree(fitted_demo, out)
    return out


@pytest.fixture(scope="module")
def fitted_data_dir(demo_territory, tmp_path_factory) -> Path:
    """A data folder holding a copy of the small demo with its model fitted (for the app tests)."""
    import shutil

    from ilots.analysis import fit_territory
    from ilots.store import load_territory

    root = tmp_path_factory.mktemp("appdata")
    shutil.copytree(demo_territory, root / "demo")
    fit_territory(load_territory(root / "demo"))
    return root


@pytest.fixture(scope="session")
def fake_world(tmp_path_factory):
    """The fake commune Îlotville (INSEE 37999) served by a local stand-in of the IGN WFS and STAC API.

    Yields ``(services, base_url, population_csv)``; see tests/fakeworld.py and tests/fetchserver.py.
    """
    from tests.fakeworld import bind, build_fake_world
    from tests.fetchserver import LocalServer

    services, population = build_fake_world(tmp_path_factory.mktemp("fakeworld"))
    with LocalServer(services) as url:
        bind(services, url)
        yield services, url, population
