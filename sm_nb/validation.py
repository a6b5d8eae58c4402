"""Validation of the NN products (paper §3.3, §3.4): stations, rain gauges and the known truth.

* :func:`station_table` / :func:`table6` — Pearson r, p and n of each product with each soil
  moisture station, products sampled at the station's cell (the paper's Table 6), beside the
  paper's numbers (:func:`compare_table6`);
* :func:`gauge_series` — daily rain at the gauges with the products at the gauge cells (Fig. 10);
* :func:`fine_baselines` and :func:`truth_skill` — beyond the paper: skill of the downscaled
  product against the synthetic fine truth, and the *added spatial detail* (within-coarse-cell
  anomalies), next to the baselines "coarse NN replicated", "coarse NN bilinear" and CLDAS;
* the SM products and the truth on the coarse grid for triple collocation come from
  :meth:`sm_nb.Study.sm_products` and :meth:`sm_nb.Study.truth`; the TC tables are in
  :mod:`sm_nb.tc_tables`.

Every function takes and returns xarray objects or tables; none opens data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr

from .conventions import LAT, LON, PRODUCT, STATION, TIME
from .exceptions import DataError
from .grids import Grid, grid_for
from .metrics import station_stats
from .resample import bilinear_nan_aware, block_repeat, block_sum, replicate

__all__ = [
    "sample_at_stations",
    "moving_mean",
    "station_table",
    "table6",
    "compare_table6",
    "gdown",
    "gauge_series",
    "fine_baselines",
    "truth_skill",
    "versus",
]

# ---------------------------------------------------------------------------------------------
# stations and gauges
# ---------------------------------------------------------------------------------------------
def _sites(stations: Any) -> pd.DataFrame:
    if isinstance(stations, xr.Dataset | xr.DataArray):
        if STATION not in stations.dims or LAT not in stations.coords or LON not in stations.coords:
            raise DataError(f"stations have dims {tuple(stations.dims)} and coords {sorted(map(str, stations.coords))}; "
                            "expected a 'station' dim with 'lat'/'lon' coordinates")
        return pd.DataFrame({"name": stations[STATION].values.astype(str),
                             LAT: stations[LAT].values.astype(float), LON: stations[LON].values.astype(float)})
    df = pd.DataFrame(stations)
    if "name" not in df.columns:
        df = df.reset_index()
    if missing := [c for c in ("name", LAT, LON) if c not in df.columns]:
        raise DataError(f"sites table lacks column(s) {missing}; it has {list(df.columns)}, expected name, lat, lon")
    return df[["name", LAT, LON]].astype({"name": str, LAT: float, LON: float})


def _extent(c: np.ndarray) -> tuple[float, float]:
    """Outer cell edges of 1-D centres (half the end spacing beyond the end centres)."""
    c = np.sort(np.asarray(c, dtype=float))
    if c.size < 2:
        return float(c[0]), float(c[0])
    return float(c[0] - (c[1] - c[0]) / 2), float(c[-1] + (c[-1] - c[-2]) / 2)


def sample_at_stations(da: xr.DataArray, stations: Any) -> xr.DataArray:
    """Values of a gridded product in the cell that contains each station.

    Parameters
    ----------
    da : DataArray (time, lat, lon)
        Product on its own grid (native or coarse or fine), any units.
    stations : Dataset, DataArray or DataFrame
        A station dataset (``station`` dim, ``lat``/``lon`` coordinates, e.g. ``stations_sm``)
        or a sites table (``name``, ``lat``, ``lon``).

    Returns
    -------
    DataArray (station, time)
        Nearest cell centre = the containing cell on a rectilinear grid; ``da``'s name and attrs.

    Raises
    ------
    DataError
        A station outside the grid (the message names the stations and the grid's extent).
    """
    if LAT not in da.dims or LON not in da.dims:
        raise DataError(f"product {da.name!r} has dims {tuple(da.dims)}; expected lat and lon")
    df = _sites(stations)
    (s, n), (w, e) = _extent(da[LAT].values), _extent(da[LON].values)
    out = df[(df[LAT] < s) | (df[LAT] > n) | (df[LON] < w) | (df[LON] > e)]
    if len(out):
        where = ", ".join(f"{r.name} ({r.lat:.3f}°N, {r.lon:.3f}°E)" for r in out.itertuples())
        raise DataError(f"station(s) {where} outside the grid of {da.name!r} (lat {s:.3f}…{n:.3f}, "
                        f"lon {w:.3f}…{e:.3f}); expected stations inside the product's domain")
    idx = {d: xr.DataArray(df[d].to_numpy(), dims=STATION, coords={STATION: df["name"].to_numpy()}) for d in (LAT, LON)}
    res = da.sel(idx, method="nearest").reset_coords(drop=True)
    res.attrs = dict(da.attrs)
    return res.transpose(STATION, ...).rename(da.name)


def moving_mean(da: xr.DataArray, days: int) -> xr.DataArray:
    """Centred ``days``-day moving mean over time of the available days — a labelled composite.

    Parameters
    ----------
    da : DataArray (time, ...)
    days : int
        Window length (odd numbers keep it centred).

    Returns
    -------
    DataArray (time, ...)
        Mean of the finite values in each window (NaN where the window has none), named
        ``"<name> (<days>-day mean)"``, with ``cell_methods`` saying so. A gap-filled product:
        show it *beside* the daily one, never in its place.
    """
    if int(days) != days or days < 1:
        raise DataError(f"days is {days!r}; expected a positive integer")
    out = da.rolling({TIME: int(days)}, center=True, min_periods=1).mean()
    out.attrs = {**da.attrs, "cell_methods": f"time: mean (centred {int(days)}-day window of the available days)"}
    return out.rename(f"{da.name} ({int(days)}-day mean)")


def station_table(products: Mapping[str, xr.DataArray], obs: xr.DataArray, min_n: int = 30) -> pd.DataFrame:
    """Agreement of each product with each station (paper Table 6, with n, p and errors).

    Parameters
    ----------
    products : mapping label → DataArray (time, lat, lon), m3 m-3
        E.g. ``{"CLDAS": cldas, "SMAP": smap_desc, "AMSR2": amsr2_desc, "DOWNSCALED": sm}``,
        each on its own grid.
    obs : DataArray (station, time), m3 m-3
        Station soil moisture with ``lat``/``lon`` coordinates (``stations_sm["sm"]``).
    min_n : int
        Series with fewer common days get NaN statistics (paper: at least 30 days).

    Returns
    -------
    DataFrame
        Tidy: one row per (product, station) with ``r``, ``p``, ``n``, ``bias``, ``rmse``,
        ``ubrmse`` (:func:`sm_nb.metrics.station_stats`), plus ``lat``, ``lon``.
    """
    df = _sites(obs)
    o = obs.reset_coords(drop=True)
    rows = []
    for label, da in products.items():
        at = sample_at_stations(da, obs).load()  # small (station, time): sampled once, not once per statistic
        at, oo = xr.align(at.astype(np.float64), o.astype(np.float64), join="inner")
        if at.sizes[TIME] == 0:
            raise DataError(f"product {label!r} shares no day with the stations ({obs[TIME].size} station days)")
        stats = station_stats(at.assign_attrs(units=obs.attrs.get("units", "m3 m-3")), oo, min_n=min_n)
        frame = stats.to_dataframe()[["r", "p", "n", "bias", "rmse", "ubrmse"]]
        frame.insert(0, PRODUCT, label)
        rows.append(frame.reset_index())
    out = pd.concat(rows, ignore_index=True).merge(df.rename(columns={"name": STATION}), on=STATION)
    return out.astype({"n": "int64"})


def gdown(downscaled: xr.DataArray, coarse: xr.DataArray, obs: xr.DataArray, min_n: int = 30) -> pd.DataFrame:
    r"""Added value of a downscaled product over its coarse parent at stations (GDOWN, Merlin et al. 2015).

    Parameters
    ----------
    downscaled, coarse : DataArray (time, lat, lon), m3 m-3
        The downscaled product and the non-downscaled one it comes from (each on its own grid).
    obs : DataArray (station, time), m3 m-3
        In situ observations (``lat``/``lon`` coordinates per station).
    min_n : int
        Fewest days with all three valid for a station to be scored.

    Returns
    -------
    DataFrame
        One row per station: ``n``, ``r``/``bias``/``slope`` of the downscaled (``_d``) and the
        coarse (``_nd``) product, the gains ``g_r``, ``g_b``, ``g_s`` and ``gdown`` (their mean).

    Notes
    -----
    Merlin, Malbéteau, Notfi, Bacon, Er-Raki, Khabba & Jarlan (2015), Remote Sens. 7, 3783, as we
    read it: with R the correlation, B the mean difference (product − in situ) and S the slope of
    the linear regression of the product on the in situ data, over the same days,

    .. math:: G_R = \frac{|1-R_{nd}| - |1-R_d|}{|1-R_{nd}| + |1-R_d|},\;
              G_B = \frac{|B_{nd}| - |B_d|}{|B_{nd}| + |B_d|},\;
              G_S = \frac{|1-S_{nd}| - |1-S_d|}{|1-S_{nd}| + |1-S_d|},\;
              \mathrm{GDOWN} = (G_R + G_B + G_S)/3 \in [-1, 1]

    positive when downscaling brings the product closer to the stations. Unlike the RMSD, its
    sign does not depend on the coarse product's own error or on a station's representativeness.
    """
    d = sample_at_stations(downscaled, obs).astype(np.float64)
    c = sample_at_stations(coarse, obs).astype(np.float64)
    o = obs.reset_coords(drop=True).astype(np.float64)
    d, c, o = xr.align(d, c, o, join="inner")

    def stats(p: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
        r = float(np.corrcoef(p, y)[0, 1])
        slope = float(np.cov(p, y)[0, 1] / np.var(y, ddof=1))
        return r, float(np.mean(p - y)), slope

    def gain(nd: float, dd: float) -> float:
        den = abs(nd) + abs(dd)
        return (abs(nd) - abs(dd)) / den if den > 0 else 0.0

    rows = []
    for st in o[STATION].values:
        p_d, p_c, y = (np.asarray(a.sel({STATION: st}).values) for a in (d, c, o))
        ok = np.isfinite(p_d) & np.isfinite(p_c) & np.isfinite(y)
        n = int(ok.sum())
        row: dict[str, Any] = {STATION: str(st), "n": n}
        if n >= min_n and np.var(y[ok]) > 0:
            (rd, bd, sd), (rn, bn, sn) = stats(p_d[ok], y[ok]), stats(p_c[ok], y[ok])
            g = (gain(1 - rn, 1 - rd), gain(bn, bd), gain(1 - sn, 1 - sd))
            row.update(r_d=rd, r_nd=rn, bias_d=bd, bias_nd=bn, slope_d=sd, slope_nd=sn,
                       g_r=g[0], g_b=g[1], g_s=g[2], gdown=float(np.mean(g)))
        rows.append(row)
    return pd.DataFrame(rows)


def table6(tidy: pd.DataFrame, value: str = "r") -> pd.DataFrame:
    """The tidy :func:`station_table` as the paper's layout: products × stations of ``value``."""
    return tidy.pivot(index=PRODUCT, columns=STATION, values=value).reindex(tidy[PRODUCT].unique())


def compare_table6(tidy: pd.DataFrame, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our r beside the paper's, per product and station.

    Parameters
    ----------
    tidy : DataFrame
        :func:`station_table` output (products labelled ``CLDAS``, ``SMAP``, ``AMSR2``,
        ``DOWNSCALED`` to meet the paper's rows).
    paper : DataFrame, optional
        Tidy ``product, station, r``; default :func:`sm_nb.paper.table6`.

    Returns
    -------
    DataFrame
        ``product, station, r, p, n, r_paper, same_sign`` (``same_sign`` is missing where
        either r is).
    """
    if paper is None:
        from .paper import table6 as paper_table6

        paper = paper_table6()
    long = paper[[PRODUCT, STATION, "r"]].rename(columns={"r": "r_paper"})
    out = tidy[[PRODUCT, STATION, "r", "p", "n"]].merge(long, on=[PRODUCT, STATION], how="left")
    both = out["r"].notna() & out["r_paper"].notna()
    out["same_sign"] = pd.array([bool(a) if b else pd.NA for a, b in
                                 zip(np.sign(out["r"]) == np.sign(out["r_paper"]), both, strict=True)], dtype="boolean")
    return out


def gauge_series(gauges: xr.Dataset, products: Mapping[str, xr.DataArray], variable: str = "precipitation") -> xr.Dataset:
    """Rain at the gauges with the products sampled at the gauge cells (paper Figure 10).

    Parameters
    ----------
    gauges : Dataset
        ``rain_gauges``: ``precipitation`` (station, time), mm d-1, with ``lat``/``lon`` coords.
    products : mapping label → DataArray (time, lat, lon)
        E.g. ``{"downscaled": sm, "CLDAS": cldas}``.

    Returns
    -------
    Dataset (station, time)
        ``precipitation`` and one variable per product label (attrs kept).
    """
    if variable not in gauges:
        raise DataError(f"gauges lack {variable!r}; they have {sorted(gauges.data_vars)}")
    out = {variable: gauges[variable].reset_coords(drop=True)}
    for label, da in products.items():
        out[label] = sample_at_stations(da, gauges).reindex({TIME: gauges[TIME].values}).load()  # small series
    return xr.Dataset(out).assign_coords({LAT: (STATION, gauges[LAT].values), LON: (STATION, gauges[LON].values)})


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
