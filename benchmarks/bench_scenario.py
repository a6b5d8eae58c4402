"""Scenario generation benchmarks (printed figures, not timed tests).

Usage
-----
python benchmarks/bench_scenario.py demo            # demo generation + notebook 01 headless
python benchmarks/bench_scenario.py full --days 12  # `full` for the first N days of each season
python benchmarks/bench_scenario.py full            # the whole `full` config (tens of minutes)

Each run happens in a child process with a fresh cache so that the wall time and the peak
resident memory (``ru_maxrss`` of the child) are those of a cold generation.
Targets (issue #2): demo + notebook 01 < 60 s on 2 cores; full peak memory < 8 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; return (wall s, peak RSS GB of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak_kb, before) / 1024**2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", choices=["mini", "demo", "full"])
    ap.add_argument("--days", type=int, default=None, help="simulate only the first N days of each season")
    ap.add_argument("--spinup", type=int, default=None, help="override the spin-up days (e.g. 2 to time season days)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-notebook", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "SM_NB_CACHE": cache}
        overrides = ""
        end = None
        if args.days:
            import pandas as pd

            from sm_nb.config import get_config

            cfg = get_config(args.config)
            end = (pd.Timestamp(f"2017-{cfg.start}") + pd.Timedelta(days=args.days - 1)).strftime("%m-%d")
            overrides = f", end={end!r}"
        if args.spinup is not None:
            overrides += f", spinup_days={args.spinup}"
        code = (
            "from sm_nb.config import get_config\n"
            "from sm_nb.scenario.generate import ensure_scenario\n"
            f"cfg = get_config({args.config!r}{overrides})\n"
            f"ensure_scenario(cfg, {args.seed}, progress=True)\n"
        )
        wall, peak = _child(code, env)
        from sm_nb.config import get_config
        from sm_nb.grids import fine_grid

        cfg = get_config(args.config)
        if args.days:
            cfg = cfg.replace(end=end)
        if args.spinup is not None:
            cfg = cfg.replace(spinup_days=args.spinup)
        n_days = sum(len(cfg.run_dates(y)) for y in cfg.years)
        px = fine_grid(cfg).size
        suffix = f" (first {args.days} days per season)" if args.days else ""
        print(f"\n== scenario {cfg.name!r}{suffix}")
        print(f"fine grid {fine_grid(cfg).shape}, simulated days (incl. spin-up) {n_days}")
        print(f"generation wall time   {wall:8.1f} s")
        print(f"throughput             {px * n_days / wall:12.3e} fine-grid pixel-days per second")
        print(f"peak resident memory   {peak:8.2f} GB   (target < 8 GB for full)")
        if args.days and args.config == "full":
            full = get_config("full")
            full_days = sum(len(full.run_dates(y)) for y in full.years)
            print(f"extrapolated full run  {wall / n_days * full_days / 60:8.1f} min for {full_days} days "
                  "(valid when the timed days mix spin-up and season days like the full run; use --spinup 2 "
                  "for an upper bound from season days)")
        if args.config != "full" and not args.no_notebook:
            nb_code = (
                "from sm_nb.run import run_notebooks\n"
                f"run_notebooks({cfg.name!r}, {args.seed}, {os.path.join(cache, 'nb')!r}, select=['01'], progress=False)\n"
            )
            wall_nb, peak_nb = _child(nb_code, env)
            print(f"notebook 01 headless   {wall_nb:8.1f} s, peak {peak_nb:.2f} GB")
            print(f"generation + notebook  {wall + wall_nb:8.1f} s   (target < 60 s on 2 cores)")


if __name__ == "__main__":
    main()
