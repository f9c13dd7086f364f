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
    "ClassRasterError",
    "ImplausibleValuesError",
    "RotatedRasterError",
    "NoOverlapError",
    "AllPixelsMaskedError",
    "AmbiguousInputError",
    "TerritoryNotFoundError",
    "CorruptTerritoryError",
    "BuildError",
    "TerritoryExistsError",
    "WriteError",
    "FitError",
    "describe_os_error",
    "FetchError",
    "ServiceUnavailableError",
    "UnknownCommuneError",
    "NoSceneError",
    "EmptyLayerError",
    "UploadError",
    "ScenarioError",
    "ScenarioFileError",
    "ScenarioExistsError",
    "GeocodingUnavailable",
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


class ClassRasterError(InputFileError):
    """A class raster (land cover…) was given where a continuous quantity (temperature) is expected."""


class ImplausibleValuesError(InputFileError):
    """Values read and converted are outside what the quantity can physically be (wrong unit, scale, band)."""


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


class TerritoryExistsError(BuildError):
    """A territory of that name exists and replacing it was not allowed."""


class WriteError(IlotsError):
    """A file cannot be written: read-only folder, missing folder, full disk, no permission."""


class FitError(IlotsError):
    """The heat model cannot be fitted, or its fit cannot be trusted, on this territory."""


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


class UploadError(InputFileError):
    """An uploaded file is refused (unsafe archive, too large, wrong format)."""


class ScenarioError(IlotsError):
    """A scenario is malformed or asks for values out of range."""


class ScenarioFileError(ScenarioError):
    """A saved scenario file cannot be read."""


class ScenarioExistsError(ScenarioError):
    """A scenario of that name is already saved."""


class MonitoringInputError(IlotsError):
    """Monitoring cannot run: no completed project, or fewer than two summers of surface temperature."""


class MissingExtraError(IlotsError):
    """An optional part of Îlots is not installed (``pip install 'ilots[fetch]'``, ``[scale]``)."""


def require_extra(extra: str, *modules: str) -> None:
    """Raise :class:`MissingExtraError` naming ``pip install 'ilots[extra]'`` unless every module imports."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise MissingExtraError(
                f"Cette fonction demande le module {name}, qui n'est pas installé : pip install 'ilots[{extra}]' "
                "(ou pip install -r requirements.txt depuis le dépôt)."
            ) from exc


class GeocodingUnavailable(IlotsError):
    """The address service could not be reached or answered badly (offline, timeout, error page)."""


def describe_os_error(exc: OSError) -> str:
    """One French sentence for a failed file operation (what failed and where, never a traceback)."""
    import errno

    where = exc.filename or "le dossier de sortie"
    reasons = {
        errno.ENOSPC: "le disque est plein",
        errno.EDQUOT: "le quota du disque est atteint",
        errno.EROFS: "le système de fichiers est en lecture seule",
        errno.EACCES: "les droits d'écriture manquent",
        errno.EPERM: "l'opération n'est pas permise",
        errno.ENOENT: "le dossier n'existe pas",
        errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
        errno.EISDIR: "c'est un dossier, pas un fichier",
        errno.EEXIST: "un fichier porte déjà ce nom là où un dossier est attendu",
        errno.ENAMETOOLONG: "le nom est trop long",
    }
    reason = reasons.get(exc.errno, exc.strerror or "erreur du système de fichiers")
    return f"Écriture ou lecture impossible ({where}) : {reason}. Aucun territoire existant n'a été modifié."
