r"""Fine detail that is right: scale-aware downscaling with a shrinkage chosen without the truth.

Why the paper's 1 km product adds little (§2.2.3 applied literally): the network is fitted to
0.25° × 0.3125° cell means and then fed 1 km auxiliaries; relations learnt *between* cells
(higher and greener is wetter) are applied *within* cells, where they are weaker or different,
and the 1 km inputs range wider than the cell means they were trained on. Write a fine field as
its cell mean plus a within-cell anomaly, :math:`f_i = \bar f_C + f'_i`. With ρ the correlation
of a product's anomalies with the truth's and k the ratio of their standard deviations,

.. math:: \mathrm{skill}_\mathrm{detail} = 1 - \frac{\overline{(p' - t')^2}}{\overline{t'^2}} = 2\rho k - k^2,

largest (ρ²) at k = ρ: too much detail is worse than none, and the right amount depends on how
well the detail is placed. The product's anomalies scaled by α = ρ/k — the least-squares slope
of the truth's anomalies on the product's — are optimal. The truth is unknown, but CLDAS is
given at 0.0625°, four to five cells inside every coarse cell: its within-cell anomalies are an
independent, truth-free reference one scale down (cross-scale validation; cf. Merlin et al. 2012,
IEEE TGRS 50:1556 for the sensitivity × anomaly form, pyDMS for residual correction).

* :func:`cell_anomaly` — a field minus its coarse-cell mean (NaN-aware);
* :func:`shrinkage` — the least-squares slope α of a reference's anomalies on a prediction's,
  with ρ, k and the resulting detail skill;
* :func:`anomaly_features` — the within-cell anomalies of the auxiliaries plus the coarse
  soil-moisture level, the inputs of the within-cell network;
* :func:`compose` — NaN-aware bilinear interpolation of the coarse product plus α × anomalies
  (zero-mean in each cell, so the product still averages to the coarse value);
* :func:`clamp_to_training` — fine inputs limited to the range the network was trained on.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr

from .conventions import LAT, LON, TIME
from .exceptions import DataError
from .grids import Grid, grid_for
from .resample import area_mean, bilinear_nan_aware, replicate

__all__ = ["cell_anomaly", "shrinkage", "anomaly_features", "compose", "clamp_to_training", "split_halves"]


def cell_anomaly(da: xr.DataArray, coarse: Grid, min_valid_fraction: float = 0.5) -> xr.DataArray:
    """``da`` minus the mean of the valid pixels of its coarse cell (same units, lazy on dask).

    Cells with fewer than ``min_valid_fraction`` valid pixels get NaN anomalies.
    """
    mean = area_mean(da, coarse, min_valid_fraction=min_valid_fraction)
    out = da - replicate(mean, grid_for(da, "fine")).transpose(*da.dims)
    out.attrs = {**da.attrs, "long_name": f"within-cell anomaly of {da.attrs.get('long_name', da.name)}"}
    return out.rename(f"{da.name}_anomaly")


def shrinkage(pred: xr.DataArray | np.ndarray, ref: xr.DataArray | np.ndarray) -> dict[str, float]:
    """Least-squares slope α of ``ref`` on ``pred`` through the origin, for zero-mean anomalies.

    Returns
    -------
    dict
        ``alpha`` = Σ p·r / Σ p²; ``rho`` (correlation), ``std_ratio`` k = std(p)/std(r), ``n``;
        ``skill_raw`` = 1 − Σ(p − r)²/Σ r² and ``skill`` = the same for α·p (= ρ² for centred
        anomalies) — the detail skill of the unscaled and the scaled anomalies.
    """
    p = np.asarray(pred, dtype=np.float64).ravel()
    r = np.asarray(ref, dtype=np.float64).ravel()
    ok = np.isfinite(p) & np.isfinite(r)
    p, r = p[ok], r[ok]
    n = int(p.size)
    if n < 10 or not np.any(p) or not np.any(r):
        return {"alpha": 0.0, "rho": np.nan, "std_ratio": np.nan, "n": n, "skill_raw": np.nan, "skill": 0.0}
    spp, srr, spr = float(p @ p), float(r @ r), float(p @ r)
    alpha = spr / spp
    return {"alpha": alpha, "rho": spr / np.sqrt(spp * srr), "std_ratio": float(np.sqrt(spp / srr)), "n": n,
            "skill_raw": 1.0 - float(((p - r) ** 2).sum()) / srr,
            "skill": 1.0 - float(((alpha * p - r) ** 2).sum()) / srr}


def split_halves(lat: np.ndarray, lon: np.ndarray, coarse: Grid) -> xr.DataArray:
    """Two spatial folds of whole coarse cells (checkerboard of 2 × 2-cell blocks): 0 and 1.

    Used to fit a shrinkage on one half and score it on the other, so that its skill is held out.
    """
    ci = np.searchsorted(coarse.lat - coarse.dlat / 2, lat, side="right") - 1
    cj = np.searchsorted(coarse.lon - coarse.dlon / 2, lon, side="right") - 1
    fold = ((ci[:, None] // 2) + (cj[None, :] // 2)) % 2
    return xr.DataArray(fold, coords={LAT: lat, LON: lon}, dims=(LAT, LON), name="fold")


def anomaly_features(aux: xr.Dataset, coarse: Grid, level: xr.DataArray | None = None,
                     min_valid_fraction: float = 0.5) -> xr.Dataset:
    """Inputs of the within-cell network: the auxiliaries' within-cell anomalies (and the cell's SM).

    Parameters
    ----------
    aux : Dataset (time, lat, lon)
        Auxiliary inputs on a grid nested in ``coarse`` (NDVI, NSDSI, LST, DEM, SLOPE …).
    coarse : Grid
    level : DataArray (time, lat, lon) on ``coarse``, optional
        The coarse soil moisture (m3 m-3), replicated: wet and dry cells have different detail.

    Returns
    -------
    Dataset
        ``<name>_anomaly`` per auxiliary (its units) and ``SM_LEVEL`` (m3 m-3) if given.
    """
    out = {f"{n}_anomaly": cell_anomaly(aux[n], coarse, min_valid_fraction) for n in aux.data_vars}
    if level is not None:
        lv = replicate(level, grid_for(aux, "fine")).transpose(*aux[next(iter(aux.data_vars))].dims)
        out["SM_LEVEL"] = lv.rename("SM_LEVEL").assign_attrs(units="m3 m-3", long_name="coarse-cell soil moisture")
    return xr.Dataset(out)


def clamp_to_training(inputs: xr.Dataset, model: object, names: Iterable[str]) -> xr.Dataset:
    """Each input clipped to the range the network saw in training (pyDMS's extrapolation clamp).

    ``model`` is a fitted :class:`sm_nb.nn.LMRegressor`: its mapminmax settings give the
    training range of each column (``x_min_`` ↦ −1, ``x_min_ + 2 / x_gain_`` ↦ +1).
    """
    if not (hasattr(model, "x_min_") and hasattr(model, "x_gain_")):
        return inputs
    lo = np.asarray(model.x_min_, dtype=float)
    hi = lo + 2.0 / np.asarray(model.x_gain_, dtype=float)
    out = inputs.copy()
    for i, n in enumerate(names):
        out[n] = inputs[n].clip(lo[i], hi[i]).assign_attrs(inputs[n].attrs)
    return out


def compose(coarse_product: xr.DataArray, fine: Grid, anomalies: xr.DataArray | None = None,
            alpha: float = 1.0, coarse: Grid | None = None, name: str = "sm", time_chunk: int = 8) -> xr.DataArray:
    """Fine product = NaN-aware bilinear interpolation of the coarse product + α × zero-mean anomalies.

    Parameters
    ----------
    coarse_product : DataArray (time, lat, lon), m3 m-3
        On the coarse grid (e.g. the gap-filled coarse NN).
    fine : Grid
        The fine grid (nested in the coarse one).
    anomalies : DataArray (time, lat, lon) on ``fine``, optional
        Within-cell detail (re-centred here so each cell's detail averages to zero); missing
        anomalies count as no detail (0), never as a missing value.
    alpha : float
        Shrinkage of the anomalies (:func:`shrinkage`).
    coarse : Grid, optional
        The coarse grid (default: ``coarse_product``'s).
    time_chunk : int
        Days per dask block: the result is lazy, block after block of days.

    Returns
    -------
    DataArray (time, lat, lon), m3 m-3, clipped to [0, 1]; NaN only where the coarse product has
    no value in the pixel's own cell.
    """
    if set(coarse_product.dims) != {TIME, LAT, LON}:
        raise DataError(f"coarse_product has dims {tuple(coarse_product.dims)}; expected (time, lat, lon)")
    cgrid = coarse or grid_for(coarse_product, "coarse")
    c = coarse_product.astype(np.float64).transpose(TIME, LAT, LON).chunk({TIME: int(time_chunk), LAT: -1, LON: -1})
    base = bilinear_nan_aware(c, fine).transpose(TIME, LAT, LON)
    own = replicate(c, fine).transpose(TIME, LAT, LON)
    out = base.where(own.notnull())
    if anomalies is not None and alpha != 0.0:
        a = anomalies.transpose(TIME, LAT, LON).assign_coords({LAT: fine.lat, LON: fine.lon})
        a = cell_anomaly(a.rename("detail"), cgrid, min_valid_fraction=0.0).fillna(0.0)
        out = out + float(alpha) * a
    out = out.clip(0.0, 1.0)
    out.attrs = {"units": "m3 m-3", "standard_name": "volume_fraction_of_condensed_water_in_soil",
                 "long_name": "downscaled soil moisture: bilinear coarse product + shrunk within-cell detail",
                 "shrinkage_alpha": float(alpha)}
    return out.rename(name)
