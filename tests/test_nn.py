"""LMRegressor (paper §2.2.3; MATLAB trainlm/initnw/mapminmax/dividerand): known-truth fits,
agreement with MINPACK, restarts, early stopping, chunking, Jacobian, sklearn contract, errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import least_squares
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sm_nb import _lm
from sm_nb.exceptions import ConfigError, DataError
from sm_nb.nn import LMRegressor

SIGMA = 0.05


def smooth(n: int, rng: np.random.Generator, sigma: float = SIGMA):
    """Two inputs on unrelated scales (unitless, ~K) and a smooth nonlinear target + N(0, σ²)."""
    u = rng.uniform(-2.0, 2.0, (n, 2))
    x = u * [1.0, 50.0] + [0.0, 300.0]
    f = np.sin(1.5 * u[:, 0]) * np.exp(-0.2 * u[:, 1] ** 2) + 0.3 * u[:, 1]
    return x, f, f + rng.normal(0.0, sigma, n)


def multimodal(n: int, rng: np.random.Generator, sigma: float = SIGMA):
    """1-D oscillating target; a 4-unit tanh net has many poor local minima on it."""
    x = rng.uniform(-1.0, 1.0, (n, 1))
    return x, np.sin(3 * np.pi * x[:, 0]) + 0.5 * x[:, 0] + rng.normal(0.0, sigma, n)


@pytest.fixture(scope="module")
def data():
    x, _, y = smooth(600, np.random.default_rng(3))
    return x, y


@pytest.fixture(scope="module")
def fitted(data):
    return LMRegressor(hidden_units=6, n_restarts=2, random_state=0).fit(*data)


# ------------------------------------------------------------------ known truth
def test_fits_smooth_function_to_noise_level():
    rng = np.random.default_rng(42)
    x, _, y = smooth(3000, rng)
    x_new, f_new, y_new = smooth(4000, rng)
    est = LMRegressor(hidden_units=8, n_restarts=1, random_state=0).fit(x, y)
    pred = est.predict(x_new)
    rmse = np.sqrt(np.mean((pred - y_new) ** 2))
    # with 4000 fresh samples the RMSE of pure noise has a standard error σ/√(2n) ≈ 1.1 % of σ;
    # ±8 % leaves room for a small model error on top
    assert SIGMA * 0.92 < rmse < SIGMA * 1.08, rmse
    assert np.sqrt(np.mean((pred - f_new) ** 2)) < 0.3 * SIGMA  # the fit itself is close to f
    assert est.test_loss_ == pytest.approx(SIGMA**2, rel=0.25)  # 450 test samples: SE ≈ 7 %
    assert est.stop_reason_ == "Validation stop."


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_loss_at_least_as_low_as_minpack_from_same_weights(seed):
    """Same start, all data in training (no early stop), residuals in the same units.

    Seeds 1, 2 and 4 are problems where MINPACK's scaled trust-region path and trainlm's μ
    path end in the same basin (over 60 seeds: trainlm lower in 21, equal to 1e-6 in 18,
    MINPACK lower in 21 — from one start the two optimisers may reach different local minima).
    """
    rng = np.random.default_rng(seed)
    x, _, y = smooth(200, rng)
    h = 3
    theta0 = _lm.nguyen_widrow(np.random.default_rng(100 + seed), 2, h)
    est = LMRegressor(hidden_units=h, split=(1.0, 0.0, 0.0), random_state=0)
    est._fit_from_weights(x, y, theta0)
    np.testing.assert_array_equal(est.init_weights_, theta0)
    xs, scale = est._scale_x(x), 1.0 / est.y_gain_
    ts = (y - est.y_min_) * est.y_gain_ - 1.0
    fit = least_squares(
        lambda th: scale * (_lm.forward(th, xs, h) - ts),
        theta0,
        jac=lambda th: scale * _lm.jacobian(th, xs, h),
        method="lm",
    )
    minpack_mse = 2.0 * fit.cost / len(y)
    assert est.train_loss_ <= minpack_mse * (1 + 1e-7)
    assert est.train_loss_ == pytest.approx(np.mean((est.predict(x) - y) ** 2), rel=1e-10)


def test_restarts_help_on_multimodal_problem():
    """random_state=1: restart 0 sticks at val MSE ≈ 0.33, restart 3 reaches ≈ σ² = 0.0025."""
    x, y = multimodal(400, np.random.default_rng(7))
    for seed in range(4):
        one = LMRegressor(hidden_units=4, n_restarts=1, random_state=seed).fit(x, y)
        four = LMRegressor(hidden_units=4, n_restarts=4, random_state=seed).fit(x, y)
        # the split is drawn first, so restart 0 of `four` is exactly the single run
        assert four.restart_losses_[0] == one.val_loss_
        assert four.val_loss_ == four.restart_losses_.min() <= one.val_loss_
    one = LMRegressor(hidden_units=4, n_restarts=1, random_state=1).fit(x, y)
    four = LMRegressor(hidden_units=4, n_restarts=4, random_state=1).fit(x, y)
    assert four.val_loss_ < 0.1 * one.val_loss_
    assert four.val_loss_ < 2 * SIGMA**2


def test_early_stopping_keeps_best_validation_weights():
    x, _, y = smooth(80, np.random.default_rng(5), sigma=0.3)  # 56 training rows, 141 weights
    est = LMRegressor(hidden_units=35, n_restarts=1, random_state=2).fit(x, y)
    hist = est.history_
    assert est.stop_reason_ == "Validation stop."
    assert est.best_epoch_ == est.n_iter_ - est.max_fail
    assert est.val_loss_ == hist.val_mse.min() == hist.val_mse[est.best_epoch_]
    assert hist.val_mse.iloc[-1] > est.val_loss_
    assert hist.train_mse.iloc[-1] < est.train_loss_  # training went on improving
    val = est.split_indices_["val"]
    assert np.mean((est.predict(x[val]) - y[val]) ** 2) == pytest.approx(est.val_loss_, rel=1e-10)


def test_trainlm_mu_and_monotone_training_loss(fitted):
    for _, h in fitted.history_.groupby("restart"):
        assert np.all(np.diff(h.train_mse) <= 0)  # only lower-SSE steps are accepted
        steps = np.log10(h.mu.to_numpy() / 1e-3)  # μ = 1e-3 · 10^k
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)


def test_max_epochs_stop():
    x, _, y = smooth(100, np.random.default_rng(0))
    est = LMRegressor(hidden_units=3, n_restarts=1, max_epochs=3, random_state=0).fit(x, y)
    assert (est.n_iter_, est.stop_reason_) == (3, "Maximum epoch reached.")
    assert len(est.history_) == 4


# ------------------------------------------------------------------ numerics
def test_nguyen_widrow_magnitude():
    theta = _lm.nguyen_widrow(np.random.default_rng(0), 8, 10)
    w1, b1, w2, _ = _lm.unpack(theta, 8, 10)
    np.testing.assert_allclose(np.linalg.norm(w1, axis=1), 2 * 0.7 * 10 ** (1 / 8))
    np.testing.assert_allclose(np.abs(b1), 2 * 0.7 * 10 ** (1 / 8) * np.abs(np.linspace(-1, 1, 10)))
    assert np.all(np.abs(w2) <= 1)


def test_dividerand_sizes():
    tr, va, te = _lm.dividerand(np.random.default_rng(0), 101, (0.7, 0.15, 0.15))
    assert (len(tr), len(va), len(te)) == (71, 15, 15)
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(101))


def test_analytic_jacobian_matches_finite_differences():
    rng = np.random.default_rng(0)
    d, h = 3, 4
    theta = _lm.nguyen_widrow(rng, d, h)
    x = rng.uniform(-1, 1, (7, d))
    eps = 1e-6
    numeric = np.stack(
        [(_lm.forward(theta + eps * e, x, h) - _lm.forward(theta - eps * e, x, h)) / (2 * eps)
         for e in np.eye(theta.size)],
        axis=1,
    )
    np.testing.assert_allclose(_lm.jacobian(theta, x, h), numeric, atol=1e-8)


def test_tansig_formula_equals_tanh_to_rounding():
    """MATLAB's tansig formula 2/(1+exp(−2n))−1 (faster than np.tanh on float64): within 4e-16
    of tanh from −800 to 800 — ±1 exactly where exp overflows, no warning — and the
    network's forward pass equals w2·tanh(W1 x + b1) + b2 to rounding."""
    import warnings

    n = np.concatenate([np.linspace(-800.0, 800.0, 100_001), [0.0, -0.0, 1e-300, -1e-12, 19.0, -19.0]])
    a = -2.0 * n
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _lm._tansig_of_minus2n(a)
    assert got is a
    np.testing.assert_allclose(got, np.tanh(n), rtol=0, atol=4e-16)
    assert got[0] == -1.0 and got[100_000] == 1.0
    rng = np.random.default_rng(2)
    d, h = 3, 5
    theta = _lm.nguyen_widrow(rng, d, h)
    x = rng.uniform(-1, 1, (50, d))
    w1, b1, w2, b2 = _lm.unpack(theta, d, h)
    reference = np.tanh(x @ w1.T + b1) @ w2 + b2
    np.testing.assert_allclose(_lm.forward(theta, x, h), reference, rtol=0, atol=1e-14)


@pytest.mark.parametrize("chunk", [1, 7, 64, 10_000])
def test_chunked_normal_equations_equal_unchunked(chunk):
    rng = np.random.default_rng(1)
    d, h = 5, 6
    theta = _lm.nguyen_widrow(rng, d, h)
    x, t = rng.uniform(-1, 1, (257, d)), rng.uniform(-1, 1, 257)
    jac = _lm.jacobian(theta, x, h)
    r = _lm.forward(theta, x, h) - t
    jtj, jtr, sse = _lm.normal_equations(theta, x, t, h, chunk_size=chunk)
    np.testing.assert_allclose(jtj, jac.T @ jac, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jtr, jac.T @ r, rtol=1e-12, atol=1e-12)
    assert sse == pytest.approx(r @ r, rel=1e-12)


def test_chunk_size_does_not_change_the_fit(data):
    a = LMRegressor(hidden_units=4, n_restarts=1, random_state=0, chunk_size=50).fit(*data)
    b = LMRegressor(hidden_units=4, n_restarts=1, random_state=0).fit(*data)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.coefs_, b.coefs_, rtol=1e-6, atol=1e-9)


def test_restarts_sharing_work_buffers_equal_single_runs(data):
    """Restart k reuses the buffers left by restart k − 1; its run must be the fresh run."""
    x, y = data
    est = LMRegressor(hidden_units=4, n_restarts=3, random_state=5).fit(x, y)
    rng = np.random.default_rng(5)
    _lm.dividerand(rng, x.shape[0], est.split)  # the split comes first, then each restart's start
    for k in range(3):
        theta0 = _lm.nguyen_widrow(rng, x.shape[1], 4)
        one = LMRegressor(hidden_units=4, n_restarts=1, random_state=5)._fit_from_weights(x, y, theta0)
        mine = est.history_[est.history_.restart == k].drop(columns="restart").reset_index(drop=True)
        np.testing.assert_array_equal(mine.to_numpy(), one.history_.drop(columns="restart").to_numpy())


# ------------------------------------------------------------------ sklearn contract
def test_sklearn_params_and_clone(fitted):
    est = LMRegressor(hidden_units=5, random_state=3)
    assert est.get_params()["hidden_units"] == 5
    assert est.set_params(n_restarts=2, split=(0.8, 0.1, 0.1)) is est
    assert (est.n_restarts, est.split) == (2, (0.8, 0.1, 0.1))
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params()
    assert not hasattr(twin, "coefs_")
    with pytest.raises(NotFittedError, match="not fitted yet"):
        twin.predict(np.zeros((2, 2)))


@parametrize_with_checks([LMRegressor(hidden_units=3, n_restarts=1, max_epochs=30)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_fitted_attributes(fitted, data):
    x, y = data
    assert fitted.n_features_in_ == 2
    assert fitted.restart_losses_.shape == (2,)
    assert fitted.best_restart_ == int(np.argmin(fitted.restart_losses_))
    assert set(fitted.history_.columns) >= {"restart", "epoch", "train_mse", "val_mse", "mu"}
    assert sum(len(v) for v in fitted.split_indices_.values()) == len(y)
    np.testing.assert_allclose(fitted.x_min_, x[fitted.split_indices_["train"]].min(axis=0))
    assert 0.5 < fitted.score(x, y) <= 1.0
    assert "hidden_units=6" in repr(fitted)


def test_deterministic(data):
    a = LMRegressor(hidden_units=5, n_restarts=2, random_state=11).fit(*data).predict(data[0])
    b = LMRegressor(hidden_units=5, n_restarts=2, random_state=11).fit(*data).predict(data[0])
    c = LMRegressor(hidden_units=5, n_restarts=2, random_state=12).fit(*data).predict(data[0])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dataarray_keeps_sample_labels_and_units(data):
    x, y = data
    lat = np.arange(len(y)) % 20
    coords = {"lat": ("sample", lat), "lon": ("sample", np.arange(len(y)) // 20)}
    xa = xr.DataArray(x.T, dims=("feature", "sample"), coords=coords)  # dims in any order
    ya = xr.DataArray(y, dims="sample", coords=coords, name="sm", attrs={"units": "m3 m-3"})
    est = LMRegressor(hidden_units=4, n_restarts=1, random_state=0).fit(xa, ya)
    pred = est.predict(xa)
    assert pred.dims == ("sample",) and pred.name == "sm" and pred.attrs["units"] == "m3 m-3"
    np.testing.assert_array_equal(pred["lat"], lat)
    np.testing.assert_array_equal(pred.values, est.predict(x))


def test_dataarray_labels_must_align(data):
    x, y = data
    idx = {"sample": np.arange(len(y))}
    xa = xr.DataArray(x, dims=("sample", "feature"), coords=idx)
    ya = xr.DataArray(y, dims="sample", coords=idx).isel(sample=slice(None, None, -1))
    with pytest.raises(DataError, match=r"X and y have different 'sample' labels"):
        LMRegressor().fit(xa, ya)


def test_progress_bar(data, capsys):
    LMRegressor(hidden_units=3, n_restarts=2, max_epochs=5, progress=True, random_state=0).fit(*data)
    assert "LM restarts" in capsys.readouterr().err
    LMRegressor(hidden_units=3, n_restarts=1, max_epochs=5, random_state=0).fit(*data)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------ bad input
def test_nan_and_inf_name_rows_and_columns(data):
    x, y = data[0].copy(), data[1].copy()
    x[[3, 9], 1] = np.nan
    x[9, 0] = np.inf
    with pytest.raises(DataError, match=r"X has NaN or inf in 2 of 600 rows in column\(s\) \[0, 1\]"):
        LMRegressor().fit(x, data[1])
    y[5] = np.inf
    with pytest.raises(DataError, match=r"y has NaN or inf in 1 of 600 rows"):
        LMRegressor().fit(data[0], y)


def test_constant_column_named(data):
    x = np.column_stack([data[0], np.full(len(data[1]), 7.0)])
    with pytest.raises(DataError, match=r"X column\(s\) \[2\] constant.*mapminmax would divide by zero"):
        LMRegressor().fit(x, data[1])
    with pytest.raises(DataError, match=r"y constant"):
        LMRegressor().fit(data[0], np.ones(len(data[1])))


def test_too_few_samples():
    x, _, y = smooth(4, np.random.default_rng(0))
    with pytest.raises(DataError, match=r"3 samples, too few for split=\(0.7, 0.15, 0.15\).* = 3/0/0"):
        LMRegressor().fit(x[:3], y[:3])
    with pytest.raises(DataError, match=r"0 samples, too few"):
        LMRegressor().fit(x[:0], y[:0])


def test_mismatched_lengths(data):
    with pytest.raises(DataError, match=r"X has 600 samples but y has 599"):
        LMRegressor().fit(data[0], data[1][:-1])
    with pytest.raises(DataError, match=r"y has shape \(600, 2\)"):
        LMRegressor().fit(data[0], np.column_stack([data[1], data[1]]))


def test_diverging_training_raises(data):
    # a target range of 1e200 makes the MSE in target units overflow to inf
    with pytest.raises(DataError, match=r"training diverged: training MSE inf"):
        LMRegressor(n_restarts=1).fit(data[0], data[1] * 1e200)


def test_predict_checks_features_and_values(fitted):
    with pytest.raises(DataError, match=r"X has 3 features, but LMRegressor is expecting 2"):
        fitted.predict(np.zeros((4, 3)))
    with pytest.raises(DataError, match=r"NaN or inf in 1 of 2 rows in column\(s\) \[1\]"):
        fitted.predict(np.array([[0.0, 300.0], [0.0, np.nan]]))
    with pytest.raises(DataError, match=r"dims \('sample', 'band'\); expected \('sample', 'feature'\)"):
        fitted.predict(xr.DataArray(np.zeros((2, 2)), dims=("sample", "band")))


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("hidden_units", 0, r"hidden_units=0; expected an integer >= 1"),
        ("n_restarts", 2.5, r"n_restarts=2.5"),
        ("mu_dec", 2.0, r"mu_dec=2.0; expected a number in \(0, 1\)"),
        ("mu_max", 1e-4, r"mu_max=0.0001; expected a number > mu_init"),
        ("split", (0.5, 0.5), r"split=\(0.5, 0.5\); expected \(train, validation, test\)"),
        ("split", (0.7, 0.2, 0.2), r"summing to 1"),
        ("random_state", -1, r"random_state=-1"),
        ("chunk_size", 0, r"chunk_size=0"),
    ],
)
def test_bad_parameters(data, param, value, match):
    with pytest.raises(ConfigError, match=match):
        LMRegressor(**{param: value}).fit(*data)


def test_bad_initial_weights(data):
    with pytest.raises(ConfigError, match=r"weights has shape \(3,\); expected \(25,\)"):
        LMRegressor(hidden_units=6)._fit_from_weights(*data, np.zeros(3))


def test_float32_forward_agrees_with_float64_to_float32_rounding(fitted, data):
    x, y = data
    p64 = fitted.predict(x)
    p32 = fitted.predict(x, precision="float32")
    scale = float(np.ptp(y))
    diff = np.abs(p32 - p64).max() / scale
    assert 0 < diff < 1e-5, diff  # float32 arithmetic, not a copy of the float64 result
    with pytest.raises(ConfigError, match="precision"):
        fitted.predict(x, precision="float16")
