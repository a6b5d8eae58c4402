"""Skill of 1 km products against the known fine truth (beyond the paper; synthetic scenario only).

* :func:`fine_baselines` — what a downscaled product must beat to add information: the coarse NN
  replicated, bilinear, and CLDAS at 0.0625°;
* :func:`truth_skill` — temporal and spatial skill against the truth and the *added spatial
  detail* (within-coarse-cell anomalies), block of days by block of days;
* :func:`versus` — one product's skill beside the baselines', with which is better.

The fine truth scores products; it never chooses them (:func:`sm_nb.product.choose_without_truth`).
Every function takes and returns xarray objects or tables; none opens data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr

from .conventions import LAT, LON, PRODUCT, TIME
from .exceptions import DataError
from .grids import Grid, grid_for
from .resample import bilinear_nan_aware, block_repeat, block_sum, replicate

__all__ = ["fine_baselines", "truth_skill", "versus"]


# ---------------------------------------------------------------------------------------------
# fine grid: baselines and skill against the truth
# ---------------------------------------------------------------------------------------------
def fine_baselines(coarse_nn: xr.DataArray, fine_like: xr.DataArray | Grid,
                   cldas: xr.DataArray | None = None, time_chunk: int = 8) -> dict[str, xr.DataArray]:
    """Fine-grid baselines the downscaled product must beat to add information (lazy, dask).

    Parameters
    ----------
    coarse_nn : DataArray (time, lat, lon), m3 m-3
        The coarse NN product.
    fine_like : DataArray or Grid
        The fine grid (nested in the coarse grid).
    cldas : DataArray (time, lat, lon), optional
        CLDAS on its 0.0625° grid (the fine grid nests in it).
    time_chunk : int
        Days per dask block.

    Returns
    -------
    dict
        ``"coarse NN replicated"`` (replication expansion, no detail), ``"coarse NN bilinear"``
        (bilinear between coarse centres, NaN-aware: missing neighbours' weights renormalised;
        kept only where the pixel's own coarse cell has a value, so both baselines share one
        support) and ``"CLDAS"`` (replicated from 0.0625°), all (time, lat, lon) float64.
    """
    grid = fine_like if isinstance(fine_like, Grid) else grid_for(fine_like, "fine")
    c = coarse_nn.astype(np.float64).chunk({TIME: time_chunk})
    rep = replicate(c, grid)
    bil = bilinear_nan_aware(c, grid).transpose(*rep.dims).where(rep.notnull())
    out = {"coarse NN replicated": rep, "coarse NN bilinear": bil}
    if cldas is not None:
        out["CLDAS"] = replicate(cldas.astype(np.float64).chunk({TIME: time_chunk}), grid)
    for k, v in out.items():
        out[k] = v.rename(k).assign_attrs(units=coarse_nn.attrs.get("units", "m3 m-3"), long_name=k)
    return out


_SUMS = ("valid", "n", "sx", "sy", "sxx", "syy", "sxy", "sd", "sdd", "ax", "ay", "axy", "add", "an")


def _block_sums(p: np.ndarray, t: np.ndarray, valid: np.ndarray, fy: int, fx: int, need: float,
                acc: dict[str, Any]) -> None:
    """Add one block of days to the running sums of one product (float64 numpy).

    Per-day sums and dot products (no squared temporaries); the pooled sums are their totals."""
    pv, tv = np.where(valid, p, 0.0), np.where(valid, t, 0.0)
    nt = pv.shape[0]
    flat_p, flat_t = pv.reshape(nt, -1), tv.reshape(nt, -1)
    nd = np.count_nonzero(valid.reshape(nt, -1), axis=1).astype(np.float64)
    sp, st = flat_p.sum(axis=1), flat_t.sum(axis=1)
    spp, stt, spt = (np.einsum("ij,ij->i", a, b) for a, b in ((flat_p, flat_p), (flat_t, flat_t), (flat_p, flat_t)))
    d = (flat_p - flat_t).ravel()
    acc["n"] += nd.sum()
    for key, v in (("sx", sp), ("sy", st), ("sxx", spp), ("syy", stt), ("sxy", spt)):
        acc[key] += v.sum()
    acc["sd"] += d.sum()
    acc["sdd"] += float(np.dot(d, d))
    # daily spatial correlation over the valid pixels, from centred values: a constant day
    # (e.g. a replicated product inside one coarse cell) has exactly zero variance and no r
    with np.errstate(invalid="ignore", divide="ignore"):
        mp, mt = sp / nd, st / nd
        flat_ok = valid.reshape(nt, -1)
        cp = np.where(flat_ok, flat_p - mp[:, None], 0.0)
        ct = np.where(flat_ok, flat_t - mt[:, None], 0.0)
        r = np.einsum("ij,ij->i", cp, ct) / np.sqrt(np.einsum("ij,ij->i", cp, cp) * np.einsum("ij,ij->i", ct, ct))
    acc["r_daily"].extend(r[(nd >= 3) & np.isfinite(r)].tolist())
    # within-coarse-cell anomalies over the valid pixels of each cell
    cnt = block_sum(valid, fy, fx).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = pv - block_repeat(block_sum(pv, fy, fx) / cnt, fy, fx)
        at = tv - block_repeat(block_sum(tv, fy, fx) / cnt, fy, fx)
    keep = valid & (block_repeat(cnt, fy, fx) >= need)
    ap, at = np.where(keep, ap, 0.0).ravel(), np.where(keep, at, 0.0).ravel()
    acc["an"] += np.count_nonzero(keep)
    acc["ax"] += float(np.dot(ap, ap))
    acc["ay"] += float(np.dot(at, at))
    acc["axy"] += float(np.dot(ap, at))
    ap -= at
    acc["add"] += float(np.dot(ap, ap))


def truth_skill(products: Mapping[str, xr.DataArray], truth: xr.DataArray, coarse: xr.DataArray | Grid,
                common: bool = True, min_cell_fraction: float = 0.5, block_days: int = 8,
                land: xr.DataArray | None = None) -> pd.DataFrame:
    r"""Skill of fine-grid products against the fine truth, and the spatial detail they add.

    Parameters
    ----------
    products : mapping label → DataArray (time, lat, lon), m3 m-3
        Downscaled product and baselines on the fine grid (numpy or dask).
    truth : DataArray (time, lat, lon), m3 m-3
        The synthetic fine truth (``truth_sm["sm"]``).
    coarse : DataArray or Grid
        The coarse grid the fine grid nests in (defines the cells of the anomalies).
    common : bool
        Score every product on the same pixel-days (where all products and the truth exist),
        so the rows are comparable; ``False`` scores each on its own support.
    min_cell_fraction : float in (0, 1]
        A coarse cell-day enters the detail scores when at least this fraction of its fine
        pixels is on the support (and at least 2).
    block_days : int
        Days loaded at once (memory ≈ 8 bytes × block_days × fine pixels × (products + 6)).
    land : DataArray of bool (lat, lon), optional
        Pixels that count (e.g. not open water); ``coverage`` is then the share of *land*
        pixel-days with a value, and only land pixels are scored.

    Returns
    -------
    DataFrame
        One row per product: ``coverage`` (own support / all pixel-days), ``n`` (scored
        pixel-days), ``r``, ``rmse``, ``ubrmse``, ``bias`` (pooled over pixels and days),
        ``r_spatial`` (mean over days with ≥ 3 pixels of the daily spatial r), and the detail
        scores on within-cell anomalies ``r_detail``, ``rmse_detail``, ``detail_std_ratio``,
        ``detail_skill``, ``n_detail``.

    Notes
    -----
    Within-cell anomaly of a field f at a fine pixel i of coarse cell C on day t:
    :math:`f'_i = f_i - \overline{f}_C`, the mean over the cell's scored pixels. With p' and
    t' the product's and the truth's anomalies:

    .. math:: r_\mathrm{detail} = \mathrm{corr}(p', t'),\quad
              \mathrm{skill}_\mathrm{detail} = 1 - \frac{\overline{(p' - t')^2}}{\overline{t'^2}}

    The skill is 0 for a product without detail (p' = 0, e.g. the replicated coarse NN, whose
    ``r_detail`` is undefined), > 0 when the product's detail brings it closer to the truth
    and < 0 when its detail is worse than none. Computed in blocks of days with numpy
    (pooled sums), so memory stays bounded on the ``full`` grid.
    """
    if not products:
        raise DataError("products is empty; expected at least one fine-grid product")
    grid = grid_for(truth, "fine")
    cgrid = coarse if isinstance(coarse, Grid) else grid_for(coarse, "coarse")
    fy, fx = grid.nest_factor(cgrid)
    arrs = {}
    for label, da in products.items():
        if da.sizes.get(LAT) != truth.sizes[LAT] or da.sizes.get(LON) != truth.sizes[LON]:
            raise DataError(f"product {label!r} is on a {da.sizes.get(LAT)} × {da.sizes.get(LON)} grid, the truth on "
                            f"{truth.sizes[LAT]} × {truth.sizes[LON]}; expected products on the fine grid")
        arrs[label] = da.transpose(TIME, LAT, LON).assign_coords({LAT: truth[LAT], LON: truth[LON]}).reset_coords(drop=True)
    aligned = xr.align(truth.transpose(TIME, LAT, LON).reset_coords(drop=True), *arrs.values(), join="inner")
    t_all, arrs = aligned[0], dict(zip(arrs, aligned[1:], strict=True))
    land_np = None
    if land is not None:
        land = land.astype(bool).assign_coords({LAT: t_all[LAT], LON: t_all[LON]})
        t_all = t_all.where(land)
        land_np = np.asarray(land.transpose(LAT, LON).values)[None]
    nt = t_all.sizes[TIME]
    if nt == 0:
        raise DataError("the products and the truth share no day")
    need = max(2.0, float(min_cell_fraction) * fy * fx)
    acc = {k: {**dict.fromkeys(_SUMS, 0.0), "r_daily": []} for k in arrs}
    for start in range(0, nt, int(block_days)):
        sl = {TIME: slice(start, start + int(block_days))}
        t, *ps = (np.asarray(v.values, dtype=np.float64)
                  for v in dask.compute(t_all.isel(sl), *[a.isel(sl) for a in arrs.values()]))
        ok_t = np.isfinite(t)
        oks = [np.isfinite(p) for p in ps]
        joint = np.logical_and.reduce([ok_t, *oks])
        for label, p, ok in zip(arrs, ps, oks, strict=True):
            acc[label]["valid"] += (ok if land_np is None else ok & land_np).sum()
            _block_sums(p, t, joint if common else ok & ok_t, fy, fx, need, acc[label])
    rows = []
    total = float(t_all.size) if land is None else float(land.sum()) * nt
    for label, v in acc.items():
        n, an = float(v["n"]), float(v["an"])
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = v["sxy"] / n - v["sx"] * v["sy"] / n**2
            vx, vy = v["sxx"] / n - (v["sx"] / n) ** 2, v["syy"] / n - (v["sy"] / n) ** 2
            bias, rmse = v["sd"] / n, np.sqrt(v["sdd"] / n)
            rows.append({
                PRODUCT: label, "coverage": float(v["valid"]) / total, "n": int(n),
                "r": cov / np.sqrt(vx * vy) if vx > 0 and vy > 0 else np.nan,
                "rmse": rmse, "ubrmse": np.sqrt(max(rmse**2 - bias**2, 0.0)), "bias": bias,
                "r_spatial": float(np.mean(v["r_daily"])) if v["r_daily"] else np.nan,
                "r_detail": v["axy"] / np.sqrt(v["ax"] * v["ay"]) if v["ax"] > 1e-18 * max(an, 1) and v["ay"] > 0 else np.nan,
                "rmse_detail": np.sqrt(v["add"] / an) if an else np.nan,
                "detail_std_ratio": np.sqrt(v["ax"] / v["ay"]) if v["ay"] > 0 else np.nan,
                "detail_skill": 1.0 - v["add"] / v["ay"] if v["ay"] > 0 else np.nan,
                "n_detail": int(an)})
    out = pd.DataFrame(rows).set_index(PRODUCT)
    out.attrs = {"common_support": bool(common), "min_cell_fraction": float(min_cell_fraction),
                 "units": truth.attrs.get("units", "m3 m-3")}
    return out


#: metric of :func:`truth_skill` → how "better" is judged
_BETTER = {"r": "higher", "rmse": "lower", "ubrmse": "lower", "bias": "closer to 0", "r_spatial": "higher",
           "r_detail": "higher", "detail_skill": "higher"}


def versus(skill: pd.DataFrame, product: str = "downscaled") -> pd.DataFrame:
    """Does ``product`` beat each other row of a :func:`truth_skill` table, metric by metric?

    Returns
    -------
    DataFrame
        One row per other product, one boolean column per metric (True: ``product`` is better,
        False: worse or equal, missing: either value undefined); ``attrs["better"]`` says what
        better means per metric.
    """
    if product not in skill.index:
        raise DataError(f"product {product!r} not in the skill table; expected one of {list(skill.index)}")
    me = skill.loc[product]
    rows = {}
    for other in skill.index.drop(product):
        o = skill.loc[other]
        row = {}
        for m, rule in _BETTER.items():
            a, b = me[m], o[m]
            if not (np.isfinite(a) and np.isfinite(b)):
                row[m] = pd.NA
            elif rule == "higher":
                row[m] = bool(a > b)
            elif rule == "lower":
                row[m] = bool(a < b)
            else:
                row[m] = bool(abs(a) < abs(b))
        rows[other] = row
    out = pd.DataFrame.from_dict(rows, orient="index").astype("boolean")
    out.index.name = f"{product} better than"
    out.attrs = {"better": dict(_BETTER)}
    return out
