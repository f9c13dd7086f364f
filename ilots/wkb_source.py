"""Polygons handed to exactextract as WKB (shapely's vectorised encoding): about 3× faster than exactextract's
GeoDataFrame source, which turns every geometry into GeoJSON text (measured in bench/zonal.py). Imports neither
xarray nor rioxarray, so the build's floor (bench/floor.py) uses it too."""

from __future__ import annotations

import numpy as np
import shapely
from exactextract.feature import Feature, FeatureSource  # public re-exports (0.2+)

__all__ = ["WkbSource"]


class _WkbFeature(Feature):
    """One polygon handed to exactextract as WKB, with its row number as only attribute."""

    def __init__(self, wkb: bytes, row: int):
        super().__init__()
        self._wkb, self._row = wkb, row

    def geometry(self) -> bytes:
        return self._wkb

    def get(self, name: str) -> int:
        return self._row

    def fields(self) -> list[str]:
        return ["_row"]


class WkbSource(FeatureSource):
    """Polygons (any shapely array) in ``crs_wkt`` as exactextract features; ``_row`` is each one's position, since
    exactextract does not keep their order."""

    def __init__(self, geoms, crs_wkt: str):
        super().__init__()
        self._wkbs = shapely.to_wkb(np.asarray(geoms))
        self._wkt = crs_wkt

    def count(self) -> int:
        return len(self._wkbs)

    def __iter__(self):
        for row, wkb in enumerate(self._wkbs):
            yield _WkbFeature(wkb, row)

    def srs_wkt(self) -> str:
        return self._wkt
