"""The downscaling step (paper §2.2.3): the trained network applied on the fine grid, on dask.

* :func:`apply_network` — run a fitted :class:`~sm_nb.nn.LMRegressor` on any grid's input cube,
  lazily, one dask block at a time; NaN wherever an input is missing;
* :func:`downscale` — build the fine-grid inputs (microwave replicated, auxiliaries native) and
  apply the network; coverage per day, provenance, optional incremental atomic zarr output;
* :func:`coverage_table` — valid fine pixels per day;
* :func:`add_downscale_parser` — the ``sm-nb downscale`` command.

The conservation check (aggregate back to the coarse grid, residual correction) is in
:mod:`sm_nb.conservation`.

Running on a cluster: every function builds a dask graph and computes with the active dask
scheduler, so the same call runs on a ``dask.distributed`` cluster once a client exists::

    from dask.distributed import Client
    from sm_nb.selection import FINAL_INPUTS, train_combination

    client = Client("tcp://scheduler:8786")   # or Client(LocalCluster(...)); from then on dask uses it
    result = train_combination(FINAL_INPUTS, "full", 0)
    ds = downscale(result, config="full", output="/shared/sm_full.zarr")

Workers must import ``sm_nb`` and see the scenario cache (``$SM_NB_CACHE``) and the output
folder on a shared file system.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._version import __version__
from .conventions import COORD_ATTRS, LAT, LON, TIME, cf_attrs
from .exceptions import ConfigError, DataError, SmNbError

__all__ = [
    "apply_network",
    "downscale",
    "coverage_table",
    "write_store",
]

_INPUT = "input"
_MAX_BLOCK = 4_000_000  # pixel-days per dask block by default (≈ 130 MB of float32 inputs for 8 inputs)
_REF = "Lv, Zhang & Zhu (2021) Remote Sens. 13, 1583, section 2.2.3"


# ---------------------------------------------------------------------------------------------
# the trained network
# ---------------------------------------------------------------------------------------------
def _canonical(names: Iterable[str]) -> list[str]:
    from .preprocess import resolve_inputs

    out = []
    for n in names:
        try:
            out.append(next(iter(resolve_inputs([n]).values())).name)
        except SmNbError:
            out.append(str(n).upper())
    return out


def _unwrap(model: Any, model_inputs: Sequence[str] | None) -> tuple[Any, list[str] | None]:
    """(fitted estimator, names of its input columns or None)."""
    est, names = model, None
    if hasattr(model, "model") and hasattr(model, "inputs"):  # ExperimentResult
        est, names = model.model, list(model.inputs)
    if not hasattr(est, "predict") or not hasattr(est, "n_features_in_"):
        raise DataError(f"model is a {type(est).__name__}; expected a fitted LMRegressor or an ExperimentResult "
                        "(sm_nb.selection.train_combination) with .model and .inputs")
    if model_inputs is not None:
        names = list(model_inputs)
    elif names is None and hasattr(est, "feature_names_in_"):
        names = [str(n) for n in est.feature_names_in_]
    if names is not None and len(names) != est.n_features_in_:
        raise DataError(f"the model has {est.n_features_in_} input features but its input names are {names}")
    return est, names


def _match_inputs(ds: xr.Dataset, est: Any, names: list[str] | None) -> list[str]:
    """Variables of ``ds`` in the model's column order; a clear error when they differ."""
    given = [str(v) for v in ds.data_vars]
    if names is None:
        if len(given) != est.n_features_in_:
            raise DataError(f"the model was trained on {est.n_features_in_} inputs but the fine data offer "
                            f"{len(given)}: {given}; pass the inputs it was trained on")
        return given
    want, have = _canonical(names), _canonical(given)
    if sorted(want) != sorted(have):
        raise DataError(f"the model was trained on inputs {list(names)} but the data offer {given}; "
                        f"missing {[n for n, c in zip(names, want, strict=True) if c not in have]}, "
                        f"extra {[n for n, c in zip(given, have, strict=True) if c not in want]}")
    return [given[have.index(c)] for c in want]


def _slim(est: Any) -> Any:
    """A copy of the estimator without its training history (small to ship to dask workers)."""
    slim = copy.copy(est)
    for attr in ("history_", "split_indices_", "init_weights_", "feature_names_in_"):
        if attr in slim.__dict__:
            delattr(slim, attr)
    return slim


def _predict_block(*arrays: np.ndarray, net: Any, precision: str = "float64") -> np.ndarray:
    """NN output for one block; NaN where any input is NaN (never a fill)."""
    flat = [np.asarray(a).reshape(-1) for a in arrays]
    ok = np.logical_and.reduce([np.isfinite(a) for a in flat])  # only valid rows are stacked
    out = np.full(ok.size, np.nan, dtype=np.float32)
    if ok.any():
        x = np.stack([a[ok].astype(precision, copy=False) for a in flat], axis=1)
        out[ok] = net.predict(x) if precision == "float64" else net.predict(x, precision=precision)
    return out.reshape(arrays[0].shape)


def _training_range(est: Any) -> tuple[np.ndarray, np.ndarray] | None:
    if not (hasattr(est, "x_min_") and hasattr(est, "x_gain_")):
        return None
    lo = np.asarray(est.x_min_, dtype=float)
    return lo, lo + 2.0 / np.asarray(est.x_gain_, dtype=float)  # mapminmax: x_min ↦ −1, x_max ↦ +1


def _model_attrs(est: Any, names: Sequence[str] | None) -> dict[str, Any]:
    def num(v: Any) -> Any:
        return float(v) if np.isfinite(v) else "nan"

    attrs: dict[str, Any] = {"model": type(est).__name__,
                             "model_inputs": ", ".join(names) if names else "unknown (feature count checked only)"}
    for k in ("hidden_units", "n_restarts", "max_epochs"):
        if hasattr(est, k):
            attrs[f"model_{k}"] = int(getattr(est, k))
    if hasattr(est, "restart_losses_"):
        attrs["model_restart_losses"] = ", ".join(f"{v:.6g}" for v in np.asarray(est.restart_losses_, float))
        attrs["model_best_restart"] = int(est.best_restart_)
        attrs["model_train_loss"] = num(est.train_loss_)
        attrs["model_val_loss"] = num(est.val_loss_)
        attrs["model_test_loss"] = num(est.test_loss_)
        attrs["model_loss_units"] = "(m3 m-3)2 (mean squared error)"
        attrs["model_stop_reason"] = str(est.stop_reason_)
    return attrs


def _block_chunks(chunks: Mapping[str, int] | None, shape: tuple[int, int, int], time_chunk: int) -> dict[str, int]:
    nt, ny, nx = shape
    if chunks is None:
        t = max(1, min(time_chunk, nt))
        rows = max(1, min(ny, _MAX_BLOCK // max(t * nx, 1)))
        return {TIME: t, LAT: rows, LON: nx}
    bad = [k for k in chunks if k not in (TIME, LAT, LON)]
    if bad:
        raise ConfigError(f"chunks has dimension(s) {bad}; expected some of ('time', 'lat', 'lon')")
    out = {TIME: time_chunk, LAT: ny, LON: nx}
    for k, v in chunks.items():
        out[k] = {TIME: nt, LAT: ny, LON: nx}[k] if v in (-1, None) else int(v)
        if out[k] < 1:
            raise ConfigError(f"chunks[{k!r}] is {v!r}; expected a positive integer or -1")
    return out


def apply_network(model: Any, inputs: xr.Dataset, *, model_inputs: Sequence[str] | None = None,
                  chunks: Mapping[str, int] | None = None, time_chunk: int = 8,
                  precision: str = "float64") -> xr.Dataset:
    """Apply a fitted network to an input cube on any grid, lazily (dask).

    Parameters
    ----------
    model : LMRegressor or ExperimentResult
        Fitted network; an ``ExperimentResult`` (anything with ``.model`` and ``.inputs``) also
        gives its input names.
    inputs : Dataset
        One (time, lat, lon) variable per input (:func:`sm_nb.preprocess.build_inputs`), in
        the units the network was trained with; reordered to the model's column order by name.
    model_inputs : list of str, optional
        Names of the model's input columns, when ``model`` does not carry them.
    chunks : dict, optional
        Dask block sizes over ``time``/``lat``/``lon`` (default: ``time_chunk`` days and at most
        4·10⁶ pixel-days per block).
    time_chunk : int
        Days per block when ``chunks`` does not say.
    precision : {"float64", "float32"}
        Arithmetic of the forward pass (:meth:`sm_nb.nn.LMRegressor.predict`); the output is
        float32 either way. The paper's product uses float64; the 1 km variants float32.

    Returns
    -------
    Dataset
        ``sm`` (time, lat, lon) m3 m-3 float32, NaN where any input is NaN; ``coverage`` (time);
        ``missing_fraction`` and ``out_of_range_fraction`` (time, input): share of the grid where
        each input is missing, and of valid pixels where it lies outside the training range
        (the network extrapolates there). All lazy.

    Raises
    ------
    DataError
        The model was trained on other inputs than ``inputs`` offers (both lists are named), or
        an input lacks the (time, lat, lon) dims.
    """
    est, names = _unwrap(model, model_inputs)
    if not isinstance(inputs, xr.Dataset):
        raise DataError(f"inputs is a {type(inputs).__name__}; expected an xarray Dataset of (time, lat, lon) inputs")
    order = _match_inputs(inputs, est, names)
    for n in order:
        if set(inputs[n].dims) != {TIME, LAT, LON}:
            raise DataError(f"input {n!r} has dims {tuple(inputs[n].dims)}; expected ('time', 'lat', 'lon')")
    ds = inputs[order].transpose(TIME, LAT, LON)
    shape = (ds.sizes[TIME], ds.sizes[LAT], ds.sizes[LON])
    blocks = _block_chunks(chunks, shape, time_chunk)
    arrays = [ds[n].chunk(blocks) for n in order]
    sm = xr.apply_ufunc(_predict_block, *arrays, kwargs={"net": _slim(est), "precision": precision}, dask="parallelized",
                        output_dtypes=[np.float32])
    sm.attrs = cf_attrs("sm", long_name="NN soil moisture", coverage_content_type="modelResult")
    space = (LAT, LON)
    coverage = sm.notnull().mean(space).astype(np.float32)
    coverage.attrs = {"units": "1", "long_name": "fraction of grid cells with a NN value (all inputs valid)"}
    stacked = xr.DataArray(xr.Variable.concat([a.variable for a in arrays], _INPUT),
                           coords=arrays[0].coords, dims=(_INPUT, TIME, LAT, LON))
    stacked = stacked.chunk({_INPUT: -1})
    missing = stacked.isnull().mean(space).astype(np.float32).T
    missing.attrs = {"units": "1", "long_name": "fraction of grid cells where the input is missing"}
    out = {"sm": sm, "coverage": coverage, "missing_fraction": missing}
    rng = _training_range(est)
    if rng is not None:
        lo = xr.DataArray(rng[0], dims=_INPUT)
        hi = xr.DataArray(rng[1], dims=_INPUT)
        outside = ((stacked < lo) | (stacked > hi)).where(sm.notnull())
        n_valid = sm.notnull().sum(space)
        oor = (outside.sum(space) / n_valid.where(n_valid > 0)).astype(np.float32).T
        oor.attrs = {"units": "1", "long_name": "fraction of valid cells where the input is outside the "
                     "network's training range (extrapolation)"}
        out["out_of_range_fraction"] = oor
    res = xr.Dataset(out).assign_coords({_INPUT: xr.Variable(_INPUT, order, {"long_name": "NN input"})})
    for d in (TIME, LAT, LON):
        res[d].attrs = {**COORD_ATTRS[d], **{k: v for k, v in inputs[d].attrs.items() if k != "units" or d != TIME}}
    res.attrs = {**_model_attrs(est, names), "inputs": ", ".join(order)}
    return res


# ---------------------------------------------------------------------------------------------
# the downscaling step
# ---------------------------------------------------------------------------------------------
def downscale(model: Any, inputs: xr.Dataset, *, output: str | Path | None = None, time: Any = None,
              chunks: Mapping[str, int] | None = None, progress: bool = False,
              model_inputs: Sequence[str] | None = None, time_chunk: int = 8,
              attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Downscale: the network trained on the coarse grid applied to the fine-grid inputs.

    Parameters
    ----------
    model : ExperimentResult or LMRegressor
        The fitted network (:func:`sm_nb.selection.train_combination`, :meth:`sm_nb.Study.train`).
    inputs : Dataset
        The fine-grid inputs, one (time, lat, lon) variable per network input (microwave
        replicated from the coarse grid, auxiliaries native): :meth:`sm_nb.Study.inputs` with
        ``grid="fine"``, or :func:`sm_nb.preprocess.build_inputs`, or a user's own Dataset.
    output : path, optional
        Zarr store to write. Blocks of days are computed and written one after another into a
        temporary store that replaces ``output`` only when complete (an interrupted run leaves
        no partial store); the returned Dataset then reads from the store.
    time : slice, str, list of dates, optional
        Days to downscale (``.sel(time=...)``); default all.
    chunks : dict, optional
        Dask block sizes (see :func:`apply_network`).
    progress : bool
        tqdm bar over the written blocks (with ``output``).
    model_inputs : list of str, optional
        Input names of a bare LMRegressor that does not carry them.
    time_chunk : int
        Days per dask block when ``chunks`` does not say.
    attrs : mapping, optional
        Provenance added to the global attributes (a Study adds config, seed, data fingerprint).

    Returns
    -------
    Dataset
        ``sm`` (time, lat, lon) m3 m-3 — NaN where any input is missing (clouds in LST, swath
        gaps of the microwave inputs), never filled; ``coverage`` (time) and the attribute
        ``coverage_overall`` (when written; else see :func:`coverage_table`);
        ``missing_fraction`` and ``out_of_range_fraction`` (time, input); CF attributes and
        provenance (inputs, model restarts and losses, sm_nb version).

    Raises
    ------
    DataError
        The model was trained on other inputs than given (both lists named), inputs not a
        Dataset, no day selected.

    Notes
    -----
    Paper §2.2.3: the network is built on the 0.25° × 0.3125° grid, then fed "1 km" data, the
    microwave inputs "resampled to 1 km spatial resolution by replication expansion, without
    changing the specific values" and the auxiliaries at their native resolution. The work is a
    dask graph (``xr.apply_ufunc(..., dask="parallelized")``, one block = some days × some rows);
    it runs on the active scheduler: threads by default, or a ``dask.distributed`` cluster
    after ``Client("tcp://host:8786")`` (workers need ``sm_nb`` and the output folder on a
    shared file system).
    """
    if not isinstance(inputs, xr.Dataset):
        raise DataError(f"inputs is a {type(inputs).__name__}; expected an xarray Dataset of fine-grid "
                        "(time, lat, lon) inputs (e.g. Study.inputs(names, 'fine'))")
    fine = inputs
    if time is not None:
        fine = fine.sel({TIME: time})
        if TIME not in fine.dims:
            fine = fine.expand_dims(TIME)
        if fine.sizes[TIME] == 0:
            raise DataError(f"time={time!r} selects no day; the inputs cover {inputs.sizes.get(TIME, 0)} days")
    ds = apply_network(model, fine, model_inputs=model_inputs, chunks=chunks, time_chunk=time_chunk)
    ds["sm"].attrs["long_name"] = "soil moisture downscaled by the NN (replicated microwave, fine auxiliaries)"
    ds.attrs = {
        "title": "sm_nb downscaled soil moisture (fine grid)",
        "Conventions": "CF-1.10",
        "source": "sm_nb: NN trained on the coarse grid, applied to fine-grid inputs",
        "grid": "fine",
        **{k: v for k, v in fine.attrs.items() if k in ("min_valid_fraction", "flag_mask", "nsdsi_variant", "slope_source")},
        **dict(attrs or {}),
        **ds.attrs,
        "sm_nb_version": __version__,
        "references": _REF,
    }
    if output is None:
        return ds
    return write_store(ds, Path(output), progress)


def write_store(ds: xr.Dataset, path: Path, progress: bool = False) -> xr.Dataset:
    """Write block after block of days into a temporary zarr store, then move it into place.

    ``ds`` needs a lazy (time, lat, lon) ``sm`` (its time chunks are the blocks) and a ``coverage``
    (time) variable; ``coverage_overall`` and ``n_days`` go into the store's attributes. An
    interrupted write leaves no partial store (:func:`sm_nb.store.atomic_dir`).
    """
    import zarr
    from tqdm.auto import tqdm

    from .store import atomic_dir

    tchunks = ds["sm"].chunks[0]
    enc = {"sm": {"chunks": tuple(c[0] for c in ds["sm"].chunks), "dtype": "float32"},
           TIME: {"units": "days since 2000-01-01", "calendar": "proleptic_gregorian", "dtype": "int64"}}
    static = [v for v in ds.variables if TIME not in ds[v].dims]
    with atomic_dir(path) as tmp:
        ds.to_zarr(tmp, mode="w", compute=False, encoding=enc, consolidated=False, zarr_format=2)
        start = 0
        for n in tqdm(tchunks, desc="downscale", unit="block", disable=not progress):
            sl = slice(start, start + n)
            ds.drop_vars(static).isel({TIME: sl}).to_zarr(tmp, region={TIME: sl}, consolidated=False, zarr_format=2)
            start += n
        cov = xr.open_zarr(tmp, consolidated=False)["coverage"].values
        group = zarr.open_group(str(tmp), mode="r+", zarr_format=2)
        group.attrs.update({"coverage_overall": float(np.mean(cov)), "n_days": int(cov.size)})
        zarr.consolidate_metadata(str(tmp))
    return xr.open_zarr(path)


def coverage_table(ds: xr.Dataset) -> pd.DataFrame:
    """Coverage per day and overall of a :func:`downscale` result (computes it if lazy).

    Returns
    -------
    DataFrame
        Index ``time`` plus a last row ``overall``; ``coverage`` (fraction of grid cells with a
        value) and one ``missing_<input>`` column per input (fraction where it is missing).
    """
    if "coverage" not in ds or "missing_fraction" not in ds:
        raise DataError(f"ds lacks 'coverage'/'missing_fraction'; expected a downscale() result, got {sorted(ds.data_vars)}")
    import dask

    cov, miss = dask.compute(ds["coverage"], ds["missing_fraction"])
    df = pd.DataFrame({"coverage": cov.to_series()})
    for name in miss[_INPUT].values:
        df[f"missing_{name}"] = miss.sel({_INPUT: name}).to_series()
    df.index = [str(pd.Timestamp(t).date()) for t in df.index]
    df.loc["overall"] = df.mean()
    df.index.name = TIME
    return df


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------
