"""Conservation of the downscaled product: its area mean against the coarse NN (beyond the paper).

* :func:`aggregate` — area mean of a fine field on the coarse grid it nests in (§2.1.5);
* :func:`residual_correction` — add the coarse residual back so the aggregate equals the coarse NN;
* :func:`conservation_table` — how well fine products average back to the coarse NN.

All three run lazily on dask-backed input and use :func:`sm_nb.resample.area_mean` and
:func:`sm_nb.resample.replicate`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from .conventions import TIME
from .grids import Grid, grid_for
from .resample import area_mean, replicate

__all__ = ["aggregate", "residual_correction", "conservation_table"]


def _coarse_grid(coarse: xr.DataArray | Grid) -> Grid:
    return coarse if isinstance(coarse, Grid) else grid_for(coarse, "coarse")


def aggregate(fine: xr.DataArray, coarse: xr.DataArray | Grid, min_valid_fraction: float = 0.5) -> xr.DataArray:
    """Area mean of a fine field on the coarse grid it nests in (the paper's aggregation, §2.1.5).

    Parameters
    ----------
    fine : DataArray (time, lat, lon)
    coarse : DataArray (..., lat, lon) or Grid
        The coarse grid (e.g. the coarse NN product).
    min_valid_fraction : float in [0, 1]
        A coarse cell needs at least this fraction of finite fine pixels, else NaN.
    """
    return area_mean(fine.astype(np.float64), _coarse_grid(coarse), min_valid_fraction=min_valid_fraction)


def _on_coarse(fine: xr.DataArray, coarse: xr.DataArray) -> xr.DataArray:
    return coarse.astype(np.float64).reindex({TIME: fine[TIME].values}).assign_coords({TIME: fine[TIME]})


def residual_correction(fine: xr.DataArray, coarse: xr.DataArray, min_valid_fraction: float = 0.5) -> xr.DataArray:
    """Add the coarse residual back so that the aggregate of the fine product is the coarse NN.

    Parameters
    ----------
    fine : DataArray (time, lat, lon), m3 m-3
        Downscaled product.
    coarse : DataArray (time, lat, lon), m3 m-3
        Coarse NN product on the grid ``fine`` nests in (days matched by label).
    min_valid_fraction : float
        As in :func:`aggregate`.

    Returns
    -------
    DataArray (time, lat, lon), float64
        :math:`f' = f + R(c - A f)` with A the area mean and R the replication expansion. NaN
        where the coarse NN or the aggregate is missing (no residual to add): never filled.

    Notes
    -----
    The correction of pyDMS (Guzinski & Nieto 2019) and DisPATCh-type methods. ``A f'`` over
    the same valid pixels equals ``c`` exactly (up to float64 rounding).
    """
    c = _on_coarse(fine, coarse)
    resid = c - aggregate(fine, coarse, min_valid_fraction)
    out = fine.astype(np.float64) + replicate(resid, grid_for(fine, "fine"))
    out.attrs = {**fine.attrs, "long_name": f"{fine.attrs.get('long_name', 'downscaled soil moisture')}, "
                 "residual-corrected to the coarse NN", "comment": "f + replicate(coarse - area_mean(f))"}
    return out.rename(f"{fine.name or 'sm'}_corrected")


def conservation_table(fines: Mapping[str, xr.DataArray], coarse: xr.DataArray,
                       min_valid_fraction: float = 0.5) -> pd.DataFrame:
    """How well fine products average back to the coarse NN (pooled over cells and days).

    Parameters
    ----------
    fines : mapping label → DataArray (time, lat, lon), m3 m-3
        E.g. ``{"downscaled": sm, "downscaled + residual correction": sm_corr}``.
    coarse : DataArray (time, lat, lon), m3 m-3
        Coarse NN product.
    min_valid_fraction : float
        As in :func:`aggregate`.

    Returns
    -------
    DataFrame
        One row per label: ``r`` (Pearson), ``bias`` (mean aggregate − coarse), ``rmse``,
        ``max_abs`` (largest |difference|), ``n`` (cell-days where both exist), ``n_coarse``
        (cell-days with a coarse value).
    """
    import dask

    rows = []
    for label, fine in fines.items():
        c = _on_coarse(fine, coarse)
        a = aggregate(fine, coarse, min_valid_fraction)
        a, c = dask.compute(a, c)
        av, cv = np.asarray(a.values).ravel(), np.asarray(c.values).ravel()
        ok = np.isfinite(av) & np.isfinite(cv)
        d = av[ok] - cv[ok]
        r = float(np.corrcoef(av[ok], cv[ok])[0, 1]) if ok.sum() > 2 and np.std(av[ok]) > 0 else np.nan
        rows.append({"product": label, "r": r, "bias": float(d.mean()) if d.size else np.nan,
                     "rmse": float(np.sqrt((d * d).mean())) if d.size else np.nan,
                     "max_abs": float(np.abs(d).max()) if d.size else np.nan,
                     "n": int(ok.sum()), "n_coarse": int(np.isfinite(cv).sum())})
    return pd.DataFrame(rows).set_index("product")
