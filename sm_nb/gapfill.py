"""A daily field without holes: input filling and a ranked family of networks (beyond the paper).

The paper's final network needs SMAP ascending × AMSR2 descending × ASCAT ascending × clear-sky
MODIS LST on the same day (§2.2.3); on the synthetic Qinghai scenario that leaves a few percent
of the pixel-days. Published 1 km products fill such gaps (Zhang et al. 2022, ESSD 14:651; Song et
al. 2022, ESSD 14:2613) and flag how each value was made. sm_nb does it in two steps, on the
coarse grid, without ever looking at the truth:

1. **Input filling** (:func:`fill_from_nearest_day`): a missing value of a gappy input (a
   microwave pass outside the swath, a cloudy LST) is taken from the same cell on the nearest
   day within ± ``window_days`` that has one (the earlier day on ties); a missing composite
   (NDVI, NSDSI: a cloudy or snowy 8/16-day window) from the nearest window within ± 16 days.
   Soil moisture and its proxies persist over a few days; the filled value is flagged.
2. **A ranked family of networks** (:func:`family`, :func:`rank_candidates`,
   :func:`cascade`): besides the paper's network, networks trained on the same data with one
   gappy input dropped, and one on the auxiliaries alone. Each network applied to observed
   inputs, and applied to filled inputs, is a *candidate*; candidates are ranked by their
   RMSE against CLDAS on data they were not trained on — out-of-fold (spatial block
   cross-validation) for observed inputs, on the filled pixel-days for filled inputs — and each
   pixel-day takes the best-ranked candidate whose inputs are all present. The ``provenance``
   code stored with the product is the candidate's rank (0 = best); its CF ``flag_meanings``
   name the network and whether inputs were filled.

Only open water (the product is undefined there) is excluded from the coverage; frozen soil is
reported separately (:func:`frozen_days`), because the paper's seasons already exclude the
frozen months and the networks still produce a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dask.array as dask_array
import numpy as np
import pandas as pd
import xarray as xr

from .conventions import LAT, LON, TIME
from .exceptions import DataError

__all__ = [
    "GAPPY_INPUTS",
    "COMPOSITE_INPUTS",
    "fill_from_nearest_day",
    "fill_inputs",
    "family",
    "Candidate",
    "rank_candidates",
    "cascade",
    "frozen_days",
]

#: inputs with day-to-day gaps (swaths, clouds); the others are static or composites
GAPPY_INPUTS = ("SMAP", "AMSR2", "FY3C", "ASCAT", "LST")
#: multi-day composites (MODIS 16-day VI, 8-day reflectance): gaps are whole windows, filled over ± one window
COMPOSITE_INPUTS = ("NDVI", "EVI", "NSDSI")


def _is_gappy(name: str) -> bool:
    return name.upper().split("_")[0] in GAPPY_INPUTS


def _lag_dtype(window: int) -> type:
    return np.int8 if window <= np.iinfo(np.int8).max else np.int16


def _nearest_day_kernel(a: np.ndarray, years: np.ndarray, window: int, axis: int, want: str) -> Any:
    """Nearest-day filling of one numpy block along ``axis`` (see :func:`fill_from_nearest_day`).

    For every element, the index of the last observed day at or before it and of the first at or
    after it (running maximum / minimum of the day index over observed days, within each year);
    the nearer one within ``window`` days is taken, the earlier one on ties. O(days) whatever the
    window, and one gather; only at the places with a gap in the block, unless most have one.
    ``want``: ``"value"``, ``"lag"`` or ``"both"`` (a tuple).
    """
    a = np.moveaxis(np.asarray(a), axis, 0)
    years = np.asarray(years).ravel()
    n = a.shape[0]
    out = a.copy() if want in ("value", "both") else None
    lag = np.zeros(a.shape, _lag_dtype(window)) if want in ("lag", "both") else None
    # only the places with a gap on some day of the block need the search (a fine map is mostly
    # gap-free): the others keep their values and lag 0, as the search would give them
    flat = a.reshape(n, int(np.prod(a.shape[1:], dtype=np.int64)))
    cols = np.flatnonzero(np.isnan(flat).any(axis=0))
    if cols.size == 0:
        return (np.moveaxis(out, 0, axis), np.moveaxis(lag, 0, axis)) if want == "both" else \
            np.moveaxis(out if want == "value" else lag, 0, axis)
    dense = cols.size > flat.shape[1] // 2  # mostly gappy (daily LST under clouds): no gather and scatter
    gappy = flat if dense else flat[:, cols]
    out_g = (out.reshape(flat.shape) if dense else np.empty_like(gappy)) if out is not None else None
    lag_g = (lag.reshape(flat.shape) if dense else np.zeros(gappy.shape, _lag_dtype(window))) if lag is not None else None
    bounds = np.flatnonzero(years[1:] != years[:-1]) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, n], strict=True):
        seg = gappy[lo:hi]
        m = hi - lo
        valid = ~np.isnan(seg)
        day = np.arange(m, dtype=np.int32)[:, None]
        prev = np.where(valid, day, np.int32(-2 * m - 2 * window - 2))
        np.maximum.accumulate(prev, axis=0, out=prev)
        nxt = np.where(valid, day, np.int32(2 * m + 2 * window + 2))[::-1]
        nxt = np.minimum.accumulate(nxt, axis=0)[::-1]
        d_prev, d_next = day - prev, nxt - day
        use_prev = ~valid & (d_prev <= d_next) & (d_prev <= window)
        use_next = ~valid & ~use_prev & (d_next <= window)
        src = np.where(use_prev, prev, np.where(use_next, nxt, day))
        if out_g is not None:
            out_g[lo:hi] = np.take_along_axis(seg, src, axis=0)
        if lag_g is not None:
            lag_g[lo:hi] = src - day
    if out is not None and not dense:
        out.reshape(flat.shape)[:, cols] = out_g
    if lag is not None and not dense:
        lag.reshape(flat.shape)[:, cols] = lag_g
    if want == "both":
        return np.moveaxis(out, 0, axis), np.moveaxis(lag, 0, axis)
    return np.moveaxis(out if want == "value" else lag, 0, axis)


def fill_from_nearest_day(da: xr.DataArray, window_days: int = 3) -> tuple[xr.DataArray, xr.DataArray]:
    """Fill each gap with the same cell's value on the nearest day within ± ``window_days``.

    Parameters
    ----------
    da : DataArray (time, ...)
        A daily input (any units); days must be consecutive within each year (the paper's
        April–November seasons); filling never crosses from one season to the next.
    window_days : int
        Largest offset in days (0 = no filling).

    Returns
    -------
    filled : DataArray
        ``da`` with gaps filled (same dims, coords, attrs; ``comment`` says how); lazy when
        ``da`` is dask-backed (one overlapping kernel per block of days, ± ``window_days`` of
        halo, so memory stays bounded whatever the window).
    lag : DataArray of int8 (int16 for windows over 127 days; same dims)
        Days between the value used and the day (negative: an earlier day, positive: a later
        one; 0 where observed or still missing). The earlier day wins a tie.
    """
    if TIME not in da.dims:
        raise DataError(f"{da.name!r} has dims {tuple(da.dims)}; expected a 'time' dim to fill along")
    if int(window_days) != window_days or window_days < 0:
        raise DataError(f"window_days is {window_days!r}; expected a non-negative integer")
    years = np.asarray(pd.DatetimeIndex(da[TIME].values).year, np.int32)
    axis = da.dims.index(TIME)
    window = min(int(window_days), max(da.sizes[TIME] - 1, 0))  # offsets beyond the series bring nothing
    if window == 0:
        values, lags = da.data, (dask_array if isinstance(da.data, dask_array.Array) else np).zeros_like(
            da.data, dtype=_lag_dtype(window))
    elif isinstance(da.data, dask_array.Array):
        shape = [1] * da.ndim
        shape[axis] = -1
        y = dask_array.from_array(years.reshape(shape),
                                  chunks=tuple(c if i == axis else (1,) for i, c in enumerate(da.data.chunks)))
        depth = {i: (window if i == axis else 0) for i in range(da.ndim)}
        halo = dask_array.overlap.overlap(da.data, depth=depth, boundary="none")
        halo_years = dask_array.overlap.overlap(y, depth=depth, boundary="none")

        def lazy(want: str, dtype: Any) -> dask_array.Array:
            blocks = dask_array.map_blocks(_nearest_day_kernel, halo, halo_years, window=window, axis=axis,
                                           want=want, dtype=dtype)
            return dask_array.overlap.trim_internal(blocks, depth, boundary="none")

        values, lags = lazy("value", da.dtype), lazy("lag", _lag_dtype(window))
    else:
        values, lags = _nearest_day_kernel(np.asarray(da.values), years, window, axis, "both")
    out = da.copy(data=values)
    out.attrs = {**da.attrs, "comment": f"{da.attrs.get('comment', '')} gaps filled from the nearest day within "
                 f"±{int(window_days)} d (same cell)".strip()}
    lag = da.copy(data=lags).rename(f"{da.name}_fill_lag")
    lag.attrs = {"units": "day", "long_name": f"offset of the day used to fill {da.name}"}
    return out.rename(da.name), lag


def fill_inputs(inputs: xr.Dataset, window_days: int = 3, composite_window_days: int = 16
                ) -> tuple[xr.Dataset, xr.Dataset]:
    """:func:`fill_from_nearest_day` for every gappy variable of an input cube (± ``window_days``)
    and every composite (NDVI, EVI, NSDSI: ± ``composite_window_days``, one 16-day window).

    Returns
    -------
    filled : Dataset
        The cube with the gappy inputs filled, the others unchanged.
    was_filled : Dataset of bool
        Per variable: the value came from another day.
    """
    filled, flags = {}, {}
    for name, da in inputs.data_vars.items():
        if _is_gappy(str(name)) or str(name).upper() in COMPOSITE_INPUTS:
            w = window_days if _is_gappy(str(name)) else composite_window_days
            f, lag = fill_from_nearest_day(da, w)
            filled[name], flags[name] = f, lag != 0
        else:
            filled[name], flags[name] = da, xr.zeros_like(da, dtype=bool)
    return xr.Dataset(filled, attrs={**inputs.attrs, "fill_window_days": int(window_days)}), xr.Dataset(flags)


def family(inputs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The networks of the cascade: the given inputs, each gappy input dropped in turn, and the
    non-gappy inputs alone (when there are any). Label → inputs."""
    inputs = tuple(inputs)
    gappy = [n for n in inputs if _is_gappy(n)]
    out = {"all inputs": inputs}
    for g in gappy:
        rest = tuple(n for n in inputs if n != g)
        if rest:
            out[f"without {g}"] = rest
    aux = tuple(n for n in inputs if not _is_gappy(n))
    if aux and len(gappy) > 1:
        out["auxiliaries only"] = aux
    return out


@dataclass(frozen=True)
class Candidate:
    """One way of making a value: a network applied to observed or to filled inputs.

    Attributes
    ----------
    network : str
        Label of the network (a key of :func:`family`).
    filled : bool
        Whether its inputs may come from other days.
    prediction : DataArray (time, lat, lon), m3 m-3
        The network's output where all its inputs are present in that mode, NaN elsewhere.
    held_out : DataArray (time, lat, lon), m3 m-3
        The values scored against the reference, from data the network was not trained on:
        its out-of-fold predictions (observed inputs) or its output on filled pixel-days.
    """

    network: str
    filled: bool
    prediction: xr.DataArray
    held_out: xr.DataArray

    @property
    def label(self) -> str:
        return f"{self.network}, {'filled' if self.filled else 'observed'} inputs"


def rank_candidates(candidates: Sequence[Candidate], reference: xr.DataArray, min_samples: int = 100) -> pd.DataFrame:
    """Held-out RMSE of each candidate against ``reference`` (CLDAS), best first.

    Candidates with fewer than ``min_samples`` scored pixel-days keep their place after all
    scored ones (ordered as given), so a rarely needed fallback still fills its gaps.

    Returns
    -------
    DataFrame
        ``candidate``, ``network``, ``filled``, ``rmse`` (m3 m-3), ``r``, ``n`` and ``rank``.
    """
    rows = []
    for i, c in enumerate(candidates):
        p = c.held_out
        ok = np.isfinite(p.values) & np.isfinite(reference.values)
        n = int(ok.sum())
        d = p.values[ok] - reference.values[ok]
        rmse = float(np.sqrt(np.mean(d**2))) if n else np.nan
        r = float(np.corrcoef(p.values[ok], reference.values[ok])[0, 1]) if n > 2 else np.nan
        rows.append({"candidate": c.label, "network": c.network, "filled": c.filled, "rmse": rmse, "r": r, "n": n,
                     "order": i, "scored": n >= min_samples})
    df = pd.DataFrame(rows)
    df["key"] = np.where(df["scored"], df["rmse"], np.inf)
    df = df.sort_values(["key", "order"], kind="stable").drop(columns=["key", "order", "scored"]).reset_index(drop=True)
    df["rank"] = np.arange(len(df))
    return df


def cascade(candidates: Sequence[Candidate], ranking: pd.DataFrame, mask: xr.DataArray | None = None
            ) -> tuple[xr.DataArray, xr.DataArray]:
    """Per pixel-day, the value of the best-ranked candidate that has one.

    Parameters
    ----------
    candidates : sequence of Candidate
    ranking : DataFrame
        :func:`rank_candidates` of the same candidates.
    mask : DataArray of bool, optional
        Where a value may be given (e.g. not open water); NaN elsewhere.

    Returns
    -------
    sm : DataArray (time, lat, lon), m3 m-3
    provenance : DataArray of int8 (time, lat, lon)
        Rank of the candidate used (−1: no value); CF ``flag_values``/``flag_meanings``.
    """
    by_label = {c.label: c for c in candidates}
    first = by_label[ranking["candidate"].iloc[0]].prediction
    sm = xr.full_like(first, np.nan, dtype=np.float64)
    prov = xr.full_like(first, -1, dtype=np.int8)
    for rank, label in zip(ranking["rank"], ranking["candidate"], strict=True):
        p = by_label[label].prediction
        take = sm.isnull() & p.notnull()
        if mask is not None:
            take = take & mask
        sm = sm.where(~take, p)
        prov = prov.where(~take, np.int8(rank))
    meanings = [_word(label) for label in ranking["candidate"]]
    sm.attrs = {**first.attrs, "long_name": "NN soil moisture, gap-filled (best-ranked candidate per pixel-day)"}
    prov.attrs = {"long_name": "how the value was made (rank of the candidate network and input mode; -1: no value)",
                  "units": "1", "flag_values": np.arange(len(meanings), dtype=np.int8),
                  "flag_meanings": " ".join(meanings),
                  "candidates": "; ".join(f"{r}: {c}" for r, c in zip(ranking["rank"], ranking["candidate"], strict=True))}
    return sm.rename("sm"), prov.rename("provenance")


def _word(label: str) -> str:
    """A CF flag meaning: one word, letters, digits and underscores."""
    return "".join(ch if ch.isalnum() else "_" for ch in label).strip("_").replace("__", "_")


def frozen_days(flags: xr.DataArray, like: xr.DataArray, bit: int = 1) -> xr.DataArray:
    """Frozen-soil cell-days: ``bit`` set in a radiometer's quality flag, sampled at ``like``'s cells.

    Parameters
    ----------
    flags : DataArray of int (time, lat, lon)
        E.g. AMSR2 ``flag_asc`` (13:30 local time: soil still frozen in the afternoon).
    like : DataArray (time, lat, lon)
        The grid and days to sample on (nearest flag cell).
    """
    f = flags.sel({LAT: like[LAT], LON: like[LON]}, method="nearest")
    f = f.assign_coords({LAT: like[LAT], LON: like[LON]}).reindex({TIME: like[TIME]})
    out = ((f.fillna(0).astype(np.int64) & bit) != 0)
    out.attrs = {"long_name": "frozen soil (radiometer flag)", "units": "1"}
    return out.rename("frozen")


def coverage_by_class(provenance: xr.DataArray, land: xr.DataArray | None = None) -> pd.DataFrame:
    """Share of (land) pixel-days made by each provenance class, and the share with no value."""
    meanings = str(provenance.attrs.get("flag_meanings", "")).split()
    p = provenance if land is None else provenance.where(land)
    values = np.asarray(p.values).ravel()
    if land is not None:
        values = values[np.asarray(land.broadcast_like(provenance).values).ravel()]
    total = values.size
    rows = [{"provenance": k, "meaning": m, "share": float(np.mean(values == k)) if total else np.nan}
            for k, m in enumerate(meanings)]
    rows.append({"provenance": -1, "meaning": "no_value", "share": float(np.mean(values == -1)) if total else np.nan})
    return pd.DataFrame(rows)
