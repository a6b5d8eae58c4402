"""ASCAT σ40 from EUMETSAT L2 SSM swath files (netCDF, netCDF4-python), gridded to lat/lon.

``W_XX-EUMETSAT-Darmstadt,SURFACE+SATELLITE,METOP<A|B|C>+ASCAT_C_EUM<P|C>_<YYYYMMDDhhmmss>_<orbit>_eps_o_<250|125>_ssm_l2.nc``;
dims ``numRows`` × ``numCells``; ``sigma40`` int32 × 1e-6 dB, ``_FillValue`` −2147483648;
``latitude``/``longitude`` int32 × 1e-6 degrees; ``utc_line_nodes`` seconds since 2000-01-01 UTC
per row; ``as_des_pass`` per row (``shared/reference/data_formats.md`` §4a, [V]).

Gotcha [V]: ``sigma40`` declares ``valid_min``/``valid_max`` of ±10 dB although land values run
from about −21 to −4 dB, so auto-masking by the valid range (netCDF4's default) silently drops
most backscatter. This reader turns auto-masking off and treats only ``_FillValue`` as missing.
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
    parse_time_range,
    resolve_paths,
    run_per_file,
    select_time,
)
from ._grids import TargetGrid, window

__all__ = ["read_ascat", "ASCAT_NAME", "SIGMA40_SCALE", "LATLON_SCALE", "INT32_FILL", "parse_since"]

ASCAT_NAME = re.compile(
    r"^W_XX-EUMETSAT-Darmstadt,SURFACE\+SATELLITE,METOP([ABC])\+ASCAT_C_EUM([PC])_(\d{14})_(\d+)_eps_o_(250|125)_ssm_l2\.nc$"
)
SIGMA40_SCALE = 1e-6
LATLON_SCALE = 1e-6
INT32_FILL = -2147483648
_EXAMPLE = "W_XX-EUMETSAT-Darmstadt,SURFACE+SATELLITE,METOPB+ASCAT_C_EUMP_20170401023000_23654_eps_o_125_ssm_l2.nc"
_NEEDED = ("sigma40", "latitude", "longitude", "utc_line_nodes")


def parse_since(units: str, where: str) -> tuple[str, pd.Timestamp]:
    """Split CF time units ``"<unit> since <epoch>"`` into (pandas unit, epoch)."""
    m = re.match(r"^\s*(seconds|minutes|hours|days)\s+since\s+(.+?)\s*$", str(units))
    if not m:
        raise DataError(f"{where} has time units {units!r}; expected '<seconds|minutes|hours|days> since <date>'")
    unit = {"seconds": "s", "minutes": "min", "hours": "h", "days": "D"}[m.group(1)]
    return unit, pd.Timestamp(m.group(2).replace("Z", "")).tz_localize(None)


def _read_one(path: Path) -> dict[str, Any]:
    import netCDF4

    problems = Problems("ASCAT")
    with netCDF4.Dataset(path, "r") as nc:
        nc.set_auto_maskandscale(False)
        missing = [v for v in _NEEDED if v not in nc.variables]
        if missing:
            raise DataError(f"variable(s) {missing} missing; expected EUMETSAT ASCAT L2 SSM variables {list(_NEEDED)}")
        v = nc.variables["sigma40"]
        if v.dimensions != ("numRows", "numCells"):
            raise DataError(f"variable 'sigma40' has dims {v.dimensions}; expected ('numRows', 'numCells')")
        scale = check_scale(path, "sigma40", "scale_factor", attr(v.__dict__, "scale_factor"), SIGMA40_SCALE, problems)
        sigma = decode(v[:], scale, fills=(attr(v.__dict__, "_FillValue", default=INT32_FILL),))
        ll = {}
        for name in ("latitude", "longitude"):
            w = nc.variables[name]
            s = check_scale(path, name, "scale_factor", attr(w.__dict__, "scale_factor"), LATLON_SCALE, problems)
            fill = attr(w.__dict__, "_FillValue", "missing_value", default=INT32_FILL)
            ll[name] = decode(w[:], s, fills=(fill, INT32_FILL), valid=(-180.0, 360.0)).astype(np.float64)
        t = nc.variables["utc_line_nodes"]
        unit, epoch = parse_since(attr(t.__dict__, "units", default=""), f"{path.name}: variable 'utc_line_nodes'")
        secs = np.asarray(t[:], dtype=np.float64)
        asdes = np.asarray(nc.variables["as_des_pass"][:]).astype(np.int64) if "as_des_pass" in nc.variables else None
    if problems:
        raise DataError("; ".join(m for _, m in problems.items))
    row_time = epoch + pd.to_timedelta(secs, unit=unit)
    return {"sigma40": sigma, "lat": ll["latitude"], "lon": (ll["longitude"] + 180.0) % 360.0 - 180.0, "row_time": row_time, "as_des_pass": asdes}


def _ascending(lat: np.ndarray, as_des_pass: np.ndarray | None, ascending_value: int) -> np.ndarray:
    """Per row: True when the satellite moves north (latitude grows with the row index).

    Falls back on ``as_des_pass == ascending_value`` where the along-track gradient is undefined.
    """
    with np.errstate(invalid="ignore"):
        row_lat = np.nanmean(np.where(np.isfinite(lat), lat, np.nan), axis=1) if np.isfinite(lat).any() else np.full(lat.shape[0], np.nan)
    grad = np.gradient(row_lat) if row_lat.size > 1 else np.full(row_lat.shape, np.nan)
    out = grad > 0
    undefined = ~np.isfinite(grad) | (grad == 0)
    if undefined.any():
        if as_des_pass is None:
            raise DataError("cannot tell ascending from descending rows: one row only and no 'as_des_pass' variable")
        out[undefined] = as_des_pass[undefined] == ascending_value
    return out


def read_ascat(
    paths: PathsLike,
    *,
    time: TimeLike = None,
    bbox: Sequence[float] | None = None,
    res: float = 0.125,
    ascending_value: int = 1,
    variables: Sequence[str] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read EUMETSAT ASCAT L2 SSM swath files and grid σ40 per local solar day and pass.

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        ``W_XX-EUMETSAT-Darmstadt,SURFACE+SATELLITE,METOP*+ASCAT_*_ssm_l2.nc`` files or folders.
    time : (start, end), optional
        Inclusive range of local solar days to keep.
    bbox : (south, north, west, east), optional
        Output cells whose centres lie inside (degrees).
    res : float
        Output grid spacing (degrees; global grid with centres at −90 + res/2 + k·res).
    ascending_value : int
        Value of ``as_des_pass`` meaning ascending, used only where the along-track latitude
        gradient cannot decide (one-row files) — the convention is not verified ([T]).
    variables, chunks
        Output variables to keep; dask chunks.

    Returns
    -------
    xr.Dataset
        ``sigma40_asc``, ``sigma40_desc`` : (time, lat, lon), dB — the mean (in linear power) of the
        swath nodes whose centre falls in each cell.
    """
    files = resolve_paths(paths, ("W_XX-EUMETSAT-Darmstadt,SURFACE+SATELLITE,METOP*+ASCAT_*_ssm_l2.nc",), "ASCAT", _EXAMPLE)
    problems = Problems("ASCAT")
    starts = {}
    for p in files:
        m = ASCAT_NAME.match(p.name)
        if m is None:
            problems.add(p, f"file name is not an EUMETSAT ASCAT L2 SSM netCDF name; expected e.g. {_EXAMPLE!r}")
        else:
            starts[p] = pd.Timestamp(m.group(3))
    problems.raise_if_any(len(files))
    files = sorted(starts)
    pad = pd.Timedelta(days=1)
    files = [files[i] for i in select_time(files, [(starts[p].normalize() - pad, starts[p].normalize() + pad) for p in files], time, "ASCAT")]
    results = run_per_file(files, problems, _read_one)
    problems.raise_if_any(len(files))
    lat_all = -90.0 + res / 2 + res * np.arange(round(180 / res))
    lon_all = -180.0 + res / 2 + res * np.arange(round(360 / res))
    rows, cols = window(lat_all, lon_all, bbox)
    grid = TargetGrid(lat_all[rows], lon_all[cols])
    rng = parse_time_range(time)
    obs = []
    for r in results:
        up = _ascending(r["lat"], r["as_des_pass"], ascending_value)
        cell = grid.index(r["lat"], r["lon"])
        local = pd.DatetimeIndex(np.repeat(r["row_time"].values, r["lat"].shape[1])) + pd.to_timedelta(np.nan_to_num(r["lon"].ravel()) / 15.0 * 3600.0, unit="s")
        obs.append((cell.ravel(), local.normalize(), np.repeat(up, r["lat"].shape[1]), r["sigma40"].ravel()))
    days = sorted(set().union(*(set(d[c >= 0]) for c, d, _, _ in obs)))
    if rng is not None:
        days = [d for d in days if rng[0] <= d <= rng[1]]
    if not days:
        raise DataError(f"no ASCAT observation falls inside bbox {bbox} and time range {time}")
    t_of = {d: i for i, d in enumerate(days)}
    ncell = grid.shape[0] * grid.shape[1]
    acc = {o: (np.zeros(len(days) * ncell), np.zeros(len(days) * ncell)) for o in ("asc", "desc")}
    for cell, day, up, sig in obs:
        t = np.array([t_of.get(d, -1) for d in day], dtype=np.int64)
        flat = np.where((cell >= 0) & (t >= 0), t * ncell + cell, -1)
        for o, sel in (("asc", up), ("desc", ~up)):
            good = sel & (flat >= 0) & np.isfinite(sig)
            s, n = acc[o]
            np.add.at(s, flat[good], 10.0 ** (sig[good].astype(np.float64) / 10.0))
            np.add.at(n, flat[good], 1.0)
    data_vars = {}
    for o, label in (("asc", "ascending 21:30"), ("desc", "descending 09:30")):
        s, n = acc[o]
        with np.errstate(invalid="ignore", divide="ignore"):
            db = np.where(n > 0, 10.0 * np.log10(s / np.maximum(n, 1)), np.nan).astype(np.float32)
        data_vars[f"sigma40_{o}"] = (("time", "lat", "lon"), db.reshape(len(days), *grid.shape), cf_attrs("sigma0", long_name=f"ASCAT sigma40 (VV, 40 deg), {label}"))
    ds = xr.Dataset(data_vars, coords=coords(days, grid.lat, grid.lon))
    return finish(ds, "EUMETSAT ASCAT L2 SSM", files, variables, chunks, reader="read_ascat")
