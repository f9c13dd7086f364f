"""Îlots: urban heat-island diagnosis at the scale of city blocks, for French territories.

Data flow (one way): ``sources`` → ``blocks`` → ``features`` (with ``zonal`` and ``footprint``, assembled by
``feature_table``) → ``store``; ``build`` orchestrates it (the one build path, also called by ``demo``, the
callers of ``fetch`` — which only acquires the inputs — and ``scale``: tiled builds and many communes);
``restat`` reaggregates other dates on stored weights and ``monitor`` estimates, from several summers, the
effect of completed works (``impact`` prints it); ``model`` → ``risk`` → ``explain`` (``analysis`` stores
them) → ``scenarios``; ``maps``, ``staticmap``, ``briefing`` and ``export`` present them. Long tasks report
through ``progress``. ``cli`` runs it all headless: ``python -m ilots build | fetch | build-many | restat |
monitor | refuges | facilities | night | info | demo | fit | scenario``; ``refuges`` gives walking distances to cool
places, ``facilities`` the heat around schools, nursing homes and hospitals, ``night`` the night-time heat
(Sentinel-3, LCZ) beside the day. The dashboard (``dashboard.py``,
``pages/``, ``ui/``) is outside this package. The README's « Architecture » section gives one line per module.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ilots")
except PackageNotFoundError:  # running from a source checkout without installation
    __version__ = "0.1.0"
