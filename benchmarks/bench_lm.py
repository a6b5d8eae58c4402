"""LMRegressor against other Levenberg–Marquardt / tanh-MLP trainers (printed figures, not a test).

Usage
-----
python benchmarks/bench_lm.py                       # 1e4, 1e5 and 1e6 samples
python benchmarks/bench_lm.py --sizes 10000 100000  # fewer sizes
python benchmarks/bench_lm.py --threads 2           # BLAS threads per run (default 1)

Problem: 8 inputs on unrelated scales (brightness-temperature-, NDVI-, elevation-like), a smooth
nonlinear soil-moisture-like target (m3 m-3) plus Gaussian noise of known σ = 0.02, so the best
possible held-out RMSE is σ. Every method gets the same ``dividerand`` 70/15/15 split, the same
``mapminmax`` scaling from the training split, and — where it accepts one — the same
Nguyen–Widrow start (that of ``LMRegressor(n_restarts=1, random_state=seed)``). Held-out RMSE
is on the test split, in m3 m-3.

Peers
-----
* ``LMRegressor`` — 8 × 10 × 1 network, ``n_restarts=1`` (MATLAB ``trainlm`` defaults, validation
  stop after 6 failures, at most 1000 epochs).
* ``scipy`` — ``scipy.optimize.least_squares(method="lm")`` (MINPACK ``lmder``) with the analytic
  Jacobian; MINPACK has no validation stop, so its Jacobian callback applies the same rule
  (6 rises in a row, at most 1000 Jacobians) and the best-validation weights are scored.
* ``pyrenn`` — ``pyrenn.train_LM`` if importable, same start, damping set to trainlm's μ
  (``dampfac = μ N / s²``); no validation stop, so ``k_max`` is LMRegressor's best epoch.
* ``sklearn`` — ``MLPRegressor(hidden_layer_sizes=(10,), activation="tanh", solver="lbfgs",
  max_iter=1000)`` on the same scaled data; its own (Glorot) start; lbfgs has no validation stop.

Each run happens in a child process; wall time covers training only, peak memory is the
child's ``ru_maxrss`` (whole process: interpreter, data, training).
Targets: held-out RMSE at least as good as every peer; ≥ 5× faster than scipy's LM per run;
10⁶ samples with peak memory < 2 GB.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIGMA = 0.02  # noise of the target, m3 m-3
SPLIT = (0.70, 0.15, 0.15)
D, H = 8, 10
MAX_EPOCHS, MAX_FAIL = 1000, 6
#: input centres and half-widths: Tbh, Tbv (K), σ40 (dB), NDVI (1), LST (K), DEM (m), SLOPE (°), BTI (K)
CENTRE = np.array([230.0, 255.0, -12.0, 0.35, 290.0, 4000.0, 12.0, 15.0])
HALF = np.array([40.0, 30.0, 6.0, 0.3, 25.0, 1200.0, 10.0, 10.0])


def make_data(n: int, seed: int):
    """``(X (sample, feature), y (sample,) m3 m-3, f noise-free truth)``, seeded."""
    rng = np.random.default_rng(10_000 + seed)
    u = rng.uniform(-1.0, 1.0, (n, D))
    f = (0.25 + 0.08 * np.tanh(1.2 * u[:, 0] - 0.8 * u[:, 1] + 0.3) + 0.05 * np.sin(1.5 * u[:, 2]) * u[:, 3]
         + 0.03 * u[:, 4] ** 2 - 0.02 * u[:, 5] * u[:, 6] + 0.015 * u[:, 7]
         + 0.02 * np.exp(-(u[:, 0] ** 2 + u[:, 2] ** 2)))
    return CENTRE + HALF * u, f, f + rng.normal(0.0, SIGMA, n)


def problem(n: int, seed: int):
    """Data, split, scaling and initial weights exactly as ``LMRegressor(random_state=seed)``."""
    from sm_nb import _lm

    x, f, y = make_data(n, seed)
    rng = np.random.default_rng(seed)
    idx = _lm.dividerand(rng, n, SPLIT)
    theta0 = _lm.nguyen_widrow(rng, D, H)
    xmin, xgain = _lm.mapminmax_settings(x[idx[0]])
    ymin, ygain = (a[0] for a in _lm.mapminmax_settings(y[idx[0]][:, None]))
    xs, ys = (x - xmin) * xgain - 1.0, (y - ymin) * ygain - 1.0
    unscale = lambda v: (v + 1.0) / ygain + ymin  # noqa: E731
    return dict(x=x, f=f, y=y, idx=idx, theta0=theta0, xs=xs, ys=ys, s=1.0 / ygain, unscale=unscale)


def rmse(a, b) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


# ------------------------------------------------------------------ one run per child process
def run_lmregressor(pb, seed, restarts=1, **_):
    from sm_nb.nn import LMRegressor

    est = LMRegressor(n_restarts=restarts, random_state=seed)
    t0 = time.perf_counter()
    est.fit(pb["x"], pb["y"])
    wall = time.perf_counter() - t0
    if restarts == 1 and not np.array_equal(est.init_weights_, pb["theta0"]):
        raise RuntimeError("benchmark start differs from LMRegressor's")
    te = pb["idx"][2]
    pred = est.predict(pb["x"][te])
    epochs = len(est.history_) - restarts  # all restarts (row 0 of each is the start)
    stop = est.stop_reason_ if restarts == 1 else f"kept restart {est.best_restart_}: {est.stop_reason_}"
    return dict(wall=wall, epochs=epochs, best_epoch=est.best_epoch_, stop=stop,
                rmse=rmse(pred, pb["y"][te]), rmse_f=rmse(pred, pb["f"][te]))


class _Stop(Exception):
    pass


def run_scipy(pb, seed, **_):
    from scipy.optimize import least_squares

    from sm_nb import _lm

    tr, va, te = pb["idx"]
    xtr, ttr, xva, yva = pb["xs"][tr], pb["ys"][tr], pb["xs"][va], pb["y"][va]
    s = pb["s"]
    state = dict(best=np.inf, theta=pb["theta0"], fail=0, njev=0)

    def fun(th):
        return s * (_lm.forward(th, xtr, H) - ttr)

    def jac(th):  # called once per MINPACK iteration: apply trainlm's validation rule here
        state["njev"] += 1
        v = float(np.mean((pb["unscale"](_lm.forward(th, xva, H)) - yva) ** 2))
        if v < state["best"]:
            state.update(best=v, theta=th.copy(), fail=0)
        elif v > state["best"]:
            state["fail"] += 1
        if state["fail"] >= MAX_FAIL or state["njev"] > MAX_EPOCHS:
            raise _Stop
        return s * _lm.jacobian(th, xtr, H)

    t0 = time.perf_counter()
    try:
        out = least_squares(fun, pb["theta0"], jac=jac, method="lm", max_nfev=100 * MAX_EPOCHS)
        stop = out.message
        # converged before the rule fired: score the better of final and best-validation weights
        v = float(np.mean((pb["unscale"](_lm.forward(out.x, xva, H)) - yva) ** 2))
        if v <= state["best"]:
            state["theta"] = out.x
    except _Stop:
        stop = "Validation stop." if state["fail"] >= MAX_FAIL else "Maximum epoch reached."
    wall = time.perf_counter() - t0
    pred = pb["unscale"](_lm.forward(state["theta"], pb["xs"][te], H))
    return dict(wall=wall, epochs=state["njev"], stop=stop, rmse=rmse(pred, pb["y"][te]),
                rmse_f=rmse(pred, pb["f"][te]))


def run_pyrenn(pb, seed, k_max=50, **_):
    import pyrenn

    from sm_nb import _lm

    tr, va, te = pb["idx"]
    net = pyrenn.CreateNN([D, H, 1])
    w1, b1, w2, b2 = _lm.unpack(pb["theta0"], D, H)
    net["w"] = np.concatenate([w1.flatten("F"), b1, w2, [b2]])  # pyrenn: IW (F order), b1, LW, b2
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # pyrenn prints its stop reason
        net = pyrenn.train_LM(pb["xs"][tr].T, pb["ys"][tr][None, :], net, k_max=max(k_max, 1),
                              dampfac=1e-3 * len(tr) / pb["s"] ** 2, dampconst=10.0)
    wall = time.perf_counter() - t0
    pred = pb["unscale"](pyrenn.NNOut(pb["xs"][te].T, net))
    return dict(wall=wall, epochs=max(k_max, 1), stop="k_max (= LMRegressor best epoch)",
                rmse=rmse(pred, pb["y"][te]), rmse_f=rmse(pred, pb["f"][te]))


def run_sklearn(pb, seed, **_):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    tr, _, te = pb["idx"]
    mlp = MLPRegressor(hidden_layer_sizes=(H,), activation="tanh", solver="lbfgs",
                       max_iter=MAX_EPOCHS, random_state=seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(pb["xs"][tr], pb["ys"][tr])
    wall = time.perf_counter() - t0
    pred = pb["unscale"](mlp.predict(pb["xs"][te]))
    return dict(wall=wall, epochs=mlp.n_iter_, stop="lbfgs", rmse=rmse(pred, pb["y"][te]),
                rmse_f=rmse(pred, pb["f"][te]))


RUNNERS = {"LMRegressor": run_lmregressor, "LMRegressor x4": run_lmregressor, "scipy": run_scipy,
           "pyrenn": run_pyrenn, "sklearn": run_sklearn}


def worker(method: str, n: int, seed: int, k_max: int) -> None:
    pb = problem(n, seed)
    extra = {"restarts": 4} if method == "LMRegressor x4" else {}
    out = RUNNERS[method](pb, seed, k_max=k_max, **extra)
    out["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print("RESULT " + json.dumps(out))


# ------------------------------------------------------------------ parent: table
def child(method: str, n: int, seed: int, threads: int, k_max: int = 0) -> dict:
    env = {**os.environ, **{k: str(threads) for k in
           ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    cmd = [sys.executable, __file__, "--worker", method, "--n", str(n), "--seed", str(seed),
           "--k-max", str(k_max)]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        return {"skip": f"failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"}
    return json.loads(lines[-1][len("RESULT "):])


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads per run (default 1)")
    ap.add_argument("--scipy-max", type=int, default=100_000, help="skip scipy LM above this size")
    ap.add_argument("--pyrenn-max", type=int, default=10_000, help="skip pyrenn above this size")
    ap.add_argument("--restarts-max", type=int, default=100_000,
                    help="also run LMRegressor with the paper's 4 restarts up to this size")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--k-max", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.n, args.seed, args.k_max)
        return

    print(f"LM benchmark: {D} inputs × {H} hidden, noise σ = {SIGMA} m3 m-3, split {SPLIT}, "
          f"seed {args.seed}, {args.threads} BLAS thread(s) per run, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    head = (f"{'n':>9} {'method':<15} {'wall s':>9} {'epochs':>7} {'s/epoch':>8} {'peak GB':>8} "
            f"{'RMSE test':>10} {'RMSE−σ':>9} {'RMSE vs f':>10}  stop")
    verdicts = []
    scipy_seen: tuple[int, float] | None = None  # (n, s per iteration) of the largest scipy run
    for n in args.sizes:
        print(f"\n{head}\n{'-' * len(head)}")
        rows: dict[str, dict] = {}
        rows["LMRegressor"] = child("LMRegressor", n, args.seed, args.threads)
        best_epoch = rows["LMRegressor"].get("best_epoch", 0)
        for method in ("LMRegressor x4", "scipy", "pyrenn", "sklearn"):
            if method == "LMRegressor x4" and n > args.restarts_max:
                continue
            if method == "scipy" and n > args.scipy_max:
                gb = 0.7 * n * (H * (D + 2) + 1) * 8 / 1e9
                est = ""
                if scipy_seen:
                    n0, per_it = scipy_seen
                    est = f"; ≈ {per_it * n / n0:.3g} s per iteration scaled from n={n0}"
                rows[method] = {"skip": f"skipped above --scipy-max={args.scipy_max}: MINPACK needs the full "
                                f"{int(0.7 * n)}×{H * (D + 2) + 1} Jacobian ({gb:.2f} GB, plus its Fortran-order "
                                f"copy) and an unblocked QR of it per iteration{est}"}
            elif method == "pyrenn" and not _have("pyrenn"):
                rows[method] = {"skip": "not installed"}
            elif method == "pyrenn" and n > args.pyrenn_max:
                rows[method] = {"skip": f"skipped above --pyrenn-max={args.pyrenn_max}: pyrenn's Jacobian "
                                "(RTRL) loops over samples in Python"}
            else:
                rows[method] = child(method, n, args.seed, args.threads, k_max=best_epoch)
                if method == "scipy" and "wall" in rows[method]:
                    scipy_seen = (n, rows[method]["wall"] / max(rows[method]["epochs"], 1))
        for method, r in rows.items():
            if "skip" in r:
                print(f"{n:>9} {method:<15} {r['skip']}")
                continue
            print(f"{n:>9} {method:<15} {r['wall']:>9.2f} {r['epochs']:>7} {r['wall'] / max(r['epochs'], 1):>8.3f} "
                  f"{r['peak_gb']:>8.3f} {r['rmse']:>10.5f} {r['rmse'] - SIGMA:>+9.5f} {r['rmse_f']:>10.5f}  {r['stop']}")
        ours = rows["LMRegressor"]
        if "skip" in ours:
            continue
        peers = {m: r for m, r in rows.items() if "skip" not in r and not m.startswith("LMRegressor")}
        n_test = round(n * SPLIT[2])
        se = SIGMA / np.sqrt(2 * n_test)
        for name in ("LMRegressor", "LMRegressor x4"):
            mine = rows.get(name, {})
            worst = max(((mine["rmse"] - r["rmse"], m) for m, r in peers.items()), default=(None, None)) \
                if "rmse" in mine else (None, None)
            if worst[0] is not None:
                verdicts.append(f"n={n}: {name} RMSE at least as good as every peer: "
                                f"{'PASS' if worst[0] <= 0 else 'FAIL'} (largest excess over a peer "
                                f"{worst[0]:+.2e} vs {worst[1]}; SE of an RMSE on {n_test} test samples "
                                f"≈ {se:.1e})")
        if "scipy" in peers:
            ratio = peers["scipy"]["wall"] / ours["wall"]
            per_epoch = (peers["scipy"]["wall"] / peers["scipy"]["epochs"]) / (ours["wall"] / max(ours["epochs"], 1))
            verdicts.append(f"n={n}: ≥ 5× faster than scipy LM per run: {'PASS' if ratio >= 5 else 'FAIL'} "
                            f"({ratio:.1f}× per run, {per_epoch:.1f}× per iteration)")
        if n >= 1_000_000:
            verdicts.append(f"n={n}: peak memory < 2 GB: {'PASS' if ours['peak_gb'] < 2 else 'FAIL'} "
                            f"({ours['peak_gb']:.2f} GB)")
    print("\nTargets")
    for v in verdicts:
        print("  " + v)


if __name__ == "__main__":
    main()
