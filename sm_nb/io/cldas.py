"""CLDAS V2.0 soil moisture netCDF files (netCDF4).

CMA names ``Z_NAFP_C_BABJ_<production>_P_CLDAS_<RT|NRT>_ASI_0P0625_<HOR|DAY>-<VAR>-<YYYYMMDDHH>.nc``
(``SM000005`` = 0–5 cm soil moisture); coordinate variables ``LAT``/``LON`` (upper case) of the
0.0625° Asia grid (1040 × 1600). The name of the soil-moisture variable inside the files is not
documented, so the reader takes the single data variable other than the coordinates (or
``variable=``); fill values and units are read from the attributes. All [T]
(``shared/reference/data_formats.md`` §8); the valid time in the name is taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..conventions import cf_attrs
from ..exceptions import DataError
from ._common import (
    PathsLike,
    Problems,
    TimeLike,
    attr,
    coords,
    decode,
    finish,
    resolve_paths,
    run_per_file,
    select_time,
)
from ._grids import read_window, window
from .geos5 import daily_mean

__all__ = ["read_cldas", "CLDAS_NAME", "COORD_NAMES"]

CLDAS_NAME = re.compile(r"^Z_NAFP_C_BABJ_(\d{14})_P_CLDAS_(RT|NRT)_ASI_0P0625_(HOR|DAY)-([A-Z0-9]+)-(\d{10})\.nc$")
COORD_NAMES = ("LAT", "LON", "lat", "lon", "latitude", "longitude", "time", "TIME", "Times")
_EXAMPLE = "Z_NAFP_C_BABJ_20170402001500_P_CLDAS_NRT_ASI_0P0625_DAY-SM000005-2017040100.nc"


def _read_one(path: Path, variable: str | None, bbox: Any) -> dict[str, Any]:
    import netCDF4

    with netCDF4.Dataset(path, "r") as nc:
        nc.set_auto_maskandscale(False)
        names = {n: nc.variables[n] for n in nc.variables}
        lat_name = next((n for n in ("LAT", "lat", "latitude") if n in names), None)
        lon_name = next((n for n in ("LON", "lon", "longitude") if n in names), None)
        if lat_name is None or lon_name is None:
            raise DataError(f"coordinate variables LAT/LON missing; expected a CLDAS netCDF file (variables {sorted(names)})")
        if variable is None:
            data = [n for n, v in names.items() if n not in COORD_NAMES and v.ndim >= 2]
            if len(data) != 1:
                raise DataError(f"cannot tell the soil-moisture variable among {data or 'no 2-D variable'}; expected one (or pass variable=)")
            variable = data[0]
        elif variable not in names:
            raise DataError(f"variable {variable!r} missing; the file has {sorted(names)}")
        v = names[variable]
        lat = np.asarray(names[lat_name][:], dtype=np.float64)
        lon = np.asarray(names[lon_name][:], dtype=np.float64)
        if v.shape[-2:] != (lat.size, lon.size):
            raise DataError(f"variable {variable!r} has shape {v.shape}; expected (..., {lat.size}, {lon.size}) matching {lat_name}/{lon_name}")
        rows, cols = window(lat, lon, bbox)
        a = v.__dict__
        scale, offset = float(attr(a, "scale_factor", default=1.0)), float(attr(a, "add_offset", default=0.0))
        fills = (attr(a, "_FillValue"), attr(a, "missing_value"))
        src = v if v.ndim == 2 else _First(v)
        sm = decode(read_window(src, rows, cols), scale, offset, fills=fills)
        units = str(attr(a, "units", default="m3 m-3"))
    if units.strip().lower() in ("%", "percent"):
        sm = sm / 100.0
    finite = sm[np.isfinite(sm)]
    if finite.size and np.median(finite) > 1.0:
        raise DataError(f"variable {variable!r} (units {units!r}) has a median of {np.median(finite):.3g}; expected volumetric soil moisture in m3 m-3 (0–1): check units/scale_factor")
    sm[(sm < 0) | (sm > 1)] = np.nan
    return {"sm": sm, "lat": lat[rows], "lon": (lon[cols] + 180) % 360 - 180, "variable": variable}


class _First:
    def __init__(self, var: Any) -> None:
        self.var = var

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.var[(0,) * (self.var.ndim - 2) + tuple(key)]


def read_cldas(
    paths: PathsLike,
    *,
    time: TimeLike = None,
    bbox: Sequence[float] | None = None,
    code: str = "SM000005",
    variable: str | None = None,
    daily: bool = True,
    variables: Sequence[str] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read CLDAS soil-moisture files into the ``cldas_sm`` layout (``sm``, m3 m-3).

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        CLDAS ``.nc`` files or folders (other variables of the folder are skipped via ``code``).
    time : (start, end), optional
        Inclusive range of days (valid times of the names, UTC).
    bbox : (south, north, west, east), optional
        Cells whose centres lie inside (degrees).
    code : str
        Variable code of the file names (``SM000005`` = 0–5 cm).
    variable : str, optional
        netCDF variable name (default: the single data variable).
    daily : bool
        Label fields with their day, averaging hourly (``HOR``) files of a day.
    variables, chunks
        Output variables to keep; dask chunks.

    Returns
    -------
    xr.Dataset
        ``sm`` : (time, lat, lon), m3 m-3 (values outside 0–1 → NaN).
    """
    files = resolve_paths(paths, (f"Z_NAFP_C_BABJ_*_P_CLDAS_*-{code}-*.nc",), "CLDAS", _EXAMPLE)
    problems = Problems("CLDAS")
    valid: dict[Path, pd.Timestamp] = {}
    for p in files:
        m = CLDAS_NAME.match(p.name)
        if m is None:
            problems.add(p, f"file name is not a CLDAS name; expected e.g. {_EXAMPLE!r}")
        elif m.group(4) == code:
            valid[p] = pd.Timestamp(f"{m.group(5)[:8]} {m.group(5)[8:]}:00")
    problems.raise_if_any(len(files))
    if not valid:
        raise DataError(f"no CLDAS file with variable code {code!r} among {len(files)} file(s); expected names like {_EXAMPLE!r}")
    files = sorted(valid)
    files = [files[i] for i in select_time(files, [(valid[p].normalize(), valid[p].normalize()) for p in files], time, "CLDAS")]
    results = run_per_file(files, problems, lambda p: _read_one(p, variable, bbox))
    problems.raise_if_any(len(files))
    times = [valid[p] for p in files]
    fields = [r["sm"] for r in results]
    if daily:
        times, cube = daily_mean(times, fields)
    else:
        cube = np.stack(fields)
    ds = xr.Dataset(
        {"sm": (("time", "lat", "lon"), cube, cf_attrs("sm", long_name=f"CLDAS {code} soil moisture (variable {results[0]['variable']})"))},
        coords=coords(times, results[0]["lat"], results[0]["lon"]),
    )
    return finish(ds, "CLDAS", files, variables, chunks, reader="read_cldas")
