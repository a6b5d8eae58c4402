"""Same trained networks as an earlier commit? LMRegressor of the working tree vs ``--ref``.

Usage
-----
python benchmarks/check_lm_same.py --ref 27d50e4                       # default cases
python benchmarks/check_lm_same.py --ref main --cases 10000:0:1 20000:3:4

Each case ``n:seed:restarts`` fits ``LMRegressor(n_restarts=restarts, random_state=seed)`` on
the data of ``bench_lm.py`` (``make_data(n, seed)``, target in m3 m-3), once with the package of
``--ref`` (``git archive`` into a temporary directory) and once with the working tree, each in
a child process with one BLAS thread. Printed per case: epochs, best epoch and kept restart
(old/new), whether the stopping path is the same (every restart's epochs, μ and validation
failures), the largest difference of the predictions on all n samples (m3 m-3), of the kept
weights and, relatively, of the recorded train/validation/test MSEs; wall times old/new.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CASES = ["10000:0:1", "10000:1:1", "10000:2:1", "20000:3:4", "100000:0:1"]
COLUMNS = ["restart", "epoch", "train_mse", "val_mse", "test_mse", "mu", "gradient", "val_fail"]


def worker(out: str, cases: list[str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_lm import make_data

    from sm_nb.nn import LMRegressor

    res = {}
    for case in cases:
        n, seed, restarts = (int(v) for v in case.split(":"))
        x, _, y = make_data(n, seed)
        est = LMRegressor(n_restarts=restarts, random_state=seed)
        t0 = time.perf_counter()
        est.fit(x, y)
        wall = time.perf_counter() - t0
        res[f"{case}/pred"] = est.predict(x)
        res[f"{case}/coefs"] = est.coefs_
        res[f"{case}/hist"] = est.history_[COLUMNS].to_numpy(float)
        res[f"{case}/meta"] = np.array([est.n_iter_, est.best_epoch_, est.best_restart_, wall])
    np.savez(out, **res)


def run(pythonpath: str, out: Path, cases: list[str]) -> np.lib.npyio.NpzFile:
    env = {**os.environ, "PYTHONPATH": pythonpath,
           **{k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    subprocess.run([sys.executable, __file__, "--worker", str(out), *cases], env=env, cwd=ROOT, check=True)
    return np.load(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", help="git commit/branch of the old code")
    ap.add_argument("--cases", nargs="+", default=CASES, help="n:seed:restarts")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args()
    if args.worker:
        worker(args.worker, rest)
        return
    if not args.ref:
        ap.error("--ref is required")
    with tempfile.TemporaryDirectory() as tmp:
        old_pkg = Path(tmp) / "old"
        old_pkg.mkdir()
        archive = subprocess.run(["git", "archive", args.ref, "sm_nb"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(old_pkg)], input=archive.stdout, check=True)
        old = run(str(old_pkg), Path(tmp) / "old.npz", args.cases)
        new = run(str(ROOT), Path(tmp) / "new.npz", args.cases)
        print(f"LMRegressor: {args.ref} (old) vs working tree (new), bench_lm.py data\n")
        print(f"{'case':>12} {'epochs':>9} {'best':>9} {'restart':>7}  same path  {'max|Δ pred|':>11} "
              f"{'max|Δ coefs|':>12} {'max rel Δ mse':>13}  wall s old/new")
        worst = 0.0
        for case in args.cases:
            ho, hn = old[f"{case}/hist"], new[f"{case}/hist"]
            mo, mn = old[f"{case}/meta"], new[f"{case}/meta"]
            same = ho.shape == hn.shape and np.array_equal(ho[:, [0, 1, 5, 7]], hn[:, [0, 1, 5, 7]])
            dpred = float(np.abs(old[f"{case}/pred"] - new[f"{case}/pred"]).max())
            dcoef = float(np.abs(old[f"{case}/coefs"] - new[f"{case}/coefs"]).max())
            dmse = float(np.nanmax(np.abs(ho[:, 2:5] - hn[:, 2:5]) / ho[:, 2:5])) if same else float("nan")
            worst = max(worst, dpred)
            print(f"{case:>12} {int(mo[0]):>4}/{int(mn[0]):<4} {int(mo[1]):>4}/{int(mn[1]):<4} "
                  f"{int(mo[2]):>3}/{int(mn[2]):<3}  {'yes' if same else 'NO ':>9}  {dpred:>11.2e} {dcoef:>12.2e} "
                  f"{dmse:>13.2e}  {mo[3]:.2f}/{mn[3]:.2f}")
        print(f"\nlargest prediction difference: {worst:.2e} m3 m-3")


if __name__ == "__main__":
    main()
