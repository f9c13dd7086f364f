"""Another date's surface temperature on a built territory's blocks, without a new zonal pass.

:func:`reaggregate_lst` reads a Landsat scene or an LST GeoTIFF like a build does and averages it per
block with the territory's stored coverage weights (``python -m ilots restat``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .build import read_lst_layers
from .errors import CorruptTerritoryError
from .sources.rasters import composite
from .store import load_territory
from .zonal import sparse_mean

__all__ = ["reaggregate_lst"]


def reaggregate_lst(territory: str | Path, source: str) -> pd.DataFrame:
    """Block means of another LST (a Landsat scene or an LST GeoTIFF) by the stored sparse weights.

    The new raster is read like a build reads it (masked, in °C), resampled onto the territory's
    LST grid, and averaged per block with :func:`ilots.zonal.sparse_mean`: no new zonal pass.
    Returns ``lst_mean_c`` (new), ``lst_mean_c_stored`` and their difference, indexed by block.
    """
    terr = load_territory(territory)
    weights = terr.coverage()
    if weights is None:
        raise CorruptTerritoryError(
            f"{terr.name} : pas de poids de couverture (territoire construit par une version antérieure) ; "
            "reconstruisez-le pour recalculer d'autres dates sans nouveau passage zonal."
        )
    grid = terr.lst()
    layers, _ = read_lst_layers([source], grid.rio.crs, tuple(float(v) for v in grid.rio.bounds()), with_ndvi=False)
    values, _ = composite(layers, ref=grid)  # every date resampled onto the territory's grid, then the median
    new = sparse_mean(weights, values)
    stored = terr.blocks["lst_mean_c"].reindex(new.index)
    out = pd.DataFrame({"lst_mean_c": new, "lst_mean_c_stored": stored, "difference_c": new - stored})
    out.attrs["dates"] = sorted({layer.date.isoformat() for layer in layers if layer.date})
    return out
