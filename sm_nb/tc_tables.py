"""Tables of the triple-collocation analysis (paper §3.3, notebook 04).

* :func:`product_coverage` — how much of the grid and period each SM product covers;
* :func:`tc_vs_truth` — TC's estimates (:func:`sm_nb.tc.triple_collocation`) scored against the
  actual errors against the synthetic truth (:func:`sm_nb.tc.actual_errors`);
* :func:`cross_correlation_table` — the error cross-correlation TC assumes to be zero;
* :func:`compare_tc` — our TC summary beside the paper's numbers;
* :func:`ci_width_table` — bootstrap confidence-interval widths.

Separate from :mod:`sm_nb.tc` (the estimators) to keep both modules short.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from .conventions import PRODUCT, TIME
from .exceptions import DataError

__all__ = ["product_coverage", "tc_vs_truth", "cross_correlation_table", "compare_tc", "ci_width_table"]


def product_coverage(products: Mapping[str, xr.DataArray]) -> pd.DataFrame:
    """How much of the grid and period each product covers.

    Returns
    -------
    DataFrame
        One row per product: ``coverage`` (fraction of cell-days with a value), ``median_days``
        and ``max_days`` (valid days per cell), ``n_days`` (length of the period).
    """
    rows = []
    for label, da in products.items():
        days = np.asarray(da.notnull().sum(TIME).values).ravel()
        rows.append({PRODUCT: label, "coverage": float(da.notnull().mean()), "median_days": float(np.median(days)),
                     "max_days": int(days.max()), "n_days": int(da.sizes[TIME])})
    return pd.DataFrame(rows).set_index(PRODUCT)


def tc_vs_truth(tc: xr.Dataset, actual: xr.Dataset, metrics: tuple[str, ...] = ("err_var", "rho")) -> pd.DataFrame:
    """TC estimates scored against the actual values on the same places.

    Parameters
    ----------
    tc : Dataset
        :func:`sm_nb.tc.triple_collocation` output.
    actual : Dataset
        :func:`sm_nb.tc.actual_errors` of the same products against the truth.

    Returns
    -------
    DataFrame
        One row per (product, metric): ``tc_median``, ``actual_median`` (over places where both
        exist), ``median_difference`` (TC − actual, per place), ``map_r`` (correlation of the two
        maps over places), ``n_places``, ``units``.
    """
    rows = []
    for metric in metrics:
        for prod in tc[PRODUCT].values:
            if prod not in actual[PRODUCT].values:
                raise DataError(f"product {prod!r} of the TC result is not in the actual errors ({list(actual[PRODUCT].values)})")
            a = np.asarray(tc[metric].sel({PRODUCT: prod}).values, float).ravel()
            b = np.asarray(actual[metric].sel({PRODUCT: prod}).values, float).ravel()
            ok = np.isfinite(a) & np.isfinite(b)
            n = int(ok.sum())
            rows.append({PRODUCT: str(prod), "metric": metric,
                         "tc_median": float(np.median(a[ok])) if n else np.nan,
                         "actual_median": float(np.median(b[ok])) if n else np.nan,
                         "median_difference": float(np.median(a[ok] - b[ok])) if n else np.nan,
                         "map_r": float(np.corrcoef(a[ok], b[ok])[0, 1])
                         if n > 2 and np.std(a[ok]) > 0 and np.std(b[ok]) > 0 else np.nan,
                         "n_places": n, "units": tc[metric].attrs.get("units", "")})
    return pd.DataFrame(rows)


def cross_correlation_table(ec: xr.Dataset) -> pd.DataFrame:
    """Median, quartiles and share of places above 0.2 of the true error cross-correlations.

    Parameters
    ----------
    ec : Dataset
        :func:`sm_nb.tc.error_cross_correlation` output (``err_corr`` over ``pair``).
    """
    rows = []
    for pair in ec["pair"].values:
        v = np.asarray(ec["err_corr"].sel(pair=pair).values, float).ravel()
        v = v[np.isfinite(v)]
        q1, med, q3 = np.percentile(v, [25, 50, 75]) if v.size else (np.nan,) * 3
        rows.append({"pair": str(pair), "median": med, "q1": q1, "q3": q3,
                     "share_above_0.2": float((v > 0.2).mean()) if v.size else np.nan, "n_places": int(v.size)})
    return pd.DataFrame(rows)


#: our TC summary statistic → the paper's (:func:`sm_nb.paper.tc_figures`)
_TC_STATS = {("rho", "median"): "median_r", ("rho", "q1"): "q1_r", ("rho", "whisker_low"): "lower_outlier_r",
             ("rho", "min"): "lower_outlier_r", ("err_var", "median"): "median_error_variance"}


def compare_tc(summary: pd.DataFrame, names: Mapping[str, str], paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our TC box-plot statistics beside the numbers the paper quotes (§3.3, Figure 8).

    Parameters
    ----------
    summary : DataFrame
        :func:`sm_nb.tc.tc_summary` output.
    names : mapping our product name → the paper's (``{"NN": "NN", "FY3C_desc": "FY3C", "GEOS5": "GEOS-5"}``).
    paper : DataFrame, optional
        Default :func:`sm_nb.paper.tc_figures` (only its ``preferred`` readings).

    Returns
    -------
    DataFrame
        ``product, metric, statistic, ours, paper, units`` — the paper's lower-limit outlier is
        compared with both our lower whisker end and our minimum (the text does not say which).
    """
    if paper is None:
        from .paper import tc_figures

        paper = tc_figures()
    if "preferred" in paper:
        paper = paper[paper["preferred"].astype(bool)]
    rows = []
    for rec in summary.itertuples(index=False):
        if rec.product not in names:
            continue
        for (metric, stat), pstat in _TC_STATS.items():
            if rec.metric != metric:
                continue
            hit = paper[(paper[PRODUCT] == names[rec.product]) & (paper["statistic"] == pstat)]
            rows.append({PRODUCT: rec.product, "metric": metric, "statistic": stat,
                         "ours": float(getattr(rec, stat)), "paper": float(hit["value"].iloc[0]) if len(hit) else np.nan,
                         "paper_statistic": pstat, "units": rec.units})
    return pd.DataFrame(rows)


def ci_width_table(res: xr.Dataset) -> pd.DataFrame:
    """Median and quartiles over places of the bootstrap interval widths of a TC result.

    Parameters
    ----------
    res : Dataset
        :func:`sm_nb.tc.triple_collocation` output computed with ``n_boot > 0`` (``err_var_ci``,
        ``rho_ci`` over ``quantile``).

    Returns
    -------
    DataFrame
        ``product, metric, median_width, q1_width, q3_width, n_places, units``.
    """
    if "rho_ci" not in res or "err_var_ci" not in res:
        raise DataError(f"res has no bootstrap intervals ({sorted(map(str, res.data_vars))}); run triple_collocation with n_boot > 0")
    rows = []
    for metric in ("err_var", "rho"):
        ci = res[f"{metric}_ci"]
        q = ci["quantile"].values
        width = ci.sel(quantile=q.max()) - ci.sel(quantile=q.min())
        for prod in res[PRODUCT].values:
            v = np.asarray(width.sel({PRODUCT: prod}).values, float).ravel()
            v = v[np.isfinite(v)]
            q1, med, q3 = np.percentile(v, [25, 50, 75]) if v.size else (np.nan,) * 3
            rows.append({PRODUCT: str(prod), "metric": metric, "median_width": med, "q1_width": q1, "q3_width": q3,
                         "n_places": int(v.size), "units": res[metric].attrs.get("units", "")})
    return pd.DataFrame(rows)
