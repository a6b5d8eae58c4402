"""Station soil moisture and rain-gauge records: the ISMN format and a plain CSV.

ISMN [V] (``shared/reference/data_formats.md`` §9): one ``.stm`` file per station, variable,
depth and sensor, named ``<NET>_<NET>_<STATION>_<var>_<from>_<to>_<SENSOR>_<start>_<end>.stm``;
"header + values" files start with a line ``network network station lat lon elevation from to
sensor`` followed by ``YYYY/MM/DD HH:MM value flag orig_flag`` lines; "CEOP separate" files
repeat the site columns on every line. Line endings vary (``\\r``, ``\\r\\n``), so files are read
with universal newlines and whitespace splitting. ISMN variables ``sm`` (m3 m-3) and ``p``
(precipitation, mm per interval) become ``sm`` and ``precipitation``; times are UTC.

Plain CSV: one row per station and time with columns ``station``, ``time`` and value columns
named like the output variables (``sm``, ``precipitation``), optionally ``lat``, ``lon``,
``elevation``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..conventions import COORD_ATTRS, cf_attrs
from ..exceptions import DataError
from ._common import (
    UTC_NOTE,
    PathsLike,
    Problems,
    TimeLike,
    finish,
    parse_time_range,
    resolve_paths,
    run_per_file,
    select_time,
)

__all__ = ["read_ismn", "read_station_csv", "ISMN_VARIABLES", "BAD_FLAG_PREFIXES", "ismn_file_name"]

#: ISMN variable code → (sm_nb variable, daily aggregation, CF kind)
ISMN_VARIABLES: dict[str, tuple[str, str, str]] = {"sm": ("sm", "mean", "sm"), "p": ("precipitation", "sum", "precipitation")}
#: ISMN quality flags that mark a value as bad (C: range checks, D: plausibility checks)
BAD_FLAG_PREFIXES = ("C", "D")
_DATE = re.compile(r"^\d{4}/\d{2}/\d{2}$")


def ismn_file_name(network: str, station: str, var: str, depth_from: float, depth_to: float, sensor: str, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """ISMN file name of one record (depths in metres with 6 decimals)."""
    return f"{network}_{network}_{station}_{var}_{depth_from:.6f}_{depth_to:.6f}_{sensor}_{start:%Y%m%d}_{end:%Y%m%d}.stm"


def _parse_name(path: Path) -> dict[str, Any]:
    parts = path.name[: -len(".stm")].split("_")
    if len(parts) < 9 or not path.name.endswith(".stm"):
        raise DataError("file name is not an ISMN name; expected '<NET>_<NET>_<STATION>_<var>_<from>_<to>_<SENSOR>_<YYYYMMDD>_<YYYYMMDD>.stm'")
    try:
        return {
            "station": parts[2], "var": parts[3], "depth_from": float(parts[4]), "depth_to": float(parts[5]),
            "sensor": "_".join(parts[6:-2]), "start": pd.Timestamp(parts[-2]), "end": pd.Timestamp(parts[-1]),
        }
    except ValueError:
        raise DataError(f"ISMN name fields {parts[4:6] + parts[-2:]} are not depths (m) and dates (YYYYMMDD)") from None


def _read_stm(path: Path) -> dict[str, Any]:
    text = path.read_text(errors="replace")  # universal newlines: \r, \r\n and \n all split lines
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DataError("is empty; expected an ISMN header line and 'YYYY/MM/DD HH:MM value flag orig_flag' lines")
    first = lines[0].split()
    if _DATE.match(first[0]):  # CEOP separate: site columns on every line
        rows = [ln.split() for ln in lines]
        if any(len(r) < 15 for r in rows):
            raise DataError("CEOP-format line with fewer than 15 columns; expected 'date time date time net net station lat lon elev from to value flag orig_flag'")
        lat, lon, elev = float(rows[0][7]), float(rows[0][8]), float(rows[0][9])
        frame = pd.DataFrame({"date": [r[0] for r in rows], "clock": [r[1] for r in rows], "value": [r[12] for r in rows], "flag": [r[13] for r in rows]})
    else:
        if len(first) < 8:
            raise DataError(f"header line {lines[0]!r} has {len(first)} fields; expected 'network network station lat lon elevation depth_from depth_to sensor'")
        try:
            lat, lon, elev = float(first[3]), float(first[4]), float(first[5])
        except ValueError:
            raise DataError(f"header line {lines[0]!r}: lat/lon/elevation are not numbers") from None
        frame = pd.read_csv(io.StringIO("\n".join(lines[1:])), sep=r"\s+", header=None, usecols=[0, 1, 2, 3], names=["date", "clock", "value", "flag"], dtype=str)
    try:
        times = pd.to_datetime(frame["date"] + " " + frame["clock"], format="%Y/%m/%d %H:%M")
        values = pd.to_numeric(frame["value"], errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise DataError(f"value lines do not parse ({exc}); expected 'YYYY/MM/DD HH:MM value flag orig_flag'") from None
    return {"lat": lat, "lon": lon, "elevation": elev, "times": pd.DatetimeIndex(times), "values": values, "flags": frame["flag"].fillna("").to_numpy(dtype=str)}


def _aggregate(times: pd.DatetimeIndex, values: np.ndarray, how: str | None, utc_offset: float) -> pd.Series:
    s = pd.Series(values, index=times).sort_index()
    if how is None:
        return s.groupby(level=0).mean()
    days = (s.index + pd.Timedelta(hours=utc_offset)).normalize()
    g = s.groupby(days)
    return g.mean() if how == "mean" else g.sum(min_count=1)


def _to_dataset(series: dict[str, dict[str, pd.Series]], meta: dict[str, dict[str, float]], kinds: dict[str, str], units_note: dict[str, str]) -> xr.Dataset:
    stations = sorted(meta)
    times = sorted(set().union(*(set(s.index) for per in series.values() for s in per.values())))
    if not times:
        raise DataError("no station value remains after quality-flag masking and the time range")
    index = pd.DatetimeIndex(times)
    data_vars = {}
    for var, per in series.items():
        arr = np.full((len(stations), len(index)), np.nan, np.float32)
        for i, st in enumerate(stations):
            if st in per:
                arr[i] = per[st].reindex(index).to_numpy(dtype=np.float32)
        data_vars[var] = (("station", "time"), arr, cf_attrs(kinds[var], comment=units_note.get(var, "")))
    coords = {
        "station": ("station", np.asarray(stations)),
        "name": ("station", np.asarray(stations)),
        "time": ("time", index, {**COORD_ATTRS["time"], "comment": UTC_NOTE}),
        "lat": ("station", np.array([meta[s]["lat"] for s in stations]), COORD_ATTRS["lat"]),
        "lon": ("station", np.array([meta[s]["lon"] for s in stations]), COORD_ATTRS["lon"]),
        "elevation": ("station", np.array([meta[s]["elevation"] for s in stations]), {"units": "m", "long_name": "station elevation"}),
    }
    return xr.Dataset(data_vars, coords=coords)


def read_ismn(
    paths: PathsLike,
    *,
    time: TimeLike = None,
    variables: Sequence[str] | None = None,
    depth: float | None = None,
    good_flags: Sequence[str] | None = None,
    daily: bool = False,
    utc_offset: float = 0.0,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read ISMN ``.stm`` files (header+values or CEOP separate) into (station, time) arrays.

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        ``.stm`` files or an unpacked ISMN download folder (``<NET>/<STATION>/*.stm``).
    time : (start, end), optional
        Inclusive range of days.
    variables : sequence of str, optional
        ``sm`` and/or ``precipitation`` (default: every one found).
    depth : float, optional
        Sensor depth (m) for ``sm``: keep records whose depth range contains it. Required when a
        station has several ``sm`` depths.
    good_flags : sequence of str, optional
        Keep only values whose ISMN flag is one of these (e.g. ``("G",)``); by default values
        flagged ``C…`` (range) or ``D…`` (plausibility) are masked.
    daily : bool
        Aggregate to days (mean for ``sm``, sum for ``precipitation``) shifted by ``utc_offset``.
    utc_offset : float
        Hours added to UTC to define the day (8 for Beijing time), only with ``daily``.
    chunks : dict, optional
        Dask chunks.

    Returns
    -------
    xr.Dataset
        ``sm`` (station, time), m3 m-3 and/or ``precipitation``, mm per interval (mm d-1 with
        ``daily``); coordinates ``station``, ``name``, ``lat``, ``lon``, ``elevation``.
    """
    files = resolve_paths(paths, ("*.stm",), "ISMN", "NET_NET_STATION_sm_0.100000_0.100000_Sensor_20170101_20171231.stm")
    problems = Problems("ISMN")
    wanted_codes = {code for code, (name, _, _) in ISMN_VARIABLES.items() if variables is None or name in variables}
    if variables is not None:
        unknown = [v for v in variables if v not in {n for n, _, _ in ISMN_VARIABLES.values()}]
        if unknown:
            raise DataError(f"ISMN variables {unknown} are not supported; expected a subset of {[n for n, _, _ in ISMN_VARIABLES.values()]}")
    names: dict[Path, dict[str, Any]] = {}
    for p in files:
        try:
            info = _parse_name(p)
        except DataError as exc:
            problems.add(p, str(exc))
            continue
        if info["var"] in wanted_codes and (depth is None or info["var"] != "sm" or info["depth_from"] - 1e-9 <= depth <= info["depth_to"] + 1e-9):
            names[p] = info
    problems.raise_if_any(len(files))
    if not names:
        raise DataError(f"no ISMN file holds variable codes {sorted(wanted_codes)}" + (f" at depth {depth} m" if depth is not None else "") + f" among {len(files)} file(s)")
    files = sorted(names)
    files = [files[i] for i in select_time(files, [(names[p]["start"], names[p]["end"]) for p in files], time, "ISMN")]
    depths: dict[tuple[str, str], set] = {}
    for p in files:
        depths.setdefault((names[p]["station"], names[p]["var"]), set()).add((names[p]["depth_from"], names[p]["depth_to"]))
    multi = {k: sorted(v) for k, v in depths.items() if k[1] == "sm" and len(v) > 1}
    if multi:
        raise DataError(f"stations have several soil-moisture depths {multi}; expected one — pass depth= (m)")
    results = run_per_file(files, problems, _read_stm)
    problems.raise_if_any(len(files))
    rng = parse_time_range(time)
    series: dict[str, dict[str, list[pd.Series]]] = {}
    meta: dict[str, dict[str, float]] = {}
    for p, r in zip(files, results, strict=True):
        info = names[p]
        var, how, _ = ISMN_VARIABLES[info["var"]]
        flags = r["flags"]
        bad = ~np.isin(flags, list(good_flags)) if good_flags is not None else np.char.startswith(flags.astype(str), BAD_FLAG_PREFIXES[0]) | np.char.startswith(flags.astype(str), BAD_FLAG_PREFIXES[1])
        values = np.where(bad, np.nan, r["values"])
        s = _aggregate(r["times"], values, how if daily else None, utc_offset)
        if rng is not None:
            s = s[(s.index >= rng[0]) & (s.index < rng[1] + pd.Timedelta(days=1))]
        series.setdefault(var, {}).setdefault(info["station"], []).append(s)
        meta.setdefault(info["station"], {"lat": r["lat"], "lon": r["lon"], "elevation": r["elevation"]})
    merged = {var: {st: pd.concat(parts, axis=1).mean(axis=1) for st, parts in per.items()} for var, per in series.items()}
    kinds = {ISMN_VARIABLES[c][0]: ISMN_VARIABLES[c][2] for c in ISMN_VARIABLES}
    notes = {"precipitation": "mm d-1 (daily sum)" if daily else "mm per record interval", "sm": "ISMN sensor depth range in the file names"}
    ds = _to_dataset(merged, meta, kinds, notes)
    if "precipitation" in ds and not daily:
        ds["precipitation"].attrs["units"] = "mm"
    return finish(ds, "ISMN", files, None, chunks, reader="read_ismn")


def read_station_csv(
    paths: PathsLike,
    *,
    time: TimeLike = None,
    variables: Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    daily: bool = False,
    utc_offset: float = 0.0,
    sites: Mapping[str, Mapping[str, float]] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read plain CSV station records (long format) into (station, time) arrays.

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        ``.csv`` files or folders.
    time : (start, end), optional
        Inclusive range of days.
    variables : sequence of str, optional
        Output variables (``sm``, ``precipitation``) to keep (default: those present).
    columns : mapping, optional
        CSV column → standard column (``station``, ``time``, ``lat``, ``lon``, ``elevation``,
        ``sm``, ``precipitation``), e.g. ``{"site": "station", "SM10": "sm"}``.
    units : mapping, optional
        Units of the value columns: ``sm`` in ``"%"`` is divided by 100.
    daily : bool
        Aggregate to days (mean for ``sm``, sum for ``precipitation``), shifted by ``utc_offset`` hours.
    utc_offset : float
        Hours the CSV times are ahead of UTC (8 for Beijing time); times are converted to UTC.
    sites : mapping, optional
        ``{station: {"lat":…, "lon":…, "elevation":…}}`` when the CSV has no coordinate columns.
    chunks : dict, optional
        Dask chunks.

    Returns
    -------
    xr.Dataset
        Same layout as :func:`read_ismn`.
    """
    files = resolve_paths(paths, ("*.csv",), "station CSV", "stations.csv")
    problems = Problems("station CSV")
    value_names = {n: (how, kind) for n, how, kind in ISMN_VARIABLES.values()}

    def load(p: Path) -> pd.DataFrame:
        df = pd.read_csv(p).rename(columns=dict(columns or {}))
        need = ["station", "time"]
        have_values = [c for c in value_names if c in df.columns]
        missing = [c for c in need if c not in df.columns]
        if missing or not have_values:
            raise DataError(f"columns {list(df.columns)} lack {missing or 'a value column'}; expected 'station', 'time' and one of {list(value_names)} (or map names with columns=)")
        df["time"] = pd.to_datetime(df["time"], errors="raise") - pd.Timedelta(hours=utc_offset)
        return df

    frames = run_per_file(files, problems, load)
    problems.raise_if_any(len(files))
    df = pd.concat(frames, ignore_index=True)
    rng = parse_time_range(time)
    if rng is not None:
        df = df[(df["time"] >= rng[0]) & (df["time"] < rng[1] + pd.Timedelta(days=1))]
        if df.empty:
            raise DataError(f"no station CSV record falls in the time range {rng[0].date()}..{rng[1].date()}")
    present = [c for c in value_names if c in df.columns and (variables is None or c in variables)]
    if variables is not None and (absent := [v for v in variables if v not in present]):
        raise DataError(f"station CSV lacks value column(s) {absent}; it has {list(df.columns)}")
    meta: dict[str, dict[str, float]] = {}
    for st, g in df.groupby("station"):
        site = dict((sites or {}).get(str(st), {}))
        for c in ("lat", "lon", "elevation"):
            if c in g.columns:
                site.setdefault(c, float(g[c].iloc[0]))
            site.setdefault(c, np.nan)
        meta[str(st)] = site
    series: dict[str, dict[str, pd.Series]] = {}
    for var in present:
        how, _ = value_names[var]
        factor = 0.01 if var == "sm" and (units or {}).get("sm", "").strip() in ("%", "percent") else 1.0
        for st, g in df.groupby("station"):
            vals = pd.to_numeric(g[var], errors="coerce").to_numpy(dtype=np.float64) * factor
            series.setdefault(var, {})[str(st)] = _aggregate(pd.DatetimeIndex(g["time"]), vals, how if daily else None, utc_offset if daily else 0.0)
    ds = _to_dataset(series, meta, {v: value_names[v][1] for v in present}, {})
    return finish(ds, "station CSV", files, None, chunks, reader="read_station_csv")
