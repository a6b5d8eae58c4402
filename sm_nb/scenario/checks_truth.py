"""Scenario physics checks against the truth: land-cover groups on product grids, the Qaidam
mask, and how each product's channels (and each land-surface model) follow the true soil moisture.

Part of the scenario's physics check (:mod:`sm_nb.scenario.checks` assembles the tables). The
fine truth is put on a product grid with :func:`sm_nb.resample.bin_mean` (area mean over the
fine pixels whose centres fall in each product cell, nearest-centre bins on EASE-Grid 2.0);
correlations use :func:`sm_nb.metrics.pearson_stats`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import sparse

from ..conventions import LAT, LON, TIME
from ..exceptions import DataError
from ..metrics import pearson_stats
from ..resample import bin_mean, binning
from .classes import (
    ALPINE_STEPPE,
    BARREN,
    CROPLAND,
    DESERT_STEPPE,
    FOREST,
    MEADOW,
    PLAYA,
    SNOW_ICE,
    WATER,
)

__all__ = [
    "COVER_GROUPS",
    "cover_on_grid",
    "qaidam_mask",
    "channel_sm_correlation",
    "vegetation_weakening",
    "model_vs_truth",
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
_QAIDAM = {"lat0": 37.27, "lon0": 94.45, "a_lon": 4.25, "b_lat": 1.5}  # spec §3 ellipse (unrotated)


# ---------------------------------------------------------------------------------------------
# land cover on product grids
# ---------------------------------------------------------------------------------------------
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
# channels of a product
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


# ---------------------------------------------------------------------------------------------
# correlation with the truth
# ---------------------------------------------------------------------------------------------
def _truth_on(truth: xr.DataArray, product_ds: xr.Dataset, cache: dict | None) -> xr.DataArray:
    """The truth area-averaged onto the product's grid (:func:`bin_mean`), computed once per grid
    when a ``cache`` dict is shared between calls (products on the same grid)."""
    if cache is None:
        return bin_mean(truth, product_ds).load()
    key = (np.asarray(product_ds[LAT].values).tobytes(), np.asarray(product_ds[LON].values).tobytes())
    if key not in cache:
        cache[key] = bin_mean(truth, product_ds).load()
    return cache[key]


def _aligned(product: xr.DataArray, truth_c: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    a, b = xr.align(product.transpose(TIME, LAT, LON), truth_c.transpose(TIME, LAT, LON), join="inner")
    return np.asarray(a.values, dtype=float), np.asarray(b.values, dtype=float)


def _channel_rows(product_ds: xr.Dataset, truth_c: xr.DataArray, exclude_flags: int, min_samples: int, anomaly_days: int):
    for v, o, f, x in _channels(product_ds, exclude_flags, mpdi=True):
        px, ty = _aligned(x, truth_c)
        if anomaly_days:
            px, ty = px - _running_mean(px, anomaly_days), ty - _running_mean(ty, anomaly_days)
        r_t, n_t, s_t = pearson_stats(px, ty, axis=0)
        ok = (n_t >= min_samples) & np.isfinite(r_t)
        keys = {"variable": v, "orbit": o, "frequency": f, "units": x.attrs.get("units", "?"), "anomaly_days": anomaly_days}
        yield keys, px, ty, r_t, n_t, s_t, ok


def channel_sm_correlation(
    product_ds: xr.Dataset, truth_sm: xr.DataArray | xr.Dataset, exclude_flags: int = 1 | 2 | 4,
    min_samples: int = 10, product: str | None = None, anomaly_days: int = 0, regridded: dict | None = None,
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
    regridded : dict, optional
        Shared between calls, keeps the truth on each product grid met so far (the same numbers;
        :func:`sm_nb.scenario.checks.physics_checks` regrids once per grid, not once per call).

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
    truth_c = _truth_on(truth, product_ds, regridded)
    name = _product_name(product_ds, product)
    rows = []
    for keys, px, ty, r_t, n_t, s_t, ok in _channel_rows(product_ds, truth_c, exclude_flags, min_samples, anomaly_days):
        r, n, s = pearson_stats(px, ty)
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
    min_samples: int = 10, product: str | None = None, anomaly_days: int = 0, regridded: dict | None = None,
) -> pd.DataFrame:
    """Per-pixel temporal r and sensitivity of each channel, binned by the cell's vegetation.

    Parameters
    ----------
    product_ds, truth_sm, exclude_flags, min_samples, product, regridded
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
    truth_c = _truth_on(truth, product_ds, regridded)
    vmean = veg.mean(TIME) if TIME in veg.dims else veg
    vcell = np.asarray(bin_mean(vmean, product_ds).values, dtype=float)
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
    r, _, _ = pearson_stats(m, t)
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
        tc = bin_mean(truth, ds).load()
        inside = np.asarray(bin_mean(region.astype(np.float32), ds).values) >= 0.5
        mv, tv = _aligned(ds["sm"], tc)
        for label, cells in (("all", np.ones_like(inside)), (region_name, inside), ("rest", ~inside)):
            sel = np.broadcast_to(cells, mv.shape)
            m_, t_ = np.where(sel, mv, np.nan), np.where(sel, tv, np.nan)
            r_t, n_t, _ = pearson_stats(m_, t_, axis=0)
            ok = (n_t >= min_samples) & np.isfinite(r_t)
            rows.append({"model": mname, "region": label, **_errors(m_, t_), "n_pixels": int(ok.sum()),
                         "r_temporal_median": float(np.median(r_t[ok])) if ok.any() else np.nan})
    return pd.DataFrame(rows)
