"""The 1 km product beyond the paper: gap-filled coarse field, scale-aware variants, truth-free choice.

Everything here is xarray in, xarray out (a :class:`sm_nb.Study` gathers the inputs):

* :func:`gap_filled_coarse` — the ranked family of networks of :mod:`sm_nb.gapfill` applied to
  observed and to filled coarse inputs: a daily coarse field with a provenance code per cell-day;
* :func:`fine_filled_inputs` — the fine-grid inputs with the filled microwave replicated and
  the gappy auxiliaries (LST) filled from the nearest day;
* :func:`variants` — the fine products: the paper's network on fine inputs (reproduction,
  unchanged), the gap-filled coarse field interpolated bilinearly, plus the paper's within-cell
  anomalies shrunk by α, plus a within-cell network's anomalies shrunk by β;
* :func:`cross_scale_variant` — bilinear coarse NN + detail in the sensitivity × anomaly form,
  sensitivities fitted between 0.25° cells (:mod:`sm_nb.crossscale`);
* :func:`choose_without_truth` — the recommendation: the highest *expected* 1 km detail skill,
  estimated one scale up (fit at 0.5°, predict the coarse NN's 0.25° anomalies) × the reliability
  of the 1 km anomalies. Variants shrunk against CLDAS at 0.0625° keep their held-out skill
  against CLDAS as a column, but it is not an estimate of their 1 km skill: CLDAS's own
  within-cell detail comes from a soil-texture map smoothed at ≈ 20 km and has no terrain term
  (its product description), so the CLDAS-referenced variants are shown, not recommended.

Deviation from the paper (said in notebook 05 too): the paper downscales only where every input
was observed on the day; here every land pixel-day gets a value and a provenance code, and the
detail is shrunk by a factor estimated one scale down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr

from . import crossscale
from .conventions import LAT, LON, TIME
from .detail import (
    anomaly_features,
    cell_anomaly,
    clamp_to_training,
    compose,
    shrinkage,
    split_halves,
)
from .downscale import apply_network
from .exceptions import DataError
from .experiments import ExperimentResult
from .gapfill import (
    COMPOSITE_INPUTS,
    Candidate,
    cascade,
    fill_from_nearest_day,
    fill_inputs,
    rank_candidates,
)
from .grids import Grid, grid_for
from .resample import area_mean, replicate
from .selection import train_combination

__all__ = ["GapFilled", "gap_filled_coarse", "fine_filled_inputs", "keep_in_memory", "Variant", "mid_grid_inputs",
           "scaled_anomaly_variant", "within_cell_variant", "cross_scale_variant", "choose_without_truth",
           "candidates", "skill_by_provenance", "VARIANTS"]

#: names of the fine products, in the order of the tables
VARIANTS = {
    "paper": "the paper's method: the network on fine inputs, microwave replicated (observed inputs only)",
    "bilinear": "gap-filled coarse NN, bilinear (no within-cell detail)",
    "scaled": "gap-filled coarse NN bilinear + the paper's within-cell anomalies × α (α from CLDAS at 0.0625°)",
    "within-cell": "gap-filled coarse NN bilinear + a within-cell network's anomalies × β (trained on CLDAS "
                   "anomalies at 0.0625°)",
    "cross-scale": "gap-filled coarse NN bilinear + λ × proxy anomalies × sensitivities fitted between 0.25° cells "
                   "(design chosen by cross-scale validation × reliability)",
}

#: fields up to this size (bytes) are computed once and kept in memory (demo, mini); larger ones
#: (``full``) stay lazy and are recomputed block of days by block of days where they are used
IN_MEMORY_BYTES = 2 * 1024**3
#: fine inputs that are filled from other days (costly to recompute): LST and the composites
FILLED_AUXILIARIES = ("LST", *COMPOSITE_INPUTS)


@dataclass
class GapFilled:
    """The gap-filled coarse product.

    Attributes
    ----------
    sm : DataArray (time, lat, lon), m3 m-3
    provenance : DataArray of int8 (time, lat, lon) — rank of the candidate used (CF flags)
    ranking : DataFrame — :func:`sm_nb.gapfill.rank_candidates`
    results : dict label → ExperimentResult — the family of networks
    filled : Dataset — the coarse inputs with gaps filled; ``was_filled`` : Dataset of bool
    """

    sm: xr.DataArray
    provenance: xr.DataArray
    ranking: pd.DataFrame
    results: dict[str, ExperimentResult]
    filled: xr.Dataset
    was_filled: xr.Dataset


def gap_filled_coarse(results: Mapping[str, ExperimentResult], observed: xr.Dataset, reference: xr.DataArray,
                      window_days: int = 3, mask: xr.DataArray | None = None) -> GapFilled:
    """Every cell-day a value from the best-ranked network whose inputs are present (see :mod:`sm_nb.gapfill`).

    Parameters
    ----------
    results : mapping label → ExperimentResult
        The family (:func:`sm_nb.gapfill.family`), each trained on observed inputs; the first is
        the paper's network.
    observed : Dataset (time, lat, lon)
        Every input of the family on the coarse grid, as observed (gaps NaN).
    reference : DataArray (time, lat, lon), m3 m-3
        CLDAS on the coarse grid: ranks the candidates (never the truth).
    window_days : int
        Filling window of the gappy inputs (± days).
    mask : DataArray of bool, optional
        Cells that get a value (land).
    """
    filled, was = fill_inputs(observed, window_days)
    candidates = []
    for label, res in results.items():
        names = list(res.inputs)
        held_out = res.cv_prediction if res.cv_prediction is not None else res.prediction
        candidates.append(Candidate(label, False, res.prediction.astype(np.float64), held_out.astype(np.float64)))
        pf = apply_network(res, filled[names])["sm"].astype(np.float64).load()
        any_filled = was[names].to_array("input").any("input")
        pf = pf.where(any_filled)
        candidates.append(Candidate(label, True, pf, pf))  # filled pixel-days were never trained on
    ranking = rank_candidates(candidates, reference)
    sm, prov = cascade(candidates, ranking, mask)
    sm.attrs.update({"fill_window_days": int(window_days), "ranked_against": str(reference.name)})
    return GapFilled(sm, prov, ranking, dict(results), filled, was)


def fine_filled_inputs(fine: xr.Dataset, coarse_filled: xr.Dataset, window_days: int = 3) -> xr.Dataset:
    """Fine-grid inputs for the gap-filled product: microwave = the *filled* coarse values
    replicated (paper §2.2.3's replication expansion), LST filled from the nearest day at each
    fine pixel, the other auxiliaries as they are. Lazy."""
    out = {}
    grid = grid_for(fine, "fine")
    for name, da in fine.data_vars.items():
        if str(name).upper().startswith(("SMAP", "AMSR2", "FY3C", "ASCAT")):
            # lazy, block of days by block of days: a replicated season is 4 bytes × days × fine pixels
            tc = da.chunks[da.dims.index(TIME)][0] if da.chunks is not None else 8
            src = coarse_filled[name].chunk({TIME: int(tc)})
            out[name] = replicate(src, grid).transpose(*da.dims).assign_attrs(da.attrs)
        elif str(name).upper().startswith("LST"):
            out[name] = fill_from_nearest_day(da, window_days)[0]
        elif str(name).upper() in COMPOSITE_INPUTS:
            out[name] = fill_from_nearest_day(da, 16)[0]
        else:
            out[name] = da
    return xr.Dataset(out, attrs=fine.attrs)


def keep_in_memory(ds: xr.Dataset, prefixes: Sequence[str], budget: int = IN_MEMORY_BYTES) -> xr.Dataset:
    """The lazy variables of ``ds`` whose names start with one of ``prefixes``, computed together
    once and kept in memory (``dask.persist``: still dask arrays, so what is built on them stays
    lazy and parallel) when they fit in ``budget`` bytes; ``ds`` unchanged otherwise."""
    names = [n for n in ds.data_vars if str(n).upper().startswith(tuple(prefixes)) and ds[n].chunks is not None]
    if not names or sum(ds[n].nbytes for n in names) > budget:
        return ds
    computed = dask.persist(*[ds[n] for n in names])
    return ds.assign(dict(zip(names, computed, strict=True)))


def mid_grid_inputs(fine: xr.Dataset, coarse_filled: xr.Dataset, mid: Grid, block_days: int = 16) -> xr.Dataset:
    """The inputs on CLDAS's 0.0625° grid: auxiliaries averaged from the fine grid, microwave replicated.

    Computed now, ``block_days`` days at a time: the mid grid is small, and one compute over a
    whole season of lazily gap-filled fine inputs would hold most of their blocks in memory.
    """
    out = {}
    for name, da in fine.data_vars.items():
        if str(name).upper().startswith(("SMAP", "AMSR2", "FY3C", "ASCAT")):
            out[name] = replicate(coarse_filled[name], mid).transpose(*da.dims).assign_attrs(da.attrs)
        elif TIME in da.dims:
            parts = [area_mean(da.isel({TIME: slice(i, i + int(block_days))}), mid, min_valid_fraction=0.5).load()
                     for i in range(0, da.sizes[TIME], int(block_days))]
            out[name] = xr.concat(parts, TIME).transpose(*da.dims)
        else:
            out[name] = area_mean(da, mid, min_valid_fraction=0.5).load().transpose(*da.dims)
    return xr.Dataset(out)


@dataclass
class Variant:
    """A fine product and how it was chosen."""

    name: str
    sm: xr.DataArray
    description: str
    selection: dict[str, Any] = field(default_factory=dict)


def _halves(obs: xr.DataArray, pred: xr.DataArray, coarse: Grid) -> dict[str, float]:
    """Shrinkage fitted on one half of the cells and scored on the other (both ways, pooled)."""
    fold = split_halves(obs[LAT].values, obs[LON].values, coarse)
    num = den = 0.0
    for k in (0, 1):
        fit = shrinkage(pred.where(fold == k).values, obs.where(fold == k).values)
        o, p = obs.where(fold != k).values.ravel(), pred.where(fold != k).values.ravel()
        ok = np.isfinite(o) & np.isfinite(p)
        num += float(((fit["alpha"] * p[ok] - o[ok]) ** 2).sum())
        den += float((o[ok] ** 2).sum())
    full = shrinkage(pred.values, obs.values)
    return {**full, "heldout_skill": 1.0 - num / den if den > 0 else np.nan}


def scaled_anomaly_variant(network: ExperimentResult, fine_in: xr.Dataset, mid_in: xr.Dataset,
                           cldas_mid: xr.DataArray, coarse_sm: xr.DataArray, coarse: Grid, fine: Grid) -> Variant:
    """Bilinear coarse product + α × the paper's network's within-cell anomalies (α from CLDAS at 0.0625°)."""
    names = list(network.inputs)
    mid_pred = apply_network(network, mid_in[names])["sm"].astype(np.float64).load()
    pred_anom = cell_anomaly(mid_pred, coarse)
    obs_anom = cell_anomaly(cldas_mid.where(mid_pred.notnull()).astype(np.float64), coarse)
    fit = _halves(obs_anom, pred_anom, coarse)
    fine_pred = apply_network(network, fine_in[names], precision="float32")["sm"].astype(np.float64)
    sm = compose(coarse_sm, fine, cell_anomaly(fine_pred, coarse), fit["alpha"], coarse)
    return Variant("scaled", sm, VARIANTS["scaled"], fit)


def within_cell_variant(fine_in: xr.Dataset, mid_in: xr.Dataset, cldas_mid: xr.DataArray, coarse_sm: xr.DataArray,
                        coarse: Grid, fine: Grid, aux: Sequence[str], random_state: int = 0,
                        hidden_units: int = 6, n_restarts: int = 2, max_train_samples: int = 20000) -> Variant:
    """Bilinear coarse product + β × anomalies from a network trained on CLDAS's within-cell anomalies.

    The network sees the within-cell anomalies of the auxiliaries and the coarse soil-moisture
    level (wet and dry cells differ) at 0.0625° and predicts CLDAS's anomaly there; the spatial
    block cross-validation gives out-of-fold predictions from which β (and the held-out skill)
    is estimated. Applied at the fine grid with its inputs clamped to the training range.
    """
    level_mid = coarse_sm
    feats_mid = anomaly_features(mid_in[list(aux)], coarse, level_mid).load()
    obs = cell_anomaly(cldas_mid.astype(np.float64), coarse).rename("cldas_anomaly").load()
    ok = obs.notnull()
    for v in feats_mid.data_vars:
        ok = ok & feats_mid[v].notnull()
    if int(ok.sum()) < 100:
        raise DataError(f"within-cell network: only {int(ok.sum())} 0.0625° cell-days have every input and a "
                        "CLDAS anomaly; expected at least 100")
    # blocks of 8 × 8 CLDAS cells (0.5° × 0.5°, more than a coarse cell): held-out anomalies come
    # from other cells than the training ones
    res = train_combination(feats_mid, obs, hidden_units=hidden_units, n_restarts=n_restarts,
                            max_train_samples=max_train_samples, cv_folds=2, random_state=random_state,
                            cv_block=8, score=False)  # only its predictions are used
    heldout = cell_anomaly(res.cv_prediction.astype(np.float64), coarse, min_valid_fraction=0.0)
    fit = {**shrinkage(heldout.values, obs.where(heldout.notnull()).values)}
    fit["heldout_skill"] = fit["skill"]  # β from out-of-fold predictions: one parameter, 10⁵ samples
    names = list(feats_mid.data_vars)
    feats_fine = clamp_to_training(anomaly_features(fine_in[list(aux)], coarse, coarse_sm), res.model, names)
    d_fine = apply_network(res.model, feats_fine, model_inputs=names, precision="float32")["sm"].astype(np.float64)
    sm = compose(coarse_sm, fine, d_fine, fit["alpha"], coarse)
    fit["network"] = res
    return Variant("within-cell", sm, VARIANTS["within-cell"], fit)


def cross_scale_variant(fine_in: xr.Dataset, coarse_sm: xr.DataArray, coarse: Grid, fine: Grid,
                        designs: Sequence[crossscale.Design] = crossscale.DESIGNS) -> Variant:
    """Bilinear coarse product + λ × cross-scale detail (:mod:`sm_nb.crossscale`), chosen without the truth.

    The design (proxies, daily or season-mean, wetness term) with the highest expected detail
    skill (skill one scale up × reliability λ) is applied; its anomalies are multiplied by λ.
    ``selection``: ``alpha`` = λ, ``expected_skill``, ``skill_up``, ``reliability``, ``design``
    (label), ``coef`` and ``designs`` (the table of every candidate design).
    """
    best, fit, table = crossscale.choose_design(fine_in, coarse_sm, coarse, designs)
    anomalies = crossscale.predict_anomaly(fine_in, coarse_sm, coarse, fit["coef"], best, data=fit["data"])
    sm = compose(coarse_sm, fine, anomalies, fit["reliability"], coarse)
    sm.attrs.update({"detail_design": best.label, "detail_reliability": float(fit["reliability"])})
    selection = {"alpha": float(fit["reliability"]), "expected_skill": float(fit["expected_skill"]),
                 "skill_up": float(fit["skill_up"]), "reliability": float(fit["reliability"]),
                 "design": best.label, "coef": np.asarray(fit["coef"]), "designs": table}
    return Variant("cross-scale", sm, VARIANTS["cross-scale"], selection)


def candidates(inputs: Sequence[str]) -> list[str]:
    """The variants :func:`choose_without_truth` chooses among for a network on ``inputs``:
    ``bilinear`` and ``cross-scale`` when a proxy of :data:`sm_nb.crossscale.DESIGNS` is among
    the inputs, else the CLDAS-referenced ``scaled`` and ``within-cell`` (the fallback rule)."""
    if any(all(p in inputs for p in d.proxies) for d in crossscale.DESIGNS):
        return ["bilinear", "cross-scale"]
    return ["bilinear", "scaled", "within-cell"]


def choose_without_truth(variants: Sequence[Variant]) -> pd.DataFrame:
    """The truth-free recommendation: the highest expected 1 km detail skill.

    ``expected_skill`` is the cross-scale estimate (:mod:`sm_nb.crossscale`: skill one scale up ×
    reliability); the bilinear product (no detail) expects 0. Variants shrunk against CLDAS
    (``scaled``, ``within-cell``) report ``heldout_skill`` against CLDAS's 0.0625° anomalies but no
    expected skill — CLDAS's detail is not the truth's (module docstring) — so they are not
    candidates. If no variant has an expected skill (e.g. no proxy among the inputs), the
    CLDAS held-out skill decides, as a fallback said in ``attrs["rule"]``.

    Returns
    -------
    DataFrame
        One row per variant: ``alpha`` (shrinkage or λ), ``rho``, ``std_ratio`` (raw anomalies vs
        CLDAS's), ``skill_raw``, ``heldout_skill`` (vs CLDAS), ``expected_skill``, ``design``,
        ``n``, ``recommended``.
    """
    rows = []
    for v in variants:
        s = v.selection
        rows.append({"variant": v.name, "alpha": s.get("alpha", np.nan), "rho": s.get("rho", np.nan),
                     "std_ratio": s.get("std_ratio", np.nan), "skill_raw": s.get("skill_raw", np.nan),
                     "heldout_skill": s.get("heldout_skill", np.nan),
                     "expected_skill": s.get("expected_skill", 0.0 if v.name == "bilinear" else np.nan),
                     "design": s.get("design", ""), "n": s.get("n", 0)})
    df = pd.DataFrame(rows).set_index("variant")
    if df["expected_skill"].drop(index="bilinear", errors="ignore").notna().any():
        key, rule = "expected_skill", ("highest expected 1 km detail skill: skill one scale up (fit at 0.5°, predict "
                                       "the coarse NN's 0.25° anomalies) × reliability of the 1 km anomalies; "
                                       "bilinear = 0; the truth is never read")
    else:
        key, rule = "heldout_skill", ("fallback (no cross-scale variant): highest held-out detail skill against "
                                      "CLDAS within-cell anomalies at 0.0625°; bilinear = 0; the truth is never read")
    eligible = df[key].where(df[key].notna(), -np.inf)
    df["recommended"] = False
    df.loc[eligible.idxmax(), "recommended"] = True
    df.attrs = {"rule": rule}
    return df


def skill_table(variants: Mapping[str, Variant], coarse_sm: xr.DataArray, truth: xr.DataArray,
                land: xr.DataArray, recommended: str, cldas: xr.DataArray | None = None) -> pd.DataFrame:
    """Every fine product scored against the truth, each on its own land pixel-days (the scoring step).

    Rows: the variants (``paper`` = the paper's method on its own, observed-inputs-only support),
    the baselines ``coarse NN replicated`` and ``coarse NN bilinear`` of the gap-filled coarse
    product (the same support as the gap-filled variants), and CLDAS replicated from 0.0625°.
    Columns: those of :func:`sm_nb.fine_skill.truth_skill` plus ``recommended`` (the truth-free
    choice, exactly one row) and ``selected_without_truth`` (the product's design and parameters
    were fixed without reading the truth; False for CLDAS, a reference, not a candidate).
    """
    from .fine_skill import fine_baselines, truth_skill

    base = fine_baselines(coarse_sm, truth, cldas)
    products = {name: v.sm for name, v in variants.items()}
    products.update({k: v.where(land) for k, v in base.items()})
    table = truth_skill(products, truth, coarse_sm, common=False, land=land)
    table["recommended"] = [name == recommended for name in table.index]
    table["selected_without_truth"] = [name != "CLDAS" for name in table.index]
    table["description"] = [VARIANTS.get(name, name) for name in table.index]
    if int(table["recommended"].sum()) != 1:
        raise DataError(f"recommended product {recommended!r} is not one of {list(table.index)}")
    return table


def skill_by_provenance(fine_product: xr.DataArray, truth: xr.DataArray, provenance: xr.DataArray,
                        land: xr.DataArray, block_days: int = 16) -> pd.DataFrame:
    """A fine product scored against the truth separately for each provenance class (scoring only).

    Parameters
    ----------
    fine_product, truth : DataArray (time, lat, lon) on the fine grid, m3 m-3
    provenance : DataArray of int (time, lat, lon) on the coarse grid — :class:`GapFilled`'s codes
        (CF ``flag_meanings``); each fine pixel takes its coarse cell's code
    land : DataArray of bool (lat, lon) on the fine grid

    Returns
    -------
    DataFrame
        One row per class (``provenance``, ``meaning``): ``n`` (pixel-days with a value and a truth),
        ``share`` of those, and pooled ``r``, ``rmse``, ``ubrmse``, ``bias`` (m3 m-3).
    """
    meanings = str(provenance.attrs.get("flag_meanings", "")).split()
    fgrid, cgrid = grid_for(truth, "fine"), grid_for(provenance, "coarse")
    fy, fx = fgrid.nest_factor(cgrid)
    days = np.intersect1d(np.intersect1d(fine_product["time"].values, truth["time"].values), provenance["time"].values)
    if days.size == 0:
        raise DataError("fine_product, truth and provenance share no day")
    k = len(meanings) + 1  # last bin: no code (-1)
    sums = np.zeros((6, k))  # n, Σp, Σt, Σp², Σt², Σpt
    mask = np.asarray(land.transpose(LAT, LON).values, bool)
    for start in range(0, days.size, int(block_days)):
        sel = {"time": days[start:start + int(block_days)]}
        p = np.asarray(fine_product.sel(sel).transpose("time", LAT, LON).values, np.float64)
        t = np.asarray(truth.sel(sel).transpose("time", LAT, LON).values, np.float64)
        c = np.asarray(provenance.sel(sel).transpose("time", LAT, LON).values)
        c = np.repeat(np.repeat(c, fy, axis=1), fx, axis=2)
        ok = np.isfinite(p) & np.isfinite(t) & mask[None]
        code = np.where(c[ok] >= 0, c[ok], k - 1).astype(np.int64)
        pv, tv = p[ok], t[ok]
        for i, w in enumerate((None, pv, tv, pv * pv, tv * tv, pv * tv)):
            sums[i] += np.bincount(code, weights=w, minlength=k)[:k]
    rows = []
    total = sums[0].sum()
    for i, meaning in enumerate([*meanings, "no_code"]):
        n, sp, st, spp, stt, spt = sums[:, i]
        if n == 0:
            rows.append({"provenance": i if i < k - 1 else -1, "meaning": meaning, "n": 0, "share": 0.0})
            continue
        bias = (sp - st) / n
        mse = (spp - 2 * spt + stt) / n
        cov, vp, vt = spt / n - sp * st / n**2, spp / n - (sp / n) ** 2, stt / n - (st / n) ** 2
        rows.append({"provenance": i if i < k - 1 else -1, "meaning": meaning, "n": int(n), "share": n / total,
                     "r": cov / np.sqrt(vp * vt) if vp > 0 and vt > 0 else np.nan, "rmse": np.sqrt(max(mse, 0.0)),
                     "ubrmse": np.sqrt(max(mse - bias**2, 0.0)), "bias": bias})
    out = pd.DataFrame(rows)
    out.attrs = {"units": "m3 m-3"}
    return out
