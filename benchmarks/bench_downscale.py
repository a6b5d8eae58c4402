"""Downscaling benchmark: the trained network applied to the fine grid (printed figures, not tests).

Usage
-----
python benchmarks/bench_downscale.py --days 8          # `full`, first 8 days of each season (extrapolated)
python benchmarks/bench_downscale.py                   # the whole `full` config (generate it first: tens of minutes)
python benchmarks/bench_downscale.py --config demo     # the demo config

What it does: makes sure the scenario is in the cache (``$SM_NB_CACHE`` or ``--cache``; with
``--days N`` a `full` variant ending N days after the season start, generated with ``--spinup``
spin-up days — the inputs' values do not matter for timing), trains the network on the final
inputs of the same scenario (``sm_nb.Study.train``, cached; one restart and no
cross-validation, which only changes the weights, not the cost of applying them), then runs, each
in a fresh child process so that peak resident memory is that of the downscaling alone:

1. ``downscale`` of the first day, written to zarr — the time for one day (graph set-up included);
2. ``downscale`` of every day of the (possibly shortened) scenario, written to zarr.

It prints fine-grid pixel-days per second, peak memory (target < 8 GB on 2 cores / 24 GB) and the
time for the whole period, extrapolated linearly from the measured days when ``--days`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_GB = 8.0


def _child(code: str, env: dict[str, str]) -> tuple[dict, float, float]:
    """Run ``code`` in a fresh interpreter; return (its JSON result, wall s, its own peak RSS in GB).

    The child reports ``ru_maxrss`` of itself (RUSAGE_SELF): the parent's RUSAGE_CHILDREN would
    also count earlier children, e.g. the scenario generator's workers.
    """
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result, wall, result["peak_kb"] / 1024**2


def shortened(config: str, days: int | None, spinup: int) -> dict:
    """``get_config`` overrides for the first ``days`` days of each season (none when ``days`` is None)."""
    import pandas as pd

    from sm_nb.config import get_config

    if not days:
        return {}
    start = pd.Timestamp(f"2017-{get_config(config).start}")
    return {"end": (start + pd.Timedelta(days=days - 1)).strftime("%m-%d"), "spinup_days": spinup}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="full", choices=["mini", "demo", "full"])
    ap.add_argument("--days", type=int, default=None, help="only the first N days of each season (then extrapolate)")
    ap.add_argument("--variant", default="recommended",
                    help="paper (the paper's method) or a gap-filled variant: recommended (default), bilinear, scaled, "
                         "within-cell, cross-scale — gap filling, variant selection and writing with provenance are timed")
    ap.add_argument("--spinup", type=int, default=2, help="spin-up days when generating a shortened scenario [2]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=None, help="scenario cache folder (default $SM_NB_CACHE or ~/.cache/sm_nb)")
    args = ap.parse_args()

    import pandas as pd

    from sm_nb import Study
    from sm_nb.config import get_config
    from sm_nb.grids import fine_grid
    from sm_nb.scenario.generate import ensure_scenario
    from sm_nb.selection import FINAL_INPUTS

    env = dict(os.environ)
    if args.cache:
        env["SM_NB_CACHE"] = os.environ["SM_NB_CACHE"] = str(Path(args.cache).resolve())
    full = get_config(args.config)
    overrides = shortened(args.config, args.days, args.spinup)
    cfg = get_config(args.config, **overrides)
    cfg_code = f"get_config({args.config!r}, **{overrides!r})"

    t0 = time.perf_counter()
    ensure_scenario(cfg, args.seed, progress=True)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = Study(cfg, args.seed).train(FINAL_INPUTS, n_restarts=1, cv_folds=0)
    t_train = time.perf_counter() - t0

    days = pd.DatetimeIndex(cfg.dates)
    grid = fine_grid(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import json, resource, time\n"
            "import pandas as pd\n"
            "from sm_nb.config import get_config\n"
            "from sm_nb import Study\n"
            "from sm_nb.selection import FINAL_INPUTS\n"
            f"cfg = {cfg_code}\n"
            f"study = Study(cfg, {args.seed})\n"
            "res = study.train(FINAL_INPUTS, n_restarts=1, cv_folds=0)\n"
            "t0 = time.perf_counter()\n"
            + ("ds = study.downscale(res, output=__OUT__, time=__WHEN__)\n" if args.variant == "paper" else
               f"ds, _ = study.product({args.variant!r}, output=__OUT__, n_restarts=1, cv_folds=2)\n")
            + "print(json.dumps({'seconds': time.perf_counter() - t0, 'days': int(ds.sizes['time']), "
            "'coverage': float(ds.attrs['coverage_overall']), 'chunks': str(ds['sm'].encoding.get('chunks')), "
            "'peak_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))\n"
        )
        first = str(days[0].date())
        def run(name: str, when: str) -> tuple[dict, float, float]:
            return _child(code.replace("__OUT__", repr(str(Path(tmp) / name))).replace("__WHEN__", when), env)

        if args.variant == "paper":
            one, _, peak_one = run("one.zarr", f"slice({first!r}, {first!r})")
        allr, _, peak_all = run("all.zarr", "None")

    px = grid.size
    n = allr["days"]
    rate = px * n / allr["seconds"]
    suffix = f" (first {args.days} days of each season, {args.spinup} spin-up days)" if args.days else ""
    print(f"\n== downscaling {cfg.name!r}{suffix}, seed {args.seed}")
    print(f"fine grid              {grid.shape[0]} x {grid.shape[1]} = {px:,} pixels; {n} days; "
          f"inputs {', '.join(res.inputs)}")
    print(f"scenario ready in      {t_gen:8.1f} s (0 when cached); network ready in {t_train:.1f} s "
          f"({'cached' if res.from_cache else 'trained: 1 restart, no CV'})")
    if args.variant == "paper":
        print(f"one day                {one['seconds']:8.2f} s   (downscale + zarr write, graph set-up included)")
    else:
        peak_one = peak_all
        print(f"variant                {args.variant!r}: gap filling, variants and selection over the whole "
              "period (one day alone is not meaningful: filling and the shrinkage use every day)")
    print(f"{n} days               {allr['seconds']:8.1f} s   (zarr chunks {allr['chunks']}, coverage {allr['coverage']:.1%})")
    print(f"throughput             {rate:12.3e} fine-grid pixel-days per second")
    print(f"peak resident memory   {max(peak_one, peak_all):8.2f} GB   (all days {peak_all:.2f} GB; "
          f"target < {TARGET_GB:g} GB)")
    print(f"per day                {allr['seconds'] / n:8.2f} s   (whole period / days)")
    if args.days:
        full_days = len(pd.DatetimeIndex(full.dates))
        est = allr["seconds"] / n * full_days
        print(f"whole period (EXTRAPOLATED, not measured): {est / 60:8.1f} min for {full_days} days of {full.name!r} "
              f"(linear in days from the {n} measured; the full scenario was not downscaled)")
    else:
        print(f"whole period           {allr['seconds'] / 60:8.1f} min for {n} days (measured)")
    print("peak memory", "OK" if max(peak_one, peak_all) < TARGET_GB else "ABOVE TARGET")


if __name__ == "__main__":
    main()
