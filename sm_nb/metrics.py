"""The paper's quality index (§2.2.2) and station statistics.

* :func:`pearson_with_p` — Pearson r, its two-sided p value (t distribution) and the pair
  count, reduced over one or more named dims;
* :func:`quality_index` — ρ_spatial, ρ_temporal, RMSE and MAE exactly as the paper defines
  them (Tables 3–5), with the daily series, the per-pixel maps and every sample count;
* :func:`quality_table` — several quality indices as one tidy table (like Tables 3–5);
* :func:`station_stats` — r, p, n, bias, RMSE and ubRMSE of a product at stations.

All functions are vectorised xarray reductions (NaN-aware, no loop over pixels or days) and
run lazily on dask-backed input; p values use ``scipy.special.stdtr`` through
``xarray.apply_ufunc(dask="parallelized")``. Inputs are never modified.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from .conventions import TIME
from .exceptions import ConfigError, DataError

__all__ = [
    "pearson_stats",
    "pearson_with_p",
    "quality_index",
    "quality_table",
    "station_stats",
    "QUALITY_SCALARS",
]

#: scalar variables of :func:`quality_index`, in the order of the paper's tables
QUALITY_SCALARS = ("rho_spatial", "rho_temporal", "rmse", "mae", "n_days_significant", "n_days",
                   "n_pixels", "n_pairs")


def pearson_stats(x: np.ndarray, y: np.ndarray, axis: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson r, sample count and OLS slope dx/dy over ``axis`` of numpy arrays, NaN-aware.

    Parameters
    ----------
    x, y : ndarray
        Same shape, any units; pairs where either is NaN are skipped.
    axis : int, optional
        Axis to reduce (all values if None).

    Returns
    -------
    r : ndarray, 1
        NaN where fewer than 3 pairs or a variance is 0.
    n : ndarray of int
        Number of finite pairs.
    slope : ndarray, units of x per unit of y
        cov(x, y) / var(y) (NaN where fewer than 3 pairs or var(y) = 0).
    """
    m = np.isfinite(x) & np.isfinite(y)
    n = m.sum(axis=axis)
    x0, y0 = np.where(m, x, 0.0), np.where(m, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = x0.sum(axis=axis) / n, y0.sum(axis=axis) / n
        if axis is not None:
            mx_, my_ = np.expand_dims(mx, axis), np.expand_dims(my, axis)
        else:
            mx_, my_ = mx, my
        dx, dy = np.where(m, x - mx_, 0.0), np.where(m, y - my_, 0.0)
        cov, vx, vy = (dx * dy).sum(axis=axis), (dx * dx).sum(axis=axis), (dy * dy).sum(axis=axis)
        r = np.where((n >= 3) & (vx > 0) & (vy > 0), cov / np.sqrt(vx * vy), np.nan)
        slope = np.where((n >= 3) & (vy > 0), cov / vy, np.nan)
    return r, n, slope


def _dims(dim: str | Sequence[Hashable]) -> tuple[Hashable, ...]:
    return (dim,) if isinstance(dim, str) else tuple(dim)


def _check_pair(x: xr.DataArray, y: xr.DataArray, dims: tuple[Hashable, ...],
                names: tuple[str, str] = ("x", "y")) -> tuple[xr.DataArray, xr.DataArray]:
    """Validate two arrays for a paired metric and return them aligned, as float64."""
    for a, label in zip((x, y), names, strict=True):
        if not isinstance(a, xr.DataArray):
            raise DataError(f"{label} is a {type(a).__name__}; expected an xarray DataArray")
    if set(x.dims) != set(y.dims):
        raise DataError(f"{names[0]} has dims {tuple(x.dims)} and {names[1]} has {tuple(y.dims)}; expected the same dims")
    invalid = [d for d in dims if d not in x.dims]
    if invalid:
        raise DataError(f"Dimensions {invalid} do not exist. Expected one or more of {tuple(x.dims)}")
    ux, uy = x.attrs.get("units"), y.attrs.get("units")
    if ux is not None and uy is not None and ux != uy:
        raise DataError(f"{names[0]} has units {ux!r} and {names[1]} has units {uy!r}; expected the same units")
    try:
        x, y = xr.align(x, y, join="exact")
    except ValueError as exc:
        raise DataError(f"coordinates of {names[0]} and {names[1]} differ; expected identical coordinates ({exc})") from None
    return x.astype(np.float64), y.astype(np.float64)


def _two_sided_p(r: xr.DataArray, n: xr.DataArray) -> xr.DataArray:
    """p of H0: ρ = 0 with t = r √((n − 2) / (1 − r²)) ~ Student t(n − 2), two-sided."""

    def kernel(r: np.ndarray, n: np.ndarray) -> np.ndarray:
        df = n - 2.0
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.abs(r) * np.sqrt(df / (1.0 - r * r))
            p = 2.0 * special.stdtr(df, -t)
        p = np.where(np.abs(r) >= 1.0, 0.0, p)
        return np.where(np.isfinite(r) & (df > 0), p, np.nan)

    return xr.apply_ufunc(kernel, r, n, dask="parallelized", output_dtypes=[np.float64])


def pearson_with_p(x: xr.DataArray, y: xr.DataArray, dim: str | Sequence[Hashable],
                   min_n: int = 3) -> xr.Dataset:
    """Pearson correlation over ``dim`` with its two-sided p value and the pair count.

    Parameters
    ----------
    x, y : DataArray
        Same dims and coordinates (any units; the same units if both declare them).
    dim : str or sequence of str
        Dimension(s) reduced: ``"time"`` (temporal r per pixel) or ``("lat", "lon")``
        (spatial r per day).
    min_n : int
        Fewer valid pairs than this → r and p are NaN (n is still reported).

    Returns
    -------
    Dataset with ``r`` (1), ``p`` (1) and ``n`` (pairs where both are finite) over the
    remaining dims.

    Notes
    -----
    .. math:: r = \\frac{\\sum (x_i - \\bar x)(y_i - \\bar y)}
                         {\\sqrt{\\sum (x_i - \\bar x)^2 \\sum (y_i - \\bar y)^2}},\\qquad
              t = r\\sqrt{\\frac{n-2}{1-r^2}} \\sim t_{n-2}

    over the pairs where both are finite (float64). A constant series gives NaN. Same r and
    p as ``scipy.stats.pearsonr`` on the valid pairs.
    """
    dims = _dims(dim)
    x, y = _check_pair(x, y, dims)
    valid = x.notnull() & y.notnull()
    xv, yv = x.where(valid), y.where(valid)
    n = valid.sum(dims)
    xa, ya = xv - xv.mean(dims), yv - yv.mean(dims)
    sxy = (xa * ya).sum(dims)
    den = np.sqrt((xa * xa).sum(dims) * (ya * ya).sum(dims))
    r = (sxy / den.where(den > 0)).clip(-1.0, 1.0).where(n >= max(int(min_n), 1))
    r.attrs = {"units": "1", "long_name": "Pearson correlation coefficient"}
    p = _two_sided_p(r, n)
    p.attrs = {"units": "1", "long_name": "two-sided p value of r (t distribution, n - 2 dof)"}
    n.attrs = {"units": "1", "long_name": "number of valid pairs"}
    return xr.Dataset({"r": r, "p": p, "n": n}, attrs={"reduced_dims": ", ".join(map(str, dims))})


def quality_index(pred: xr.DataArray, ref: xr.DataArray, dim_time: str = TIME, min_pairs: int = 10,
                  min_pixels: int = 3, alpha: float = 0.05) -> xr.Dataset:
    """The paper's average quality index of ``pred`` against ``ref`` (paper §2.2.2).

    Parameters
    ----------
    pred, ref : DataArray (time, lat, lon), m3 m-3
        Estimate (e.g. NN soil moisture) and reference (e.g. CLDAS) on the same grid and days.
        Every dim other than ``dim_time`` is a spatial dim.
    dim_time : str
        Time dimension.
    min_pairs : int
        A pixel needs at least this many valid (pred, ref) days for its temporal r, RMSE and
        MAE; fewer → NaN in the maps.
    min_pixels : int
        A day needs at least this many valid pixels for its spatial r (3 = the fewest with a
        defined p value).
    alpha : float
        Significance level: only days whose spatial r has a two-sided p < alpha enter
        ρ_spatial (0.05 = the paper's "significance greater than 95 %").

    Returns
    -------
    Dataset
        Scalars ``rho_spatial``, ``rho_temporal``, ``rmse``, ``mae`` (units of ``ref``) with
        their sample counts ``n_days_significant``, ``n_days`` (days with a spatial r),
        ``n_pixels`` (pixels with ≥ ``min_pairs`` pairs), ``n_pixels_rho`` (of those, pixels
        with a temporal r), ``n_pairs`` (pairs in those pixels); the daily series
        ``rho_spatial_daily``, ``p_spatial_daily``, ``n_pixels_daily`` (time) and the maps
        ``rho_temporal_map``, ``p_temporal_map``, ``rmse_map``, ``mae_map``, ``n_pairs_map``.

    Notes
    -----
    Paper §2.2.2:

    * ρ_spatial — per day, Pearson r over the pixels where both are valid; the mean of the
      daily r over the days whose r is significant (p < α);
    * ρ_temporal — per pixel, Pearson r over time; the mean over pixels of the map;
    * RMSE, MAE — per pixel over time, :math:`\\sqrt{\\overline{(p-r)^2}}` and
      :math:`\\overline{|p-r|}`; the mean over pixels of the map.
    """
    if not 0.0 < float(alpha) < 1.0:
        raise ConfigError(f"alpha is {alpha!r}; expected a significance level in (0, 1)")
    for value, label, low in ((min_pairs, "min_pairs", 3), (min_pixels, "min_pixels", 3)):
        if int(value) != value or value < low:
            raise ConfigError(f"{label} is {value!r}; expected an integer >= {low}")
    if dim_time not in getattr(pred, "dims", ()) or dim_time not in getattr(ref, "dims", ()):
        got = (tuple(getattr(pred, "dims", ())), tuple(getattr(ref, "dims", ())))
        raise DataError(f"Dimensions [{dim_time!r}] do not exist in pred and ref (dims {got[0]} and {got[1]}); pass dim_time")
    pred, ref_f = _check_pair(pred, ref, (dim_time,), ("pred", "ref"))
    space = tuple(d for d in ref_f.dims if d != dim_time)
    if not space:
        raise DataError(f"pred and ref have only the dim {dim_time!r}; expected spatial dims as well (e.g. lat, lon)")
    units = ref.attrs.get("units", pred.attrs.get("units", ""))

    sp = pearson_with_p(pred, ref_f, space, min_n=min_pixels)
    significant = sp["p"] < alpha
    tp = pearson_with_p(pred, ref_f, dim_time, min_n=min_pairs)

    valid = pred.notnull() & ref_f.notnull()
    n_pairs_map = valid.sum(dim_time)
    enough = n_pairs_map >= min_pairs
    err = (pred - ref_f).where(valid)
    rmse_map = np.sqrt((err * err).mean(dim_time)).where(enough)
    mae_map = abs(err).mean(dim_time).where(enough)
    rho_map = tp["r"].where(enough)

    out = xr.Dataset(
        {
            "rho_spatial": sp["r"].where(significant).mean(),
            "rho_temporal": rho_map.mean(),
            "rmse": rmse_map.mean(),
            "mae": mae_map.mean(),
            "n_days_significant": significant.sum(),
            "n_days": sp["r"].notnull().sum(),
            "n_pixels": enough.sum(),
            "n_pixels_rho": rho_map.notnull().sum(),
            "n_pairs": n_pairs_map.where(enough, 0).sum(),
            "rho_spatial_daily": sp["r"],
            "p_spatial_daily": sp["p"],
            "n_pixels_daily": sp["n"],
            "rho_temporal_map": rho_map,
            "p_temporal_map": tp["p"].where(enough),
            "rmse_map": rmse_map,
            "mae_map": mae_map,
            "n_pairs_map": n_pairs_map,
        }
    )
    one = {"units": "1"}
    meta = {
        "rho_spatial": {**one, "long_name": f"mean daily spatial correlation over days with p < {alpha:g}"},
        "rho_temporal": {**one, "long_name": "mean over pixels of the temporal correlation"},
        "rmse": {"units": units, "long_name": "mean over pixels of the temporal RMSE"},
        "mae": {"units": units, "long_name": "mean over pixels of the temporal MAE"},
        "n_days_significant": {**one, "long_name": "days whose spatial correlation is significant"},
        "n_days": {**one, "long_name": f"days with a spatial correlation (>= {min_pixels} valid pixels)"},
        "n_pixels": {**one, "long_name": f"pixels with >= {min_pairs} valid pairs"},
        "n_pixels_rho": {**one, "long_name": "pixels with a temporal correlation"},
        "n_pairs": {**one, "long_name": "valid pairs in the pixels counted by n_pixels"},
        "rho_spatial_daily": {**one, "long_name": "daily spatial correlation"},
        "p_spatial_daily": {**one, "long_name": "two-sided p value of the daily spatial correlation"},
        "n_pixels_daily": {**one, "long_name": "valid pixels per day"},
        "rho_temporal_map": {**one, "long_name": "temporal correlation"},
        "p_temporal_map": {**one, "long_name": "two-sided p value of the temporal correlation"},
        "rmse_map": {"units": units, "long_name": "temporal root mean square error"},
        "mae_map": {"units": units, "long_name": "temporal mean absolute error"},
        "n_pairs_map": {**one, "long_name": "valid pairs per pixel"},
    }
    for name, attrs in meta.items():
        out[name].attrs = attrs
    out.attrs = {
        "alpha": float(alpha),
        "min_pairs": int(min_pairs),
        "min_pixels": int(min_pixels),
        "pred": str(pred.name),
        "ref": str(ref.name),
        "references": "Lv, Zhang & Zhu (2021) Remote Sens. 13, 1583, section 2.2.2",
    }
    return out


def quality_table(results: Mapping[str, xr.Dataset]) -> pd.DataFrame:
    """Scalars of several :func:`quality_index` results as one tidy table (cf. Tables 3–5).

    Parameters
    ----------
    results : mapping of label → Dataset
        E.g. ``{"SMAP_TBV_A": qi1, "AMSR2_10.7_TBH_D": qi2}``.

    Returns
    -------
    DataFrame indexed by label with the columns of :data:`QUALITY_SCALARS`.
    """
    rows = {}
    for label, ds in results.items():
        missing = [v for v in QUALITY_SCALARS if v not in ds]
        if missing:
            raise DataError(f"result {label!r} lacks {missing}; expected the output of quality_index")
        rows[label] = {v: ds[v].values.item() for v in QUALITY_SCALARS}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "inputs"
    return table.astype({v: "int64" for v in QUALITY_SCALARS if v.startswith("n_")})


def station_stats(pred_at_station: xr.DataArray, obs: xr.DataArray, min_n: int = 30,
                  dim: str = TIME) -> xr.Dataset:
    """Agreement of a product with station observations, per station.

    Parameters
    ----------
    pred_at_station : DataArray (station, time), m3 m-3
        Product sampled at the stations (any dims besides ``dim`` are kept).
    obs : DataArray (station, time), m3 m-3
        In situ observations, same dims and coordinates.
    min_n : int
        Stations with fewer valid pairs get NaN statistics (``n`` is still reported).
    dim : str
        Dimension reduced (``time``).

    Returns
    -------
    Dataset over the remaining dims with ``r``, ``p`` (two-sided), ``n``, ``bias`` (mean of
    pred − obs), ``rmse`` and ``ubrmse``.

    Notes
    -----
    .. math:: \\mathrm{ubRMSE} = \\sqrt{\\overline{[(p - \\bar p) - (o - \\bar o)]^2}}
              = \\sqrt{\\mathrm{RMSE}^2 - \\mathrm{bias}^2}

    over the pairs where both are finite.
    """
    if int(min_n) != min_n or min_n < 3:
        raise ConfigError(f"min_n is {min_n!r}; expected an integer >= 3")
    units = obs.attrs.get("units", pred_at_station.attrs.get("units", "")) if isinstance(obs, xr.DataArray) else ""
    x, y = _check_pair(pred_at_station, obs, (dim,), ("pred_at_station", "obs"))
    pr = pearson_with_p(x, y, dim, min_n=min_n)
    valid = x.notnull() & y.notnull()
    enough = pr["n"] >= min_n
    d = (x - y).where(valid)
    bias = d.mean(dim).where(enough)
    rmse = np.sqrt((d * d).mean(dim)).where(enough)
    da = d - d.mean(dim)
    ubrmse = np.sqrt((da * da).mean(dim)).where(enough)
    out = xr.Dataset({"r": pr["r"], "p": pr["p"], "n": pr["n"], "bias": bias, "rmse": rmse, "ubrmse": ubrmse})
    out["bias"].attrs = {"units": units, "long_name": "mean of pred - obs"}
    out["rmse"].attrs = {"units": units, "long_name": "root mean square difference"}
    out["ubrmse"].attrs = {"units": units, "long_name": "unbiased root mean square difference"}
    out.attrs = {"min_n": int(min_n)}
    return out
