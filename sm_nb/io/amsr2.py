"""AMSR2 (GCOM-W) JAXA L3 daily brightness temperature and soil moisture (HDF5, h5py).

File names ``GW1AM2_<YYYYMMDD>_01D_EQM<A|D>_L3SGT<FF><H|L>A<ver>.h5`` (TB; ``FF`` = 06, 07, 10, …
GHz code, ``H`` 0.1°, ``L`` 0.25°) and ``…_L3SGSMC<H|L>A<ver>.h5`` (soil moisture); ``A`` is the
ascending 13:30 pass, ``D`` the descending 01:30 pass. TB datasets ``Brightness Temperature (H)``
/ ``(V)`` are uint16 × 0.01 K with 65534/65535 missing; ``Geophysical Data`` (rows, cols, 1) holds
soil moisture in % with a ``SCALE FACTOR`` attribute. Row 0 is the northern edge, column 0 starts
at 0°E (``shared/reference/data_formats.md`` §2, all [T]).
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
from .smap import FLAG_ATTRS

__all__ = ["read_amsr2", "AMSR2_NAME", "FREQUENCY_CODES", "TB_SCALE", "SM_SCALE"]

AMSR2_NAME = re.compile(r"^GW1AM2_(\d{8})_01D_EQM([AD])_L3SG(T(\d{2})|SMC)([HL])A(\w+)\.h5$")
#: file-name frequency code → centre frequency (GHz)
FREQUENCY_CODES = {"06": 6.925, "07": 7.3, "10": 10.65, "18": 18.7, "23": 23.8, "36": 36.5, "89": 89.0}
TB_NAMES = {"h": "Brightness Temperature (H)", "v": "Brightness Temperature (V)"}
SM_NAME = "Geophysical Data"
TB_SCALE = 0.01
TB_FILLS = (65534, 65535)
SM_SCALE = 0.1
SM_FILLS = (-32767, -32768)
_EXAMPLE = "GW1AM2_20170401_01D_EQMA_L3SGT10LA2220220.h5"


def _parse(path: Path) -> dict[str, Any]:
    m = AMSR2_NAME.match(path.name)
    if not m:
        raise DataError(f"file name {path.name!r} is not an AMSR2 L3 daily name; expected e.g. {_EXAMPLE!r}")
    day, orbit, kind, fcode, res = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
    if kind != "SMC" and fcode not in FREQUENCY_CODES:
        raise DataError(f"file name {path.name!r} has frequency code {fcode!r}; expected one of {sorted(FREQUENCY_CODES)}")
    return {
        "day": pd.Timestamp(day), "orbit": "asc" if orbit == "A" else "desc",
        "kind": "sm" if kind == "SMC" else "tb", "freq": FREQUENCY_CODES.get(fcode or "", None),
        "res": 0.1 if res == "H" else 0.25,
    }


def _grid(shape: tuple[int, ...], res: float, path: Path, var: str) -> tuple[np.ndarray, np.ndarray]:
    expected = (round(180 / res), round(360 / res))
    if tuple(shape[:2]) != expected:
        raise DataError(f"variable {var!r} has shape {tuple(shape)}; expected {expected} for the {res}° grid named in the file name")
    lat = 90.0 - (np.arange(expected[0]) + 0.5) * res
    lon = (np.arange(expected[1]) + 0.5) * res
    return lat, lon


def _read_one(path: Path, info: dict[str, Any], bbox: Any) -> dict[str, Any]:
    import h5py

    problems = Problems("AMSR2")
    out: dict[str, Any] = {}
    with h5py.File(path, "r") as f:
        names = TB_NAMES if info["kind"] == "tb" else {"sm": SM_NAME}
        for key, name in names.items():
            if name not in f:
                raise DataError(f"variable {name!r} missing; expected AMSR2 L3 datasets {list(names.values())} (file has {sorted(f)})")
            d = f[name]
            lat, lon = _grid(d.shape, info["res"], path, name)
            rows, cols = window(lat, lon, bbox)
            raw = read_window(d, rows, cols)
            if raw.ndim == 3:  # soil moisture: trailing length-1 axis
                raw = raw[..., 0]
            if info["kind"] == "tb":
                scale = check_scale(path, name, "SCALE FACTOR", attr(d.attrs, "SCALE FACTOR", "scale_factor"), TB_SCALE, problems)
                out[key] = decode(raw, scale, fills=TB_FILLS, valid=(0.0, 400.0))
            else:
                scale = check_scale(path, name, "SCALE FACTOR", attr(d.attrs, "SCALE FACTOR", "scale_factor"), SM_SCALE, problems)
                out[key] = decode(raw, scale / 100.0, fills=SM_FILLS, valid=(0.0, 1.0))  # % → m3 m-3
            out["lat"], out["lon"] = lat[rows], (lon[cols] + 180.0) % 360.0 - 180.0
    if problems:
        raise DataError("; ".join(m for _, m in problems.items))
    return out


def read_amsr2(
    paths: PathsLike,
    *,
    time: TimeLike = None,
    bbox: Sequence[float] | None = None,
    frequencies: Sequence[float] | None = None,
    variables: Sequence[str] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read AMSR2 L3 daily TB (and/or SM) files into the ``amsr2_tb`` / ``amsr2_sm`` layout.

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        ``GW1AM2_*_01D_EQM[AD]_L3SG*.h5`` files or folders.
    time : (start, end), optional
        Inclusive day range (file-name dates).
    bbox : (south, north, west, east), optional
        Keep cells whose centres lie inside (degrees, −180…180).
    frequencies : sequence of float, optional
        GHz channels to keep (default every channel found, e.g. 6.925, 7.3, 10.65).
    variables, chunks
        Output variables to keep; dask chunks.

    Returns
    -------
    xr.Dataset
        ``tbh_asc``, ``tbv_asc``, ``tbh_desc``, ``tbv_desc`` : (time, frequency, lat, lon), K, and
        ``flag_asc``/``flag_desc`` (all 0: L3 TB files carry no quality flags) from TB files;
        ``sm_asc``, ``sm_desc`` : (time, lat, lon), m3 m-3 from SMC files. Latitude ascends,
        longitude in −180…180.

    Notes
    -----
    JAXA daily files are UTC days: the descending 01:30 local pass over Qinghai (≈ 19:00 UTC of
    the previous day) is in the previous day's file. The reader keeps the file date.
    """
    files = resolve_paths(paths, ("GW1AM2_*_01D_EQM*_L3SG*.h5",), "AMSR2", _EXAMPLE)
    problems = Problems("AMSR2")
    infos: dict[Path, dict[str, Any]] = {}
    for p in files:
        try:
            infos[p] = _parse(p)
        except DataError as exc:
            problems.add(p, str(exc))
    problems.raise_if_any(len(files))
    if frequencies is not None:
        wanted = [float(f) for f in frequencies]
        found = sorted({i["freq"] for i in infos.values() if i["kind"] == "tb"})
        missing = [f for f in wanted if not np.isclose(found, f).any()] if found else wanted
        if missing:
            raise DataError(f"AMSR2 frequencies {missing} GHz have no file; files found for {found}")
        infos = {p: i for p, i in infos.items() if i["kind"] == "sm" or np.isclose(wanted, i["freq"]).any()}
    files = sorted(infos)
    keep = select_time(files, [(infos[p]["day"], infos[p]["day"]) for p in files], time, "AMSR2")
    files = [files[i] for i in keep]
    results = run_per_file(files, problems, lambda p: _read_one(p, infos[p], bbox))
    problems.raise_if_any(len(files))
    days = sorted({infos[p]["day"] for p in files})
    freqs = sorted({infos[p]["freq"] for p in files if infos[p]["kind"] == "tb"})
    lat, lon = results[0]["lat"], results[0]["lon"]
    shape = (len(days), lat.size, lon.size)
    t_index = {d: i for i, d in enumerate(days)}
    cubes: dict[str, np.ndarray] = {}
    for p, res in zip(files, results, strict=True):
        info = infos[p]
        if res["lat"].size != lat.size or res["lon"].size != lon.size:
            raise DataError(f"AMSR2 file {p} is on a {info['res']}° grid unlike {files[0].name}; expected one grid per call")
        t = t_index[info["day"]]
        o = info["orbit"]
        if info["kind"] == "tb":
            k = freqs.index(info["freq"])
            for pol in ("h", "v"):
                cube = cubes.setdefault(f"tb{pol}_{o}", np.full((shape[0], len(freqs), *shape[1:]), np.nan, np.float32))
                cube[t, k] = res[pol]
        else:
            cubes.setdefault(f"sm_{o}", np.full(shape, np.nan, np.float32))[t] = res["sm"]
    data_vars: dict[str, Any] = {}
    for o, label in (("asc", "ascending 13:30"), ("desc", "descending 01:30")):
        if freqs:
            for pol in ("h", "v"):
                cube = cubes.get(f"tb{pol}_{o}", np.full((shape[0], len(freqs), *shape[1:]), np.nan, np.float32))
                data_vars[f"tb{pol}_{o}"] = (("time", "frequency", "lat", "lon"), cube, cf_attrs("tb", long_name=f"AMSR2 {pol.upper()}-pol brightness temperature, {label}"))
            data_vars[f"flag_{o}"] = (
                ("time", "lat", "lon"), np.zeros(shape, np.uint8),
                {**FLAG_ATTRS, "long_name": f"quality flags, {label}", "comment": "AMSR2 L3 TB files carry no quality flags; all 0"},
            )
        if any(infos[p]["kind"] == "sm" for p in files):
            data_vars[f"sm_{o}"] = (("time", "lat", "lon"), cubes.get(f"sm_{o}", np.full(shape, np.nan, np.float32)), cf_attrs("sm", long_name=f"AMSR2 L3 soil moisture, {label}"))
    ds = xr.Dataset(data_vars, coords=coords(days, lat, lon, freqs if freqs else None))
    return finish(ds, "AMSR2 L3", files, variables, chunks, reader="read_amsr2")
