"""SMAP radiometer files: L3_SM_P (SPL3SMP, daily 36 km grid) and L1C_TB (half-orbit, gridded cells).

Both are HDF5 read with h5py. The output is the layout of the synthetic ``smap_tb`` /
``smap_sm`` stores: ``tbh_asc``, ``tbv_asc``, ``tbh_desc``, ``tbv_desc`` (time, frequency, lat,
lon) in K, ``flag_asc``/``flag_desc`` (sm_nb flag bits) and, from L3 files, ``sm_asc``/``sm_desc``.

Layout facts used here (``shared/reference/data_formats.md`` §1): the L3 ``AM`` group is the
descending 06:00 pass, the ``PM`` group the ascending 18:00 pass and every PM variable carries a
``_pm`` suffix; 2-D arrays are the EASE-Grid 2.0 M36 (406 × 964) or M09 grid; floats use
``_FillValue`` −9999, flags are uint16 with fill 65534. The file's own ``latitude``/``longitude``
hold −9999 where no retrieval exists, so the grid is computed from EASE-Grid 2.0 instead.
"""

from __future__ import annotations

import re
import warnings
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
from ._grids import EASE2_GRIDS, ease2_centres, ease2_which, read_window, window

__all__ = [
    "read_smap",
    "SMAP_L3_NAME",
    "SMAP_L1C_NAME",
    "SURFACE_FLAG_BITS",
    "TB_QUAL_RFI_BIT",
    "SMAP_EPOCH",
    "FLAG_ATTRS",
]

SMAP_L3_NAME = re.compile(r"^SMAP_L3_SM_P(?:_E)?_(\d{8})_R(\d+)_(\d+)\.h5$")
SMAP_L1C_NAME = re.compile(r"^SMAP_L1C_TB_(\d{5})_([AD])_(\d{8})T(\d{6})_R(\d+)_(\d+)\.h5$")
#: SMAP J2000 epoch of ``tb_time_seconds`` (UTC)
SMAP_EPOCH = pd.Timestamp("2000-01-01 11:58:55.816")
#: sm_nb flag bit → SMAP ``surface_flag`` bits (L2/L3_SM_P product specification; [T])
SURFACE_FLAG_BITS: dict[int, tuple[int, ...]] = {
    1: (7, 8),  # frozen ground (radiometer-derived, model-based)
    2: (5, 6),  # snow or ice, permanent snow or ice
    4: (0, 1),  # static water body, radar-derived water body
    16: (9,),  # mountainous terrain
    32: (10,),  # dense vegetation
}
#: bit of ``tb_qual_flag_h|v`` (L3) and ``cell_tb_qual_flag_*`` (L1C) set when RFI was detected ([T])
TB_QUAL_RFI_BIT = 2
FLAG_FILL = 65534
FLOAT_FILL = -9999.0
FLAG_ATTRS = {
    "flag_masks": [1, 2, 4, 8, 16, 32],
    "flag_meanings": "frozen snow water_fraction_gt_0.05 rfi_detected mountainous vwc_gt_5",
    "units": "1",
}
_GROUPS = {"desc": ("Soil_Moisture_Retrieval_Data_AM", ""), "asc": ("Soil_Moisture_Retrieval_Data_PM", "_pm")}
_L3_VARS = {"tbh": "tb_h_corrected", "tbv": "tb_v_corrected", "sm": "soil_moisture"}
_EXAMPLE = "SMAP_L3_SM_P_20170401_R16515_001.h5"
FREQUENCY_GHZ = 1.41


def _file_period(path: Path) -> tuple[pd.Timestamp, pd.Timestamp]:
    m = SMAP_L3_NAME.match(path.name)
    if m:
        day = pd.Timestamp(m.group(1))
        return day, day
    m = SMAP_L1C_NAME.match(path.name)
    if m:  # a half orbit may belong to the previous or next local day
        day = pd.Timestamp(m.group(3))
        return day - pd.Timedelta(days=1), day + pd.Timedelta(days=1)
    raise DataError(
        f"file name {path.name!r} is not a SMAP L3_SM_P or L1C_TB name; expected e.g. {_EXAMPLE!r} or "
        "'SMAP_L1C_TB_04877_A_20151231T001615_R12240_001.h5'"
    )


def _flags_from_surface(surface: np.ndarray) -> np.ndarray:
    s = surface.astype(np.uint32)
    out = np.zeros(s.shape, dtype=np.uint8)
    for bit, smap_bits in SURFACE_FLAG_BITS.items():
        hit = np.zeros(s.shape, dtype=bool)
        for b in smap_bits:
            hit |= (s >> b) & 1 == 1
        out[hit] |= bit
    out[surface == FLAG_FILL] = 0
    return out


def _rfi(qual: np.ndarray) -> np.ndarray:
    q = qual.astype(np.uint32)
    return ((q >> TB_QUAL_RFI_BIT) & 1 == 1) & (qual != FLAG_FILL)


def _dataset(f: Any, group: str, name: str, path: Path) -> Any:
    g = f[group] if group else f
    if name not in g:
        raise DataError(f"variable {name!r} missing from group {group or '/'!r}; expected SMAP datasets such as {sorted(g)[:8]}")
    return g[name]


def _read_l3(path: Path, bbox: Any) -> dict[str, Any]:
    import h5py

    with h5py.File(path, "r") as f:
        if _GROUPS["desc"][0] not in f:
            raise DataError(
                f"group {_GROUPS['desc'][0]!r} missing; expected a SMAP L3_SM_P file with groups "
                f"{[g for g, _ in _GROUPS.values()]} (it has {sorted(f)})"
            )
        shape = f[_GROUPS["desc"][0]][_L3_VARS["tbh"]].shape if _L3_VARS["tbh"] in f[_GROUPS["desc"][0]] else None
        which = ease2_which(shape) if shape else None
        if which is None:
            raise DataError(
                f"variable {_L3_VARS['tbh']!r} in {_GROUPS['desc'][0]!r} has shape {shape}; expected an EASE-Grid 2.0 "
                f"grid {[(r, c) for _, c, r in EASE2_GRIDS.values()]}"
            )
        lat_rows, lon_cols = ease2_centres(which)
        rows, cols = window(lat_rows, lon_cols, bbox)
        out: dict[str, Any] = {"lat": lat_rows[rows], "lon": lon_cols[cols], "which": which}
        for orbit, (group, suffix) in _GROUPS.items():
            if group not in f:  # early product versions have one overpass group only
                out[orbit] = None
                continue
            fields: dict[str, np.ndarray] = {}
            for key, base in _L3_VARS.items():
                d = _dataset(f, group, base + suffix, path)
                if d.shape != shape:
                    raise DataError(f"variable {group}/{base + suffix} has shape {d.shape}; expected {shape} like {_L3_VARS['tbh']}")
                fill = attr(d.attrs, "_FillValue", default=FLOAT_FILL)
                valid = (0.0, 400.0) if key != "sm" else None
                fields[key] = decode(read_window(d, rows, cols), fills=(fill, FLOAT_FILL), valid=valid)
            flag = _flags_from_surface(read_window(_dataset(f, group, "surface_flag" + suffix, path), rows, cols))
            rfi = np.zeros(flag.shape, dtype=bool)
            for pol in ("h", "v"):
                name = f"tb_qual_flag_{pol}{suffix}"
                if name in f[group]:
                    rfi |= _rfi(read_window(f[group][name], rows, cols))
            flag[rfi] |= 8
            fields["flag"] = flag
            out[orbit] = fields
    return out


def _read_l1c(path: Path, bbox: Any) -> dict[str, Any]:
    import h5py

    m = SMAP_L1C_NAME.match(path.name)
    orbit = "asc" if m and m.group(2) == "A" else "desc"
    group = "Global_Projection"
    with h5py.File(path, "r") as f:
        if group not in f:
            raise DataError(f"group {group!r} missing; expected a SMAP L1C_TB file (it has {sorted(f)})")
        g = f[group]
        need = ["cell_row", "cell_column", "cell_lon", "cell_tb_time_seconds_aft"]
        need += [f"cell_tb_{p}_{look}" for p in "hv" for look in ("fore", "aft")]
        missing = [n for n in need if n not in g]
        if missing:
            raise DataError(f"variable(s) {missing} missing from group {group!r}; expected {need}")
        row = np.asarray(g["cell_row"][:]).astype(np.int64)
        col = np.asarray(g["cell_column"][:]).astype(np.int64)
        lon = decode(g["cell_lon"][:], fills=(FLOAT_FILL,))
        secs = decode(g["cell_tb_time_seconds_aft"][:].astype(np.float64), fills=(FLOAT_FILL,)).astype(np.float64)
        tb = {}
        for p in "hv":
            looks = [decode(g[f"cell_tb_{p}_{look}"][:], fills=(attr(g[f"cell_tb_{p}_{look}"].attrs, "_FillValue", default=FLOAT_FILL), FLOAT_FILL), valid=(0.0, 400.0)) for look in ("fore", "aft")]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
                tb[p] = np.nanmean(np.stack(looks), axis=0)
        rfi = np.zeros(row.shape, dtype=bool)
        for p in "hv":
            for look in ("fore", "aft"):
                name = f"cell_tb_qual_flag_{p}_{look}"
                if name in g:
                    rfi |= _rfi(np.asarray(g[name][:]))
    lat_rows, lon_cols = ease2_centres("M36")
    rows, cols = window(lat_rows, lon_cols, bbox)
    # local solar day of each cell (sm_nb labels a pass with the local day it is observed on)
    local = SMAP_EPOCH + pd.to_timedelta(secs + np.nan_to_num(lon) / 15.0 * 3600.0, unit="s")
    days = pd.DatetimeIndex(local).normalize()
    return {"orbit": orbit, "row": row, "col": col, "days": days, "tbh": tb["h"], "tbv": tb["v"], "rfi": rfi,
            "lat": lat_rows[rows], "lon": lon_cols[cols], "rows": rows, "cols": cols}


def _assemble(times: list[pd.Timestamp], lat: np.ndarray, lon: np.ndarray, cubes: dict[str, np.ndarray]) -> xr.Dataset:
    data_vars = {}
    for orbit, label in (("asc", "ascending"), ("desc", "descending")):
        for pol in ("h", "v"):
            data_vars[f"tb{pol}_{orbit}"] = (
                ("time", "frequency", "lat", "lon"), cubes[f"tb{pol}_{orbit}"][:, None],
                cf_attrs("tb", long_name=f"SMAP {pol.upper()}-pol brightness temperature (corrected), {label}"),
            )
        data_vars[f"flag_{orbit}"] = (("time", "lat", "lon"), cubes[f"flag_{orbit}"], {**FLAG_ATTRS, "long_name": f"quality flags, {label}"})
        if f"sm_{orbit}" in cubes:
            data_vars[f"sm_{orbit}"] = (("time", "lat", "lon"), cubes[f"sm_{orbit}"], cf_attrs("sm", long_name=f"SMAP L3 soil moisture, {label}"))
    return xr.Dataset(data_vars, coords=coords(times, lat, lon, [FREQUENCY_GHZ]))


def read_smap(
    paths: PathsLike,
    *,
    time: TimeLike = None,
    bbox: Sequence[float] | None = None,
    variables: Sequence[str] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read SMAP L3_SM_P daily files or L1C_TB half-orbit files into the ``smap_tb`` layout.

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        Files (``SMAP_L3_SM_P_YYYYMMDD_R*.h5`` or ``SMAP_L1C_TB_*_A|D_*.h5``) or folders.
    time : (start, end), optional
        Keep the days in this inclusive range (UTC dates of the file names).
    bbox : (south, north, west, east), optional
        Keep EASE-Grid 2.0 cells whose centres lie inside (degrees); default the whole grid.
    variables : sequence of str, optional
        Output variables to keep (e.g. ``["sm_asc", "sm_desc"]`` for the ``smap_sm`` entry).
    chunks : dict, optional
        Dask chunks of the result.

    Returns
    -------
    xr.Dataset
        ``tbh_asc``, ``tbv_asc``, ``tbh_desc``, ``tbv_desc`` : (time, frequency, lat, lon), K;
        ``flag_asc``, ``flag_desc`` : (time, lat, lon), uint8 sm_nb flag bits (1 frozen, 2 snow,
        4 water, 8 RFI, 16 mountainous, 32 dense vegetation); from L3 files also ``sm_asc``,
        ``sm_desc`` : (time, lat, lon), m3 m-3. Latitude ascends.

    Raises
    ------
    DataError
        Naming every bad file (wrong name, missing group or variable, unexpected grid shape,
        truncated container), or when no file matches or none falls in ``time``.

    Notes
    -----
    AM (descending, 06:00) and PM (ascending, 18:00) are kept apart, as in the paper's Table 1.
    L3 soil moisture is not masked by its ``valid_min``/``valid_max`` (0.02–0.5): only
    ``_FillValue`` marks missing data. L1C fore and aft looks are averaged; each cell is
    labelled with its local solar day (UTC + lon/15), several half orbits of a day are averaged.
    L1C files carry no surface flags, so only the RFI bit (8) can be set from them.
    """
    files = resolve_paths(paths, ("SMAP_L3_SM_P_*.h5", "SMAP_L1C_TB_*.h5"), "SMAP", _EXAMPLE)
    problems = Problems("SMAP")
    periods = []
    good = []
    for p in files:
        try:
            periods.append(_file_period(p))
            good.append(p)
        except DataError as exc:
            problems.add(p, str(exc))
    problems.raise_if_any(len(files))
    keep = select_time(good, periods, time, "SMAP")
    files = [good[i] for i in keep]
    l3 = [p for p in files if SMAP_L3_NAME.match(p.name)]
    l1c = [p for p in files if SMAP_L1C_NAME.match(p.name)]
    if l3 and l1c:
        raise DataError(f"SMAP paths mix {len(l3)} L3_SM_P and {len(l1c)} L1C_TB files; expected one layout per call")
    ds = _read_l3_files(l3, bbox, problems, time) if l3 else _read_l1c_files(l1c, bbox, problems, time)
    return finish(ds, "SMAP L3_SM_P" if l3 else "SMAP L1C_TB", files, variables, chunks, reader="read_smap")


def _read_l3_files(files: list[Path], bbox: Any, problems: Problems, time: TimeLike) -> xr.Dataset:
    by_day: dict[pd.Timestamp, Path] = {}
    for p in files:  # one file per day: the latest release (names sort by CRID) wins
        by_day[pd.Timestamp(SMAP_L3_NAME.match(p.name).group(1))] = p
    days = sorted(by_day)
    results = run_per_file([by_day[d] for d in days], problems, lambda p: _read_l3(p, bbox))
    problems.raise_if_any(len(files))
    lat, lon = results[0]["lat"], results[0]["lon"]
    ny, nx = lat.size, lon.size
    cubes: dict[str, np.ndarray] = {}
    for orbit in ("asc", "desc"):
        for key in ("tbh", "tbv", "sm"):
            cubes[f"{key}_{orbit}"] = np.full((len(days), ny, nx), np.nan, np.float32)
        cubes[f"flag_{orbit}"] = np.zeros((len(days), ny, nx), np.uint8)
    for t, res in enumerate(results):
        if res["lat"].size != ny or res["lon"].size != nx:
            raise DataError(f"SMAP file {by_day[days[t]]} is on grid {res['which']}, unlike the first file; expected one grid per call")
        for orbit in ("asc", "desc"):
            if res[orbit] is None:
                continue
            for key, arr in res[orbit].items():
                cubes[f"{key}_{orbit}"][t] = arr
    return _assemble(days, lat, lon, cubes)


def _read_l1c_files(files: list[Path], bbox: Any, problems: Problems, time: TimeLike) -> xr.Dataset:
    from ._common import parse_time_range

    results = run_per_file(files, problems, lambda p: _read_l1c(p, bbox))
    problems.raise_if_any(len(files))
    lat, lon, rows, cols = results[0]["lat"], results[0]["lon"], results[0]["rows"], results[0]["cols"]
    _, ncol, nrow = EASE2_GRIDS["M36"]
    # flat M36 index → position in the output window
    pos = np.full(nrow * ncol, -1, dtype=np.int64)
    pos[(rows[:, None] * ncol + cols[None, :]).ravel()] = np.arange(rows.size * cols.size)
    all_days = sorted({d for r in results for d in r["days"].unique() if not pd.isna(d)})
    rng = parse_time_range(time)
    if rng is not None:
        all_days = [d for d in all_days if rng[0] <= d <= rng[1]]
    if not all_days:
        raise DataError(f"no SMAP L1C_TB observation falls in the time range {time} inside bbox {bbox}")
    index = {d: i for i, d in enumerate(all_days)}
    size = len(all_days) * lat.size * lon.size
    acc = {f"{k}_{o}": (np.zeros(size), np.zeros(size)) for k in ("tbh", "tbv") for o in ("asc", "desc")}
    rfi = {o: np.zeros(size, dtype=bool) for o in ("asc", "desc")}
    for r in results:
        ok = (r["row"] >= 0) & (r["row"] < nrow) & (r["col"] >= 0) & (r["col"] < ncol)
        cell = np.full(r["row"].shape, -1, dtype=np.int64)
        cell[ok] = pos[r["row"][ok] * ncol + r["col"][ok]]
        t = np.array([index.get(d, -1) if not pd.isna(d) else -1 for d in r["days"]], dtype=np.int64)
        flat = np.where((cell >= 0) & (t >= 0), t * lat.size * lon.size + cell, -1)
        sel = flat >= 0
        for key in ("tbh", "tbv"):
            s, n = acc[f"{key}_{r['orbit']}"]
            v = r[key]
            good = sel & np.isfinite(v)
            np.add.at(s, flat[good], v[good])
            np.add.at(n, flat[good], 1.0)
        rfi[r["orbit"]][flat[sel & r["rfi"]]] = True
    shape = (len(all_days), lat.size, lon.size)
    cubes: dict[str, np.ndarray] = {}
    for key, (s, n) in acc.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            cubes[key] = np.where(n > 0, s / np.maximum(n, 1), np.nan).astype(np.float32).reshape(shape)
    for o in ("asc", "desc"):
        cubes[f"flag_{o}"] = np.where(rfi[o], 8, 0).astype(np.uint8).reshape(shape)
    return _assemble(all_days, lat, lon, cubes)
