"""Notebooks 02 and 03 headless with a cold experiment cache (printed figures, not timed tests).

Usage
-----
python benchmarks/bench_notebooks.py                 # demo, seed 0
python benchmarks/bench_notebooks.py --config mini
python benchmarks/bench_notebooks.py --serial        # parallel=False in both notebooks
python benchmarks/bench_notebooks.py -p max_train_samples 10000   # any notebook parameter (JSON value)

Each notebook runs with papermill (``sm_nb.run.run_notebook``) in a child process whose
``SM_NB_CACHE`` is a fresh temporary folder: the scenario is *linked* into it from the usual
cache (generated there first if needed, timed separately), so every network is trained from
scratch — notebook 03 reuses what notebook 02 trained, as in a normal run. Printed: wall time
and CPU time (user + system of the child and its kernel: a measure that depends little on other
load on the machine) per notebook and in total, the load average, peak resident memory (``ru_maxrss`` of the children, which includes
the kernel), and the experiments trained with their summed training time.
Target (issue #3): notebooks 02 + 03 under 5 minutes on 2 cores for ``demo``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("02_band_selection.ipynb", "03_auxiliary_selection.ipynb")


def _child(code: str, env: dict[str, str]) -> tuple[float, float, float]:
    """Run ``code`` in a fresh interpreter; return (wall s, CPU s of that child and its kernel,
    peak RSS GB of any child so far)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024**2


def _experiments(cache: Path) -> tuple[int, float]:
    metas = list((cache / "experiments").glob("*/*/meta.json"))
    return len(metas), sum(json.loads(m.read_text())["total_time_s"] for m in metas)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="demo", choices=["mini", "demo", "full"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--serial", action="store_true", help="run the notebooks with parallel=False")
    ap.add_argument("--keep", action="store_true", help="keep the temporary cache and outputs")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="notebook parameter; VALUE is parsed as JSON, else taken as a string")
    args = ap.parse_args()

    from sm_nb.config import get_config
    from sm_nb.scenario.generate import ensure_scenario, scenario_path

    cfg = get_config(args.config)
    t0 = time.perf_counter()
    source = ensure_scenario(cfg, args.seed, progress=False)  # the usual cache ($SM_NB_CACHE)
    t_scenario = time.perf_counter() - t0

    tmp = Path(tempfile.mkdtemp(prefix="smnb-bench-nb-"))
    env = {**os.environ, "SM_NB_CACHE": str(tmp)}
    os.environ["SM_NB_CACHE"] = str(tmp)
    target = scenario_path(cfg, args.seed)  # the same folder name under the temporary cache
    target.symlink_to(source, target_is_directory=True)
    out = tmp / "out"
    params = {"config": cfg.name, "seed": args.seed, "output_dir": str(out)}
    if args.serial:
        params["parallel"] = False
    for name, value in args.parameter:
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value

    print(f"== notebooks 02 + 03 on {cfg.name!r}, seed {args.seed}, cold experiment cache {tmp}")
    print(f"scenario ready in {t_scenario:.1f} s (cached scenario linked from {source})")
    print(f"cores: {os.cpu_count()}, load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"parameters: {params}")
    total, total_cpu, peak = 0.0, 0.0, 0.0
    for name in NOTEBOOKS:
        code = (
            "from pathlib import Path\n"
            "from sm_nb.run import notebooks_dir, run_notebook\n"
            f"run_notebook(notebooks_dir() / {name!r}, Path({str(out)!r}), {params!r})\n"
        )
        n_before, _ = _experiments(tmp)
        wall, cpu, peak = _child(code, env)
        n_after, _ = _experiments(tmp)
        total, total_cpu = total + wall, total_cpu + cpu
        print(f"{name:34s} {wall:7.1f} s wall, {cpu:7.1f} s CPU   new experiments trained: {n_after - n_before}")
    n, train = _experiments(tmp)
    print(f"{'total':34s} {total:7.1f} s wall, {total_cpu:7.1f} s CPU   (target < 300 s wall on 2 cores)")
    print(f"peak resident memory {peak:.2f} GB (largest child, kernel included)")
    print(f"experiments trained: {n}; summed time per experiment (features, 1 + cv_folds fits, scoring): {train:.1f} s")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"outputs: {sorted(p.name for p in out.iterdir())}")
    if not args.keep:
        import shutil

        target.unlink()
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")


if __name__ == "__main__":
    main()
