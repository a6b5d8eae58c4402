r"""Cross-scale detail: sensitivities fitted between coarse cells, applied within them (truth-free).

The paper's network learns how soil moisture varies *between* 0.25° × 0.3125° cells and is then
asked about the variation *within* them. Here the within-cell detail is written in the
sensitivity × anomaly form of DisPATCh (Merlin et al. 2012, IEEE TGRS 50:1556),

.. math:: \theta'_i(t) = \sum_k \bigl(a_k + b_k\,\bar\theta_C(t)\bigr)\, x'_{k,i}(t),

with :math:`x'_{k,i}` the within-cell anomaly of proxy k (NSDSI, NDVI, LST) at fine pixel i and
:math:`\bar\theta_C` the coarse soil moisture of its cell (wet and dry cells differ). The
sensitivities :math:`a_k, b_k` are fitted one scale up, where soil moisture is observed: the
gap-filled coarse NN's anomalies of each 0.25° cell within its 2 × 2-cell block (0.5° × 0.625°)
regressed on the proxies' cell-mean anomalies (least squares, every cell-day pooled).

Which proxies, daily or season-mean, with or without the wetness term (a :class:`Design`) is
chosen without the truth by the *expected* detail skill at the fine scale,
:math:`\widehat{\mathrm{skill}} = \mathrm{skill}_{\uparrow} \times \lambda`:

* :math:`\mathrm{skill}_{\uparrow}` — cross-scale validation: the same design fitted at 0.5°
  (anomalies within 1° blocks) predicts the coarse NN's 0.25° anomalies within 0.5° blocks
  (``1 − SSE/SST``); it tests whether the relation carries across a factor of two in scale;
* λ — the reliability of the design's fine-scale anomaly field (classical test theory): for
  season-mean proxies the split-half correlation of the prediction made from alternate 16-day
  blocks, stepped up by Spearman–Brown, :math:`\lambda = 2r/(1+r)`; for daily proxies the
  correlation of the predicted anomalies 16 days apart (longer than MODIS's 8- and 16-day
  composites, so composite noise is independent). Noise at 1 km that averages out in a 0.25°
  cell is invisible to the cross-scale fit; λ measures it, and the detail is multiplied by λ
  (regression calibration: the least-squares predictor from a proxy with reliability λ).

Deviation from the paper: the paper feeds 1 km inputs to the 0.25° network; this variant keeps
the network's coarse field and adds detail from proxies, with a physically motivated form
(temporal stability of within-cell soil-moisture patterns set by soil and vegetation, Vachaud
et al. 1985) and a truth-free choice. Nothing here reads the truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .conventions import LAT, LON, TIME
from .detail import cell_anomaly
from .exceptions import DataError
from .grids import Grid
from .resample import area_mean, replicate

__all__ = ["Design", "DESIGNS", "proxy_fields", "block_anomaly", "fit_sensitivities", "skill_one_scale_up",
           "reliability", "predict_anomaly", "choose_design", "sensitivities_table"]

#: reliability: season means from alternate blocks of this many days; daily lag in days
HALF_BLOCK_DAYS = 16
#: at most this many days (pairs of days for daily designs) enter the reliability
MAX_SAMPLE_DAYS = 32
#: days of a fine proxy loaded at once by :func:`prepare`
REDUCE_BLOCK_DAYS = 16


@dataclass(frozen=True)
class Design:
    """One form of the cross-scale detail model.

    Attributes
    ----------
    proxies : tuple of str
        Auxiliary inputs whose within-cell anomalies carry the detail (e.g. ``("NSDSI",)``).
    temporal : {"daily", "season"}
        The proxies as observed each day, or their mean over the season (per year).
    wetness : bool
        Sensitivities depend linearly on the coarse soil moisture (:math:`a_k + b_k\\bar\\theta_C`).
    """

    proxies: tuple[str, ...]
    temporal: str
    wetness: bool

    @property
    def label(self) -> str:
        return f"{'+'.join(self.proxies)} ({self.temporal}{', × wetness' if self.wetness else ''})"


#: the candidate designs, every one scored by :func:`choose_design`
DESIGNS: tuple[Design, ...] = tuple(
    Design(p, t, w)
    for t in ("daily", "season")
    for p in (("NSDSI",), ("NSDSI", "LST"), ("NSDSI", "NDVI", "LST"))
    for w in (False, True)
)


def proxy_fields(fine_in: xr.Dataset, design: Design, days: np.ndarray | None = None) -> xr.Dataset:
    """The design's proxies on the fine grid (time, lat, lon), lazy.

    ``season``: each proxy's mean over the days of its year (``days`` selects the days of the
    mean: the split-half reliability uses alternate blocks), broadcast back to every day.
    """
    missing = [p for p in design.proxies if p not in fine_in]
    if missing:
        raise DataError(f"cross-scale design {design.label}: inputs {missing} are missing; have {list(fine_in.data_vars)}")
    out = {}
    for p in design.proxies:
        da = fine_in[p].astype(np.float64)
        if design.temporal == "season":
            src = da if days is None else da.sel({TIME: days})
            clim = src.groupby(f"{TIME}.year").mean(TIME)
            da = clim.sel(year=da[TIME].dt.year).drop_vars("year").transpose(*da.dims)
        elif design.temporal != "daily":
            raise DataError(f"design temporal {design.temporal!r}; expected 'daily' or 'season'")
        out[p] = da.assign_attrs(fine_in[p].attrs)
    return xr.Dataset(out)


def _blocks(a: np.ndarray, by: int, bx: int) -> np.ndarray:
    ny, nx = a.shape[-2:]
    py, px = -ny % by, -nx % bx
    a = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(0, py), (0, px)], constant_values=np.nan)
    return a.reshape(a.shape[:-2] + (a.shape[-2] // by, by, a.shape[-1] // bx, bx))


def _block_mean(a: np.ndarray, by: int, bx: int) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware mean over by × bx blocks (and the count), replicated back to ``a``'s shape."""
    s = _blocks(a, by, bx)
    n = np.isfinite(s).sum(axis=(-3, -1), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.nansum(s, axis=(-3, -1), keepdims=True) / n
    ny, nx = a.shape[-2:]
    rep = np.broadcast_to(m, s.shape).reshape(s.shape[:-4] + (s.shape[-4] * by, s.shape[-2] * bx))
    cnt = np.broadcast_to(n, s.shape).reshape(rep.shape)
    return rep[..., :ny, :nx], cnt[..., :ny, :nx]


def block_anomaly(a: np.ndarray, by: int = 2, bx: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Anomaly of each cell from the mean of its by × bx block (NaN where fewer than 2 valid cells).

    Returns the anomaly and the block mean, both of ``a``'s shape.
    """
    m, n = _block_mean(a, by, bx)
    return np.where(n >= 2, a - m, np.nan), m


def _coarsen2(a: np.ndarray) -> np.ndarray:
    s = _blocks(a, 2, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(s, axis=(-3, -1)) / np.isfinite(s).sum(axis=(-3, -1))


def _design_matrix(anoms: Sequence[np.ndarray], level: np.ndarray, wetness: bool) -> np.ndarray:
    cols = []
    for a in anoms:
        cols.append(a)
        if wetness:
            cols.append(a * level)
    return np.stack([c.ravel() for c in cols], axis=1)


def _fit(proxies: Sequence[np.ndarray], sm: np.ndarray, wetness: bool) -> np.ndarray:
    """Least-squares sensitivities of sm's 2 × 2-block anomalies on the proxies' (level = block mean)."""
    y, level = block_anomaly(sm)
    x = _design_matrix([block_anomaly(p)[0] for p in proxies], level, wetness)
    ok = np.isfinite(y.ravel()) & np.isfinite(x).all(axis=1)
    if ok.sum() < 10 * x.shape[1]:
        raise DataError(f"cross-scale fit: {int(ok.sum())} cell-days with every proxy and a soil moisture anomaly; "
                        f"expected at least {10 * x.shape[1]}")
    coef, *_ = np.linalg.lstsq(x[ok], y.ravel()[ok], rcond=None)
    return coef


def _predict(proxies: Sequence, level, coef: np.ndarray, wetness: bool):
    """Σ (a_k + b_k·level) x_k on ndarrays or (lazy) DataArrays; nothing allocated beyond the terms."""
    out = None
    k = 0
    for p in proxies:  # Python-float coefficients keep float32 inputs float32 (memory on `full`)
        term = float(coef[k]) * p
        k += 1
        if wetness:
            term = term + float(coef[k]) * p * level
            k += 1
        out = term if out is None else out + term
    return out


@dataclass
class ProxyData:
    """What every design needs, computed once per proxy (:func:`prepare`).

    Attributes
    ----------
    coarse : dict (proxy, temporal) → ndarray (time, lat, lon) — cell means on the coarse grid
    season_anomaly : dict proxy → DataArray (year, lat, lon) — within-cell anomaly of the season mean
    half_anomaly : dict proxy → two DataArrays (year, lat, lon) — the same from alternate 16-day blocks
    daily_pairs : dict proxy → (ndarray, ndarray) — fine within-cell anomalies on sampled days t and t + 16 d
    level : ndarray (time, lat, lon) — the coarse soil moisture; ``level_pairs`` the same replicated
        to the fine grid on the sampled days t and t + 16 d (``sample``: the indices of t; empty when
        the period is shorter than the lag); ``level_season`` on the days ``season_sample`` used for the
        split-half reliability; ``years`` per day
    """

    coarse: dict[tuple[str, str], np.ndarray]
    season_anomaly: dict[str, xr.DataArray]
    half_anomaly: dict[str, tuple[xr.DataArray, xr.DataArray]]
    daily_pairs: dict[str, tuple[np.ndarray, np.ndarray]]
    level: np.ndarray
    level_pairs: tuple[np.ndarray, np.ndarray]
    sample: np.ndarray
    level_season: np.ndarray
    season_sample: np.ndarray
    years: np.ndarray


def _reduce(da: xr.DataArray, coarse: Grid, years: np.ndarray, half: np.ndarray, first: np.ndarray,
            second: np.ndarray, block_days: int = REDUCE_BLOCK_DAYS):
    """One pass over a (possibly lazy) fine proxy, block of days by block of days (bounded memory).

    Returns the coarse cell means (ndarray, time × coarse cells), the season mean per year and the
    two half-season means (DataArrays year × lat × lon, NaN-aware) and the fields on the days
    ``first`` and ``second`` (DataArrays).
    """
    da = da.transpose(TIME, LAT, LON)
    uy = np.unique(years)
    shape = (uy.size, 2, da.sizes[LAT], da.sizes[LON])
    total, count = np.zeros(shape), np.zeros(shape)
    cms, picked = [], {}
    want = set(first.tolist()) | set(second.tolist())
    block_days = int(block_days)
    # load whole dask chunks (a chunk cut by two loads is computed twice, with its halo), the next
    # load beside the reduction of this one; the sums still go block of days by block, in order
    chunk = da.chunks[0][0] if da.chunks is not None and len(set(da.chunks[0][:-1])) <= 1 else block_days
    load_days = math.lcm(block_days, chunk)
    load_days = load_days if load_days <= 4 * block_days else block_days
    starts = range(0, da.sizes[TIME], load_days)

    def load(start: int) -> xr.DataArray:
        return da.isel({TIME: slice(start, start + load_days)}).astype(np.float64).load()

    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(load, starts[0]) if len(starts) else None
        for n, start in enumerate(starts):
            xl = ahead.result()
            ahead = pool.submit(load, starts[n + 1]) if n + 1 < len(starts) else None
            for sub in range(0, xl.sizes[TIME], block_days):
                x = xl.isel({TIME: slice(sub, sub + block_days)})
                cms.append(np.asarray(area_mean(x, coarse, min_valid_fraction=0.5).values))
                v = np.asarray(x.values)
                ok = np.isfinite(v)
                idx = np.arange(start + sub, start + sub + v.shape[0])
                for iy, y in enumerate(uy):
                    for h in (0, 1):
                        m = (years[idx] == y) & (half[idx] == h)
                        if m.any():
                            total[iy, h] += np.where(ok[m], v[m], 0.0).sum(axis=0)
                            count[iy, h] += ok[m].sum(axis=0)
                for k, i in enumerate(idx):
                    if i in want:
                        picked[int(i)] = v[k].astype(np.float32)
    coords = {"year": uy, LAT: da[LAT].values, LON: da[LON].values}
    with np.errstate(invalid="ignore", divide="ignore"):
        sea = xr.DataArray(total.sum(1) / count.sum(1), dims=("year", LAT, LON), coords=coords)
        hv = tuple(xr.DataArray(total[:, h] / count[:, h], dims=("year", LAT, LON), coords=coords) for h in (0, 1))

    def days(ix: np.ndarray) -> xr.DataArray:
        arr = np.stack([picked[int(i)] for i in ix]) if ix.size else np.empty((0, *shape[2:]))
        return xr.DataArray(arr, dims=(TIME, LAT, LON), coords={TIME: da[TIME].values[ix], LAT: coords[LAT],
                                                               LON: coords[LON]})
    return np.concatenate(cms, axis=0), sea, hv, days(first), days(second)


def prepare(fine_in: xr.Dataset, sm: xr.DataArray, coarse: Grid, proxies: Sequence[str],
            sample_every: int = 4) -> ProxyData:
    """Cell means, season-mean anomalies and sampled daily anomalies of each proxy (one pass each).

    The reliability uses every ``sample_every``-th day, at most :data:`MAX_SAMPLE_DAYS` of them
    (memory ≈ 8 bytes × 4 × that × fine pixels per proxy).
    """
    missing = [p for p in proxies if p not in fine_in]
    if missing:
        raise DataError(f"cross-scale detail: inputs {missing} are missing; have {list(fine_in.data_vars)}")
    times = fine_in[TIME].values
    if sm.sizes.get(TIME) != times.size:
        raise DataError(f"coarse soil moisture has {sm.sizes.get(TIME)} days, the fine inputs {times.size}; "
                        "expected the same days")
    years = fine_in[TIME].dt.year.values
    # alternate blocks of days within each year; shorter blocks when a year has under 2 × 16 days
    day_in_year = pd.Series(np.arange(times.size)).groupby(years).cumcount().to_numpy()
    block = min(HALF_BLOCK_DAYS, max(1, int(pd.Series(years).value_counts().min()) // 2))
    half = (day_in_year // block) % 2
    if not (half == 1).any():
        raise DataError(f"cross-scale detail: {times.size} day(s); the split-half reliability needs at least 2 days a year")
    lag = HALF_BLOCK_DAYS
    sample = np.arange(0, max(times.size - lag, 0), max(1, int(sample_every)))
    if sample.size > MAX_SAMPLE_DAYS:  # bounded memory on the `full` grid: evenly spread days
        sample = sample[np.linspace(0, sample.size - 1, MAX_SAMPLE_DAYS).round().astype(int)]
    season_sample = np.arange(0, times.size, max(1, int(sample_every)))
    if season_sample.size > MAX_SAMPLE_DAYS:
        season_sample = season_sample[np.linspace(0, season_sample.size - 1, MAX_SAMPLE_DAYS).round().astype(int)]
    level = np.asarray(sm.transpose(TIME, LAT, LON).values, float)
    coarse_out, season, halves, pairs = {}, {}, {}, {}
    for p in proxies:
        cm, sea, hv, pa, pb = _reduce(fine_in[p], coarse, years, half, sample, sample + lag)
        coarse_out[(p, "daily")] = cm
        cm_da = xr.DataArray(cm, dims=(TIME, "c_lat", "c_lon"), coords={TIME: times})
        coarse_out[(p, "season")] = np.asarray(cm_da.groupby(f"{TIME}.year").mean(TIME).sel(year=years).values)
        season[p] = cell_anomaly(sea, coarse, 0.5)
        halves[p] = (cell_anomaly(hv[0], coarse, 0.5), cell_anomaly(hv[1], coarse, 0.5))
        pairs[p] = tuple(np.asarray(cell_anomaly(x, coarse, 0.5).values, dtype=np.float32) for x in (pa, pb))
    first = fine_in[proxies[0]]
    sm64 = sm.astype(np.float64).transpose(TIME, LAT, LON)

    def replicated(days: np.ndarray) -> np.ndarray:  # only the sampled days: a season at 1 km is GBs
        return np.asarray(replicate(sm64.isel({TIME: days}), first).values, dtype=np.float32)

    level_pairs = (replicated(sample), replicated(sample + lag))
    level_season = replicated(season_sample)
    return ProxyData(coarse_out, season, halves, pairs, level, level_pairs, sample, level_season, season_sample, years)


def fit_sensitivities(data: ProxyData, design: Design) -> np.ndarray:
    """Sensitivities (a₁, b₁, a₂, b₂ …; a only without wetness) fitted at 0.25° within 0.5° blocks.

    The gap-filled coarse NN's 2 × 2-block anomalies regressed on the proxies' cell-mean anomalies
    (level = the block's mean soil moisture), every cell-day pooled.
    """
    return _fit([data.coarse[(p, design.temporal)] for p in design.proxies], data.level, design.wetness)


def skill_one_scale_up(data: ProxyData, design: Design) -> float:
    """Cross-scale validation: fit at 0.5° (within 1° blocks), predict 0.25° anomalies within 0.5° blocks.

    Returns ``1 − Σ(p − y)² / Σ y²`` over the coarse cell-days (y the coarse NN's anomalies).
    """
    px = [data.coarse[(p, design.temporal)] for p in design.proxies]
    coef = _fit([_coarsen2(p) for p in px], _coarsen2(data.level), design.wetness)
    y, level = block_anomaly(data.level)
    p = _predict([block_anomaly(a)[0] for a in px], level, coef, design.wetness)
    ok = np.isfinite(p) & np.isfinite(y)
    den = float((y[ok] ** 2).sum())
    return 1.0 - float(((p[ok] - y[ok]) ** 2).sum()) / den if den > 0 else np.nan


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10:
        return np.nan
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def reliability(data: ProxyData, design: Design, coef: np.ndarray) -> float:
    """λ of the design's fine anomaly field on the sampled days (module docstring), clipped to [0, 1].

    Season designs: split-half correlation (alternate ``HALF_BLOCK_DAYS``-day blocks within each
    year, shorter when a year has fewer than twice that) stepped up by Spearman–Brown; daily
    designs: correlation of the predicted anomalies ``HALF_BLOCK_DAYS`` days apart (0 when the
    period is shorter than that).
    """
    if design.temporal == "season":
        yrs = data.years[data.season_sample]
        preds = [_predict([np.asarray(data.half_anomaly[p][h].sel(year=yrs).values) for p in design.proxies],
                          data.level_season, coef, design.wetness) for h in (0, 1)]
        r = _corr(*preds)
        lam = 2 * r / (1 + r) if np.isfinite(r) and r > -1 else np.nan
    else:
        if data.sample.size == 0:  # the period is shorter than the lag: no estimate, no trust
            return 0.0
        preds = [_predict([data.daily_pairs[p][k] for p in design.proxies], data.level_pairs[k], coef, design.wetness)
                 for k in (0, 1)]
        lam = _corr(*preds)
    return float(np.clip(lam, 0.0, 1.0)) if np.isfinite(lam) else 0.0


def predict_anomaly(fine_in: xr.Dataset, level: xr.DataArray, coarse: Grid, coef: np.ndarray,
                    design: Design, data: ProxyData | None = None, time_chunk: int = 8) -> xr.DataArray:
    """The fine within-cell anomaly Σ (a_k + b_k θ̄_C) x'_k, m3 m-3 (lazy; NaN where a proxy is missing).

    ``level``: the coarse soil moisture on ``coarse`` (replicated to the fine grid here).
    ``data``: the :func:`prepare` result; season designs then reuse its season-mean anomalies
    instead of reducing the fine proxies over the season again.
    """
    if design.temporal == "season" and data is not None:
        years = fine_in[TIME].dt.year
        anoms = [data.season_anomaly[p].chunk({LAT: -1, LON: -1}).sel(year=years).drop_vars("year")
                 .chunk({TIME: int(time_chunk)}).transpose(TIME, LAT, LON) for p in design.proxies]
        first = fine_in[design.proxies[0]]
    else:
        fields = proxy_fields(fine_in, design)
        anoms = [cell_anomaly(fields[p], coarse, min_valid_fraction=0.5) for p in fields.data_vars]
        first = fields[next(iter(fields.data_vars))]
    lv = level.astype(np.float64)
    if lv.chunks is None:  # lazy, block of days by block of days (an in-memory level would ride in every graph)
        lv = lv.chunk({TIME: int(time_chunk)})
    lv = replicate(lv, first).transpose(*first.dims).assign_coords(
        {LAT: first[LAT], LON: first[LON]})
    out = _predict([a.reset_coords(drop=True) for a in anoms], lv.reset_coords(drop=True), coef, design.wetness)
    return out.rename("detail").assign_attrs(units="m3 m-3", long_name=f"cross-scale detail, {design.label}")


def choose_design(fine_in: xr.Dataset, sm: xr.DataArray, coarse: Grid, designs: Sequence[Design] = DESIGNS,
                  sample_every: int = 4) -> tuple[Design, dict[str, object], pd.DataFrame]:
    """Score every design without the truth and pick the highest expected fine detail skill.

    Parameters
    ----------
    fine_in : Dataset (time, lat, lon) on the fine grid — the gap-filled fine inputs
    sm : DataArray (time, lat, lon) on ``coarse``, m3 m-3 — the gap-filled coarse NN (same days)
    coarse : Grid
    designs : the candidates (default :data:`DESIGNS`; those whose proxies are inputs)
    sample_every : reliability on every n-th day

    Returns
    -------
    (Design, dict, DataFrame)
        The chosen design; its ``coef``, ``reliability``, ``skill_up``, ``expected_skill`` and
        ``data`` (the :class:`ProxyData`, for :func:`predict_anomaly`);
        and one row per design (``skill_up``, ``reliability``, ``expected_skill``, ``chosen``).
    """
    usable = [d for d in designs if all(p in fine_in for p in d.proxies)]
    if not usable:
        raise DataError(f"no cross-scale design has its proxies among the inputs {list(fine_in.data_vars)}")
    proxies = sorted({p for d in usable for p in d.proxies})
    data = prepare(fine_in, sm, coarse, proxies, sample_every)
    rows, fits = [], {}
    for d in usable:
        coef = fit_sensitivities(data, d)
        up = skill_one_scale_up(data, d)
        lam = reliability(data, d, coef)
        fits[d] = {"coef": coef, "skill_up": up, "reliability": lam, "expected_skill": up * lam, "data": data}
        rows.append({"design": d.label, "proxies": "+".join(d.proxies), "temporal": d.temporal,
                     "wetness": d.wetness, "skill_up": up, "reliability": lam, "expected_skill": up * lam})
    table = pd.DataFrame(rows).set_index("design")
    best = usable[int(np.nanargmax(table["expected_skill"].to_numpy()))]
    table["chosen"] = [label == best.label for label in table.index]
    table.attrs = {"rule": "highest skill one scale up (fit at 0.5°, predict 0.25°) × reliability of the 1 km "
                           "anomalies (split-half / 16-day lag); the truth is never read"}
    return best, fits[best], table


def sensitivities_table(design: Design, coef: np.ndarray) -> pd.DataFrame:
    """The fitted sensitivities of a design, one row per proxy (a_k; b_k per unit soil moisture)."""
    rows, k = [], 0
    for p in design.proxies:
        row: dict[str, float | str] = {"proxy": p, "a": float(coef[k])}
        k += 1
        if design.wetness:
            row["b"] = float(coef[k])
            k += 1
        rows.append(row)
    return pd.DataFrame(rows).set_index("proxy")

