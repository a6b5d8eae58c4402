"""Triple collocation benchmark: vectorised ``sm_nb.tc.triple_collocation`` against a per-pixel
loop over ``pytesmo.metrics.tcol_metrics`` in the same run (printed figures, not a timed test).

Usage
-----
python benchmarks/bench_tc.py                  # coarse grid 37 x 45 and the 370 x 450 case, 244 days
python benchmarks/bench_tc.py --cases coarse   # only the coarse grid
python benchmarks/bench_tc.py --boot 200       # also time a 200-replicate bootstrap

Data: a synthetic triplet (truth + independent Gaussian errors, scaled and offset), float32 like
the scenario's products, with ~10 % gaps per product. Both sides compute the same thing per
pixel: drop incomplete triplets, error variance and correlation with the truth of the three
products (pytesmo: ``(err_std / beta)**2`` and ``rho**2 = snr / (1 + snr)`` from
``tcol_metrics``). The loop does *not* compute the pairwise-correlation mask sm_nb also applies,
so the ratio is conservative. The loop covers every pixel (no sampling, no extrapolation). Wall
times are the best of ``--repeat`` runs for sm_nb and of 3 runs of the loop (1 on the big grid);
the CPU time of this process is printed too, as other processes on a shared machine inflate wall
times. Both run on one core; the bootstrap's matrix products use BLAS threads (on a busy machine
OPENBLAS_NUM_THREADS=1 is faster). The printed check: max abs difference from pytesmo <= 1e-9
where both are regular. Target (issue #4): >= 50.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from sm_nb.tc import triple_collocation

CASES = {"coarse": (37, 45), "big": (370, 450)}
NT = 244  # days of one Apr-Nov season


def make_triplet(ny: int, nx: int, nt: int = NT, seed: int = 0) -> list[xr.DataArray]:
    """Three float32 products (time, lat, lon) sharing a truth, with ~10 % NaN gaps each."""
    rng = np.random.default_rng(seed)
    coords = {"time": pd.date_range("2017-04-01", periods=nt, freq="D"),
              "lat": 30.875 + 0.25 * (np.arange(ny) + 0.5), "lon": 88.90625 + 0.3125 * (np.arange(nx) + 0.5)}
    truth = (0.2 + 0.05 * rng.standard_normal((nt, ny, nx))).astype(np.float32)
    out = []
    for name, beta, sig in (("nn", 1.0, 0.01), ("fy3c", 0.7, 0.02), ("geos5", 1.3, 0.03)):
        v = beta * truth + sig * rng.standard_normal(truth.shape, dtype=np.float32)
        v[rng.random(v.shape) < 0.1] = np.nan
        out.append(xr.DataArray(v, dims=("time", "lat", "lon"), coords=coords, name=name,
                                attrs={"units": "m3 m-3"}))
    return out


def pytesmo_loop(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """err_var and rho (3, ny, nx) from a Python loop over pixels calling pytesmo's tcol_metrics."""
    from pytesmo.metrics import tcol_metrics

    _, ny, nx = x.shape
    err_var = np.full((3, ny, nx), np.nan)
    rho = np.full((3, ny, nx), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for j in range(ny):
            for i in range(nx):
                a, b, c = x[:, j, i], y[:, j, i], z[:, j, i]
                ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(c)
                if ok.sum() < 30:
                    continue
                snr_db, err_std, beta = tcol_metrics(a[ok], b[ok], c[ok])
                snr = 10 ** (snr_db / 10)
                err_var[:, j, i] = (err_std / beta) ** 2
                rho[:, j, i] = np.sqrt(snr / (1 + snr))
    return err_var, rho


def _best(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall time, best CPU time (this process) and the result of ``repeat`` runs of ``fn``."""
    best, cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return best, cpu, out


def run_case(name: str, repeat: int, n_boot: int) -> None:
    ny, nx = CASES[name]
    prods = make_triplet(ny, nx)
    print(f"\n== {name}: {ny} x {nx} pixels x {NT} days ({ny * nx:,} pixels)")
    arrays = [np.asarray(p.values, dtype=np.float64) for p in prods]
    pytesmo_loop(*(a[:, :2, :2] for a in arrays))  # warm-up (imports, first-call costs)
    triple_collocation(*(p.isel(lat=slice(0, 2), lon=slice(0, 2)) for p in prods))
    t_tc, c_tc, ds = _best(lambda: triple_collocation(*prods), repeat)
    loop_repeat = 3 if ny * nx <= 20_000 else 1
    t_loop, c_loop, (ev_loop, rho_loop) = _best(lambda: pytesmo_loop(*arrays), loop_repeat)
    # pytesmo folds rho > 1 back below 1 (abs in its SNR) and gives NaN for err_var < 0: compare
    # where both are regular
    ok = ds["mask"].values & (ds["rho"].values < 1).all(axis=0) & (ds["err_var"].values > 0).all(axis=0)
    ev, rho = ds["err_var"].values[:, ok], ds["rho"].values[:, ok]
    abs_ev, abs_rho = np.abs(ev - ev_loop[:, ok]).max(), np.abs(rho - rho_loop[:, ok]).max()
    rel = max(np.abs(ev / ev_loop[:, ok] - 1).max(), np.abs(rho / rho_loop[:, ok] - 1).max())
    print(f"sm_nb triple_collocation     {t_tc:9.4f} s  (best of {repeat}; {t_tc / (ny * nx) * 1e6:.2f} us per pixel; "
          f"CPU {c_tc:.4f} s)")
    print(f"pytesmo tcol_metrics loop    {t_loop:9.4f} s  (best of {loop_repeat}; {t_loop / (ny * nx) * 1e6:.1f} us per pixel; "
          f"CPU {c_loop:.4f} s; every pixel, not a sample)")
    print(f"speed-up                     {t_loop / t_tc:9.1f} x   (target >= 50 x; {c_loop / c_tc:.1f} x in CPU time)")
    print(f"max abs difference err_var   {abs_ev:9.2e}   ({ds['err_var'].attrs.get('units', '?')}; "
          f"over {int(ok.sum()):,} of {ny * nx:,} pixels: kept, rho < 1, err_var > 0)")
    print(f"max abs difference rho       {abs_rho:9.2e}")
    print(f"max relative difference      {rel:9.2e}   (err_var near 0 inflates it)")
    print(f"equal to pytesmo within 1e-9 {'yes' if max(abs_ev, abs_rho) <= 1e-9 else 'NO':>9s}   (max abs difference)")
    chunked = [p.chunk({"lat": max(1, ny // 4)}) for p in prods]
    t_dask, _, _ = _best(lambda: triple_collocation(*chunked).compute(), repeat)
    print(f"same on dask (4 lat chunks)  {t_dask:9.4f} s")
    if n_boot:
        t_boot, _, _ = _best(lambda: triple_collocation(*prods, n_boot=n_boot, seed=0), 1)
        print(f"with {n_boot} bootstrap replicates {t_boot:7.3f} s")
    print(f"peak resident memory so far  {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:9.2f} GB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+", choices=sorted(CASES), default=["coarse", "big"])
    ap.add_argument("--repeat", type=int, default=3, help="runs of sm_nb per case (best is reported)")
    ap.add_argument("--boot", type=int, default=0, help="also time a bootstrap with this many replicates")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other processes skew both timings)")
    for name in args.cases:
        run_case(name, args.repeat, args.boot)


if __name__ == "__main__":
    main()
