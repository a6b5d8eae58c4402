"""Numerics behind :class:`sm_nb.nn.LMRegressor`: the one-hidden-layer network, its analytic
Jacobian, chunked normal equations and the Levenberg–Marquardt loop of MATLAB ``trainlm``.

Private module: the functions work on plain float64 arrays of *scaled* data (MATLAB
``mapminmax`` to [−1, 1]) and on a flat weight vector ``theta`` laid out as::

    theta = [W1.ravel() (H × d, row-major), b1 (H), w2 (H), b2 (1)]       P = H (d + 2) + 1

for the network ``y = w2 · tanh(W1 x + b1) + b2`` (MATLAB ``tansig`` hidden layer, ``purelin``
output). Sample axis first everywhere: ``X`` is (sample, feature), ``t`` is (sample,).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from .exceptions import DataError

__all__ = [
    "n_weights",
    "unpack",
    "forward",
    "sse",
    "jacobian",
    "normal_equations",
    "nguyen_widrow",
    "dividerand",
    "mapminmax_settings",
    "LMSettings",
    "LMResult",
    "train_lm",
]

#: largest Jacobian block (rows): 4096 × P float64 stays in cache (≈ 3.3 MB for P = 101)
_BLOCK = 4096

#: MATLAB ``trainlm`` stop messages (``tr.stop``)
STOP_GOAL = "Performance goal met."
STOP_EPOCHS = "Maximum epoch reached."
STOP_GRAD = "Minimum gradient reached."
STOP_MU = "Maximum MU reached."
STOP_VAL = "Validation stop."


def n_weights(n_features: int, hidden_units: int) -> int:
    """Number of weights and biases ``P = H (d + 2) + 1``."""
    return hidden_units * (n_features + 2) + 1


def unpack(theta: np.ndarray, n_features: int, hidden_units: int):
    """Views ``(W1 (H, d), b1 (H,), w2 (H,), b2 float)`` into the flat weight vector."""
    h, d = hidden_units, n_features
    w1 = theta[: h * d].reshape(h, d)
    b1 = theta[h * d : h * d + h]
    w2 = theta[h * d + h : h * d + 2 * h]
    return w1, b1, w2, float(theta[-1])


def _hidden(theta: np.ndarray, x: np.ndarray, hidden_units: int):
    w1, b1, w2, b2 = unpack(theta, x.shape[1], hidden_units)
    a = x @ w1.T
    a += b1
    np.tanh(a, out=a)
    return a, w2, b2


def forward(theta: np.ndarray, x: np.ndarray, hidden_units: int, chunk_size: int = 65536) -> np.ndarray:
    """Network output (scaled units) for scaled inputs ``x`` (sample, feature), in row chunks."""
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], chunk_size):
        a, w2, b2 = _hidden(theta, x[start : start + chunk_size], hidden_units)
        out[start : start + chunk_size] = a @ w2 + b2
    return out


def sse(theta: np.ndarray, x: np.ndarray, t: np.ndarray, hidden_units: int, chunk_size: int = 65536) -> float:
    """Sum of squared errors in scaled units, accumulated over row chunks."""
    total = 0.0
    for start in range(0, x.shape[0], chunk_size):
        r = forward(theta, x[start : start + chunk_size], hidden_units, chunk_size)
        r -= t[start : start + chunk_size]
        total += float(r @ r)
    return total


def _jacobian_into(theta: np.ndarray, x: np.ndarray, hidden_units: int, out: np.ndarray):
    """Fill ``out`` (m, P) with ∂y/∂theta for the m rows of ``x``; return (out, y)."""
    m, d = x.shape
    h = hidden_units
    a, w2, b2 = _hidden(theta, x, h)
    g = 1.0 - a * a  # tansig'
    g *= w2  # ∂y/∂b1
    # ∂y/∂W1[k, j] = g_k x_j, written straight into the Jacobian buffer: splitting the
    # contiguous last axis of ``out[:, :h*d]`` is always a view, never a copy
    np.einsum("nk,nj->nkj", g, x, out=out[:, : h * d].reshape(m, h, d))
    out[:, h * d : h * d + h] = g
    out[:, h * d + h : h * d + 2 * h] = a
    out[:, -1] = 1.0
    return out, a @ w2 + b2


def jacobian(theta: np.ndarray, x: np.ndarray, hidden_units: int) -> np.ndarray:
    """Analytic Jacobian ∂y/∂theta (sample, P) of the scaled output; for tests and small data."""
    out = np.empty((x.shape[0], theta.size))
    return _jacobian_into(theta, x, hidden_units, out)[0]


def normal_equations(
    theta: np.ndarray, x: np.ndarray, t: np.ndarray, hidden_units: int, chunk_size: int = 65536
) -> tuple[np.ndarray, np.ndarray, float]:
    """``(JᵀJ, Jᵀr, rᵀr)`` with ``r = y − t``, summed over row chunks of ``chunk_size``.

    Only one block of the Jacobian exists at a time — ``min(chunk_size, 4096)`` rows, so that
    it stays in cache — and ``J_c.T @ J_c`` is a BLAS ``syrk`` call (numpy detects the
    transposed self-product). This is MATLAB's memory reduction
    (``net.efficiency.memoryReduction``) with the chunk size as the knob.
    """
    p = theta.size
    jtj = np.zeros((p, p))
    jtr = np.zeros(p)
    total = 0.0
    step = max(1, min(chunk_size, _BLOCK))
    buf = np.empty((min(step, max(x.shape[0], 1)), p))
    for start in range(0, x.shape[0], step):
        xc = x[start : start + step]
        jc, y = _jacobian_into(theta, xc, hidden_units, buf[: xc.shape[0]])
        y -= t[start : start + step]
        jtj += jc.T @ jc
        jtr += jc.T @ y
        total += float(y @ y)
    return jtj, jtr, total


def nguyen_widrow(rng: np.random.Generator, n_features: int, hidden_units: int) -> np.ndarray:
    """Initial weights as MATLAB ``initnw`` for a ``tansig`` hidden and ``purelin`` output layer.

    Hidden layer (``calcnw``): random unit-norm rows (``randnr``, normalised ``rands``) scaled by
    ``0.7 H^(1/d)``; biases ``0.7 H^(1/d) · linspace(−1, 1, H) · sign(W1[:, 0])``; both then
    mapped from net inputs in [−1, 1] to the ``tansig`` active range [−2, 2] (× 2). Inputs are
    already in [−1, 1] (``mapminmax``), so no further conversion. The output layer has an
    infinite active range, for which ``initnw`` falls back to ``rands``: uniform in [−1, 1].
    """
    d, h = n_features, hidden_units
    mag = 0.7 * h ** (1.0 / d)
    w1 = rng.uniform(-1.0, 1.0, (h, d))
    w1 /= np.linalg.norm(w1, axis=1, keepdims=True)
    w1 *= mag
    b1 = mag * np.linspace(-1.0, 1.0, h) * np.sign(w1[:, 0]) if h > 1 else np.zeros(1)
    w2 = rng.uniform(-1.0, 1.0, h)
    b2 = rng.uniform(-1.0, 1.0, 1)
    return np.concatenate([2.0 * w1.ravel(), 2.0 * b1, w2, b2])


def dividerand(
    rng: np.random.Generator, n: int, split: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random train/validation/test indices as MATLAB ``dividerand``.

    Validation and test sizes are ``round(n · ratio / sum(ratios))``; training gets the rest.
    Each index array is sorted.
    """
    total = float(sum(split))
    n_val = int(round(n * split[1] / total))
    n_test = int(round(n * split[2] / total))
    perm = rng.permutation(n)
    val = np.sort(perm[:n_val])
    test = np.sort(perm[n_val : n_val + n_test])
    train = np.sort(perm[n_val + n_test :])
    return train, val, test


def mapminmax_settings(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``mapminmax`` settings ``(xmin, gain)`` along the sample axis: x ↦ (x − xmin)·gain − 1."""
    lo = a.min(axis=0)
    return lo, 2.0 / (a.max(axis=0) - lo)


@dataclass(frozen=True)
class LMSettings:
    """MATLAB ``trainParam`` of ``trainlm`` (``goal`` fixed at 0, ``time`` at ∞)."""

    max_epochs: int = 1000
    mu_init: float = 1e-3
    mu_dec: float = 0.1
    mu_inc: float = 10.0
    mu_max: float = 1e10
    min_grad: float = 1e-7
    max_fail: int = 6
    chunk_size: int = 65536


@dataclass
class LMResult:
    """One training run: best-validation weights and the per-epoch record (MATLAB ``tr``)."""

    theta: np.ndarray
    theta_init: np.ndarray
    epochs: int
    best_epoch: int
    stop: str
    train_mse: float
    val_mse: float
    test_mse: float
    history: dict[str, list] = field(default_factory=dict)


def _mse(theta, x, t, h, chunk, scale2):
    return scale2 * sse(theta, x, t, h, chunk) / x.shape[0] if x.shape[0] else np.nan


def train_lm(
    theta0: np.ndarray,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    hidden_units: int,
    target_scale: float,
    settings: LMSettings,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> LMResult:
    """Levenberg–Marquardt training as MATLAB ``trainlm`` (R2012+ ``train_network``).

    Performance is the MSE *in target units* (MATLAB computes errors after reversing the
    output ``mapminmax``): with ``s = target_scale`` = 1/gain, residuals and Jacobian are ``s``
    times the scaled ones. As MATLAB's ``perfsJEJJ`` with ``mse`` (``perfNorm``), ``JJ = s²JᵀJ/N``
    and ``JE = s²Jᵀr/N`` over the N training samples and the gradient is ``2‖JE‖``.
    Each epoch tries ``(JJ + μI) δ = −JE`` (Cholesky; a non-positive-definite matrix counts as a
    failed try, like MATLAB's singular-matrix warning); a lower training MSE is accepted and μ
    ×= ``mu_dec`` (floor 1e-20), otherwise μ ×= ``mu_inc`` and retry while μ ≤ ``mu_max``.
    Stops (checked before each epoch, MATLAB order): MSE ≤ 0, ``max_epochs``, gradient ≤
    ``min_grad``, μ ≥ ``mu_max``, ``max_fail`` validation failures in a row. Returns the
    weights of the best validation MSE (best training MSE when there is no validation set).

    Raises
    ------
    DataError
        When a training or validation MSE is not finite (diverging or overflowing training).
    """
    h, cs = hidden_units, settings.chunk_size
    (xtr, ttr), (xva, tva), (xte, tte) = train, val, test
    with np.errstate(over="ignore"):  # an overflow shows up as an infinite MSE below
        scale2 = float(np.square(np.float64(target_scale)))
    norm = scale2 / xtr.shape[0]
    has_val = xva.shape[0] > 0
    eye = np.eye(theta0.size)

    theta = np.array(theta0, dtype=float)
    hist: dict[str, list] = {k: [] for k in ("epoch", "train_mse", "val_mse", "test_mse", "mu", "gradient", "val_fail")}

    def evaluate(epoch: int):
        jtj, jtr, sse_tr = normal_equations(theta, xtr, ttr, h, cs)
        perf = norm * sse_tr
        vperf = _mse(theta, xva, tva, h, cs, scale2)
        if not np.isfinite(perf) or (has_val and not np.isfinite(vperf)):
            raise DataError(
                f"training diverged: training MSE {perf!r}, validation MSE {vperf!r} at epoch "
                f"{epoch} (target range/2 = {target_scale:.3g}); check the scale of X and y"
            )
        je = norm * jtr
        return perf, vperf, _mse(theta, xte, tte, h, cs, scale2), norm * jtj, je, 2.0 * float(np.sqrt(je @ je))

    def record(epoch, perf, vperf, tperf, mu, gradient, val_fail):
        for k, v in zip(hist, (epoch, perf, vperf, tperf, mu, gradient, val_fail), strict=True):
            hist[k].append(v)
        if on_epoch is not None:
            on_epoch(epoch, perf, vperf)

    perf, vperf, tperf, jj, je, gradient = evaluate(0)
    best = (theta.copy(), perf, vperf, tperf, 0)
    val_fail, mu, stop, epoch = 0, settings.mu_init, "", 0
    record(0, perf, vperf, tperf, mu, gradient, val_fail)
    for epoch in range(settings.max_epochs + 1):
        if perf <= 0.0:
            stop = STOP_GOAL
        elif epoch == settings.max_epochs:
            stop = STOP_EPOCHS
        elif gradient <= settings.min_grad:
            stop = STOP_GRAD
        elif mu >= settings.mu_max:
            stop = STOP_MU
        elif val_fail >= settings.max_fail:
            stop = STOP_VAL
        if stop:
            break
        accepted = False
        while mu <= settings.mu_max:
            try:
                factor = cho_factor(jj + mu * eye, check_finite=False)
            except LinAlgError:
                mu *= settings.mu_inc
                continue
            theta2 = theta - cho_solve(factor, je, check_finite=False)
            if norm * sse(theta2, xtr, ttr, h, cs) < perf:
                theta, accepted = theta2, True
                mu = max(mu * settings.mu_dec, 1e-20)
                break
            mu *= settings.mu_inc
        if accepted:  # an unchanged theta gives unchanged perfs, JJ and JE: skip recomputing
            perf, vperf, tperf, jj, je, gradient = evaluate(epoch + 1)
        if has_val:
            if vperf < best[2]:
                best, val_fail = (theta.copy(), perf, vperf, tperf, epoch + 1), 0
            elif vperf > best[2]:
                val_fail += 1
        elif perf < best[1]:
            best = (theta.copy(), perf, vperf, tperf, epoch + 1)
        record(epoch + 1, perf, vperf, tperf, mu, gradient, val_fail)
    return LMResult(
        theta=best[0], theta_init=np.array(theta0, dtype=float), epochs=epoch, best_epoch=best[4],
        stop=stop, train_mse=best[1], val_mse=best[2], test_mse=best[3], history=hist,
    )
