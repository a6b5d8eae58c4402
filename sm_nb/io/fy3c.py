"""FY-3C MWRI: L1 swath brightness temperature and L2 daily soil moisture (HDF5 despite ``.HDF``).

L1 ``FY3C_MWRI<A|D>_GBAL_L1_<YYYYMMDD>_<HHMM>_010KM_MS.HDF``: ``Calibration/EARTH_OBSERVE_BT_10_to_89GHz``
int16 (10 channels, scans, 254 pixels), K = raw · ``Slope`` + ``Intercept`` (0.01, 327.68);
``Geolocation/Latitude`` and ``Longitude`` (scans, 254). Channel order 10.65V, 10.65H, 18.7V,
18.7H, 23.8V, 23.8H, 36.5V, 36.5H, 89V, 89H. Swath pixels are averaged into the cells of
EASE-Grid 2.0 M25 (the stand-in of sm_nb's ``fy3c_tb`` grid) per local solar day and pass.

L2 ``FY3C_MWRI<A|D|X>_GBAL_L2_VSM_MLT_ESD_<YYYYMMDD>_<code>_025KM_MS.HDF``: a 2-D soil-moisture
array on the 25 km EASE grid; its dataset name is not documented, so the reader takes the one
2-D dataset on an EASE-Grid 2.0 shape (or ``sm_variable``). Everything here is [T]
(``shared/reference/data_formats.md`` §3).
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
from ._grids import EASE2_GRIDS, ease2_centres, ease2_rowcol, ease2_which, read_window, window
from .smap import FLAG_ATTRS

__all__ = ["read_fy3c", "FY3C_L1_NAME", "FY3C_L2_NAME", "CHANNELS", "BT_DATASET", "BT_SLOPE", "BT_INTERCEPT"]

FY3C_L1_NAME = re.compile(r"^FY3C_MWRI([AD])_GBAL_L1_(\d{8})_(\d{4})_010KM_MS\.HDF$", re.IGNORECASE)
FY3C_L2_NAME = re.compile(r"^FY3C_MWRI([ADX])_GBAL_L2_VSM_MLT_ESD_(\d{8})_(\w{4})_025KM_MS\.HDF$", re.IGNORECASE)
#: (frequency GHz, polarisation) of the 10 channels of the BT dataset, in order
CHANNELS: tuple[tuple[float, str], ...] = (
    (10.65, "v"), (10.65, "h"), (18.7, "v"), (18.7, "h"), (23.8, "v"), (23.8, "h"), (36.5, "v"), (36.5, "h"), (89.0, "v"), (89.0, "h"),
)
BT_DATASET = "Calibration/EARTH_OBSERVE_BT_10_to_89GHz"
BT_SLOPE = 0.01
BT_INTERCEPT = 327.68
LAT_DATASET, LON_DATASET = "Geolocation/Latitude", "Geolocation/Longitude"
_EXAMPLE = "FY3C_MWRIA_GBAL_L1_20170401_0545_010KM_MS.HDF"


def _kind(path: Path) -> dict[str, Any]:
    m = FY3C_L1_NAME.match(path.name)
    if m:
        return {"kind": "tb", "orbit": "asc" if m.group(1).upper() == "A" else "desc", "day": pd.Timestamp(m.group(2)), "hhmm": m.group(3)}
    m = FY3C_L2_NAME.match(path.name)
    if m:
        letter = m.group(1).upper()
        return {"kind": "sm", "orbit": {"A": "asc", "D": "desc"}.get(letter), "day": pd.Timestamp(m.group(2))}
    raise DataError(
        f"file name {path.name!r} is not an FY-3C MWRI L1 or L2 VSM name; expected e.g. {_EXAMPLE!r} or "
        "'FY3C_MWRIA_GBAL_L2_VSM_MLT_ESD_20170401_POAD_025KM_MS.HDF'"
    )


def _start_time(f: Any, info: dict[str, Any]) -> pd.Timestamp:
    date = attr(f.attrs, "Observing Beginning Date")
    clock = attr(f.attrs, "Observing Beginning Time")
    if date and clock:
        return pd.Timestamp(f"{date} {clock}")
    return info["day"] + pd.Timedelta(hours=int(info["hhmm"][:2]), minutes=int(info["hhmm"][2:]))


def _read_l1(path: Path, info: dict[str, Any], channels: list[int], problems_all: Problems) -> dict[str, Any]:
    import h5py

    problems = Problems("FY-3C")
    with h5py.File(path, "r") as f:
        for name in (BT_DATASET, LAT_DATASET, LON_DATASET):
            if name not in f:
                raise DataError(f"variable {name!r} missing; expected FY-3C MWRI L1 datasets {[BT_DATASET, LAT_DATASET, LON_DATASET]}")
        d = f[BT_DATASET]
        if d.ndim != 3 or d.shape[0] != len(CHANNELS):
            raise DataError(f"variable {BT_DATASET!r} has shape {d.shape}; expected (10 channels, scans, pixels)")
        slope = attr(d.attrs, "Slope", "scale_factor")
        intercept = attr(d.attrs, "Intercept", "add_offset")
        slope_v = np.broadcast_to(np.asarray(slope if slope is not None else BT_SLOPE, dtype=float), (len(CHANNELS),))
        inter_v = np.broadcast_to(np.asarray(intercept if intercept is not None else BT_INTERCEPT, dtype=float), (len(CHANNELS),))
        lat = decode(f[LAT_DATASET][:], valid=(-90.0, 90.0))
        lon = decode(f[LON_DATASET][:], valid=(-180.0, 360.0))
        if lat.shape != d.shape[1:]:
            raise DataError(f"variable {LAT_DATASET!r} has shape {lat.shape}; expected {d.shape[1:]} like the BT swath")
        fill = attr(d.attrs, "FillValue", "_FillValue")
        tb = {}
        for k in channels:
            check_scale(path, BT_DATASET, f"Slope[{k}]", slope_v[k], BT_SLOPE, problems)
            check_scale(path, BT_DATASET, f"Intercept[{k}]", inter_v[k], BT_INTERCEPT, problems)
            tb[k] = decode(d[k], float(slope_v[k]), float(inter_v[k]), fills=(fill,), valid=(1.0, 400.0))
        start = _start_time(f, info)
    if problems:
        raise DataError("; ".join(m for _, m in problems.items))
    return {"lat": lat, "lon": lon, "tb": tb, "start": start}


def _read_l2(path: Path, info: dict[str, Any], bbox: Any, sm_variable: str | None) -> dict[str, Any]:
    import h5py

    with h5py.File(path, "r") as f:
        found: dict[str, Any] = {}
        f.visititems(lambda n, o: found.setdefault(n, o) if isinstance(o, h5py.Dataset) and o.ndim == 2 and ease2_which(o.shape) else None)
        if sm_variable is not None:
            if sm_variable not in f:
                raise DataError(f"variable {sm_variable!r} (option sm_variable) missing; 2-D EASE-grid datasets in the file: {sorted(found)}")
            d = f[sm_variable]
        elif len(found) == 1:
            d = next(iter(found.values()))
        else:
            soil = [n for n in found if re.search(r"soil|sm|vsm|moist", n, re.IGNORECASE)]
            if len(soil) != 1:
                raise DataError(f"cannot tell the soil-moisture dataset among {sorted(found) or 'no 2-D EASE-Grid 2.0 dataset'}; expected one (or pass sm_variable=)")
            d = found[soil[0]]
        which = ease2_which(d.shape)
        if which is None:
            raise DataError(f"variable {d.name!r} has shape {d.shape}; expected an EASE-Grid 2.0 shape {[(r, c) for _, c, r in EASE2_GRIDS.values()]}")
        lat_rows, lon_cols = ease2_centres(which)
        rows, cols = window(lat_rows, lon_cols, bbox)
        scale = attr(d.attrs, "Slope", "scale_factor", default=1.0)
        offset = attr(d.attrs, "Intercept", "add_offset", default=0.0)
        fill = attr(d.attrs, "FillValue", "_FillValue")
        raw = read_window(d, rows, cols)
        sm = decode(raw, float(scale), float(offset), fills=(fill,))
        finite = sm[np.isfinite(sm)]
        if finite.size and np.nanmedian(finite) > 1.0:
            raise DataError(f"variable {d.name!r} scaled by Slope={scale!r} gives a median of {np.nanmedian(finite):.3g}; expected m3 m-3 (0–1): check the scale attribute")
        sm[(sm < 0) | (sm > 1)] = np.nan
    return {"sm": sm, "lat": lat_rows[rows], "lon": lon_cols[cols], "which": which}


def read_fy3c(
    paths: PathsLike,
    *,
    time: TimeLike = None,
    bbox: Sequence[float] | None = None,
    ease_grid: str = "M25",
    frequencies: Sequence[float] = (10.65,),
    orbit: str | None = None,
    sm_variable: str | None = None,
    variables: Sequence[str] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read FY-3C MWRI L1 swaths (gridded here) and/or L2 VSM files into the ``fy3c_tb``/``fy3c_sm`` layout.

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        ``FY3C_MWRI*_GBAL_L1_*.HDF`` and/or ``FY3C_MWRI*_GBAL_L2_VSM_*.HDF`` files or folders.
    time : (start, end), optional
        Inclusive range of days (L1: local solar days of the observations; L2: file dates).
    bbox : (south, north, west, east), optional
        Cells whose centres lie inside (degrees).
    ease_grid : str
        EASE-Grid 2.0 grid the L1 swath is averaged onto (``M25`` default, ``M36``, ``M09``).
    frequencies : sequence of float
        L1 channels to keep, GHz (10.65 by default as in the paper).
    orbit : {"asc", "desc"}, optional
        Pass of L2 files whose name says ``MWRIX`` (both passes).
    sm_variable : str, optional
        Dataset name of soil moisture in L2 files (default: the one 2-D EASE-grid dataset).
    variables, chunks
        Output variables to keep; dask chunks.

    Returns
    -------
    xr.Dataset
        ``tbh_asc``, ``tbv_asc``, ``tbh_desc``, ``tbv_desc`` : (time, frequency, lat, lon), K;
        ``flag_asc``/``flag_desc`` all 0 (MWRI L1 has no sm_nb flags); ``sm_asc``, ``sm_desc`` :
        (time, lat, lon), m3 m-3 from L2 files.
    """
    files = resolve_paths(paths, ("FY3C_MWRI*_GBAL_L*.HDF", "FY3C_MWRI*_GBAL_L*.hdf"), "FY-3C MWRI", _EXAMPLE)
    problems = Problems("FY-3C MWRI")
    infos: dict[Path, dict[str, Any]] = {}
    for p in files:
        try:
            infos[p] = _kind(p)
            if infos[p]["kind"] == "sm" and infos[p]["orbit"] is None:
                if orbit not in ("asc", "desc"):
                    raise DataError("file name says MWRIX (both passes); expected the option orbit='asc' or 'desc'")
                infos[p]["orbit"] = orbit
        except DataError as exc:
            problems.add(p, str(exc))
    problems.raise_if_any(len(files))
    wanted = [float(f) for f in frequencies]
    known = sorted({f for f, _ in CHANNELS})
    bad = [f for f in wanted if not np.isclose(known, f).any()]
    if bad:
        raise DataError(f"FY-3C frequencies {bad} GHz are not MWRI channels; expected a subset of {known}")
    files = sorted(infos)
    pad = pd.Timedelta(days=1)
    periods = [(infos[p]["day"] - pad, infos[p]["day"] + pad) if infos[p]["kind"] == "tb" else (infos[p]["day"], infos[p]["day"]) for p in files]
    files = [files[i] for i in select_time(files, periods, time, "FY-3C MWRI")]
    l1 = [p for p in files if infos[p]["kind"] == "tb"]
    l2 = [p for p in files if infos[p]["kind"] == "sm"]
    channels = [k for k, (f, _) in enumerate(CHANNELS) if np.isclose(wanted, f).any()]
    r1 = run_per_file(l1, problems, lambda p: _read_l1(p, infos[p], channels, problems))
    r2 = run_per_file(l2, problems, lambda p: _read_l2(p, infos[p], bbox, sm_variable))
    problems.raise_if_any(len(files))
    which = r2[0]["which"] if r2 else ease_grid
    lat_rows, lon_cols = ease2_centres(which)
    rows, cols = window(lat_rows, lon_cols, bbox)
    lat, lon = lat_rows[rows], lon_cols[cols]
    rng = parse_time_range(time)
    tb_cubes, tb_days = _grid_swaths(l1, r1, infos, channels, which, rows, cols, rng) if l1 else ({}, [])
    days = sorted(set(tb_days) | {infos[p]["day"] for p in l2})
    if rng is not None:
        days = [d for d in days if rng[0] <= d <= rng[1]]
    if not days:
        raise DataError(f"no FY-3C observation falls in the time range {time}")
    t_index = {d: i for i, d in enumerate(days)}
    shape = (len(days), lat.size, lon.size)
    freqs = sorted({CHANNELS[k][0] for k in channels})
    data_vars: dict[str, Any] = {}
    for o, label in (("asc", "ascending 13:40"), ("desc", "descending 01:40")):
        if l1:
            for pol in ("h", "v"):
                cube = np.full((len(days), len(freqs), *shape[1:]), np.nan, np.float32)
                for d, i in t_index.items():
                    if d in tb_days:
                        cube[i] = tb_cubes[f"tb{pol}_{o}"][tb_days.index(d)]
                data_vars[f"tb{pol}_{o}"] = (("time", "frequency", "lat", "lon"), cube, cf_attrs("tb", long_name=f"FY-3C MWRI {pol.upper()}-pol brightness temperature, {label}"))
            data_vars[f"flag_{o}"] = (("time", "lat", "lon"), np.zeros(shape, np.uint8), {**FLAG_ATTRS, "long_name": f"quality flags, {label}", "comment": "MWRI L1 files carry no sm_nb flags; all 0"})
        if l2:
            cube = np.full(shape, np.nan, np.float32)
            for p, res in zip(l2, r2, strict=True):
                if infos[p]["orbit"] == o and infos[p]["day"] in t_index:
                    if res["sm"].shape != shape[1:]:
                        raise DataError(f"FY-3C file {p} is on grid {res['which']}, unlike {l2[0].name}; expected one grid per call")
                    cube[t_index[infos[p]["day"]]] = res["sm"]
            data_vars[f"sm_{o}"] = (("time", "lat", "lon"), cube, cf_attrs("sm", long_name=f"FY-3C MWRI soil moisture, {label}"))
    ds = xr.Dataset(data_vars, coords=coords(days, lat, lon, freqs if l1 else None))
    return finish(ds, "FY-3C MWRI", files, variables, chunks, reader="read_fy3c", extra_attrs={"grid": f"EASE-Grid 2.0 {which}"})


def _grid_swaths(
    files: list[Path], results: list[dict[str, Any]], infos: dict[Path, dict[str, Any]], channels: list[int],
    which: str, rows: np.ndarray, cols: np.ndarray, rng: tuple[pd.Timestamp, pd.Timestamp] | None,
) -> tuple[dict[str, np.ndarray], list[pd.Timestamp]]:
    """Average swath pixels into EASE-Grid cells per local solar day and pass."""
    _, ncol, nrow = EASE2_GRIDS[which]
    pos = np.full(nrow * ncol, -1, dtype=np.int64)
    pos[(rows[:, None] * ncol + cols[None, :]).ravel()] = np.arange(rows.size * cols.size)
    freqs = sorted({CHANNELS[k][0] for k in channels})
    parts = []
    for p, res in zip(files, results, strict=True):
        ok = np.isfinite(res["lat"]) & np.isfinite(res["lon"])
        r, c = ease2_rowcol(res["lat"][ok], res["lon"][ok], which)
        inside = r >= 0
        cell = np.full(r.shape, -1, dtype=np.int64)
        cell[inside] = pos[r[inside] * ncol + c[inside]]
        local = res["start"] + pd.to_timedelta(res["lon"][ok] / 15.0 * 3600.0, unit="s")
        parts.append((p, ok, cell, pd.DatetimeIndex(local).normalize()))
    days = sorted(set().union(*(set(dd[cell >= 0]) for _, _, cell, dd in parts)))
    if rng is not None:
        days = [d for d in days if rng[0] <= d <= rng[1]]
    ncell = rows.size * cols.size
    size = len(days) * ncell
    t_of = {d: i for i, d in enumerate(days)}
    acc = {f"tb{pol}_{o}": (np.zeros((len(freqs), size)), np.zeros((len(freqs), size))) for pol in "hv" for o in ("asc", "desc")}
    for (p, ok, cell, dd), res in zip(parts, results, strict=True):
        t = np.array([t_of.get(d, -1) for d in dd], dtype=np.int64)
        flat = np.where((cell >= 0) & (t >= 0), t * ncell + cell, -1)
        for k in channels:
            freq, pol = CHANNELS[k]
            s, n = acc[f"tb{pol}_{infos[p]['orbit']}"]
            v = res["tb"][k][ok]
            good = (flat >= 0) & np.isfinite(v)
            fi = freqs.index(freq)
            np.add.at(s[fi], flat[good], v[good])
            np.add.at(n[fi], flat[good], 1.0)
    cubes = {}
    for key, (s, n) in acc.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, s / np.maximum(n, 1), np.nan).astype(np.float32)
        cubes[key] = mean.reshape(len(freqs), len(days), rows.size, cols.size).transpose(1, 0, 2, 3)
    return cubes, days

