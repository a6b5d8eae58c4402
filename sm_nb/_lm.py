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
from scipy.linalg import get_lapack_funcs

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


def _tansig_of_minus2n(a: np.ndarray) -> np.ndarray:
    """In place: ``a`` holding ``−2 n`` becomes ``tanh(n) = 2 / (1 + exp(−2 n)) − 1`` (MATLAB ``tansig``).

    MATLAB's ``tansig`` formula. For float64 it is ≈ 2× faster than ``np.tanh``, which numpy
    does not vectorise on AVX2 (``exp`` it does), and within 4e-16 of it (absolute; the output
    is in [−1, 1]). Callers form ``−2 n`` as ``x @ (−2 W1ᵀ) + (−2 b1)``: scaling by −2 is exact
    in binary floating point, so that is ``−2 (x @ W1ᵀ + b1)`` to the last bit, one pass fewer.
    ``exp`` overflows to ``inf`` for ``n < −354`` and the formula gives −1 exactly, as ``tanh``.
    """
    with np.errstate(over="ignore"):
        np.exp(a, out=a)
    a += 1.0
    np.divide(2.0, a, out=a)
    a -= 1.0
    return a


def _hidden(theta: np.ndarray, x: np.ndarray, hidden_units: int):
    w1, b1, w2, b2 = unpack(theta, x.shape[1], hidden_units)
    if x.dtype == np.float64:
        a = x @ (-2.0 * w1.T)
        a += -2.0 * b1
        _tansig_of_minus2n(a)
    else:  # float32 ``tanh`` is vectorised by numpy
        a = x @ w1.T
        a += b1
        np.tanh(a, out=a)
    return a, w2, b2


def forward(theta: np.ndarray, x: np.ndarray, hidden_units: int, chunk_size: int = 65536) -> np.ndarray:
    """Network output (scaled units) for scaled inputs ``x`` (sample, feature), in row chunks."""
    out = np.empty(x.shape[0], dtype=x.dtype)
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
    it stays in cache — and ``JᵀJ`` is one BLAS ``syrk`` call per block. This is MATLAB's memory
    reduction (``net.efficiency.memoryReduction``) with the chunk size as the knob. The same
    code as the training loop (:class:`_TrainBuffers`), hence the same numbers.
    """
    buf = _TrainBuffers(x, t, hidden_units, chunk_size)
    buf.forward(theta, 0)
    jtj, jtr, total = buf.normal_equations(theta, 0)
    return jtj.copy(), jtr.copy(), total


class _TrainBuffers:
    """Preallocated work arrays of the LM loop (Lv et al. 2021, §2.2.3) on one training split.

    Two slots each hold one forward pass over the whole split — hidden outputs ``A``
    (sample, H) and residuals ``r = y − t`` (sample,), scaled units — one for the current
    weights and one for the trial step of an epoch; an accepted step's pass is reused for the
    Jacobian instead of being recomputed. The restarts of a fit share one instance.

    Parameters
    ----------
    x : ndarray (sample, feature)
        Scaled training inputs (``mapminmax``, [−1, 1]).
    t : ndarray (sample,)
        Scaled training target.
    hidden_units : int
        ``H``.
    chunk_size : int
        Rows per chunk of the forward pass; the Jacobian is built in blocks of
        ``min(chunk_size, 4096)`` rows.

    Notes
    -----
    :meth:`forward` uses the very operations of :func:`forward` and :func:`sse` chunk by chunk,
    so its SSE is theirs. :meth:`normal_equations` writes each Jacobian block transposed,
    (P, block), into one buffer — every entry is a single product, so the layout leaves its
    value unchanged; ``J_bᵀJ_b`` is a BLAS ``syrk`` either way — and accumulates ``JᵀJ``,
    ``Jᵀr`` and ``rᵀr`` over the blocks. BLAS may sum ``J_bᵀJ_b`` and ``J_bᵀr_b`` in another
    order than for a (block, P) block: differences of rounding only. Memory, N training samples:
    ``16 N (H + 1)`` bytes for the two slots, ``8 N d`` for the transposed inputs,
    ``8 · block · P`` for the Jacobian block.
    """

    def __init__(self, x: np.ndarray, t: np.ndarray, hidden_units: int, chunk_size: int) -> None:
        m, d = x.shape
        h = hidden_units
        p = n_weights(d, h)
        self.x, self.t, self.h, self.d, self.p = x, t, h, d, p
        self.chunk = max(1, chunk_size)
        self.step = max(1, min(chunk_size, _BLOCK))
        width = max(1, min(self.step, m))
        self.xt = np.ascontiguousarray(x.T)  # (feature, sample): contiguous rows for the J block
        self.a = (np.empty((m, h)), np.empty((m, h)))
        self.r = (np.empty(m), np.empty(m))
        self.jt = np.empty((p, width))  # Jacobian block, transposed: (P, sample)
        self.jt[-1] = 1.0  # ∂y/∂b2
        self.jt_w1 = self.jt[: h * d].reshape(h, d, width)  # view: ∂y/∂W1[k, j] = g_k x_j
        self.jtj = np.empty((p, p))
        self.jtr = np.empty(p)

    def forward(self, theta: np.ndarray, k: int) -> float:
        """Fill slot ``k`` (0 or 1) with ``A`` and ``r`` at ``theta``; return ``rᵀr`` (scaled units²)."""
        w1, b1, w2, b2 = unpack(theta, self.d, self.h)
        w1m2, b1m2 = -2.0 * w1.T, -2.0 * b1  # exact: see _tansig_of_minus2n
        a, r, x, t = self.a[k], self.r[k], self.x, self.t
        total = 0.0
        for start in range(0, x.shape[0], self.chunk):
            rows = slice(start, start + self.chunk)
            ac, rc = a[rows], r[rows]
            np.matmul(x[rows], w1m2, out=ac)
            ac += b1m2
            _tansig_of_minus2n(ac)
            np.matmul(ac, w2, out=rc)
            rc += b2
            rc -= t[rows]
            total += float(rc @ rc)
        return total

    def normal_equations(self, theta: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
        """``(JᵀJ, Jᵀr, rᵀr)`` of slot ``k``, filled by ``forward(theta, k)``; scaled units.

        The two arrays are overwritten by the next call: copy them to keep them.
        """
        h, hd = self.h, self.h * self.d
        w2 = theta[hd + h : hd + 2 * h, None]
        a, r = self.a[k], self.r[k]
        jtj, jtr = self.jtj, self.jtr
        jtj.fill(0.0)
        jtr.fill(0.0)
        total = 0.0
        for start in range(0, a.shape[0], self.step):
            b = min(self.step, a.shape[0] - start)
            jt = self.jt[:, :b]
            at, gt = jt[hd + h : hd + 2 * h], jt[hd : hd + h]
            np.copyto(at, a[start : start + b].T)  # ∂y/∂w2
            np.multiply(at, at, out=gt)
            np.subtract(1.0, gt, out=gt)  # tansig'
            gt *= w2  # ∂y/∂b1
            np.multiply(gt[:, None, :], self.xt[None, :, start : start + b], out=self.jt_w1[:, :, :b])
            rb = r[start : start + b]
            jtj += jt @ jt.T
            jtr += jt @ rb
            total += float(rb @ rb)
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
    buffers: _TrainBuffers | None = None,
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

    Cost per epoch: one Jacobian (``syrk`` blocks, see :class:`_TrainBuffers`), one training
    forward pass per tried μ, one validation and one test forward pass. ``JJ`` and ``JE`` are
    kept across the retries of an epoch (only the diagonal ``μI`` changes, LAPACK ``potrf`` /
    ``potrs`` on a preallocated matrix) and the forward pass of the accepted trial is the one
    the next Jacobian starts from. ``buffers`` (for ``train``) lets restarts share work arrays.

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
    p = theta0.size
    work = buffers if buffers is not None else _TrainBuffers(xtr, ttr, h, cs)
    damped = np.empty((p, p), order="F")  # JJ + μI, factorised in place
    damped_diag = damped.T.reshape(-1)[:: p + 1]  # view of its diagonal
    potrf, potrs = get_lapack_funcs(("potrf", "potrs"), (damped,))

    theta = np.array(theta0, dtype=float)
    hist: dict[str, list] = {k: [] for k in ("epoch", "train_mse", "val_mse", "test_mse", "mu", "gradient", "val_fail")}

    def evaluate(epoch: int, slot: int):
        jtj, jtr, sse_tr = work.normal_equations(theta, slot)
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

    slot = 0  # work slot holding the forward pass at ``theta``; 1 - slot takes the trials
    work.forward(theta, slot)
    perf, vperf, tperf, jj, je, gradient = evaluate(0, slot)
    jj_diag = jj.diagonal().copy()
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
            np.copyto(damped, jj)
            np.add(jj_diag, mu, out=damped_diag)
            factor, info = potrf(damped, lower=0, overwrite_a=1, clean=0)
            if info > 0:  # not positive definite (scipy.linalg.cho_factor's LinAlgError)
                mu *= settings.mu_inc
                continue
            if info < 0:
                raise ValueError(f"LAPACK potrf: illegal value in argument {-info}")
            delta, info = potrs(factor, je, lower=0)
            if info < 0:
                raise ValueError(f"LAPACK potrs: illegal value in argument {-info}")
            theta2 = theta - delta
            if norm * work.forward(theta2, 1 - slot) < perf:
                theta, accepted, slot = theta2, True, 1 - slot
                mu = max(mu * settings.mu_dec, 1e-20)
                break
            mu *= settings.mu_inc
        if accepted:  # an unchanged theta gives unchanged perfs, JJ and JE: skip recomputing
            perf, vperf, tperf, jj, je, gradient = evaluate(epoch + 1, slot)
            jj_diag = jj.diagonal().copy()
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
