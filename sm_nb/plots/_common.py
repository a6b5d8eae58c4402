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


# ---------------------------------------------------------------------------------------------
# categorical fields (CF flag_values / flag_meanings, flag_masks)
# ---------------------------------------------------------------------------------------------
#: colours for class names that have an obvious one (land cover); other classes take the
#: qualitative palette :data:`CATEGORY_PALETTE` in order
CLASS_COLORS: dict[str, str] = {
    "water": "#2b6cc4", "water_bodies": "#2b6cc4", "playa": "#e8e0d0", "barren": "#c8a36b",
    "snow_ice": "#f4fbff", "permanent_snow_and_ice": "#f4fbff", "desert_steppe": "#dcc98a",
    "open_shrublands": "#dcc98a", "alpine_steppe": "#b5cf6b", "grasslands": "#b5cf6b",
    "alpine_meadow": "#4f9a43", "forest": "#1d5e2a", "evergreen_needleleaf_forest": "#1d5e2a",
    "cropland": "#e5862d", "croplands": "#e5862d", "none": "#f0f0f0",
}
#: qualitative palette (Tableau 10, then its light variants) for classes without a colour above
CATEGORY_PALETTE: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d", "#f1ce63",
)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split()]
    return list(np.atleast_1d(np.asarray(value)).tolist())


def categories(da: xr.DataArray) -> dict[int, str] | None:
    """Class code → name of a categorical field, from its CF attributes; ``None`` if continuous.

    ``flag_values`` + ``flag_meanings`` (a class map, e.g. land cover) give one class per value.
    ``flag_masks`` + ``flag_meanings`` (bit flags, e.g. quality flags) give one class per
    combination present in the data, named by its set bits joined with ``+`` (``none`` for 0).
    """
    meanings = da.attrs.get("flag_meanings")
    if meanings is None:
        return None
    names = _as_list(meanings)
    if "flag_values" in da.attrs:
        values = [int(v) for v in _as_list(da.attrs["flag_values"])]
        if len(values) != len(names):
            raise DataError(f"{da.name!r}: {len(values)} flag_values but {len(names)} flag_meanings; expected as many")
        return dict(zip(values, names, strict=True))
    if "flag_masks" in da.attrs:
        masks = [int(v) for v in _as_list(da.attrs["flag_masks"])]
        if len(masks) != len(names):
            raise DataError(f"{da.name!r}: {len(masks)} flag_masks but {len(names)} flag_meanings; expected as many")
        vals = np.asarray(da.values, dtype=float)
        present = sorted({int(v) for v in np.unique(vals[np.isfinite(vals)])})
        return {v: "+".join(n for m, n in zip(masks, names, strict=True) if v & m) or "none" for v in present}
    return None


def category_colors(classes: dict[int, str]) -> list[str]:
    """One colour per class (in code order): :data:`CLASS_COLORS` by name, else the palette."""
    spare = iter(CATEGORY_PALETTE * (1 + len(classes) // len(CATEGORY_PALETTE)))
    return [CLASS_COLORS.get(name) or next(spare) for _, name in sorted(classes.items())]


def encode_categories(da: xr.DataArray, classes: dict[int, str]) -> xr.DataArray:
    """Class codes → positions 0 … n−1 in code order (NaN for missing or unknown codes), attrs kept.

    Plots draw the positions with one colour each and label them with the class names, so the
    interactive and the static map of a class field show the same colours and names.
    """
    codes = sorted(classes)
    vals = np.asarray(da.values, dtype=float)
    out = np.full(vals.shape, np.nan)
    for k, code in enumerate(codes):
        out[vals == code] = k
    return da.copy(data=out)


def geographic_aspect(da: xr.DataArray) -> float:
    """Screen height/width of one degree of latitude per degree of longitude: 1 / cos(mean latitude)."""
    lat = np.asarray(da[LAT].values, dtype=float)
    return float(1.0 / max(np.cos(np.deg2rad(np.nanmean(lat))), 0.1))
