"""What a selection experiment is and how it is kept: :class:`ExperimentResult`, its tidy
table (:func:`results_table`) and maps (:func:`result_maps`), and the on-disk cache of the
experiments of :mod:`sm_nb.selection` (split from it to keep modules small).

One folder per experiment under ``cache_root()/experiments/<config>-<config key>-seed<seed>-v<version>/``,
named by a hash of everything that determines the result (the combination as a set of canonical
inputs, config key, seed, network and validation settings, preprocessing options, package
version)::

    model.joblib       the fitted LMRegressor
    prediction.nc      prediction and cv_prediction (time, lat, lon), cv_fold (lat, lon)
    quality.nc         quality index vs CLDAS over all data (paper §2.2.2)
    cv_quality.nc      the same on the out-of-fold predictions (absent without CV)
    counts.csv         samples dropped per input and for the target
    meta.json          inputs, settings, sample counts, timings, version
    COMPLETE           written last

A folder is written under a temporary name and renamed into place when complete
(:func:`sm_nb.store.atomic_dir`), so an interrupted run never leaves a half-written entry.
netCDF files are written and read under one lock (HDF5 is not thread-safe).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._version import __version__
from .config import ScenarioConfig
from .conventions import TIME
from .exceptions import DataError
from .nn import LMRegressor
from .preprocess import build_inputs
from .store import COMPLETE_MARKER, atomic_dir, cache_root

__all__ = [
    "ExperimentResult",
    "results_table",
    "result_maps",
    "cv_gap",
    "TARGET",
    "experiments_root",
    "experiment_key",
    "experiment_dir",
    "save_experiment",
    "load_experiment",
    "clear_experiment_cache",
    "store_result",
    "cached_result",
]

#: bump when the layout or the meaning of a stored experiment changes
LAYOUT_VERSION = 1
_IO_LOCK = threading.Lock()
_NC = {"engine": "netcdf4"}
#: the network's target (paper §2.1.2): CLDAS soil moisture aggregated to the coarse grid
TARGET = "cldas_sm"
_METRICS = ("rho_spatial", "rho_temporal", "rmse", "mae")
_GROUP = re.compile(r"^(?P<name>.+)-(?P<key>[0-9a-f]+)-seed(?P<seed>[0-9]+)-v.+$")


# ---------------------------------------------------------------------------------------------
# the result, its table and maps
# ---------------------------------------------------------------------------------------------
@dataclass(repr=False)
class ExperimentResult:
    """One trained and scored input combination.

    Attributes
    ----------
    inputs : tuple of str
        Input names in the network's column order (registry order, requested spellings).
    model : LMRegressor
        The network fitted on ``n_train`` random samples of the whole grid and period.
    prediction : DataArray (time, lat, lon), m3 m-3
        The network applied to every coarse sample where all inputs are valid; NaN elsewhere
        (never filled).
    quality : Dataset
        :func:`sm_nb.metrics.quality_index` of ``prediction`` against CLDAS over all data — the
        paper's evaluation (§3.1: trained on a subset, evaluated on the entire dataset), hence
        mostly on samples from pixels and days the network was trained on.
    cv_prediction : DataArray (time, lat, lon), m3 m-3, or None
        Out-of-fold predictions of the spatial block cross-validation: each pixel predicted by a
        network trained without any sample of its block (beyond the paper). ``None`` without CV.
    cv_quality : Dataset or None
        Quality index of ``cv_prediction`` against CLDAS.
    counts : DataFrame
        Samples missing and dropped per input and for the target (``attrs``: ``candidates``,
        ``predicted``, ``kept``).
    train_time_s : float
        Wall time of fitting the main network (s), as measured when it was trained.
    config : str or ScenarioConfig
    seed : int
    hyperparameters : dict
        ``hidden_units``, ``n_restarts``, ``max_train_samples``, ``cv_folds``, ``cv_block``.
    n_train : int
        Samples the main network was fitted on (before its own 70/15/15 split).
    cv_fold_map : DataArray (lat, lon) or None
        Fold of each pixel in the cross-validation.
    cv_time_s, total_time_s : float
        Wall time of the cross-validation fits and of the whole experiment (s).
    from_cache : bool
        Whether this result was loaded from the disk cache.
    path : str
        Cache folder ('' when not cached).
    """

    inputs: tuple[str, ...]
    model: LMRegressor
    prediction: xr.DataArray
    quality: xr.Dataset
    cv_prediction: xr.DataArray | None
    cv_quality: xr.Dataset | None
    counts: pd.DataFrame
    train_time_s: float
    config: str | ScenarioConfig
    seed: int
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    n_train: int = 0
    cv_fold_map: xr.DataArray | None = None
    cv_time_s: float = 0.0
    total_time_s: float = 0.0
    from_cache: bool = False
    path: str = ""

    @property
    def label(self) -> str:
        """``" + "``-joined :attr:`inputs`."""
        return " + ".join(self.inputs)

    @property
    def n_samples(self) -> int:
        """Samples scored: all inputs and the target valid."""
        return int(self.counts.attrs.get("kept", 0))

    def row(self) -> dict[str, Any]:
        """One row of :func:`results_table`: the paper's scores, the held-out ``cv_`` scores, counts."""
        q, cv = self.quality, self.cv_quality
        out: dict[str, Any] = {"inputs": self.label, "n_inputs": len(self.inputs)}
        out.update({m: float(q[m]) for m in _METRICS})
        out.update({f"cv_{m}": float(cv[m]) if cv is not None else np.nan for m in _METRICS})
        out.update({
            "n_samples": self.n_samples,
            "n_train": int(self.n_train),
            "n_pixels": int(q["n_pixels"]),
            "n_days_significant": int(q["n_days_significant"]),
            "train_time_s": float(self.train_time_s),
            "cached": bool(self.from_cache),
        })
        return out

    def __repr__(self) -> str:
        r = self.row()
        held = (f"; held-out ρ_spatial {r['cv_rho_spatial']:.3f}, ρ_temporal {r['cv_rho_temporal']:.3f}, "
                f"RMSE {r['cv_rmse']:.4f}" if self.cv_quality is not None else "")
        name = self.config if isinstance(self.config, str) else self.config.name
        return (f"<ExperimentResult {self.label} on {name!r} seed {self.seed}: ρ_spatial "
                f"{r['rho_spatial']:.3f}, ρ_temporal {r['rho_temporal']:.3f}, RMSE {r['rmse']:.4f}, "
                f"MAE {r['mae']:.4f}{held}; {r['n_samples']} samples, trained on {r['n_train']} "
                f"in {self.train_time_s:.1f} s{' (cached)' if self.from_cache else ''}>")


def results_table(results: Iterable[ExperimentResult]) -> pd.DataFrame:
    """One tidy row per result (:meth:`ExperimentResult.row`), with provenance in ``attrs``."""
    results = list(results)
    df = pd.DataFrame([r.row() for r in results])
    if results:
        r0 = results[0]
        df.attrs = {"config": r0.config if isinstance(r0.config, str) else r0.config.name, "seed": r0.seed,
                    **r0.hyperparameters, "target": TARGET, "sm_nb_version": __version__,
                    "note": "rho_*/rmse/mae: all data, as the paper (in-sample); cv_*: out-of-fold spatial "
                            "block cross-validation (held-out pixels, beyond the paper)"}
    return df


def cv_gap(table: pd.DataFrame) -> pd.DataFrame:
    """In-sample (paper) against held-out (``cv_``) scores of a :func:`results_table`.

    Returns
    -------
    DataFrame
        One row per metric: ``all_data`` and ``held_out`` (means over the rows), ``mean_gap``
        and ``max_gap`` (all data minus held-out; for ρ a positive gap means the paper's
        evaluation flatters, for RMSE/MAE a negative one), ``rows``.
    """
    missing = [c for m in _METRICS for c in (m, f"cv_{m}") if c not in table.columns]
    if missing:
        raise DataError(f"table lacks {missing}; expected the output of results_table / evaluate_combinations")
    rows = []
    for m in _METRICS:
        both = table[[m, f"cv_{m}"]].dropna()
        gap = both[m] - both[f"cv_{m}"]
        flatter = gap if m.startswith("rho") else -gap
        rows.append({"metric": m, "all_data": both[m].mean(), "held_out": both[f"cv_{m}"].mean(),
                     "mean_gap": gap.mean(), "max_gap": gap.loc[flatter.idxmax()] if len(gap) else np.nan,
                     "rows": len(both)})
    return pd.DataFrame(rows)


def result_maps(result: ExperimentResult, input_name: str | None = None) -> dict[str, xr.DataArray]:
    """The maps of the paper's Figures 4–6 for one result.

    Parameters
    ----------
    result : ExperimentResult
    input_name : str, optional
        Also return the time mean of this input on the coarse grid (Figure 4's first column).

    Returns
    -------
    dict of str to DataArray (lat, lon)
        ``sm_mean`` — daily-mean NN soil moisture (mean over the days with a prediction), m3 m-3;
        ``rho_temporal`` — temporal correlation of NN and CLDAS per pixel (in-sample), 1;
        ``cv_rho_temporal`` — the same for the out-of-fold predictions (if CV ran);
        ``input`` — the input's time mean, in its units (if ``input_name`` is given).
    """
    out: dict[str, xr.DataArray] = {}
    if input_name is not None:
        da = build_inputs([input_name], result.config, result.seed, "coarse")
        field_ = da[next(iter(da.data_vars))]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
            mean = field_.mean(TIME, keep_attrs=True)
        out["input"] = mean.rename(str(field_.name)).assign_attrs(
            long_name=f"{field_.attrs.get('long_name', field_.name)}, mean over the period")
    with warnings.catch_warnings():  # pixels never predicted stay NaN
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        sm = result.prediction.mean(TIME, keep_attrs=True).rename("sm_nn_mean")
    out["sm_mean"] = sm.assign_attrs(long_name=f"daily-mean NN soil moisture ({result.label})")
    out["rho_temporal"] = result.quality["rho_temporal_map"].rename("rho_temporal").assign_attrs(
        long_name=f"temporal r of NN and CLDAS ({result.label})")
    if result.cv_quality is not None:
        out["cv_rho_temporal"] = result.cv_quality["rho_temporal_map"].rename("cv_rho_temporal").assign_attrs(
            long_name=f"held-out temporal r of NN and CLDAS ({result.label})")
    return out


# ---------------------------------------------------------------------------------------------
# the disk cache
# ---------------------------------------------------------------------------------------------
def experiments_root() -> Path:
    """``cache_root()/experiments``."""
    return cache_root() / "experiments"


def experiment_key(spec: dict[str, Any]) -> str:
    """16 hex digits of the SHA-1 of ``spec`` (JSON, sorted keys) plus the package version."""
    blob = json.dumps({**spec, "sm_nb_version": __version__, "layout": LAYOUT_VERSION},
                      sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def experiment_dir(config_name: str, config_key: str, seed: int, key: str, n_inputs: int) -> Path:
    """Folder of one experiment."""
    group = f"{config_name}-{config_key}-seed{int(seed)}-v{__version__}"
    return experiments_root() / group / f"{n_inputs}in-{key}"


def _encoding(ds: xr.Dataset) -> dict[str, dict]:
    return {str(v): {"zlib": True, "complevel": 1} for v in ds.data_vars if ds[v].ndim >= 2}


def save_experiment(path: Path, model: Any, predictions: xr.Dataset, quality: xr.Dataset,
                    cv_quality: xr.Dataset | None, counts: pd.DataFrame, meta: dict[str, Any]) -> Path:
    """Write one experiment atomically; return its folder."""
    import joblib

    with _IO_LOCK, atomic_dir(Path(path)) as tmp:
        joblib.dump(model, tmp / "model.joblib")
        predictions.to_netcdf(tmp / "prediction.nc", encoding=_encoding(predictions), **_NC)
        quality.to_netcdf(tmp / "quality.nc", encoding=_encoding(quality), **_NC)
        if cv_quality is not None:
            cv_quality.to_netcdf(tmp / "cv_quality.nc", encoding=_encoding(cv_quality), **_NC)
        counts.to_csv(tmp / "counts.csv")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True, default=str))
        (tmp / COMPLETE_MARKER).write_text("ok\n")
    return Path(path)


def _read_nc(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, **_NC) as ds:
        out = ds.load()
    return out.drop_encoding()


def load_experiment(path: Path) -> dict[str, Any] | None:
    """The stored pieces of one experiment, or ``None`` when it is absent or incomplete.

    Returns
    -------
    dict or None
        ``model``, ``predictions`` (Dataset), ``quality``, ``cv_quality`` (Dataset or None),
        ``counts`` (DataFrame) and ``meta`` (dict).
    """
    import joblib

    path = Path(path)
    if not (path / COMPLETE_MARKER).exists():
        return None
    with _IO_LOCK:
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("sm_nb_version") != __version__ or meta.get("layout") != LAYOUT_VERSION:
            return None
        cv = path / "cv_quality.nc"
        counts = pd.read_csv(path / "counts.csv", index_col=0)
        counts.index.name = "variable"
        return {
            "model": joblib.load(path / "model.joblib"),
            "predictions": _read_nc(path / "prediction.nc"),
            "quality": _read_nc(path / "quality.nc"),
            "cv_quality": _read_nc(cv) if cv.exists() else None,
            "counts": counts,
            "meta": meta,
        }


def clear_experiment_cache(config: str | None = None, seed: int | None = None) -> int:
    """Delete cached experiments; return how many were removed.

    Parameters
    ----------
    config : str, optional
        Only this config name (all configs by default).
    seed : int, optional
        Only this seed (all seeds by default).
    """
    root = experiments_root()
    if not root.exists():
        return 0
    removed = 0
    for group in sorted(p for p in root.iterdir() if p.is_dir()):
        m = _GROUP.match(group.name)
        if m is None:
            continue
        if config is not None and m["name"] != config:
            continue
        if seed is not None and int(m["seed"]) != int(seed):
            continue
        removed += sum(1 for p in group.iterdir() if p.is_dir() and not p.name.startswith("."))
        shutil.rmtree(group, ignore_errors=True)
    return removed


def _spec_meta(r: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {**spec, "sm_nb_version": __version__, "layout": LAYOUT_VERSION, "n_train": r["n_train"],
            "train_time_s": r["train_time_s"], "cv_time_s": r["cv_time_s"], "total_time_s": r["total_time_s"],
            "counts_attrs": r["counts"].attrs, "created": pd.Timestamp.now(tz="UTC").isoformat()}


def store_result(path: Path, pieces: dict[str, Any], spec: dict[str, Any]) -> Path:
    """Write the pieces of a fresh experiment (:func:`sm_nb.selection.train_combination`)."""
    preds = xr.Dataset({"sm_nn": pieces["prediction"]})
    if pieces["cv_prediction"] is not None:
        preds["sm_nn_cv"], preds["cv_fold"] = pieces["cv_prediction"], pieces["cv_fold_map"]
    return save_experiment(path, pieces["model"], preds, pieces["quality"], pieces["cv_quality"],
                           pieces["counts"], _spec_meta(pieces, spec))


def cached_result(path: Path, **common: Any) -> ExperimentResult | None:
    """The stored experiment at ``path`` as an :class:`ExperimentResult`, or ``None``."""
    stored = load_experiment(path)
    if stored is None:
        return None
    meta, preds = stored["meta"], stored["predictions"]
    counts = stored["counts"]
    counts.attrs = dict(meta["counts_attrs"])
    return ExperimentResult(
        model=stored["model"], prediction=preds["sm_nn"], quality=stored["quality"],
        cv_prediction=preds["sm_nn_cv"] if "sm_nn_cv" in preds else None, cv_quality=stored["cv_quality"],
        counts=counts, train_time_s=float(meta["train_time_s"]), n_train=int(meta["n_train"]),
        cv_fold_map=preds["cv_fold"] if "cv_fold" in preds else None, cv_time_s=float(meta["cv_time_s"]),
        total_time_s=float(meta["total_time_s"]), from_cache=True, path=str(path), **common)
