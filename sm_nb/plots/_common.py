"""Helpers shared by the interactive (holoviews) and static (matplotlib) figures.

Colour maps by units, colour-bar labels, colour limits, the (lat, lon) field check and the
sites table check used by both :mod:`sm_nb.plots.interactive` and :mod:`sm_nb.plots.static`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..conventions import LAT, LON, TIME
from ..exceptions import DataError

#: default colour maps by units (or variable name fragments)
DEFAULT_CMAPS: dict[str, str] = {
    "m3 m-3": "YlGnBu",
    "K": "inferno",
    "dB": "cividis",
    "m": "gist_earth",
    "degree": "viridis",
    "mm d-1": "Blues",
    "1": "viridis",
}
ORBIT_SUFFIXES = ("asc", "desc")
_MAX_PIXELS = 400_000  # display-only coarsening above this many map pixels


def colorbar_label(da: xr.DataArray) -> str:
    """``"<name> [<units>]"`` from ``da.name`` and ``da.attrs['units']`` (units ``?`` if absent)."""
    return f"{da.name or 'value'} [{da.attrs.get('units', '?')}]"


def _is_regular(values: np.ndarray) -> bool:
    if values.size < 3:
        return True
    d = np.diff(values)
    return bool(np.allclose(d, d[0], rtol=1e-4, atol=1e-9))


def _map_field(da: xr.DataArray) -> xr.DataArray:
    """Squeeze length-1 extra dims; refuse anything but (lat, lon)."""
    missing = [d for d in (LAT, LON) if d not in da.dims]
    if missing:
        raise DataError(f"map input {da.name!r} lacks dimension(s) {missing}; it has {tuple(da.dims)}, expected ('lat', 'lon')")
    extra = [d for d in da.dims if d not in (LAT, LON)]
    long_extra = {d: da.sizes[d] for d in extra if da.sizes[d] > 1}
    if long_extra:
        raise DataError(
            f"map input {da.name!r} has extra dimension(s) {long_extra}; select one value first, "
            f"e.g. da.isel({next(iter(long_extra))}=0) or da.sel(time='2017-07-15')"
        )
    if extra:
        da = da.squeeze(extra, drop=False)
    return da.transpose(LAT, LON)


def _default_title(da: xr.DataArray) -> str:
    """``long_name`` (or name) plus the selected date and frequency, if any."""
    title = str(da.attrs.get("long_name", da.name or ""))
    for d in (TIME, "frequency"):
        if d in da.coords and da[d].size == 1:
            v = da[d].values
            title += f", {pd.Timestamp(v).date()}" if d == TIME else f", {float(v):g} GHz"
    return title


def _site_frame(gdf: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(gdf).drop(columns=[c for c in ("geometry",) if c in gdf.columns])
    if "name" not in df.columns:
        df = df.reset_index()
    missing = [c for c in ("name", LAT, LON) if c not in df.columns]
    if missing:
        raise DataError(f"sites table lacks column(s) {missing}; it has {list(df.columns)}, expected name, lat, lon")
    if "kind" not in df.columns:
        df["kind"] = "site"
    return df


def _shared_clim(fields: Sequence[xr.DataArray], q: tuple[float, float] = (2, 98)) -> tuple[float, float] | None:
    vals = np.concatenate([np.asarray(f.values, dtype=float).ravel() for f in fields])
    vals = vals[np.isfinite(vals)]
    if not vals.size:
        return None
    lo, hi = np.percentile(vals, q)
    return (float(lo), float(hi)) if hi > lo else (float(lo) - 1e-6, float(hi) + 1e-6)


_CORR = {"cmap": "RdBu", "clim": (-1.0, 1.0)}


def _panel_style(da: xr.DataArray) -> dict[str, Any]:
    """Correlation maps on a fixed diverging scale; everything else by units."""
    return dict(_CORR) if str(da.name).endswith("rho_temporal") else {}
