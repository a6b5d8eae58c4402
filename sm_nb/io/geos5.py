"""GEOS-5 FP ``tavg1_2d_lnd_Nx`` hourly files: surface soil moisture ``SFMC`` (netCDF4).

``GEOS.fp.asm.tavg1_2d_lnd_Nx.<YYYYMMDD>_<HHMM>.V01.nc4`` (HHMM = 0030 … 2330, hourly means
stamped at the centre of the hour); ``SFMC`` float32 (time = 1, lat = 721, lon = 1152) on the
global 0.25° × 0.3125° grid, ``_FillValue`` = ``missing_value`` = 1e15, ``scale_factor`` 1,
``add_offset`` 0; ``time`` int32 "minutes since …" (GMAO conventions, [V] on MERRA-2, [T] for FP;
``shared/reference/data_formats.md`` §7). The paper uses the 05:30 UTC field (``utc_hour="05:30"``).
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
    check_scale,
    coords,
    decode,
    finish,
    resolve_paths,
    run_per_file,
    select_time,
)
from ._grids import read_window, window
from .ascat import parse_since

__all__ = ["read_geos5", "GEOS5_NAME", "GEOS5_FILL", "daily_mean"]

GEOS5_NAME = re.compile(r"^GEOS\.fp\.asm\.tavg1_2d_lnd_Nx\.(\d{8})_(\d{4})\.V01\.nc4$")
GEOS5_FILL = 1e15
_EXAMPLE = "GEOS.fp.asm.tavg1_2d_lnd_Nx.20170401_0530.V01.nc4"


def _read_one(path: Path, variable: str, bbox: Any) -> dict[str, Any]:
    import netCDF4

    problems = Problems("GEOS-5 FP")
    with netCDF4.Dataset(path, "r") as nc:
        nc.set_auto_maskandscale(False)
        if variable not in nc.variables:
            raise DataError(f"variable {variable!r} missing; expected a GEOS-5 FP tavg1_2d_lnd_Nx file (it has {sorted(nc.variables)[:12]})")
        for c in ("lat", "lon", "time"):
            if c not in nc.variables:
                raise DataError(f"coordinate variable {c!r} missing; expected lat, lon, time")
        v = nc.variables[variable]
        if v.dimensions[-2:] != ("lat", "lon"):
            raise DataError(f"variable {variable!r} has dims {v.dimensions}; expected (time, lat, lon)")
        lat = np.asarray(nc.variables["lat"][:], dtype=np.float64)
        lon = np.asarray(nc.variables["lon"][:], dtype=np.float64)
        rows, cols = window(lat, lon, bbox)
        scale = check_scale(path, variable, "scale_factor", attr(v.__dict__, "scale_factor"), 1.0, problems)
        offset = check_scale(path, variable, "add_offset", attr(v.__dict__, "add_offset"), 0.0, problems)
        fills = (attr(v.__dict__, "_FillValue", default=GEOS5_FILL), attr(v.__dict__, "missing_value", default=GEOS5_FILL))
        t = nc.variables["time"]
        unit, epoch = parse_since(attr(t.__dict__, "units", default=""), f"{path.name}: variable 'time'")
        times = epoch + pd.to_timedelta(np.asarray(t[:], dtype=np.float64), unit=unit)
        fields = []
        for k in range(len(times)):
            two_d = v if v.ndim == 2 else _Slice(v, k)
            fields.append(decode(read_window(two_d, rows, cols), scale, offset, fills=fills, valid=(0.0, 1.0)))
    if problems:
        raise DataError("; ".join(m for _, m in problems.items))
    return {"times": list(times), "fields": fields, "lat": lat[rows], "lon": (lon[cols] + 180) % 360 - 180}


class _Slice:
    """``v[k, ...]`` as a 2-D sliceable object (reads only the requested window)."""

    def __init__(self, var: Any, k: int) -> None:
        self.var, self.k = var, k

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.var[(self.k, *key)]


def daily_mean(times: Sequence[pd.Timestamp], fields: Sequence[np.ndarray]) -> tuple[list[pd.Timestamp], np.ndarray]:
    """Average fields sharing a UTC day; returns (days, stack (day, lat, lon))."""
    days = sorted({pd.Timestamp(t).normalize() for t in times})
    out = np.full((len(days), *fields[0].shape), np.nan, np.float32)
    for i, d in enumerate(days):
        sel = [f for t, f in zip(times, fields, strict=True) if pd.Timestamp(t).normalize() == d]
        with np.errstate(invalid="ignore"):
            n = np.sum([np.isfinite(f) for f in sel], axis=0)
            s = np.nansum(sel, axis=0)
            out[i] = np.where(n > 0, s / np.maximum(n, 1), np.nan)
    return days, out


def read_geos5(
    paths: PathsLike,
    *,
    time: TimeLike = None,
    bbox: Sequence[float] | None = None,
    utc_hour: str | None = None,
    daily: bool = False,
    variable: str = "SFMC",
    variables: Sequence[str] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read GEOS-5 FP land files into the ``geos5_sm`` layout (``sm``, m3 m-3).

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        ``GEOS.fp.asm.tavg1_2d_lnd_Nx.*.nc4`` files or folders.
    time : (start, end), optional
        Inclusive range of UTC days.
    bbox : (south, north, west, east), optional
        Cells whose centres lie inside (degrees).
    utc_hour : str, optional
        Keep only files stamped at this UTC time (``"05:30"`` for the paper's field).
    daily : bool
        Label fields with their UTC day (averaging several fields of a day); otherwise keep the
        file times (UTC).
    variable : str
        Variable to read (``SFMC`` surface soil moisture; ``GWETTOP`` etc. also work).
    variables, chunks
        Output variables to keep; dask chunks.

    Returns
    -------
    xr.Dataset
        ``sm`` : (time, lat, lon), m3 m-3; ocean/ice fill → NaN, values outside 0–1 → NaN.
    """
    files = resolve_paths(paths, ("GEOS.fp.asm.tavg1_2d_lnd_Nx.*.nc4",), "GEOS-5 FP", _EXAMPLE)
    problems = Problems("GEOS-5 FP")
    stamps = {}
    for p in files:
        m = GEOS5_NAME.match(p.name)
        if m is None:
            problems.add(p, f"file name is not a GEOS-5 FP tavg1_2d_lnd_Nx name; expected e.g. {_EXAMPLE!r}")
        else:
            stamps[p] = pd.Timestamp(f"{m.group(1)} {m.group(2)[:2]}:{m.group(2)[2:]}")
    problems.raise_if_any(len(files))
    files = sorted(stamps)
    if utc_hour is not None:
        hhmm = str(utc_hour).replace(":", "")
        files = [p for p in files if stamps[p].strftime("%H%M") == hhmm]
        if not files:
            raise DataError(f"no GEOS-5 FP file is stamped {utc_hour} UTC; stamps found: {sorted({s.strftime('%H:%M') for s in stamps.values()})}")
    files = [files[i] for i in select_time(files, [(stamps[p].normalize(), stamps[p].normalize()) for p in files], time, "GEOS-5 FP")]
    results = run_per_file(files, problems, lambda p: _read_one(p, variable, bbox))
    problems.raise_if_any(len(files))
    times = [t for r in results for t in r["times"]]
    fields = [f for r in results for f in r["fields"]]
    if daily:
        times, cube = daily_mean(times, fields)
    else:
        order = np.argsort(np.asarray(times, dtype="datetime64[ns]"), kind="stable")
        times, cube = [times[i] for i in order], np.stack([fields[i] for i in order])
    ds = xr.Dataset(
        {"sm": (("time", "lat", "lon"), cube, cf_attrs("sm", long_name=f"GEOS-5 FP {variable} surface soil moisture" + (f" at {utc_hour} UTC" if utc_hour else "")))},
        coords=coords(times, results[0]["lat"], results[0]["lon"]),
    )
    return finish(ds, "GEOS-5 FP", files, variables, chunks, reader="read_geos5")
