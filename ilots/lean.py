"""Lean imports for the processes Îlots starts itself (the command line's verbs that compute, the dashboard's
workers): xarray told once that this process holds no dask arrays.

xarray looks for dask arrays the first time a DataArray is made, and rioxarray's GeoTIFF writer at import: both
import ``dask.array`` whenever dask is installed (it is, for ``build-many``'s distributed builds), which costs
about 0.2 s of CPU at every build and every worker's start (dask.array pulls scipy.fft and numpy.f2py and
rewrites hundreds of docstrings; measured on the README's Lyon build, 3.3 → 3.1 s). Îlots never makes a dask
array: its arrays are numpy, and dask only schedules whole builds. :func:`without_dask_arrays` imports xarray and
rioxarray and makes a first DataArray while dask is hidden, so both settle on numpy alone; dask stays importable
afterwards (``dask.distributed`` for ``build-many``). A library never calls it: a notebook that imports Îlots
keeps xarray's dask support.
"""

from __future__ import annotations

import sys

__all__ = ["without_dask_arrays"]


def without_dask_arrays() -> bool:
    """Import xarray and rioxarray with dask hidden, and make xarray's first DataArray (where it looks for dask
    arrays once and keeps the answer). Returns False, doing nothing, when dask or xarray is already imported:
    then the process may hold dask arrays, and xarray must keep seeing them."""
    if "dask" in sys.modules or "xarray" in sys.modules:
        return False
    sys.modules["dask"] = None  # type: ignore[assignment]  # `import dask…` raises ImportError meanwhile
    try:
        import numpy as np
        import rioxarray  # noqa: F401
        import xarray as xr

        xr.DataArray(np.zeros(1))
    finally:
        if sys.modules.get("dask", False) is None:
            del sys.modules["dask"]
    return True
