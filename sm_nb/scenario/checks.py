"""Physics check of a scenario: *measure* what the stored datasets show, as tidy tables.

Every function takes xarray datasets as opened from the catalog (``sm_nb.open_dataset``) and
returns a pandas DataFrame with one row per (product, variable, orbit, frequency, group) and
the sample count ``n`` beside every statistic. Nothing is asserted: the numbers are compared
with the expectations of the scenario spec (§12, :data:`EXPECTED`) by :func:`compare_expectations`,
which reports whether they fall in range and leaves the judgement to the reader.

The checks against the truth (cover groups on product grids, channel–soil-moisture correlation,
vegetation weakening, models vs truth) are in :mod:`sm_nb.scenario.checks_truth`; this module
holds the expected ranges, the range tables and :func:`physics_checks`, which runs them all.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..conventions import LAT, LON, TIME
from .checks_truth import (
    COVER_GROUPS,
    _channels,
    _group_index,
    _land_cover,
    _product_name,
    channel_sm_correlation,
    cover_on_grid,
    model_vs_truth,
    qaidam_mask,
    vegetation_weakening,
)
from .classes import LAND_COVER

__all__ = [
    "EXPECTED",
    "cover_fractions",
    "tb_ranges_by_cover",
    "sigma40_range",
    "fine_ranges_by_cover",
    "compare_expectations",
    "physics_checks",
    "combine_tables",
    "summarise_checks",
]

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


# ---------------------------------------------------------------------------------------------
# ranges by land cover
# ---------------------------------------------------------------------------------------------
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
    # product grids are coarse: read each product once (demo/mini), regrid the truth once per grid
    products = {n: ds.load() if ds.nbytes < 1e9 else ds for n, ds in products.items()}
    regridded: dict = {}
    windows = (0, anomaly_days)
    t["channel_sm_correlation"] = pd.concat(
        [channel_sm_correlation(ds, truth, product=n, anomaly_days=w, regridded=regridded)
         for w in windows for n, ds in products.items()],
        ignore_index=True)
    t["vegetation_weakening"] = pd.concat(
        [vegetation_weakening(products[n], truth, ndvi, product=n, anomaly_days=w, regridded=regridded)
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


def cover_fractions(land_cover_ds: xr.Dataset | xr.DataArray) -> pd.DataFrame:
    """Pixel count and area fraction (1, equal-area pixels assumed) of each land-cover class."""
    codes = np.asarray(_land_cover(land_cover_ds).values).astype(np.int64).ravel()
    counts = np.bincount(codes[codes >= 0], minlength=max(LAND_COVER) + 1)
    rows = [{"code": c, "class": name, "n": int(counts[c]), "fraction": counts[c] / max(codes.size, 1)}
            for c, name in LAND_COVER.items()]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------
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
