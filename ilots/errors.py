"""The exception hierarchy of Îlots.

Every error a user can cause (a wrong file, a wrong option, data that does not overlap) is an
:class:`IlotsError`. Messages are written in French because they are shown as they are in the
dashboard and on the command line; class names say precisely what went wrong, for code.
"""

from __future__ import annotations

__all__ = [
    "IlotsError",
    "InputFileError",
    "EmptyFileError",
    "UnreadableFileError",
    "MissingCRSError",
    "MissingColumnError",
    "MissingLayerError",
    "GeometryTypeError",
    "TooLargeError",
    "BandCountError",
    "RotatedRasterError",
    "NoOverlapError",
    "AllPixelsMaskedError",
    "AmbiguousInputError",
    "TerritoryNotFoundError",
    "CorruptTerritoryError",
    "BuildError",
    "FetchError",
    "ServiceUnavailableError",
    "UnknownCommuneError",
    "NoSceneError",
    "EmptyLayerError",
]


class IlotsError(Exception):
    """Base class: an error caused by the input, with a message fit for the user (French)."""


class InputFileError(IlotsError):
    """A file given by the user cannot be used."""


class EmptyFileError(InputFileError):
    """The file, layer or raster holds no data (zero bytes, no feature, no band)."""


class UnreadableFileError(InputFileError):
    """The file is corrupt, truncated or not in the expected format."""


class MissingCRSError(InputFileError):
    """The file carries no coordinate reference system, so it cannot be placed on the map."""


class MissingColumnError(InputFileError):
    """A required column (attribute) is absent from a table or layer."""


class MissingLayerError(InputFileError):
    """A required layer is absent from a GeoPackage or shapefile folder."""


class GeometryTypeError(InputFileError):
    """The geometries are of the wrong kind (lines where polygons are expected, ...)."""


class TooLargeError(InputFileError):
    """The input is too large to be processed at once (pixels, features or bytes)."""


class BandCountError(InputFileError):
    """A raster has another number of bands than the one expected."""


class RotatedRasterError(InputFileError):
    """A raster's geotransform has rotation terms; it must be warped to a north-up grid first."""


class NoOverlapError(IlotsError):
    """Two inputs (raster and vectors, blocks and temperature) do not overlap."""


class AllPixelsMaskedError(IlotsError):
    """No valid pixel remains after masking clouds, shadows and fill values."""


class AmbiguousInputError(IlotsError):
    """The input can be read in more than one way and the choice must be made explicitly."""


class TerritoryNotFoundError(IlotsError):
    """No prepared territory at the given path."""


class CorruptTerritoryError(IlotsError):
    """A territory folder exists but its files are incomplete or inconsistent."""


class BuildError(IlotsError):
    """The build cannot go on with the given combination of inputs."""


class FetchError(IlotsError):
    """Downloading open data (IGN WFS, STAC) failed."""


class ServiceUnavailableError(FetchError):
    """A web service cannot be reached, or answers with an error page instead of data."""


class UnknownCommuneError(FetchError):
    """No commune has the INSEE code or the name given."""


class NoSceneError(FetchError):
    """No satellite scene meets the cloud threshold over the territory in the chosen period."""


class EmptyLayerError(FetchError):
    """A required layer came back empty over the territory."""
