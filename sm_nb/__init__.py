"""sm_nb — neural-network downscaling of satellite soil moisture (Lv, Zhang & Zhu 2021).

Two ways in:

* :class:`Study` — one object owns the configuration, the scenario seed and the catalog; it
  opens data, builds inputs, trains, downscales (``sm_nb.Study("demo", seed=0)``);
* the science modules, xarray in and xarray out, for your own data:
  :mod:`~sm_nb.preprocess` (input cubes from product Datasets), :mod:`~sm_nb.selection`
  (train and score a combination), :mod:`~sm_nb.downscale`, :mod:`~sm_nb.tc` (triple
  collocation), :mod:`~sm_nb.validation` (stations, gauges, skill against a truth),
  :mod:`~sm_nb.metrics`, :mod:`~sm_nb.resample`.

Also: :func:`open_dataset` / :func:`load_catalog` (``data_catalog.yaml``), :func:`open_sites`
(stations and rain gauges as a GeoDataFrame), :func:`generate_scenario`, the
:class:`SmNbError` exception family, and :func:`sm_nb.notebook.setup` (the notebooks' offline
set-up of maps and widgets).
"""

from __future__ import annotations

from typing import Any

from . import downscale, metrics, notebook, preprocess, selection, tc, validation
from ._version import __version__
from .area import StudyArea
from .catalog import load_catalog, open_dataset
from .config import get_config
from .exceptions import CatalogError, ConfigError, DataError, NotebookError, SmNbError
from .study import Study

__all__ = [
    "__version__",
    "Study",
    "StudyArea",
    "open_dataset",
    "load_catalog",
    "open_sites",
    "generate_scenario",
    "preprocess",
    "selection",
    "downscale",
    "tc",
    "validation",
    "metrics",
    "notebook",
    "SmNbError",
    "ConfigError",
    "CatalogError",
    "DataError",
    "NotebookError",
]


def open_sites(config: str = "demo", seed: int = 0, kind: str | None = None) -> Any:
    """Stations and rain gauges as a ``geopandas.GeoDataFrame`` (name, kind, lat/lon, elevation,
    land cover and the fine and coarse cells they fall in); ``kind`` is ``"sm_station"`` or ``"rain_gauge"``."""
    from .scenario.generate import open_sites as _open_sites

    return _open_sites(config, seed, kind)


def generate_scenario(config: str = "demo", seed: int = 0, progress: bool = True, force: bool = False) -> Any:
    """Generate (or reuse the cached) synthetic scenario; return its folder. See :mod:`sm_nb.scenario`."""
    from .config import check_seed
    from .scenario.generate import ensure_scenario

    return ensure_scenario(get_config(config), check_seed(seed), progress=progress, force=force)
