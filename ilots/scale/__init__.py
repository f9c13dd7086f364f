"""Scale: many communes as Dask tasks (:mod:`ilots.scale.many`), one large territory tile by tile
(:mod:`ilots.scale.tiled`)."""

from .many import SUMMARY_COLUMNS, CommuneResult, build_commune, build_many, check_insee_codes, read_communes
from .tiled import build_tiled

__all__ = [
    "CommuneResult",
    "SUMMARY_COLUMNS",
    "build_commune",
    "build_many",
    "build_tiled",
    "check_insee_codes",
    "read_communes",
]
