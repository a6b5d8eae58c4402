"""The published numbers of Lv, Zhang & Zhu (2021) as tidy tables, for side-by-side display.

Everything here is **the paper's**, typed in from the article (Remote Sens. 13, 1583): nothing is
computed. The published numbers are package data, ``sm_nb/data/paper/*.csv`` (one file per
table, read with :mod:`importlib.resources`); this module adds the comparison logic. Every table carries a ``source`` column naming the table or section, so that a frame
printed next to sm_nb's own numbers cannot be mistaken for them.

* :func:`table3` — single microwave inputs, ascending and descending (32 values);
* :func:`table4` — the six microwave combinations;
* :func:`table5` — the fifteen microwave + auxiliary combinations;
* :func:`table6` — station correlations of CLDAS, SMAP, AMSR2 and the downscaled NN;
* :func:`tc_figures` — the triple-collocation medians and quartiles of §3.3 / §4;
* :func:`side_by_side` — sm_nb's table beside the paper's, metric by metric;
* :func:`agreement` — how well sm_nb's ranking of the rows agrees with the paper's;
* :func:`differences` — the effect of a change of inputs (row b − row a) in sm_nb and in the paper,
  e.g. for the comparisons the paper's text makes (:data:`CLAIMS`);
* :func:`summary_text` — a few printed lines comparing the levels of both tables.

The ``inputs`` column of Tables 3–5 names each row with sm_nb input names (see
:mod:`sm_nb.preprocess`), joined with ``" + "`` in sm_nb's column order (as
:func:`sm_nb.selection.combination_label`), so the tables merge with
:func:`sm_nb.selection.evaluate_combinations`. The paper's σ40 and BTI carry no pass; they are
mapped to ASCAT's ascending pass, as ``sm_nb.preprocess`` does [A].
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ConfigError, DataError

__all__ = [
    "CITATION",
    "METRICS",
    "table3",
    "table4",
    "table5",
    "table6",
    "tc_figures",
    "side_by_side",
    "agreement",
    "differences",
    "summary_text",
    "single_additions",
    "claims_table",
    "CLAIMS",
]

CITATION = "Lv, Zhang & Zhu (2021) Remote Sens. 13, 1583"
#: the four columns of the paper's quality index (§2.2.2), as named by sm_nb.metrics
METRICS = ("rho_spatial", "rho_temporal", "rmse", "mae")

#: the published tables are package data: ``sm_nb/data/paper/<name>.csv``, one row per
#: published value set, typed in from the article; read by :func:`_read`
_DATA = "data/paper"
#: the numeric (float64) and boolean columns of the CSV files; every other column is text
_FLOATS = (*METRICS, "r", "value")
_BOOLS = ("preferred",)

_TVH = "SMAP_TBV_A + AMSR2_TBH_D"
_TVM = "SMAP_TBV_A + AMSR2_MPDI_D"
_MW3 = "SMAP_TBV_A + AMSR2_TBH_D + ASCAT_BTI_A"
#: comparisons stated in the paper's text (§3.1, §3.2, abstract): (a, b, claim) where the paper
#: finds b better than a in the metric the claim names; labels in sm_nb input names
CLAIMS: dict[int, list[tuple[str, str, str]]] = {
    3: [
        ("SMAP_TBH_A", "SMAP_TBV_A", "1.41 GHz: Tbv more spatially sensitive than Tbh (ascending)"),
        ("SMAP_TBH_D", "SMAP_TBV_D", "1.41 GHz: Tbv more spatially sensitive than Tbh (descending)"),
        ("SMAP_TBV_D", "SMAP_TBV_A", "1.41 GHz Tbv: ascending better than descending in all four scores"),
        ("AMSR2_6.9_TBV_D", "AMSR2_6.9_TBH_D", "6.9 GHz: Tbh more sensitive than Tbv"),
        ("AMSR2_7.3_TBV_D", "AMSR2_7.3_TBH_D", "7.3 GHz: Tbh more sensitive than Tbv"),
        ("AMSR2_10.7_TBV_D", "AMSR2_10.7_TBH_D", "10.7 GHz: Tbh more sensitive than Tbv"),
        ("AMSR2_10.7_TBV_D", "AMSR2_10.7_MPDI_D", "10.7 GHz: MPDI more spatially sensitive than Tbv"),
        ("AMSR2_6.9_TBH_D", "AMSR2_10.7_TBH_D", "AMSR2: 10.7 GHz better than 6.9 GHz"),
        ("AMSR2_7.3_TBH_D", "AMSR2_10.7_TBH_D", "AMSR2: 10.7 GHz better than 7.3 GHz"),
        ("FY3C_10.7_TBH_D", "AMSR2_10.7_TBH_D", "10.7 GHz: AMSR2 better than FY-3C"),
        ("ASCAT_SIGMA40_A", "ASCAT_BTI_A", "ASCAT: BTI better than σ40 in all four scores"),
    ],
    4: [
        (_TVM, _TVH, "TBV + TBH better than TBV + MPDI"),
        (_TVH, _TVH + " + ASCAT_SIGMA40_A", "adding σ40 lowers RMSE and MAE"),
        (_TVH, _MW3, "adding BTI lowers RMSE and MAE"),
        (_TVH + " + ASCAT_SIGMA40_A", _MW3, "BTI gives a higher temporal correlation than σ40"),
        (_TVM + " + ASCAT_SIGMA40_A", _TVM + " + ASCAT_BTI_A", "BTI gives a higher temporal correlation than σ40 (MPDI)"),
    ],
    5: [
        (_MW3, _MW3 + " + NDVI", "vegetation (NDVI) improves all four scores"),
        (_MW3 + " + EVI", _MW3 + " + NDVI", "NDVI better than EVI (spatial correlation)"),
        (_MW3, _MW3 + " + DEM", "DEM improves the spatial and temporal correlation"),
        (_MW3, _MW3 + " + SLOPE", "SLOPE improves the scores"),
        (_MW3, _MW3 + " + LST", "LST: the largest temporal gain of any single auxiliary"),
        (_MW3, _MW3 + " + NSDSI", "NSDSI improves the scores"),
        (_MW3 + " + NDVI", _MW3 + " + NDVI + DEM + SLOPE", "terrain adds to vegetation"),
        (_MW3 + " + NDVI + NSDSI + DEM + SLOPE", _MW3 + " + NDVI + LST + NSDSI + DEM + SLOPE",
         "adding LST to the best spatial set: temporal up, spatial down (most balanced)"),
        (_MW3, _MW3 + " + NDVI + LST + NSDSI + DEM + SLOPE",
         "the final network improves all four scores (abstract: 0.597→0.669, 0.401→0.475, 0.051→0.046, 0.041→0.036)"),
    ],
}


def _read(name: str) -> pd.DataFrame:
    """``sm_nb/data/paper/<name>.csv`` as a DataFrame: text columns as ``str`` (empty cells stay
    ``""``), :data:`_FLOATS` columns as float64 (round-trip exact), :data:`_BOOLS` as bool."""
    text = resources.files("sm_nb").joinpath(f"{_DATA}/{name}.csv").read_text(encoding="utf-8")
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    for col in df.columns:
        if col in _FLOATS:
            df[col] = df[col].astype("float64")
        elif col in _BOOLS:
            if not df[col].isin(["True", "False"]).all():
                raise DataError(f"package data {name}.csv column {col!r} holds {sorted(set(df[col]))}; expected True/False")
            df[col] = df[col] == "True"
    return df


def _frame(df: pd.DataFrame, source: str) -> pd.DataFrame:
    df["source"] = f"{CITATION}, {source}"
    df.attrs = {"source": f"{CITATION}, {source}", "note": "published values, not computed by sm_nb"}
    return df


def table3() -> pd.DataFrame:
    """The paper's Table 3: each single microwave input against CLDAS.

    Returns
    -------
    DataFrame
        32 rows in the paper's order (each printed row: ascending, then descending; the ASCAT
        row last: σ40 then BTI) with ``sensor``, ``band`` (as printed), ``orbit`` (``asc``,
        ``desc`` or ``n/a`` for ASCAT), ``paper_label``, ``inputs`` (sm_nb name), the four
        metrics (ρ in 1, RMSE and MAE in m3 m-3), ``note`` and ``source``.

    Notes
    -----
    The printed last row holds σ40 under "Ascending" and BTI under "Descending": two inputs side
    by side, not two passes. Both are mapped to the ascending ASCAT pass (the paper's "σ40" and
    "BTI" resolve to ``ASCAT_SIGMA40_A`` / ``ASCAT_BTI_A`` in :mod:`sm_nb.preprocess`) [A].
    """
    return _frame(_read("table3"), "Table 3")


def table4() -> pd.DataFrame:
    """The paper's Table 4: six microwave combinations against CLDAS.

    Returns
    -------
    DataFrame
        6 rows in the paper's order: ``paper_label`` (as printed), ``inputs`` (sm_nb names),
        the four metrics, ``note`` and ``source``. ``AMSR2_TBH_D``/``AMSR2_MPDI_D`` are the
        10.7 GHz descending channel (the table's footnote); σ40 and BTI are ASCAT's [A: ascending].
    """
    return _frame(_read("table4"), "Table 4")


def table5() -> pd.DataFrame:
    """The paper's Table 5: the microwave inputs (TBV_TBH_BTI) plus auxiliaries, against CLDAS.

    Returns
    -------
    DataFrame
        15 rows in the paper's order: ``group`` (the table's sub-headings), ``paper_label`` (as
        printed, with its spelling ``NSDDSI`` for NSDSI), ``inputs`` (sm_nb names: TBV =
        ``SMAP_TBV_A``, TBH = ``AMSR2_TBH_D`` (10.7 GHz), BTI = ``ASCAT_BTI_A``), the four metrics,
        ``note`` and ``source``. The first row repeats Table 4's third row; the last is the final
        network of §3.2 and §4.
    """
    return _frame(_read("table5"), "Table 5")


def table6() -> pd.DataFrame:
    """The paper's Table 6: Pearson r of each product with the six soil-moisture stations.

    Returns
    -------
    DataFrame
        24 tidy rows: ``product`` (``CLDAS``, ``SMAP``, ``AMSR2``, ``DOWNSCALED``), ``station``
        (Table 6 spelling; §2.1.4 writes "Nomuhong", §3.4 "WuUlan"), ``r`` (1) and ``source``.
        Pivot with ``df.pivot(index="product", columns="station", values="r")`` for the
        printed layout.
    """
    return _frame(_read("table6"), "Table 6")


def tc_figures() -> pd.DataFrame:
    """The triple-collocation statistics quoted in §3.3 (Figure 8), the abstract and §4.

    Returns
    -------
    DataFrame
        Tidy rows ``product`` (``NN``, ``FY3C``, ``GEOS-5``), ``statistic``
        (``median_r``, ``q1_r``, ``lower_outlier_r``, ``median_error_variance``), ``value``,
        ``units`` (``1`` or ``(m3 m-3)2``), ``where`` (the part of the paper quoting it),
        ``preferred`` (False for the one contradictory reading) and ``note``.

    Notes
    -----
    The NN's median error variance is printed twice differently: 0.00003 in the abstract and
    §4, 0.0003 in §3.3 ("0.0003 (NN) < 0.00017 (FY3C) < 0.00030 (GEOS-5)"). Only 0.00003 makes
    that inequality and the claim that the NN has the lowest error variance true, so it is
    marked ``preferred``; both rows are kept.
    """
    return _frame(_read("tc_figures"), "§3.3, Figure 8, abstract and §4")


# ---------------------------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------------------------
def _key(label: str) -> str:
    """The canonical label of a ``" + "``-joined combination (aliases and order resolved)."""
    from .selection import combination_label

    return combination_label(str(label).split(" + "))


def side_by_side(ours: pd.DataFrame, paper: pd.DataFrame, on: str = "inputs",
                 metrics: Sequence[str] = METRICS, how: str = "outer") -> pd.DataFrame:
    """sm_nb's table beside the paper's: each metric followed by the paper's value.

    Parameters
    ----------
    ours : DataFrame
        E.g. :func:`sm_nb.selection.evaluate_combinations` (one row per combination).
    paper : DataFrame
        :func:`table3`, :func:`table4` or :func:`table5` (or a subset).
    on : str
        Key column present in both. For ``"inputs"`` the labels are compared as sets of
        canonical sm_nb inputs, so ``"AMSR2_TBH_D"`` matches ``"AMSR2_10.7_TBH_D"`` and the
        order inside a label does not matter.
    metrics : sequence of str
        Columns shown pairwise as ``<metric>`` (sm_nb) and ``<metric>_paper``.
    how : {"outer", "inner", "paper", "ours"}
        Rows kept: all (paper's order, then sm_nb-only rows), both, the paper's or sm_nb's.

    Returns
    -------
    DataFrame
        The paper's descriptive columns (``paper_label``, ``group``, ``orbit`` … where present),
        ``on``, the metric pairs, sm_nb's remaining columns (held-out ``cv_*`` scores, counts,
        times), then the paper table's ``note``. ``attrs["note"]`` says which columns are the paper's.
    """
    if how not in ("outer", "inner", "paper", "ours"):
        raise ConfigError(f"how is {how!r}; expected 'outer', 'inner', 'paper' or 'ours'")
    for frame, label in ((ours, "ours"), (paper, "paper")):
        if on not in frame.columns:
            raise DataError(f"{label} has no column {on!r}; it has {list(frame.columns)}")
    missing = [m for m in metrics if m not in ours.columns or m not in paper.columns]
    if missing:
        raise DataError(f"metric column(s) {missing} missing from ours ({list(ours.columns)}) "
                        f"or the paper's table ({list(paper.columns)})")
    keyf = _key if on == "inputs" else str
    o = ours.assign(_key=[keyf(v) for v in ours[on]])
    p = paper.assign(_key=[keyf(v) for v in paper[on]])
    for frame, label in ((o, "ours"), (p, "paper")):
        dup = frame["_key"][frame["_key"].duplicated()].tolist()
        if dup:
            raise DataError(f"{label} has duplicate rows for {on} = {dup}; expected one row per key")
    p_only = [c for c in p.columns if c not in (on, "_key", "source", *metrics)]
    p = p[["_key", *p_only, *metrics]].rename(columns={m: f"{m}_paper" for m in metrics})
    p = p.rename(columns={c: f"{c}_paper" for c in p_only if c in o.columns})
    merge_how = {"outer": "outer", "inner": "inner", "paper": "right", "ours": "left"}[how]
    merged = o.merge(p, on="_key", how=merge_how, sort=False)
    order = {k: i for i, k in enumerate(p["_key"])}
    extra = {k: len(order) + i for i, k in enumerate(o["_key"]) if k not in order}
    merged = merged.assign(_order=[order.get(k, extra.get(k)) for k in merged["_key"]])
    merged = merged.sort_values("_order", kind="stable").reset_index(drop=True)
    merged[on] = merged[on].where(merged[on].notna(), merged["_key"])
    desc = [c if c not in o.columns else f"{c}_paper" for c in p_only]
    notes = [c for c in desc if c in ("note", "note_paper")]
    desc = [c for c in desc if c not in notes]
    pairs = [c for m in metrics for c in (m, f"{m}_paper")]
    rest = [c for c in o.columns if c not in (on, "_key", *metrics)]
    out = merged[[*desc, on, *pairs, *rest, *notes]]
    out.attrs = {"note": f"columns ending in '_paper' and {desc} are published values ({CITATION}); "
                         "the others are computed by sm_nb"}
    return out


def agreement(table: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """How sm_nb's values relate to the paper's in a :func:`side_by_side` table.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`side_by_side` (columns ``<metric>`` and ``<metric>_paper``).
    metrics : sequence of str

    Returns
    -------
    DataFrame
        One row per metric: ``n`` (rows with both values), ``spearman_r`` (rank agreement of
        the rows: 1 = the same ordering), ``mean_ours``, ``mean_paper``, ``best_ours`` and
        ``best_paper`` (the row label with the best value: highest ρ, lowest RMSE/MAE).
    """
    from scipy.stats import spearmanr

    key = "inputs" if "inputs" in table.columns else table.columns[0]
    rows = []
    for m in metrics:
        if m not in table.columns or f"{m}_paper" not in table.columns:
            raise DataError(f"table lacks {m!r} or {m + '_paper'!r}; expected the output of side_by_side")
        both = table[[key, m, f"{m}_paper"]].dropna()
        higher = m.startswith(("rho", "cv_rho"))
        r = float(spearmanr(both[m], both[f"{m}_paper"]).statistic) if len(both) >= 3 else np.nan
        rows.append({"metric": m, "n": len(both), "spearman_r": r,
                     "mean_ours": float(both[m].mean()) if len(both) else np.nan,
                     "mean_paper": float(both[f"{m}_paper"].mean()) if len(both) else np.nan,
                     "best_ours": both.loc[_best(both[m], higher), key] if len(both) else None,
                     "best_paper": both.loc[_best(both[f"{m}_paper"], higher), key] if len(both) else None})
    return pd.DataFrame(rows)


def differences(table: pd.DataFrame, pairs: Sequence[Sequence[Any]],
                metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """The effect of going from combination a to b, in sm_nb and in the paper.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`side_by_side` (``inputs``, ``<metric>``, ``<metric>_paper``).
    pairs : sequence of (a, b) or (a, b, claim)
        Rows to compare, as input lists or ``" + "`` labels; ``claim`` is the paper's statement
        about this comparison (shown in the output).
    metrics : sequence of str

    Returns
    -------
    DataFrame
        One row per pair and metric: ``from``, ``to``, ``claim``, ``metric``, ``ours`` and
        ``paper`` (value of b minus value of a), ``same_sign`` (True/False, or None when either
        difference is missing or zero). For ρ a positive difference is an improvement, for
        RMSE/MAE a negative one.
    """
    keys = {_key(v): i for i, v in enumerate(table["inputs"])}
    rows = []
    for pair in pairs:
        if len(pair) not in (2, 3):
            raise ConfigError(f"pair {pair!r}; expected (a, b) or (a, b, claim)")
        a, b = (_key(p if isinstance(p, str) else " + ".join(p)) for p in pair[:2])
        missing = [k for k in (a, b) if k not in keys]
        if missing:
            raise DataError(f"combination(s) {missing} not in the table; it has {list(keys)}")
        ra, rb = table.iloc[keys[a]], table.iloc[keys[b]]
        for m in metrics:
            ours, theirs = float(rb[m] - ra[m]), float(rb[f"{m}_paper"] - ra[f"{m}_paper"])
            ok = np.isfinite(ours) and np.isfinite(theirs) and ours != 0 and theirs != 0
            rows.append({"from": a, "to": b, "claim": pair[2] if len(pair) == 3 else "", "metric": m,
                         "ours": ours, "paper": theirs,
                         "same_sign": bool(np.sign(ours) == np.sign(theirs)) if ok else None})
    return pd.DataFrame(rows)


def claims_table(diffs: pd.DataFrame) -> pd.DataFrame:
    """:func:`differences` with one row per comparison: ``<metric>`` (sm_nb), ``<metric>_paper``
    and ``<metric>_agrees`` for each metric, after ``from``, ``to`` and ``claim``."""
    if diffs.empty:
        return pd.DataFrame(columns=["from", "to", "claim"])
    keys = ["from", "to", "claim"]
    order = list(dict.fromkeys(map(tuple, diffs[keys].values.tolist())))
    out = pd.DataFrame(order, columns=keys)
    for m in dict.fromkeys(diffs["metric"]):
        part = diffs[diffs["metric"] == m].set_index(keys)
        idx = pd.MultiIndex.from_tuples(order, names=keys)
        part = part.reindex(idx)
        out[m], out[f"{m}_paper"] = part["ours"].to_numpy(), part["paper"].to_numpy()
        out[f"{m}_agrees"] = part["same_sign"].to_numpy()
    return out


def single_additions(table: pd.DataFrame, base: Sequence[str], additions: Sequence[str],
                     metrics: Sequence[str] = ("rho_spatial", "rho_temporal")) -> pd.DataFrame:
    """The gain from adding one input to ``base``, for each addition, in sm_nb and in the paper.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`side_by_side` holding the row ``base`` and rows ``base + addition``.
    base : sequence of str
        The inputs every row shares (e.g. the three microwave inputs of Table 5).
    additions : sequence of str
        Single inputs added to ``base``; those without a row in ``table`` are left out.
    metrics : sequence of str

    Returns
    -------
    DataFrame
        One row per metric and addition: ``metric``, ``added``, ``ours`` and ``paper`` (the
        change of the score), ``rank_ours`` and ``rank_paper`` (1 = the largest improvement:
        highest for ρ, lowest for RMSE/MAE; NaN where a value is missing).
    """
    keys = {_key(v) for v in table["inputs"]}
    label = " + ".join(base)
    present = [a for a in additions if _key(f"{label} + {a}") in keys]
    if _key(label) not in keys or not present:
        raise DataError(f"table lacks the row {label!r} or every row {label!r} + one of {list(additions)}")
    d = differences(table, [(label, f"{label} + {a}") for a in present], metrics)
    d["added"] = [a for a in present for _ in metrics]
    better_high = d["metric"].str.startswith(("rho", "cv_rho"))
    for col in ("ours", "paper"):
        score = d[col].where(better_high, -d[col])
        d[f"rank_{col}"] = score.groupby(d["metric"]).rank(ascending=False, method="min")
    return d[["metric", "added", "ours", "paper", "rank_ours", "rank_paper"]].sort_values(
        ["metric", "rank_paper"], kind="stable").reset_index(drop=True)


def summary_text(table: pd.DataFrame, metrics: Sequence[str] = METRICS) -> str:
    """Printable lines comparing the levels and ranking of sm_nb's and the paper's values.

    One line per metric: mean and range over the rows with both values, in sm_nb and in the
    paper, and the Spearman rank correlation of the rows (from :func:`agreement`).
    """
    agree = agreement(table, metrics).set_index("metric")
    lines = []
    for m in metrics:
        both = table[[m, f"{m}_paper"]].dropna()
        if both.empty:
            lines.append(f"{m}: no row has both values")
            continue
        ours, theirs = both[m], both[f"{m}_paper"]
        lines.append(f"{m}: sm_nb mean {ours.mean():.3f} (range {ours.min():.3f} to {ours.max():.3f}), "
                     f"paper {theirs.mean():.3f} ({theirs.min():.3f} to {theirs.max():.3f}); "
                     f"rank agreement Spearman r = {agree.loc[m, 'spearman_r']:.2f} over {len(both)} rows")
    return "\n".join(lines)


def _best(values: pd.Series, higher: bool) -> Any:
    return values.idxmax() if higher else values.idxmin()
