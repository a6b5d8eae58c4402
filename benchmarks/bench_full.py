"""The `full` configuration end to end on one machine: generate, train, downscale (printed figures).

Usage
-----
python benchmarks/bench_full.py                  # the whole `full` config (about an hour on 2 cores)
python benchmarks/bench_full.py --days 4         # the first N days of each season (checks the script)
python benchmarks/bench_full.py --cache DIR      # scenario and experiment cache (default: a new temporary one)

Stages, each in a fresh child process so that its wall time and peak resident memory are its
own (peak: the largest of the child's ``ru_maxrss`` and the resident memory of the child and its
own processes — the generation's season workers — summed, sampled every 0.2 s):

1. **generate** — ``ensure_scenario(full, seed)``: the 1 km truth and every product family, the
   two seasons side by side (:mod:`sm_nb.scenario.seasons`); throughput in fine-grid pixel-days
   per second.
2. **train** — the coarse networks the 1 km product needs, with the notebooks' settings
   (``Study.gap_filled``: the gap-filling family, 4 restarts, 3 cross-validation folds,
   2·10⁴ training samples each).
3. **downscale** — ``Study.product("recommended", output=...)`` (what ``sm-nb downscale
   --variant recommended`` runs) on a ``dask.distributed`` LocalCluster of one in-process worker
   with one thread per core: gap filling of the fine inputs, the candidate variants, the
   truth-free choice and the chosen product written to zarr with its provenance; throughput in
   fine-grid pixel-days per second.

A fresh cache (the default) makes every stage cold. Targets (issue 11): the three stages
≤ 20 min and < 8 GB peak on a 2-core, 24 GB machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MIN, TARGET_GB = 20.0, 8.0

PRELUDE = """
import json, os, resource, time
import pandas as pd
from sm_nb.config import get_config
cfg = get_config({config!r}, **{overrides!r})
seed = {seed!r}
t0 = time.perf_counter()
"""
STAGES = {
    "generate": """
from sm_nb.scenario.generate import ensure_scenario
ensure_scenario(cfg, seed, progress=True)
extra = {}
""",
    "train": """
from sm_nb import Study
from sm_nb.selection import FINAL_INPUTS
filled = Study(cfg, seed).gap_filled(FINAL_INPUTS)
extra = {"networks": len(filled.results), "trained": sum(not r.from_cache for r in filled.results.values())}
""",
    "downscale": """
from dask.distributed import Client, LocalCluster
from sm_nb import Study
cores = len(os.sched_getaffinity(0))
with LocalCluster(n_workers=1, threads_per_worker=cores, processes=False, dashboard_address=None) as cluster, \\
        Client(cluster):
    ds, choice = Study(cfg, seed).product("recommended", output=__OUTPUT__, progress=True)
extra = {"variant": ds.attrs.get("variant"), "coverage": float(ds.attrs["coverage_overall"]),
         "days": int(ds.sizes["time"]), "chunks": str(ds["sm"].encoding.get("chunks"))}
""",
}
REPORT = """
extra.update(seconds=time.perf_counter() - t0, peak_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
             children_peak_kb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print("RESULT " + json.dumps(extra))
"""


def _child(code: str, env: dict[str, str]) -> dict:
    """Run ``code`` in a fresh interpreter (its progress bars shown); return its RESULT line, with
    ``tree_peak_kb``: the largest resident memory of it and its own children (the season
    processes of the generation) summed, sampled every 0.2 s."""
    import threading

    import psutil

    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    peak, done = [0], threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.wait(0.2):
            try:
                procs = [root, *root.children(recursive=True)]
                rss = 0
                for p in procs:
                    try:
                        rss += p.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
                peak[0] = max(peak[0], rss // 1024)
            except psutil.NoSuchProcess:
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = proc.communicate()
    done.set()
    sampler.join()
    lines = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        sys.stdout.write(stdout)
        raise SystemExit(f"stage failed with exit code {proc.returncode}")
    result = json.loads(lines[-1][len("RESULT "):])
    result["peak_kb"] = max(result["peak_kb"], result.get("children_peak_kb", 0), peak[0])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="full", choices=["mini", "demo", "full"])
    ap.add_argument("--days", type=int, default=None, help="only the first N days of each season")
    ap.add_argument("--spinup", type=int, default=2, help="spin-up days with --days [2]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=None, help="cache folder (default: a new temporary folder, removed after)")
    ap.add_argument("--stages", nargs="+", default=list(STAGES), choices=list(STAGES),
                    help="stages to run (default all; a later stage alone needs the earlier ones' results in --cache)")
    args = ap.parse_args()

    import pandas as pd

    from sm_nb.config import get_config
    from sm_nb.grids import fine_grid

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_downscale import shortened

    overrides = shortened(args.config, args.days, args.spinup)
    cfg = get_config(args.config, **overrides)
    pixels, days = fine_grid(cfg).size, len(pd.DatetimeIndex(cfg.dates))

    with tempfile.TemporaryDirectory(prefix="smnb-bench-full-") as tmp:
        cache = Path(args.cache).resolve() if args.cache else Path(tmp) / "cache"
        env = {**os.environ, "SM_NB_CACHE": str(cache)}
        prelude = PRELUDE.format(config=args.config, overrides=overrides, seed=args.seed)
        print(f"== {cfg.name!r}{f' (first {args.days} days of each season)' if args.days else ''}, seed {args.seed}: "
              f"{fine_grid(cfg).shape[0]} x {fine_grid(cfg).shape[1]} fine pixels, {days} days; cache {cache}; "
              f"{len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
        results = {}
        for name, body in ((k, v) for k, v in STAGES.items() if k in args.stages):
            code = prelude + body.replace("__OUTPUT__", repr(str(Path(tmp) / "product.zarr"))) + REPORT
            results[name] = _child(code, env)
            print(f"-- {name}: {results[name]['seconds']:.1f} s, peak {results[name]['peak_kb'] / 1024**2:.2f} GB",
                  flush=True)

    print(f"\n{'stage':<10} {'wall':>10} {'peak GB':>8} {'fine pixel-days/s':>18}  notes")
    for name, r in results.items():
        rate = f"{pixels * days / r['seconds']:18.3e}" if name in ("generate", "downscale") else f"{'—':>18}"
        notes = {k: v for k, v in r.items() if k not in ("seconds", "peak_kb", "children_peak_kb")}
        print(f"{name:<10} {r['seconds'] / 60:8.1f} min {r['peak_kb'] / 1024**2:8.2f} {rate}  {notes or ''}")
    total = sum(r["seconds"] for r in results.values()) / 60
    peak = max(r["peak_kb"] for r in results.values()) / 1024**2
    print(f"{'total':<10} {total:8.1f} min {peak:8.2f}")
    print(f"targets: ≤ {TARGET_MIN:g} min {'OK' if total <= TARGET_MIN else 'NOT MET'}; "
          f"< {TARGET_GB:g} GB {'OK' if peak < TARGET_GB else 'NOT MET'}"
          + (" (a shortened period: not the target's measurement)" if args.days else ""))


if __name__ == "__main__":
    main()
