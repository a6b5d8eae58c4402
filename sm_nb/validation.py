"""Validation of the NN products (paper §3.3, §3.4): stations, rain gauges and the known truth.

* :func:`station_table` / :func:`table6` — Pearson r, p and n of each product with each soil
  moisture station, products sampled at the station's cell (the paper's Table 6), beside the
  paper's numbers (:func:`compare_table6`);
* :func:`gauge_series` — daily rain at the gauges with the products at the gauge cells (Fig. 10);
* :func:`fine_baselines`, :func:`truth_skill` and :func:`versus` (in :mod:`sm_nb.fine_skill`,
  re-exported here) — beyond the paper: skill of the 1 km products against the synthetic truth;
* the SM products and the truth on the coarse grid for triple collocation come from
  :meth:`sm_nb.Study.sm_products` and :meth:`sm_nb.Study.truth`; the TC tables are in
  :mod:`sm_nb.tc_tables`.

Every function takes and returns xarray objects or tables; none opens data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .conventions import LAT, LON, PRODUCT, STATION, TIME
from .exceptions import DataError
from .fine_skill import fine_baselines, truth_skill, versus
from .metrics import station_stats

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
