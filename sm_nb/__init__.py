"""sm_nb — neural-network downscaling of satellite soil moisture (Lv, Zhang & Zhu 2021).

Public handles:

* :func:`open_dataset` — open any ``data_catalog.yaml`` entry as ``xr.Dataset``;
* :func:`load_catalog` — the validated catalog;
* :func:`get_config` / :func:`generate_scenario` — the synthetic Qinghai scenario;
* the :class:`SmNbError` exception family.
"""

from __future__ import annotations

from ._version import __version__
from .catalog import load_catalog, open_dataset
from .exceptions import CatalogError, ConfigError, DataError, NotebookError, SmNbError
from .scenario.config import get_config

__all__ = [
    "__version__",
    "open_dataset",
    "load_catalog",
    "get_config",
    "generate_scenario",
    "SmNbError",
    "ConfigError",
    "CatalogError",
    "DataError",
    "NotebookError",
]


def generate_scenario(config: str = "demo", seed: int = 0, progress: bool = True, force: bool = False):
    """Generate (or reuse the cached) synthetic scenario; return its folder. See :mod:`sm_nb.scenario`."""
    from .scenario.config import check_seed
    from .scenario.generate import ensure_scenario

    return ensure_scenario(get_config(config), check_seed(seed), progress=progress, force=force)
