"""Bridge between ``data_catalog.yaml`` entries with ``source: files`` and the readers.

A catalog reader has the signature ``reader(entry, config, seed) -> xr.Dataset``. The bridge
resolves the entry's ``path`` glob, passes ``args`` as reader options and fills in what a
real-data user should not have to repeat from the scenario config: the domain (``bbox``, the
config domain ± 0.5° for sensor grids as the synthetic stores use), the target grid of
MODIS/SRTM (the config's fine grid), the time range (the config's seasons) and the variables
and chunks of the entry.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..exceptions import CatalogError, DataError

__all__ = ["FILE_READERS", "file_readers", "open_files_entry", "MARGINS"]

#: bbox margin (degrees) around the config domain per reader, as the synthetic native grids use
MARGINS = {"smap": 0.5, "amsr2": 0.5, "fy3c": 0.5, "ascat": 0.5, "cldas": 0.0, "geos5": 0.0}
_EPS = 1e-9


def _reader(name: str) -> Callable[..., xr.Dataset]:
    from . import amsr2, ascat, cldas, fy3c, geos5, modis, smap, srtm, stations

    return {
        "smap": smap.read_smap, "amsr2": amsr2.read_amsr2, "fy3c": fy3c.read_fy3c, "ascat": ascat.read_ascat,
        "modis": modis.read_modis, "srtm": srtm.read_srtm, "cldas": cldas.read_cldas, "geos5": geos5.read_geos5,
        "ismn": stations.read_ismn, "station_csv": stations.read_station_csv,
    }[name]


#: catalog reader names provided by :mod:`sm_nb.io`
FILE_READERS = ("smap", "amsr2", "fy3c", "ascat", "modis", "srtm", "cldas", "geos5", "ismn", "station_csv")


def open_files_entry(name: str, entry: Any, config: Any, seed: int, root: Path | None = None) -> xr.Dataset:
    """Open a ``source: files`` catalog entry with reader ``name``.

    Parameters
    ----------
    name : str
        One of :data:`FILE_READERS`.
    entry : CatalogEntry
        ``path`` (file or glob; relative paths resolve against ``root`` or the entry's ``root``
        attribute, else the working directory), ``args`` (reader options), ``variables``, ``chunks``.
    config : str or ScenarioConfig
        Scenario config giving the default domain, fine grid and seasons.
    seed : int
        Unused by the readers (kept for the catalog signature).
    root : Path, optional
        Folder of the catalog file.
    """
    from ..config import get_config
    from ..grids import fine_grid

    root = root if root is not None else getattr(entry, "root", None)
    files = entry.files(Path(root) if root is not None else None)
    if not files:
        raise CatalogError(f"catalog entry {entry.name!r} key 'path': {entry.path!r} matches no file" + (f" (relative to {root})" if root else ""))
    func = _reader(name)
    params = inspect.signature(func).parameters
    options: dict[str, Any] = dict(entry.args)
    unknown = sorted(set(options) - set(params) - {"paths"})
    if unknown:
        allowed = [p for p in params if p != "paths"]
        raise CatalogError(f"catalog entry {entry.name!r} key 'args' has option(s) {unknown} that reader {name!r} does not take; expected some of {allowed}")
    cfg = get_config(config)
    if "bbox" in params and "bbox" not in options:
        m = MARGINS.get(name, 0.5)
        options["bbox"] = (cfg.south - m + _EPS, cfg.north + m - _EPS, cfg.west - m + _EPS, cfg.east + m - _EPS)
    if "grid" in params and "grid" not in options:
        g = fine_grid(cfg)
        options["grid"] = {"lat": g.lat, "lon": g.lon}
    if "time" in params and "time" not in options:
        options["time"] = (cfg.dates[0], cfg.dates[-1])
    if "variables" in params and "variables" not in options:
        options["variables"] = list(entry.variables)
    if "chunks" in params and "chunks" not in options and entry.chunks:
        options["chunks"] = dict(entry.chunks)
    try:
        ds = func([str(p) for p in files], **options)
    except DataError as exc:
        raise DataError(f"catalog entry {entry.name!r} (reader {name!r}): {exc}") from None
    if name not in ("modis", "srtm") and "time" in ds.dims and not entry.args.get("time"):
        season = pd.DatetimeIndex(cfg.dates)
        ds = ds.sel(time=np.isin(ds["time"].values.astype("datetime64[D]"), season.values.astype("datetime64[D]")))
    ds.attrs["catalog_entry"] = entry.name
    return ds


def file_readers() -> dict[str, Callable[..., xr.Dataset]]:
    """The catalog readers of ``source: files`` entries, by reader name.

    Each is ``reader(entry, config, seed) -> xr.Dataset`` (see :func:`open_files_entry`);
    :func:`sm_nb.catalog.load_catalog` adds them to :data:`sm_nb.catalog.READERS`.
    """
    return {name: _make(name) for name in FILE_READERS}


def _make(name: str) -> Callable[..., xr.Dataset]:
    def reader(entry: Any, config: Any, seed: int) -> xr.Dataset:
        return open_files_entry(name, entry, config, seed)

    reader.__name__ = f"read_{name}_entry"
    reader.__doc__ = f"Catalog reader {name!r}: open a ``source: files`` entry with sm_nb.io (see open_files_entry)."
    return reader
