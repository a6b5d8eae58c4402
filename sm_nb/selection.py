"""Selection experiments (paper §3.1, §3.2): which inputs should the network get?

For one combination of inputs, :func:`train_combination` does what the paper does for each row
of its Tables 3–5 — build the coarse feature table, train the Levenberg–Marquardt network on a
random subset of the samples, apply it to *every* sample of the coarse grid and period, and score
it against CLDAS with the quality index of §2.2.2 — and, beyond the paper, repeats the training
in a spatial block cross-validation to score predictions for pixels the network never saw.
:func:`evaluate_combinations` does this for a list of combinations (optionally in parallel with
dask) and returns one tidy row per combination.

* :data:`FINAL_INPUTS`, :data:`TABLE3_INPUTS`, :data:`TABLE4_COMBINATIONS`,
  :data:`TABLE5_COMBINATIONS` — the paper's rows in sm_nb input names, in the paper's order;
* :class:`ExperimentResult` — model, predictions, quality indices, counts and provenance;
* :func:`train_combination`, :func:`train_combinations`, :func:`evaluate_combinations`,
  :func:`results_table`, :func:`result_maps`, :func:`cv_gap` (the last three and the result
  class live in :mod:`sm_nb.experiments_cache`);
* :func:`spatial_folds`, :func:`spatial_cv_splits` — the block cross-validation;
* :func:`combination_label`, :func:`clear_experiment_cache`.

A combination is a *set*: the network sees its inputs in sm_nb's registry order (microwave
inputs by sensor, band and orbit, then NDVI, EVI, LST, NSDSI, DEM, SLOPE —
:func:`sm_nb.preprocess.valid_inputs` lists them), so the same inputs in any order or spelling
(``AMSR2_TBH_D`` = ``AMSR2_10.7_TBH_D``) give the same network, numbers and cache entry.
Results are cached on disk (:mod:`sm_nb.experiments_cache`); a re-run loads them.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._version import __version__
from .config import ScenarioConfig, check_seed, get_config
from .conventions import LAT, LON, TIME, cf_attrs
from .exceptions import ConfigError, DataError
from .experiments_cache import (
    TARGET,
    ExperimentResult,
    cached_result,
    clear_experiment_cache,
    cv_gap,
    experiment_dir,
    experiment_key,
    result_maps,
    results_table,
    store_result,
)
from .metrics import quality_index
from .nn import LMRegressor
from .preprocess import INPUTS, build_inputs, build_target, resolve_inputs, stack_features

__all__ = [
    "FINAL_INPUTS",
    "TABLE3_INPUTS",
    "TABLE4_COMBINATIONS",
    "TABLE5_COMBINATIONS",
    "FIGURE4_INPUTS",
    "FIGURE5_COMBINATIONS",
    "TARGET",
    "CV_BLOCK",
    "ExperimentResult",
    "combination_label",
    "train_combination",
    "train_combinations",
    "evaluate_combinations",
    "results_table",
    "result_maps",
    "cv_gap",
    "spatial_folds",
    "spatial_cv_splits",
    "clear_experiment_cache",
]

#: the paper's final network (§3.2, §4; the last row of Table 5)
FINAL_INPUTS = ("SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A", "LST", "NDVI", "NSDSI", "DEM", "SLOPE")
#: Table 3: every single microwave input, each printed row ascending then descending; the paper
#: prints σ40 and BTI once each (no pass), here both passes are run
TABLE3_INPUTS = tuple(
    f"{stem}_{o}"
    for stem in ("SMAP_TBV", "SMAP_TBH", "SMAP_MPDI",
                 *(f"AMSR2_{b}_{q}" for b in ("6.9", "7.3", "10.7") for q in ("TBV", "TBH", "MPDI")),
                 *(f"FY3C_10.7_{q}" for q in ("TBV", "TBH", "MPDI")), "ASCAT_SIGMA40", "ASCAT_BTI")
    for o in ("A", "D")
)
#: Table 4: the six microwave combinations (AMSR2 = 10.7 GHz descending, ASCAT = ascending [A])
TABLE4_COMBINATIONS = (
    ("SMAP_TBV_A", "AMSR2_TBH_D"),
    ("SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_SIGMA40_A"),
    ("SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A"),
    ("SMAP_TBV_A", "AMSR2_MPDI_D"),
    ("SMAP_TBV_A", "AMSR2_MPDI_D", "ASCAT_SIGMA40_A"),
    ("SMAP_TBV_A", "AMSR2_MPDI_D", "ASCAT_BTI_A"),
)
_MW = ("SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A")
#: Table 5: TBV_TBH_BTI plus auxiliaries, in the order of the paper's labels
TABLE5_COMBINATIONS = tuple(_MW + aux for aux in (
    (), ("NDVI",), ("EVI",), ("SLOPE",), ("DEM",), ("SLOPE", "NDVI"), ("DEM", "NDVI"),
    ("DEM", "SLOPE", "NDVI"), ("LST",), ("LST", "NDVI"), ("LST", "NDVI", "DEM", "SLOPE"),
    ("NSDSI",), ("NSDSI", "NDVI"), ("NSDSI", "NDVI", "DEM", "SLOPE"),
    ("NSDSI", "NDVI", "DEM", "SLOPE", "LST"),
))
#: the rows of Figure 4 (single inputs) and Figure 5 (combinations)
FIGURE4_INPUTS = ("SMAP_TBV_A", "AMSR2_TBH_D", "AMSR2_MPDI_D", "ASCAT_BTI_A", "ASCAT_SIGMA40_A")
FIGURE5_COMBINATIONS = (TABLE4_COMBINATIONS[1], TABLE4_COMBINATIONS[2], TABLE4_COMBINATIONS[4],
                        TABLE4_COMBINATIONS[5])
#: edge of a cross-validation block in coarse cells (4 × 4 cells ≈ 1° × 1.25°, ~110 km) [A]
CV_BLOCK = 4
_REF = "Lv, Zhang & Zhu (2021) Remote Sens. 13, 1583, sections 2.2.2, 2.2.3, 3.1 and 3.2"
_ORDER = {name: i for i, name in enumerate(INPUTS)}


# ---------------------------------------------------------------------------------------------
# combinations
# ---------------------------------------------------------------------------------------------
def _as_combination(item: str | Iterable[str]) -> list[str]:
    """A combination from a list of names or a string (one name, or names joined with '+')."""
    if isinstance(item, str):
        return [s.strip() for s in item.split("+") if s.strip()]
    return [str(s) for s in item]


def _resolve(inputs: str | Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(requested spellings, canonical names), both in sm_nb's registry order."""
    specs = resolve_inputs(_as_combination(inputs))  # unknown names: ConfigError listing valid ones
    pairs = sorted(specs.items(), key=lambda kv: _ORDER[kv[1].name])
    return tuple(k for k, _ in pairs), tuple(s.name for _, s in pairs)


def combination_label(inputs: str | Iterable[str]) -> str:
    """Canonical label of a combination: canonical names in registry order joined by ``" + "``.

    Examples
    --------
    >>> combination_label(["AMSR2_TBH_D", "smap_tbv_a"])
    'SMAP_TBV_A + AMSR2_10.7_TBH_D'
    """
    return " + ".join(_resolve(inputs)[1])


# ---------------------------------------------------------------------------------------------
# spatial block cross-validation
# ---------------------------------------------------------------------------------------------
def spatial_folds(n_lat: int, n_lon: int, n_folds: int, seed: int = 0, block: int = CV_BLOCK) -> np.ndarray:
    """Assign every pixel of an ``n_lat × n_lon`` grid to a fold, whole blocks at a time.

    Parameters
    ----------
    n_lat, n_lon : int
        Grid size.
    n_folds : int
        Number of folds (>= 2).
    seed : int
        Seeds the random assignment of blocks to folds.
    block : int
        Block edge in pixels; reduced (down to single pixels) until there are at least
        ``2 · n_folds`` blocks, so that tiny grids can still be split.

    Returns
    -------
    ndarray (lat, lon) of int
        Fold of each pixel; blocks are shuffled and dealt to the folds in turn, so each fold
        gets the same number of blocks (±1).
    """
    if n_lat * n_lon < n_folds:
        raise ConfigError(f"cv_folds={n_folds} but the grid has only {n_lat * n_lon} pixels; "
                          "expected at most one fold per pixel")
    b = max(1, int(block))
    while b > 1 and -(-n_lat // b) * -(-n_lon // b) < 2 * n_folds:
        b -= 1
    nby, nbx = -(-n_lat // b), -(-n_lon // b)
    perm = np.random.default_rng([int(seed), 2]).permutation(nby * nbx)
    fold_of_block = np.empty(nby * nbx, dtype=np.int64)
    fold_of_block[perm] = np.arange(nby * nbx) % n_folds
    ids = (np.arange(n_lat)[:, None] // b) * nbx + np.arange(n_lon)[None, :] // b
    return fold_of_block[ids]


def _subsample(rows: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or rows.size <= limit:
        return rows
    return np.sort(rng.choice(rows, size=int(limit), replace=False))


def spatial_cv_splits(positions: np.ndarray, grid_shape: tuple[int, int, int], trainable: np.ndarray,
                      n_folds: int, seed: int = 0, max_train_samples: int | None = None,
                      block: int = CV_BLOCK) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Training and held-out rows of a spatial block cross-validation.

    Parameters
    ----------
    positions : ndarray (sample,) of int
        Flat (time, lat, lon) index of each sample (:attr:`FeatureTable.positions`).
    grid_shape : (n_time, n_lat, n_lon)
    trainable : ndarray (sample,) of bool
        Samples with a valid target (only these are trained on).
    n_folds, seed, block
        As for :func:`spatial_folds`.
    max_train_samples : int, optional
        Cap on the training rows of each fold (random, seeded per fold).

    Returns
    -------
    fold_map : ndarray (lat, lon) of int
    splits : list of (train_rows, test_rows)
        Row indices into the samples, one pair per fold: ``test_rows`` are all samples of the
        fold's pixels (also those without a target, so that every sample gets an out-of-fold
        prediction), ``train_rows`` a subsample of the trainable samples of the other pixels.
    """
    _, n_lat, n_lon = grid_shape
    fold_map = spatial_folds(n_lat, n_lon, n_folds, seed, block)
    fold = fold_map.reshape(-1)[np.asarray(positions) % (n_lat * n_lon)]
    splits = []
    for k in range(n_folds):
        test = np.flatnonzero(fold == k)
        pool = np.flatnonzero((fold != k) & trainable)
        splits.append((_subsample(pool, max_train_samples, np.random.default_rng([int(seed), 3, k])), test))
    return fold_map, splits


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------
_BLAS_LOCK = threading.Lock()
_BLAS_STATE: dict[str, Any] = {"depth": 0, "limiter": None}


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Single-threaded BLAS while any training runs (re-entrant and thread-safe).

    The LM normal matrix is small (P ≈ 20–120 weights): threaded BLAS gains nothing on it and
    slows down badly when cores are shared (dask threads, other processes); one thread also
    makes results independent of the machine's thread count.
    """
    from threadpoolctl import threadpool_limits

    with _BLAS_LOCK:
        if _BLAS_STATE["depth"] == 0:
            _BLAS_STATE["limiter"] = threadpool_limits(limits=1, user_api="blas")
        _BLAS_STATE["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["depth"] -= 1
            if _BLAS_STATE["depth"] == 0 and _BLAS_STATE["limiter"] is not None:
                _BLAS_STATE["limiter"].restore_original_limits()
                _BLAS_STATE["limiter"] = None


def _int_seed(seed: int, *keys: int) -> int:
    return int(np.random.SeedSequence([int(seed), *keys]).generate_state(1)[0])


def _check_params(hidden_units: Any, n_restarts: Any, max_train_samples: Any, cv_folds: Any) -> None:
    def integer(v: Any, name: str, low: int, extra: str = "") -> None:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
            raise ConfigError(f"{name}={v!r}; expected an integer >= {low}{extra}")

    integer(hidden_units, "hidden_units", 1)
    integer(n_restarts, "n_restarts", 1)
    if max_train_samples is not None:
        integer(max_train_samples, "max_train_samples", 20, " or None (all samples)")
    integer(cv_folds, "cv_folds", 0, " (0 = no cross-validation)")
    if cv_folds == 1:
        raise ConfigError("cv_folds=1; expected 0 (no cross-validation) or at least 2 folds")


def _check_constant(x: np.ndarray, names: Sequence[str], label: str, where: str) -> None:
    const = [n for n, lo, hi in zip(names, x.min(axis=0), x.max(axis=0), strict=True) if lo == hi]
    if const:
        value = x[0, [list(names).index(n) for n in const]].tolist()
        raise DataError(f"combination {label}: input(s) {const} constant (value(s) {value}) over the "
                        f"{x.shape[0]} training samples{where}; a constant input carries no information — drop it")


def _fit(x: np.ndarray, y: np.ndarray, names: Sequence[str], label: str, where: str, params: dict,
         random_state: int, progress: bool) -> tuple[LMRegressor, float]:
    _check_constant(x, names, label, where)
    model = LMRegressor(hidden_units=params["hidden_units"], n_restarts=params["n_restarts"],
                        progress=progress, random_state=random_state)
    t0 = time.perf_counter()
    try:
        model.fit(x, y)
    except DataError as exc:
        raise DataError(f"combination {label}{where}: {exc}") from exc
    return model, time.perf_counter() - t0


def _predict(model: LMRegressor, x: np.ndarray, label: str, where: str) -> np.ndarray:
    try:
        out = np.asarray(model.predict(x), dtype=np.float64)
    except DataError as exc:
        raise DataError(f"combination {label}{where}: {exc}") from exc
    bad = ~np.isfinite(out)
    if bad.any():
        raise DataError(f"combination {label}{where}: the network gives {int(bad.sum())} non-finite predictions "
                        f"of {out.size}; the training diverged — try another seed or fewer inputs")
    return out


def _target_on(template: xr.Dataset, cfg: ScenarioConfig, seed: int) -> xr.DataArray:
    target = build_target(TARGET, cfg, seed)
    for d in (LAT, LON):
        a, b = np.asarray(target[d].values, float), np.asarray(template[d].values, float)
        if a.shape != b.shape or not np.allclose(a, b, atol=1e-6):
            raise DataError(f"target {TARGET!r} and the inputs are on different grids ({d} differs)")
    return target.sel({TIME: template[TIME].values}).assign_coords(
        {TIME: template[TIME], LAT: template[LAT], LON: template[LON]}).transpose(TIME, LAT, LON)


def _score(pred: xr.DataArray, target: xr.DataArray) -> xr.Dataset:
    """The quality index; pixels without any prediction are expected (NaN maps), not warned about."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        return quality_index(pred, target)


def _provenance(label: str, cfg: ScenarioConfig, seed: int, params: dict) -> dict[str, Any]:
    return {"inputs": label, "target": TARGET, "config": cfg.name, "config_key": cfg.key, "seed": int(seed),
            **{k: ("all" if v is None else int(v)) for k, v in params.items()},
            "sm_nb_version": __version__, "references": _REF}


def _run(canonical: tuple[str, ...], cfg: ScenarioConfig, seed: int, params: dict,
         progress: bool) -> dict[str, Any]:
    """Train, predict and score one combination; the pieces that are cached."""
    t_start = time.perf_counter()
    label = " + ".join(canonical)
    ds = build_inputs(list(canonical), cfg, seed, "coarse")
    table = stack_features(ds, None, names=list(canonical))  # no common sample: DataError naming the inputs
    template, positions = table.template, table.positions
    x_all = np.asarray(table.X.values, dtype=np.float64)
    target = _target_on(template, cfg, seed)
    y_all = np.asarray(target.values, dtype=np.float64).reshape(-1)[positions]
    trainable = np.isfinite(y_all)
    counts = pd.concat([table.counts, pd.DataFrame(
        [{"role": "target", "missing": int(np.count_nonzero(~np.isfinite(target.values))),
          "dropped": int(np.count_nonzero(~trainable)), "remaining": int(np.count_nonzero(trainable))}],
        index=pd.Index([TARGET], name="variable"))])
    counts.attrs = {"candidates": table.n_candidates, "predicted": int(positions.size),
                    "kept": int(np.count_nonzero(trainable))}
    if not trainable.any():
        raise DataError(f"combination {label}: none of the {positions.size} samples where every input is valid "
                        f"has a {TARGET} value; nothing to train on")
    shape = tuple(template.sizes[d] for d in (TIME, LAT, LON))
    attrs = {**cf_attrs("sm"), **_provenance(label, cfg, seed, params)}

    rows = _subsample(np.flatnonzero(trainable), params["max_train_samples"], np.random.default_rng([seed, 0]))
    with _one_blas_thread():
        model, train_time = _fit(x_all[rows], y_all[rows], canonical, label, "", params, _int_seed(seed, 1), progress)
        pred = table.unstack(_predict(model, x_all, label, "").astype(np.float32), name="sm_nn", attrs={
            **attrs, "long_name": "NN soil moisture (in-sample: trained on a subset of all pixels and days)"})
        quality = _score(pred, target)
        quality.attrs.update(_provenance(label, cfg, seed, params), evaluation="all data (paper section 3.1)")

        cv_pred = fold_map = cv_quality = None
        t_cv = time.perf_counter()
        if params["cv_folds"]:
            fmap, splits = spatial_cv_splits(positions, shape, trainable, params["cv_folds"], seed,
                                             params["max_train_samples"], params["cv_block"])
            out = np.full(positions.size, np.nan)
            for k, (train_rows, test_rows) in enumerate(splits):
                if test_rows.size == 0:
                    continue
                where = f" (cross-validation fold {k + 1} of {params['cv_folds']})"
                m, _ = _fit(x_all[train_rows], y_all[train_rows], canonical, label, where, params,
                            _int_seed(seed, 4, k), progress)
                out[test_rows] = _predict(m, x_all[test_rows], label, where)
            cv_pred = table.unstack(out.astype(np.float32), name="sm_nn_cv", attrs={
                **attrs, "long_name": "NN soil moisture, out-of-fold (spatial block cross-validation)"})
            fold_map = xr.DataArray(fmap, coords={LAT: template[LAT], LON: template[LON]}, dims=(LAT, LON),
                                    name="cv_fold", attrs={"units": "1", "long_name": "cross-validation fold"})
            cv_quality = _score(cv_pred, target)
            cv_quality.attrs.update(_provenance(label, cfg, seed, params),
                                    evaluation="out-of-fold, spatial block cross-validation (beyond the paper)")
    cv_time = time.perf_counter() - t_cv
    return {"model": model, "prediction": pred, "quality": quality, "cv_prediction": cv_pred,
            "cv_quality": cv_quality, "cv_fold_map": fold_map, "counts": counts,
            "train_time_s": train_time, "cv_time_s": cv_time, "n_train": int(rows.size),
            "total_time_s": time.perf_counter() - t_start}


def train_combination(inputs: str | Sequence[str], config: str | ScenarioConfig = "demo", seed: int = 0,
                      hidden_units: int = 10, n_restarts: int = 4, max_train_samples: int | None = 20000,
                      cv_folds: int = 3, cache: bool = True, progress: bool = False) -> ExperimentResult:
    """Train the network on one input combination and score it against CLDAS (paper §3.1, §3.2).

    Parameters
    ----------
    inputs : str or sequence of str
        Input names (:func:`sm_nb.preprocess.valid_inputs`, aliases allowed, any order; a
        string is one name or names joined with ``+``).
    config, seed
        Scenario config and seed; ``seed`` also seeds the subsample, the network and the folds.
    hidden_units, n_restarts
        Network size and random restarts (paper: 10 and 4; §2.2.3 gives no hidden size [A]).
    max_train_samples : int or None
        Training rows drawn at random from all valid samples (the paper trains "on a small
        subset"); ``None`` trains on all. The network splits them 70/15/15 itself.
    cv_folds : int
        Folds of the spatial block cross-validation (0 = none).
    cache : bool
        Load the result from / store it in ``cache_root()/experiments`` (:mod:`sm_nb.experiments_cache`).
    progress : bool
        tqdm bars of the network's restarts and epochs.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    ConfigError
        Unknown input names (the message lists the valid ones), an input listed twice, bad
        parameters.
    DataError
        No sample where all inputs (and the target) are valid, a constant input, too few
        samples, a diverging training or non-finite predictions — each naming the combination.

    Notes
    -----
    Steps: (1) the inputs and CLDAS on the coarse grid (:func:`sm_nb.preprocess.build_inputs`,
    :func:`~sm_nb.preprocess.build_target`), samples where any input is missing dropped and counted;
    (2) ``max_train_samples`` random samples with a CLDAS value; (3) :class:`~sm_nb.nn.LMRegressor`
    fitted on them (random 70/15/15 split, early stopping, best of ``n_restarts``); (4) the network
    applied to *every* sample with valid inputs — the whole grid and period, §3.1 — NaN elsewhere;
    (5) :func:`sm_nb.metrics.quality_index` against CLDAS. Beyond the paper: (6) the pixels are
    grouped in blocks of :data:`CV_BLOCK` × :data:`CV_BLOCK` cells and dealt to ``cv_folds``
    folds; for each fold a network (same settings) is trained on the other folds' pixels and
    predicts the fold's pixels; the assembled out-of-fold predictions are scored the same way.
    Deterministic for (inputs as a set, config, seed, settings): BLAS runs single-threaded.
    """
    requested, canonical = _resolve(inputs)
    _check_params(hidden_units, n_restarts, max_train_samples, cv_folds)
    cfg = get_config(config)
    seed = check_seed(seed)
    params = {"hidden_units": int(hidden_units), "n_restarts": int(n_restarts),
              "max_train_samples": None if max_train_samples is None else int(max_train_samples),
              "cv_folds": int(cv_folds), "cv_block": CV_BLOCK}
    spec = {"inputs": list(canonical), "config": cfg.name, "config_key": cfg.key, "seed": seed, "target": TARGET,
            **params, "preprocess": {"grid": "coarse", "min_valid_fraction": 0.5, "flag_mask": 0,
                                     "nsdsi_variant": 1, "slope_source": "dataset"}}
    path = experiment_dir(cfg.name, cfg.key, seed, experiment_key(spec), len(canonical))
    common = {"inputs": requested, "config": config if isinstance(config, ScenarioConfig) else cfg.name,
              "seed": seed, "hyperparameters": params}
    if cache and (hit := cached_result(path, **common)) is not None:
        return hit
    r = _run(canonical, cfg, seed, params, progress)
    if cache:
        store_result(path, r, spec)
    return ExperimentResult(
        model=r["model"], prediction=r["prediction"], quality=r["quality"], cv_prediction=r["cv_prediction"],
        cv_quality=r["cv_quality"], counts=r["counts"], train_time_s=r["train_time_s"], n_train=r["n_train"],
        cv_fold_map=r["cv_fold_map"], cv_time_s=r["cv_time_s"], total_time_s=r["total_time_s"],
        from_cache=False, path=str(path) if cache else "", **common)


# ---------------------------------------------------------------------------------------------
# many combinations
# ---------------------------------------------------------------------------------------------
def train_combinations(combinations: Iterable[str | Sequence[str]], config: str | ScenarioConfig = "demo",
                       seed: int = 0, hidden_units: int = 10, n_restarts: int = 4,
                       max_train_samples: int | None = 20000, cv_folds: int = 3, cache: bool = True,
                       parallel: bool = False, progress: bool = True, scheduler: str = "threads",
                       n_workers: int | None = None) -> list[ExperimentResult]:
    """:func:`train_combination` for each combination, in order (see :func:`evaluate_combinations`)."""
    combos = [_as_combination(c) for c in combinations]
    if not combos:
        raise ConfigError("combinations is empty; expected one or more lists of input names")
    keys = [_resolve(c)[1] for c in combos]  # every name checked before any training
    _check_params(hidden_units, n_restarts, max_train_samples, cv_folds)
    if scheduler not in ("threads", "processes", "synchronous"):
        raise ConfigError(f"scheduler={scheduler!r}; expected 'threads', 'processes' or 'synchronous'")
    kwargs = {"config": config, "seed": seed, "hidden_units": hidden_units, "n_restarts": n_restarts,
              "max_train_samples": max_train_samples, "cv_folds": cv_folds, "cache": cache, "progress": False}
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    todo = sorted(set(first.values()))
    done: dict[tuple[str, ...], ExperimentResult] = {}
    if parallel and len(todo) > 1:
        import dask

        union = list(dict.fromkeys(n for k in keys for n in k))
        if scheduler == "threads":  # build the shared inputs once, before the threads start
            build_inputs(union, config, seed, "coarse")
            build_target(TARGET, config, seed)
        tasks = [dask.delayed(train_combination)(combos[i], **kwargs) for i in todo]
        with _one_blas_thread(), _dask_progress(progress, len(tasks)):
            results = dask.compute(*tasks, scheduler=scheduler, num_workers=n_workers)
        done = {keys[i]: r for i, r in zip(todo, results, strict=True)}
    else:
        from tqdm.auto import tqdm

        with _one_blas_thread():
            for i in tqdm(todo, desc="combinations", unit="combination", disable=not progress):
                done[keys[i]] = train_combination(combos[i], **kwargs)
    return [done[k] for k in keys]


@contextmanager
def _dask_progress(enabled: bool, total: int) -> Iterator[None]:
    if not enabled:
        yield
        return
    from tqdm.auto import tqdm
    from tqdm.dask import TqdmCallback

    with TqdmCallback(desc=f"combinations ({total}, parallel)", tqdm_class=tqdm):
        yield


def evaluate_combinations(combinations: Iterable[str | Sequence[str]], config: str | ScenarioConfig = "demo",
                          seed: int = 0, hidden_units: int = 10, n_restarts: int = 4,
                          max_train_samples: int | None = 20000, cv_folds: int = 3, cache: bool = True,
                          parallel: bool = False, progress: bool = True, scheduler: str = "threads",
                          n_workers: int | None = None) -> pd.DataFrame:
    """Train and score each input combination; one tidy row per combination (paper Tables 3–5).

    Parameters
    ----------
    combinations : iterable
        Each a list of input names, or a string (one name, or names joined with ``+``), e.g.
        :data:`TABLE3_INPUTS` or :data:`TABLE5_COMBINATIONS`.
    config, seed, hidden_units, n_restarts, max_train_samples, cv_folds, cache
        As for :func:`train_combination`.
    parallel : bool
        Run the trainings with dask (``dask.delayed``); same numbers as serial.
    progress : bool
        A tqdm bar over the combinations.
    scheduler : {"threads", "processes", "synchronous"}
        dask scheduler for ``parallel=True`` (threads: the inputs are built once and shared).
    n_workers : int, optional
        dask workers (default: the number of cores).

    Returns
    -------
    DataFrame
        One row per combination, in order: ``inputs`` (``" + "``-joined, network column order),
        ``n_inputs``, ``rho_spatial``, ``rho_temporal``, ``rmse``, ``mae`` (over all data, as the
        paper), ``cv_rho_spatial`` … ``cv_mae`` (held-out pixels), ``n_samples`` (scored),
        ``n_train``, ``n_pixels``, ``n_days_significant``, ``train_time_s``, ``cached``.
    """
    return results_table(train_combinations(
        combinations, config, seed, hidden_units, n_restarts, max_train_samples, cv_folds, cache,
        parallel, progress, scheduler, n_workers))
