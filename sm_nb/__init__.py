"""sm_nb — neural-network downscaling of satellite soil moisture (Lv, Zhang & Zhu 2021).

Public handles:

* :func:`open_dataset` — open any ``data_catalog.yaml`` entry as ``xr.Dataset``;
* :func:`load_catalog` — the validated catalog;
* :func:`get_config` / :func:`generate_scenario` — the synthetic Qinghai scenario;
* :func:`open_sites` — stations and rain gauges as a GeoDataFrame;
* the :class:`SmNbError` exception family.
"""

from __future__ import annotations

from ._version import __version__
from .catalog import load_catalog, open_dataset
from .config import get_config
from .exceptions import CatalogError, ConfigError, DataError, NotebookError, SmNbError

__all__ = [
    "__version__",
    "open_dataset",
    "load_catalog",
    "get_config",
    "generate_scenario",
    "open_sites",
    "SmNbError",
    "ConfigError",
    "CatalogError",
    "DataError",
    "NotebookError",
]


def open_sites(config: str = "demo", seed: int = 0, kind: str | None = None):
    """Stations and rain gauges as a ``geopandas.GeoDataFrame`` (name, kind, lat/lon, elevation,
    land cover and the fine and coarse cells they fall in); ``kind`` is ``"sm_station"`` or ``"rain_gauge"``."""
    from .scenario.generate import open_sites as _open_sites

    return _open_sites(config, seed, kind)


def generate_scenario(config: str = "demo", seed: int = 0, progress: bool = True, force: bool = False):
    """Generate (or reuse the cached) synthetic scenario; return its folder. See :mod:`sm_nb.scenario`."""
    from .config import check_seed
    from .scenario.generate import ensure_scenario

    return ensure_scenario(get_config(config), check_seed(seed), progress=progress, force=force)
