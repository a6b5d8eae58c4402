"""The downscaling network of Lv, Zhang & Zhu (2021, §2.2.3): one tanh hidden layer trained by
Levenberg–Marquardt with random restarts, as a scikit-learn estimator.

:class:`LMRegressor` maps coarse microwave and auxiliary inputs (sample, feature) to CLDAS soil
moisture (sample,). It reproduces the MATLAB Neural Network Toolbox defaults the paper relied on
(``feedforwardnet`` + ``trainlm`` + ``initnw`` + ``mapminmax`` + ``dividerand``); the numerics
live in :mod:`sm_nb._lm`.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from . import _lm
from .conventions import FEATURE, SAMPLE
from .exceptions import ConfigError, DataError

__all__ = ["LMRegressor"]


class LMRegressor(RegressorMixin, BaseEstimator):
    """One-hidden-layer ``tansig`` network trained with Levenberg–Marquardt (MATLAB ``trainlm``).

    Parameters
    ----------
    hidden_units : int
        Neurons of the hidden layer ``H``.
    n_restarts : int
        Random initialisations; the network with the lowest validation MSE is kept (paper: 4).
    max_epochs : int
        ``trainParam.epochs``.
    mu_init, mu_dec, mu_inc, mu_max : float
        ``trainParam.mu``, ``mu_dec``, ``mu_inc``, ``mu_max``: the Marquardt damping μ.
    min_grad : float
        ``trainParam.min_grad``: stop when ``2‖JᵀE/N‖`` (gradient of the MSE) ≤ this.
    max_fail : int
        ``trainParam.max_fail``: stop after this many epochs in a row without a new best
        validation MSE (only epochs where it rises count, as in MATLAB).
    split : tuple of 3 float
        (train, validation, test) ratios for ``dividerand``; validation or test may be 0.
    chunk_size : int
        Rows per chunk of the forward passes; ``JᵀJ`` and ``JᵀE`` are accumulated over Jacobian
        blocks of ``min(chunk_size, 4096)`` rows (≤ ``8 · 4096 · P`` bytes, ``P = H (d + 2) + 1``
        weights). Training also keeps two forward passes of the training split,
        ``16 N (H + 1)`` bytes for N training samples.
    progress : bool
        Show a tqdm bar over restarts and epochs.
    random_state : int, numpy.random.Generator or None
        Seed for ``np.random.default_rng``: draws the split, then each restart's weights.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features d.
    x_min_, x_gain_ : ndarray (feature,)
        ``mapminmax`` settings of the inputs (training split): x ↦ (x − x_min_)·x_gain_ − 1.
    y_min_, y_gain_ : float
        ``mapminmax`` settings of the target, target units and 1/target units.
    coefs_ : ndarray (P,)
        Kept weights ``[W1 (H × d row-major), b1, w2, b2]`` acting on scaled data.
    init_weights_ : ndarray (P,)
        Nguyen–Widrow initial weights of the kept restart.
    n_iter_ : int
        Epochs run by the kept restart.
    best_epoch_ : int
        Epoch of the kept (best-validation) weights.
    stop_reason_ : str
        MATLAB ``tr.stop`` of the kept restart, e.g. ``"Validation stop."``.
    best_restart_ : int
        Index of the kept restart.
    restart_losses_ : ndarray (restart,), target units squared
        Best validation MSE of every restart (training MSE when there is no validation split).
    train_loss_, val_loss_, test_loss_ : float, target units squared
        MSE of the kept weights on each split (NaN for an empty split).
    history_ : pandas.DataFrame
        One row per (restart, epoch): ``train_mse``, ``val_mse``, ``test_mse``, ``mu``,
        ``gradient``, ``val_fail``.
    split_indices_ : dict of str to ndarray
        Row indices of ``"train"``, ``"val"`` and ``"test"``.
    target_meta_ : dict
        ``name`` and ``attrs`` (units!) of ``y`` when it was a DataArray, given to predictions.

    Notes
    -----
    Lv et al. (2021, §2.2.3) train a three-layer network with Levenberg–Marquardt and error
    backpropagation, repeat the training four times from random initial weights "to ensure
    different starting points on the error surface" and keep the optimal network. Their tool is
    MATLAB's; its defaults are reproduced here:

    * ``mapminmax``: inputs and target mapped to [−1, 1]; the network is
      :math:`y = w_2^\\top \\tanh(W_1 x + b_1) + b_2` on scaled data.
    * ``dividerand``: random 70/15/15 split; validation/test sizes rounded, train the rest.
    * ``initnw``: Nguyen–Widrow hidden weights of magnitude :math:`0.7 H^{1/d}` with spread
      biases (× 2 for the ``tansig`` active range); output layer ``rands`` in [−1, 1].
    * ``trainlm``: errors in target units, performance MSE,
      :math:`(J^\\top J/N + \\mu I)\\,\\delta = -J^\\top e/N` solved by Cholesky; μ ×0.1 on an
      accepted step, ×10 and retry otherwise; stop on ``max_epochs``, gradient ≤ ``min_grad``,
      μ ≥ ``mu_max`` or ``max_fail`` validation failures; the best-validation weights are returned.
      :math:`J^\\top J` is accumulated over row blocks (MATLAB's memory reduction), so the
      N × P Jacobian is never held; it is formed once per epoch and reused while μ grows, and
      the forward pass of the accepted step is the one the next Jacobian starts from.

    Deviations from MATLAB: ``mapminmax`` settings come from the training split only (MATLAB
    uses all samples passed to ``train``), so validation/test data are truly unseen; constant
    input columns raise :class:`~sm_nb.exceptions.DataError` instead of being dropped by
    ``removeconstantrows``; one split is drawn and shared by all restarts (MATLAB would redraw
    it per ``train`` call), so their validation errors are comparable; random numbers come from
    numpy, so weights differ from MATLAB's for the same seed.
    """

    def __init__(
        self,
        hidden_units: int = 10,
        n_restarts: int = 4,
        max_epochs: int = 1000,
        mu_init: float = 1e-3,
        mu_dec: float = 0.1,
        mu_inc: float = 10.0,
        mu_max: float = 1e10,
        min_grad: float = 1e-7,
        max_fail: int = 6,
        split: tuple[float, float, float] = (0.70, 0.15, 0.15),
        chunk_size: int = 65536,
        progress: bool = False,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.hidden_units = hidden_units
        self.n_restarts = n_restarts
        self.max_epochs = max_epochs
        self.mu_init = mu_init
        self.mu_dec = mu_dec
        self.mu_inc = mu_inc
        self.mu_max = mu_max
        self.min_grad = min_grad
        self.max_fail = max_fail
        self.split = split
        self.chunk_size = chunk_size
        self.progress = progress
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> LMRegressor:
        """Train ``n_restarts`` networks and keep the one with the lowest validation MSE.

        Parameters
        ----------
        X : array-like or DataArray (sample, feature)
            Inputs (any units; scaled internally).
        y : array-like or DataArray (sample,)
            Target, e.g. CLDAS soil moisture in m3 m-3.

        Returns
        -------
        LMRegressor
            ``self``, fitted.

        Raises
        ------
        ConfigError
            A parameter is out of range.
        DataError
            NaN/inf values, mismatched lengths, too few samples for ``split``, a constant input
            column, or a training run whose MSE stops being finite.
        """
        return self._fit(X, y, init_weights=None)

    def _fit_from_weights(self, X: Any, y: Any, weights: Any) -> LMRegressor:
        """Private hook: one training run starting from ``weights`` (P,) instead of ``initnw``.

        The split is still drawn from ``random_state``; used by the tests and the benchmark to
        compare with other optimisers from the same starting point.
        """
        return self._fit(X, y, init_weights=np.asarray(weights, dtype=float))

    def _fit(self, X: Any, y: Any, init_weights: np.ndarray | None) -> LMRegressor:
        settings = self._check_params()
        _check_aligned(X, y)
        X, _ = _as_samples(X, "X")
        y, y_meta = _as_samples(y, "y")
        X = validate_data(self, X, reset=True, dtype=np.float64, ensure_all_finite=False, ensure_min_samples=0)
        y = _check_target(y, X.shape[0])
        _check_finite(X, "X")
        _check_finite(y[:, None], "y")
        n, d = X.shape
        h = self.hidden_units
        p = _lm.n_weights(d, h)
        if init_weights is not None and init_weights.shape != (p,):
            raise ConfigError(f"weights has shape {init_weights.shape}; expected ({p},) for d={d}, H={h}")

        rng = np.random.default_rng(self.random_state)
        idx = _lm.dividerand(rng, n, self.split)
        sizes = tuple(len(i) for i in idx)
        if sizes[0] < 2 or any(s == 0 for s, r in zip(sizes, self.split, strict=True) if r > 0):
            raise DataError(
                f"X has {n} samples, too few for split={tuple(self.split)}: it gives "
                f"train/validation/test = {sizes[0]}/{sizes[1]}/{sizes[2]}; expected at least 2 "
                "training samples and 1 in every split with a ratio > 0"
            )
        _check_constant(X, "X", "")
        xtr_raw, ytr_raw = X[idx[0]], y[idx[0]]
        _check_constant(xtr_raw, "X", " within the training split")
        _check_constant(ytr_raw[:, None], "y", " within the training split")

        self.x_min_, self.x_gain_ = _lm.mapminmax_settings(xtr_raw)
        y_min, y_gain = _lm.mapminmax_settings(ytr_raw[:, None])
        self.y_min_, self.y_gain_ = float(y_min[0]), float(y_gain[0])
        xs, ys = self._scale_x(X), (y - self.y_min_) * self.y_gain_ - 1.0
        sets = [(xs[i], ys[i]) for i in idx]

        n_runs = 1 if init_weights is not None else self.n_restarts
        results = []
        bar = _Progress(self.progress, n_runs, self.max_epochs)
        buffers = _lm._TrainBuffers(*sets[0], h, settings.chunk_size)  # shared by the restarts
        try:
            for _r in range(n_runs):
                theta0 = init_weights if init_weights is not None else _lm.nguyen_widrow(rng, d, h)
                bar.start_run()
                results.append(_lm.train_lm(theta0, *sets, h, 1.0 / self.y_gain_, settings, bar.epoch,
                                            buffers=buffers))
        finally:
            bar.close()

        has_val = sizes[1] > 0
        losses = np.array([r.val_mse if has_val else r.train_mse for r in results])
        best = int(np.argmin(losses))
        res = results[best]
        self.coefs_ = res.theta
        self.init_weights_ = res.theta_init
        self.n_iter_ = res.epochs
        self.best_epoch_ = res.best_epoch
        self.stop_reason_ = res.stop
        self.best_restart_ = best
        self.restart_losses_ = losses
        self.train_loss_, self.val_loss_, self.test_loss_ = res.train_mse, res.val_mse, res.test_mse
        self.history_ = pd.concat(
            [pd.DataFrame(r.history).assign(restart=k) for k, r in enumerate(results)], ignore_index=True
        )[["restart", "epoch", "train_mse", "val_mse", "test_mse", "mu", "gradient", "val_fail"]]
        self.split_indices_ = dict(zip(("train", "val", "test"), idx, strict=True))
        self.target_meta_ = {"name": y_meta.get("name"), "attrs": y_meta.get("attrs", {})}
        return self

    # -------------------------------------------------------------- predict
    def predict(self, X: Any, precision: str = "float64") -> Any:
        """Network output in target units.

        Parameters
        ----------
        X : array-like (sample, feature) or DataArray with dims ``sample`` and ``feature``
            Inputs in the units used for fitting; values outside the training range are
            extrapolated by the network.
        precision : {"float64", "float32"}
            Arithmetic of the forward pass. ``"float32"`` (for 1 km fields stored in float32) is
            ≈ 2× faster — float32 ``tanh`` is vectorised — and differs from float64 by ≈ 1e-7 of
            the output range.

        Returns
        -------
        ndarray (sample,) or DataArray (sample)
            Prediction; a DataArray input gives a DataArray that keeps the ``sample``
            coordinates (e.g. the stacked ``time, lat, lon``) and the target's name and attrs.

        Raises
        ------
        DataError
            Wrong number of features or NaN/inf inputs.
        """
        check_is_fitted(self)
        if precision not in ("float64", "float32"):
            raise ConfigError(f"precision={precision!r}; expected 'float64' or 'float32'")
        original = X
        X, _ = _as_samples(X, "X")
        xa = check_array(X, dtype=np.dtype(precision), ensure_all_finite=False, ensure_min_samples=0)
        if xa.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has {xa.shape[1]} features, but LMRegressor is expecting "
                f"{self.n_features_in_} features as input (as in fit)"
            )
        validate_data(self, X, reset=False, skip_check_array=True)  # feature-name consistency
        _check_finite(xa, "X")
        out = np.empty(xa.shape[0])
        coefs = self.coefs_.astype(xa.dtype)
        for start in range(0, xa.shape[0], self.chunk_size):  # scaled copies one chunk at a time
            rows = slice(start, start + self.chunk_size)
            out[rows] = _lm.forward(coefs, self._scale_x(xa[rows]), self.hidden_units, self.chunk_size)
        out = (out + 1.0) / self.y_gain_ + self.y_min_
        if not np.all(np.isfinite(out)):
            raise DataError("prediction is not finite; inputs far outside the training range?")
        if _is_dataarray(original):
            da = original.isel({FEATURE: 0}, drop=True).copy(data=out)
            da.name = self.target_meta_["name"]
            da.attrs = dict(self.target_meta_["attrs"])
            return da
        return out

    def _scale_x(self, x: np.ndarray) -> np.ndarray:
        if x.dtype == np.float64:
            return (x - self.x_min_) * self.x_gain_ - 1.0
        return (x - self.x_min_.astype(x.dtype)) * self.x_gain_.astype(x.dtype) - x.dtype.type(1.0)

    def _check_params(self) -> _lm.LMSettings:
        def integer(name: str, low: int) -> int:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, Integral) or v < low:
                raise ConfigError(f"{name}={v!r}; expected an integer >= {low}")
            return int(v)

        def real(name: str, ok, expected: str) -> float:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, Real) or not np.isfinite(v) or not ok(v):
                raise ConfigError(f"{name}={v!r}; expected {expected}")
            return float(v)

        integer("hidden_units", 1)
        integer("n_restarts", 1)
        mu_init = real("mu_init", lambda v: v > 0, "a number > 0")
        real("mu_dec", lambda v: 0 < v < 1, "a number in (0, 1)")
        real("mu_inc", lambda v: v > 1, "a number > 1")
        real("mu_max", lambda v: v > mu_init, f"a number > mu_init={mu_init}")
        real("min_grad", lambda v: v >= 0, "a number >= 0")
        split = self.split
        try:
            ratios = [float(r) for r in split]
        except (TypeError, ValueError):
            ratios = []
        if len(ratios) != 3 or not all(np.isfinite(ratios)) or min(ratios) < 0 or ratios[0] <= 0 \
                or abs(sum(ratios) - 1.0) > 1e-9:
            raise ConfigError(
                f"split={split!r}; expected (train, validation, test) ratios >= 0 with train > 0 "
                "summing to 1, e.g. (0.70, 0.15, 0.15)"
            )
        if not isinstance(self.progress, bool | np.bool_):
            raise ConfigError(f"progress={self.progress!r}; expected True or False")
        rs = self.random_state
        if not (rs is None or isinstance(rs, np.random.Generator)
                or (isinstance(rs, Integral) and not isinstance(rs, bool) and rs >= 0)):
            raise ConfigError(f"random_state={rs!r}; expected None, an integer >= 0 or a numpy Generator")
        return _lm.LMSettings(
            max_epochs=integer("max_epochs", 0), mu_init=mu_init, mu_dec=float(self.mu_dec),
            mu_inc=float(self.mu_inc), mu_max=float(self.mu_max), min_grad=float(self.min_grad),
            max_fail=integer("max_fail", 1), chunk_size=integer("chunk_size", 1),
        )


# ---------------------------------------------------------------- helpers
def _is_dataarray(obj: Any) -> bool:
    return type(obj).__name__ == "DataArray" and hasattr(obj, "dims")


def _as_samples(obj: Any, name: str) -> tuple[Any, dict]:
    """A DataArray → numpy (sample[, feature]) by dim name; anything else passes through."""
    if not _is_dataarray(obj):
        return obj, {}
    expected = (SAMPLE, FEATURE) if name == "X" else (SAMPLE,)
    if set(obj.dims) != set(expected):
        raise DataError(f"{name} has dims {obj.dims}; expected {expected}")
    return obj.transpose(*expected).values, {"name": obj.name, "attrs": dict(obj.attrs)}


def _check_aligned(x: Any, y: Any) -> None:
    """DataArrays X and y with a ``sample`` index must carry the same labels in the same order."""
    if _is_dataarray(x) and _is_dataarray(y) and SAMPLE in x.indexes and SAMPLE in y.indexes:
        if not x.indexes[SAMPLE].equals(y.indexes[SAMPLE]):
            raise DataError(
                f"X and y have different {SAMPLE!r} labels; expected the same samples in the same "
                "order (use xarray.align or stack both the same way)"
            )


def _check_target(y: Any, n: int) -> np.ndarray:
    if y is None:
        raise DataError("LMRegressor requires y to be passed, but the target y is None")
    y = check_array(y, dtype=np.float64, ensure_2d=False, ensure_all_finite=False, ensure_min_samples=0)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim != 1:
        raise DataError(f"y has shape {y.shape}; expected one target value per sample, (n_samples,)")
    if y.shape[0] != n:
        raise DataError(f"X has {n} samples but y has {y.shape[0]}; expected the same number")
    return y


def _check_finite(a: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        rows = int(bad.any(axis=1).sum())
        cols = np.flatnonzero(bad.any(axis=0)).tolist()
        where = f" in column(s) {cols}" if name == "X" else ""
        raise DataError(
            f"{name} has NaN or inf in {rows} of {a.shape[0]} rows{where}; expected finite "
            "values: drop or fill those samples first"
        )


def _check_constant(a: np.ndarray, name: str, where: str) -> None:
    if a.shape[0] == 0:
        return
    const = np.flatnonzero(a.min(axis=0) == a.max(axis=0)).tolist()
    if const:
        label = f"column(s) {const}" if name == "X" else "y"
        raise DataError(
            f"{name} {label} constant{where} (value(s) {a[0, const].tolist()}); mapminmax would "
            "divide by zero — drop constant inputs, expected every column to vary"
        )


class _Progress:
    """tqdm bars over restarts and epochs, or nothing."""

    def __init__(self, enabled: bool, n_runs: int, max_epochs: int) -> None:
        self.enabled, self.max_epochs = enabled, max_epochs
        self.outer = self.inner = None
        if enabled:
            from tqdm.auto import tqdm

            self._tqdm = tqdm
            self.outer = tqdm(total=n_runs, desc="LM restarts", unit="run")

    def start_run(self) -> None:
        if not self.enabled:
            return
        if self.inner is not None:
            self.inner.close()
            self.outer.update(1)
        self.inner = self._tqdm(total=self.max_epochs, desc="epochs", unit="epoch", leave=False)

    def epoch(self, epoch: int, train_mse: float, val_mse: float) -> None:
        if self.inner is not None and epoch > 0:
            self.inner.update(1)
            self.inner.set_postfix(train_mse=f"{train_mse:.3g}", val_mse=f"{val_mse:.3g}", refresh=False)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
            self.outer.update(1)
        if self.outer is not None:
            self.outer.close()
