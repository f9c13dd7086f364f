"""Îlots: urban heat-island diagnosis at the scale of city blocks, for French territories.

Data flow (one way): ``sources`` → ``blocks`` → ``features`` (with ``zonal``) → ``store``;
``build`` orchestrates it and ``cli`` runs it headless (``python -m ilots``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ilots")
except PackageNotFoundError:  # running from a source checkout without installation
    __version__ = "0.1.0"
