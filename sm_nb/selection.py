"""Selection experiments (paper §3.1, §3.2): which inputs should the network get?

For one combination of inputs, :func:`train_combination` does what the paper does for each row
of its Tables 3–5 — take the coarse input cube and the CLDAS target, train the
Levenberg–Marquardt network on a random subset of the samples, apply it to *every* sample of the
coarse grid and period, and score it against the target with the quality index of §2.2.2 — and,
beyond the paper, repeats the training in a spatial block cross-validation to score predictions
for pixels the network never saw. :func:`evaluate_combinations` does this for a list of
combinations (optionally on dask threads) and returns one tidy row per combination.

Everything here is xarray in, results out: the functions take an input ``Dataset`` and a target
``DataArray`` and never open data. :meth:`sm_nb.Study.train` and :meth:`sm_nb.Study.evaluate`
build those from a catalog and cache the results under a fingerprint of the data and settings.

* :data:`FINAL_INPUTS`, :data:`TABLE3_INPUTS`, :data:`TABLE4_COMBINATIONS`,
  :data:`TABLE5_COMBINATIONS` — the paper's rows in sm_nb input names, in the paper's order;
* :class:`ExperimentResult` — model, predictions, quality indices, counts and provenance;
* :func:`train_combination`, :func:`evaluate_combinations`, :func:`subset`, :func:`params_of`,
  :func:`results_table`, :func:`result_maps`, :func:`cv_gap` (the last three and the result
  class live in :mod:`sm_nb.experiments`);
* :func:`spatial_folds`, :func:`spatial_cv_splits` — the block cross-validation;
* :func:`combination_label`.

A combination is a *set*: :meth:`sm_nb.Study.train` builds its inputs in sm_nb's registry order
(microwave inputs by sensor, band and orbit, then NDVI, EVI, LST, NSDSI, DEM, SLOPE —
:func:`sm_nb.preprocess.valid_inputs` lists them), so the same inputs in any order or spelling
(``AMSR2_TBH_D`` = ``AMSR2_10.7_TBH_D``) give the same network, numbers and cache entry;
:func:`train_combination` uses the Dataset's variables in their order.
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
from .combinations import (
    FIGURE4_INPUTS,
    FIGURE5_COMBINATIONS,
    FINAL_INPUTS,
    TABLE3_INPUTS,
    TABLE4_COMBINATIONS,
    TABLE5_COMBINATIONS,
    as_combination,
    combination_label,
    is_input_name,
    subset,
)
from .conventions import LAT, LON, TIME, cf_attrs
from .crossval import CV_BLOCK, spatial_cv_splits, spatial_folds, subsample
from .exceptions import ConfigError, DataError
from .experiments import ExperimentResult, cv_gap, result_maps, results_table
from .features import _check_grid, stack_features
from .metrics import quality_index
from .nn import LMRegressor

__all__ = [
    "FINAL_INPUTS",
    "TABLE3_INPUTS",
    "TABLE4_COMBINATIONS",
    "TABLE5_COMBINATIONS",
    "FIGURE4_INPUTS",
    "FIGURE5_COMBINATIONS",
    "CV_BLOCK",
    "ExperimentResult",
    "combination_label",
    "params_of",
    "train_combination",
    "evaluate_combinations",
    "subset",
    "run_many",
    "results_table",
    "result_maps",
    "cv_gap",
    "spatial_folds",
    "spatial_cv_splits",
]

_REF = "Lv, Zhang & Zhu (2021) Remote Sens. 13, 1583, sections 2.2.2, 2.2.3, 3.1 and 3.2"


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


_NESTED = {"depth": 0}  # > 0 while run_many trains combinations in parallel


def _fit_workers(n_jobs: int, progress: bool) -> int:
    """Threads for the networks of one combination: one per core unless combinations already
    run in parallel (:func:`run_many`) or progress bars are asked for (they would interleave)."""

    if progress or n_jobs < 2 or _NESTED["depth"]:
        return 1
    from .config import usable_cores

    return max(1, min(n_jobs, usable_cores()))


def _run_fits(jobs: Sequence[Any], progress: bool) -> list[Any]:
    """Call each zero-argument training job; on threads when :func:`_fit_workers` allows it.

    The networks are independent (own data, seed and work arrays; BLAS single-threaded), so
    the results are those of the serial loop, in the jobs' order; numpy releases the GIL in
    the LM epoch's ``exp``, ``matmul`` and LAPACK calls, so the threads use separate cores.
    """
    workers = _fit_workers(len(jobs), progress)
    if workers == 1:
        return [job() for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="sm_nb-fit") as pool:
        return list(pool.map(lambda job: job(), jobs))


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


def _score(pred: xr.DataArray, target: xr.DataArray) -> xr.Dataset:
    """The quality index; pixels without any prediction are expected (NaN maps), not warned about."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        return quality_index(pred, target)


def _provenance(label: str, target: str, params: dict, extra: dict[str, Any] | None) -> dict[str, Any]:
    return {"inputs": label, "target": target, **(extra or {}),
            **{k: ("all" if v is None else int(v)) for k, v in params.items()},
            "sm_nb_version": __version__, "references": _REF}


def _check_inputs(inputs: Any, target: Any) -> tuple[str, ...]:
    if not isinstance(inputs, xr.Dataset):
        raise DataError(f"inputs is a {type(inputs).__name__}; expected an xarray Dataset with one "
                        "(time, lat, lon) variable per input (e.g. Study.inputs([...]))")
    if not isinstance(target, xr.DataArray):
        raise DataError(f"target is a {type(target).__name__}; expected an xarray DataArray (time, lat, lon) "
                        "on the inputs' grid (e.g. Study.target())")
    names = tuple(str(n) for n in inputs.data_vars)
    if not names:
        raise DataError("inputs has no data variable; expected one (time, lat, lon) variable per input")
    return names


def params_of(hidden_units: Any = 10, n_restarts: Any = 4, max_train_samples: Any = 20000, cv_folds: Any = 3,
              random_state: Any = 0, cv_block: Any = CV_BLOCK) -> dict[str, Any]:
    """Validated hyperparameters of :func:`train_combination` as a dict (also the cache key's part).

    Raises
    ------
    ConfigError
        A parameter out of range (the message names it and what was expected).
    """
    _check_params(hidden_units, n_restarts, max_train_samples, cv_folds)
    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer) or random_state < 0:
        raise ConfigError(f"random_state={random_state!r}; expected a non-negative integer")
    if isinstance(cv_block, bool) or not isinstance(cv_block, int | np.integer) or cv_block < 1:
        raise ConfigError(f"cv_block={cv_block!r}; expected a positive integer (cells per block edge)")
    return {"hidden_units": int(hidden_units), "n_restarts": int(n_restarts),
            "max_train_samples": None if max_train_samples is None else int(max_train_samples),
            "cv_folds": int(cv_folds), "cv_block": int(cv_block), "random_state": int(random_state)}


def train_combination(inputs: xr.Dataset, target: xr.DataArray, *, hidden_units: int = 10, n_restarts: int = 4,
                      max_train_samples: int | None = 20000, cv_folds: int = 3, random_state: int = 0,
                      progress: bool = False, provenance: dict[str, Any] | None = None,
                      cv_block: int = CV_BLOCK, score: bool = True) -> ExperimentResult:
    """Train the network on one input combination and score it against the target (paper §3.1, §3.2).

    Parameters
    ----------
    inputs : Dataset
        One (time, lat, lon) variable per input on the coarse grid, in the network's column
        order (the Dataset's variable order), e.g. :meth:`sm_nb.Study.inputs` or
        :func:`sm_nb.preprocess.build_inputs`.
    target : DataArray (time, lat, lon), m3 m-3
        The reference on the same grid (paper: CLDAS aggregated to the coarse grid,
        :meth:`sm_nb.Study.target`); its days must include the inputs' days.
    hidden_units, n_restarts
        Network size and random restarts (paper: 10 and 4; §2.2.3 gives no hidden size [A]).
    max_train_samples : int or None
        Training rows drawn at random from all valid samples (the paper trains "on a small
        subset"); ``None`` trains on all. The network splits them 70/15/15 itself.
    cv_folds : int
        Folds of the spatial block cross-validation (0 = none).
    random_state : int
        Seeds the training subsample, the network's initial weights and data division, and the
        assignment of blocks to folds (not the data: the scenario seed belongs to the Study).
    progress : bool
        tqdm bars of the network's restarts and epochs.
    provenance : dict, optional
        Extra attributes recorded on the result (a Study adds config, seed and fingerprint).
    cv_block : int
        Edge of a cross-validation block in grid cells (default :data:`CV_BLOCK`).
    score : bool
        Compute the quality index (step 5); ``False`` (a network used only for its predictions,
        e.g. :func:`sm_nb.product.within_cell_variant`) leaves ``quality``/``cv_quality`` empty.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    ConfigError
        Bad parameters (named).
    DataError
        Inputs not a Dataset of (time, lat, lon) variables, a target on another grid, no sample
        where all inputs and the target are valid, a constant input, too few samples, a
        diverging training or non-finite predictions — each naming the combination.

    Notes
    -----
    Steps: (1) samples where any input is missing dropped and counted; (2) ``max_train_samples``
    random samples with a target value; (3) :class:`~sm_nb.nn.LMRegressor` fitted on them
    (random 70/15/15 split, early stopping, best of ``n_restarts``); (4) the network applied to
    *every* sample with valid inputs — the whole grid and period, §3.1 — NaN elsewhere;
    (5) :func:`sm_nb.metrics.quality_index` against the target. Beyond the paper: (6) the pixels
    are grouped in blocks of :data:`CV_BLOCK` × :data:`CV_BLOCK` cells and dealt to ``cv_folds``
    folds; for each fold a network (same settings) is trained on the other folds' pixels and
    predicts the fold's pixels; the assembled out-of-fold predictions are scored the same way.
    Deterministic for (inputs, target, settings): BLAS runs single-threaded. The main and the
    cross-validation networks train on one thread per core (serially when combinations already
    run in parallel, or with ``progress``); each has its own seed, so the numbers are the same.
    """
    names = _check_inputs(inputs, target)
    params = params_of(hidden_units, n_restarts, max_train_samples, cv_folds, random_state, cv_block)
    r = _run(inputs, target, names, params, progress, provenance, score)
    return ExperimentResult(
        inputs=names, model=r["model"], prediction=r["prediction"], quality=r["quality"],
        cv_prediction=r["cv_prediction"], cv_quality=r["cv_quality"], counts=r["counts"],
        train_time_s=r["train_time_s"], n_train=r["n_train"], cv_fold_map=r["cv_fold_map"],
        cv_time_s=r["cv_time_s"], total_time_s=r["total_time_s"], hyperparameters=params,
        provenance=dict(provenance or {}))


def _run(inputs: xr.Dataset, target: xr.DataArray, names: tuple[str, ...], params: dict, progress: bool,
         extra: dict[str, Any] | None, score: bool = True) -> dict[str, Any]:
    """Train, predict and score one combination; the pieces that are cached."""
    t_start = time.perf_counter()
    label = " + ".join(names)
    seed = params["random_state"]
    target_name = str(target.name) if target.name is not None else "target"
    table = stack_features(inputs, None, names=list(names))  # no common sample: DataError naming the inputs
    template, positions = table.template, table.positions
    x_all = np.asarray(table.X.values, dtype=np.float64)
    target = _check_grid(target.rename(target_name), inputs)
    y_all = np.asarray(target.values, dtype=np.float64).reshape(-1)[positions]
    trainable = np.isfinite(y_all)
    counts = pd.concat([table.counts, pd.DataFrame(
        [{"role": "target", "missing": int(np.count_nonzero(~np.isfinite(target.values))),
          "dropped": int(np.count_nonzero(~trainable)), "remaining": int(np.count_nonzero(trainable))}],
        index=pd.Index([target_name], name="variable"))])
    counts.attrs = {"candidates": table.n_candidates, "predicted": int(positions.size),
                    "kept": int(np.count_nonzero(trainable))}
    if not trainable.any():
        raise DataError(f"combination {label}: none of the {positions.size} samples where every input is valid "
                        f"has a {target_name} value; nothing to train on")
    shape = tuple(template.sizes[d] for d in (TIME, LAT, LON))
    canonical = combination_label(names) if all(is_input_name(n) for n in names) else label
    prov = _provenance(canonical, target_name, params, extra)
    attrs = {**cf_attrs("sm"), **prov}

    rows = subsample(np.flatnonzero(trainable), params["max_train_samples"], np.random.default_rng([seed, 0]))
    folds: list[tuple[str, np.ndarray]] = []  # (where, test rows) of each cross-validation network
    jobs = [lambda: _fit(x_all[rows], y_all[rows], names, label, "", params, _int_seed(seed, 1), progress)]
    if params["cv_folds"]:
        fmap, splits = spatial_cv_splits(positions, shape, trainable, params["cv_folds"], seed,
                                         params["max_train_samples"], params["cv_block"])
        for k, (train_rows, test_rows) in enumerate(splits):
            if test_rows.size == 0:
                continue
            where = f" (cross-validation fold {k + 1} of {params['cv_folds']})"
            folds.append((where, test_rows))
            jobs.append(lambda r=train_rows, w=where, k=k: _fit(x_all[r], y_all[r], names, label, w, params,
                                                               _int_seed(seed, 4, k), progress))
    with _one_blas_thread():
        fits = _run_fits(jobs, progress)
        (model, train_time), fold_fits = fits[0], fits[1:]
        pred = table.unstack(_predict(model, x_all, label, "").astype(np.float32), name="sm_nn", attrs={
            **attrs, "long_name": "NN soil moisture (in-sample: trained on a subset of all pixels and days)"})
        quality = _score(pred, target) if score else xr.Dataset()
        quality.attrs.update(prov, evaluation="all data (paper section 3.1)" if score else "not scored")

        cv_pred = fold_map = cv_quality = None
        t_cv = time.perf_counter()
        if params["cv_folds"]:
            out = np.full(positions.size, np.nan)
            for (where, test_rows), (m, _) in zip(folds, fold_fits, strict=True):
                out[test_rows] = _predict(m, x_all[test_rows], label, where)
            cv_pred = table.unstack(out.astype(np.float32), name="sm_nn_cv", attrs={
                **attrs, "long_name": "NN soil moisture, out-of-fold (spatial block cross-validation)"})
            fold_map = xr.DataArray(fmap, coords={LAT: template[LAT], LON: template[LON]}, dims=(LAT, LON),
                                    name="cv_fold", attrs={"units": "1", "long_name": "cross-validation fold"})
            cv_quality = _score(cv_pred, target) if score else xr.Dataset()
            cv_quality.attrs.update(prov, evaluation="out-of-fold, spatial block cross-validation (beyond the paper)"
                                    if score else "not scored")
    cv_time = time.perf_counter() - t_cv + sum(t for _, t in fold_fits)  # the folds' training time included
    return {"model": model, "prediction": pred, "quality": quality, "cv_prediction": cv_pred,
            "cv_quality": cv_quality, "cv_fold_map": fold_map, "counts": counts,
            "train_time_s": train_time, "cv_time_s": cv_time, "n_train": int(rows.size),
            "total_time_s": time.perf_counter() - t_start}


# ---------------------------------------------------------------------------------------------
# many combinations
# ---------------------------------------------------------------------------------------------
def evaluate_combinations(combinations: Iterable[str | Sequence[str]], inputs: xr.Dataset, target: xr.DataArray,
                          *, hidden_units: int = 10, n_restarts: int = 4, max_train_samples: int | None = 20000,
                          cv_folds: int = 3, random_state: int = 0, parallel: bool = False,
                          progress: bool = True, n_workers: int | None = None) -> pd.DataFrame:
    """Train and score each input combination; one tidy row per combination (paper Tables 3–5).

    Parameters
    ----------
    combinations : iterable
        Each a list of input names, or a string (one name, or names joined with ``+``), e.g.
        :data:`TABLE3_INPUTS` or :data:`TABLE5_COMBINATIONS`.
    inputs : Dataset
        Every input any combination uses (:func:`subset` picks each combination's variables).
    target, hidden_units, n_restarts, max_train_samples, cv_folds, random_state
        As for :func:`train_combination`.
    parallel : bool
        Run the trainings on dask threads; same numbers as serial.
    progress : bool
        A tqdm bar over the combinations.
    n_workers : int, optional
        dask workers (default: the number of cores).

    Returns
    -------
    DataFrame
        :func:`results_table` of the results, one row per combination in order.
    """
    combos = [as_combination(c) for c in combinations]
    if not combos:
        raise ConfigError("combinations is empty; expected one or more lists of input names")
    cubes = [subset(inputs, c) for c in combos]  # every name checked before any training
    kw = dict(hidden_units=hidden_units, n_restarts=n_restarts, max_train_samples=max_train_samples,
              cv_folds=cv_folds, random_state=random_state)
    params_of(**kw)
    return results_table(run_many([lambda c=c: train_combination(c, target, **kw) for c in cubes],
                                  parallel=parallel, progress=progress, n_workers=n_workers))


def run_many(tasks: Sequence[Any], parallel: bool = False, progress: bool = True,
             n_workers: int | None = None) -> list[Any]:
    """Call each zero-argument ``task`` (a training), serially or on dask threads, in order."""
    if parallel and len(tasks) > 1:
        import dask

        delayed = [dask.delayed(t)() for t in tasks]
        with _BLAS_LOCK:
            _NESTED["depth"] += 1
        try:
            with _one_blas_thread(), _dask_progress(progress, len(delayed)):
                return list(dask.compute(*delayed, scheduler="threads", num_workers=n_workers))
        finally:
            with _BLAS_LOCK:
                _NESTED["depth"] -= 1
    from tqdm.auto import tqdm

    with _one_blas_thread():
        return [t() for t in tqdm(tasks, desc="combinations", unit="combination", disable=not progress)]


@contextmanager
def _dask_progress(enabled: bool, total: int) -> Iterator[None]:
    if not enabled:
        yield
        return
    from tqdm.auto import tqdm
    from tqdm.dask import TqdmCallback

    with TqdmCallback(desc=f"combinations ({total}, parallel)", tqdm_class=tqdm):
        yield
