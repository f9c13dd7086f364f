"""Îlots: urban heat-island diagnosis at the scale of city blocks, for French territories.

Data flow (one way): ``sources`` → ``blocks`` → ``features`` (with ``zonal`` and ``footprint``) → ``store``;
``build`` orchestrates it (one build path, also used by ``demo``, ``fetch`` and ``scale``); ``model`` →
``risk`` → ``explain`` (``analysis`` stores them) → ``scenarios``; ``maps``, ``staticmap``, ``briefing`` and
``export`` present them. ``cli`` runs it all headless: ``python -m ilots build | fetch | build-many | restat |
info | demo | fit | scenario``. The README's « Architecture » section gives one line per module.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ilots")
except PackageNotFoundError:  # running from a source checkout without installation
    __version__ = "0.1.0"
