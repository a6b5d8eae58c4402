"""Physics check of a scenario: *measure* what the stored datasets show, as tidy tables.

Every function takes xarray datasets as opened from the catalog (``sm_nb.open_dataset``) and
returns a pandas DataFrame with one row per (product, variable, orbit, frequency, group) and
the sample count ``n`` beside every statistic. Nothing is asserted: the numbers are compared
with the expectations of the scenario spec (§12, :data:`EXPECTED`) by :func:`compare_expectations`,
which reports whether they fall in range and leaves the judgement to the reader.

Regridding the fine truth to a product grid is an area mean over the fine pixels whose centres
fall in each product cell, with cell edges half-way between neighbouring centres — for a regular
lat/lon grid these are the cell edges, for EASE-Grid 2.0 rows and columns they are the
nearest-centre bins (:func:`regrid_truth_to`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import sparse

from .conventions import LAT, LON, STATION, TIME
from .exceptions import DataError
from .resample import bin_mean, binning
from .scenario.classes import (
    ALPINE_STEPPE,
    BARREN,
    CROPLAND,
    DESERT_STEPPE,
    FOREST,
    LAND_COVER,
    MEADOW,
    PLAYA,
    SNOW_ICE,
    WATER,
)

__all__ = [
    "COVER_GROUPS",
    "grid_table",
    "cover_fractions",
    "sample_at_sites",
    "nsdsi1",
    "summarise_checks",
    "EXPECTED",
    "regrid_truth_to",
    "cover_on_grid",
    "qaidam_mask",
    "tb_ranges_by_cover",
    "sigma40_range",
    "fine_ranges_by_cover",
    "channel_sm_correlation",
    "vegetation_weakening",
    "model_vs_truth",
    "compare_expectations",
    "physics_checks",
    "combine_tables",
]

#: land-cover groups the checks report (sm_nb class codes of :mod:`sm_nb.scenario.classes`)
COVER_GROUPS: dict[str, tuple[int, ...]] = {
    "desert": (BARREN,),
    "desert_steppe": (DESERT_STEPPE,),
    "playa": (PLAYA,),
    "steppe": (ALPINE_STEPPE,),
    "meadow": (MEADOW,),
    "forest": (FOREST,),
    "cropland": (CROPLAND,),
    "water": (WATER,),
    "snow_ice": (SNOW_ICE,),
}

_E = [  # (product, variable, orbit, frequency GHz, cover, low, high) — spec §12
    *[("smap_tb", "tbh", "asc", 1.41, c, lo, hi) for c, lo, hi in
      (("desert", 245, 265), ("meadow", 170, 200), ("forest", 235, 250), ("water", 80, 85))],
    *[("smap_tb", "tbv", "asc", 1.41, c, lo, hi) for c, lo, hi in
      (("desert", 275, 295), ("meadow", 210, 235), ("forest", 250, 262), ("water", 120, 130))],
    *[("amsr2_tb", "tbh", "asc", 10.65, c, lo, hi) for c, lo, hi in
      (("desert", 250, 270), ("meadow", 250, 265), ("forest", 265, 275), ("water", 65, 70))],
    *[("amsr2_tb", "tbv", "asc", 10.65, c, lo, hi) for c, lo, hi in
      (("desert", 295, 310), ("meadow", 265, 275), ("forest", 265, 275), ("water", 155, 165))],
    *[("amsr2_tb", "tbh", "asc", 6.925, c, lo, hi) for c, lo, hi in
      (("desert", 250, 270), ("meadow", 235, 250), ("forest", 265, 275), ("water", 64, 67))],
    *[("amsr2_tb", "mpdi", "asc", 10.65, c, lo, hi) for c, lo, hi in
      (("desert", 0.07, 0.10), ("playa", 0.15, 0.18), ("meadow", 0.01, 0.03), ("forest", 0.0, 0.005), ("water", 0.35, 0.45))],
    *[("ascat_sigma40", "sigma40", None, None, c, lo, hi) for c, lo, hi in
      (("desert", -20, -16), ("meadow", -15, -10), ("forest", -9, -7))],
    *[("truth_sm", "sm", None, None, c, lo, hi) for c, lo, hi in
      (("desert", 0.02, 0.08), ("playa", 0.15, 0.35), ("meadow", 0.20, 0.45), ("forest", 0.20, 0.40))],
    *[("modis_lst", "lst_day", None, None, c, lo, hi) for c, lo, hi in
      (("desert", 300, 320), ("meadow", 290, 302), ("forest", 288, 298))],
    *[("modis_ndvi_evi", "ndvi_peak", None, None, c, lo, hi) for c, lo, hi in
      (("desert", 0.05, 0.10), ("meadow", 0.60, 0.80), ("forest", 0.75, 0.85), ("water", -1.0, 0.0))],
]
#: expected ranges of the scenario spec §12 (orbit/frequency ``None`` = any)
EXPECTED = pd.DataFrame(_E, columns=["product", "variable", "orbit", "frequency", "cover", "expected_low", "expected_high"])
_KEYS = ["product", "variable", "orbit", "frequency"]
_QAIDAM = {"lat0": 37.27, "lon0": 94.45, "a_lon": 4.25, "b_lat": 1.5}  # spec §3 ellipse (unrotated)


# ---------------------------------------------------------------------------------------------
# regridding fine fields onto product grids
# ---------------------------------------------------------------------------------------------
def regrid_truth_to(grid_ds: xr.Dataset | xr.DataArray, truth: xr.DataArray, min_coverage: float = 0.5) -> xr.DataArray:
    """Area mean of a fine-grid field on the cells of a product grid (:func:`sm_nb.resample.bin_mean`)."""
    if not isinstance(truth, xr.DataArray):
        raise DataError(f"truth must be a DataArray (e.g. ds['sm']); got {type(truth).__name__}")
    return bin_mean(truth, grid_ds, min_coverage)


def _land_cover(land_cover_ds: xr.Dataset | xr.DataArray) -> xr.DataArray:
    if isinstance(land_cover_ds, xr.Dataset):
        if "land_cover" not in land_cover_ds:
            raise DataError(f"'land_cover' not in dataset; expected it among {sorted(map(str, land_cover_ds.data_vars))}")
        return land_cover_ds["land_cover"]
    return land_cover_ds


def _group_index(codes: np.ndarray, groups: Mapping[str, Sequence[int]]) -> np.ndarray:
    lut = np.full(256, -1, dtype=np.int64)
    for g, members in enumerate(groups.values()):
        lut[list(members)] = g
    return lut[np.asarray(codes).astype(np.int64) & 0xFF]


def cover_on_grid(
    grid_ds: xr.Dataset | xr.DataArray,
    land_cover_ds: xr.Dataset | xr.DataArray,
    groups: Mapping[str, Sequence[int]] = COVER_GROUPS,
    min_purity: float = 0.5,
) -> xr.Dataset:
    """Dominant land-cover group of each product cell (block aggregation of the fine classes).

    Parameters
    ----------
    grid_ds : Dataset or DataArray
        Product grid (``lat``/``lon`` centres).
    land_cover_ds : Dataset or DataArray (lat, lon)
        Fine-grid ``land_cover`` codes.
    groups : mapping of str to codes
        Group names and their class codes (default :data:`COVER_GROUPS`).
    min_purity : float
        Cells whose dominant group covers less than this fraction are labelled ``"mixed"``.

    Returns
    -------
    Dataset (lat, lon)
        ``cover`` (group name, ``"mixed"`` or ``"none"`` outside the fine domain) and
        ``purity`` (fraction of the cell's fine pixels in the dominant group, 1).
    """
    lc = _land_cover(land_cover_ds)
    b = binning(lc, grid_ds)
    g = _group_index(lc.values, groups).ravel()
    onehot = sparse.csr_matrix((np.ones(g.size), (np.arange(g.size), np.where(g >= 0, g, len(groups)))),
                               shape=(g.size, len(groups) + 1))
    counts = (b.matrix @ onehot).toarray()[:, : len(groups)]
    total = np.asarray(b.matrix.sum(axis=1)).ravel()
    dom = counts.argmax(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        purity = np.where(total > 0, counts.max(axis=1) / total, np.nan)
    names = np.array(list(groups), dtype=object)[dom]
    names = np.where(total == 0, "none", np.where(purity >= min_purity, names, "mixed"))
    coords = {LAT: grid_ds[LAT].values, LON: grid_ds[LON].values}
    return xr.Dataset(
        {"cover": ((LAT, LON), names.reshape(b.shape).astype(str)),
         "purity": ((LAT, LON), purity.reshape(b.shape).astype(np.float32), {"units": "1"})},
        coords=coords,
    )


def qaidam_mask(ds: xr.Dataset | xr.DataArray, elevation: xr.DataArray | None = None, max_elevation: float = 3300.0) -> xr.DataArray:
    """The Qaidam Basin floor on ``ds``'s grid: the spec §3 ellipse, below ``max_elevation`` if given a DEM.

    Parameters
    ----------
    ds : Dataset or DataArray
        Provides ``lat``/``lon``.
    elevation : DataArray (lat, lon), m, optional
        DEM on the same grid; pixels above ``max_elevation`` (the Kunlun/Qilian slopes inside
        the ellipse) are excluded.
    max_elevation : float
        Metres.

    Returns
    -------
    DataArray of bool (lat, lon)

    Notes
    -----
    Ellipse centred at 37.27°N 94.45°E with semi-axes 4.25° (lon) and 1.5° (lat) — the
    35.8–38.8°N, 90.5–99°E box of the spec, without its WNW–ESE tilt.
    """
    lat, lon = xr.broadcast(ds[LAT], ds[LON])
    q = _QAIDAM
    inside = ((lon - q["lon0"]) / q["a_lon"]) ** 2 + ((lat - q["lat0"]) / q["b_lat"]) ** 2 <= 1.0
    if elevation is not None:
        inside = inside & (elevation < max_elevation)
    return inside.transpose(LAT, LON).rename("qaidam")


# ---------------------------------------------------------------------------------------------
# ranges by land cover
# ---------------------------------------------------------------------------------------------
def _product_name(ds: xr.Dataset, product: str | None) -> str:
    return product or str(ds.attrs.get("catalog_entry", ds.attrs.get("title", "product")))


def _split(var: str) -> tuple[str, str | None]:
    base, _, orbit = var.rpartition("_")
    return (base, orbit) if base and orbit in ("asc", "desc") else (var, None)


def _flag_ok(ds: xr.Dataset, orbit: str | None, exclude_flags: int) -> xr.DataArray | None:
    name = f"flag_{orbit}"
    if not exclude_flags or orbit is None or name not in ds:
        return None
    return (ds[name].fillna(0).astype(np.int64) & exclude_flags) == 0


def _channels(ds: xr.Dataset, exclude_flags: int, prefixes: Sequence[str] | None = None, mpdi: bool = False):
    """Yield (variable, orbit, frequency, DataArray (time, lat, lon)) for every channel of ``ds``.

    With ``mpdi``, also MPDI = (Tbv − Tbh)/(Tbv + Tbh) (paper Eq. 1) for each orbit and frequency.
    """
    chans: dict[tuple[str, str | None, float | None], xr.DataArray] = {}
    for var in ds.data_vars:
        var = str(var)
        if var.startswith("flag_") or (prefixes is not None and not var.startswith(tuple(prefixes))):
            continue
        base, orbit = _split(var)
        da = ds[var]
        ok = _flag_ok(ds, orbit, exclude_flags)
        if ok is not None:
            da = da.where(ok)
        freqs = da["frequency"].values if "frequency" in da.dims else [None]
        for f in freqs:
            x = da if f is None else da.sel(frequency=f)
            key = (base, orbit, None if f is None else float(f))
            chans[key] = x
            yield (*key, x)
    if mpdi:
        for (v, o, f), h in list(chans.items()):
            if v == "tbh" and ("tbv", o, f) in chans:
                tbv = chans[("tbv", o, f)]
                x = ((tbv - h) / (tbv + h)).rename(f"mpdi_{o}")
                x.attrs = {"units": "1", "long_name": "microwave polarisation difference index"}
                yield "mpdi", o, f, x


def _running_mean(a: np.ndarray, window: int) -> np.ndarray:
    """Centred running mean over axis 0 ignoring NaNs (NaN where fewer than window/4 values)."""
    ok = np.isfinite(a)
    pad = [(window // 2 + 1, window // 2)] + [(0, 0)] * (a.ndim - 1)
    cs = np.pad(np.cumsum(np.where(ok, a, 0.0), axis=0), pad, mode="edge")
    cn = np.pad(np.cumsum(ok, axis=0), pad, mode="edge")
    cs[: window // 2 + 1] = 0.0
    cn[: window // 2 + 1] = 0
    s = cs[window:] - cs[:-window]
    n = cn[window:] - cn[:-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= max(window // 4, 1), s / n, np.nan)


def _stats(values: np.ndarray) -> dict[str, float]:
    v = values[np.isfinite(values)]
    if not v.size:
        return {"n": 0, "mean": np.nan, "p05": np.nan, "median": np.nan, "p95": np.nan}
    p05, med, p95 = np.percentile(v, [5, 50, 95])
    return {"n": int(v.size), "mean": float(v.mean()), "p05": float(p05), "median": float(med), "p95": float(p95)}


def _ranges(da: xr.DataArray, cover: xr.DataArray, keys: dict[str, Any]) -> list[dict[str, Any]]:
    vals = np.asarray(da.transpose(..., LAT, LON).values, dtype=float)
    lab = np.asarray(cover.values)
    rows = []
    for group in [g for g in pd.unique(lab.ravel()) if g not in ("none", "mixed")]:
        sel = lab == group
        rows.append({**keys, "cover": str(group), "n_cells": int(sel.sum()), **_stats(vals[..., sel])})
    return rows


def _tidy(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = ["product", "variable", "orbit", "frequency", "cover", "units", "n_cells", "n", "mean", "p05", "median", "p95"]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=cols)
    return df[[c for c in cols if c in df.columns] + [c for c in df.columns if c not in cols]]


def tb_ranges_by_cover(
    tb_ds: xr.Dataset, land_cover_ds: xr.Dataset | xr.DataArray, min_purity: float = 0.75,
    exclude_flags: int = 1 | 2, product: str | None = None,
) -> pd.DataFrame:
    """Brightness temperature (and MPDI) per band, polarisation and orbit over each land-cover group.

    Parameters
    ----------
    tb_ds : Dataset (time, [frequency,] lat, lon)
        ``smap_tb``, ``amsr2_tb`` or ``fy3c_tb`` (``tbh_asc`` … in K, ``flag_asc`` …).
    land_cover_ds : Dataset or DataArray (lat, lon)
        Fine-grid ``land_cover``; each product cell takes its dominant group (:func:`cover_on_grid`).
    min_purity : float
        Cells less pure than this are left out.
    exclude_flags : int
        Observations with any of these flag bits are left out (default frozen | snow).
    product : str, optional
        Label; defaults to the dataset's ``catalog_entry`` attribute.

    Returns
    -------
    DataFrame
        product, variable (``tbh``, ``tbv``, ``mpdi``), orbit, frequency, cover, units, n_cells,
        n (observations), mean, p05, median, p95.

    Notes
    -----
    MPDI = (Tbv − Tbh)/(Tbv + Tbh), paper Eq. (1). Expected values: scenario spec §12.
    """
    cover = cover_on_grid(tb_ds, land_cover_ds, min_purity=min_purity)["cover"]
    name = _product_name(tb_ds, product)
    rows: list[dict[str, Any]] = []
    for v, o, f, x in _channels(tb_ds, exclude_flags, prefixes=("tbh", "tbv"), mpdi=True):
        rows += _ranges(x, cover, {"product": name, "variable": v, "orbit": o, "frequency": f, "units": x.attrs.get("units", "K")})
    return _tidy(rows)


def sigma40_range(
    sigma_ds: xr.Dataset, land_cover_ds: xr.Dataset | xr.DataArray, min_purity: float = 0.75, product: str | None = None,
) -> pd.DataFrame:
    """ASCAT σ40 (dB) per orbit over each land-cover group; columns as :func:`tb_ranges_by_cover`."""
    cover = cover_on_grid(sigma_ds, land_cover_ds, min_purity=min_purity)["cover"]
    name = _product_name(sigma_ds, product)
    rows: list[dict[str, Any]] = []
    for v, o, f, x in _channels(sigma_ds, 0, prefixes=("sigma40",)):
        rows += _ranges(x, cover, {"product": name, "variable": v, "orbit": o, "frequency": f, "units": x.attrs.get("units", "dB")})
    return _tidy(rows)


def _sample_times(da: xr.DataArray, max_days: int) -> xr.DataArray:
    if TIME not in da.dims or da.sizes[TIME] <= max_days:
        return da
    idx = np.unique(np.linspace(0, da.sizes[TIME] - 1, max_days).round().astype(int))
    return da.isel({TIME: idx})


def fine_ranges_by_cover(
    da: xr.DataArray, land_cover_ds: xr.Dataset | xr.DataArray, product: str, variable: str | None = None,
    months: Sequence[int] | None = None, reduce: str | None = None, max_days: int = 40,
) -> pd.DataFrame:
    """Ranges of a fine-grid field (truth θ, MODIS LST, NDVI) over each land-cover class group.

    Parameters
    ----------
    da : DataArray ([time,] lat, lon)
        On the fine grid of ``land_cover_ds``.
    land_cover_ds : Dataset or DataArray (lat, lon)
    product, variable : str
        Labels of the rows (``variable`` defaults to ``da.name``, suffixed ``_<reduce>``).
    months : sequence of int, optional
        Keep these months (e.g. ``(6, 7, 8)`` for JJA); all days if none of them is present.
    reduce : {"max", "mean"}, optional
        Reduce over time per pixel first (e.g. ``"max"`` for the seasonal NDVI peak).
    max_days : int
        At most this many evenly spaced days enter the percentiles (memory bound for ``full``).
    """
    codes = _land_cover(land_cover_ds).transpose(LAT, LON).values
    lab = np.array(["none", *COVER_GROUPS], dtype=object)[_group_index(codes, COVER_GROUPS) + 1]
    cover = xr.DataArray(lab, dims=(LAT, LON))
    note = "all days"
    if months is not None and TIME in da.dims:
        keep = da[TIME].dt.month.isin(list(months))
        if bool(keep.any()):
            da, note = da.sel({TIME: keep}), f"months {list(months)}"
    if reduce is not None and TIME in da.dims:
        da = getattr(da, reduce)(TIME)
        note += f", per-pixel {reduce}"
    da = _sample_times(da, max_days)
    var = variable or (f"{da.name}_{reduce}" if reduce == "max" and da.name == "ndvi" else str(da.name))
    var = "ndvi_peak" if var == "ndvi_max" else var
    with warnings.catch_warnings():  # all-NaN pixels (water, permanent cloud) give NaN, as intended
        warnings.simplefilter("ignore", RuntimeWarning)
        da = da.load()
    rows = _ranges(da, cover, {"product": product, "variable": var, "orbit": None, "frequency": None,
                               "units": da.attrs.get("units", "?"), "note": note})
    return _tidy(rows)


# ---------------------------------------------------------------------------------------------
# correlation with the truth
# ---------------------------------------------------------------------------------------------
def _pearson(x: np.ndarray, y: np.ndarray, axis: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson r, sample count and OLS slope dx/dy over ``axis`` (all values if None), NaN-aware."""
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


def _aligned(product: xr.DataArray, truth_c: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    a, b = xr.align(product.transpose(TIME, LAT, LON), truth_c.transpose(TIME, LAT, LON), join="inner")
    return np.asarray(a.values, dtype=float), np.asarray(b.values, dtype=float)


def _channel_rows(product_ds: xr.Dataset, truth_c: xr.DataArray, exclude_flags: int, min_samples: int, anomaly_days: int):
    for v, o, f, x in _channels(product_ds, exclude_flags, mpdi=True):
        px, ty = _aligned(x, truth_c)
        if anomaly_days:
            px, ty = px - _running_mean(px, anomaly_days), ty - _running_mean(ty, anomaly_days)
        r_t, n_t, s_t = _pearson(px, ty, axis=0)
        ok = (n_t >= min_samples) & np.isfinite(r_t)
        keys = {"variable": v, "orbit": o, "frequency": f, "units": x.attrs.get("units", "?"), "anomaly_days": anomaly_days}
        yield keys, px, ty, r_t, n_t, s_t, ok


def channel_sm_correlation(
    product_ds: xr.Dataset, truth_sm: xr.DataArray | xr.Dataset, exclude_flags: int = 1 | 2 | 4,
    min_samples: int = 10, product: str | None = None, anomaly_days: int = 0,
) -> pd.DataFrame:
    """Pearson r of each channel of a product with the truth θ aggregated to the product's grid.

    Parameters
    ----------
    product_ds : Dataset (time, [frequency,] lat, lon)
        Tb (K), σ40 (dB) or retrieved SM (m3 m-3) product.
    truth_sm : DataArray (time, lat, lon) or Dataset with ``sm``, m3 m-3
        Fine-grid truth (daily mean 0–5 cm).
    exclude_flags : int
        Flag bits whose observations are dropped (default frozen | snow | water).
    min_samples : int
        Cells with fewer paired days are left out of the per-pixel statistics.
    product : str, optional
        Label; defaults to the dataset's ``catalog_entry`` attribute.
    anomaly_days : int
        0: correlate the series as they are. Otherwise subtract a centred running mean of this
        many days from both series first (short-term anomalies), which removes the seasonal
        co-variation of soil moisture with temperature and vegetation.

    Returns
    -------
    DataFrame
        product, variable (Tb datasets also get ``mpdi``), orbit, frequency, units, anomaly_days,
        n, r_pooled, slope_pooled (product units per 0.01 m3 m-3), n_pixels, r_temporal_median,
        slope_temporal_median, n_per_pixel_median.

    Notes
    -----
    Pooled r mixes space and time; the per-pixel temporal r (its median over cells with at
    least ``min_samples`` days) is the paper's "temporal R" analogue (§3). At fixed temperature
    Tb falls with θ, so r and the slope should be negative for Tb (spec §12 sensitivities);
    on raw series the seasonal warming and greening can outweigh that.
    """
    truth = truth_sm["sm"] if isinstance(truth_sm, xr.Dataset) else truth_sm
    truth_c = regrid_truth_to(product_ds, truth).load()
    name = _product_name(product_ds, product)
    rows = []
    for keys, px, ty, r_t, n_t, s_t, ok in _channel_rows(product_ds, truth_c, exclude_flags, min_samples, anomaly_days):
        r, n, s = _pearson(px, ty)
        rows.append({
            "product": name, **keys, "n": int(n), "r_pooled": float(r), "slope_pooled": float(s) * 0.01,
            "n_pixels": int(ok.sum()),
            "r_temporal_median": float(np.median(r_t[ok])) if ok.any() else np.nan,
            "slope_temporal_median": float(np.median(s_t[ok])) * 0.01 if ok.any() else np.nan,
            "n_per_pixel_median": float(np.median(n_t[ok])) if ok.any() else np.nan,
        })
    return pd.DataFrame(rows)


def vegetation_weakening(
    product_ds: xr.Dataset, truth_sm: xr.DataArray | xr.Dataset, veg: xr.DataArray,
    bins: Sequence[float] = (-1.0, 0.1, 0.2, 0.35, 0.5, 1.0), exclude_flags: int = 1 | 2 | 4,
    min_samples: int = 10, product: str | None = None, anomaly_days: int = 0,
) -> pd.DataFrame:
    """Per-pixel temporal r and sensitivity of each channel, binned by the cell's vegetation.

    Parameters
    ----------
    product_ds, truth_sm, exclude_flags, min_samples, product
        As for :func:`channel_sm_correlation`.
    veg : DataArray ([time,] lat, lon)
        Fine-grid NDVI (1) or VWC (kg m-2); its time mean is area-averaged to each product cell.
    bins : sequence of float
        Bin edges of the vegetation variable.
    anomaly_days : int
        As for :func:`channel_sm_correlation` (a running-mean window of e.g. 31 days isolates
        the short-term response, closest to the physical sensitivity).

    Returns
    -------
    DataFrame
        product, variable, orbit, frequency, units, anomaly_days, veg_variable, veg_bin, veg_median, n_pixels,
        r_temporal_median, slope_temporal_median (product units per 0.01 m3 m-3),
        n_per_pixel_median.

    Notes
    -----
    Vegetation attenuates the soil signal (τ–ω model, spec §8), more at X than at L band, so
    |slope| should shrink from low to high NDVI (spec §12: L-40° H −4.4 → −2.7 K per 0.01,
    X-55° H −4.2 → −1.2 K per 0.01, bare → NDVI 0.5).
    """
    truth = truth_sm["sm"] if isinstance(truth_sm, xr.Dataset) else truth_sm
    truth_c = regrid_truth_to(product_ds, truth).load()
    vmean = veg.mean(TIME) if TIME in veg.dims else veg
    vcell = np.asarray(regrid_truth_to(product_ds, vmean).values, dtype=float)
    cut = pd.cut(pd.Series(vcell.ravel()), bins=list(bins))
    name = _product_name(product_ds, product)
    rows = []
    for keys, _px, _ty, r_t, n_t, s_t, ok in _channel_rows(product_ds, truth_c, exclude_flags, min_samples, anomaly_days):
        df = pd.DataFrame({"veg": vcell.ravel(), "bin": cut, "r": r_t.ravel(), "s": s_t.ravel() * 0.01, "n": n_t.ravel()})[ok.ravel()]
        g = df.groupby("bin", observed=False)
        stats = g.agg(veg_median=("veg", "median"), n_pixels=("r", "size"), r_temporal_median=("r", "median"),
                      slope_temporal_median=("s", "median"), n_per_pixel_median=("n", "median")).reset_index()
        for _, row in stats.iterrows():
            rows.append({"product": name, **keys, "veg_variable": str(veg.name), "veg_bin": str(row["bin"]),
                         **{k: row[k] for k in stats.columns if k != "bin"}})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["n_pixels"] = out["n_pixels"].astype(int)
    return out


def _errors(m: np.ndarray, t: np.ndarray) -> dict[str, float]:
    ok = np.isfinite(m) & np.isfinite(t)
    n = int(ok.sum())
    if n == 0:
        return {"n": 0, "bias": np.nan, "rmse": np.nan, "ubrmse": np.nan, "r_pooled": np.nan}
    d = m[ok] - t[ok]
    bias = float(d.mean())
    r, _, _ = _pearson(m, t)
    return {"n": n, "bias": bias, "rmse": float(np.sqrt(np.mean(d**2))), "ubrmse": float(np.sqrt(np.mean((d - bias) ** 2))), "r_pooled": float(r)}


def model_vs_truth(
    model_ds: xr.Dataset | Mapping[str, xr.Dataset], truth_sm: xr.DataArray | xr.Dataset,
    region: xr.DataArray | None = None, region_name: str = "qaidam", min_samples: int = 10,
) -> pd.DataFrame:
    """RMSE, bias and r of model soil moisture (CLDAS, GEOS-5) against the truth on each model's grid.

    Parameters
    ----------
    model_ds : Dataset (time, lat, lon) with ``sm`` (m3 m-3), or a mapping name → Dataset
    truth_sm : DataArray (time, lat, lon) or Dataset with ``sm``, m3 m-3 (fine grid)
    region : DataArray of bool (lat, lon), optional
        Fine-grid region mask (default :func:`qaidam_mask` of the truth grid); a model cell
        belongs to it if at least half its fine pixels do.
    region_name : str
        Label of the region rows; the complement is labelled ``"rest"``.
    min_samples : int
        Cells with fewer days are left out of the per-pixel temporal r.

    Returns
    -------
    DataFrame
        model, region (``all``, ``region_name``, ``rest``), n, bias (model − truth), rmse,
        ubrmse, r_pooled, n_pixels, r_temporal_median — m3 m-3 except r.
    """
    truth = truth_sm["sm"] if isinstance(truth_sm, xr.Dataset) else truth_sm
    models = {_product_name(model_ds, None): model_ds} if isinstance(model_ds, xr.Dataset) else dict(model_ds)
    if region is None:
        region = qaidam_mask(truth)
    rows = []
    for mname, ds in models.items():
        if "sm" not in ds:
            raise DataError(f"model dataset {mname!r} lacks 'sm'; it has {sorted(map(str, ds.data_vars))}")
        tc = regrid_truth_to(ds, truth).load()
        inside = np.asarray(regrid_truth_to(ds, region.astype(np.float32)).values) >= 0.5
        mv, tv = _aligned(ds["sm"], tc)
        for label, cells in (("all", np.ones_like(inside)), (region_name, inside), ("rest", ~inside)):
            sel = np.broadcast_to(cells, mv.shape)
            m_, t_ = np.where(sel, mv, np.nan), np.where(sel, tv, np.nan)
            r_t, n_t, _ = _pearson(m_, t_, axis=0)
            ok = (n_t >= min_samples) & np.isfinite(r_t)
            rows.append({"model": mname, "region": label, **_errors(m_, t_), "n_pixels": int(ok.sum()),
                         "r_temporal_median": float(np.median(r_t[ok])) if ok.any() else np.nan})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# expectations and the whole check
# ---------------------------------------------------------------------------------------------
def compare_expectations(ranges: pd.DataFrame, expected: pd.DataFrame = EXPECTED) -> pd.DataFrame:
    """Put measured ranges beside the spec §12 expectations (report, not assert).

    Parameters
    ----------
    ranges : DataFrame
        Rows of :func:`tb_ranges_by_cover`, :func:`sigma40_range`, :func:`fine_ranges_by_cover`.
    expected : DataFrame
        Columns product, variable, orbit, frequency, cover, expected_low, expected_high
        (orbit/frequency ``None`` match any).

    Returns
    -------
    DataFrame
        One row per matched (measured, expected) pair with ``median_in_range`` (the median lies
        in the expected range) and ``overlap`` (the measured p05–p95 overlaps it).
    """
    out = []
    for _, e in expected.iterrows():
        m = (ranges["product"] == e["product"]) & (ranges["variable"] == e["variable"]) & (ranges["cover"] == e["cover"])
        if e["orbit"] is not None and not pd.isna(e["orbit"]):
            m &= ranges["orbit"] == e["orbit"]
        if e["frequency"] is not None and not pd.isna(e["frequency"]):
            m &= np.isclose(ranges["frequency"].astype(float), float(e["frequency"]))
        for _, r in ranges[m].iterrows():
            out.append({**{k: r[k] for k in [*_KEYS, "cover", "units", "n"]},
                        "expected_low": e["expected_low"], "expected_high": e["expected_high"],
                        "p05": r["p05"], "median": r["median"], "p95": r["p95"],
                        "median_in_range": bool(e["expected_low"] <= r["median"] <= e["expected_high"]),
                        "overlap": bool(r["p05"] <= e["expected_high"] and r["p95"] >= e["expected_low"])})
    return pd.DataFrame(out)


def physics_checks(open_fn: Callable[[str], xr.Dataset], anomaly_days: int = 31) -> dict[str, pd.DataFrame]:
    """Run every check on the catalog datasets and return the tables by name.

    Parameters
    ----------
    open_fn : callable
        ``open_fn(name) -> Dataset`` for catalog names (e.g. ``functools.partial(cat.open,
        config="demo", seed=0)``).
    anomaly_days : int
        Running-mean window of the anomaly versions of the correlation tables (rows with
        ``anomaly_days`` 0 are the raw series).

    Returns
    -------
    dict of str to DataFrame
        ``tb_ranges``, ``sigma40_ranges``, ``fine_ranges``, ``expectations``,
        ``channel_sm_correlation``, ``vegetation_weakening``, ``model_vs_truth``.
    """
    lc = open_fn("land_cover")
    truth = open_fn("truth_sm")["sm"]
    if truth.nbytes < 1e9:  # demo/mini: read once, regrid many times
        truth = truth.load()
    dem = open_fn("dem")
    ndvi = open_fn("modis_ndvi_evi")["ndvi"]
    tbs = {n: open_fn(n) for n in ("smap_tb", "amsr2_tb", "fy3c_tb")}
    ascat = open_fn("ascat_sigma40")
    t: dict[str, pd.DataFrame] = {}
    t["tb_ranges"] = pd.concat([tb_ranges_by_cover(ds, lc, product=n) for n, ds in tbs.items()], ignore_index=True)
    t["sigma40_ranges"] = sigma40_range(ascat, lc, product="ascat_sigma40")
    t["fine_ranges"] = pd.concat([
        fine_ranges_by_cover(truth, lc, "truth_sm"),
        fine_ranges_by_cover(open_fn("modis_lst")["lst_day"], lc, "modis_lst", months=(6, 7, 8)),
        fine_ranges_by_cover(ndvi, lc, "modis_ndvi_evi", variable="ndvi_peak", reduce="max"),
    ], ignore_index=True)
    t["expectations"] = compare_expectations(pd.concat([t["tb_ranges"], t["sigma40_ranges"], t["fine_ranges"]], ignore_index=True))
    products = {**tbs, "ascat_sigma40": ascat, **{n: open_fn(n) for n in ("smap_sm", "amsr2_sm", "fy3c_sm")}}
    windows = (0, anomaly_days)
    t["channel_sm_correlation"] = pd.concat(
        [channel_sm_correlation(ds, truth, product=n, anomaly_days=w) for w in windows for n, ds in products.items()],
        ignore_index=True)
    t["vegetation_weakening"] = pd.concat(
        [vegetation_weakening(products[n], truth, ndvi, product=n, anomaly_days=w)
         for w in windows for n in ("smap_tb", "amsr2_tb", "fy3c_tb", "ascat_sigma40")],
        ignore_index=True)
    region = qaidam_mask(dem, elevation=dem["elevation"])
    t["model_vs_truth"] = model_vs_truth({n: open_fn(n) for n in ("cldas_sm", "geos5_sm")}, truth, region=region)
    return t


def combine_tables(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack named tables into one long frame with a leading ``check`` column (for one CSV)."""
    parts = [df.assign(check=name) for name, df in tables.items() if not df.empty]
    if not parts:
        return pd.DataFrame(columns=["check"])
    out = pd.concat(parts, ignore_index=True)
    return out[["check", *[c for c in out.columns if c != "check"]]]


# ---------------------------------------------------------------------------------------------
# descriptive helpers used by the data notebook
# ---------------------------------------------------------------------------------------------
def grid_table(datasets: Mapping[str, xr.Dataset]) -> pd.DataFrame:
    """Shape, extent and spacing of each gridded dataset (one row per dataset).

    Returns
    -------
    DataFrame
        dataset, n_lat, n_lon, n_time, lat_min, lat_max, lon_min, lon_max (cell centres,
        degrees), dlat, dlon (median centre spacing, degrees), regular_lat (bool).
    """
    rows = []
    for name, ds in datasets.items():
        lat, lon = (np.asarray(ds[d].values, dtype=float) for d in (LAT, LON))
        dl = np.diff(lat)
        rows.append({
            "dataset": name, "n_lat": lat.size, "n_lon": lon.size, "n_time": int(ds.sizes.get(TIME, 0)),
            "lat_min": lat.min(), "lat_max": lat.max(), "lon_min": lon.min(), "lon_max": lon.max(),
            "dlat": float(np.median(dl)) if dl.size else np.nan,
            "dlon": float(np.median(np.diff(lon))) if lon.size > 1 else np.nan,
            "regular_lat": bool(dl.size == 0 or np.allclose(dl, dl[0], rtol=1e-4)),
        })
    return pd.DataFrame(rows)


def cover_fractions(land_cover_ds: xr.Dataset | xr.DataArray) -> pd.DataFrame:
    """Pixel count and area fraction (1, equal-area pixels assumed) of each land-cover class."""
    codes = np.asarray(_land_cover(land_cover_ds).values).astype(np.int64).ravel()
    counts = np.bincount(codes[codes >= 0], minlength=max(LAND_COVER) + 1)
    rows = [{"code": c, "class": name, "n": int(counts[c]), "fraction": counts[c] / max(codes.size, 1)}
            for c, name in LAND_COVER.items()]
    return pd.DataFrame(rows)


def sample_at_sites(da: xr.DataArray, sites: pd.DataFrame) -> xr.DataArray:
    """Values of a gridded field at the pixels nearest to each site.

    Parameters
    ----------
    da : DataArray (..., lat, lon)
    sites : DataFrame
        ``name`` (column or index), ``lat``, ``lon`` in degrees.

    Returns
    -------
    DataArray (station, ...)
        ``station`` labelled by site name; attributes of ``da`` kept.
    """
    df = pd.DataFrame(sites)
    if "name" not in df.columns:
        df = df.reset_index()
    missing = [c for c in ("name", LAT, LON) if c not in df.columns]
    if missing:
        raise DataError(f"sites table lacks column(s) {missing}; it has {list(df.columns)}, expected name, lat, lon")
    names = df["name"].astype(str).to_numpy()
    idx = {d: xr.DataArray(df[d].to_numpy(dtype=float), dims=STATION, coords={STATION: names}) for d in (LAT, LON)}
    out = da.sel(idx, method="nearest")
    out.attrs = dict(da.attrs)
    return out.transpose(STATION, ...)


def nsdsi1(refl: xr.Dataset) -> xr.DataArray:
    """NSDSI1 = (b6 − b7)/b6 from ``sur_refl_b06``/``sur_refl_b07`` (Yue et al. 2019), for display.

    Notes
    -----
    The paper (§2.1.3) uses "NSDSI" from MOD09A1 without naming the variant; NSDSI1 is the
    scenario's default. Bare-soil NSDSI1 rises with soil moisture (SWIR darkening at 2.13 µm).
    """
    for band in ("sur_refl_b06", "sur_refl_b07"):
        if band not in refl:
            raise DataError(f"{band!r} not in reflectance dataset; expected it among {sorted(map(str, refl.data_vars))}")
    b6, b7 = refl["sur_refl_b06"], refl["sur_refl_b07"]
    out = ((b6 - b7) / b6.where(b6 > 0)).rename("nsdsi1")
    out.attrs = {"units": "1", "long_name": "normalised shortwave-infrared difference soil-moisture index (b6-b7)/b6"}
    return out


def _fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.3g}"


def summarise_checks(tables: Mapping[str, pd.DataFrame]) -> str:
    """A few sentences that read the numbers off the :func:`physics_checks` tables (nothing hard-coded)."""
    lines: list[str] = []
    ex = tables.get("expectations", pd.DataFrame())
    if not ex.empty:
        lines.append(f"Expected ranges (spec §12) matched by a measured group: {len(ex)}; the median lies in the "
                     f"range for {int(ex['median_in_range'].sum())}, the 5-95 % range overlaps it for {int(ex['overlap'].sum())}.")
        for _, r in ex[~ex["median_in_range"]].iterrows():
            f = "" if pd.isna(r["frequency"]) else f" {r['frequency']:g} GHz"
            o = "" if pd.isna(r["orbit"]) else f" {r['orbit']}"
            lines.append(f"  outside: {r['product']} {r['variable']}{o}{f} over {r['cover']}: median {_fmt(r['median'])} "
                         f"(5-95 % {_fmt(r['p05'])}-{_fmt(r['p95'])}) vs expected {_fmt(r['expected_low'])}-{_fmt(r['expected_high'])} {r['units']} (n={r['n']})")
    else:
        lines.append("No measured group matches a spec §12 expectation (land-cover groups absent from this domain?).")
    cc = tables.get("channel_sm_correlation", pd.DataFrame())
    if not cc.empty:
        cc = cc if "anomaly_days" in cc else cc.assign(anomaly_days=0)
        for w, part in cc.groupby("anomaly_days"):
            lines.append("Median per-pixel temporal r of each channel with the truth on the product grid, "
                         + (f"{w}-day anomalies" if w else "raw series") + " (strongest first):")
            for prod, g in part.dropna(subset=["r_temporal_median"]).groupby("product", sort=False):
                g = g.reindex(g["r_temporal_median"].abs().sort_values(ascending=False).index)
                lines.append(f"  {prod}: " + ", ".join(
                    f"{r.variable} {r.orbit}{'' if pd.isna(r.frequency) else f' {r.frequency:g}'} {_fmt(r.r_temporal_median)}"
                    for r in g.itertuples()) + f" (n_pixels={int(g['n_pixels'].max())})")
    vw = tables.get("vegetation_weakening", pd.DataFrame())
    if not vw.empty:
        w = int(vw["anomaly_days"].max()) if "anomaly_days" in vw else 0
        vw = vw[vw["anomaly_days"] == w] if "anomaly_days" in vw else vw
        lines.append("Per-pixel sensitivity (median slope per 0.01 m3 m-3) by vegetation, "
                     + (f"{w}-day anomalies:" if w else "raw series:"))
        sub = vw[vw["variable"].isin(["tbh", "sigma40"]) & (vw["orbit"] == "asc") & (vw["n_pixels"] > 0)]
        for (prod, var, freq), g in sub.dropna(subset=["slope_temporal_median"]).groupby(
                ["product", "variable", "frequency"], dropna=False, sort=False):
            if len(g) < 2:
                continue
            f = "" if pd.isna(freq) else f" {freq:g} GHz"
            lines.append(f"  {prod} {var} asc{f} by {g.iloc[0]['veg_variable']}: " + ", ".join(
                f"{r.veg_bin} {_fmt(r.slope_temporal_median)} (n={r.n_pixels})" for r in g.itertuples()))
    mv = tables.get("model_vs_truth", pd.DataFrame())
    for _, r in mv.iterrows():
        lines.append(f"{r['model']} vs truth, {r['region']}: RMSE {_fmt(r['rmse'])}, bias {_fmt(r['bias'])} m3 m-3, "
                     f"r {_fmt(r['r_pooled'])}, median temporal r {_fmt(r['r_temporal_median'])} (n={r['n']}, {r['n_pixels']} cells)")
    return "\n".join(lines)
