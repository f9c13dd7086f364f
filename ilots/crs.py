"""Choice of the working coordinate reference system (CRS) of a territory.

Metropolitan France works in Lambert-93 (EPSG:2154); the overseas départements in their official
projected CRS; anywhere else (test scenes, foreign territories) in the local UTM zone. All lengths
are then in metres and all areas in m².
"""

from __future__ import annotations

from dataclasses import dataclass

from pyproj import CRS, Transformer

__all__ = ["WorkingCRS", "choose_working_crs", "bounds_to_wgs84", "LAMBERT_93"]

LAMBERT_93 = 2154


@dataclass(frozen=True)
class _Region:
    name: str
    epsg: int
    lon_min: float
    lat_min: float
    lon_max: float
    lat_max: float

    def contains(self, lon: float, lat: float) -> bool:
        return self.lon_min <= lon <= self.lon_max and self.lat_min <= lat <= self.lat_max


# Overseas boxes first: they are small and lie outside the metropolitan box anyway.
_REGIONS = (
    _Region("Guadeloupe", 5490, -62.0, 15.8, -60.9, 16.6),
    _Region("Martinique", 5490, -61.3, 14.3, -60.7, 15.0),
    _Region("Guyane", 2972, -54.7, 2.0, -51.5, 6.0),
    _Region("La Réunion", 2975, 55.1, -21.5, 55.9, -20.8),
    _Region("Mayotte", 4471, 44.9, -13.1, 45.4, -12.5),
    _Region("France métropolitaine", LAMBERT_93, -5.5, 41.2, 10.0, 51.3),
)


@dataclass(frozen=True)
class WorkingCRS:
    """The CRS chosen for a territory and the reason for the choice."""

    epsg: int
    region: str

    @property
    def crs(self) -> CRS:
        return CRS.from_epsg(self.epsg)

    @property
    def label(self) -> str:
        return f"EPSG:{self.epsg}"


def choose_working_crs(lon: float, lat: float) -> WorkingCRS:
    """Return the working CRS for a territory centred on (lon, lat) in degrees WGS84.

    >>> choose_working_crs(4.83, 45.76).epsg
    2154
    >>> choose_working_crs(55.45, -21.1).epsg
    2975
    >>> choose_working_crs(-74.0, 4.0).epsg  # Colombia: UTM 18N
    32618
    """
    for region in _REGIONS:
        if region.contains(lon, lat):
            return WorkingCRS(region.epsg, region.name)
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return WorkingCRS(epsg, f"UTM {zone}{'N' if lat >= 0 else 'S'}")


def bounds_to_wgs84(bounds: tuple[float, float, float, float], crs: CRS | int | str):
    """Transform (xmin, ymin, xmax, ymax) in ``crs`` to WGS84 (lon/lat) bounds."""
    transformer = Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)
    return tuple(transformer.transform_bounds(*bounds, densify_pts=21))
